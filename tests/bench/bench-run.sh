#!/bin/sh
# Orchestration overhead: a no-op job through `snpbuild run` against the same
# guest booted to poweroff with plain qemu-system-x86_64 (same kernel, initrd,
# cmdline, dm-verity root, 50 GiB qcow2 scratch disk, virtio-serial channel,
# vCPUs, memory; a 60-line Python peer speaks the protocol), in the same run.
#   tests/bench/bench-run.sh BUILD_DIR [RUNS]     (default 5 runs each)
# Needs libvirtd running and the guest image built.
set -eu
build=$(cd "${1:?usage: $0 BUILD_DIR [RUNS]}" && pwd)
runs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
img=$build/guest-image
snpbuild=$build/orchestrator/cli/snpbuild
T=$(mktemp -d /tmp/snpbuild-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT

mkdir -p "$T/src"
echo noop >"$T/src/noop.txt"
cat >"$T/job.json" <<'JOB'
{"api_version": "snpbuild/v1", "name": "noop", "source": {"path": "src"}, "steps": [{"run": "true"}],
 "artifacts": ["noop.txt"], "resources": {"vcpus": 1, "memory_mib": 1024, "disk_gib": 50, "timeout_s": 600},
 "tee": "none"}
JOB
tar -C "$T/src" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -cf "$T/src.tar" .

now() { date +%s.%N; }

run_snpbuild() {
	"$snpbuild" run "$T/job.json" --image "$img" --out "$T/out" --work-dir "$T/work" -q >"$T/snpbuild.log" 2>&1 ||
		{ cat "$T/snpbuild.log"; exit 1; }
}

run_qemu() {
	rm -f "$T/scratch.qcow2" "$T/chan.sock"
	qemu-img create -q -f qcow2 "$T/scratch.qcow2" 50G
	qemu-system-x86_64 -accel tcg -machine q35 -cpu max -m 1024 -smp 1 -nodefaults -display none -no-reboot \
		-kernel "$img/vmlinux" -initrd "$img/initrd.img" -append "$(cat "$img/cmdline")" \
		-drive file="$img/rootfs.img",if=virtio,format=raw,readonly=on \
		-drive file="$T/scratch.qcow2",if=virtio,format=qcow2,discard=unmap \
		-device virtio-serial-pci -chardev socket,id=ch,path="$T/chan.sock",server=on,wait=off \
		-device virtserialport,chardev=ch,name=org.snpbuild.channel \
		-device virtio-rng-pci -serial file:"$T/console.log" &
	qpid=$!
	python3 "$here/chan-peer.py" "$T/chan.sock" "$T/job.json" "$T/src.tar" 2>"$T/peer.log"
	wait "$qpid"
	rm -f "$T/scratch.qcow2"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

run_qemu # warm caches once for both
: >"$T/s.times"
: >"$T/q.times"
i=0
while [ "$i" -lt "$runs" ]; do
	t0=$(now); run_snpbuild; t1=$(now)
	echo "$t1 - $t0" | bc >>"$T/s.times"
	t0=$(now); run_qemu; t1=$(now)
	echo "$t1 - $t0" | bc >>"$T/q.times"
	rm -rf "$T/out"
	i=$((i + 1))
done
s=$(median <"$T/s.times")
q=$(median <"$T/q.times")
echo "no-op job, $runs runs each, medians:"
echo "  snpbuild run (libvirt, full lifecycle):   $s s   [$(tr '\n' ' ' <"$T/s.times")]"
echo "  plain qemu-system-x86_64 + minimal peer:  $q s   [$(tr '\n' ' ' <"$T/q.times")]"
echo "  orchestration overhead ratio: $(echo "scale=3; $s / $q" | bc)  (target <= 1.10)"
