#!/bin/sh
# Patterns that match a file already sent for an earlier pattern count it as
# found: the file is sent once and the job succeeds.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
write_job "$T/job.json" duppat "src" \
	'[{"run": "echo hello >hello.txt"}]' \
	'["hello.txt", "hello.txt", "*.txt"]'
run_job "$T/job.json"
cat "$T/run.log"
[ "$rc" -eq 0 ] || fail "expected exit status 0, got $rc"
d=$(job_dir)
[ "$(json "$d/result.json" "d['status']")" = success ] || fail "status"
[ "$(json "$d/result.json" "[a['name'] for a in d['artifacts']]")" = "['hello.txt']" ] || fail "artifacts collected"
[ "$(cat "$d/hello.txt")" = hello ] || fail "hello.txt"
assert_nothing_left
echo "PASS: artifact-duplicate-pattern"
