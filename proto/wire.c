/* SPDX-License-Identifier: Apache-2.0 */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cursor.h"
#include "proc.h"

static const struct {
	uint16_t type;
	const char *name;
} types[] = {
	{ WIRE_HELLO, "HELLO" },
	{ WIRE_LOG, "LOG" },
	{ WIRE_PHASE, "PHASE" },
	{ WIRE_ARTIFACT_BEGIN, "ARTIFACT_BEGIN" },
	{ WIRE_ARTIFACT_DATA, "ARTIFACT_DATA" },
	{ WIRE_ARTIFACT_END, "ARTIFACT_END" },
	{ WIRE_EVIDENCE, "EVIDENCE" },
	{ WIRE_RESULT, "RESULT" },
	{ WIRE_JOB, "JOB" },
	{ WIRE_SOURCE_DATA, "SOURCE_DATA" },
	{ WIRE_SOURCE_END, "SOURCE_END" },
	{ WIRE_ACK, "ACK" },
};

const char *wire_type_name(uint16_t type)
{
	for (size_t i = 0; i < ELEMENTSOF(types); i++)
		if (types[i].type == type)
			return types[i].name;
	return "UNKNOWN";
}

bool wire_type_known(uint16_t type)
{
	for (size_t i = 0; i < ELEMENTSOF(types); i++)
		if (types[i].type == type)
			return true;
	return false;
}

void wire_header_encode(uint8_t out[WIRE_HEADER_LEN], uint16_t type, uint32_t len)
{
	put_u16le(out, type);
	put_u16le(out + 2, 0);
	put_u32le(out + 4, len);
}

int wire_send(int fd, uint16_t type, const void *payload, size_t len, sb_err **err)
{
	uint8_t hdr[WIRE_HEADER_LEN];
	int r;

	if (len > WIRE_MAX_PAYLOAD)
		return sb_err_set(err, EMSGSIZE, "%s frame of %zu bytes exceeds %u", wire_type_name(type), len,
				  WIRE_MAX_PAYLOAD);
	wire_header_encode(hdr, type, (uint32_t)len);
	r = proc_write_all(fd, hdr, sizeof(hdr));
	if (r == 0 && len > 0)
		r = proc_write_all(fd, payload, len);
	return r < 0 ? sb_err_sys(err, -r, "channel write") : 0;
}

int wire_send_str(int fd, uint16_t type, const char *s, sb_err **err)
{
	return wire_send(fd, type, s, strlen(s), err);
}

void wire_reader_init(wire_reader *r, uint32_t max_payload)
{
	*r = (wire_reader){ .max_payload = max_payload ? max_payload : WIRE_MAX_PAYLOAD };
}

void wire_reader_free(wire_reader *r)
{
	free(r->buf);
	*r = (wire_reader){ 0 };
}

size_t wire_reader_pending(const wire_reader *r)
{
	return r->end - r->start;
}

/* Makes room for at least want more bytes at the end. */
static int reserve(wire_reader *r, size_t want, sb_err **err)
{
	if (r->cap - r->end >= want)
		return 0;
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
		if (r->cap - r->end >= want)
			return 0;
	}
	size_t need = r->end + want, cap = r->cap ? r->cap : 64 * 1024;
	while (cap < need)
		cap *= 2;
	uint8_t *nb = realloc(r->buf, cap);
	if (!nb)
		return sb_err_set(err, ENOMEM, "channel buffer");
	r->buf = nb;
	r->cap = cap;
	return 0;
}

int wire_reader_push(wire_reader *r, const void *buf, size_t len, sb_err **err)
{
	int ret = reserve(r, len, err);
	if (ret < 0)
		return ret;
	if (len)
		memcpy(r->buf + r->end, buf, len);
	r->end += len;
	return 0;
}

