/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the attest_*.c files; not part of the public API. */
#pragma once

#include "attest.h"

/* Appends a reason to v (marks it invalid); returns -ENOMEM on failure. */
int attest_verdict_add(struct attest_verdict *v, enum attest_reason_code code, const char *fmt, ...)
	_printf_(3, 4);

/* The chain stage: everything that depends only on the certificates, the
 * product line, the signer kind and the time. Cached per attest_ctx. */
struct attest_chain_result {
	int leaf_signed_by_intermediate;
	int intermediate_signed_by_ark;
	int ark_pinned;
	int certs_time_valid;
	int crl_checked;
	size_t n_reasons;
	struct attest_reason *reasons;
};

int attest_chain_check(attest_ctx *ctx, enum attest_product p, enum attest_signer kind, X509 *leaf,
		       const struct attest_evidence *ev, time_t at, bool require_crl,
		       const struct attest_chain_result **ret, sb_err **err);

/* What verification needs from a VCEK/VLEK, computed once per certificate and
 * cached per context: its extensions, its name, and a verify context bound to
 * its key (re-initialising one per report costs as much as the ECDSA check). */
struct attest_leaf_info {
	struct attest_cert_ext ext;
	int ext_r;          /* <0: the extensions did not parse */
	char *ext_err;      /* ... and why */
	char cn[128];
	bool key_p384;
	EVP_PKEY_CTX *vctx; /* ECDSA verify, SHA-384 digests; NULL unless key_p384 */
};

int attest_leaf_lookup(attest_ctx *ctx, X509 *leaf, const struct attest_leaf_info **ret, sb_err **err);

/* ECDSA P-384 over the signed region with a prepared verify context. */
int attest_report_check_signature_ctx(const struct attest_report *r, EVP_PKEY_CTX *vctx, sb_err **err);
