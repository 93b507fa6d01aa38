/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error objects, crun style: a failing function returns a negative errno and
 * fills *err with a message naming the thing and the reason. Callers add
 * context with sb_err_wrap() as the error travels up; front ends print it.
 */
#pragma once

#include <stdbool.h>

#include "macro.h"

typedef struct sb_err {
	int errnum; /* positive errno-like code, or 0 */
	char *msg;
} sb_err;

/* Sets *err (if err is non-NULL and *err is unset); returns -errnum (or -EINVAL). */
int sb_err_set(sb_err **err, int errnum, const char *fmt, ...) _printf_(3, 4);
/* Like sb_err_set, appending ": strerror(errnum)". */
int sb_err_sys(sb_err **err, int errnum, const char *fmt, ...) _printf_(3, 4);
/* Prepends "context: " to an existing error; returns its -errnum. */
int sb_err_wrap(sb_err **err, const char *fmt, ...) _printf_(2, 3);
void sb_err_free(sb_err *err);
void sb_err_freep(sb_err **err);
#define _cleanup_err_ _cleanup_(sb_err_freep)
