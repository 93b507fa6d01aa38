/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Provenance verification: the DSSE envelope and in-toto Statement the guest
 * signed, the key bound into its attestation report, and the chain from an
 * artifact to the AMD root (`snpbuild verify`). Everything parsed here is
 * hostile: sizes are bounded, JSON is read with duplicate keys rejected,
 * base64 is read strictly (standard or URL-safe alphabet, padding optional).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "attest.h"
#include "digest.h"
#include "err.h"
#include "evidence.h"

#define PROV_MAX_ENVELOPE (8u << 20)
#define PROV_MAX_SIGNATURES 16
#define PROV_MAX_SUBJECTS 4096
#define PROV_MAX_SIG_LEN 512

/* Names of the files in a job's output folder (the bundle). */
#define PROV_FILE_PROVENANCE "provenance.intoto.jsonl"
#define PROV_DIR_ATTESTATION "attestation"
#define PROV_FILE_REPORT "report.bin"
#define PROV_FILE_PUBKEY "signing-key.pem"
#define PROV_FILE_VCEK "vcek.pem"
#define PROV_FILE_CERTS "certs.bin"

/* Strict base64: either alphabet (not mixed), padding optional but correct,
 * no whitespace, zero trailing bits. Returns a malloc'd buffer. */
int prov_base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len, sb_err **err);
/* Standard alphabet with padding; malloc'd, NUL-terminated. */
char *prov_base64_encode(const void *buf, size_t len);

/* DSSE pre-authentication encoding: "DSSEv1 <len> <type> <len> <body>". */
int prov_pae(const char *type, const uint8_t *body, size_t len, uint8_t **ret, size_t *ret_len);

typedef struct prov_signature {
	char *keyid; /* "" when absent */
	uint8_t *sig;
	size_t sig_len;
} prov_signature;

typedef struct prov_envelope {
	char *payload_type;
	uint8_t *payload; /* decoded */
	size_t payload_len;
	prov_signature *sigs;
	size_t n_sigs;
} prov_envelope;

