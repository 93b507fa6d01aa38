/* SPDX-License-Identifier: Apache-2.0 */
/* The wire protocol: round trips over a socketpair, and hostile streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cursor.h"
#include "wire.h"

static void test_roundtrip_socketpair(void **state)
{
	(void)state;
	int sv[2];
	wire_reader rd;
	wire_frame f;
	sb_err *e = NULL;
	uint8_t big[100000];
	uint8_t hdr[64];
	size_t hlen;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (fork() == 0) {
		close(sv[0]);
		wire_send_str(sv[1], WIRE_LOG, "hello\n", NULL);
		wire_send(sv[1], WIRE_SOURCE_DATA, big, sizeof(big), NULL);
		wire_artifact_begin_encode(hdr, sizeof(hdr), 12345, WIRE_ARTIFACT_EXECUTABLE, "libz.a", &hlen, NULL);
		wire_send(sv[1], WIRE_ARTIFACT_BEGIN, hdr, hlen, NULL);
		wire_send(sv[1], WIRE_ACK, NULL, 0, NULL);
		_exit(0);
	}
	close(sv[1]);
	wire_reader_init(&rd, 0);
	int types[] = { WIRE_LOG, WIRE_SOURCE_DATA, WIRE_ARTIFACT_BEGIN, WIRE_ACK };
	for (size_t k = 0; k < 4; k++) {
		int r;
		while ((r = wire_reader_next(&rd, &f, &e)) == 0)
			assert_true(wire_reader_fill(&rd, sv[0], &e) > 0);
		assert_int_equal(r, 1);
		assert_int_equal(f.type, types[k]);
		if (k == 0) {
			assert_int_equal(f.len, 6);
			assert_memory_equal(f.payload, "hello\n", 6);
		} else if (k == 1) {
			assert_int_equal(f.len, sizeof(big));
			assert_memory_equal(f.payload, big, sizeof(big));
		} else if (k == 2) {
			uint64_t size;
			uint16_t flags;
			char name[WIRE_MAX_NAME + 1];
			assert_int_equal(wire_artifact_begin_parse(f.payload, f.len, &size, &flags, name, &e), 0);
			assert_int_equal(size, 12345);
			assert_int_equal(flags, WIRE_ARTIFACT_EXECUTABLE);
			assert_string_equal(name, "libz.a");
		} else {
			assert_int_equal(f.len, 0);
		}
	}
	assert_int_equal(wire_reader_fill(&rd, sv[0], &e), 0); /* EOF */
	wire_reader_free(&rd);
	close(sv[0]);
}

static void test_header_layout(void **state)
{
	(void)state;
	uint8_t h[WIRE_HEADER_LEN];
	wire_header_encode(h, WIRE_RESULT, 0x01020304);
	const uint8_t want[] = { 0x08, 0x00, 0x00, 0x00, 0x04, 0x03, 0x02, 0x01 };
	assert_memory_equal(h, want, sizeof(want));
}

static void test_truncated_frames_wait(void **state)
{
	(void)state;
	wire_reader rd;
	wire_frame f;
	sb_err *e = NULL;
	uint8_t h[WIRE_HEADER_LEN];

	wire_reader_init(&rd, 0);
	wire_header_encode(h, WIRE_LOG, 10);
	/* every prefix of a frame yields "need more", never a frame */
	for (size_t i = 0; i < sizeof(h); i++) {
		assert_int_equal(wire_reader_push(&rd, &h[i], 1, &e), 0);
		assert_int_equal(wire_reader_next(&rd, &f, &e), 0);
	}
	assert_int_equal(wire_reader_push(&rd, "012345678", 9, &e), 0);
	assert_int_equal(wire_reader_next(&rd, &f, &e), 0);
	assert_int_equal(wire_reader_push(&rd, "9", 1, &e), 0);
	assert_int_equal(wire_reader_next(&rd, &f, &e), 1);
	assert_int_equal(f.len, 10);
	assert_memory_equal(f.payload, "0123456789", 10);
	assert_int_equal(wire_reader_pending(&rd), 0);
	wire_reader_free(&rd);
}

static void expect_stream_error(const uint8_t *bytes, size_t len, uint32_t max, const char *want)
{
	wire_reader rd;
	wire_frame f;
	sb_err *e = NULL;
	wire_reader_init(&rd, max);
	assert_int_equal(wire_reader_push(&rd, bytes, len, &e), 0);
	assert_true(wire_reader_next(&rd, &f, &e) < 0);
	assert_non_null(e);
	if (!strstr(e->msg, want))
		fail_msg("'%s' lacks '%s'", e->msg, want);
	sb_err_free(e);
	wire_reader_free(&rd);
}

