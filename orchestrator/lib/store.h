/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The job's output folder, out/<job-id>/. Everything written here comes from
 * a hostile guest: names are single safe components matched against the
 * declared artifacts, sizes are bounded, digests recomputed, and an artifact
 * appears under its name only once complete and verified.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"

#define STORE_MAX_ARTIFACTS 4096
#define STORE_DEFAULT_MAX_ARTIFACT_BYTES (8ull << 30)
#define STORE_DEFAULT_MAX_LOG_BYTES (256ull << 20)

typedef struct store_artifact {
	char *name;
	uint64_t size;
	bool executable;
	uint8_t sha256[SHA256_LEN];       /* computed by the host over the bytes it stored */
	uint8_t guest_sha256[SHA256_LEN]; /* what the guest reported (equal, or the artifact is refused) */
} store_artifact;

typedef struct store store;

/* Creates root/job_id (must not exist). patterns are the job's declared
 * artifact paths; a received name must match one's last component. */
int store_open(const char *root, const char *job_id, char *const *patterns, size_t n_patterns, store **ret,
	       sb_err **err);
void store_free(store *s);
const char *store_dir(const store *s);
void store_set_limits(store *s, uint64_t max_artifact_bytes, uint64_t max_log_bytes);

/* Appends build output to log.txt (truncated, with a note, past the limit). */
int store_log(store *s, const void *buf, size_t len, sb_err **err);
bool store_log_truncated(const store *s);

/* executable: the only file metadata taken from the guest (never setuid). */
int store_artifact_begin(store *s, const char *name, uint64_t size, bool executable, sb_err **err);
int store_artifact_data(store *s, const void *buf, size_t len, sb_err **err);
/* Checks size and the guest's digest against the host's, then renames. */
int store_artifact_end(store *s, const uint8_t guest_sha256[SHA256_LEN], sb_err **err);
/* Removes a partial artifact, if any. */
void store_artifact_abort(store *s);
bool store_artifact_open(const store *s);

size_t store_n_artifacts(const store *s);
const store_artifact *store_artifact_at(const store *s, size_t i);

/* Writes a file in the output folder atomically (temporary name + rename). */
int store_write_file(store *s, const char *name, const void *buf, size_t len, sb_err **err);
/* The same in a subfolder of the output folder (created, 0755), e.g.
 * "attestation"; both names are single safe components. */
int store_write_file_in(store *s, const char *subdir, const char *name, const void *buf, size_t len, sb_err **err);
