/* SPDX-License-Identifier: Apache-2.0 */
/* snpbuild-agent: runs as PID 1 in the job's VM. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "job.h"
#include "wire.h"

#define AGENT_BUILD_UID 1000
#define AGENT_BUILD_GID 1000
#define AGENT_SCRATCH_DEV "/dev/vdb"
#define AGENT_SCRATCH_DM "snpbuild-scratch"
#define AGENT_BUILD_DIR "/build"

/* Guest end of the channel: a transport vtable (virtio-serial port or vsock). */
typedef struct agent_transport {
	const char *name;
	/* 0 and a connected fd; -ENOENT when this transport is not present. */
	int (*open)(int *ret_fd, sb_err **err);
} agent_transport;

extern const agent_transport agent_virtio_serial;
extern const agent_transport agent_vsock;

/* Attester backends: configfs-tsm, /dev/sev-guest, or none (dev mode). */
typedef struct agent_attester {
	const char *name;
	bool (*available)(void);
	/* Gets a report binding report_data; ret_report is malloc'd. */
	int (*report)(const uint8_t report_data[64], uint8_t **ret_report, size_t *ret_len, sb_err **err);
} agent_attester;

extern const agent_attester agent_attester_tsm;
extern const agent_attester agent_attester_sev_guest;
extern const agent_attester agent_attester_none;
const agent_attester *agent_attester_pick(void);

/* Scratch disk: encrypted with a key that exists only in guest memory. */
int agent_scratch_setup(sb_err **err);
void agent_scratch_teardown(void);

/* The job's signing key, bound into the attestation report, and the signed
 * provenance (sign.c). The private key never leaves guest memory. */
typedef struct agent_signer agent_signer;
typedef struct agent_subject {
	char name[WIRE_MAX_NAME + 1];
	uint8_t sha256[SHA256_LEN];
} agent_subject;

/* Generates the per-job ECDSA P-256 key. */
int agent_signer_new(agent_signer **ret, sb_err **err);
void agent_signer_free(agent_signer *s);
void agent_signer_pubkey(const agent_signer *s, const uint8_t **ret_der, size_t *ret_len);
/* The report obtained by agent_signer_attest; NULL in development mode. */
const uint8_t *agent_signer_report(const agent_signer *s, size_t *ret_len);
/* Binds the key to the job (REPORT_DATA, proto/evidence.h) and, for tee
 * "snp", gets the report and checks its HOST_DATA is this job's digest. */
int agent_signer_attest(agent_signer *s, const agent_attester *att, const job *j, sb_err **err);
/* The in-toto Statement (SLSA provenance v1) as compact JSON; malloc'd. */
char *agent_provenance_statement(const agent_signer *s, const job *j, const agent_subject *subs, size_t n_subs,
				 const uint8_t source_sha256[SHA256_LEN], const char *finished_on, sb_err **err);
/* The DSSE envelope (JSON, standard base64) over payload; malloc'd. */
char *agent_dsse_sign(const agent_signer *s, const void *payload, size_t len, sb_err **err);
/* Sends EVIDENCE frames: PUBKEY, REPORT (when there is one), PROVENANCE. */
int agent_send_evidence(int chan, const agent_signer *s, const job *j, const agent_subject *subs, size_t n_subs,
			const uint8_t source_sha256[SHA256_LEN], sb_err **err);
void agent_rfc3339_now(char out[32]);

/* Build: receives the source, runs the steps, sends artifacts, the signed
 * provenance and RESULT. */
int agent_build(int chan, wire_reader *rd, const job *j, const agent_signer *signer, sb_err **err);

/* The next frame from the host. */
int agent_read_frame(int fd, wire_reader *rd, wire_frame *f, sb_err **err);

/* Sends the RESULT frame: status, message, per-step records, digests. */
struct json_t;
int agent_send_result(int chan, const job *j, const char *status, const char *message, struct json_t *steps,
		      const uint8_t *source_sha256);

void agent_log(const char *fmt, ...) _printf_(1, 2);
