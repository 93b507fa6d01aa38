/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the guest's evidence means, shared by the agent that produces it and
 * the verifier that checks it: the REPORT_DATA binding of the job's signing
 * key and the names in the provenance it signs.
 *
 * REPORT_DATA (64 bytes, signed into the SNP attestation report) is
 *
 *   SHA-512( "snpbuild-report-data-v1" || 0x00     (24 bytes: tag + NUL)
 *          || SHA-256(job descriptor bytes)        (32 bytes: = HOST_DATA)
 *          || DER SubjectPublicKeyInfo of the key  (the rest) )
 *
 * The tag and the digest have fixed lengths and DER is self-delimiting, so
 * the hashed string is unambiguous without length prefixes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define EVIDENCE_REPORT_DATA_TAG "snpbuild-report-data-v1" /* hashed with its NUL */
#define EVIDENCE_REPORT_DATA_LEN 64
#define EVIDENCE_MAX_KEY_DER 1024

/* The in-toto / SLSA names the agent writes and the verifier requires. */
#define EVIDENCE_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define EVIDENCE_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define EVIDENCE_PREDICATE_TYPE "https://slsa.dev/provenance/v1"
#define EVIDENCE_BUILD_TYPE "https://snpbuild.dev/build-types/vm-job/v1"
#define EVIDENCE_BUILDER_ID "https://snpbuild.dev/builders/snpbuild-agent/v1"

/* SNP report field offsets the agent itself reads (SEV-SNP ABI, table 22). */
#define EVIDENCE_REPORT_OFF_REPORT_DATA 0x50
#define EVIDENCE_REPORT_OFF_MEASUREMENT 0x90
#define EVIDENCE_REPORT_OFF_HOST_DATA 0xC0
#define EVIDENCE_REPORT_MIN_LEN 0x4A0

/* REPORT_DATA binding the key (DER SPKI) to the job descriptor digest. */
void evidence_report_data(const uint8_t job_sha256[SHA256_LEN], const uint8_t *key_der, size_t key_der_len,
			  uint8_t out[EVIDENCE_REPORT_DATA_LEN]);
