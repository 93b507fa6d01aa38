/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attestation verification against real AMD data: every report, field,
 * certificate and verdict listed in fixtures/snp/expected-reports.json, the
 * tamper variants and cross checks listed there, and the must-holds.
 * The verification time is always pinned: the certificates expire.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "attest.h"
#include "cursor.h"
#include "digest.h"
#include "hexutil.h"
#include "testutil.h"

static char fixtures[1024];
static char roots_dir[1100];
static json_t *expected;

/* ---- helpers --------------------------------------------------------- */

static void fx(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/snp/%s", fixtures, rel);
}

static void load_report(const char *rel, struct attest_report *r)
{
	char path[4096];
	_cleanup_err_ sb_err *err = NULL;

	fx(path, sizeof(path), rel);
	if (attest_report_load(path, r, &err) < 0)
		fail_msg("%s: %s", rel, err->msg);
}

static void load_raw(const char *rel, uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	fx(path, sizeof(path), rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, len, f), len);
	fclose(f);
}

/* Certificate number idx of a fixture file. */
static X509 *load_cert(const char *rel, int idx)
{
	char path[4096];
	_cleanup_err_ sb_err *err = NULL;
	STACK_OF(X509) *sk = NULL;
	X509 *x;

	fx(path, sizeof(path), rel);
	if (attest_certs_load(path, &sk, &err) < 0)
		fail_msg("%s: %s", rel, err->msg);
	assert_true(idx < sk_X509_num(sk));
	x = sk_X509_value(sk, idx);
	X509_up_ref(x);
	sk_X509_pop_free(sk, X509_free);
	return x;
}

static X509 *cert_from_bytes(const uint8_t *der, size_t len)
{
	_cleanup_err_ sb_err *err = NULL;
	X509 *x = NULL;
	if (attest_cert_from_der(der, len, &x, &err) < 0)
		return NULL;
	return x;
}

static attest_ctx *new_ctx(void)
{
	_cleanup_err_ sb_err *err = NULL;
	attest_ctx *ctx = NULL;
	if (attest_ctx_new(roots_dir, &ctx, &err) < 0)
		fail_msg("roots: %s", err->msg);
	return ctx;
}

static time_t at_time(const char *s)
{
	_cleanup_err_ sb_err *err = NULL;
	time_t t;
	if (attest_parse_time(s, &t, &err) < 0)
		fail_msg("%s", err->msg);
	return t;
}

static struct attest_verdict *verify(attest_ctx *ctx, const struct attest_report *r, X509 *leaf, X509 *inter,
				     const struct attest_policy *pol)
{
	_cleanup_err_ sb_err *err = NULL;
	struct attest_evidence ev = { .endorsement = leaf, .intermediate = inter };
	struct attest_verdict *v = NULL;

	if (attest_verify(ctx, r, &ev, pol, &v, &err) < 0)
		fail_msg("verify: %s", err->msg);
	return v;
}

static void dump_reasons(const struct attest_verdict *v)
{
	for (size_t i = 0; i < v->n_reasons; i++)
		print_message("  reason [%s] %s\n", attest_reason_name(v->reasons[i].code), v->reasons[i].msg);
}

/* Only reasons from this list (terminated by 0). */
static void assert_only_reasons(const struct attest_verdict *v, ...)
{
	for (size_t i = 0; i < v->n_reasons; i++) {
		va_list ap;
		int c;
		bool ok = false;
		va_start(ap, v);
		while ((c = va_arg(ap, int)) != 0)
			if ((int)v->reasons[i].code == c)
				ok = true;
		va_end(ap);
		if (!ok) {
			dump_reasons(v);
			fail_msg("unexpected reason %s", attest_reason_name(v->reasons[i].code));
		}
	}
}

static json_t *report_entry(const char *id)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(expected, "reports"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "id")), id))
			return e;
	fail_msg("no report %s in expected-reports.json", id);
	return NULL;
}

static void assert_hex(json_t *obj, const char *key, const uint8_t *have, size_t n)
{
	char buf[2 * 512 + 1];
	const char *want = json_string_value(json_object_get(obj, key));

	if (!want)
		fail_msg("expected-reports.json: no %s", key);
	assert_true(n <= 512);
	hex_encode(have, n, buf);
	if (strcmp(buf, want) != 0)
		fail_msg("%s: got %s, want %s", key, buf, want);
}

static void assert_u64str(json_t *obj, const char *key, uint64_t have, int width)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%0*llx", width, (unsigned long long)have);
	assert_string_equal(buf, json_string_value(json_object_get(obj, key)));
}

static void assert_int_key(json_t *obj, const char *key, long long have)
{
	json_t *j = json_object_get(obj, key);
	long long want = 0;

	/* integers, or hex strings such as "0x19" */
	if (json_is_integer(j))
		want = json_integer_value(j);
	else if (json_is_string(j))
		want = strtoll(json_string_value(j), NULL, 0);
	else
		fail_msg("expected-reports.json: %s is not a number", key);
	if (want != have)
		fail_msg("%s: got %lld, want %lld", key, have, want);
}

static void assert_tcb(json_t *obj, const char *key, uint64_t raw, enum attest_product p)
{
	json_t *t = json_object_get(obj, key);
	struct attest_tcb d = attest_tcb_decode(raw, p);

	assert_non_null(t);
	assert_u64str(t, "raw", raw, 16);
	assert_int_key(t, "bootloader", d.bootloader);
	assert_int_key(t, "tee", d.tee);
	assert_int_key(t, "snp", d.snp);
	assert_int_key(t, "microcode", d.microcode);
	if (json_object_get(t, "fmc"))
		assert_int_key(t, "fmc", d.fmc);
	assert_int_equal(attest_tcb_encode(&d, p), raw);
}

static int tri(json_t *j)
{
	return json_is_null(j) ? -1 : json_is_true(j);
}