static void test_oversized_and_unknown(void **state)
{
	(void)state;
	uint8_t h[WIRE_HEADER_LEN];
	wire_header_encode(h, WIRE_LOG, WIRE_MAX_PAYLOAD + 1);
	expect_stream_error(h, sizeof(h), 0, "exceeds the limit");
	wire_header_encode(h, WIRE_LOG, 0xffffffffu);
	expect_stream_error(h, sizeof(h), 0, "exceeds the limit");
	wire_header_encode(h, WIRE_RESULT, 4097);
	expect_stream_error(h, sizeof(h), 4096, "exceeds the limit 4096");
	wire_header_encode(h, 999, 0);
	expect_stream_error(h, sizeof(h), 0, "unknown frame type 999");
	wire_header_encode(h, WIRE_LOG, 0);
	h[2] = 1;
	expect_stream_error(h, sizeof(h), 0, "reserved bits");
	/* a sender refuses to build an oversized frame */
	sb_err *e = NULL;
	assert_int_equal(wire_send(-1, WIRE_LOG, "", WIRE_MAX_PAYLOAD + 1, &e), -EMSGSIZE);
	sb_err_free(e);
}

static void expect_bad_name(const uint8_t *payload, size_t len, const char *want)
{
	uint64_t size;
	uint16_t flags;
	char name[WIRE_MAX_NAME + 1];
	sb_err *e = NULL;
	assert_true(wire_artifact_begin_parse(payload, (uint32_t)len, &size, &flags, name, &e) < 0);
	if (!strstr(e->msg, want))
		fail_msg("'%s' lacks '%s'", e->msg, want);
	sb_err_free(e);
}

static size_t begin_raw(uint8_t *p, uint64_t size, const char *name, size_t n)
{
	put_u64le(p, size);
	put_u16le(p + 8, 0);
	put_u16le(p + 10, (uint16_t)n);
	memcpy(p + 12, name, n);
	return 12 + n;
}

static void test_artifact_names(void **state)
{
	(void)state;
	uint8_t p[400];
	expect_bad_name(p, begin_raw(p, 1, "a/b", 3), "not a single safe path component");
	expect_bad_name(p, begin_raw(p, 1, "/etc", 4), "not a single safe path component");
	expect_bad_name(p, begin_raw(p, 1, "..", 2), "not a single safe path component");
	expect_bad_name(p, begin_raw(p, 1, ".", 1), "not a single safe path component");
	expect_bad_name(p, begin_raw(p, 1, "a\0b", 3), "contains NUL");
	expect_bad_name(p, begin_raw(p, 1, "a\nb", 3), "not a single safe path component");
	expect_bad_name(p, begin_raw(p, 1, "", 0), "not a single safe path component");
	/* declared name length overruns the frame */
	size_t n = begin_raw(p, 1, "abc", 3);
	put_u16le(p + 10, 200);
	expect_bad_name(p, n, "overruns");
	/* undefined flags */
	n = begin_raw(p, 1, "abc", 3);
	put_u16le(p + 8, 0x8);
	expect_bad_name(p, n, "unknown flags");
	expect_bad_name(p, 5, "truncated");
	/* trailing garbage */
	n = begin_raw(p, 1, "abc", 3);
	expect_bad_name(p, n + 2, "trailing");
	/* 256 bytes is one too many */
	char longname[300];
	memset(longname, 'x', sizeof(longname));
	expect_bad_name(p, begin_raw(p, 1, longname, 256), "not a single safe path component");
	assert_true(wire_name_valid(longname, 255));
	/* snpbuild's own output names */
	assert_true(wire_artifact_name_reserved("result.json"));
	assert_true(wire_artifact_name_reserved("attestation"));
	assert_true(wire_artifact_name_reserved(".hidden"));
	assert_false(wire_artifact_name_reserved("result.json.gz"));
	assert_false(wire_artifact_name_reserved("libz.a"));
	assert_true(wire_name_valid("..hidden", 8));
}

static void test_hello(void **state)
{
	(void)state;
	uint8_t p[32];
	uint32_t v;
	char *ident;
	sb_err *e = NULL;
	put_u32le(p, 1);
	memcpy(p + 4, "agent\x1b[2J", 9);
	assert_int_equal(wire_hello_parse(p, 13, &v, &ident, &e), 0);
	assert_int_equal(v, 1);
	assert_string_equal(ident, "agent?[2J"); /* control characters neutralised */
	free(ident);
	assert_true(wire_hello_parse(p, 3, &v, &ident, &e) < 0);
	sb_err_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_socketpair),
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_truncated_frames_wait),
		cmocka_unit_test(test_oversized_and_unknown),
		cmocka_unit_test(test_artifact_names),
		cmocka_unit_test(test_hello),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
