/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host-guest wire protocol: the one module compiled into both the
 * orchestrator and snpbuild-agent. A stream of frames, each an 8-byte header
 * (u16 type, u16 reserved = 0, u32 payload length, little-endian) and the
 * payload. Both ends treat every frame from the other as hostile: lengths
 * are bounded, types must be known, names are checked.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define WIRE_VERSION 1
#define WIRE_HEADER_LEN 8
#define WIRE_MAX_PAYLOAD (1u << 20) /* per frame; big data is chunked */
#define WIRE_MAX_NAME 255
#define WIRE_CHUNK (256u * 1024)

/* Well-known names of the channel on each transport. */
#define WIRE_SERIAL_PORT_NAME "org.snpbuild.channel"
#define WIRE_VSOCK_PORT 5123

enum wire_type {
	/* guest -> host */
	WIRE_HELLO = 1,          /* u32 version, then agent identification text */
	WIRE_LOG = 2,            /* build output bytes, as produced */
	WIRE_PHASE = 3,          /* text: a guest-side phase has started */
	WIRE_ARTIFACT_BEGIN = 4, /* u64 size, u16 flags, u16 name length, name */
	WIRE_ARTIFACT_DATA = 5,  /* bytes */
	WIRE_ARTIFACT_END = 6,   /* 32-byte SHA-256 computed by the guest */
	WIRE_EVIDENCE = 7,       /* u8 kind, then bytes (report, provenance, key) */
	WIRE_RESULT = 8,         /* JSON object: the guest's account of the build */
	/* host -> guest */
	WIRE_JOB = 32,           /* the exact job descriptor bytes */
	WIRE_SOURCE_DATA = 33,   /* source archive bytes */
	WIRE_SOURCE_END = 34,    /* 32-byte SHA-256 of the whole source archive */
	WIRE_ACK = 35,           /* the host has everything; the guest may power off */
};

enum wire_evidence_kind {
	WIRE_EVIDENCE_REPORT = 1,     /* raw SNP attestation report */
	WIRE_EVIDENCE_PROVENANCE = 2, /* DSSE envelope (JSON) */
	WIRE_EVIDENCE_PUBKEY = 3,     /* DER SubjectPublicKeyInfo of the job key */
	WIRE_EVIDENCE_CERTS = 4,      /* certificate table from the firmware */
};

typedef struct wire_frame {
	uint16_t type;
	uint32_t len;
	const uint8_t *payload; /* borrowed from the reader until the next call */
} wire_frame;

const char *wire_type_name(uint16_t type);
bool wire_type_known(uint16_t type);

/* Encodes a frame header into out. */
void wire_header_encode(uint8_t out[WIRE_HEADER_LEN], uint16_t type, uint32_t len);

/* Writes one whole frame to fd (retrying short writes and EINTR). */
int wire_send(int fd, uint16_t type, const void *payload, size_t len, sb_err **err);
int wire_send_str(int fd, uint16_t type, const char *s, sb_err **err);

/* Streaming reader: accumulates bytes and yields whole frames. */
typedef struct wire_reader {
	uint8_t *buf;
	size_t cap, start, end;
	uint32_t max_payload;
} wire_reader;

void wire_reader_init(wire_reader *r, uint32_t max_payload);
void wire_reader_free(wire_reader *r);
/* Appends bytes (for tests and for callers doing their own I/O). */
int wire_reader_push(wire_reader *r, const void *buf, size_t len, sb_err **err);
/* One read(2) from fd into the reader: >0 bytes read, 0 at EOF, -EAGAIN, or error. */
int wire_reader_fill(wire_reader *r, int fd, sb_err **err);
/* 1 and a frame when one is complete, 0 when more bytes are needed, <0 on a
 * malformed stream (unknown type, reserved bits, oversized length). */
int wire_reader_next(wire_reader *r, wire_frame *ret_frame, sb_err **err);
/* Bytes buffered but not yet returned as frames. */
size_t wire_reader_pending(const wire_reader *r);

/* Artifact names are single path components: 1..255 bytes, no '/', no NUL,
 * no control characters, not "." or "..". */
bool wire_name_valid(const char *name, size_t len);
/* Names snpbuild uses for its own files in a job's output folder: log.txt,
 * console.log, result.json, provenance.intoto.jsonl, attestation, and every
 * name starting with '.' (temporary files). No artifact may take one. */
bool wire_artifact_name_reserved(const char *name);

/* ARTIFACT_BEGIN flags: the only file metadata that crosses. */
#define WIRE_ARTIFACT_EXECUTABLE 0x1u

/* ARTIFACT_BEGIN payload. */
int wire_artifact_begin_encode(uint8_t *out, size_t out_len, uint64_t size, uint16_t flags, const char *name,
			       size_t *ret_len, sb_err **err);
/* Parses ARTIFACT_BEGIN; ret_name must hold WIRE_MAX_NAME + 1 bytes. */
int wire_artifact_begin_parse(const uint8_t *payload, uint32_t len, uint64_t *ret_size, uint16_t *ret_flags,
			      char *ret_name, sb_err **err);

/* HELLO payload. */
int wire_hello_parse(const uint8_t *payload, uint32_t len, uint32_t *ret_version,
		     char **ret_ident, sb_err **err);
