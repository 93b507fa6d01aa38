#!/bin/sh
# SLSA Build L3, "user-defined build steps cannot reach the signing key": the
# agent (PID 1, root, PR_SET_DUMPABLE 0) holds the job's key in its memory;
# a step (uid 1000) tries every way in and must be refused each time. The
# step exits 0 only if every attempt failed, so the job succeeding (and
# signing its provenance afterwards) is the proof.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
cat >"$T/src/probe.c" <<'C'
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int reached;
static FILE *out;

static void report(const char *what, int ok, int err)
{
	fprintf(out, "%-28s %s%s%s\n", what, ok ? "REACHED" : "refused", ok ? "" : ": ", ok ? "" : strerror(err));
	reached |= ok;
}

static void try_read(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n = -1;
	int err = errno;
	if (fd >= 0) {
		/* /proc/1/mem: read where the heap usually is; any byte read is a leak */
		if (strstr(path, "/mem"))
			lseek(fd, 0x400000, SEEK_SET);
		n = read(fd, buf, sizeof(buf));
		err = errno;
		close(fd);
	}
	report(path, n > 0, err);
}

int main(void)
{
	char buf[64];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, sizeof(buf) };
	long r;

	out = fopen("probe-report.txt", "w");
	if (!out)
		return 2;
	fprintf(out, "uid %d euid %d\n", (int)getuid(), (int)geteuid());
	/* control: the same reads work on a process the step owns, so a refusal
	 * below is the kernel's, not a broken probe */
	try_read("/proc/self/maps");
	try_read("/proc/self/environ");
	if (reached != 1) {
		fprintf(out, "RESULT: the probe cannot even read its own /proc entries\n");
		return 3;
	}
	reached = 0;
	try_read("/proc/1/mem");
	try_read("/proc/1/environ");
	try_read("/proc/1/maps");
	try_read("/proc/1/smaps");
	try_read("/proc/1/pagemap");
	try_read("/proc/1/stack");
	try_read("/proc/1/syscall");
	try_read("/proc/1/auxv");
	try_read("/proc/1/fd/0");
	try_read("/proc/1/root/proc/1/mem");
	try_read("/proc/kcore");
	try_read("/dev/mem");
	try_read("/dev/kmem");
	try_read("/dev/vdb");
	errno = 0;
	r = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
	report("ptrace(PTRACE_ATTACH, 1)", r == 0, errno);
	if (r == 0)
		ptrace(PTRACE_DETACH, 1, NULL, NULL);
	errno = 0;
	r = ptrace(PTRACE_SEIZE, 1, NULL, NULL);
	report("ptrace(PTRACE_SEIZE, 1)", r == 0, errno);
	errno = 0;
	r = process_vm_readv(1, &local, 1, &remote, 1, 0);
	report("process_vm_readv(1)", r > 0, errno);
	errno = 0;
	r = kill(1, SIGSTOP);
	report("kill(1, SIGSTOP)", r == 0, errno);
	fprintf(out, "%s\n", reached ? "RESULT: the agent's memory was REACHED" : "RESULT: every attempt was refused");
	fclose(out);
	return reached;
}
C
write_job "$T/job.json" isolation "src" \
	'[{"name": "compile probe", "run": "cc -O0 -o probe probe.c"},
	  {"name": "reach for the key", "run": "rc=0; ./probe || rc=$?; cat probe-report.txt; if command -v gdb >/dev/null; then gdb -p 1 -batch -ex \"info proc mappings\" >gdb.txt 2>&1 && { echo gdb REACHED; exit 1; }; echo gdb refused; fi; exit $rc"}]' \
	'["probe-report.txt"]'
run_job "$T/job.json"
cat "$T/run.log"
d=$(job_dir)
[ "$rc" -eq 0 ] || fail "expected exit status 0 (every attempt refused), got $rc"
grep -q 'RESULT: every attempt was refused' "$d/probe-report.txt" || fail "the report does not say every attempt was refused"
grep -q '^uid 1000 euid 1000' "$d/probe-report.txt" || fail "the step did not run as uid 1000"
[ "$(grep -c 'refused' "$d/probe-report.txt")" -ge 18 ] || fail "fewer attempts than expected were made"
grep -q '^/proc/self/maps *REACHED' "$d/probe-report.txt" || fail "the probe's control read failed"
grep '^/proc/1\|^/dev\|^ptrace\|^process_vm\|^kill' "$d/probe-report.txt" | grep -q REACHED && fail "an attempt reached the agent"
# the key survived the step: the provenance was signed after it, by the bound key
[ -s "$d/provenance.intoto.jsonl" ] || fail "no provenance"
"$SNPBUILD" verify "$d/probe-report.txt" --bundle "$d" --allow-insecure >"$T/verify.log" 2>&1 ||
	{ cat "$T/verify.log"; fail "snpbuild verify --allow-insecure"; }
assert_nothing_left
echo "PASS: slsa-key-isolation"
