/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snpbuild-agent, PID 1 of the job's VM. It trusts nothing the host sends
 * beyond what it can check: the job descriptor's digest is what the launch
 * bound as HOST_DATA, the source's digest is recorded in the result.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "cursor.h"
#include "hexutil.h"

void agent_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("snpbuild-agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

_Noreturn static void power_off(int code)
{
	sync();
	if (getpid() == 1)
		reboot(RB_POWER_OFF);
	exit(code);
}

static int open_channel(int *ret_fd, const char **ret_name, sb_err **err)
{
	/* Modules may still be probing: look for a while before giving up. */
	for (int tries = 0; tries < 100; tries++) {
		int r = agent_virtio_serial.open(ret_fd, err);
		if (r == 0) {
			*ret_name = agent_virtio_serial.name;
			return 0;
		}
		if (r != -ENOENT)
			return r;
		if (tries >= 20 || access("/dev/vsock", F_OK) == 0) {
			r = agent_vsock.open(ret_fd, err);
			if (r == 0) {
				*ret_name = agent_vsock.name;
				return 0;
			}
			if (r != -ENOENT)
				return r;
		}
		usleep(100 * 1000);
	}
	return sb_err_set(err, ENODEV, "no host channel: neither virtio-serial port '%s' nor vsock",
			  WIRE_SERIAL_PORT_NAME);
}

int agent_read_frame(int fd, wire_reader *rd, wire_frame *f, sb_err **err)
{
	for (;;) {
		int r = wire_reader_next(rd, f, err);
		if (r != 0)
			return r < 0 ? r : 0;
		r = wire_reader_fill(rd, fd, err);
		if (r == 0)
			return sb_err_set(err, EPIPE, "host closed the channel");
		if (r < 0 && r != -EAGAIN)
			return r;
	}
}

int main(void)
{
	_cleanup_err_ sb_err *e = NULL;
	_cleanup_job_ job *j = NULL;
	agent_signer *signer = NULL;
	const char *tname = NULL;
	const agent_attester *att;
	wire_reader rd;
	wire_frame f;
	int chan = -1;
	char ident[256];

	/* Build steps run as another user; they must not read our memory. */
	prctl(PR_SET_DUMPABLE, 0);
	umask(022);
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	unsetenv("TERM");

	att = agent_attester_pick();
	/* The job's signing key exists from here on, in this process only. */
	if (agent_signer_new(&signer, &e) < 0) {
		agent_log("FATAL: %s", e->msg);
		power_off(1);
	}
	if (open_channel(&chan, &tname, &e) < 0) {
		agent_log("FATAL: %s", e->msg);
		power_off(1);
	}
	agent_log("channel: %s, attester: %s", tname, att->name);

	uint8_t hello[4 + 200];
	put_u32le(hello, WIRE_VERSION);
	int n = snprintf(ident, sizeof(ident), "snpbuild-agent %s transport=%s attester=%s", SNPBUILD_VERSION, tname,
			 att->name);
	memcpy(hello + 4, ident, (size_t)n > 200 ? 200 : (size_t)n);
	if (wire_send(chan, WIRE_HELLO, hello, 4 + ((size_t)n > 200 ? 200 : (size_t)n), &e) < 0)
		goto fatal;

	wire_reader_init(&rd, WIRE_MAX_PAYLOAD);
	if (agent_read_frame(chan, &rd, &f, &e) < 0)
		goto fatal;
	if (f.type != WIRE_JOB) {
		sb_err_set(&e, EPROTO, "expected the job descriptor, got %s", wire_type_name(f.type));
		goto fatal;
	}
	if (job_parse(f.payload, f.len, "job", NULL, 0, &j, &e) < 0)
		goto fatal;
	if (agent_signer_attest(signer, att, j, &e) < 0)
		goto fatal;
	if (!agent_signer_report(signer, &(size_t){ 0 }))
		agent_log("attester %s: no attestation report (insecure development mode): the provenance is "
			  "signed but its key is bound to nothing", att->name);

	if (agent_build(chan, &rd, j, signer, &e) < 0)
		goto fatal;
	wire_reader_free(&rd);
	agent_signer_free(signer);
	agent_scratch_teardown();
	close(chan);
	power_off(0);

fatal:
	agent_log("FATAL: %s", e ? e->msg : "unknown error");
	if (chan >= 0)
		agent_send_result(chan, j, "error", e ? e->msg : "unknown error", NULL, NULL);
	agent_scratch_teardown();
	power_off(1);
}
