/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the DSSE envelope, the in-toto Statement parser and base64. The
 * first byte picks the parser, so one corpus reaches all three. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prov.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *fuzz_key(void)
{
	static EVP_PKEY *k;
	if (!k)
		k = EVP_EC_gen("P-256");
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	prov_envelope *env = NULL;
	prov_statement *st = NULL;
	uint8_t *out = NULL;
	size_t n = 0;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (prov_envelope_parse(data + 1, size - 1, &env, NULL) == 0) {
			/* a parsed envelope is safe to verify and its payload to parse */
			(void)prov_envelope_verify(env, fuzz_key(), NULL);
			if (prov_statement_parse(env->payload, env->payload_len, &st, NULL) == 0)
				prov_statement_free(st);
			prov_envelope_free(env);
		}
		break;
	case 1:
		if (prov_statement_parse(data + 1, size - 1, &st, NULL) == 0) {
			if (st->n_subjects == 0 || st->job_raw_len == 0)
				__builtin_trap(); /* the parser promises both */
			prov_statement_free(st);
		}
		break;
	case 2:
		if (prov_base64_decode((const char *)data + 1, size - 1, &out, &n, NULL) == 0) {
			/* what decodes re-encodes (standard alphabet) and decodes to the same bytes */
			char *again = prov_base64_encode(out, n);
			uint8_t *back = NULL;
			size_t m = 0;
			if (!again || prov_base64_decode(again, strlen(again), &back, &m, NULL) != 0 || m != n ||
			    (n && memcmp(back, out, n)))
				__builtin_trap();
			free(back);
			free(again);
			free(out);
		}
		break;
	}
	return 0;
}
