#!/bin/sh
# A step that fails: exit status 1, the step's status recorded, no artifact,
# nothing left behind. Also a directory source, packed by the host.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
echo 'int main(void) { return 0; }' >"$T/src/ok.c"
write_job "$T/job.json" failing "src" \
	'[{"name": "compile", "run": "cc -o ok ok.c"}, {"name": "breaks", "run": "echo about to fail; exit 3"}, {"run": "touch never"}]' \
	'["ok"]'
# What a killed run left behind (its lock free, its disk still there) is
# removed by the next run.
mkdir -p "$WORK/dead-20000101T000000-00000000"
: >"$WORK/dead-20000101T000000-00000000/lock"
: >"$WORK/dead-20000101T000000-00000000/scratch.qcow2"
touch -d '2000-01-01' "$WORK/dead-20000101T000000-00000000"
run_job "$T/job.json"
cat "$T/run.log"
grep -q "removed 1 leftover work folder" "$T/run.log" || fail "the dead run's work folder was not swept"
[ "$rc" -eq 1 ] || fail "expected exit status 1 (build failed), got $rc"
d=$(job_dir)
[ "$(json "$d/result.json" "d['status']")" = step_failed ] || fail "status"
[ "$(json "$d/result.json" "[s['exit_code'] for s in d['steps']]")" = "[0, 3]" ] || fail "step exit codes"
json "$d/result.json" "d['message']" | grep -q 'steps\[1\] (breaks) exited with status 3' || fail "message"
[ "$(json "$d/result.json" "d['artifacts']")" = "[]" ] || fail "artifacts were collected from a failed build"
[ ! -e "$d/ok" ] || fail "artifact written for a failed build"
grep -q 'about to fail' "$d/log.txt" || fail "log.txt lacks the step output"
[ "$(json "$d/result.json" "d['source']['packed_from_directory']")" = True ] || fail "directory source"
assert_nothing_left
echo "PASS: failing-build"
