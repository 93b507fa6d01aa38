/* SPDX-License-Identifier: Apache-2.0 */
#include "evidence.h"

#include <openssl/evp.h>
#include <string.h>

void evidence_report_data(const uint8_t job_sha256[SHA256_LEN], const uint8_t *key_der, size_t key_der_len,
			  uint8_t out[EVIDENCE_REPORT_DATA_LEN])
{
	static const char tag[] = EVIDENCE_REPORT_DATA_TAG;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = EVIDENCE_REPORT_DATA_LEN;

	/* Only allocation can fail here; a zero binding then matches no key. */
	memset(out, 0, EVIDENCE_REPORT_DATA_LEN);
	if (!ctx)
		return;
	if (!EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) || !EVP_DigestUpdate(ctx, tag, sizeof(tag)) ||
	    !EVP_DigestUpdate(ctx, job_sha256, SHA256_LEN) || !EVP_DigestUpdate(ctx, key_der, key_der_len) ||
	    !EVP_DigestFinal_ex(ctx, out, &n))
		memset(out, 0, EVIDENCE_REPORT_DATA_LEN);
	EVP_MD_CTX_free(ctx);
}
