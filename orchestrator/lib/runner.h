/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One job, start to end: plan, disk, boot, inject, build, collect, destroy.
 * The VM is destroyed and the scratch disk deleted whatever happens. The
 * runner never prints: progress and build output go through callbacks.
 */
#pragma once

#include <stdint.h>

#include "err.h"
#include "job.h"

typedef enum runner_status {
	RUNNER_OK,
	RUNNER_STEP_FAILED, /* a build step failed, or a declared artifact is missing */
	RUNNER_BAD_INPUT,   /* the job cannot run as written (e.g. pinned digest mismatch) */
	RUNNER_INFRA,       /* host, libvirt, VM, guest agent or channel failure */
	RUNNER_TIMEOUT,
	RUNNER_INTERRUPTED,
} runner_status;

const char *runner_status_name(runner_status s);

typedef struct runner_events {
	void (*phase_begin)(void *ud, const char *phase);
	/* outcome: NULL when the phase completed, else the run's status name
	 * ("interrupted", "timeout", ...) for the phase the run stopped in. */
	void (*phase_end)(void *ud, const char *phase, double seconds, const char *outcome);
	void (*log)(void *ud, const void *buf, size_t len); /* guest build output, live */
	void (*notice)(void *ud, const char *msg);
	void *ud;
} runner_events;

typedef struct runner_opts {
	const char *uri;         /* libvirt URI; NULL: qemu:///system */
	const char *image;       /* guest image folder or manifest */
	const char *out_root;    /* outputs land in out_root/<job-id>/ */
	const char *work_root;   /* per-job work folders (scratch disk, socket) */
	const char *domain_type; /* "qemu" (TCG) or "kvm" */
	const char *firmware;    /* AmdSev OVMF for tee snp */
	int force_transport;     /* -1: detect */
	int cancel_fd;           /* readable: cancel (e.g. a signalfd); -1: none */
	const char *display;     /* the job file as the user named it */
	const char *kds_cache;   /* AMD KDS cache (attest_kds) for the VCEK; NULL: none */
} runner_opts;

typedef struct runner_result {
	runner_status status;
	char *job_id;
	char *out_dir; /* NULL when nothing was created */
	char *message; /* why, when status != RUNNER_OK */
} runner_result;

void runner_result_clear(runner_result *r);

/* Generates a job id: <name>-<UTC yyyymmddThhmmss>-<8 hex>. */
char *runner_new_job_id(const char *name);

int runner_run(const job *j, const runner_opts *o, const runner_events *ev, runner_result *ret);

/* Removes what dead runs left in work_root: scratch disks, pools, domains. */
int runner_sweep(const char *uri, const char *work_root, unsigned *ret_removed, sb_err **err);
