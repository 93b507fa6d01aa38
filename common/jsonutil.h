/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* A JSON string of len bytes in lowercase hex (len up to 1024). */
json_t *json_hex(const void *buf, size_t len);
