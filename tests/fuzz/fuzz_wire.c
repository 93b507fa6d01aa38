/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the wire protocol reader and frame parsers on a hostile stream,
 * fed in pieces of varying size as a socket would deliver them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wire_reader rd;
	wire_frame f;
	sb_err *e = NULL;
	size_t off = 0;

	if (size < 1)
		return 0;
	size_t piece = (size_t)data[0] % 64 + 1;
	wire_reader_init(&rd, 4096);
	for (off = 1; off < size;) {
		size_t n = size - off < piece ? size - off : piece;
		if (wire_reader_push(&rd, data + off, n, &e) < 0)
			abort();
		off += n;
		int r;
		while ((r = wire_reader_next(&rd, &f, &e)) == 1) {
			if (f.len > 4096 || !wire_type_known(f.type))
				abort();
			if (f.type == WIRE_ARTIFACT_BEGIN) {
				uint64_t sz;
				uint16_t flags;
				char name[WIRE_MAX_NAME + 1];
				if (wire_artifact_begin_parse(f.payload, f.len, &sz, &flags, name, &e) == 0) {
					if (!wire_name_valid(name, strlen(name)) || strchr(name, '/'))
						abort();
				}
				sb_err_freep(&e);
			} else if (f.type == WIRE_HELLO) {
				uint32_t v;
				char *ident = NULL;
				if (wire_hello_parse(f.payload, f.len, &v, &ident, &e) == 0)
					free(ident);
				sb_err_freep(&e);
			}
		}
		if (r < 0) {
			sb_err_freep(&e);
			break;
		}
	}
	wire_reader_free(&rd);
	return 0;
}
