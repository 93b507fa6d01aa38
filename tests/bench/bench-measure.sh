#!/bin/bash
# Benchmark: `snpbuild measure` against the reference implementation
# (virtee/sev-snp-measure, Python) and against the floor, `openssl dgst
# -sha384` over the same bytes. Whole processes, start to exit; medians.
#
#   tests/bench/bench-measure.sh BUILD_DIR [RUNS]
#
# Needs: BUILD_DIR/orchestrator/cli/snpbuild, python3 (with python3-cryptography,
# which the reference's package imports nowhere on this path but lists),
# a Debian mirror for apt-get download, and a snapshot of virtee/sev-snp-measure
# at $SSM_MIRROR (default /work/.mirror/virtee+sev-snp-measure/repo, a bare git
# directory). The reference is unpacked into a temporary folder, run, and
# deleted: it is never part of this tree.
set -euo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR [RUNS]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
runs=${2:-7}
here=$(cd "$(dirname "$0")/../.." && pwd)
fixtures=${SNPBUILD_FIXTURES:-$here/../shared/fixtures}
ssm_mirror=${SSM_MIRROR:-/work/.mirror/virtee+sev-snp-measure/repo}
snpbuild=$build/orchestrator/cli/snpbuild
cache=$build/bench-cache

[ -x "$snpbuild" ] || { echo "$0: $snpbuild not built" >&2; exit 1; }
[ -d "$ssm_mirror" ] || { echo "$0: no sev-snp-measure snapshot at $ssm_mirror (fetch virtee/sev-snp-measure)" >&2; exit 1; }

# Inputs: Debian 12's OVMF (tests/fetch-ovmf.sh) and Debian 12's current kernel.
"$here/tests/fetch-ovmf.sh" "$build" >/dev/null
ovmf=$build/ovmf-cache/deb12/usr/share/ovmf/OVMF.fd
amdsev=$fixtures/snp/sev-snp-measure/ovmf_AmdSev_suffix.bin
initrd=$fixtures/snp/generated/tiny-initrd.cpio
cmdline="console=ttyS0 root=/dev/vda1 ro"
mkdir -p "$cache"
kernel=$(ls "$cache"/kroot/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
if [ -z "$kernel" ]; then
	kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	(cd "$cache" && apt-get download "$kpkg" >/dev/null 2>&1 && dpkg-deb -x "$kpkg"_*.deb kroot && rm -f "$kpkg"_*.deb)
	kernel=$(ls "$cache"/kroot/boot/vmlinuz-* | head -n 1)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git --git-dir="$ssm_mirror" archive HEAD | tar -x -C "$tmp"
ssm_rev=$(git --git-dir="$ssm_mirror" rev-parse --short HEAD)

# median wall time in ms of RUNS runs of "$@" (output discarded), fork to exit
median_ms() {
	python3 -c '
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
t = []
for _ in range(runs):
    s = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    t.append(time.perf_counter() - s)
print("%.1f" % (statistics.median(t) * 1000))' "$runs" "$@"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

bench() { # name, floor files, then "--" snpbuild args "--" reference args
	local name=$1; shift
	local floor=()
	while [ "$1" != -- ]; do floor+=("$1"); shift; done
	shift
	local ours=()
	while [ "$1" != -- ]; do ours+=("$1"); shift; done
	shift
	local theirs=("$@")

	local d_ours d_ref
	d_ours=$("$snpbuild" measure "${ours[@]}")
	d_ref=$(cd "$tmp" && python3 sev-snp-measure.py --mode snp --vmm-type QEMU "${theirs[@]}")
	if [ "$d_ours" != "$d_ref" ]; then
		echo "$name: digests differ: snpbuild $d_ours, reference $d_ref" >&2
		exit 1
	fi
	local t_floor t_ours t_ref
	t_floor=$(median_ms openssl dgst -sha384 "${floor[@]}")
	t_ours=$(median_ms "$snpbuild" measure "${ours[@]}")
	t_ref=$(cd "$tmp" && median_ms python3 sev-snp-measure.py --mode snp --vmm-type QEMU "${theirs[@]}")
	printf '%-34s %9s %9s %9s   %6s   %6s\n' "$name" "$t_floor" "$t_ours" "$t_ref" \
		"$(ratio "$t_ours" "$t_floor")" "$(ratio "$t_ref" "$t_ours")"
}

echo "snpbuild measure vs sev-snp-measure @$ssm_rev (python $(python3 -c 'import platform; print(platform.python_version())')), openssl $(openssl version | cut -d' ' -f2)"
echo "kernel: $(basename "$kernel") ($(stat -c %s "$kernel") bytes); OVMF: Debian 2022.11-6+deb12u2 ($(stat -c %s "$ovmf") bytes); $runs runs, medians, ms"
printf '%-34s %9s %9s %9s   %6s   %6s\n' case floor snpbuild reference ours/fl ref/ours
bench "deb12 OVMF, 4 vCPU EPYC-v4" "$ovmf" -- \
	--ovmf "$ovmf" --vcpus 4 --vcpu-type EPYC-v4 -- \
	--ovmf "$ovmf" --vcpus 4 --vcpu-type EPYC-v4
bench "AmdSev OVMF+kernel+initrd, 4 vCPU" "$amdsev" "$kernel" "$initrd" -- \
	--ovmf "$amdsev" --kernel "$kernel" --initrd "$initrd" --append "$cmdline" --vcpus 4 --vcpu-type EPYC-v4 -- \
	--ovmf "$amdsev" --kernel "$kernel" --initrd "$initrd" --append "$cmdline" --vcpus 4 --vcpu-type EPYC-v4
t_start=$(median_ms "$snpbuild" --version)
echo "snpbuild process start alone (--version, dynamic loading of libvirt & co.): $t_start ms"
echo "floor = openssl dgst -sha384 FILES (the same bytes); ours/fl: goal <= 1.5; ref/ours: how much faster than the reference"