int wire_reader_fill(wire_reader *r, int fd, sb_err **err)
{
	int ret = reserve(r, WIRE_CHUNK, err);
	if (ret < 0)
		return ret;
	for (;;) {
		ssize_t n = read(fd, r->buf + r->end, r->cap - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		if (n < 0)
			return sb_err_sys(err, errno, "channel read");
		r->end += (size_t)n;
		return (int)(n > 0 ? 1 : 0);
	}
}

int wire_reader_next(wire_reader *r, wire_frame *ret_frame, sb_err **err)
{
	sb_cursor c = cur_make(r->buf + r->start, r->end - r->start);
	uint16_t type, reserved;
	uint32_t len;
	const uint8_t *payload;

	if (!cur_u16le(&c, &type) || !cur_u16le(&c, &reserved) || !cur_u32le(&c, &len))
		return 0;
	if (!wire_type_known(type))
		return sb_err_set(err, EPROTO, "channel: unknown frame type %u", type);
	if (reserved != 0)
		return sb_err_set(err, EPROTO, "channel: %s frame has reserved bits 0x%04x set", wire_type_name(type),
				  reserved);
	if (len > r->max_payload)
		return sb_err_set(err, EMSGSIZE, "channel: %s frame length %u exceeds the limit %u",
				  wire_type_name(type), len, r->max_payload);
	if (!cur_view(&c, &payload, len))
		return 0;
	r->start += WIRE_HEADER_LEN + len;
	if (r->start == r->end)
		r->start = r->end = 0; /* payload stays valid: nothing is moved until the next fill/push */
	*ret_frame = (wire_frame){ .type = type, .len = len, .payload = payload };
	return 1;
}

bool wire_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > WIRE_MAX_NAME)
		return false;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch == '/' || ch == '\\' || ch < 0x20 || ch == 0x7f)
			return false;
	}
	return true;
}

bool wire_artifact_name_reserved(const char *name)
{
	static const char *const own[] = { "log.txt", "console.log", "result.json", "provenance.intoto.jsonl",
					   "attestation" };

	for (size_t i = 0; i < ELEMENTSOF(own); i++)
		if (!strcmp(own[i], name))
			return true;
	return name[0] == '.';
}

int wire_artifact_begin_encode(uint8_t *out, size_t out_len, uint64_t size, uint16_t flags, const char *name,
			       size_t *ret_len, sb_err **err)
{
	size_t n = strlen(name);

	if (!wire_name_valid(name, n))
		return sb_err_set(err, EINVAL, "artifact name '%s' is not a valid file name", name);
	if (out_len < 12 + n)
		return sb_err_set(err, ENOBUFS, "artifact name too long");
	put_u64le(out, size);
	put_u16le(out + 8, flags);
	put_u16le(out + 10, (uint16_t)n);
	memcpy(out + 12, name, n);
	*ret_len = 12 + n;
	return 0;
}

int wire_artifact_begin_parse(const uint8_t *payload, uint32_t len, uint64_t *ret_size, uint16_t *ret_flags,
			      char *ret_name, sb_err **err)
{
	sb_cursor c = cur_make(payload, len);
	uint64_t size;
	uint16_t flags, n;
	const uint8_t *name;

	if (!cur_u64le(&c, &size) || !cur_u16le(&c, &flags) || !cur_u16le(&c, &n))
		return sb_err_set(err, EPROTO, "ARTIFACT_BEGIN: truncated header");
	if (flags & ~WIRE_ARTIFACT_EXECUTABLE)
		return sb_err_set(err, EPROTO, "ARTIFACT_BEGIN: unknown flags 0x%x", flags);
	if (!cur_view(&c, &name, n))
		return sb_err_set(err, EPROTO, "ARTIFACT_BEGIN: name length %u overruns the frame", n);
	if (c.left != 0)
		return sb_err_set(err, EPROTO, "ARTIFACT_BEGIN: %zu trailing bytes", c.left);
	if (memchr(name, '\0', n))
		return sb_err_set(err, EPROTO, "ARTIFACT_BEGIN: name contains NUL");
	if (!wire_name_valid((const char *)name, n))
		return sb_err_set(err, EPROTO, "ARTIFACT_BEGIN: name '%.*s' is not a single safe path component",
				  (int)n, (const char *)name);
	memcpy(ret_name, name, n);
	ret_name[n] = '\0';
	*ret_size = size;
	*ret_flags = flags;
	return 0;
}

int wire_hello_parse(const uint8_t *payload, uint32_t len, uint32_t *ret_version, char **ret_ident,
		     sb_err **err)
{
	sb_cursor c = cur_make(payload, len);
	uint32_t version;
	char *ident;

	if (!cur_u32le(&c, &version))
		return sb_err_set(err, EPROTO, "HELLO: truncated");
	if (c.left > 1024)
		return sb_err_set(err, EPROTO, "HELLO: identification longer than 1024 bytes");
	ident = strndup((const char *)c.p, c.left);
	if (!ident)
		return sb_err_set(err, ENOMEM, "HELLO");
	for (char *p = ident; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	*ret_version = version;
	*ret_ident = ident;
	return 0;
}
