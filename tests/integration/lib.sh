# Shared by the integration tests: sourced, not run.
# Usage in a test: . "$(dirname "$0")/lib.sh"; then SNPBUILD, IMAGE, T (a
# fresh temporary folder removed at exit), WORK and OUT are set.
set -eu

SNPBUILD=${1:?usage: $0 SNPBUILD IMAGE_DIR}
IMAGE=${2:?usage: $0 SNPBUILD IMAGE_DIR}
SNPBUILD=$(cd "$(dirname "$SNPBUILD")" && pwd)/$(basename "$SNPBUILD")
URI=qemu:///system
T=$(mktemp -d /tmp/snpbuild-it-XXXXXX)
WORK=$T/work
OUT=$T/out
trap 'rm -rf "$T"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

[ -f "$IMAGE/manifest.json" ] || fail "no guest image at $IMAGE (meson compile -C build guest-image)"
virsh -q -c "$URI" version >/dev/null 2>&1 || fail "libvirtd is not running (scripts/libvirtd.sh start)"

# Runs snpbuild with this test's folders; stdout+stderr to $T/run.log.
run_job() { # job.json [extra args]
	job=$1
	shift
	set +e
	"$SNPBUILD" run "$job" --image "$IMAGE" --out "$OUT" --work-dir "$WORK" "$@" >"$T/run.log" 2>&1
	rc=$?
	set -e
	return 0
}

# Nothing of any job may remain: no domain, no storage pool, no work folder,
# no disk file anywhere under the test's folders, no half-written artifact.
# Domains and pools are named snpbuild-<job name>-<time>-<random>; the check
# covers the job names this test used (JOB_NAMES), so that other users of the
# same libvirtd do not count.
JOB_NAMES=""
assert_nothing_left() {
	for n in $JOB_NAMES; do
		doms=$(virsh -q -c "$URI" list --all --name | grep "^snpbuild-$n-" || true)
		[ -z "$doms" ] || fail "libvirt domains left behind: $doms"
		pools=$(virsh -q -c "$URI" pool-list --all --name | grep "^snpbuild-$n-" || true)
		[ -z "$pools" ] || fail "storage pools left behind: $pools"
		if pgrep -f "guest=snpbuild-$n-" >/dev/null; then fail "a QEMU process of job $n still runs"; fi
	done
	if [ -d "$WORK" ]; then
		left=$(find "$WORK" -mindepth 1 | head -5)
		[ -z "$left" ] || fail "work folder not cleaned: $left"
	fi
	disks=$(find "$T" -name '*.qcow2' | head -5)
	[ -z "$disks" ] || fail "disk files left behind: $disks"
	partial=$(find "$T" -name '*.partial' | head -5)
	[ -z "$partial" ] || fail "half-written artifacts left behind: $partial"
	return 0
}

# The single job folder under $OUT.
job_dir() {
	set -- "$OUT"/*/
	[ $# -eq 1 ] && [ -d "$1" ] || fail "expected exactly one job folder in $OUT"
	echo "${1%/}"
}

json() { # file jq-like python expression on the parsed document d
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

write_job() { # file name source steps-json artifacts-json [timeout_s]
	JOB_NAMES="$JOB_NAMES $2"
	cat >"$1" <<JOB
{
  "api_version": "snpbuild/v1",
  "name": "$2",
  "source": { "path": "$3" },
  "steps": $4,
  "artifacts": $5,
  "resources": { "vcpus": 1, "memory_mib": 1024, "disk_gib": 50, "timeout_s": ${6:-600} },
  "tee": "none"
}
JOB
}

# Starts a job in the background (pid in $pid) and waits until its log shows
# the line given, failing if it never does or snpbuild exits first.
start_job_until() { # job.json marker
	"$SNPBUILD" run "$1" --image "$IMAGE" --out "$OUT" --work-dir "$WORK" >"$T/run.log" 2>&1 &
	pid=$!
	i=0
	until grep -q "$2" "$T/run.log"; do
		i=$((i + 1))
		[ "$i" -lt 1200 ] || { kill -9 "$pid"; fail "'$2' never appeared"; }
		kill -0 "$pid" 2>/dev/null || { cat "$T/run.log"; fail "snpbuild exited early"; }
		sleep 0.1
	done
}

# Waits for the background job; its exit status in $rc.
wait_job() {
	set +e
	wait "$pid"
	rc=$?
	set -e
	cat "$T/run.log"
}
