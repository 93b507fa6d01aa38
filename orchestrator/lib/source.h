/* SPDX-License-Identifier: Apache-2.0 */
/* The job's source as one archive: a tarball as given, or a directory packed
 * reproducibly (sorted names, zero mtimes and owners), with its SHA-256. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "job.h"

typedef struct source {
	char *archive;  /* file the host streams to the guest */
	bool temporary; /* packed by us into the work folder */
	uint64_t size;
	uint8_t sha256[SHA256_LEN];
} source;

/* -EBADMSG when a pinned source.sha256 does not match (bad input). */
int source_prepare(const job *j, const char *display, const char *work_dir, source **ret, sb_err **err);
/* A directory source may hold only files, folders and symlinks (the guest
 * unpacks as an unprivileged user): -EBADMSG naming the first other entry. */
int source_check_dir(const job *j, const char *display, sb_err **err);
void source_free(source *s);
