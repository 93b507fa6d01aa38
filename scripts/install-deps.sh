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

# Backports first: libvirt >= 10.5 and QEMU >= 9.1 are the first with SEV-SNP.
BACKPORTS="qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu
  libvirt-clients libvirt-dev libvirt-daemon-driver-storage udev"
BASE="meson ninja-build pkg-config gcc clang lld llvm libjansson-dev libssl-dev
  libcmocka-dev libxml2-dev libsqlite3-dev libmicrohttpd-dev libxml2-utils
  busybox-static cpio debootstrap e2fsprogs cryptsetup-bin kmod xz-utils
  dpkg-dev ca-certificates python3 openssl hyperfine"

missing=""
for p in $BACKPORTS $BASE; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# libvirt must come from backports even when bookworm's is installed.
if dpkg-query -W -f='${Version}\n' libvirt-dev 2>/dev/null | grep -q '^9\.'; then
	missing="$missing libvirt-dev"
fi
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
apt-get update -qq
# One command so apt resolves systemd/udev from backports consistently.
apt-get install -y -qq --no-install-recommends -t bookworm-backports $BACKPORTS $BASE >/dev/null
