#!/bin/sh
# SIGTERM (and SIGINT) to snpbuild during the build: exit status 5, the VM is
# destroyed and the disk deleted before snpbuild exits.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
for sig in TERM INT; do
	rm -rf "$OUT"
	write_job "$T/job.json" "sig$sig" "src" '[{"name": "long", "run": "echo build-started; sleep 600"}]' '["x"]'
	start_job_until "$T/job.json" build-started
	kill -s "$sig" "$pid"
	wait_job
	[ "$rc" -eq 5 ] || fail "SIG$sig: expected exit status 5, got $rc"
	d=$(job_dir)
	[ "$(json "$d/result.json" "d['status']")" = interrupted ] || fail "status"
	json "$d/result.json" "d['message']" | grep -q "interrupted by SIG$sig" || fail "the signal is not named"
	[ "$(json "$d/result.json" "d['steps']")" = "[]" ] || fail "steps missing from result.json"
	[ "$(json "$d/result.json" "d['evidence']['provenance']")" = None ] || fail "evidence missing from result.json"
	[ "$(stat -c %a "$d/console.log")" = 644 ] || fail "console.log is not readable like the other outputs"
	assert_nothing_left
done
echo "PASS: signal"
