#!/bin/sh
# Starts or stops libvirtd + virtlogd on a host without systemd as PID 1 (CI
# containers, this project's development machines). On a host where systemd
# manages libvirt, use it instead and do not run this.
#   scripts/libvirtd.sh start|stop|status
set -eu

uri=qemu:///system
conf=/etc/libvirt/qemu.conf

is_running() {
	[ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

case "${1:-}" in
start)
	# Throwaway development/CI hosts only: QEMU as root. /dev/kvm is root-only
	# here, and libvirt re-probes QEMU on every start without it (60 s per VM).
	# A farm host keeps libvirt-qemu and grants /dev/kvm and /dev/sev by group.
	if [ "${SNPBUILD_DEV_HOST:-1}" = 1 ] && ! grep -q '^user = "root"' "$conf"; then
		printf '# added by snpbuild scripts/libvirtd.sh (development host)\nuser = "root"\ngroup = "root"\n' >> "$conf"
	fi
	mkdir -p /run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt/qemu
	is_running /run/virtlogd.pid || virtlogd -d
	if ! is_running /run/libvirtd.pid; then
		# libvirt daemonizes QEMU, whose process then belongs to PID 1. Where
		# PID 1 is no real init (containers, this project's machines: it
		# reaps orphans only every ~2 s), libvirt's destroy waits for the
		# zombie. tini -s makes a subreaper that reaps at once.
		if [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ] && command -v tini >/dev/null; then
			setsid tini -s -- libvirtd </dev/null >>/var/log/snpbuild-libvirtd.log 2>&1 &
		else
			libvirtd -d
		fi
	fi
	i=0
	until virsh -q -c "$uri" version >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt 300 ]; then
			echo "libvirtd.sh: libvirtd did not answer on $uri within 30 s" >&2
			exit 1
		fi
		sleep 0.1
	done
	;;
stop)
	if is_running /run/libvirtd.pid; then
		for d in $(virsh -q -c "$uri" list --name 2>/dev/null | grep '^snpbuild-' || true); do
			virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1 || true
		done
		kill -TERM "$(cat /run/libvirtd.pid)"
	fi
	is_running /run/virtlogd.pid && kill -TERM "$(cat /run/virtlogd.pid)"
	i=0
	while is_running /run/libvirtd.pid || is_running /run/virtlogd.pid; do
		i=$((i + 1)); [ "$i" -gt 100 ] && break
		sleep 0.1
	done
	;;
status)
	virsh -q -c "$uri" version
	;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
