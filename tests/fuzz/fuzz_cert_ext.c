/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: the VCEK/VLEK extension parser. The first byte picks the
 * extension kind and SPL number for the value parser; the whole input is
 * also tried as a DER certificate whose AMD extensions are then parsed.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/x509.h>

#include "attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_cert_ext ext;
	sb_err *err = NULL;
	X509 *x = NULL;

	memset(&ext, 0, sizeof(ext));
	if (size >= 1) {
		enum attest_ext_kind kind = (enum attest_ext_kind)(data[0] % 5);
		unsigned index = (data[0] >> 3) % 11;
		if (attest_cert_ext_parse_value(kind, index, data + 1, size - 1, &ext, &err) == 0) {
			if (ext.hwid_len != 0 && ext.hwid_len != 8 && ext.hwid_len != 64)
				__builtin_trap();
			if (memchr(ext.product_name, '\0', sizeof(ext.product_name)) == NULL)
				__builtin_trap();
		}
		sb_err_free(err);
		err = NULL;
	}

	if (attest_cert_from_der(data, size, &x, &err) == 0) {
		if (attest_cert_ext_parse(x, &ext, &err) == 0) {
			struct attest_tcb t = attest_cert_ext_tcb(&ext, attest_product_from_name(ext.product_name));
			(void)t;
		}
		X509_free(x);
	}
	sb_err_free(err);
	return 0;
}
