/* SPDX-License-Identifier: Apache-2.0 */
/* The output folder: hostile names, sizes and digests never leave a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "store.h"
#include "testutil.h"

static char root[] = "/tmp/snpbuild-test-store-XXXXXX";
static char *const patterns[] = { "build/libz.a", "dist/*.tar.gz", "minigzip" };

static int setup(void **state)
{
	(void)state;
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return test_rm_rf(root);
}

/* Names of the files in dir, sorted, joined by spaces. */
static char *listing(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	char *out = calloc(1, 4096);
	for (int i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, "..")) {
			strcat(out, ents[i]->d_name);
			strcat(out, " ");
		}
		free(ents[i]);
	}
	free(ents);
	return out;
}

static store *open_store(const char *id)
{
	store *s = NULL;
	sb_err *e = NULL;
	assert_int_equal(store_open(root, id, patterns, 3, &s, &e), 0);
	return s;
}

static void test_artifact_complete_and_verified(void **state)
{
	(void)state;
	store *s = open_store("job-ok");
	sb_err *e = NULL;
	uint8_t d[SHA256_LEN];
	char path[256], *l;

	digest_sha256("hello world", 11, d);
	assert_int_equal(store_artifact_begin(s, "libz.a", 11, false, &e), 0);
	assert_int_equal(store_artifact_data(s, "hello ", 6, &e), 0);
	/* while incomplete, only the temporary name exists */
	l = listing(store_dir(s));
	assert_string_equal(l, ".artifact-0.partial log.txt ");
	free(l);
	assert_int_equal(store_artifact_data(s, "world", 5, &e), 0);
	assert_int_equal(store_artifact_end(s, d, &e), 0);
	l = listing(store_dir(s));
	assert_string_equal(l, "libz.a log.txt ");
	free(l);
	assert_int_equal(store_n_artifacts(s), 1);
	assert_memory_equal(store_artifact_at(s, 0)->sha256, d, SHA256_LEN);

	snprintf(path, sizeof(path), "%s/libz.a", store_dir(s));
	uint8_t again[SHA256_LEN];
	assert_int_equal(digest_sha256_file(path, again, &e), 0);
	assert_memory_equal(again, d, SHA256_LEN);

	/* a name of the maximum length fits (the temporary name is numbered) */
	char longname[256];
	memset(longname, 'x', 255);
	memcpy(longname + 248, ".tar.gz", 7);
	longname[255] = '\0';
	digest_sha256("", 0, d);
	assert_int_equal(store_artifact_begin(s, longname, 0, false, &e), 0);
	assert_int_equal(store_artifact_end(s, d, &e), 0);

	/* glob patterns match on the last component */
	digest_sha256("", 0, d);
	assert_int_equal(store_artifact_begin(s, "app-1.0.tar.gz", 0, false, &e), 0);
	assert_int_equal(store_artifact_end(s, d, &e), 0);
	store_free(s);
}

static void expect_begin_fails(store *s, const char *name, uint64_t size, const char *want)
{
	sb_err *e = NULL;
	assert_true(store_artifact_begin(s, name, size, false, &e) < 0);
	if (!strstr(e->msg, want))
		fail_msg("'%s' lacks '%s'", e->msg, want);
	sb_err_free(e);
}

static void test_hostile_names(void **state)
{
	(void)state;
	store *s = open_store("job-names");
	char *l;

	expect_begin_fails(s, "../escape", 1, "not a single safe path component");
	expect_begin_fails(s, "sub/libz.a", 1, "not a single safe path component");
	expect_begin_fails(s, "..", 1, "not a single safe path component");
	expect_begin_fails(s, "evil.sh", 1, "matches none of the job's declared artifacts");
	expect_begin_fails(s, "result.json", 1, "reserved");
	expect_begin_fails(s, "log.txt", 1, "reserved");
	expect_begin_fails(s, ".hidden.tar.gz", 1, "reserved");
	store_set_limits(s, 100, 1000);
	expect_begin_fails(s, "minigzip", 101, "exceeds the limit");
	l = listing(store_dir(s));
	assert_string_equal(l, "log.txt ");
	free(l);
	store_free(s);
	/* nothing escaped the output folder */
	l = listing(root);
	assert_null(strstr(l, "escape"));
	free(l);
}

static void test_bad_sizes_and_digests(void **state)
{
	(void)state;
	store *s = open_store("job-bad");
	sb_err *e = NULL;
	uint8_t d[SHA256_LEN];
	char *l;

	/* more data than announced */
	assert_int_equal(store_artifact_begin(s, "minigzip", 4, false, &e), 0);
	assert_true(store_artifact_data(s, "12345", 5, &e) < 0);
	assert_non_null(strstr(e->msg, "more data than the announced 4 bytes"));
	sb_err_freep(&e);
	store_artifact_abort(s);

	/* less data than announced */
	digest_sha256("12", 2, d);
	assert_int_equal(store_artifact_begin(s, "minigzip", 4, false, &e), 0);
	assert_int_equal(store_artifact_data(s, "12", 2, &e), 0);
	assert_true(store_artifact_end(s, d, &e) < 0);
	assert_non_null(strstr(e->msg, "2 of the announced 4 bytes"));
	sb_err_freep(&e);
	store_artifact_abort(s);

	/* the guest's digest disagrees with the host's */
	digest_sha256("abcd", 4, d);
	d[0] ^= 1;
	assert_int_equal(store_artifact_begin(s, "minigzip", 4, false, &e), 0);
	assert_int_equal(store_artifact_data(s, "abcd", 4, &e), 0);
	assert_true(store_artifact_end(s, d, &e) < 0);
	assert_non_null(strstr(e->msg, "host computed sha256 88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"));
	sb_err_freep(&e);
	store_artifact_abort(s);

	/* no half-written artifact is left behind */
	l = listing(store_dir(s));
	assert_string_equal(l, "log.txt ");
	free(l);

	/* a name may arrive only once */
	d[0] ^= 1;
	assert_int_equal(store_artifact_begin(s, "minigzip", 4, false, &e), 0);
	assert_int_equal(store_artifact_data(s, "abcd", 4, &e), 0);
	assert_int_equal(store_artifact_end(s, d, &e), 0);
	expect_begin_fails(s, "minigzip", 4, "sent twice");
	store_free(s);
}

static void test_existing_folder_refused(void **state)
{
	(void)state;
	store *s = NULL;
	sb_err *e = NULL;
	store *first = open_store("job-dup");
	assert_true(store_open(root, "job-dup", patterns, 3, &s, &e) < 0);
	assert_non_null(strstr(e->msg, "File exists"));
	sb_err_free(e);
	e = NULL;
	assert_true(store_open(root, "../up", patterns, 3, &s, &e) < 0);
	sb_err_free(e);
	store_free(first);
}

static void test_log_limit(void **state)
{
	(void)state;
	store *s = open_store("job-log");
	sb_err *e = NULL;
	char path[256], buf[512];
	store_set_limits(s, 100, 10);
	assert_int_equal(store_log(s, "12345", 5, &e), 0);
	assert_int_equal(store_log(s, "6789abc", 7, &e), 0);
	assert_int_equal(store_log(s, "more", 4, &e), 0);
	snprintf(path, sizeof(path), "%s/log.txt", store_dir(s));
	FILE *f = fopen(path, "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_int_equal(strncmp(buf, "12345\n[snpbuild: log truncated", 30), 0);
	store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_artifact_complete_and_verified),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_bad_sizes_and_digests),
		cmocka_unit_test(test_existing_folder_refused),
		cmocka_unit_test(test_log_limit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
