/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex digits and a NUL to out (size 2*len+1). */
void hex_encode(const void *buf, size_t len, char *out);
/* Decodes exactly 2*len hex digits (either case); -EINVAL otherwise. */
int hex_decode(const char *s, void *out, size_t len);
