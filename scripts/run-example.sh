#!/bin/sh
# One command from a fresh Debian 12 machine to the bundled example's
# artifacts: installs packages, builds snpbuild and the guest image, starts
# libvirt if nothing manages it, and runs examples/zlib/job.json.
#   scripts/run-example.sh [extra 'snpbuild run' options]
set -eu
cd "$(dirname "$0")/.."

scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
meson compile -C build
meson compile -C build guest-image
scripts/fetch-example-sources.sh
tests/fetch-ovmf.sh build >/dev/null # so that 'meson test -C build' finds the firmware vectors need
scripts/libvirtd.sh start

exec build/orchestrator/cli/snpbuild run examples/zlib/job.json --image build/guest-image --out out "$@"
