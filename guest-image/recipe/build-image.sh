#!/bin/bash
# Builds the snpbuild guest image from Debian bookworm packages:
#   vmlinuz      Debian kernel bzImage (OVMF / SNP boot)
#   vmlinux      the same kernel as an uncompressed PVH ELF (fast TCG boot)
#   initrd.img   busybox + kernel modules + veritysetup + /init
#   rootfs.img   read-only ext4 root (toolchain + agent), dm-verity hash
#                tree appended at verity_hash_offset
#   cmdline      kernel command line carrying the verity parameters
#   manifest.json  SHA-256 and size of every boot component, package versions
#
# usage: build-image.sh OUTDIR AGENT_BINARY
#
# Every stage is cached under OUTDIR/.cache keyed by its inputs (the stage's
# own code, the recipe files it reads, resolved package versions), and the
# whole run is a no-op when nothing changed. See guest-image/README.md.
#
# Environment:
#   SNPBUILD_DEBIAN_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   SNPBUILD_DEBIAN_SECURITY_MIRROR  (default http://deb.debian.org/debian-security)
#   SNPBUILD_IMAGE_REFRESH=1  ignore the up-to-date check and rebuild the
#                           debootstrap base from the mirror (picks up new
#                           package versions)
#   SOURCE_DATE_EPOCH       timestamp for every file in the images
#                           (default 1704067200, 2024-01-01)
set -euo pipefail

PROG=build-image.sh
SUITE=bookworm
MIRROR=${SNPBUILD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SNPBUILD_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
EPOCH=${SOURCE_DATE_EPOCH:-1704067200}
BLOCK=4096
AGENT_PATH=/usr/bin/snpbuild-agent
T0=$(date +%s.%N)

die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { printf '%s: [%5.1fs] %s\n' "$PROG" "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{print b - a}')" "$*" >&2; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }
sha256_str() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

[ $# -eq 2 ] || { echo "usage: $PROG OUTDIR AGENT_BINARY" >&2; exit 2; }
OUTDIR=$1
AGENT=$2
[ -f "$AGENT" ] || die "agent binary $AGENT: no such file"
[ -x "$AGENT" ] || die "agent binary $AGENT: not executable"
case "$EPOCH" in ''|*[!0-9]*) die "SOURCE_DATE_EPOCH=$EPOCH: not a number of seconds" ;; esac
RECIPE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for f in init packages.list modules.list mke2fs.conf; do
	[ -f "$RECIPE/$f" ] || die "recipe file $RECIPE/$f missing"
done
mkdir -p "$OUTDIR" || die "cannot create output folder $OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
CACHE=$OUTDIR/.cache
OUTPUTS="vmlinuz vmlinux initrd.img rootfs.img cmdline manifest.json"

# Hash of one stage's code: editing a stage invalidates that stage only.
fn_hash() { declare -f "$1" | sha256sum | cut -d' ' -f1; }

# --- up-to-date check (must stay well under a second) ---------------------
AGENT_SHA=$(sha256 "$AGENT")
RUN_KEY=$(cat "${BASH_SOURCE[0]}" "$RECIPE/init" "$RECIPE/packages.list" \
	"$RECIPE/modules.list" "$RECIPE/mke2fs.conf" |
	{ cat; printf '\n%s\n' "$AGENT_SHA" "$SUITE" "$MIRROR" "$SECURITY_MIRROR" "$EPOCH"; } |
	sha256sum | cut -d' ' -f1)
stamp_text() {
	echo "$RUN_KEY"
	(cd "$OUTDIR" && stat -c '%n %s %Y %i' $OUTPUTS 2>/dev/null) || true
}
if [ "${SNPBUILD_IMAGE_REFRESH:-0}" != 1 ] && [ -f "$OUTDIR/.stamp" ] &&
	[ "$(cat "$OUTDIR/.stamp")" = "$(stamp_text)" ]; then
	echo "$PROG: $OUTDIR is up to date" >&2
	exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and root-owned files in the image need it)"
