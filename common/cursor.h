/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one bounds-checked reader for bytes from outside (passt's habit): a
 * cursor and the length remaining. Every getter fails without moving the
 * cursor when fewer bytes remain than asked for.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct sb_cursor {
	const uint8_t *p;
	size_t left;
} sb_cursor;

static inline sb_cursor cur_make(const void *p, size_t len)
{
	return (sb_cursor){ .p = p, .left = len };
}

static inline bool cur_skip(sb_cursor *c, size_t n)
{
	if (c->left < n)
		return false;
	c->p += n;
	c->left -= n;
	return true;
}

static inline bool cur_bytes(sb_cursor *c, void *out, size_t n)
{
	if (c->left < n)
		return false;
	if (n)
		memcpy(out, c->p, n);
	c->p += n;
	c->left -= n;
	return true;
}

/* Borrows n bytes in place. */
static inline bool cur_view(sb_cursor *c, const uint8_t **out, size_t n)
{
	if (c->left < n)
		return false;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return true;
}

static inline bool cur_u8(sb_cursor *c, uint8_t *v)
{
	return cur_bytes(c, v, 1);
}

static inline bool cur_u16le(sb_cursor *c, uint16_t *v)
{
	uint8_t b[2];
	if (!cur_bytes(c, b, 2))
		return false;
	*v = (uint16_t)(b[0] | b[1] << 8);
	return true;
}

static inline bool cur_u32le(sb_cursor *c, uint32_t *v)
{
	uint8_t b[4];
	if (!cur_bytes(c, b, 4))
		return false;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return true;
}

static inline bool cur_u64le(sb_cursor *c, uint64_t *v)
{
	uint32_t lo, hi;
	sb_cursor save = *c;
	if (!cur_u32le(c, &lo) || !cur_u32le(c, &hi)) {
		*c = save;
		return false;
	}
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

/* A sub-cursor over the next n bytes; the parent moves past them. */
static inline bool cur_sub(sb_cursor *c, sb_cursor *sub, size_t n)
{
	const uint8_t *p;
	if (!cur_view(c, &p, n))
		return false;
	*sub = cur_make(p, n);
	return true;
}

static inline void put_u16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
