/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The launch plan: one struct holding every fact about how a job's VM is
 * launched. The domain XML, the expected measurement and the verifier's
 * expectations are all derived from it, never assembled twice.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "image.h"
#include "job.h"

enum plan_transport {
	PLAN_TRANSPORT_VSOCK,         /* production: AF_VSOCK, CID assigned by libvirt */
	PLAN_TRANSPORT_VIRTIO_SERIAL, /* fallback where /dev/vhost-vsock is missing */
};

/* Default SNP guest policy: SMT allowed (bit 16), must-be-one bit 17, no debug,
 * no migration agent, ABI 0.0. */
#define PLAN_DEFAULT_POLICY 0x30000ull
#define PLAN_DEFAULT_CPU_MODEL "EPYC-v4"

typedef struct plan {
	enum job_tee tee;
	char *job_id;
	char *domain_name;
	/* What boots. */
	char *firmware;   /* ROM firmware (AmdSev OVMF) for SNP; NULL = the VMM's default BIOS */
	char *kernel;     /* bzImage with firmware; PVH ELF without */
	char *initrd;
	char *cmdline;
	char *rootfs;     /* read-only, dm-verity protected */
	uint8_t kernel_sha256[SHA256_LEN];
	uint8_t initrd_sha256[SHA256_LEN];
	uint8_t image_manifest_sha256[SHA256_LEN];
	/* VM shape. */
	const char *domain_type; /* "kvm" on a real host, "qemu" (TCG) for development */
	unsigned vcpus;
	unsigned memory_mib;
	char *cpu_model;         /* NULL: the accelerator's maximum model (dev mode) */
	uint64_t policy;
	uint64_t guest_features;
	uint8_t host_data[SHA256_LEN]; /* SHA-256 of the exact job descriptor bytes */
	unsigned cbitpos, reduced_phys_bits;
	/* Per-job host resources. */
	char *work_dir;
	char *disk_path;
	uint64_t disk_bytes;
	enum plan_transport transport;
	char *transport_reason;
	char *chan_socket; /* virtio-serial: the unix socket QEMU listens on */
	char *console_log;
} plan;

typedef struct plan_opts {
	const char *job_id;
	const char *work_dir;    /* the job's own folder (disk, socket) */
	const char *console_log; /* where the serial console is written */
	const char *domain_type; /* NULL: "qemu" */
	const char *firmware;    /* SNP: the AmdSev OVMF ROM */
	int force_transport;     /* -1: detect */
} plan_opts;

int plan_build(const job *j, const image *img, const plan_opts *o, plan **ret, sb_err **err);
void plan_free(plan *p);
void plan_freep(plan **p);
#define _cleanup_plan_ _cleanup_(plan_freep)

const char *plan_transport_name(enum plan_transport t);
/* Picks vsock when /dev/vhost-vsock is usable, virtio-serial otherwise, with
 * the reason in *ret_reason (static string). */
enum plan_transport plan_transport_detect(const char **ret_reason);

/* The libvirt domain XML for the plan. */
int plan_domain_xml(const plan *p, char **ret, sb_err **err);
