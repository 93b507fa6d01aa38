#!/bin/sh
# Integration check of the guest image's dm-verity root (QEMU TCG, no KVM).
#
# Builds the guest image with a probe agent (guest-image/recipe/build-image.sh,
# cached in WORKDIR), then boots it with direct PVH kernel boot:
#   intact          -> the probe agent starts, root is on dm-verity, and the
#                      toolchain reads back fine
#   ext4 superblock -> one byte flipped: /init fails closed (FATAL, no agent)
#   agent block     -> one byte flipped in /usr/bin/snpbuild-agent: FATAL
#   cc1 block       -> one byte flipped in gcc's cc1: the agent starts but
#                      reading that file fails (EIO from dm-verity)
#   hash tree       -> one byte flipped in the top hash block: FATAL
#   wrong root hash -> one hex digit of snpbuild.verity= changed: FATAL
# The built image is never modified; each case boots a copy.
#
# usage: image-verity-check.sh [WORKDIR]   (default /tmp/snpbuild-image-verity-check)
# exit: 0 pass, 1 fail, 77 skipped (not root / no qemu-system-x86_64)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
recipe=$here/../../guest-image/recipe/build-image.sh
work=${1:-${TMPDIR:-/tmp}/snpbuild-image-verity-check}
img=$work/image

fail() { echo "image-verity-check: FAIL: $*" >&2; exit 1; }
skip() { echo "image-verity-check: SKIP: $*" >&2; exit 77; }

[ "$(id -u)" = 0 ] || skip "must run as root (the image recipe needs debootstrap)"
command -v qemu-system-x86_64 > /dev/null || skip "qemu-system-x86_64 not installed"
for t in debugfs od dd timeout; do
	command -v "$t" > /dev/null || fail "required tool '$t' not found"
done
[ -x "$recipe" ] || fail "$recipe missing"

mkdir -p "$work"
# Seed from an already built image (its cache makes this an agent-only rebuild).
if [ -n "${SNPBUILD_IMAGE_SEED:-}" ] && [ ! -d "$img" ] && [ -f "$SNPBUILD_IMAGE_SEED/manifest.json" ]; then
	cp -a "$SNPBUILD_IMAGE_SEED" "$img"
fi
cat > "$work/probe-agent" <<'EOF'
#!/bin/sh
echo "PROBE-AGENT: started"
grep -q '^/dev/mapper/snpbuild-root / ext4 ro' /proc/mounts && echo "PROBE-AGENT: root on dm-verity, read-only"
if cat /usr/lib/gcc/x86_64-linux-gnu/12/cc1 /usr/bin/x86_64-linux-gnu-gcc-12 > /dev/null 2> /tmp/err; then
	echo "PROBE-AGENT: toolchain readable"
else
	echo "PROBE-AGENT: toolchain read failed: $(cat /tmp/err)"
fi
sync
echo o > /proc/sysrq-trigger
sleep 30
EOF
chmod 0755 "$work/probe-agent"
"$recipe" "$img" "$work/probe-agent" || fail "building the guest image failed"

cmdline=$(cat "$img/cmdline")
hash_offset=$(echo "$cmdline" | tr ' ' '\n' | sed -n 's/^snpbuild.verity_offset=//p')
roothash=$(echo "$cmdline" | tr ' ' '\n' | sed -n 's/^snpbuild.verity=//p')
[ -n "$hash_offset" ] && [ -n "$roothash" ] || fail "$img/cmdline lacks snpbuild.verity=/snpbuild.verity_offset="

