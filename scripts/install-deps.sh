#!/bin/sh
# Installs every Debian package snpbuild needs to build, run and test on a
# Debian 12 host. Idempotent; a no-op once everything is present.
set -eu

export DEBIAN_FRONTEND=noninteractive

backports=/etc/apt/sources.list.d/snpbuild-bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	cat > "$backports" <<'SRC'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
# Source packages (the bundled example's sources come from Debian).
srcs=/etc/apt/sources.list.d/snpbuild-bookworm-src.sources
if [ ! -e "$srcs" ]; then
	cat > "$srcs" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

# cosign, an independent DSSE/in-toto verifier for the provenance tests, is in
# trixie only (a static Go binary, no dependencies): trixie is added pinned at
# priority 100 so that nothing else is ever taken from it unasked.
trixie=/etc/apt/sources.list.d/snpbuild-trixie.sources
if [ ! -e "$trixie" ]; then
	cat > "$trixie" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
pin=/etc/apt/preferences.d/snpbuild-trixie
if [ ! -e "$pin" ]; then
	cat > "$pin" <<'PIN'
# snpbuild: trixie only for what is asked for with -t trixie (cosign).
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
fi

# Backports first: libvirt >= 10.5 and QEMU >= 9.1 are the first with SEV-SNP.
BACKPORTS="qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu
  libvirt-clients libvirt-dev libvirt-daemon-driver-storage udev"
BASE="meson ninja-build pkg-config gcc clang lld llvm libjansson-dev libssl-dev
  libcmocka-dev libxml2-dev libsqlite3-dev libmicrohttpd-dev libxml2-utils
  busybox-static cpio ovmf debootstrap e2fsprogs cryptsetup-bin kmod xz-utils
  dpkg-dev ca-certificates python3 openssl hyperfine bc tini"

missing=""
for p in $BACKPORTS $BASE; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# libvirt must come from backports even when bookworm's is installed.
if dpkg-query -W -f='${Version}\n' libvirt-dev 2>/dev/null | grep -q '^9\.'; then
	missing="$missing libvirt-dev"
fi
cosign=""
dpkg-query -W -f='${Status}\n' cosign 2>/dev/null | grep -q 'install ok installed' || cosign=cosign
[ -z "$missing" ] && [ -z "$cosign" ] && exit 0

echo "install-deps: installing:$missing ${cosign:+cosign (trixie)}" >&2
apt-get update -qq
# One command so apt resolves systemd/udev from backports consistently.
[ -z "$missing" ] || apt-get install -y -qq --no-install-recommends -t bookworm-backports $BACKPORTS $BASE >/dev/null
[ -z "$cosign" ] || apt-get install -y -qq --no-install-recommends -t trixie cosign >/dev/null
