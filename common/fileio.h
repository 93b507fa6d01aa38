/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Reads a whole regular file of at most max bytes (no FIFOs or devices:
 * their size is unknown and reading may block). -ENOENT when it is missing. */
int file_read_max(const char *path, size_t max, uint8_t **ret_data, size_t *ret_size, sb_err **err);