/* One DSSE envelope (JSON object). Trailing whitespace allowed, nothing else. */
int prov_envelope_parse(const void *buf, size_t len, prov_envelope **ret, sb_err **err);
void prov_envelope_free(prov_envelope *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(prov_envelope *, prov_envelope_free);

/* 0 when exactly one signature verifies with key over the PAE of the payload
 * as carried, no signature and no keyid is listed twice, and the key signed
 * once. Otherwise -EBADMSG with the reason. */
int prov_envelope_verify(const prov_envelope *e, EVP_PKEY *key, sb_err **err);

typedef struct prov_subject {
	char *name;
	uint8_t sha256[SHA256_LEN];
} prov_subject;

/* What the verifier uses of the Statement. */
typedef struct prov_statement {
	prov_subject *subjects;
	size_t n_subjects;
	uint8_t job_sha256[SHA256_LEN]; /* of the exact descriptor bytes carried */
	uint8_t *job_raw;
	size_t job_raw_len;
	char *job_name;
	char *tee; /* "snp" or "none" */
	bool insecure_dev_mode;
	bool has_source;
	uint8_t source_sha256[SHA256_LEN];
	char *builder_id;
	char *invocation_id;
	char *started_on, *finished_on;
} prov_statement;

/* An in-toto Statement v1 with an SLSA provenance v1 predicate of our build
 * type. The job descriptor's bytes (base64), their digest and the parsed copy
 * must agree. */
int prov_statement_parse(const uint8_t *buf, size_t len, prov_statement **ret, sb_err **err);
void prov_statement_free(prov_statement *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(prov_statement *, prov_statement_free);

/* EC public key from DER SubjectPublicKeyInfo or PEM; P-256 or P-384 only. */
int prov_pubkey_from_der(const uint8_t *der, size_t len, EVP_PKEY **ret, sb_err **err);
int prov_pubkey_load(const char *path, EVP_PKEY **ret, sb_err **err);
/* DER SubjectPublicKeyInfo of key; malloc'd. */
int prov_pubkey_der(EVP_PKEY *key, uint8_t **ret, size_t *ret_len, sb_err **err);
/* PEM of key; malloc'd, NUL-terminated. */
int prov_pubkey_pem(EVP_PKEY *key, char **ret, sb_err **err);

/* REPORT_DATA binding (proto/evidence.h) and its check: 1 bound, 0 not. */
void prov_report_data(const uint8_t job_sha256[SHA256_LEN], EVP_PKEY *key, uint8_t out[EVIDENCE_REPORT_DATA_LEN]);
int prov_report_binds(const struct attest_report *r, const uint8_t job_sha256[SHA256_LEN], EVP_PKEY *key);

/* A job's output folder, as loaded for verification. */
typedef struct prov_bundle {
	char *dir;
	prov_envelope *env;
	prov_statement *st;
	char *st_error; /* the payload did not parse as our Statement */
	EVP_PKEY *key;
	bool has_report;
	struct attest_report report;
	STACK_OF(X509) *vcek; /* attestation/vcek.pem when present: VCEK/VLEK [, ASK/ASVK, ARK] */
} prov_bundle;

int prov_bundle_load(const char *dir, prov_bundle **ret, sb_err **err);
void prov_bundle_free(prov_bundle *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(prov_bundle *, prov_bundle_free);

/* The links, in the order they are checked. */
enum prov_link {
	PROV_LINK_SUBJECT = 1,     /* artifact digest among the Statement's subjects */
	PROV_LINK_SIGNATURE = 2,   /* DSSE signature with the bundled key */
	PROV_LINK_BINDING = 3,     /* key bound in REPORT_DATA */
	PROV_LINK_REPORT = 4,      /* report signature, VCEK -> ASK -> pinned ARK */
	PROV_LINK_MEASUREMENT = 5, /* MEASUREMENT equals the reference value */
	PROV_LINK_HOST_DATA = 6,   /* HOST_DATA equals the job descriptor digest */
	PROV_LINK_POLICY = 7,      /* guest policy and TCB acceptable */
};
#define PROV_N_LINKS 7
const char *prov_link_name(enum prov_link l);

typedef struct prov_verify_opts {
	bool allow_insecure;
	bool has_reference;
	uint8_t reference_measurement[SHA384_LEN];
	attest_ctx *ctx;                 /* pinned roots */
	struct attest_policy policy;     /* debug, VMPL, TCB ...; measurement/host_data are set here */
	X509 *vcek;                      /* overrides the bundle's; NULL: bundle, then kds */
	const struct attest_kds *kds;    /* NULL: no lookup */
} prov_verify_opts;

typedef struct prov_verify_result {
	bool valid;
	bool insecure;             /* a development-mode bundle: NOT confidential */
	enum prov_link failed;     /* 0 when valid */
	char *message;             /* why the first failing link failed */
	int link[PROV_N_LINKS + 1]; /* per link: 1 pass, 0 fail, -1 not checked / not applicable */
	char *subject_names;       /* the subjects matching the artifacts, ", "-joined */
} prov_verify_result;

void prov_verify_result_clear(prov_verify_result *r);

/* Checks every artifact digest against the bundle, link by link; stops at
 * the first link that fails. Returns 0 with *ret filled (valid or not). */
int prov_verify(const prov_bundle *b, const uint8_t (*artifacts)[SHA256_LEN], const char *const *names,
		size_t n_artifacts, const prov_verify_opts *o, prov_verify_result *ret, sb_err **err);

/* Links 4-7 on their own, for a report and its evidence: the chain, the
 * reference measurement, HOST_DATA = job_sha256, policy and TCB. */
int prov_check_report(const struct attest_report *r, const struct attest_evidence *ev,
		      const uint8_t job_sha256[SHA256_LEN], const prov_verify_opts *o, prov_verify_result *ret,
		      sb_err **err);
