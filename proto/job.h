/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Job descriptor v1: the JSON file a user hands to `snpbuild run`. Parsed the
 * same way on both sides of the trust boundary: the host validates it before
 * anything is created; the guest parses the exact bytes it received, whose
 * SHA-256 is the launch's HOST_DATA.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"

#define JOB_API_VERSION "snpbuild/v1"
#define JOB_MAX_BYTES (256 * 1024)
#define JOB_MAX_STEPS 64
#define JOB_MAX_ARTIFACTS 256
#define JOB_MAX_STRING 16384

#define JOB_DEFAULT_VCPUS 2
#define JOB_DEFAULT_MEMORY_MIB 2048
#define JOB_DEFAULT_DISK_GIB 50
#define JOB_DEFAULT_TIMEOUT_S 3600

enum job_tee {
	JOB_TEE_NONE, /* insecure development mode: a plain VM, evidence says so */
	JOB_TEE_SNP,  /* an AMD SEV-SNP confidential VM */
};

typedef struct job_step {
	char *name; /* defaults to "step N" */
	char *run;  /* shell command, run with /bin/sh -ec in the source tree */
} job_step;

typedef struct job {
	char *name;
	/* Source as written in the descriptor, and (host side) resolved. */
	char *source_path;
	char *source_resolved; /* absolute; NULL in the guest */
	bool source_is_dir;
	bool source_sha256_pinned;
	uint8_t source_sha256[SHA256_LEN];
	job_step *steps;
	size_t n_steps;
	char **artifacts; /* relative paths or globs */
	size_t n_artifacts;
	unsigned vcpus;
	unsigned memory_mib;
	unsigned disk_gib;
	unsigned timeout_s;
	enum job_tee tee;
	/* The exact bytes and their SHA-256 (= HOST_DATA). */
	uint8_t *raw;
	size_t raw_len;
	uint8_t digest[SHA256_LEN];
} job;

enum {
	JOB_PARSE_HOST = 1 << 0, /* resolve the source against base_dir and check it exists */
};

/* Parses and validates a descriptor. display is the name used in messages
 * ("job.json"); base_dir resolves a relative source (JOB_PARSE_HOST only). */
int job_parse(const void *bytes, size_t len, const char *display, const char *base_dir, unsigned flags,
	      job **ret, sb_err **err);
/* Reads path and parses it with JOB_PARSE_HOST. */
int job_load(const char *path, job **ret, sb_err **err);
void job_free(job *j);
void job_freep(job **j);
#define _cleanup_job_ _cleanup_(job_freep)

const char *job_tee_name(enum job_tee tee);

/* Path check shared by both sides: relative, no "..", no empty or "." parts
 * (globs allowed). */
bool job_artifact_path_valid(const char *p);

/* The JSON path ("steps[2].run") of the value being parsed at byte offset
 * pos, for messages about syntax errors jansson reports by position. */
char *job_json_path_at(const char *text, size_t len, size_t pos);