static void asn1_iso(const ASN1_TIME *t, char *buf, size_t size)
{
	struct tm tm;
	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

static void assert_ext(json_t *want, const struct attest_cert_ext *e)
{
	static const char *const names[10] = { NULL,    "blSPL", "teeSPL", "snpSPL",   "spl_4",
					       "spl_5", "spl_6", "spl_7",  "ucodeSPL", "fmcSPL" };
	json_t *pn = json_object_get(want, "productName"), *hw = json_object_get(want, "hwID");
	json_t *csp = json_object_get(want, "cspID");

	assert_true(e->has_struct_version);
	assert_int_key(want, "structVersion", e->struct_version);
	assert_string_equal(e->product_name, json_string_value(json_object_get(pn, "text")));
	for (int i = 1; i < 10; i++) {
		json_t *j = json_object_get(want, names[i]);
		assert_int_equal(e->has_spl[i], j != NULL);
		if (j)
			assert_int_key(want, names[i], e->spl[i]);
	}
	if (hw) {
		size_t n = (size_t)json_integer_value(json_object_get(hw, "len"));
		const char *hex = json_string_value(json_object_get(hw, "hex"));
		uint8_t raw[80];
		assert_true(n <= sizeof(raw));
		assert_int_equal(hex_decode(hex, raw, n), 0);
		if (n == 66) /* the DER-wrapped encoding: 04 40 <64 bytes> */
			assert_memory_equal(e->hwid, raw + 2, 64);
		else
			assert_memory_equal(e->hwid, raw, n);
		assert_int_equal(e->hwid_len, n == 66 ? 64 : n);
	} else {
		assert_int_equal(e->hwid_len, 0);
	}
	if (csp) {
		/* DER IA5String: 16 <len> <text> */
		const char *hex = json_string_value(csp);
		uint8_t raw[256];
		size_t n = strlen(hex) / 2;
		assert_int_equal(hex_decode(hex, raw, n), 0);
		assert_int_equal(raw[0], 0x16);
		assert_int_equal(raw[1], n - 2);
		assert_int_equal(strlen(e->csp_id), n - 2);
		assert_memory_equal(e->csp_id, raw + 2, n - 2);
	}
}

/* ---- every report, field by field, and its verdict ------------------- */

static void check_one_report(attest_ctx *ctx, json_t *e)
{
	const char *id = json_string_value(json_object_get(e, "id"));
	json_t *f = json_object_get(e, "fields"), *exp = json_object_get(e, "expected");
	json_t *validity = json_object_get(exp, "endorsement_cert_validity");
	enum attest_product p = attest_product_from_name(json_string_value(json_object_get(e, "product_line")));
	const char *inter_rel = json_string_value(json_object_get(e, "intermediate_cert"));
	struct attest_report r;
	struct attest_cert_ext ext;
	_cleanup_err_ sb_err *err = NULL;
	uint8_t sha[SHA256_LEN], sha384[SHA384_LEN];
	char path[4096], buf[128], inter_file[512];
	unsigned int n = SHA384_LEN;
	int inter_idx = 0;

	print_message("report %s\n", id);
	fx(path, sizeof(path), json_string_value(json_object_get(e, "file")));
	assert_int_equal(digest_sha256_file(path, sha, &err), 0);
	assert_hex(e, "file_sha256", sha, SHA256_LEN);
	load_report(json_string_value(json_object_get(e, "file")), &r);

	assert_int_key(f, "version", r.version);
	assert_int_key(f, "guest_svn", r.guest_svn);
	assert_u64str(f, "policy", r.policy, 16);
	assert_hex(f, "family_id", r.family_id, 16);
	assert_hex(f, "image_id", r.image_id, 16);
	assert_int_key(f, "vmpl", r.vmpl);
	assert_int_key(f, "signature_algo", r.signature_algo);
	assert_tcb(f, "current_tcb", r.current_tcb, p);
	assert_u64str(f, "platform_info", r.platform_info, 16);
	assert_u64str(f, "signer_info_raw", r.signer_info, 8);
	assert_int_key(f, "author_key_en", r.author_key_en);
	assert_int_key(f, "mask_chip_key", r.mask_chip_key);
	assert_int_key(f, "signing_key", r.signing_key);
	assert_hex(f, "report_data", r.report_data, 64);
	assert_hex(f, "measurement", r.measurement, 48);
	assert_hex(f, "host_data", r.host_data, 32);
	assert_hex(f, "id_key_digest", r.id_key_digest, 48);
	assert_hex(f, "author_key_digest", r.author_key_digest, 48);
	assert_hex(f, "report_id", r.report_id, 32);
	assert_hex(f, "report_id_ma", r.report_id_ma, 32);
	assert_tcb(f, "reported_tcb", r.reported_tcb, p);
	assert_hex(f, "chip_id", r.chip_id, 64);
	assert_tcb(f, "committed_tcb", r.committed_tcb, p);
	snprintf(buf, sizeof(buf), "%u.%u.%u", r.current_major, r.current_minor, r.current_build);
	assert_string_equal(buf, json_string_value(json_object_get(f, "current_version")));
	snprintf(buf, sizeof(buf), "%u.%u.%u", r.committed_major, r.committed_minor, r.committed_build);
	assert_string_equal(buf, json_string_value(json_object_get(f, "committed_version")));
	assert_tcb(f, "launch_tcb", r.launch_tcb, p);
	assert_hex(f, "sig_r_le72", r.sig_r, 72);
	assert_hex(f, "sig_s_le72", r.sig_s, 72);
	assert_int_equal(r.sig_trailing_nonzero, json_is_true(json_object_get(f, "sig_trailing_nonzero")));
	{
		BIGNUM *br = BN_lebin2bn(r.sig_r, 72, NULL), *bs = BN_lebin2bn(r.sig_s, 72, NULL);
		char *hr = BN_bn2hex(br), *hs = BN_bn2hex(bs);
		for (char *c = hr; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		for (char *c = hs; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		assert_string_equal(hr, json_string_value(json_object_get(f, "sig_r_int_hex")));
		assert_string_equal(hs, json_string_value(json_object_get(f, "sig_s_int_hex")));
		OPENSSL_free(hr);
		OPENSSL_free(hs);
		BN_free(br);
		BN_free(bs);
	}
	EVP_Digest(r.signed_bytes, ATTEST_SIGNED_SIZE, sha384, &n, EVP_sha384(), NULL);
	assert_hex(f, "signed_region_sha384", sha384, SHA384_LEN);
	{
		/* Reserved bytes 0x1F8..0x29F: exactly the ones listed are non-zero. */
		json_t *nz = json_object_get(f, "nonzero_reserved_0x1f8_0x2a0");
		size_t count = 0;
		for (size_t i = 0x1f8; i < ATTEST_SIGNED_SIZE; i++)
			if (r.signed_bytes[i] && !(r.has_mit_vectors && i < 0x208))
				count++;
		assert_int_equal(count, json_array_size(nz));
	}
	if (json_object_get(f, "cpuid_fam_id")) {
		assert_true(r.has_cpuid);
		assert_int_key(f, "cpuid_fam_id", r.cpuid_fam_id);
		assert_int_key(f, "cpuid_mod_id", r.cpuid_mod_id);
		assert_int_key(f, "cpuid_step", r.cpuid_step);
		assert_int_equal(attest_report_product(&r), p);
	} else {
		assert_false(r.has_cpuid);
		assert_int_equal(attest_report_product(&r), ATTEST_PRODUCT_UNKNOWN);
	}
	assert_int_equal(r.signing_key,
			 strcmp(json_string_value(json_object_get(e, "signer")), "VLEK") ? ATTEST_SIGNER_VCEK
											   : ATTEST_SIGNER_VLEK);

	/* The endorsement certificate, its extensions and validity. */
	X509 *leaf = load_cert(json_string_value(json_object_get(e, "endorsement_cert")), 0);
	if (attest_cert_ext_parse(leaf, &ext, &err) < 0)
		fail_msg("%s", err->msg);
	assert_ext(json_object_get(e, "endorsement_cert_extensions"), &ext);
	assert_int_equal(attest_product_from_name(ext.product_name), p);
	asn1_iso(X509_get0_notBefore(leaf), buf, sizeof(buf));
	assert_string_equal(buf, json_string_value(json_array_get(validity, 0)));
	asn1_iso(X509_get0_notAfter(leaf), buf, sizeof(buf));
	assert_string_equal(buf, json_string_value(json_array_get(validity, 1)));

	/* The intermediate named in the fixture ("file (3rd cert = ASVK)"). */
	snprintf(inter_file, sizeof(inter_file), "%s", inter_rel);
	if (strchr(inter_file, ' ')) {
		*strchr(inter_file, ' ') = '\0';
		inter_idx = 2;
	}
	X509 *inter = load_cert(inter_file, inter_idx);

	struct attest_policy pol;
	attest_policy_init(&pol);
	pol.at = at_time(json_string_value(json_object_get(exp, "suggested_verification_time_utc")));

	/* With the pinned roots alone, then with the fixture's intermediate. */
	for (int pass = 0; pass < 2; pass++) {
		_cleanup_(attest_verdict_freep) struct attest_verdict *v =
			verify(ctx, &r, leaf, pass ? inter : NULL, &pol);
		assert_int_equal(v->product, p);
		assert_int_equal(v->signature_valid, tri(json_object_get(exp, "report_signature_valid")));
		assert_int_equal(v->leaf_signed_by_intermediate,
				 tri(json_object_get(exp, "endorsement_cert_signed_by_intermediate")));
		assert_int_equal(v->intermediate_signed_by_ark, tri(json_object_get(exp, "intermediate_signed_by_ark")));
		assert_int_equal(v->ark_pinned, tri(json_object_get(exp, "ark_self_signed")));
		assert_int_equal(v->tcb_matches_cert, tri(json_object_get(exp, "reported_tcb_equals_cert_spl_extensions")));
		assert_int_equal(v->chip_id_matches, tri(json_object_get(exp, "chip_id_matches_hwID")));
		assert_int_equal(v->certs_time_valid, 1);
		/* Only the guest-policy defaults may object (debug, VMPL). */
		assert_only_reasons(v, ATTEST_R_DEBUG, ATTEST_R_VMPL, 0);
		assert_int_equal(attest_verdict_has(v, ATTEST_R_DEBUG), (r.policy & ATTEST_POLICY_DEBUG) != 0);
		assert_int_equal(attest_verdict_has(v, ATTEST_R_VMPL), r.vmpl != 0);
	}
	pol.allow_debug = (r.policy & ATTEST_POLICY_DEBUG) != 0;
	pol.allow_vmpl_nonzero = r.vmpl != 0;
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		if (!v->valid)
			dump_reasons(v);
		assert_true(v->valid);
		assert_int_equal(v->n_reasons, 0);
	}
	X509_free(leaf);
	X509_free(inter);
}

static void test_fixture_reports(void **state)
{
	(void)state;
	attest_ctx *ctx = new_ctx();
	json_t *reports = json_object_get(expected, "reports"), *e;
	size_t i;

	assert_true(json_array_size(reports) >= 8);
	json_array_foreach(reports, i, e)
		check_one_report(ctx, e);
	attest_ctx_free(ctx);
}

/* Every certificate listed: DER sha256, validity and AMD extensions. */
static void test_fixture_certificates(void **state)
{
	(void)state;
	json_t *certs = json_object_get(expected, "certificates"), *c;
	size_t i;

	assert_true(json_array_size(certs) > 0);
	json_array_foreach(certs, i, c) {
		X509 *x = load_cert(json_string_value(json_object_get(c, "file")),
				    (int)json_integer_value(json_object_get(c, "index_in_file")));
		_cleanup_free_ unsigned char *der = NULL;
		int len = i2d_X509(x, &der);
		uint8_t sha[SHA256_LEN];
		char buf[64];
		json_t *amd = json_object_get(c, "amd_extensions");
		struct attest_cert_ext ext;
		_cleanup_err_ sb_err *err = NULL;

		assert_true(len > 0);
		digest_sha256(der, (size_t)len, sha);
		assert_hex(c, "sha256_der", sha, SHA256_LEN);
		asn1_iso(X509_get0_notBefore(x), buf, sizeof(buf));
		assert_string_equal(buf, json_string_value(json_object_get(c, "not_before")));
		asn1_iso(X509_get0_notAfter(x), buf, sizeof(buf));
		assert_string_equal(buf, json_string_value(json_object_get(c, "not_after")));
		assert_int_equal(attest_cert_ext_parse(x, &ext, &err), 0);
		if (json_object_size(amd))
			assert_ext(amd, &ext);
		else
			assert_false(ext.has_struct_version);
		X509_free(x);
	}
}

/* ---- tamper variants and cross checks -------------------------------- */

struct tamper {
	const char *base;
	const char *mutation_prefix;
	int report_off; /* -1: mutate the certificate */
	int cert_off;
	int op; /* 0: xor, 1: add */
	uint8_t val;
};

static const struct tamper tampers[] = {
	{ "virtee-sev/report_milan", "report[21] ^= 0x80", 21, -1, 0, 0x80 },
	{ "virtee-sev/report_milan", "vcek_milan.der[40] ^= 0xff", -1, 40, 0, 0xff },
	{ "trustee/test-report", "report[42] += 1", 42, -1, 1, 1 },
	{ "trustee/test-report", "report[384] += 1", 384, -1, 1, 1 },
	{ "trustee/test-report", "test-vcek.der[42] += 1", -1, 42, 1, 1 },
	{ "trustee/test-vlek-report", "report[42] += 1", 42, -1, 1, 1 },
	{ "trustee/test-vlek-report", "report[384] += 1", 384, -1, 1, 1 },
	{ "go-sev-guest/attestation", "report[0x90] ^= 1", 0x90, -1, 0, 1 },
};

static void test_tamper_variants(void **state)
{
	(void)state;
	attest_ctx *ctx = new_ctx();
	json_t *list = json_object_get(expected, "tamper_variants"), *t;
	size_t i;

	json_array_foreach(list, i, t) {
		const char *base = json_string_value(json_object_get(t, "base"));
		const char *mut = json_string_value(json_object_get(t, "mutation"));
		const struct tamper *tp = NULL;
		json_t *e = report_entry(base);
		const char *cert_rel = json_string_value(json_object_get(e, "endorsement_cert"));
		struct attest_report r;
		struct attest_policy pol;
		uint8_t bytes[ATTEST_REPORT_SIZE];
		_cleanup_err_ sb_err *err = NULL;

		for (size_t k = 0; k < ELEMENTSOF(tampers); k++)
			if (!strcmp(tampers[k].base, base) &&
			    !strncmp(mut, tampers[k].mutation_prefix, strlen(tampers[k].mutation_prefix)))
				tp = &tampers[k];
		if (!tp)
			fail_msg("tamper variant '%s' / '%s' has no implementation here", base, mut);
		print_message("tamper %s: %s\n", base, mut);

		load_report(json_string_value(json_object_get(e, "file")), &r);
		memcpy(bytes, r.signed_bytes, ATTEST_SIGNED_SIZE);
		memcpy(bytes + ATTEST_SIGNED_SIZE, r.sig_r, 72);
		memcpy(bytes + ATTEST_SIGNED_SIZE + 72, r.sig_s, 72);
		memset(bytes + ATTEST_SIGNED_SIZE + 144, 0, ATTEST_REPORT_SIZE - ATTEST_SIGNED_SIZE - 144);

		X509 *leaf = load_cert(cert_rel, 0);
		if (tp->report_off >= 0) {
			bytes[tp->report_off] = tp->op ? (uint8_t)(bytes[tp->report_off] + tp->val)
						       : (uint8_t)(bytes[tp->report_off] ^ tp->val);
		} else {
			_cleanup_free_ unsigned char *der = NULL;
			int len = i2d_X509(leaf, &der);
			assert_true(len > tp->cert_off);
			der[tp->cert_off] = tp->op ? (uint8_t)(der[tp->cert_off] + tp->val)
						   : (uint8_t)(der[tp->cert_off] ^ tp->val);
			X509_free(leaf);
			leaf = cert_from_bytes(der, (size_t)len);
			assert_int_equal(leaf != NULL, json_is_true(json_object_get(t, "mutated_cert_still_parses")));
		}
		assert_int_equal(attest_report_parse(bytes, sizeof(bytes), &r, &err), 0);

		attest_policy_init(&pol);
		pol.at = at_time(json_string_value(
			json_object_get(json_object_get(e, "expected"), "suggested_verification_time_utc")));
		pol.allow_debug = pol.allow_vmpl_nonzero = true;
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_false(v->valid);
		if (json_object_get(t, "expected_report_signature_valid")) {
			int want = json_is_true(json_object_get(t, "expected_report_signature_valid"));
			assert_int_equal(v->signature_valid, want);
			assert_int_equal(attest_verdict_has(v, ATTEST_R_BAD_SIGNATURE), !want);
		}
		if (json_object_get(t, "expected_reported_tcb_equals_cert")) {
			int want = json_is_true(json_object_get(t, "expected_reported_tcb_equals_cert"));
			assert_int_equal(v->tcb_matches_cert, want);
			assert_int_equal(attest_verdict_has(v, ATTEST_R_TCB_MISMATCH), !want);
		}
		if (json_object_get(t, "expected_chain_valid")) {
			int want = json_is_true(json_object_get(t, "expected_chain_valid"));
			assert_int_equal(v->leaf_signed_by_intermediate, want);
			assert_int_equal(attest_verdict_has(v, ATTEST_R_CHAIN_LEAF), !want);
		}
		X509_free(leaf);
	}
	attest_ctx_free(ctx);
}

static void test_cross_checks(void **state)
{
	(void)state;
	attest_ctx *ctx = new_ctx();
	json_t *cc = json_object_get(expected, "cross_checks"), *val;
	const char *key;
	size_t handled = 0;
	struct attest_policy pol;
	_cleanup_err_ sb_err *err = NULL;

	attest_policy_init(&pol);
	json_object_foreach(cc, key, val) {
		bool want = json_is_true(val);
		print_message("cross check: %s\n", key);
		if (!strncmp(key, "trustee/test-vcek.der verified with Milan ASVK", 46)) {
			struct attest_report r;
			X509 *leaf = load_cert("trustee/test-vcek.der", 0), *asvk = load_cert("trustee/milan_ask_ark_asvk.pem", 2);
			load_report("trustee/test-report.bin", &r);
			pol.at = at_time("2023-02-23T17:58:26Z");
			_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, asvk, &pol);
			assert_int_equal(v->leaf_signed_by_intermediate, want);
			assert_true(attest_verdict_has(v, ATTEST_R_CHAIN_LEAF));
			assert_false(v->valid);
			X509_free(leaf);
			X509_free(asvk);
		} else if (!strncmp(key, "trustee/test-vcek-invalid-", 26)) {
			char rel[128];
			struct attest_report r;
			struct attest_cert_ext ext;
			snprintf(rel, sizeof(rel), "%.*s", (int)strcspn(key, " "), key);
			X509 *leaf = load_cert(rel, 0), *ask = load_cert("virtee-sev/builtin/milan_ask.pem", 0);
			/* hwID in either encoding parses to 00 01 .. 3f */
			assert_int_equal(attest_cert_ext_parse(leaf, &ext, &err), 0);
			assert_int_equal(ext.hwid_len, 64);
			for (int b = 0; b < 64; b++)
				assert_int_equal(ext.hwid[b], b);
			load_report("trustee/test-report.bin", &r);
			pol.at = at_time("2024-01-01T00:00:00Z");
			_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, ask, &pol);
			assert_int_equal(v->leaf_signed_by_intermediate, want);
			assert_true(attest_verdict_has(v, ATTEST_R_CHAIN_LEAF));
			X509_free(leaf);
			X509_free(ask);
		} else if (!strncmp(key, "go-sev-guest/attestation.bin verified with virtee-sev/vcek_milan.der", 68)) {
			struct attest_report r;
			X509 *leaf = load_cert("virtee-sev/vcek_milan.der", 0);
			load_report("go-sev-guest/attestation.bin", &r);
			pol.at = at_time("2023-05-03T19:23:43Z");
			pol.allow_debug = true;
			_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
			assert_int_equal(v->signature_valid, want);
			assert_true(attest_verdict_has(v, ATTEST_R_BAD_SIGNATURE));
			assert_true(attest_verdict_has(v, ATTEST_R_CHIP_ID));
			pol.allow_debug = false;
			X509_free(leaf);
		} else if (!strncmp(key, "virtee-sev/vcek_turin.der signed by Turin ASK", 45)) {
			/* A Turin report to carry it: CPUID family 1Ah, REPORTED_TCB = the VCEK's SPLs. */
			struct attest_report r;
			struct attest_cert_ext ext;
			struct attest_tcb t;
			X509 *leaf = load_cert("virtee-sev/vcek_turin.der", 0);
			load_report("trustee/e2e-evidence.report.bin", &r);
			assert_int_equal(attest_cert_ext_parse(leaf, &ext, &err), 0);
			r.cpuid_fam_id = 0x1a;
			r.cpuid_mod_id = 0x02;
			t = attest_cert_ext_tcb(&ext, ATTEST_PRODUCT_TURIN);
			r.reported_tcb = t.raw;
			memset(r.chip_id, 0, sizeof(r.chip_id));
			memcpy(r.chip_id, ext.hwid, 8);
			pol.at = at_time("2024-12-06T21:14:00Z");
			_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
			assert_int_equal(v->product, ATTEST_PRODUCT_TURIN);
			assert_int_equal(v->leaf_signed_by_intermediate, want);
			assert_int_equal(v->intermediate_signed_by_ark, 1);
			assert_int_equal(v->tcb_matches_cert, 1);
			assert_int_equal(v->chip_id_matches, 1);
			assert_int_equal(v->signature_valid, 0); /* the report is not really Turin's */
			assert_only_reasons(v, ATTEST_R_BAD_SIGNATURE, 0);
			X509_free(leaf);
		} else {
			fail_msg("cross check '%s' has no implementation here", key);
		}
		handled++;
	}
	assert_int_equal(handled, json_object_size(cc));
	attest_ctx_free(ctx);
}

