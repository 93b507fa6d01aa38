/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the attestation report parser and the TCB decoders. */
#include <stdint.h>
#include <string.h>

#include "attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct attest_report *r)
{
	static const enum attest_product lines[] = { ATTEST_PRODUCT_UNKNOWN, ATTEST_PRODUCT_MILAN,
						     ATTEST_PRODUCT_GENOA, ATTEST_PRODUCT_TURIN };
	char buf[128];

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		uint64_t raws[] = { r->current_tcb, r->reported_tcb, r->committed_tcb, r->launch_tcb };
		for (size_t k = 0; k < 4; k++) {
			struct attest_tcb t = attest_tcb_decode(raws[k], lines[i]);
			const char *low;
			attest_tcb_format(&t, buf, sizeof(buf));
			attest_tcb_at_least(&t, &t, &low);
			/* decode/encode round-trips the bytes the layout defines */
			uint64_t mask = lines[i] == ATTEST_PRODUCT_TURIN ? 0xff000000ffffffffULL : 0xffff00000000ffffULL;
			if (attest_tcb_encode(&t, lines[i]) != (raws[k] & mask))
				__builtin_trap();
		}
	}
	(void)attest_report_product(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_report r;
	uint8_t full[ATTEST_REPORT_SIZE];
	sb_err *err = NULL;

	/* As given: almost always the wrong size, which must fail cleanly. */
	if (attest_report_parse(data, size, &r, &err) == 0)
		exercise(&r);
	sb_err_free(err);
	err = NULL;

	/* Fitted to the report size so that the field parser runs. */
	memset(full, 0, sizeof(full));
	memcpy(full, data, size < sizeof(full) ? size : sizeof(full));
	if (attest_report_parse(full, sizeof(full), &r, &err) == 0) {
		if (r.version < 2 || r.version > 5 || memcmp(r.signed_bytes, full, ATTEST_SIGNED_SIZE) != 0)
			__builtin_trap();
		exercise(&r);
	}
	sb_err_free(err);
	return 0;
}
