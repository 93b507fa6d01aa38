#!/bin/sh
# A job that runs past its timeout: exit status 4, VM destroyed, disk deleted.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
write_job "$T/job.json" sleepy "src" '[{"run": "echo sleeping; sleep 600"}]' '["x"]' 25
start=$(date +%s)
run_job "$T/job.json"
cat "$T/run.log"
[ "$rc" -eq 4 ] || fail "expected exit status 4 (timeout), got $rc"
[ $(($(date +%s) - start)) -lt 120 ] || fail "the timeout did not stop the job promptly"
d=$(job_dir)
[ "$(json "$d/result.json" "d['status']")" = timeout ] || fail "status"
assert_nothing_left
echo "PASS: timeout"
