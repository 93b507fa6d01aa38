/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers the cmocka tests share: fixture paths and temporary folders. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"

/* ../shared/fixtures, or $SNPBUILD_FIXTURES (meson sets it). */
static inline const char *test_fixtures(void)
{
	const char *f = getenv("SNPBUILD_FIXTURES");
	return f ? f : SNPBUILD_FIXTURES;
}

static inline char *test_fixture_path(const char *rel)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", test_fixtures(), rel) > 0);
	return p;
}

static inline char *test_path(const char *dir, const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* Removes a test's temporary folder and all it holds. */
static inline int test_rm_rf(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}
