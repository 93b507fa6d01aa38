/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verdict: report signature (ECDSA P-384 over bytes 0x000-0x29F), the
 * certificate chain, the VCEK-vs-report cross checks (REPORTED_TCB, CHIP_ID,
 * product line, signer) and the caller's policy. Every failure is listed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "attest-internal.h"

static const char *const reason_names[] = {
	[ATTEST_R_BAD_SIGNATURE] = "bad-signature",
	[ATTEST_R_SIGNATURE_ALGO] = "signature-algo",
	[ATTEST_R_SIGNER] = "signer",
	[ATTEST_R_NO_CERT] = "no-certificate",
	[ATTEST_R_CERT_KEY] = "certificate-key",
	[ATTEST_R_CHAIN_LEAF] = "chain-leaf",
	[ATTEST_R_CHAIN_INTERMEDIATE] = "chain-intermediate",
	[ATTEST_R_CHAIN_ROOT] = "chain-root",
	[ATTEST_R_CERT_TIME] = "certificate-time",
	[ATTEST_R_CERT_ALGO] = "certificate-algo",
	[ATTEST_R_CRL] = "crl",
	[ATTEST_R_REVOKED] = "revoked",
	[ATTEST_R_PRODUCT] = "product",
	[ATTEST_R_TCB_MISMATCH] = "tcb-mismatch",
	[ATTEST_R_CHIP_ID] = "chip-id",
	[ATTEST_R_DEBUG] = "debug",
	[ATTEST_R_VMPL] = "vmpl",
	[ATTEST_R_MIGRATE_MA] = "migrate-ma",
	[ATTEST_R_SMT] = "smt",
	[ATTEST_R_MIN_TCB] = "min-tcb",
	[ATTEST_R_GUEST_SVN] = "guest-svn",
	[ATTEST_R_MEASUREMENT] = "measurement",
	[ATTEST_R_HOST_DATA] = "host-data",
	[ATTEST_R_REPORT_DATA] = "report-data",
	[ATTEST_R_FAMILY_ID] = "family-id",
	[ATTEST_R_IMAGE_ID] = "image-id",
	[ATTEST_R_STEPPING] = "stepping",
};

const char *attest_reason_name(enum attest_reason_code c)
{
	if ((size_t)c < ELEMENTSOF(reason_names) && reason_names[c])
		return reason_names[c];
	return "unknown";
}

int attest_verdict_add(struct attest_verdict *v, enum attest_reason_code code, const char *fmt, ...)
{
	struct attest_reason *n;
	char *msg = NULL;
	va_list ap;

	v->valid = false;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return -ENOMEM;
	n = realloc(v->reasons, (v->n_reasons + 1) * sizeof(*n));
	if (!n) {
		free(msg);
		return -ENOMEM;
	}
	v->reasons = n;
	v->reasons[v->n_reasons].code = code;
	v->reasons[v->n_reasons].msg = msg;
	v->n_reasons++;
	return 0;
}

void attest_verdict_free(struct attest_verdict *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n_reasons; i++)
		free(v->reasons[i].msg);
	free(v->reasons);
	free(v);
}

bool attest_verdict_has(const struct attest_verdict *v, enum attest_reason_code c)
{
	for (size_t i = 0; i < v->n_reasons; i++)
		if (v->reasons[i].code == c)
			return true;
	return false;
}

void attest_policy_init(struct attest_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->allow_vlek = true;
}

static int sig_der(const struct attest_report *r, unsigned char **ret, size_t *ret_len)
{
	BIGNUM *br = BN_lebin2bn(r->sig_r, ATTEST_SIG_COMPONENT_SIZE, NULL);
	BIGNUM *bs = BN_lebin2bn(r->sig_s, ATTEST_SIG_COMPONENT_SIZE, NULL);
	ECDSA_SIG *sig = ECDSA_SIG_new();
	int len;

	if (!br || !bs || !sig || !ECDSA_SIG_set0(sig, br, bs)) {
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(sig);
		return -ENOMEM;
	}
	*ret = NULL;
	len = i2d_ECDSA_SIG(sig, ret);
	ECDSA_SIG_free(sig);
	if (len <= 0)
		return -ENOMEM;
	*ret_len = (size_t)len;
	return 0;
}