/* ---- the must-holds ------------------------------------------ */

static void test_debug_report(void **state)
{
	(void)state;
	attest_ctx *ctx = new_ctx();
	struct attest_report r;
	struct attest_policy pol;
	X509 *leaf = load_cert("go-sev-guest/vcek.testcer", 0);

	load_report("go-sev-guest/attestation.bin", &r);
	assert_true(r.policy & ATTEST_POLICY_DEBUG);
	attest_policy_init(&pol);
	pol.at = at_time("2022-10-24T00:55:28Z");
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_false(v->valid);
		assert_int_equal(v->n_reasons, 1);
		assert_int_equal(v->reasons[0].code, ATTEST_R_DEBUG);
		assert_int_equal(v->signature_valid, 1);
	}
	pol.allow_debug = true;
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_true(v->valid);
	}
	/* GSG "bad vcek stepping": the VCEK says Milan-B0. */
	pol.has_stepping = true;
	pol.stepping = 12;
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_false(v->valid);
		assert_true(attest_verdict_has(v, ATTEST_R_STEPPING));
	}
	pol.stepping = 0;
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_true(v->valid);
	}
	/* Without a pinned time the certificates are judged at "now": still valid until 2029. */
	X509_free(leaf);
	attest_ctx_free(ctx);
}

