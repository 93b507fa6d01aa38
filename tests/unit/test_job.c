/* SPDX-License-Identifier: Apache-2.0 */
/* Job descriptor v1: every rejection names the JSON path and the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hexutil.h"
#include "job.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/snpbuild-test-job-XXXXXX";

#define SRC "\"source\": {\"path\": \"src.tar\"}"
#define STEPS "\"steps\": [{\"run\": \"make\"}]"
#define ARTS "\"artifacts\": [\"out/app\"]"
#define HEAD "\"api_version\": \"snpbuild/v1\", \"name\": \"demo\""

static int setup(void **state)
{
	(void)state;
	char p[256];
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(p, sizeof(p), "%s/notes.txt", tmpdir);
	FILE *f = fopen(p, "w");
	if (!f)
		return -1;
	fputs("not a tarball", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/srcdir", tmpdir);
	if (mkdir(p, 0755) < 0)
		return -1;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "tar -cf %s/src.tar -C %s notes.txt && gzip -c %s/src.tar > %s/src.tar.gz "
		 "&& mkfifo %s/fifo.json", tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
	return system(cmd);
}

static int teardown(void **state)
{
	(void)state;
	return test_rm_rf(tmpdir);
}

static int parse(const char *text, size_t len, job **ret, char **ret_msg)
{
	sb_err *e = NULL;
	int r = job_parse(text, len, "job.json", tmpdir, JOB_PARSE_HOST, ret, &e);
	if (r < 0) {
		*ret_msg = strdup(e->msg);
		sb_err_free(e);
	}
	return r;
}

static void expect_error(const char *text, const char *want)
{
	job *j = NULL;
	char *msg = NULL;
	int r = parse(text, strlen(text), &j, &msg);
	if (r == 0)
		fail_msg("accepted: %s", text);
	assert_null(j);
	if (strncmp(msg, want, strlen(want)) != 0)
		fail_msg("message\n  %s\ndoes not start with\n  %s", msg, want);
	free(msg);
}

static void test_valid_minimal_defaults(void **state)
{
	(void)state;
	const char *t = "{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"tee\": \"none\"}";
	job *j = NULL;
	char *msg = NULL;
	uint8_t want[SHA256_LEN];

	assert_int_equal(parse(t, strlen(t), &j, &msg), 0);
	assert_string_equal(j->name, "demo");
	assert_int_equal(j->n_steps, 1);
	assert_string_equal(j->steps[0].run, "make");
	assert_string_equal(j->steps[0].name, "step 1");
	assert_int_equal(j->n_artifacts, 1);
	assert_int_equal(j->disk_gib, 50); /* the documented default */
	assert_int_equal(j->vcpus, JOB_DEFAULT_VCPUS);
	assert_int_equal(j->memory_mib, JOB_DEFAULT_MEMORY_MIB);
	assert_int_equal(j->timeout_s, JOB_DEFAULT_TIMEOUT_S);
	assert_int_equal(j->tee, JOB_TEE_NONE);
	assert_false(j->source_is_dir);
	assert_non_null(strstr(j->source_resolved, "/src.tar"));
	/* host_data is the SHA-256 of the exact bytes */
	digest_sha256(t, strlen(t), want);
	assert_memory_equal(j->digest, want, SHA256_LEN);
	assert_int_equal(j->raw_len, strlen(t));
	job_free(j);
}

