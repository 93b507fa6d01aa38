#!/bin/sh
# The VM dies under the build (QEMU killed, as a guest crash or a host-side
# kill looks to the orchestrator): infrastructure failure, nothing left.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
write_job "$T/job.json" crash "src" '[{"run": "echo build-started; sleep 600"}]' '["x"]'
start_job_until "$T/job.json" build-started
pkill -KILL -f 'guest=snpbuild-crash-' || fail "no QEMU process found for the job"
wait_job
[ "$rc" -eq 3 ] || fail "expected exit status 3 (infrastructure), got $rc"
d=$(job_dir)
[ "$(json "$d/result.json" "d['status']")" = infrastructure_error ] || fail "status"
assert_nothing_left
echo "PASS: guest-crash"
