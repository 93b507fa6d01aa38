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
#include "host.h"
#include "image.h"
#include "job.h"
#include "measure.h"

enum plan_transport {
	PLAN_TRANSPORT_VSOCK,         /* production: AF_VSOCK, CID assigned by libvirt */
	PLAN_TRANSPORT_VIRTIO_SERIAL, /* fallback where /dev/vhost-vsock is missing */
};

/* Default SNP guest policy: SMT allowed (bit 16), must-be-one bit 17, no debug,
 * no migration agent, ABI 0.0. */
#define PLAN_DEFAULT_POLICY 0x30000ull
#define PLAN_DEFAULT_CPU_MODEL "EPYC-v4"
/* Used when the host reports no SEV parameters (a development machine) and
 * no --cbitpos/--reduced-phys-bits is given: EPYC Milan, Genoa and Turin's values. */
#define PLAN_DEFAULT_CBITPOS 51u
#define PLAN_DEFAULT_REDUCED_PHYS_BITS 1u

/* SNP guest policy (SEV-SNP firmware ABI, "Guest Policy"). */
#define PLAN_POLICY_ABI_MINOR 0xffull
#define PLAN_POLICY_ABI_MAJOR 0xff00ull
#define PLAN_POLICY_SMT (1ull << 16)
#define PLAN_POLICY_MUST_BE_ONE (1ull << 17)
#define PLAN_POLICY_MIGRATE_MA (1ull << 18)
#define PLAN_POLICY_DEBUG (1ull << 19)
#define PLAN_POLICY_SINGLE_SOCKET (1ull << 20)
#define PLAN_POLICY_CXL_ALLOW (1ull << 21)
#define PLAN_POLICY_MEM_AES_256_XTS (1ull << 22)
#define PLAN_POLICY_RAPL_DIS (1ull << 23)
#define PLAN_POLICY_CIPHERTEXT_HIDING (1ull << 24)
#define PLAN_POLICY_PAGE_SWAP_DISABLE (1ull << 25)
#define PLAN_POLICY_DEFINED ((1ull << 26) - 1) /* bits 63:26 are reserved, must be zero */

/* Refuses a policy with bit 17 clear, a reserved bit set, or DEBUG without allow_debug. */
int plan_policy_check(uint64_t policy, bool allow_debug, sb_err **err);

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
	/* The vCPU type: the QEMU CPU model the measurement assumes (SNP);
	 * NULL: the accelerator's maximum model (dev mode, not measured). */
	char *cpu_model;
	/* SNP launch (tee snp only). */
	uint64_t policy;
	bool allow_debug;
	uint64_t guest_features;       /* SEV_FEATURES the host's KVM/QEMU give (not in the XML) */
	uint8_t host_data[SHA256_LEN]; /* SHA-256 of the exact job descriptor bytes */
	unsigned cbitpos, reduced_phys_bits;
	const char *cbitpos_source;    /* "host", "option" or "default" */
	bool has_id_block;             /* with it the firmware refuses any other launch digest */
	bool author_key;               /* id_auth carries an author key */
	uint8_t id_block[MEASURE_ID_BLOCK_LEN];
	uint8_t id_auth[MEASURE_ID_AUTH_LEN];
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
	const char *firmware;    /* SNP: the AmdSev OVMF ROM; NULL: host_default_firmware() */
	int force_transport;     /* -1: detect (tee snp: vsock) */
	/* Everything below is optional; zero means the default. */
	bool has_tee;            /* plan for this tee instead of the job's (snpbuild plan --tee) */
	enum job_tee tee;
	bool has_policy;
	uint64_t policy;         /* default PLAN_DEFAULT_POLICY */
	bool allow_debug;        /* permit POLICY.DEBUG */
	const char *vcpu_type;   /* default PLAN_DEFAULT_CPU_MODEL */
	bool has_guest_features;
	uint64_t guest_features; /* default MEASURE_DEFAULT_GUEST_FEATURES */
	bool has_cbitpos, has_reduced_phys_bits;
	unsigned cbitpos, reduced_phys_bits; /* override the host's (or the defaults) */
	const host_info *host;   /* cbitpos/reducedPhysBits from here when it has them */
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

/* The measurement inputs, all taken from the plan (tee snp only); strings
 * are borrowed from p. */
int plan_measure_input(const plan *p, struct measure_input *ret, sb_err **err);
/* What an attestation report of this launch must carry. */
typedef struct plan_expected {
	uint8_t measurement[MEASURE_LD_LEN];
	uint64_t policy;
	uint8_t host_data[SHA256_LEN];
	bool has_id_block;
	uint8_t id_block[MEASURE_ID_BLOCK_LEN];
} plan_expected;
int plan_expect(const plan *p, plan_expected *ret, struct measure_result *ret_result, sb_err **err);

/* Pins the launch with a given ID block and ID auth (base64, as libvirt takes
 * them): their lengths, their signature, and that the block names this
 * plan's measurement and policy are checked. */
int plan_set_id_block(plan *p, const char *id_block_b64, const char *id_auth_b64, bool author_key, sb_err **err);
typedef struct plan_id_opts {
	const char *id_key;     /* PEM, ECDSA P-384 */
	const char *author_key; /* optional */
	uint8_t family_id[MEASURE_ID_LEN];
	uint8_t image_id[MEASURE_ID_LEN];
	uint32_t guest_svn;
} plan_id_opts;
/* Builds and signs the ID block for this plan's measurement and policy. */
int plan_sign_id_block(plan *p, const plan_id_opts *o, sb_err **err);

/* The plan as JSON (a jansson json_t *), with the expected measurement for tee snp. */
int plan_json(const plan *p, struct json_t **ret, sb_err **err);
