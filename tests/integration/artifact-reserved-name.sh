#!/bin/sh
# A glob matching a name snpbuild reserves for its own files (log.txt) skips
# that file with a log line instead of sending it: the job succeeds with the
# other matches only, and the output folder's log.txt is the build log.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
write_job "$T/job.json" reserved "src" \
	'[{"run": "echo not the log >log.txt; echo a >a.txt"}]' \
	'["*.txt"]'
run_job "$T/job.json"
cat "$T/run.log"
[ "$rc" -eq 0 ] || fail "expected exit status 0, got $rc"
d=$(job_dir)
[ "$(json "$d/result.json" "[a['name'] for a in d['artifacts']]")" = "['a.txt']" ] || fail "artifacts collected"
[ "$(cat "$d/a.txt")" = a ] || fail "a.txt"
grep -q 'skipping log.txt, a name snpbuild reserves' "$d/log.txt" || fail "no log line for the skipped file"
! grep -qx 'not the log' "$d/log.txt" || fail "the guest's log.txt replaced the build log"
assert_nothing_left
echo "PASS: artifact-reserved-name"
