#!/bin/sh
# A step that leaves processes holding its stdout/stderr open — one in its
# session, one escaped with setsid — ends when its shell exits: the job
# succeeds well before its timeout, the output printed before the shell
# exited is in log.txt, and nothing of the build user reaches collection.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
write_job "$T/job.json" bgproc "src" \
	'[{"name": "fork", "run": "(sleep 1000 &); setsid sh -c '"'"'while :; do sleep 1; done'"'"' & echo forked"},
	  {"name": "after", "run": "echo second step; echo ok >out.txt"}]' \
	'["out.txt"]' 120
start=$(date +%s)
run_job "$T/job.json"
elapsed=$(($(date +%s) - start))
cat "$T/run.log"
[ "$rc" -eq 0 ] || fail "expected exit status 0, got $rc"
[ "$elapsed" -lt 60 ] || fail "the job took ${elapsed}s: the step's leftover processes held it"
d=$(job_dir)
[ "$(json "$d/result.json" "[s['exit_code'] for s in d['steps']]")" = "[0, 0]" ] || fail "step exit codes"
grep -qx 'forked' "$d/log.txt" || fail "log.txt lacks the output printed before the shell exited"
grep -qx 'second step' "$d/log.txt" || fail "log.txt lacks the second step's output"
[ "$(cat "$d/out.txt")" = ok ] || fail "artifact"
assert_nothing_left
echo "PASS: background-process (${elapsed}s)"
