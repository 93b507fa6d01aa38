#!/bin/sh
# The bundled example end to end: zlib from Debian's source package, built in
# a fresh VM; the host's digests equal the guest's, and the programs run here.
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

JOB_NAMES=zlib
"$root/scripts/fetch-example-sources.sh"
run_job "$root/examples/zlib/job.json"
cat "$T/run.log"
[ "$rc" -eq 0 ] || fail "snpbuild run exited $rc"
d=$(job_dir)
r=$d/result.json

[ "$(json "$r" "d['status']")" = success ] || fail "status is not success"
[ "$(json "$r" "d['insecure_dev_mode']")" = True ] || fail "dev mode not recorded"
[ "$(json "$r" "d['tee']")" = none ] || fail "tee not recorded"
[ "$(json "$r" "d['vm']['disk_gib']")" = 50 ] || fail "the scratch disk was not 50 GiB"
[ "$(json "$r" "d['source']['sha256']")" = 71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1 ] ||
	fail "source digest"
[ "$(json "$r" "d['job_sha256']")" = "$(sha256sum <"$root/examples/zlib/job.json" | cut -d' ' -f1)" ] ||
	fail "job digest is not the SHA-256 of the descriptor bytes"
[ "$(json "$r" "d['guest_image']['manifest_sha256']")" = "$(sha256sum <"$IMAGE/manifest.json" | cut -d' ' -f1)" ] ||
	fail "guest image manifest digest"
[ "$(json "$r" "[s['exit_code'] for s in d['steps']]")" = "[0, 0, 0]" ] || fail "step exit codes"
for p in image disk boot inject build collect destroy; do
	json "$r" "d['phases']['$p']" >/dev/null || fail "phase $p not timed"
done

# Every artifact: on disk with the digest the host recorded, which equals the
# digest the guest computed and sent.
n=$(json "$r" "len(d['artifacts'])")
[ "$n" -eq 6 ] || fail "expected 6 artifacts, got $n"
i=0
while [ "$i" -lt "$n" ]; do
	name=$(json "$r" "d['artifacts'][$i]['name']")
	host=$(json "$r" "d['artifacts'][$i]['sha256']")
	guest=$(json "$r" "d['artifacts'][$i]['guest_sha256']")
	file=$(sha256sum <"$d/$name" | cut -d' ' -f1)
	[ "$file" = "$host" ] || fail "$name: file sha256 $file != recorded $host"
	[ "$guest" = "$host" ] || fail "$name: guest sha256 $guest != host $host"
	i=$((i + 1))
done

# The built programs work on this host.
[ -x "$d/minigzip" ] || fail "minigzip lost its executable bit"
head -c 200000 /dev/urandom >"$T/data"
"$d/minigzip" <"$T/data" >"$T/data.gz"
gzip -t "$T/data.gz" || fail "minigzip output is not valid gzip"
"$d/minigzip" -d <"$T/data.gz" | cmp - "$T/data" || fail "minigzip round trip"
(cd "$T" && "$d/example" "$T/ex.gz") | grep -q 'inflate with dictionary: hello, hello!' || fail "example did not run"
grep -q '\*\*\* zlib test OK \*\*\*' "$d/log.txt" || fail "log.txt lacks zlib's own test output"
[ -s "$d/console.log" ] || fail "console.log is empty"

# Every artifact is named by the signed provenance (development mode: no report).
"$SNPBUILD" verify "$d/libz.a" "$d/minigzip" --bundle "$d" --allow-insecure | grep -q 'NOT confidential' ||
	fail "snpbuild verify --allow-insecure on libz.a"
command -v cosign >/dev/null 2>&1 || fail "cosign is not installed (scripts/install-deps.sh installs it from trixie)"
cosign verify-blob-attestation --key "$d/attestation/signing-key.pem" --type slsaprovenance1 \
	--insecure-ignore-tlog=true --signature "$d/provenance.intoto.jsonl" "$d/libz.a" ||
	fail "cosign rejects the provenance of libz.a"

assert_nothing_left
echo "PASS: example-zlib ($n artifacts)"
