/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cli_parse_u64(const char *verb, const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	errno = 0;
	if (s && *s && *s != '-') {
		v = strtoull(s, &end, 0);
		if (!errno && !*end && v <= max) {
			*out = v;
			return 0;
		}
	}
	fprintf(stderr, "%s: %s: '%s' is not a number in range (0-%llu)\n", verb, opt, s ? s : "",
		(unsigned long long)max);
	return -EINVAL;
}
