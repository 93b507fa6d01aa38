#!/bin/sh
# Fetches the bundled examples' sources from Debian's source packages and
# checks them against the digests pinned in the job descriptors.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)

fetch() { # package version file sha256 destdir
	pkg=$1 ver=$2 file=$3 sha=$4 dest=$5
	if [ -f "$dest/$file" ] && echo "$sha  $dest/$file" | sha256sum -c --status; then
		return 0
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get source --download-only -qq "$pkg=$ver" >/dev/null 2>&1) || {
		echo "fetch-example-sources: apt-get source $pkg=$ver failed (deb-src for bookworm missing? run scripts/install-deps.sh)" >&2
		exit 1
	}
	if ! echo "$sha  $tmp/$file" | sha256sum -c --status; then
		echo "fetch-example-sources: $file: sha256 differs from the pinned $sha" >&2
		exit 1
	fi
	mkdir -p "$dest"
	mv "$tmp/$file" "$dest/$file"
	rm -rf "$tmp"
	trap - EXIT
}

fetch zlib 1:1.2.13.dfsg-1 zlib_1.2.13.dfsg.orig.tar.bz2 \
	71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1 "$root/examples/zlib/source"