int attest_report_check_signature(const struct attest_report *r, EVP_PKEY *key, sb_err **err)
{
	_cleanup_free_ unsigned char *der = NULL;
	EVP_MD_CTX *md;
	size_t len;
	int rc;

	if (sig_der(r, &der, &len) < 0)
		return sb_err_set(err, ENOMEM, "cannot encode the report signature");
	md = EVP_MD_CTX_new();
	if (!md)
		return sb_err_set(err, ENOMEM, "out of memory");
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) != 1) {
		EVP_MD_CTX_free(md);
		ERR_clear_error();
		return sb_err_set(err, EINVAL, "certificate key cannot verify ECDSA SHA-384 signatures");
	}
	rc = EVP_DigestVerify(md, der, len, r->signed_bytes, ATTEST_SIGNED_SIZE);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc == 1 ? 1 : 0;
}

int attest_report_check_signature_ctx(const struct attest_report *r, EVP_PKEY_CTX *vctx, sb_err **err)
{
	_cleanup_free_ unsigned char *der = NULL;
	unsigned char dgst[48];
	unsigned int dlen = sizeof(dgst);
	size_t len;
	int rc;

	if (sig_der(r, &der, &len) < 0)
		return sb_err_set(err, ENOMEM, "cannot encode the report signature");
	if (!EVP_Digest(r->signed_bytes, ATTEST_SIGNED_SIZE, dgst, &dlen, EVP_sha384(), NULL))
		return sb_err_set(err, ENOMEM, "SHA-384 failed");
	rc = EVP_PKEY_verify(vctx, der, len, dgst, dlen);
	ERR_clear_error();
	return rc == 1 ? 1 : 0;
}

/* "Milan-B0" -> 0x0, "Genoa-B1" -> 0x1: the hex digit(s) after the letter. */
static bool cert_stepping(const char *product_name, uint8_t *ret)
{
	const char *dash = strchr(product_name, '-');
	char *end = NULL;
	unsigned long v;

	if (!dash || !isalpha((unsigned char)dash[1]) || !isxdigit((unsigned char)dash[2]))
		return false;
	v = strtoul(dash + 2, &end, 16);
	if (*end || v > 255)
		return false;
	*ret = (uint8_t)v;
	return true;
}

#define ADD(...)                                             \
	do {                                                 \
		if (attest_verdict_add(v, __VA_ARGS__) < 0)  \
			return sb_err_set(err, ENOMEM, "out of memory"); \
	} while (0)

static int check_tcb_floor(struct attest_verdict *v, const char *name, uint64_t raw, enum attest_product p,
			   const struct attest_tcb *min, sb_err **err)
{
	struct attest_tcb t = attest_tcb_decode(raw, p);
	const char *low = NULL;
	char have[96], want[96];

	if (attest_tcb_at_least(&t, min, &low))
		return 0;
	attest_tcb_format(&t, have, sizeof(have));
	attest_tcb_format(min, want, sizeof(want));
	ADD(ATTEST_R_MIN_TCB, "%s %s is below the minimum %s (%s)", name, have, want, low);
	return 0;
}

static int check_bytes(struct attest_verdict *v, enum attest_reason_code code, const char *name, const uint8_t *have,
		       const uint8_t *want, size_t n, sb_err **err)
{
	if (CRYPTO_memcmp(have, want, n) != 0)
		ADD(code, "%s differs from the expected value", name);
	return 0;
}