static void test_digest_known_value(void **state)
{
	(void)state;
	/* SHA-256("abc") from FIPS 180-2: digest_sha256 is the function host_data uses. */
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN];
	digest_sha256("abc", 3, d);
	hex_encode(d, SHA256_LEN, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_full_and_directory_source(void **state)
{
	(void)state;
	const char *t = "{" HEAD ", \"source\": {\"path\": \"srcdir\"}, \"steps\": [{\"name\": \"b\", \"run\": \"make\"},"
			" {\"run\": \"make check\"}], \"artifacts\": [\"a\", \"lib/*.so\"], \"resources\": {\"vcpus\": 4,"
			" \"memory_mib\": 4096, \"disk_gib\": 10, \"timeout_s\": 600}, \"tee\": \"snp\"}";
	job *j = NULL;
	char *msg = NULL;
	assert_int_equal(parse(t, strlen(t), &j, &msg), 0);
	assert_true(j->source_is_dir);
	assert_int_equal(j->vcpus, 4);
	assert_int_equal(j->memory_mib, 4096);
	assert_int_equal(j->disk_gib, 10);
	assert_int_equal(j->timeout_s, 600);
	assert_int_equal(j->tee, JOB_TEE_SNP);
	assert_string_equal(j->steps[0].name, "b");
	assert_string_equal(j->steps[1].name, "step 2");
	job_free(j);
}

static void test_unknown_fields(void **state)
{
	(void)state;
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"tee\": \"none\", \"extra\": 1}",
		     "job.json: extra: unknown field");
	expect_error("{" HEAD ", " SRC ", \"steps\": [{\"run\": \"x\", \"shell\": \"bash\"}], " ARTS ", \"tee\": \"none\"}",
		     "job.json: steps[0].shell: unknown field");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"resources\": {\"gpus\": 1}, \"tee\": \"none\"}",
		     "job.json: resources.gpus: unknown field");
	expect_error("{" HEAD ", \"source\": {\"path\": \"src.tar\", \"url\": \"x\"}, " STEPS ", " ARTS ", \"tee\": \"none\"}",
		     "job.json: source.url: unknown field");
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	expect_error("{" HEAD ", \"name\": \"again\", " SRC ", " STEPS ", " ARTS ", \"tee\": \"none\"}",
		     "job.json: name: duplicate object key");
	expect_error("{" HEAD ", " SRC ", \"steps\": [{\"run\": \"a\"}, {\"run\": \"b\", \"run\": \"c\"}], " ARTS
		     ", \"tee\": \"none\"}",
		     "job.json: steps[1].run: duplicate object key");
}

static void test_nul_in_strings(void **state)
{
	(void)state;
	expect_error("{" HEAD ", " SRC ", \"steps\": [{\"run\": \"ma\\u0000ke\"}], " ARTS ", \"tee\": \"none\"}",
		     "job.json: steps[0].run: must not contain NUL characters");
	expect_error("{" HEAD ", " SRC ", " STEPS ", \"artifacts\": [\"a\\u0000b\"], \"tee\": \"none\"}",
		     "job.json: artifacts[0]: must not contain NUL characters");
	/* a raw NUL byte in the file is a syntax error at its path */
	const char raw[] = "{\"api_version\": \"snpbuild/v1\", \"name\": \"de\0mo\"}";
	job *j = NULL;
	char *msg = NULL;
	assert_int_not_equal(parse(raw, sizeof(raw) - 1, &j, &msg), 0);
	assert_non_null(strstr(msg, "job.json: name: "));
	free(msg);
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_error("[]", "job.json: (root): ");
	expect_error("{\"api_version\": 1}", "job.json: api_version: must be a non-empty string");
	expect_error("{" HEAD ", \"source\": \"src.tar\", " STEPS ", " ARTS ", \"tee\": \"none\"}",
		     "job.json: source: must be an object");
	expect_error("{" HEAD ", " SRC ", \"steps\": \"make\", " ARTS ", \"tee\": \"none\"}",
		     "job.json: steps: must be a non-empty array");
	expect_error("{" HEAD ", " SRC ", \"steps\": [{\"run\": 5}], " ARTS ", \"tee\": \"none\"}",
		     "job.json: steps[0].run: must be a non-empty string");
	expect_error("{" HEAD ", " SRC ", \"steps\": [{\"run\": \"a\"}, {\"run\": \"b\"}, {\"run\": \"\"}], " ARTS
		     ", \"tee\": \"none\"}",
		     "job.json: steps[2].run: must be a non-empty string");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"resources\": {\"vcpus\": \"2\"}, \"tee\": \"none\"}",
		     "job.json: resources.vcpus: must be an integer");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"resources\": {\"vcpus\": 2.5}, \"tee\": \"none\"}",
		     "job.json: resources.vcpus: must be an integer");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"resources\": {\"disk_gib\": true}, \"tee\": \"none\"}",
		     "job.json: resources.disk_gib: must be an integer");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"tee\": \"tdx\"}", "job.json: tee: must be \"snp\" or \"none\"");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS "}", "job.json: tee: missing");
	expect_error("{\"api_version\": \"snpbuild/v2\"}", "job.json: api_version: unsupported");
	expect_error("{\"api_version\": \"snpbuild/v1\", \"name\": \"a b\"}", "job.json: name: must start with a letter or digit and contain only");
	expect_error("{" HEAD ", \"source\": {\"path\": \"src.tar\", \"sha256\": \"abc\"}, " STEPS ", " ARTS
		     ", \"tee\": \"none\"}",
		     "job.json: source.sha256: must be 64 hex digits");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"tee\": \"none\"", "job.json: tee: '}' expected");
}