for t in apt-get apt-cache dpkg-deb dpkg-query debootstrap chroot depmod modprobe \
	umount cpio gzip xz readelf mkfs.ext4 resize2fs dumpe2fs veritysetup flock; do
	command -v "$t" > /dev/null || die "required tool '$t' not found (run scripts/install-deps.sh)"
done
[ -f "$KEYRING" ] || die "$KEYRING missing (package debian-archive-keyring)"

# Remove a cache directory; first unmount anything an interrupted stage left
# mounted in it (debootstrap and the upgrade mount /proc in the tree).
safe_rm() {
	local p m
	for p in "$@"; do
		[ -e "$p" ] || continue
		for m in $(awk -v p="$p/" 'index($2 "/", p) == 1 {print $2}' /proc/self/mounts | sort -r); do
			umount -l "$m" || die "cannot unmount $m (left by an interrupted build)"
		done
		rm -rf --one-file-system "$p"
	done
}

mkdir -p "$CACHE"
exec 9> "$CACHE/lock"
flock -n 9 || { log "waiting for another build-image.sh on $OUTDIR"; flock 9; }
# Holding the lock: whatever a killed run left behind is garbage.
safe_rm "$CACHE"/.tmp-* "$OUTDIR/.rootfs.img.tmp" "$OUTDIR/.manifest.json.tmp"
trap 'safe_rm "$CACHE"/.tmp-*-$$ "$OUTDIR/.rootfs.img.tmp"' EXIT

# Packages list without comments and blanks.
PACKAGES=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$RECIPE/packages.list")
[ -n "$PACKAGES" ] || die "$RECIPE/packages.list: no packages"

# --- stage helpers ----------------------------------------------------------
# cached KIND KEY FUNCTION ARGS...: run FUNCTION DIR ARGS... into a fresh
# directory unless .cache/KIND-KEY exists; print the directory. Stale
# entries of the same kind are removed after a successful build.
cached() {
	local kind=$1 key=$2 fn=$3; shift 3
	local dir=$CACHE/$kind-${key:0:20}
	if [ ! -e "$dir/.done" ]; then
		local tmp=$CACHE/.tmp-$kind-$$
		safe_rm "$tmp" "$dir"
		mkdir -p "$tmp"
		log "$kind: building (cache key ${key:0:20})"
		"$fn" "$tmp" "$@" >&2 || { safe_rm "$tmp"; die "$kind: stage failed"; }
		touch "$tmp/.done"
		mv "$tmp" "$dir"
		local old
		for old in "$CACHE/$kind"-*; do
			[ "$old" = "$dir" ] || safe_rm "$old"
		done
		log "$kind: done"
	else
		log "$kind: cached"
	fi
	printf '%s\n' "$dir"
}

