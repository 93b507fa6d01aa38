#!/bin/sh
# A glob matching a file whose name cannot be an artifact name (a newline in
# it) is the job's fault, not the infrastructure's: status artifact_missing,
# exit status 1, a message naming the pattern and why, the name escaped,
# and no artifact sent, not even the ones matched before.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
write_job "$T/job.json" badname "src" \
	'[{"run": "touch \"$(printf '"'"'new\\nline'"'"')\" good"}]' \
	'["good", "new*"]'
run_job "$T/job.json"
cat "$T/run.log"
[ "$rc" -eq 1 ] || fail "expected exit status 1 (the job's fault), got $rc"
d=$(job_dir)
# the host's name for the guest's artifact_missing
[ "$(json "$d/result.json" "d['status']")" = step_failed ] || fail "status"
msg=$(json "$d/result.json" "d['message']")
echo "message: $msg"
case "$msg" in
*"artifacts[1]: 'new*'"*'new\nline'*control\ character*) ;;
*) fail "the message does not name the pattern, the escaped name and the reason: $msg" ;;
esac
[ ! -e "$d/provenance.intoto.jsonl" ] || fail "provenance signed for a failed collection"
# resolved before anything is sent: a failed collection sends nothing
[ "$(json "$d/result.json" "d['artifacts']")" = "[]" ] || fail "artifacts stored for a failed collection"
[ ! -e "$d/good" ] || fail "an artifact was stored for a failed collection"
assert_nothing_left
echo "PASS: artifact-bad-name"