static int check_policy(struct attest_verdict *v, const struct attest_report *r, enum attest_product p,
			const struct attest_policy *pol, sb_err **err)
{
	size_t before = v->n_reasons;
	int rc;

	if ((r->policy & ATTEST_POLICY_DEBUG) && !pol->allow_debug)
		ADD(ATTEST_R_DEBUG, "guest policy allows debugging (POLICY.DEBUG=1) and debug is not allowed");
	if (r->vmpl != 0 && !pol->allow_vmpl_nonzero)
		ADD(ATTEST_R_VMPL, "report was requested at VMPL %u, expected 0", r->vmpl);
	if ((r->policy & ATTEST_POLICY_MIGRATE_MA) && !pol->allow_migrate_ma)
		ADD(ATTEST_R_MIGRATE_MA, "guest policy allows a migration agent (POLICY.MIGRATE_MA=1)");
	if (pol->forbid_smt && (r->policy & ATTEST_POLICY_SMT))
		ADD(ATTEST_R_SMT, "guest policy allows SMT (POLICY.SMT=1) and SMT is forbidden");
	if (pol->forbid_smt && (r->platform_info & ATTEST_PLATFORM_SMT_EN))
		ADD(ATTEST_R_SMT, "platform has SMT enabled (PLATFORM_INFO.SMT_EN=1) and SMT is forbidden");
	if (pol->has_min_tcb) {
		if ((rc = check_tcb_floor(v, "REPORTED_TCB", r->reported_tcb, p, &pol->min_tcb, err)) < 0 ||
		    (rc = check_tcb_floor(v, "COMMITTED_TCB", r->committed_tcb, p, &pol->min_tcb, err)) < 0 ||
		    (rc = check_tcb_floor(v, "CURRENT_TCB", r->current_tcb, p, &pol->min_tcb, err)) < 0)
			return rc;
	}
	if (pol->has_min_guest_svn && r->guest_svn < pol->min_guest_svn)
		ADD(ATTEST_R_GUEST_SVN, "GUEST_SVN %u is below the minimum %u", r->guest_svn, pol->min_guest_svn);
	if ((pol->has_measurement && (rc = check_bytes(v, ATTEST_R_MEASUREMENT, "MEASUREMENT", r->measurement,
						       pol->measurement, 48, err)) < 0) ||
	    (pol->has_host_data &&
	     (rc = check_bytes(v, ATTEST_R_HOST_DATA, "HOST_DATA", r->host_data, pol->host_data, 32, err)) < 0) ||
	    (pol->has_report_data && (rc = check_bytes(v, ATTEST_R_REPORT_DATA, "REPORT_DATA", r->report_data,
						       pol->report_data, 64, err)) < 0) ||
	    (pol->has_family_id &&
	     (rc = check_bytes(v, ATTEST_R_FAMILY_ID, "FAMILY_ID", r->family_id, pol->family_id, 16, err)) < 0) ||
	    (pol->has_image_id &&
	     (rc = check_bytes(v, ATTEST_R_IMAGE_ID, "IMAGE_ID", r->image_id, pol->image_id, 16, err)) < 0))
		return rc;
	if (pol->expect_product != ATTEST_PRODUCT_UNKNOWN && p != pol->expect_product)
		ADD(ATTEST_R_PRODUCT, "product line is %s, expected %s", attest_product_name(p),
		    attest_product_name(pol->expect_product));
	v->policy_ok = v->n_reasons == before;
	return 0;
}

static int cross_check(struct attest_verdict *v, const struct attest_report *r, enum attest_product p,
		       const struct attest_cert_ext *ext, enum attest_signer cert_kind, const struct attest_policy *pol,
		       sb_err **err)
{
	struct attest_tcb rep = attest_tcb_decode(r->reported_tcb, p);
	static const struct {
		unsigned spl;
		const char *name;
	} comps[] = { { 9, "fmcSPL" }, { 1, "blSPL" }, { 2, "teeSPL" }, { 3, "snpSPL" }, { 8, "ucodeSPL" } };
	uint8_t have[10] = { 0 };
	char buf[256] = "";
	size_t off = 0;

	/* The VCEK is derived from REPORTED_TCB, not CURRENT_TCB. */
	have[9] = rep.fmc;
	have[1] = rep.bootloader;
	have[2] = rep.tee;
	have[3] = rep.snp;
	have[8] = rep.microcode;
	for (size_t i = 0; i < ELEMENTSOF(comps); i++) {
		unsigned s = comps[i].spl;
		if (s == 9 && p != ATTEST_PRODUCT_TURIN)
			continue;
		if (!ext->has_spl[s])
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s missing", off ? ", " : "",
						comps[i].name);
		else if (ext->spl[s] != have[s])
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s %u != %u", off ? ", " : "",
						comps[i].name, ext->spl[s], have[s]);
		if (off >= sizeof(buf))
			off = sizeof(buf) - 1;
	}
	v->tcb_matches_cert = off == 0;
	if (off)
		ADD(ATTEST_R_TCB_MISMATCH, "REPORTED_TCB does not match the %s (certificate vs report): %s",
		    cert_kind == ATTEST_SIGNER_VLEK ? "VLEK" : "VCEK", buf);

	/* hwID: 64 bytes on Milan/Genoa, 8 on Turin; a VLEK has none. */
	if (cert_kind == ATTEST_SIGNER_VCEK) {
		size_t want = p == ATTEST_PRODUCT_TURIN ? ATTEST_TURIN_HWID_SIZE : ATTEST_CHIP_ID_SIZE;
		if (ext->hwid_len == 0) {
			v->chip_id_matches = 0;
			ADD(ATTEST_R_CHIP_ID, "VCEK has no hwID extension");
		} else if (ext->hwid_len != want) {
			v->chip_id_matches = 0;
			ADD(ATTEST_R_PRODUCT, "VCEK hwID has %zu bytes, a %s VCEK has %zu", ext->hwid_len,
			    attest_product_name(p), want);
		} else if (r->mask_chip_key) {
			v->chip_id_matches = -1; /* CHIP_ID is masked to zero by the guest's request */
		} else {
			v->chip_id_matches = CRYPTO_memcmp(ext->hwid, r->chip_id, want) == 0;
			if (!v->chip_id_matches)
				ADD(ATTEST_R_CHIP_ID, "CHIP_ID does not match the VCEK hwID (another chip's VCEK?)");
		}
	}

	if (pol->has_stepping) {
		uint8_t st;
		if (!cert_stepping(ext->product_name, &st))
			ADD(ATTEST_R_STEPPING, "certificate productName '%s' names no stepping, expected %u",
			    ext->product_name, pol->stepping);
		else if (st != pol->stepping)
			ADD(ATTEST_R_STEPPING, "certificate productName '%s' is stepping %u, expected %u",
			    ext->product_name, st, pol->stepping);
	}
	return 0;
}