static void test_trustee_reported_not_current(void **state)
{
	(void)state;
	attest_ctx *ctx = new_ctx();
	struct attest_report r;
	struct attest_policy pol;
	struct attest_tcb cur, rep;
	X509 *leaf = load_cert("trustee/test-vcek.der", 0);

	load_report("trustee/test-report.bin", &r);
	cur = attest_tcb_decode(r.current_tcb, ATTEST_PRODUCT_MILAN);
	rep = attest_tcb_decode(r.reported_tcb, ATTEST_PRODUCT_MILAN);
	assert_int_equal(cur.microcode, 206);
	assert_int_equal(rep.microcode, 115);
	attest_policy_init(&pol);
	pol.at = at_time("2023-02-23T17:58:26Z");
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_true(v->valid);
		assert_int_equal(v->tcb_matches_cert, 1);
	}
	/* ID block fields and guest SVN as expectations. */
	pol.has_family_id = pol.has_image_id = true;
	pol.family_id[0] = 1;
	pol.image_id[0] = 2;
	pol.has_min_guest_svn = true;
	pol.min_guest_svn = 4;
	pol.has_measurement = true;
	memcpy(pol.measurement, r.measurement, 48);
	pol.has_host_data = true;
	memcpy(pol.host_data, r.host_data, 32);
	pol.has_report_data = true;
	memcpy(pol.report_data, r.report_data, 64);
	pol.expect_product = ATTEST_PRODUCT_MILAN;
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		if (!v->valid)
			dump_reasons(v);
		assert_true(v->valid);
	}
	pol.min_guest_svn = 5;
	pol.family_id[1] = 1;
	pol.image_id[1] = 1;
	pol.measurement[47] ^= 1;
	pol.host_data[0] ^= 1;
	pol.report_data[63] ^= 1;
	pol.expect_product = ATTEST_PRODUCT_GENOA;
	pol.forbid_smt = true;
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_false(v->valid);
		/* every reason, not just the first */
		assert_true(attest_verdict_has(v, ATTEST_R_GUEST_SVN));
		assert_true(attest_verdict_has(v, ATTEST_R_FAMILY_ID));
		assert_true(attest_verdict_has(v, ATTEST_R_IMAGE_ID));
		assert_true(attest_verdict_has(v, ATTEST_R_MEASUREMENT));
		assert_true(attest_verdict_has(v, ATTEST_R_HOST_DATA));
		assert_true(attest_verdict_has(v, ATTEST_R_REPORT_DATA));
		assert_true(attest_verdict_has(v, ATTEST_R_PRODUCT));
		assert_true(attest_verdict_has(v, ATTEST_R_SMT));
		assert_int_equal(v->signature_valid, 1);
		assert_int_equal(v->policy_ok, 0);
	}
	X509_free(leaf);
	attest_ctx_free(ctx);
}

