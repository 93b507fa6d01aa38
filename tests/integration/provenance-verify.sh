#!/bin/sh
# Signed provenance end to end on a small real job: the bundle in the output
# folder, `snpbuild verify` link by link (a development-mode bundle refused
# without --allow-insecure, a changed artifact refused at link 1, a swapped
# key at link 2), and the envelope checked by an independent implementation,
# cosign (Debian trixie, installed by scripts/install-deps.sh).
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' >"$T/src/hello.c"
write_job "$T/job.json" hello "src" '[{"name": "compile", "run": "cc -O2 -o hello hello.c"}]' '["hello", "hello.c"]'
run_job "$T/job.json"
cat "$T/run.log"
[ "$rc" -eq 0 ] || fail "expected exit status 0, got $rc"
d=$(job_dir)

# the bundle
[ "$(wc -l <"$d/provenance.intoto.jsonl")" -eq 1 ] || fail "provenance.intoto.jsonl is not one line"
grep -q 'BEGIN PUBLIC KEY' "$d/attestation/signing-key.pem" || fail "no signing key"
[ ! -e "$d/attestation/report.bin" ] || fail "a development-mode job has a report"
[ "$(json "$d/result.json" "d['evidence']['provenance']")" = provenance.intoto.jsonl ] || fail "result.json evidence"
[ "$(json "$d/result.json" "d['evidence']['signing_key']")" = attestation/signing-key.pem ] || fail "result.json key"
[ "$(json "$d/result.json" "d['evidence']['confidential']")" = False ] || fail "result.json confidential"
[ "$(json "$d/result.json" "d['attester']")" = none ] || fail "result.json attester"
# the Statement, read independently: subjects and the job descriptor digest
python3 - "$d" <<'PY' || fail "the Statement"
import base64, hashlib, json, sys
d = sys.argv[1]
env = json.loads(open(d + "/provenance.intoto.jsonl").read())
assert env["payloadType"] == "application/vnd.in-toto+json"
st = json.loads(base64.b64decode(env["payload"]))
assert st["_type"] == "https://in-toto.io/Statement/v1"
assert st["predicateType"] == "https://slsa.dev/provenance/v1"
subj = {s["name"]: s["digest"]["sha256"] for s in st["subject"]}
for name in ("hello", "hello.c"):
    assert subj[name] == hashlib.sha256(open(d + "/" + name, "rb").read()).hexdigest(), name
res = json.load(open(d + "/result.json"))
jd = st["predicate"]["buildDefinition"]["externalParameters"]["jobDescriptor"]
assert jd["sha256"] == res["job_sha256"]
assert hashlib.sha256(base64.b64decode(jd["base64"])).hexdigest() == res["job_sha256"]
assert st["predicate"]["buildDefinition"]["internalParameters"]["insecureDevMode"] is True
PY

verify() { # expected-rc expected-fragment args...
	want=$1 frag=$2
	shift 2
	set +e
	"$SNPBUILD" verify "$@" >"$T/verify.log" 2>&1
	got=$?
	set -e
	cat "$T/verify.log"
	[ "$got" -eq "$want" ] || fail "snpbuild verify $*: exit $got, expected $want"
	grep -qF -- "$frag" "$T/verify.log" || fail "snpbuild verify $*: output lacks '$frag'"
}
verify 1 "FAILED at link 3 (key-binding): insecure development-mode bundle" "$d/hello" --bundle "$d"
verify 0 "NOT confidential" "$d/hello" "$d/hello.c" --bundle "$d" --allow-insecure
verify 0 '"insecure_dev_mode": true' "$d/hello" --bundle "$d" --allow-insecure --json
cp "$d/hello" "$T/hello.changed"
printf 'x' >>"$T/hello.changed"
verify 1 "FAILED at link 1 (subject)" "$T/hello.changed" --bundle "$d" --allow-insecure
cp -r "$d" "$T/swapped"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl ec -pubout -out "$T/swapped/attestation/signing-key.pem" 2>/dev/null
verify 1 "FAILED at link 2 (signature)" "$d/hello" --bundle "$T/swapped" --allow-insecure
# a second key after the first is refused, not ignored
cp -r "$d" "$T/twokeys"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl ec -pubout 2>/dev/null >>"$T/twokeys/attestation/signing-key.pem"
verify 1 "more than one key" "$d/hello" --bundle "$T/twokeys" --allow-insecure

# an independent verifier
command -v cosign >/dev/null 2>&1 || fail "cosign is not installed (scripts/install-deps.sh installs it from trixie)"
cosign verify-blob-attestation --key "$d/attestation/signing-key.pem" --type slsaprovenance1 \
	--insecure-ignore-tlog=true --signature "$d/provenance.intoto.jsonl" "$d/hello" ||
	fail "cosign rejects the provenance"
set +e
cosign verify-blob-attestation --key "$d/attestation/signing-key.pem" --type slsaprovenance1 \
	--insecure-ignore-tlog=true --signature "$d/provenance.intoto.jsonl" "$T/hello.changed" >/dev/null 2>&1
crc=$?
set -e
[ "$crc" -ne 0 ] || fail "cosign accepts a changed artifact"
echo "cosign: verified"
assert_nothing_left
echo "PASS: provenance-verify"