static void test_out_of_range(void **state)
{
	(void)state;
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"resources\": {\"vcpus\": 0}, \"tee\": \"none\"}",
		     "job.json: resources.vcpus: 0 is out of range (1..255)");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"resources\": {\"vcpus\": 256}, \"tee\": \"none\"}",
		     "job.json: resources.vcpus: 256 is out of range");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"resources\": {\"memory_mib\": 64}, \"tee\": \"none\"}",
		     "job.json: resources.memory_mib: 64 is out of range");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"resources\": {\"disk_gib\": 0}, \"tee\": \"none\"}",
		     "job.json: resources.disk_gib: 0 is out of range");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS ", \"resources\": {\"timeout_s\": -5}, \"tee\": \"none\"}",
		     "job.json: resources.timeout_s: -5 is out of range");
	expect_error("{" HEAD ", " SRC ", " STEPS ", " ARTS
		     ", \"resources\": {\"disk_gib\": 99999999999999999}, \"tee\": \"none\"}",
		     "job.json: resources.disk_gib: ");
}

static void test_artifact_paths(void **state)
{
	(void)state;
	expect_error("{" HEAD ", " SRC ", " STEPS ", \"artifacts\": [\"/etc/passwd\"], \"tee\": \"none\"}",
		     "job.json: artifacts[0]: must be relative to the source tree, not absolute");
	expect_error("{" HEAD ", " SRC ", " STEPS ", \"artifacts\": [\"ok\", \"../x\"], \"tee\": \"none\"}",
		     "job.json: artifacts[1]: must not contain \"..\"");
	expect_error("{" HEAD ", " SRC ", " STEPS ", \"artifacts\": [\"a/../../b\"], \"tee\": \"none\"}",
		     "job.json: artifacts[0]: must not contain \"..\"");
	expect_error("{" HEAD ", " SRC ", " STEPS ", \"artifacts\": [\"a//b\"], \"tee\": \"none\"}",
		     "job.json: artifacts[0]: ");
	expect_error("{" HEAD ", " SRC ", " STEPS ", \"artifacts\": [], \"tee\": \"none\"}",
		     "job.json: artifacts: must be a non-empty array");
	expect_error("{" HEAD ", " SRC ", " STEPS ", \"artifacts\": [\"ok\", \"sub/result.json\"], \"tee\": \"none\"}",
		     "job.json: artifacts[1]: 'result.json' is a name snpbuild uses for its own output files");
	expect_error("{" HEAD ", " SRC ", " STEPS ", \"artifacts\": [\".config\"], \"tee\": \"none\"}",
		     "job.json: artifacts[0]: '.config' is a name snpbuild uses");
	expect_error("{" HEAD ", " SRC ", " STEPS ", \"artifacts\": [\"a\\u0001\"], \"tee\": \"none\"}",
		     "job.json: artifacts[0]: must not contain control characters");
	expect_error("{" HEAD ", " SRC ", " STEPS ", \"artifacts\": [\"dir/\"], \"tee\": \"none\"}",
		     "job.json: artifacts[0]: must not contain");
	char big[600];
	snprintf(big, sizeof(big), "{" HEAD ", " SRC ", " STEPS ", \"artifacts\": [\"d/%0256d\"], \"tee\": \"none\"}", 0);
	expect_error(big, "job.json: artifacts[0]: the file name '00000000");
	assert_true(job_artifact_path_valid("dist/*.tar.gz"));
	assert_true(job_artifact_path_valid("a..b"));
	assert_false(job_artifact_path_valid(".."));
	assert_false(job_artifact_path_valid("a/./b"));
}