/* Minimum TCB per component, never as one integer. */
static void test_min_tcb_per_component(void **state)
{
	(void)state;
	attest_ctx *ctx = new_ctx();
	struct attest_report r;
	struct attest_policy pol;
	_cleanup_err_ sb_err *err = NULL;
	X509 *leaf = load_cert("trustee/test-vcek.der", 0);

	load_report("trustee/test-report.bin", &r); /* reported bl3 tee0 snp8 ucode115 */
	attest_policy_init(&pol);
	pol.at = at_time("2023-02-23T17:58:26Z");
	pol.has_min_tcb = true;
	assert_int_equal(attest_tcb_parse("bl=3,tee=0,snp=8,ucode=115", &pol.min_tcb, &err), 0);
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_true(v->valid);
	}
	/* bl=4 alone is a smaller u64 than the report's TCB, yet it must fail. */
	assert_int_equal(attest_tcb_parse("bl=4", &pol.min_tcb, &err), 0);
	assert_true(attest_tcb_encode(&pol.min_tcb, ATTEST_PRODUCT_MILAN) < r.reported_tcb);
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_false(v->valid);
		assert_true(attest_verdict_has(v, ATTEST_R_MIN_TCB));
	}
	assert_int_equal(attest_tcb_parse("snp=9", &pol.min_tcb, &err), 0);
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_true(attest_verdict_has(v, ATTEST_R_MIN_TCB));
	}
	assert_true(attest_tcb_parse("bl=x", &pol.min_tcb, &err) < 0);
	sb_err_freep(&err);
	assert_true(attest_tcb_parse("foo=1", &pol.min_tcb, &err) < 0);
	X509_free(leaf);
	attest_ctx_free(ctx);
}

static void test_vlek(void **state)
{
	(void)state;
	attest_ctx *ctx = new_ctx();
	struct attest_report r;
	struct attest_policy pol;
	X509 *vlek = load_cert("trustee/test-vlek.der", 0), *ask = load_cert("virtee-sev/builtin/milan_ask.pem", 0);
	X509 *vcek = load_cert("trustee/test-vcek.der", 0);

	load_report("trustee/test-vlek-report.bin", &r);
	assert_int_equal(r.signing_key, ATTEST_SIGNER_VLEK);
	attest_policy_init(&pol);
	pol.at = at_time("2025-01-09T22:14:21Z");
	pol.allow_vmpl_nonzero = true;
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, vlek, NULL, &pol);
		assert_true(v->valid);
		assert_int_equal(v->signer, ATTEST_SIGNER_VLEK);
		assert_int_equal(v->leaf_signed_by_intermediate, 1); /* via the pinned ASVK */
		assert_int_equal(v->chip_id_matches, -1);
	}
	{
		/* The VCEK chain's ASK does not sign a VLEK. */
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, vlek, ask, &pol);
		assert_false(v->valid);
		assert_true(attest_verdict_has(v, ATTEST_R_CHAIN_LEAF));
	}
	{
		/* A VCEK offered for a VLEK-signed report. */
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, vcek, NULL, &pol);
		assert_false(v->valid);
		assert_true(attest_verdict_has(v, ATTEST_R_SIGNER));
	}
	pol.allow_vlek = false;
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, vlek, NULL, &pol);
		assert_true(attest_verdict_has(v, ATTEST_R_SIGNER));
	}
	pol.allow_vlek = true;
	pol.at = at_time("2026-01-01");
	{
		/* The VLEK expired on 2025-12-10. */
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, vlek, NULL, &pol);
		assert_false(v->valid);
		assert_true(attest_verdict_has(v, ATTEST_R_CERT_TIME));
		assert_only_reasons(v, ATTEST_R_CERT_TIME, 0);
	}
	{
		/* A VLEK where a VCEK is expected. */
		struct attest_report vr;
		load_report("trustee/test-report.bin", &vr);
		pol.at = at_time("2025-01-09T22:14:21Z");
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &vr, vlek, NULL, &pol);
		assert_false(v->valid);
		assert_true(attest_verdict_has(v, ATTEST_R_SIGNER));
	}
	X509_free(vlek);
	X509_free(vcek);
	X509_free(ask);
	attest_ctx_free(ctx);
}

