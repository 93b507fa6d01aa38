#!/bin/sh
# A step that fails: exit status 1, the step's status recorded, no artifact,
# nothing left behind. Also a directory source, packed by the host.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
echo 'int main(void) { return 0; }' >"$T/src/ok.c"
write_job "$T/job.json" failing "src" \
	'[{"name": "compile", "run": "cc -o ok ok.c"}, {"name": "breaks", "run": "printf \"\\033]0;pwned\\007\\033[2J\"; printf \"C1:\\233|bidi:\\342\\200\\256|\\n\"; printf no-newline; echo >&2; echo about to fail; exit 3"}, {"run": "touch never"}]' \
	'["ok"]'
# What a killed run left behind (its lock free, its disk still there) is
# removed by the next run.
mkdir -p "$WORK/dead-20000101T000000-00000000"
: >"$WORK/dead-20000101T000000-00000000/lock"
: >"$WORK/dead-20000101T000000-00000000/scratch.qcow2"
touch -d '2000-01-01' "$WORK/dead-20000101T000000-00000000"
# Relative paths, as a user types them: libvirtd must get absolute ones.
set +e
(cd "$T" && "$SNPBUILD" run job.json --image "$IMAGE" --out out --work-dir work) >"$T/run.log" 2>&1
rc=$?
set -e
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
# Terminal controls from the guest reach the user's terminal neutralised;
# log.txt keeps the bytes.
esc=$(printf '\033')
grep -q "$esc" "$T/run.log" && fail "a raw ESC from the guest reached the terminal"
grep -qF '^[]0;pwned^G^[[2J' "$T/run.log" || fail "terminal controls not shown in caret notation"
grep -q "$esc" "$d/log.txt" || fail "log.txt lost the raw bytes"
grep -qF 'C1:<9B>|bidi:<U+202E>|' "$T/run.log" || fail "an 8-bit C1 control or a bidi override reached the terminal"

# A source whose entries tar refuses (a path escaping the tree) is the job's
# fault: bad input, after the guest tried it, and nothing is left.
python3 - "$T/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    data = b"escaped\n"
    info = tarfile.TarInfo("../../escape.txt")
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))
PY
write_job "$T/evil.json" evil "evil.tar" '[{"run": "true"}]' '["x"]'
run_job "$T/evil.json"
cat "$T/run.log"
[ "$rc" -eq 2 ] || fail "an unsafe source archive: expected exit status 2, got $rc"
grep -q 'source: the archive did not unpack' "$T/run.log" || fail "the reason is not given"
[ "$(json "$d/result.json" "d['source']['packed_from_directory']")" = True ] || fail "directory source"
assert_nothing_left
echo "PASS: failing-build"