boot() { # NAME DISK CMDLINE: console in $work/NAME.log
	start=$(date +%s)
	timeout 300 qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nodefaults -display none \
		-no-reboot -machine q35 -serial "file:$work/$1.log" \
		-kernel "$img/vmlinux" -initrd "$img/initrd.img" -append "$3" \
		-drive "file=$2,if=virtio,format=raw,readonly=on" < /dev/null > "$work/$1.qemu" 2>&1 ||
		fail "$1: qemu failed or timed out: $(cat "$work/$1.qemu")"
	echo "image-verity-check: $1: booted and stopped in $(($(date +%s) - start)) s"
}
has() { grep -q "$2" "$work/$1.log"; }
expect_fatal() { # NAME
	has "$1" 'snpbuild-init: FATAL: ' || fail "$1: no 'snpbuild-init: FATAL' on the console (see $work/$1.log)"
	! has "$1" 'PROBE-AGENT: started' || fail "$1: the agent started from a corrupted root (see $work/$1.log)"
	echo "image-verity-check: $1: ok, failed closed: $(grep -a 'snpbuild-init: FATAL' "$work/$1.log" | head -n 1 | cut -c1-160)"
}
# flip BYTE_OFFSET of a fresh copy of rootfs.img at $work/corrupt.img
flip() {
	cp --sparse=always "$img/rootfs.img" "$work/corrupt.img"
	b=$(dd if="$work/corrupt.img" bs=1 skip="$1" count=1 2> /dev/null | od -An -tu1 | tr -d ' ')
	[ -n "$b" ] || fail "cannot read byte $1 of rootfs.img"
	printf "\\$(printf '%03o' $(((b ^ 0x55) & 255)))" |
		dd of="$work/corrupt.img" bs=1 seek="$1" count=1 conv=notrunc 2> /dev/null
}
block_of() { # PATH LOGICAL_BLOCK -> physical block in the ext4 image
	debugfs -R "bmap $1 $2" "$img/rootfs.img" 2> /dev/null | tr -d '[:space:]'
}

# 1. intact image
boot intact "$img/rootfs.img" "$cmdline"
has intact 'PROBE-AGENT: started' || fail "intact: the agent did not start (see $work/intact.log)"
has intact 'PROBE-AGENT: root on dm-verity' || fail "intact: root is not on dm-verity (see $work/intact.log)"
has intact 'PROBE-AGENT: toolchain readable' || fail "intact: toolchain unreadable (see $work/intact.log)"
echo "image-verity-check: intact: ok, $(grep -a 'starting /usr/bin/snpbuild-agent' "$work/intact.log" | sed 's/.* at /agent started at /')"

# 2. ext4 superblock (block 0, byte 1024 + 0x78: inside the volume name)
flip $((1024 + 0x78))
boot superblock "$work/corrupt.img" "$cmdline"
expect_fatal superblock

# 3. first data block of the agent
blk=$(block_of /usr/bin/snpbuild-agent 0)
[ -n "$blk" ] && [ "$blk" -gt 0 ] || fail "cannot find the agent's block with debugfs"
flip $((blk * 4096 + 10))
boot agent-block "$work/corrupt.img" "$cmdline"
expect_fatal agent-block

# 4. a block in the middle of cc1, read by the agent after boot
blk=$(block_of /usr/lib/gcc/x86_64-linux-gnu/12/cc1 1000)
[ -n "$blk" ] && [ "$blk" -gt 0 ] || fail "cannot find cc1's block 1000 with debugfs"
flip $((blk * 4096 + 2000))
boot cc1-block "$work/corrupt.img" "$cmdline"
has cc1-block 'PROBE-AGENT: started' || fail "cc1-block: the agent did not start (see $work/cc1-block.log)"
has cc1-block 'PROBE-AGENT: toolchain read failed' ||
	fail "cc1-block: reading a corrupted block of cc1 succeeded (see $work/cc1-block.log)"
echo "image-verity-check: cc1-block: ok, $(grep -a 'toolchain read failed' "$work/cc1-block.log" | head -n 1 | cut -c1-160)"

# 5. top block of the hash tree (one hash block after the verity superblock)
flip $((hash_offset + 4096 + 7))
boot hash-tree "$work/corrupt.img" "$cmdline"
expect_fatal hash-tree

# 6. wrong root hash on the command line, intact disk
first=$(echo "$roothash" | cut -c1)
case "$first" in 0) other=1 ;; *) other=0 ;; esac
boot wrong-roothash "$img/rootfs.img" "$(echo "$cmdline" | sed "s/snpbuild.verity=$first/snpbuild.verity=$other/")"
expect_fatal wrong-roothash

rm -f "$work/corrupt.img"
echo "image-verity-check: PASS"