# --- stage: kernel ------------------------------------------------------------
stage_kernel() { # DIR PACKAGE
	local d=$1 pkg=$2 kver=${2#linux-image-} off
	(cd "$d" && apt-get download -q -o APT::Sandbox::User=root "$pkg" > /dev/null) ||
		{ echo "apt-get download $pkg failed" >&2; return 1; }
	dpkg-deb -x "$d/$pkg"_*.deb "$d/kroot" || return 1
	rm -f "$d/$pkg"_*.deb
	cp "$d/kroot/boot/vmlinuz-$kver" "$d/vmlinuz" || return 1
	# The bzImage payload is xz: decompressing it yields the ELF vmlinux,
	# which QEMU boots directly through its PVH entry point.
	off=$(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$d/vmlinuz" | head -1 | cut -d: -f1)
	[ -n "$off" ] || { echo "no xz payload in vmlinuz-$kver" >&2; return 1; }
	{ tail -c +$((off + 1)) "$d/vmlinuz" || :; } | xz -dc --single-stream > "$d/vmlinux" ||
		{ echo "cannot decompress the vmlinuz-$kver payload" >&2; return 1; }
	readelf -n "$d/vmlinux" | grep -q 'Xen.*0x00000012' ||
		{ echo "vmlinux of $kver has no PVH entry note (CONFIG_PVH)" >&2; return 1; }
	depmod -b "$d/kroot" "$kver" || return 1
	echo "$kver" > "$d/kernel-version"
	printf '%s\t%s\n' "$pkg" "$3" > "$d/packages.tsv"
}

# --- stage: busybox -------------------------------------------------------------
stage_busybox() { # DIR VERSION
	local d=$1
	(cd "$d" && apt-get download -q -o APT::Sandbox::User=root busybox-static > /dev/null) ||
		{ echo "apt-get download busybox-static failed" >&2; return 1; }
	dpkg-deb -x "$d"/busybox-static_*.deb "$d/x" || return 1
	cp "$d/x/bin/busybox" "$d/busybox" || return 1
	rm -rf "$d/x" "$d"/busybox-static_*.deb
	printf 'busybox-static\t%s\n' "$2" > "$d/packages.tsv"
}

# --- stage: root file system base (debootstrap + customisation + strip) ------
stage_rootfs_base() { # DIR
	local d=$1 t=$1/tree days=$((EPOCH / 86400))
	log "rootfs-base: debootstrap --variant=minbase $SUITE (about a minute)"
	if ! debootstrap --variant=minbase --components=main --keyring="$KEYRING" \
		--include="$(echo $PACKAGES | tr ' ' ,)" "$SUITE" "$t" "$MIRROR" > "$d/debootstrap.log" 2>&1; then
		tail -20 "$d/debootstrap.log" >&2
		[ -f "$t/debootstrap/debootstrap.log" ] && tail -20 "$t/debootstrap/debootstrap.log" >&2
		echo "debootstrap failed (log above)" >&2
		return 1
	fi
	# debootstrap installs one suite; bring the tree to the current point
	# release plus security updates, like the host the agent is built on.
	cat > "$t/etc/apt/sources.list" <<-SRC
		deb $MIRROR $SUITE main
		deb $MIRROR $SUITE-updates main
		deb $SECURITY_MIRROR $SUITE-security main
	SRC
	mount -t proc proc "$t/proc" || return 1
	if ! { chroot "$t" apt-get -q update &&
		DEBIAN_FRONTEND=noninteractive chroot "$t" apt-get -y -q --no-install-recommends \
			-o Dpkg::Options::=--force-confold upgrade &&
		chroot "$t" apt-get clean; } > "$d/apt-upgrade.log" 2>&1; then
		umount "$t/proc"
		tail -20 "$d/apt-upgrade.log" >&2
		echo "apt-get upgrade in the root tree failed (log above)" >&2
		return 1
	fi
	umount "$t/proc" || return 1
	dpkg-query --admindir="$t/var/lib/dpkg" -W -f '${Package}\t${Version}\n' |
		LC_ALL=C sort > "$d/packages.tsv"

	# Host-specific files debootstrap copied in.
	echo snpbuild > "$t/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tsnpbuild\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$t/etc/hosts"
	# The root is read-only: DNS, if a job gets egress, is set in /run.
	rm -f "$t/etc/resolv.conf"
	ln -s ../run/resolv.conf "$t/etc/resolv.conf"
	rm -f "$t/etc/machine-id" "$t/var/lib/dbus/machine-id"

	# Unprivileged build user, written directly so the entries are deterministic.
	grep -q '^build:' "$t/etc/passwd" && { echo "user build already exists" >&2; return 1; }
	echo 'build:x:1000:1000:snpbuild build user:/home/build:/bin/bash' >> "$t/etc/passwd"
	echo 'build:x:1000:' >> "$t/etc/group"
	echo "build:!:$days:0:99999:7:::" >> "$t/etc/shadow"
	echo 'build:!::' >> "$t/etc/gshadow"
	sed -i -E "s/^([^:]*:[^:]*:)[0-9]+:/\\1$days:/" "$t/etc/shadow"
	rm -f "$t"/etc/passwd- "$t"/etc/group- "$t"/etc/shadow- "$t"/etc/gshadow-

	# Mount points: tmpfs from /init, the scratch disk from the agent.
	mkdir -p "$t/build" "$t/run" "$t/tmp" "$t/var/tmp" "$t/home/build" "$t/root"
	chmod 0755 "$t/build" "$t/run"
	chmod 1777 "$t/tmp" "$t/var/tmp"
	chown 1000:1000 "$t/home/build"
	chmod 0700 "$t/home/build" "$t/root"
	find "$t/run" "$t/tmp" "$t/var/tmp" -mindepth 1 -delete

	# Strip what a build does not need (keep the copyright files).
	rm -rf "$t"/usr/share/man/* "$t"/usr/share/info/* "$t"/usr/share/locale/* \
		"$t"/usr/share/lintian "$t"/usr/share/bug "$t"/usr/share/doc-base \
		"$t"/var/cache/apt/* "$t"/var/lib/apt/lists/* "$t"/var/cache/debconf/*-old \
		"$t"/var/lib/dpkg/*-old "$t"/var/cache/ldconfig/aux-cache "$t"/debootstrap
	find "$t/usr/share/doc" -mindepth 1 \( -type f -o -type l \) ! -name copyright -delete
	find "$t/usr/share/doc" -mindepth 1 -type d -empty -delete
	find "$t/var/log" -mindepth 1 \( -type f -o -type l \) -delete

	find "$t" -xdev -print0 | xargs -0 touch -h -d "@$EPOCH"
}

# --- stage: initrd ----------------------------------------------------------------
stage_initrd() { # DIR KERNEL_DIR BUSYBOX_DIR BASE_DIR
	local d=$1 kdir=$2 bdir=$3 base=$4 r=$1/root
	local kver m need out line path rel lib seen=" "
	kver=$(cat "$kdir/kernel-version")
	mkdir -p "$r"/{bin,dev,proc,sys,run,newroot,etc/snpbuild,lib/modules/"$kver"}
	install -m 0755 "$bdir/busybox" "$r/bin/busybox"
	for m in $("$r/bin/busybox" --list); do
		[ "$m" = busybox ] || ln -s busybox "$r/bin/$m"
	done

	# veritysetup and its libraries, from the root file system's own packages.
	install -m 0755 "$base/tree/usr/sbin/veritysetup" "$r/bin/veritysetup"
	out=$(chroot "$base/tree" ldd /usr/sbin/veritysetup) || { echo "ldd veritysetup failed" >&2; return 1; }
	for lib in $(echo "$out" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
		mkdir -p "$r$(dirname "$lib")"
		cp -L "$base/tree$lib" "$r$lib" || { echo "cannot copy $lib" >&2; return 1; }
	done

	# Kernel modules with their dependencies, in load order.
	: > "$r/etc/snpbuild/modules"
	for need in required optional; do
		while read -r m; do
			case "$need:$m" in
			required:*\?|optional:*[!?]) continue ;;
			esac
			m=${m%\?}
			if ! out=$(modprobe -d "$kdir/kroot" -S "$kver" --show-depends "$m" 2>&1); then
				[ "$need" = optional ] && { log "initrd: optional module $m not in $kver, skipped"; continue; }
				echo "module $m: $out" >&2
				return 1
			fi
			while read -r line; do
				case "$line" in
				builtin\ *) continue ;;
				insmod\ *) path=$(echo "$line" | cut -d' ' -f2) ;;
				*) echo "module $m: unexpected modprobe output: $line" >&2; return 1 ;;
				esac
				rel=${path#"$kdir/kroot/lib/modules/$kver/"}
				case "$seen" in *" $rel "*) continue ;; esac
				seen="$seen$rel "
				mkdir -p "$r/lib/modules/$kver/$(dirname "$rel")"
				cp "$path" "$r/lib/modules/$kver/$rel"
				printf '%s %s\n' "$rel" "$need" >> "$r/etc/snpbuild/modules"
			done <<< "$out"
		done < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$RECIPE/modules.list")
	done
	echo "$kver" > "$r/etc/snpbuild/kernel-version"

	install -m 0755 "$RECIPE/init" "$r/init"
	mknod -m 0600 "$r/dev/console" c 5 1
	mknod -m 0666 "$r/dev/null" c 1 3
	find "$r" -print0 | xargs -0 touch -h -d "@$EPOCH"
	(cd "$r" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --reproducible -R 0:0 --quiet) | gzip -n -9 > "$d/initrd.img"
	cat "$kdir/packages.tsv" "$bdir/packages.tsv" > "$d/packages.tsv"
	awk '{print $1}' "$r/etc/snpbuild/modules" > "$d/modules.txt"
}

# --- resolve packages ---------------------------------------------------------------
# apt-cache takes ~0.7 s a call: the answer is kept until the host's apt
# lists change (apt-get update), so an agent-only rebuild does not pay it.
lists_key=$(sha256_str "$(stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* 2>/dev/null)")
if [ -f "$CACHE/resolved" ] && [ "$(head -n 1 "$CACHE/resolved")" = "$lists_key" ]; then
	{ read -r _; read -r KPKG KPKG_VER KPKG_SHA; read -r BB_VER BB_SHA; } < "$CACHE/resolved"
	log "kernel and busybox-static versions cached (apt lists unchanged)"
else
	log "resolving kernel and busybox-static from the host's apt lists"
	out=$(apt-cache show --no-all-versions linux-image-amd64 busybox-static 2>/dev/null) || true
	KPKG=$(echo "$out" | awk '/^Package: /{p=$2} p=="linux-image-amd64" && /^Depends: /{print; exit}' |
		sed 's/^Depends: //' | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -1)
	BB_VER=$(echo "$out" | awk '/^Package: /{p=$2} p=="busybox-static" && /^Version: /{print $2; exit}')
	BB_SHA=$(echo "$out" | awk '/^Package: /{p=$2} p=="busybox-static" && /^SHA256: /{print $2; exit}')
	[ -n "$KPKG" ] || die "cannot resolve the kernel package linux-image-amd64 depends on (apt-get update?)"
	out=$(apt-cache show --no-all-versions "$KPKG" 2>/dev/null) || true
	KPKG_VER=$(echo "$out" | sed -n 's/^Version: //p' | head -1)
	KPKG_SHA=$(echo "$out" | sed -n 's/^SHA256: //p' | head -1)
	[ -n "$KPKG_VER" ] && [ -n "$KPKG_SHA" ] && [ -n "$BB_VER" ] && [ -n "$BB_SHA" ] ||
		die "cannot resolve $KPKG / busybox-static versions and hashes (apt-get update?)"
	printf '%s\n%s %s %s\n%s %s\n' "$lists_key" "$KPKG" "$KPKG_VER" "$KPKG_SHA" "$BB_VER" "$BB_SHA" > "$CACHE/resolved"
fi

KEY_KERNEL=$(sha256_str "$(fn_hash stage_kernel) $KPKG $KPKG_VER $KPKG_SHA")
KEY_BUSYBOX=$(sha256_str "$(fn_hash stage_busybox) $BB_VER $BB_SHA")
KEY_BASE=$(sha256_str "$(fn_hash stage_rootfs_base) $SUITE $MIRROR $SECURITY_MIRROR $EPOCH $(echo $PACKAGES)")
if [ "${SNPBUILD_IMAGE_REFRESH:-0}" = 1 ]; then safe_rm "$CACHE/rootfs-base-${KEY_BASE:0:20}"; fi

KDIR=$(cached kernel "$KEY_KERNEL" stage_kernel "$KPKG" "$KPKG_VER")
BDIR=$(cached busybox "$KEY_BUSYBOX" stage_busybox "$BB_VER")
BASE=$(cached rootfs-base "$KEY_BASE" stage_rootfs_base)
KEY_INITRD=$(sha256_str "$(fn_hash stage_initrd) $(sha256 "$RECIPE/init") $(sha256 "$RECIPE/modules.list") $KEY_KERNEL $KEY_BUSYBOX $KEY_BASE $EPOCH")
IDIR=$(cached initrd "$KEY_INITRD" stage_initrd "$KDIR" "$BDIR" "$BASE")
KVER=$(cat "$KDIR/kernel-version")

# --- final assembly: agent + ext4 + dm-verity + manifest (seconds) ----------
TREE=$BASE/tree
log "rootfs: installing agent ($AGENT_SHA)"
install -o 0 -g 0 -m 0755 "$AGENT" "$TREE$AGENT_PATH"
touch -h -d "@$EPOCH" "$TREE$AGENT_PATH" "$TREE/usr/bin"
if [ "$(head -c 4 "$AGENT" | od -An -c | tr -d ' ')" = '177ELF' ]; then
	if readelf -l "$AGENT" | grep -q 'Requesting program interpreter'; then
		out=$(chroot "$TREE" ldd "$AGENT_PATH" 2>&1) || die "agent: ldd in the root image failed: $out"
		if echo "$out" | grep -q 'not found'; then
			die "agent needs libraries the root image lacks: $(echo "$out" | grep 'not found' | tr -s ' \t\n' ' ')"
		fi
	fi
else
	interp=$(head -n 1 "$AGENT" | sed -n 's/^#![[:space:]]*\([^[:space:]]*\).*/\1/p')
	[ -n "$interp" ] || die "agent $AGENT: neither an ELF binary nor a #! script"
	[ -x "$TREE$interp" ] || die "agent $AGENT: interpreter $interp missing in the root image"
fi

TMPIMG=$OUTDIR/.rootfs.img.tmp
rm -f "$TMPIMG"
# Size: files plus 15% and 32 MiB of slack, then shrunk to the minimum.
nfiles=$(find "$TREE" -xdev | wc -l)
used_kib=$(du -s -x -k "$TREE" | cut -f1)
inodes=$((nfiles + nfiles / 10 + 256))
blocks=$(((used_kib / 4 * 115 / 100) + inodes / 16 + 8192))
truncate -s $((blocks * BLOCK)) "$TMPIMG"
FS_UUID=$(sha256_str "snpbuild-rootfs-uuid $EPOCH" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
log "rootfs: mkfs.ext4 -d ($nfiles files, $((used_kib / 1024)) MiB)"
MKE2FS_CONFIG=$RECIPE/mke2fs.conf E2FSPROGS_FAKE_TIME=$EPOCH SOURCE_DATE_EPOCH=$EPOCH \
	mkfs.ext4 -q -F -t ext4 -b $BLOCK -L snpbuild-root -U "$FS_UUID" -N "$inodes" \
	-E "hash_seed=$FS_UUID,root_owner=0:0,lazy_itable_init=0,nodiscard" \
	-d "$TREE" "$TMPIMG" || die "mkfs.ext4 -d $TREE failed"
E2FSPROGS_FAKE_TIME=$EPOCH resize2fs -M "$TMPIMG" > /dev/null 2>&1 || die "resize2fs -M $TMPIMG failed"
fs_blocks=$(dumpe2fs -h "$TMPIMG" 2>/dev/null | sed -n 's/^Block count: *//p')
[ -n "$fs_blocks" ] || die "dumpe2fs: cannot read the block count of $TMPIMG"
truncate -s $((fs_blocks * BLOCK)) "$TMPIMG"
HASH_OFFSET=$((fs_blocks * BLOCK))

# Salt: a function of every input of the image, so the root hash is too
# (veritysetup would pick a random one).
SALT=$(sha256_str "snpbuild-verity-salt $KEY_BASE $KEY_INITRD $RUN_KEY")
VUUID=$(echo "$SALT" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
log "rootfs: veritysetup format (hash tree at $HASH_OFFSET)"
out=$(veritysetup format --hash=sha256 --data-block-size=$BLOCK --hash-block-size=$BLOCK \
	--data-blocks="$fs_blocks" --hash-offset="$HASH_OFFSET" --salt="$SALT" --uuid="$VUUID" \
	"$TMPIMG" "$TMPIMG" 2>&1) || die "veritysetup format $TMPIMG failed: $out"
ROOTHASH=$(echo "$out" | sed -n 's/^Root hash:[[:space:]]*//p')
case "$ROOTHASH" in
*[!0-9a-f]*|'') die "veritysetup format printed no root hash: $out" ;;
esac
[ ${#ROOTHASH} -eq 64 ] || die "unexpected root hash length: $ROOTHASH"
# Check the tree exactly as /init opens it: no superblock, parameters from cmdline.
out=$(veritysetup verify --no-superblock --hash=sha256 --data-block-size=$BLOCK \
	--hash-block-size=$BLOCK --data-blocks="$fs_blocks" --hash-offset=$((HASH_OFFSET + BLOCK)) \
	--salt="$SALT" "$TMPIMG" "$TMPIMG" "$ROOTHASH" 2>&1) ||
	die "veritysetup verify of the fresh image failed: $out"

CMDLINE="console=ttyS0 panic=-1 quiet snpbuild.root=/dev/vda snpbuild.verity=$ROOTHASH snpbuild.verity_offset=$HASH_OFFSET snpbuild.verity_blocks=$fs_blocks snpbuild.verity_salt=$SALT"

# --- outputs ------------------------------------------------------------------------
rm -f "$OUTDIR/.stamp"
ln -f "$KDIR/vmlinuz" "$OUTDIR/vmlinuz" 2> /dev/null || cp "$KDIR/vmlinuz" "$OUTDIR/vmlinuz"
ln -f "$KDIR/vmlinux" "$OUTDIR/vmlinux" 2> /dev/null || cp "$KDIR/vmlinux" "$OUTDIR/vmlinux"
ln -f "$IDIR/initrd.img" "$OUTDIR/initrd.img" 2> /dev/null || cp "$IDIR/initrd.img" "$OUTDIR/initrd.img"
mv -f "$TMPIMG" "$OUTDIR/rootfs.img"
printf '%s\n' "$CMDLINE" > "$OUTDIR/cmdline"

component() { # NAME FILE
	printf '"%s":{"path":"%s","sha256":"%s","size":%s}' "$1" "$2" \
		"$(sha256 "$OUTDIR/$2")" "$(stat -c %s "$OUTDIR/$2")"
}
log "manifest: hashing components"
{
	printf '{"manifest_version":1,'
	component kernel vmlinuz; printf ','
	component kernel_pvh vmlinux; printf ','
	component initrd initrd.img; printf ','
	printf '"rootfs":{"path":"rootfs.img","sha256":"%s","size":%s,"verity_roothash":"%s","verity_hash_offset":%s,"verity_data_blocks":%s,"verity_salt":"%s","verity_hash":"sha256","verity_block_size":%s},' \
		"$(sha256 "$OUTDIR/rootfs.img")" "$(stat -c %s "$OUTDIR/rootfs.img")" \
		"$ROOTHASH" "$HASH_OFFSET" "$fs_blocks" "$SALT" "$BLOCK"
	printf '"cmdline":"%s","cmdline_sha256":"%s",' "$CMDLINE" "$(sha256_str "$CMDLINE")"
	printf '"kernel_version":"%s","debian_suite":"%s",' "$KVER" "$SUITE"
	printf '"initrd_modules":['
	sed 's/.*\///; s/\.ko$//; s/.*/"&"/' "$IDIR/modules.txt" | paste -sd, | tr -d '\n'
	printf '],"debian_packages":{'
	cat "$BASE/packages.tsv" "$IDIR/packages.tsv" | LC_ALL=C sort -u |
		awk -F'\t' '{printf "%s\"%s\":\"%s\"", (NR > 1 ? "," : ""), $1, $2}'
	printf '},"agent_path":"%s","agent_sha256":"%s"}\n' "$AGENT_PATH" "$AGENT_SHA"
} > "$OUTDIR/.manifest.json.tmp"
mv -f "$OUTDIR/.manifest.json.tmp" "$OUTDIR/manifest.json"

stamp_text > "$OUTDIR/.stamp"
log "done: $OUTDIR (kernel $KVER, verity root hash $ROOTHASH)"