static void test_turin(void **state)
{
	(void)state;
	X509 *leaf = load_cert("virtee-sev/vcek_turin.der", 0);
	struct attest_cert_ext ext;
	struct attest_tcb t, d;
	_cleanup_err_ sb_err *err = NULL;
	_cleanup_free_ char *url = NULL, *url2 = NULL;
	uint8_t hw[8] = { 0x1e, 0x55, 0x0a, 0x8e, 0xe5, 0xcf, 0x9f, 0x4d };

	assert_int_equal(attest_cert_ext_parse(leaf, &ext, &err), 0);
	assert_int_equal(ext.struct_version, 1);
	assert_string_equal(ext.product_name, "Turin");
	assert_int_equal(ext.hwid_len, 8);
	assert_memory_equal(ext.hwid, hw, 8);
	assert_true(ext.has_spl[9]);
	t = attest_cert_ext_tcb(&ext, ATTEST_PRODUCT_TURIN);
	assert_true(t.has_fmc);
	assert_int_equal(t.fmc, 0);
	assert_int_equal(t.bootloader, 0);
	assert_int_equal(t.microcode, 9);
	assert_int_equal(t.raw, 0x0900000000000000ULL);

	/* Turin layout: [fmc, bl, tee, snp, 0, 0, 0, ucode]; Milan: [bl, tee, 0,0,0,0, snp, ucode]. */
	d = attest_tcb_decode(0x5400000004030201ULL, ATTEST_PRODUCT_TURIN);
	assert_int_equal(d.fmc, 1);
	assert_int_equal(d.bootloader, 2);
	assert_int_equal(d.tee, 3);
	assert_int_equal(d.snp, 4);
	assert_int_equal(d.microcode, 0x54);
	d = attest_tcb_decode(0x5404000000000302ULL, ATTEST_PRODUCT_MILAN);
	assert_false(d.has_fmc);
	assert_int_equal(d.bootloader, 2);
	assert_int_equal(d.tee, 3);
	assert_int_equal(d.snp, 4);
	assert_int_equal(d.microcode, 0x54);

	assert_int_equal(attest_kds_vcek_url(NULL, ATTEST_PRODUCT_TURIN, ext.hwid, ext.hwid_len, &t, &url, &err), 0);
	assert_string_equal(url, "https://kdsintf.amd.com/vcek/v1/Turin/1e550a8ee5cf9f4d"
				 "?fmcSPL=0&blSPL=0&teeSPL=0&snpSPL=0&ucodeSPL=9");
	/* From a 64-byte CHIP_ID only the first 8 bytes enter the URL. */
	{
		uint8_t chip[64];
		memset(chip, 0, sizeof(chip));
		memcpy(chip, hw, 8);
		assert_int_equal(attest_kds_vcek_url(NULL, ATTEST_PRODUCT_TURIN, chip, 64, &t, &url2, &err), 0);
		assert_string_equal(url, url2);
	}
	assert_int_equal(attest_product_from_cpuid(0x1a, 0x02), ATTEST_PRODUCT_TURIN);
	assert_int_equal(attest_product_from_cpuid(0x19, 0x01), ATTEST_PRODUCT_MILAN);
	assert_int_equal(attest_product_from_cpuid(0x19, 0x11), ATTEST_PRODUCT_GENOA);
	assert_int_equal(attest_product_from_cpuid(0x19, 0xa0), ATTEST_PRODUCT_GENOA);
	assert_int_equal(attest_product_from_cpuid(0x17, 0x31), ATTEST_PRODUCT_UNKNOWN);
	X509_free(leaf);
}

/* ---- KDS ---------------------------------------------------------- */

static int fetch_calls;
static int fake_fetch(const char *url, uint8_t **ret_buf, size_t *ret_len, void *userdata, sb_err **err)
{
	X509 *x = userdata;
	unsigned char *der = NULL;
	int len;

	(void)err;
	fetch_calls++;
	assert_non_null(strstr(url, "/vcek/v1/Milan/3ac3fe21"));
	len = i2d_X509(x, &der);
	*ret_buf = malloc((size_t)len);
	memcpy(*ret_buf, der, (size_t)len);
	*ret_len = (size_t)len;
	OPENSSL_free(der);
	return 0;
}

static void test_kds(void **state)
{
	(void)state;
	struct attest_report r;
	struct attest_tcb t;
	_cleanup_err_ sb_err *err = NULL;
	_cleanup_free_ char *url = NULL, *path = NULL, *chain = NULL, *crl = NULL;
	char tmpl[] = "/tmp/attest-kds-XXXXXX";
	X509 *gsg = load_cert("go-sev-guest/vcek.testcer", 0), *got = NULL;

	load_report("go-sev-guest/attestation.bin", &r);
	t = attest_tcb_decode(r.reported_tcb, ATTEST_PRODUCT_MILAN);
	assert_int_equal(attest_kds_vcek_url(NULL, ATTEST_PRODUCT_MILAN, r.chip_id, 64, &t, &url, &err), 0);
	/* as spelled out in go-sev-guest verify_test.go */
	assert_string_equal(url, "https://kdsintf.amd.com/vcek/v1/Milan/"
				 "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b7"
				 "6a1936776b564ea464cdce40c05f63c9b610c5068b006b5d?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68");
	assert_int_equal(attest_kds_chain_url(NULL, ATTEST_PRODUCT_GENOA, ATTEST_SIGNER_VLEK, &chain, &err), 0);
	assert_string_equal(chain, "https://kdsintf.amd.com/vlek/v1/Genoa/cert_chain");
	assert_int_equal(attest_kds_crl_url(NULL, ATTEST_PRODUCT_MILAN, ATTEST_SIGNER_VCEK, &crl, &err), 0);
	assert_string_equal(crl, "https://kdsintf.amd.com/vcek/v1/Milan/crl");
	assert_true(attest_kds_vcek_url(NULL, ATTEST_PRODUCT_UNKNOWN, r.chip_id, 64, &t, &path, &err) < 0);
	sb_err_freep(&err);

	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(attest_kds_cache_path(tmpl, url, &path, &err), 0);
	/* every part of the URL is in the cache key */
	assert_non_null(strstr(path, "/kdsintf.amd.com/vcek/v1/Milan/3ac3fe21"));
	assert_non_null(strstr(path, "/blSPL=2,teeSPL=0,snpSPL=5,ucodeSPL=68"));
	assert_true(attest_kds_cache_path(tmpl, "https://kdsintf.amd.com/../etc/passwd", &chain, &err) < 0);
	sb_err_freep(&err);

	struct attest_kds kds = { .cache_dir = tmpl, .offline = true, .fetch = fake_fetch, .userdata = gsg };
	/* offline and empty: a clear miss, no fetch */
	assert_true(attest_kds_get_vcek(&kds, &r, ATTEST_PRODUCT_MILAN, &got, &err) < 0);
	assert_non_null(strstr(err->msg, "offline"));
	sb_err_freep(&err);
	assert_int_equal(fetch_calls, 0);
	/* online: one fetch, then served from the cache */
	kds.offline = false;
	assert_int_equal(attest_kds_get_vcek(&kds, &r, ATTEST_PRODUCT_MILAN, &got, &err), 0);
	assert_int_equal(X509_cmp(got, gsg), 0);
	X509_free(got);
	assert_int_equal(fetch_calls, 1);
	kds.offline = true;
	assert_int_equal(attest_kds_get_vcek(&kds, &r, ATTEST_PRODUCT_MILAN, &got, &err), 0);
	assert_int_equal(X509_cmp(got, gsg), 0);
	X509_free(got);
	assert_int_equal(fetch_calls, 1);
	/* another TCB is another cache entry */
	r.reported_tcb += 1;
	assert_true(attest_kds_get_vcek(&kds, &r, ATTEST_PRODUCT_MILAN, &got, &err) < 0);
	sb_err_freep(&err);

	unlink(path);
	assert_int_equal(test_rm_rf(tmpl), 0); /* the tree we made */
	X509_free(gsg);
}

