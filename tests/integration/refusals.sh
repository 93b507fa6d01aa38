#!/bin/sh
# Jobs refused before anything exists: bad descriptors (exit 2) and tee snp on
# a host without SEV-SNP (exit 3). No output folder, no work folder, no VM.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
JOB_NAMES="pinned confidential big"
check_refused() { # expected-rc expected-message-fragment
	[ "$rc" -eq "$1" ] || { cat "$T/run.log"; fail "expected exit $1, got $rc"; }
	grep -qF -- "$2" "$T/run.log" || { cat "$T/run.log"; fail "message lacks: $2"; }
	[ ! -e "$OUT" ] || fail "an output folder was created"
	[ ! -e "$WORK" ] || [ -z "$(ls -A "$WORK")" ] || fail "a work folder was created"
	assert_nothing_left
}

write_job "$T/job.json" bad "nonexistent" '[{"run": "true"}]' '["x"]'
run_job "$T/job.json"
check_refused 2 "job.json: source.path: nonexistent: No such file or directory"

write_job "$T/job.json" bad "src" '[{"run": "true"}]' '["../../etc/passwd"]'
run_job "$T/job.json"
check_refused 2 'job.json: artifacts[0]: must not contain ".."'

printf '{"api_version": "snpbuild/v1", "name": "x", "name": "y"}' >"$T/job.json"
run_job "$T/job.json"
check_refused 2 "job.json: name: duplicate object key"

tar -C "$T/src" -cf "$T/src.tar" .
sed -e 's|"path": "src"|"path": "src.tar", "sha256": "0000000000000000000000000000000000000000000000000000000000000000"|' \
	>"$T/pinned.json" <<'JOB'
{"api_version": "snpbuild/v1", "name": "pinned", "source": {"path": "src"}, "steps": [{"run": "true"}],
 "artifacts": ["x"], "tee": "none"}
JOB
run_job "$T/pinned.json"
check_refused 2 "pinned.json: source.sha256: src.tar has sha256"

sed -e 's/"tee": "none"/"tee": "snp"/' >"$T/snp.json" <<'JOB'
{"api_version": "snpbuild/v1", "name": "confidential", "source": {"path": "src"}, "steps": [{"run": "true"}],
 "artifacts": ["x"], "tee": "none"}
JOB
run_job "$T/snp.json"
check_refused 3 'snp.json: tee: "snp" cannot run on this host'
# More vCPUs than the host has (host-check's numbers), refused before anything exists.
sed -e 's/"vcpus": 1,/"vcpus": 255,/' >"$T/big.json" <<'JOB'
{"api_version": "snpbuild/v1", "name": "big", "source": {"path": "src"}, "steps": [{"run": "true"}],
 "artifacts": ["x"], "resources": {"vcpus": 1, "memory_mib": 1024}, "tee": "none"}
JOB
run_job "$T/big.json"
check_refused 3 'big.json: resources.vcpus: 255 is more than this host'

# A source the guest could not unpack: found on the host, before anything exists.
echo "just text" >"$T/notes.txt"
write_job "$T/job.json" notar "notes.txt" '[{"run": "true"}]' '["x"]'
run_job "$T/job.json"
check_refused 2 "job.json: source.path: notes.txt: not a tar archive"
mkdir -p "$T/special/sub"
mkfifo "$T/special/sub/pipe"
write_job "$T/job.json" special "special" '[{"run": "true"}]' '["x"]'
run_job "$T/job.json"
check_refused 2 "/special/sub/pipe is a FIFO"

# Options that cannot work are bad input too.
write_job "$T/job.json" opts "src" '[{"run": "true"}]' '["x"]'
set +e
"$SNPBUILD" run "$T/job.json" --image "$T/no-such-image" --out "$OUT" --work-dir "$WORK" >"$T/run.log" 2>&1
rc=$?
set -e
check_refused 2 "--image $T/no-such-image: No such file or directory"
: >"$T/a-file"
set +e
"$SNPBUILD" run "$T/job.json" --image "$IMAGE" --out "$T/a-file" --work-dir "$WORK" >"$T/run.log" 2>&1
rc=$?
set -e
check_refused 2 "--out $T/a-file: not a directory"
echo "PASS: refusals"
