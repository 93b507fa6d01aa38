/* SPDX-License-Identifier: Apache-2.0 */
#include "err.h"

#include <stdarg.h>
#include <string.h>

_printf_(4, 0) static int vset(sb_err **err, int errnum, bool sys, const char *fmt, va_list ap)
{
	int ret = errnum > 0 ? -errnum : -EINVAL;
	char *msg = NULL;

	if (!err || *err)
		return ret;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg && sys && errnum > 0) {
		char *full = NULL;
		if (asprintf(&full, "%s: %s", msg, strerror(errnum)) >= 0) {
			free(msg);
			msg = full;
		}
	}
	*err = calloc(1, sizeof(**err));
	if (!*err) {
		free(msg);
		return ret;
	}
	(*err)->errnum = errnum > 0 ? errnum : EINVAL;
	(*err)->msg = msg ? msg : strdup("out of memory");
	return ret;
}

int sb_err_set(sb_err **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vset(err, errnum, false, fmt, ap);
	va_end(ap);
	return r;
}

int sb_err_sys(sb_err **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vset(err, errnum, true, fmt, ap);
	va_end(ap);
	return r;
}

int sb_err_wrap(sb_err **err, const char *fmt, ...)
{
	char *ctx = NULL, *full = NULL;
	va_list ap;

	if (!err || !*err)
		return -EINVAL;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		ctx = NULL;
	va_end(ap);
	if (ctx && asprintf(&full, "%s: %s", ctx, (*err)->msg) >= 0) {
		free((*err)->msg);
		(*err)->msg = full;
	}
	free(ctx);
	return -(*err)->errnum;
}

void sb_err_free(sb_err *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err);
}

void sb_err_freep(sb_err **err)
{
	sb_err_free(*err);
	*err = NULL;
}