/* ---- bad input --------------------------------------------------- */

static void test_bad_input(void **state)
{
	(void)state;
	uint8_t buf[ATTEST_REPORT_SIZE + 1];
	struct attest_report r;
	_cleanup_err_ sb_err *err = NULL;
	char path[4096];
	STACK_OF(X509) *sk = NULL;
	uint32_t versions[] = { 0, 1, 6, 0xffffffff };

	load_raw("trustee/test-report.bin", buf, ATTEST_REPORT_SIZE);
	for (size_t len = 0; len <= ATTEST_REPORT_SIZE + 1; len += (len < 8 ? 1 : 391)) {
		if (len == ATTEST_REPORT_SIZE)
			continue;
		assert_true(attest_report_parse(buf, len, &r, &err) < 0);
		assert_non_null(strstr(err->msg, "expected 1184"));
		sb_err_freep(&err);
	}
	assert_true(attest_report_parse(buf, ATTEST_REPORT_SIZE - 1, &r, &err) < 0);
	sb_err_freep(&err);
	for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
		uint8_t copy[ATTEST_REPORT_SIZE];
		memcpy(copy, buf, sizeof(copy));
		put_u32le(copy, versions[i]);
		assert_true(attest_report_parse(copy, sizeof(copy), &r, &err) < 0);
		assert_non_null(strstr(err->msg, "version"));
		sb_err_freep(&err);
	}
	/* Reserved fields a later spec may define do not break parsing. */
	{
		uint8_t copy[ATTEST_REPORT_SIZE];
		memcpy(copy, buf, sizeof(copy));
		copy[0x4c] = 0xff;           /* reserved after SIGNER_INFO */
		copy[0x48] |= 0xe0;          /* reserved SIGNER_INFO bits */
		copy[0x18b] = 0xff;          /* reserved after CPUID */
		copy[0x41] = 0xff;           /* PLATFORM_INFO bits 8..15 */
		copy[0x250] = 0xff;          /* reserved before the signature */
		assert_int_equal(attest_report_parse(copy, sizeof(copy), &r, &err), 0);
		assert_int_equal(r.signing_key, ATTEST_SIGNER_VCEK);
	}
	/* Garbage certificates: DER and PEM. */
	assert_true(attest_cert_from_der(buf, 100, &(X509 *){ NULL }, &err) < 0);
	sb_err_freep(&err);
	{
		char tmpl[] = "/tmp/attest-bad-XXXXXX";
		int fd = mkstemp(tmpl);
		const char *pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
		assert_true(fd >= 0);
		assert_int_equal(write(fd, pem, strlen(pem)), (ssize_t)strlen(pem));
		close(fd);
		assert_true(attest_certs_load(tmpl, &sk, &err) < 0);
		sb_err_freep(&err);
		unlink(tmpl);
	}
	fx(path, sizeof(path), "trustee/test-report.bin");
	assert_true(attest_certs_load(path, &sk, &err) < 0);
	sb_err_freep(&err);
	assert_true(attest_report_load("/nonexistent/report.bin", &r, &err) < 0);
	assert_non_null(strstr(err->msg, "/nonexistent/report.bin"));
	sb_err_freep(&err);

	attest_ctx *ctx = new_ctx();
	struct attest_policy pol;
	attest_policy_init(&pol);
	{
		/* A certificate of the wrong product line: Genoa VCEK, Milan v3 report. */
		X509 *genoa = load_cert("trustee/e2e-evidence.vcek.der", 0);
		load_report("oak/milan_oc_release.report.bin", &r);
		pol.at = at_time("2025-06-26T17:57:03Z");
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, genoa, NULL, &pol);
		assert_false(v->valid);
		assert_true(attest_verdict_has(v, ATTEST_R_PRODUCT));
		X509_free(genoa);
	}
	{
		/* A chain out of order: ARK before ASK. */
		X509 *leaf = load_cert("trustee/test-vcek.der", 0);
		X509 *ask = load_cert("go-sev-guest/ask_ark_milan.pem", 0), *ark = load_cert("go-sev-guest/ask_ark_milan.pem", 1);
		STACK_OF(X509) *chain = sk_X509_new_null();
		struct attest_evidence ev = { .endorsement = leaf, .chain = chain };
		struct attest_verdict *v = NULL;
		sk_X509_push(chain, ark);
		sk_X509_push(chain, ask);
		load_report("trustee/test-report.bin", &r);
		pol.at = at_time("2023-02-23T17:58:26Z");
		assert_int_equal(attest_verify(ctx, &r, &ev, &pol, &v, &err), 0);
		assert_false(v->valid);
		assert_true(attest_verdict_has(v, ATTEST_R_CHAIN_INTERMEDIATE));
		attest_verdict_free(v);
		/* In order it verifies. */
		sk_X509_set(chain, 0, ask);
		sk_X509_set(chain, 1, ark);
		assert_int_equal(attest_verify(ctx, &r, &ev, &pol, &v, &err), 0);
		assert_true(v->valid);
		attest_verdict_free(v);
		/* The ASK given as the endorsement certificate. */
		ev.endorsement = ask;
		assert_true(attest_verify(ctx, &r, &ev, &pol, &v, &err) < 0);
		assert_non_null(strstr(err->msg, "not a VCEK or VLEK"));
		sb_err_freep(&err);
		sk_X509_pop_free(chain, X509_free);
		X509_free(leaf);
	}
	{
		/* No certificate at all: the verdict says so. */
		load_report("trustee/test-report.bin", &r);
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, NULL, NULL, &pol);
		assert_false(v->valid);
		assert_true(attest_verdict_has(v, ATTEST_R_NO_CERT));
	}
	{
		/* An empty roots directory is an error. */
		attest_ctx *bad = NULL;
		assert_true(attest_ctx_new("/nonexistent", &bad, &err) < 0);
		sb_err_freep(&err);
	}
	attest_ctx_free(ctx);
}

