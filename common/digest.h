/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SHA256_LEN 32
#define SHA384_LEN 48
#define SHA256_HEX_LEN (2 * SHA256_LEN + 1)

/* One-shot SHA-256 of a buffer. */
void digest_sha256(const void *buf, size_t len, uint8_t out[SHA256_LEN]);
/* SHA-256 of a whole file, streamed. */
int digest_sha256_file(const char *path, uint8_t out[SHA256_LEN], sb_err **err);
