#!/bin/sh
# The build's temporary space (/tmp, /var/tmp, /home/build) is the encrypted
# scratch disk, not RAM-backed tmpfs: a step writing more than half the RAM
# into /tmp (the tmpfs limit; filling RAM deadlocked the guest) succeeds.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
JOB_NAMES="$JOB_NAMES bigtmp"
cat >"$T/job.json" <<'JOB'
{
  "api_version": "snpbuild/v1",
  "name": "bigtmp",
  "source": { "path": "src" },
  "steps": [
    { "name": "fill", "run": "df /tmp /var/tmp $HOME; dd if=/dev/zero of=/tmp/big bs=1M count=600 2>&1; ls -l /tmp/big; echo home >$HOME/h; echo var >/var/tmp/v; echo done >done.txt" }
  ],
  "artifacts": ["done.txt"],
  "resources": { "vcpus": 1, "memory_mib": 1024, "disk_gib": 4, "timeout_s": 300 },
  "tee": "none"
}
JOB
run_job "$T/job.json"
cat "$T/run.log"
[ "$rc" -eq 0 ] || fail "expected exit status 0, got $rc"
d=$(job_dir)
[ "$(json "$d/result.json" "d['status']")" = success ] || fail "status"
grep -q '629145600 bytes' "$d/log.txt" || fail "dd did not write 600 MiB to /tmp"
[ "$(grep -c '^/dev/mapper/snpbuild-scratch ' "$d/log.txt")" -eq 3 ] ||
	fail "df does not show /tmp, /var/tmp and the home folder on the scratch disk"
assert_nothing_left
echo "PASS: tmp-on-scratch"