int attest_verify(attest_ctx *ctx, const struct attest_report *r, const struct attest_evidence *ev,
		  const struct attest_policy *pol, struct attest_verdict **ret, sb_err **err)
{
	_cleanup_(attest_verdict_freep) struct attest_verdict *v = calloc(1, sizeof(*v));
	struct attest_policy defaults;
	enum attest_product p_report, p_cert = ATTEST_PRODUCT_UNKNOWN, p;
	enum attest_signer cert_kind = ATTEST_SIGNER_VCEK;
	const struct attest_chain_result *chain = NULL;
	const struct attest_leaf_info *leaf = NULL;
	time_t at;
	int rc;

	if (!v)
		return sb_err_set(err, ENOMEM, "out of memory");
	if (!pol) {
		attest_policy_init(&defaults);
		pol = &defaults;
	}
	at = pol->at ? pol->at : time(NULL);
	v->valid = true;
	v->signature_valid = v->leaf_signed_by_intermediate = v->intermediate_signed_by_ark = -1;
	v->ark_pinned = v->certs_time_valid = v->crl_checked = v->tcb_matches_cert = v->chip_id_matches = -1;
	v->policy_ok = -1;
	v->signer = (enum attest_signer)r->signing_key;

	/* Product line: CPUID when the report has it, else the certificate. */
	p_report = attest_report_product(r);
	if (ev && ev->endorsement) {
		rc = attest_leaf_lookup(ctx, ev->endorsement, &leaf, err);
		if (rc < 0)
			return rc;
		if (leaf->ext_r < 0)
			return sb_err_set(err, EBADMSG, "endorsement certificate: %s", leaf->ext_err);
		v->ext = leaf->ext;
		v->has_ext = true;
		p_cert = attest_product_from_name(v->ext.product_name);
		if (!strcmp(leaf->cn, "SEV-VLEK") || (!strcmp(leaf->cn, "") && v->ext.hwid_len == 0) ||
		    v->ext.csp_id[0])
			cert_kind = ATTEST_SIGNER_VLEK;
		else if (strcmp(leaf->cn, "SEV-VCEK") != 0)
			return sb_err_set(err, EINVAL,
					  "endorsement certificate '%s' is not a VCEK or VLEK (certificates out of order?)",
					  leaf->cn);
	}
	p = p_report != ATTEST_PRODUCT_UNKNOWN ? p_report : p_cert;
	v->product = p;
	if (p_report != ATTEST_PRODUCT_UNKNOWN && p_cert != ATTEST_PRODUCT_UNKNOWN && p_report != p_cert)
		ADD(ATTEST_R_PRODUCT, "report CPUID says %s but the certificate is for %s", attest_product_name(p_report),
		    attest_product_name(p_cert));
	if (v->has_ext && v->ext.product_name[0] && p_cert == ATTEST_PRODUCT_UNKNOWN)
		ADD(ATTEST_R_PRODUCT, "certificate productName '%s' is not a known product line", v->ext.product_name);
	if (p == ATTEST_PRODUCT_UNKNOWN)
		ADD(ATTEST_R_PRODUCT, "cannot tell the product line (no CPUID in the report, no certificate)");

	if (r->signature_algo != 1)
		ADD(ATTEST_R_SIGNATURE_ALGO, "SIGNATURE_ALGO %u is not 1 (ECDSA P-384 with SHA-384)", r->signature_algo);

	/* SIGNER_INFO.SIGNING_KEY picks the key. */
	if (r->signing_key != ATTEST_SIGNER_VCEK && r->signing_key != ATTEST_SIGNER_VLEK)
		ADD(ATTEST_R_SIGNER, "SIGNING_KEY %u: the report is not signed by a VCEK or VLEK", r->signing_key);
	else if (r->signing_key == ATTEST_SIGNER_VLEK && !pol->allow_vlek)
		ADD(ATTEST_R_SIGNER, "report is signed by a VLEK and VLEKs are not accepted");
	if (ev && ev->endorsement && (r->signing_key == ATTEST_SIGNER_VCEK || r->signing_key == ATTEST_SIGNER_VLEK) &&
	    (enum attest_signer)r->signing_key != cert_kind)
		ADD(ATTEST_R_SIGNER, "report is signed by a %s but the certificate is a %s",
		    r->signing_key == ATTEST_SIGNER_VLEK ? "VLEK" : "VCEK",
		    cert_kind == ATTEST_SIGNER_VLEK ? "VLEK" : "VCEK");

	if (!ev || !ev->endorsement) {
		ADD(ATTEST_R_NO_CERT, "no VCEK/VLEK certificate: the report signature cannot be checked");
		goto policy;
	}

	if (!leaf->key_p384) {
		ADD(ATTEST_R_CERT_KEY, "%s key is not an EC P-384 key", cert_kind == ATTEST_SIGNER_VLEK ? "VLEK" : "VCEK");
		v->signature_valid = 0;
	} else {
		rc = attest_report_check_signature_ctx(r, leaf->vctx, err);
		if (rc < 0)
			return rc;
		v->signature_valid = rc;
		if (!rc)
			ADD(ATTEST_R_BAD_SIGNATURE, "report signature does not verify with the %s",
			    cert_kind == ATTEST_SIGNER_VLEK ? "VLEK" : "VCEK");
	}
	ERR_clear_error();

	rc = attest_chain_check(ctx, p, cert_kind, ev->endorsement, ev, at, pol->require_crl, &chain, err);
	if (rc < 0)
		return rc;
	v->leaf_signed_by_intermediate = chain->leaf_signed_by_intermediate;
	v->intermediate_signed_by_ark = chain->intermediate_signed_by_ark;
	v->ark_pinned = chain->ark_pinned;
	v->certs_time_valid = chain->certs_time_valid;
	v->crl_checked = chain->crl_checked;
	for (size_t i = 0; i < chain->n_reasons; i++)
		ADD(chain->reasons[i].code, "%s", chain->reasons[i].msg);

	rc = cross_check(v, r, p, &v->ext, cert_kind, pol, err);
	if (rc < 0)
		return rc;

policy:
	rc = check_policy(v, r, p, pol, err);
	if (rc < 0)
		return rc;
	v->valid = v->n_reasons == 0;
	*ret = TAKE_PTR(v);
	return 0;
}

int attest_parse_time(const char *s, time_t *ret, sb_err **err)
{
	struct tm tm;
	const char *end;
	char *e = NULL;

	if (!s || !*s)
		return sb_err_set(err, EINVAL, "time: empty");
	if (s[0] == '@') {
		long long x;
		errno = 0;
		x = strtoll(s + 1, &e, 10);
		if (errno || e == s + 1 || *e || x <= 0)
			return sb_err_set(err, EINVAL, "time '%s': expected @<seconds since 1970>", s);
		*ret = (time_t)x;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!end || !(*end == '\0' || !strcmp(end, "Z") || !strcmp(end, "+00:00")))
		return sb_err_set(err, EINVAL, "time '%s': expected YYYY-MM-DD[THH:MM:SS[Z]] (UTC) or @SECONDS", s);
	*ret = timegm(&tm);
	return 0;
}
