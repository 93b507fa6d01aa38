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
echo "PASS: refusals"