static void test_missing_source(void **state)
{
	(void)state;
	expect_error("{" HEAD ", " STEPS ", " ARTS ", \"tee\": \"none\"}", "job.json: source: missing");
	expect_error("{" HEAD ", \"source\": {\"path\": \"nope.tar\"}, " STEPS ", " ARTS ", \"tee\": \"none\"}",
		     "job.json: source.path: nope.tar: No such file or directory");
	expect_error("{" HEAD ", \"source\": {\"path\": \"srcdir\", \"sha256\": "
		     "\"71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1\"}, " STEPS ", " ARTS
		     ", \"tee\": \"none\"}",
		     "job.json: source.sha256: only a tarball source can be pinned");
}

static void test_source_must_be_a_tarball(void **state)
{
	(void)state;
	job *j = NULL;
	char *msg = NULL;
	const char *t = "{" HEAD ", \"source\": {\"path\": \"src.tar.gz\"}, " STEPS ", " ARTS ", \"tee\": \"none\"}";
	assert_int_equal(parse(t, strlen(t), &j, &msg), 0);
	job_free(j);
	expect_error("{" HEAD ", \"source\": {\"path\": \"notes.txt\"}, " STEPS ", " ARTS ", \"tee\": \"none\"}",
		     "job.json: source.path: notes.txt: not a tar archive");
	expect_error("{" HEAD ", \"source\": {\"path\": \"fifo.json\"}, " STEPS ", " ARTS ", \"tee\": \"none\"}",
		     "job.json: source.path: fifo.json: neither a directory nor a regular file");
}

static void test_load_regular_files_only(void **state)
{
	(void)state;
	char p[300];
	job *j = NULL;
	sb_err *e = NULL;
	/* a FIFO would block a plain open(): refused at once */
	snprintf(p, sizeof(p), "%s/fifo.json", tmpdir);
	assert_true(job_load(p, &j, &e) < 0);
	assert_non_null(strstr(e->msg, "not a regular file"));
	sb_err_freep(&e);
	assert_true(job_load(tmpdir, &j, &e) < 0);
	assert_non_null(strstr(e->msg, "is a directory"));
	sb_err_freep(&e);
}

static void test_names(void **state)
{
	(void)state;
	expect_error("{\"api_version\": \"snpbuild/v1\", \"name\": \"..\"}", "job.json: name: must start with a letter or digit");
	expect_error("{\"api_version\": \"snpbuild/v1\", \"name\": \".hidden\"}", "job.json: name: must start with");
	expect_error("{" HEAD ", " SRC ", \"steps\": [{\"name\": \"evil\\u001b[31mred\", \"run\": \"true\"}], " ARTS
		     ", \"tee\": \"none\"}",
		     "job.json: steps[0].name: must not contain control characters");
}

static void test_guest_side_parse_skips_host_checks(void **state)
{
	(void)state;
	const char *t = "{" HEAD ", \"source\": {\"path\": \"/nonexistent.tar\"}, " STEPS ", " ARTS ", \"tee\": \"snp\"}";
	job *j = NULL;
	sb_err *e = NULL;
	assert_int_equal(job_parse(t, strlen(t), "job", NULL, 0, &j, &e), 0);
	assert_null(j->source_resolved);
	job_free(j);
}

static void test_json_path_at(void **state)
{
	(void)state;
	const char *t = "{\"a\": [1, {\"b\": [0, 0, {\"c\": X";
	char *p = job_json_path_at(t, strlen(t), strlen(t));
	assert_string_equal(p, "a[1].b[2].c");
	free(p);
	p = job_json_path_at("{\"k\\\"ey\": 1", 11, 11);
	assert_string_equal(p, "k\"ey");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_minimal_defaults),
		cmocka_unit_test(test_digest_known_value),
		cmocka_unit_test(test_full_and_directory_source),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_nul_in_strings),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_artifact_paths),
		cmocka_unit_test(test_missing_source),
		cmocka_unit_test(test_source_must_be_a_tarball),
		cmocka_unit_test(test_load_regular_files_only),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_guest_side_parse_skips_host_checks),
		cmocka_unit_test(test_json_path_at),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
