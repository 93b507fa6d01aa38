#!/bin/sh
# The whole test suite from a fresh Debian 12 machine: installs packages,
# builds, builds the guest image, then runs
#   unit         cmocka tests against real fixtures (../shared/fixtures)
#   integration  real VMs through libvirt (TCG here): the example, a failing
#                build, a timeout, signals, a guest crash, refusals
#   fuzz         short libFuzzer runs of every parser (clang build)
# Suites can be chosen: scripts/test.sh unit fuzz
set -eu
cd "$(dirname "$0")/.."
suites=${*:-unit integration fuzz}

scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
meson compile -C build
tests/fetch-ovmf.sh build

status=0
started_libvirtd=0
log=$(mktemp)
# A libvirtd this script started is stopped again at the end.
trap 'rm -f "$log" "$log.rc"; [ "$started_libvirtd" = 0 ] || scripts/libvirtd.sh stop' EXIT
mtest() { # meson test args...; keeps the summary counts
	{
		set +e
		meson test "$@" --print-errorlogs 2>&1
		echo $? >"$log.rc"
	} | tee -a "$log"
	[ "$(cat "$log.rc")" -eq 0 ] || status=1
}
for s in $suites; do
	case $s in
	unit)
		mtest -C build --suite unit
		;;
	integration)
		meson compile -C build guest-image
		scripts/fetch-example-sources.sh
		if ! scripts/libvirtd.sh status >/dev/null 2>&1; then
			scripts/libvirtd.sh start
			started_libvirtd=1
		fi
		mtest -C build --suite integration
		;;
	fuzz)
		[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=enabled
		meson compile -C build-fuzz
		mtest -C build-fuzz --suite fuzz
		;;
	*)
		echo "test.sh: unknown suite '$s' (unit, integration, fuzz)" >&2
		exit 2
		;;
	esac
done
passed=$(awk '/^Ok:/ {n += $2} END {print n + 0}' "$log")
failed=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $NF} END {print n + 0}' "$log")
skipped=$(awk '/^Skipped:/ {n += $2} END {print n + 0}' "$log")
echo "snpbuild tests: $passed passed, $failed failed, $skipped skipped"
[ "$passed" -gt 0 ] || status=1
exit $status
