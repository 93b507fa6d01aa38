#!/bin/sh
# Fetches the Debian firmware the deb12-* launch-digest vectors were made
# with (fixtures/README.md, "Launch-digest vectors"), without installing it:
#   tests/fetch-ovmf.sh BUILD_DIR
# leaves BUILD_DIR/ovmf-cache/deb12/usr/share/ovmf/OVMF.fd, where
# test-measure looks (or set SNPBUILD_DEB12_OVMF to another copy).
# Idempotent: does nothing when the file is there with the right digest.
set -eu

VERSION=2022.11-6+deb12u2
DEB_SHA256=e73d3d1a8799f7f6fc16b73501d913edcdd86237556fbff30693e747e6dc262e
FD_SHA256=7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
cache=$1/ovmf-cache
fd=$cache/deb12/usr/share/ovmf/OVMF.fd

if [ -f "$fd" ] && echo "$FD_SHA256  $fd" | sha256sum -c --status; then
	echo "$fd: present"
	exit 0
fi

mkdir -p "$cache"
cd "$cache"
deb=$(ls ovmf_*_all.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ] || ! echo "$DEB_SHA256  $deb" | sha256sum -c --status; then
	rm -f ovmf_*_all.deb
	if ! apt-get download "ovmf=$VERSION" >&2; then
		echo "$0: apt-get download ovmf=$VERSION failed (is the Debian mirror reachable? apt-get update?)" >&2
		exit 1
	fi
	deb=$(ls ovmf_*_all.deb | head -n 1)
fi
if ! echo "$DEB_SHA256  $deb" | sha256sum -c --status; then
	echo "$0: $cache/$deb: SHA-256 is not $DEB_SHA256" >&2
	exit 1
fi
rm -rf deb12
dpkg-deb -x "$deb" deb12
if ! echo "$FD_SHA256  deb12/usr/share/ovmf/OVMF.fd" | sha256sum -c --status; then
	echo "$0: $fd: SHA-256 is not $FD_SHA256" >&2
	exit 1
fi
echo "$fd: fetched"
