#!/bin/sh
# The VM dies under the build (QEMU killed, as a guest crash or a host-side
# kill looks to the orchestrator): infrastructure failure, nothing left.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
write_job "$T/job.json" crash "src" '[{"run": "echo build-started; sleep 600"}]' '["x"]'
"$SNPBUILD" run "$T/job.json" --image "$IMAGE" --out "$OUT" --work-dir "$WORK" >"$T/run.log" 2>&1 &
pid=$!
i=0
until grep -q build-started "$T/run.log"; do
	i=$((i + 1))
	[ "$i" -lt 1200 ] || { kill -9 "$pid"; fail "the build never started"; }
	sleep 0.1
done
pkill -KILL -f 'guest=snpbuild-crash-' || fail "no QEMU process found for the job"
set +e
wait "$pid"
rc=$?
set -e
cat "$T/run.log"
[ "$rc" -eq 3 ] || fail "expected exit status 3 (infrastructure), got $rc"
d=$(job_dir)
[ "$(json "$d/result.json" "d['status']")" = infrastructure_error ] || fail "status"
assert_nothing_left
echo "PASS: guest-crash"