/* Only bytes 0x000-0x29F are signed; the rest must not matter. */
static void test_unsigned_tail(void **state)
{
	(void)state;
	attest_ctx *ctx = new_ctx();
	uint8_t buf[ATTEST_REPORT_SIZE];
	struct attest_report r;
	struct attest_policy pol;
	_cleanup_err_ sb_err *err = NULL;
	X509 *leaf = load_cert("trustee/test-vcek.der", 0);

	load_raw("trustee/test-report.bin", buf, sizeof(buf));
	memset(buf + ATTEST_SIGNED_SIZE + 144, 0xa5, ATTEST_REPORT_SIZE - ATTEST_SIGNED_SIZE - 144);
	assert_int_equal(attest_report_parse(buf, sizeof(buf), &r, &err), 0);
	assert_true(r.sig_trailing_nonzero);
	attest_policy_init(&pol);
	pol.at = at_time("2023-02-23T17:58:26Z");
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_true(v->valid);
	}
	buf[ATTEST_SIGNED_SIZE] ^= 1; /* r */
	assert_int_equal(attest_report_parse(buf, sizeof(buf), &r, &err), 0);
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_false(v->valid);
		assert_true(attest_verdict_has(v, ATTEST_R_BAD_SIGNATURE));
	}
	buf[ATTEST_SIGNED_SIZE] ^= 1;
	buf[0x34] = 2; /* SIGNATURE_ALGO */
	assert_int_equal(attest_report_parse(buf, sizeof(buf), &r, &err), 0);
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_true(attest_verdict_has(v, ATTEST_R_SIGNATURE_ALGO));
	}
	X509_free(leaf);
	attest_ctx_free(ctx);
}

/* A CRL the ARK did not sign is refused; a required CRL must be present. */
static void test_crl(void **state)
{
	(void)state;
	attest_ctx *ctx = new_ctx();
	struct attest_report r;
	struct attest_policy pol;
	X509 *leaf = load_cert("trustee/test-vcek.der", 0), *ark = load_cert("virtee-sev/builtin/milan_ark.pem", 0);
	X509_CRL *crl = X509_CRL_new();
	EVP_PKEY *key = EVP_RSA_gen(2048);
	ASN1_TIME *t0 = ASN1_TIME_set(NULL, at_time("2023-01-01"));
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, at_time("2024-01-01"));
	_cleanup_err_ sb_err *err = NULL;

	assert_non_null(key);
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ark));
	X509_CRL_set1_lastUpdate(crl, t0);
	X509_CRL_set1_nextUpdate(crl, t1);
	assert_true(X509_CRL_sign(crl, key, EVP_sha384()) > 0);

	load_report("trustee/test-report.bin", &r);
	attest_policy_init(&pol);
	pol.at = at_time("2023-02-23T17:58:26Z");
	pol.require_crl = true;
	{
		_cleanup_(attest_verdict_freep) struct attest_verdict *v = verify(ctx, &r, leaf, NULL, &pol);
		assert_false(v->valid);
		assert_true(attest_verdict_has(v, ATTEST_R_CRL));
	}
	{
		struct attest_evidence ev = { .endorsement = leaf, .crl = crl };
		struct attest_verdict *v = NULL;
		assert_int_equal(attest_verify(ctx, &r, &ev, &pol, &v, &err), 0);
		assert_false(v->valid);
		assert_int_equal(v->crl_checked, 0);
		assert_true(attest_verdict_has(v, ATTEST_R_CRL));
		attest_verdict_free(v);
	}
	ASN1_TIME_free(t0);
	ASN1_TIME_free(t1);
	EVP_PKEY_free(key);
	X509_CRL_free(crl);
	X509_free(leaf);
	X509_free(ark);
	attest_ctx_free(ctx);
}

static void test_cert_ext_values(void **state)
{
	(void)state;
	struct attest_cert_ext e;
	_cleanup_err_ sb_err *err = NULL;
	const uint8_t i217[] = { 0x02, 0x02, 0x00, 0xd9 }, neg[] = { 0x02, 0x01, 0xff }, big[] = { 0x02, 0x02, 0x01, 0x00 };
	const uint8_t name[] = { 0x16, 0x05, 'T', 'u', 'r', 'i', 'n' }, badlen[] = { 0x16, 0x09, 'T' };
	uint8_t wrapped[66] = { 0x04, 0x40 };

	memset(&e, 0, sizeof(e));
	assert_int_equal(attest_cert_ext_parse_value(ATTEST_EXT_SPL, 8, i217, sizeof(i217), &e, &err), 0);
	assert_int_equal(e.spl[8], 217);
	assert_true(attest_cert_ext_parse_value(ATTEST_EXT_SPL, 8, neg, sizeof(neg), &e, &err) < 0);
	sb_err_freep(&err);
	assert_true(attest_cert_ext_parse_value(ATTEST_EXT_SPL, 8, big, sizeof(big), &e, &err) < 0);
	sb_err_freep(&err);
	assert_true(attest_cert_ext_parse_value(ATTEST_EXT_SPL, 10, i217, sizeof(i217), &e, &err) < 0);
	sb_err_freep(&err);
	assert_int_equal(attest_cert_ext_parse_value(ATTEST_EXT_PRODUCT_NAME, 0, name, sizeof(name), &e, &err), 0);
	assert_string_equal(e.product_name, "Turin");
	assert_true(attest_cert_ext_parse_value(ATTEST_EXT_PRODUCT_NAME, 0, badlen, sizeof(badlen), &e, &err) < 0);
	sb_err_freep(&err);
	for (int i = 0; i < 64; i++)
		wrapped[2 + i] = (uint8_t)(0xc0 + i);
	assert_int_equal(attest_cert_ext_parse_value(ATTEST_EXT_HWID, 0, wrapped, 66, &e, &err), 0);
	assert_int_equal(e.hwid_len, 64);
	assert_int_equal(e.hwid[0], 0xc0);
	assert_int_equal(attest_cert_ext_parse_value(ATTEST_EXT_HWID, 0, wrapped + 2, 64, &e, &err), 0);
	assert_int_equal(e.hwid[0], 0xc0);
	assert_true(attest_cert_ext_parse_value(ATTEST_EXT_HWID, 0, wrapped, 30, &e, &err) < 0);
	sb_err_freep(&err);
}

static int setup(void **state)
{
	const char *f = getenv("SNPBUILD_FIXTURES"), *src = getenv("SNPBUILD_SOURCE_ROOT");
	char path[4200];
	json_error_t jerr;

	(void)state;
	if (!f || !src) {
		fprintf(stderr, "SNPBUILD_FIXTURES and SNPBUILD_SOURCE_ROOT must be set (meson test does)\n");
		return -1;
	}
	snprintf(fixtures, sizeof(fixtures), "%s", f);
	snprintf(roots_dir, sizeof(roots_dir), "%s/data/amd", src);
	snprintf(path, sizeof(path), "%s/snp/expected-reports.json", fixtures);
	expected = json_load_file(path, 0, &jerr);
	if (!expected) {
		fprintf(stderr, "%s: %s\n", path, jerr.text);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(expected);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_reports),
		cmocka_unit_test(test_fixture_certificates),
		cmocka_unit_test(test_tamper_variants),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test(test_debug_report),
		cmocka_unit_test(test_trustee_reported_not_current),
		cmocka_unit_test(test_min_tcb_per_component),
		cmocka_unit_test(test_vlek),
		cmocka_unit_test(test_turin),
		cmocka_unit_test(test_kds),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_unsigned_tail),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_cert_ext_values),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
