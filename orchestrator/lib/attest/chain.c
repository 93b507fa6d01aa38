/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AMD certificate chain: VCEK -> ASK -> ARK and VLEK -> ASVK -> ARK, with
 * the ARKs pinned from files shipped with the project. Each link is checked
 * by hand (names, RSA-PSS SHA-384 signature, validity at the chosen time) so
 * that every failure gets its own reason. Results are cached per context.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "attest-internal.h"
#include "config.h"
#include "cursor.h"
#include "digest.h"

#define CHAIN_CACHE_SIZE 32

struct roots {
	X509 *ark;
	X509 *ask;
	X509 *asvk;
};

struct cache_entry {
	bool used;
	uint8_t key[SHA256_LEN];
	struct attest_chain_result res;
};

struct leaf_entry {
	bool used;
	uint8_t key[SHA256_LEN];
	struct attest_leaf_info info;
};

/* Not thread-safe: the caches and verify contexts are mutated in place. */
struct attest_ctx {
	char *roots_dir;
	struct roots roots[4]; /* by enum attest_product */
	struct cache_entry cache[CHAIN_CACHE_SIZE];
	size_t next;
	struct leaf_entry leaves[CHAIN_CACHE_SIZE];
	size_t next_leaf;
};

const char *attest_default_roots_dir(void)
{
	return SNPBUILD_SOURCE_ROOT "/data/amd";
}

static void free_reasons(struct attest_reason *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].msg);
	free(r);
}

void attest_ctx_free(attest_ctx *ctx)
{
	if (!ctx)
		return;
	for (size_t i = 0; i < ELEMENTSOF(ctx->roots); i++) {
		X509_free(ctx->roots[i].ark);
		X509_free(ctx->roots[i].ask);
		X509_free(ctx->roots[i].asvk);
	}
	for (size_t i = 0; i < CHAIN_CACHE_SIZE; i++)
		if (ctx->cache[i].used)
			free_reasons(ctx->cache[i].res.reasons, ctx->cache[i].res.n_reasons);
	for (size_t i = 0; i < CHAIN_CACHE_SIZE; i++)
		if (ctx->leaves[i].used) {
			EVP_PKEY_CTX_free(ctx->leaves[i].info.vctx);
			free(ctx->leaves[i].info.ext_err);
		}
	free(ctx->roots_dir);
	free(ctx);
}

/* Loads <dir>/<line>_<what>.pem if present: exactly one certificate. */
static int load_root(const char *dir, const char *line, const char *what, const char *want_cn, X509 **ret,
		     sb_err **err)
{
	_cleanup_free_ char *path = NULL;
	STACK_OF(X509) *sk = NULL;
	char cn[128];
	struct stat st;
	int r;

	if (asprintf(&path, "%s/%s_%s.pem", dir, line, what) < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return sb_err_sys(err, errno, "%s", path);
	}
	r = attest_certs_load(path, &sk, err);
	if (r < 0)
		return r;
	if (sk_X509_num(sk) != 1) {
		sk_X509_pop_free(sk, X509_free);
		return sb_err_set(err, EBADMSG, "%s: expected exactly one certificate", path);
	}
	*ret = sk_X509_shift(sk);
	sk_X509_free(sk);
	attest_cert_cn(*ret, cn, sizeof(cn));
	if (strcmp(cn, want_cn) != 0) {
		X509_free(*ret);
		*ret = NULL;
		return sb_err_set(err, EBADMSG, "%s: certificate is '%s', expected '%s'", path, cn, want_cn);
	}
	return 0;
}

int attest_ctx_new(const char *roots_dir, attest_ctx **ret, sb_err **err)
{
	static const enum attest_product lines[] = { ATTEST_PRODUCT_MILAN, ATTEST_PRODUCT_GENOA,
						     ATTEST_PRODUCT_TURIN };
	_cleanup_(attest_ctx_freep) attest_ctx *ctx = calloc(1, sizeof(*ctx));
	bool any = false;
	int r;

	if (!ctx)
		return sb_err_set(err, ENOMEM, "out of memory");
	ctx->roots_dir = strdup(roots_dir ? roots_dir : attest_default_roots_dir());
	if (!ctx->roots_dir)
		return sb_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
		const char *name = attest_product_name(lines[i]);
		struct roots *rt = &ctx->roots[lines[i]];
		char lower[16], cn[64];

		snprintf(lower, sizeof(lower), "%s", name);
		lower[0] = (char)(lower[0] - 'A' + 'a');
		snprintf(cn, sizeof(cn), "ARK-%s", name);
		r = load_root(ctx->roots_dir, lower, "ark", cn, &rt->ark, err);
		if (r < 0)
			return r;
		snprintf(cn, sizeof(cn), "SEV-%s", name);
		r = load_root(ctx->roots_dir, lower, "ask", cn, &rt->ask, err);
		if (r < 0)
			return r;
		snprintf(cn, sizeof(cn), "SEV-VLEK-%s", name);
		r = load_root(ctx->roots_dir, lower, "asvk", cn, &rt->asvk, err);
		if (r < 0)
			return r;
		if (rt->ark) {
			/* A pinned root that does not sign itself is a broken install. */
			EVP_PKEY *k = X509_get0_pubkey(rt->ark);
			if (!k || X509_verify(rt->ark, k) != 1) {
				ERR_clear_error();
				return sb_err_set(err, EBADMSG, "%s/%s_ark.pem: not self-signed", ctx->roots_dir,
						  lower);
			}
			any = true;
		}
	}
	if (!any)
		return sb_err_set(err, ENOENT, "%s: no pinned AMD root (milan_ark.pem, genoa_ark.pem, turin_ark.pem)",
				  ctx->roots_dir);
	*ret = TAKE_PTR(ctx);
	return 0;
}

static bool is_self_signed(X509 *x)
{
	return X509_check_issued(x, x) == X509_V_OK;
}

/* RSA-PSS with SHA-384, as AMD signs every link. */
static bool pss_sha384(X509 *x)
{
	int md = 0, pk = 0;

	if (!X509_get_signature_info(x, &md, &pk, NULL, NULL)) {
		ERR_clear_error();
		return false;
	}
	return pk == EVP_PKEY_RSA_PSS && md == NID_sha384;
}

static int check_time(struct attest_verdict *v, X509 *x, const char *what, time_t at)
{
	time_t t = at;
	const ASN1_TIME *nb = X509_get0_notBefore(x), *na = X509_get0_notAfter(x);

	if (!nb || !na || X509_cmp_time(nb, &t) != -1)
		return attest_verdict_add(v, ATTEST_R_CERT_TIME, "%s is not yet valid at the verification time",
					  what) < 0 ? -ENOMEM : 1;
	if (X509_cmp_time(na, &t) != 1)
		return attest_verdict_add(v, ATTEST_R_CERT_TIME, "%s has expired at the verification time", what) < 0
			       ? -ENOMEM
			       : 1;
	return 0;
}

/* Does issuer sign subject? Names, then the signature. */
static bool signs(X509 *issuer, X509 *subject)
{
	EVP_PKEY *k = X509_get0_pubkey(issuer);
	bool ok;

	if (!k || X509_check_issued(issuer, subject) != X509_V_OK)
		return false;
	ok = X509_verify(subject, k) == 1;
	ERR_clear_error();
	return ok;
}

static void hash_cert(EVP_MD_CTX *md, X509 *x)
{
	_cleanup_free_ unsigned char *der = NULL;
	int len = x ? i2d_X509(x, &der) : 0;

	if (len > 0)
		EVP_DigestUpdate(md, der, (size_t)len);
	else
		EVP_DigestUpdate(md, "-", 1);
}

static void hash_crl(EVP_MD_CTX *md, X509_CRL *c)
{
	_cleanup_free_ unsigned char *der = NULL;
	int len = c ? i2d_X509_CRL(c, &der) : 0;

	if (len > 0)
		EVP_DigestUpdate(md, der, (size_t)len);
	else
		EVP_DigestUpdate(md, "-", 1);
}

static int cache_key(enum attest_product p, enum attest_signer kind, X509 *leaf, const struct attest_evidence *ev,
		     time_t at, bool require_crl, uint8_t key[SHA256_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t params[24];
	unsigned int n = SHA256_LEN;
	int nchain = ev->chain ? sk_X509_num(ev->chain) : 0;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	put_u32le(params, (uint32_t)p);
	put_u32le(params + 4, (uint32_t)kind);
	put_u64le(params + 8, (uint64_t)at);
	put_u32le(params + 16, require_crl);
	put_u32le(params + 20, (uint32_t)nchain);
	EVP_DigestUpdate(md, params, sizeof(params));
	hash_cert(md, leaf);
	hash_cert(md, ev->intermediate);
	for (int i = 0; i < nchain; i++)
		hash_cert(md, sk_X509_value(ev->chain, i));
	hash_crl(md, ev->crl);
	EVP_DigestFinal_ex(md, key, &n);
	EVP_MD_CTX_free(md);
	return 0;
}

#define ADD(...)                                              \
	do {                                                  \
		if (attest_verdict_add(&v, __VA_ARGS__) < 0)  \
			goto oom;                             \
	} while (0)

/* Picks the intermediate out of a KDS-style cert_chain and checks any ARK in
 * it against the pinned one. */
static int pick_intermediate(struct attest_verdict *vp, X509 *ark, const char *want_cn, STACK_OF(X509) *chain,
			     X509 **ret)
{
	struct attest_verdict v = *vp;
	X509 *found = NULL;
	char cn[128];
	int n = sk_X509_num(chain);

	if (n > 0 && is_self_signed(sk_X509_value(chain, 0)))
		ADD(ATTEST_R_CHAIN_INTERMEDIATE,
		    "certificate chain out of order: its first certificate is a root, expected the ASK/ASVK first");
	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(chain, i);
		if (is_self_signed(x)) {
			if (!ark || X509_cmp(x, ark) != 0) {
				attest_cert_cn(x, cn, sizeof(cn));
				ADD(ATTEST_R_CHAIN_ROOT, "certificate chain: root '%s' is not the pinned AMD root", cn);
			}
			continue;
		}
		attest_cert_cn(x, cn, sizeof(cn));
		if (!strcmp(cn, want_cn) && !found)
			found = x;
	}
	if (!found && n > 0 && !is_self_signed(sk_X509_value(chain, 0)))
		found = sk_X509_value(chain, 0);
	*vp = v;
	*ret = found;
	return 0;
oom:
	*vp = v;
	return -ENOMEM;
}

int attest_chain_check(attest_ctx *ctx, enum attest_product p, enum attest_signer kind, X509 *leaf,
		       const struct attest_evidence *ev, time_t at, bool require_crl,
		       const struct attest_chain_result **ret, sb_err **err)
{
	struct attest_verdict v = { .valid = true };
	struct attest_chain_result res = { -1, -1, -1, -1, -1, 0, NULL };
	uint8_t key[SHA256_LEN];
	struct roots *rt;
	struct cache_entry *slot;
	X509 *inter = NULL, *ark;
	const char *line = attest_product_name(p);
	const char *leaf_name = kind == ATTEST_SIGNER_VLEK ? "VLEK" : "VCEK";
	const char *inter_name = kind == ATTEST_SIGNER_VLEK ? "ASVK" : "ASK";
	char want_cn[64], cn[128];

	if (cache_key(p, kind, leaf, ev, at, require_crl, key) < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < CHAIN_CACHE_SIZE; i++)
		if (ctx->cache[i].used && !memcmp(ctx->cache[i].key, key, SHA256_LEN)) {
			*ret = &ctx->cache[i].res;
			return 0;
		}

	if (p == ATTEST_PRODUCT_UNKNOWN) {
		ADD(ATTEST_R_CHAIN_ROOT, "unknown product line: no AMD root to verify the %s against", leaf_name);
		goto done;
	}
	rt = &ctx->roots[p];
	ark = rt->ark;
	snprintf(want_cn, sizeof(want_cn), kind == ATTEST_SIGNER_VLEK ? "SEV-VLEK-%s" : "SEV-%s", line);

	if (ev->intermediate)
		inter = ev->intermediate;
	else if (ev->chain && sk_X509_num(ev->chain) > 0) {
		if (pick_intermediate(&v, ark, want_cn, ev->chain, &inter) < 0)
			goto oom;
	}
	if (!inter)
		inter = kind == ATTEST_SIGNER_VLEK ? rt->asvk : rt->ask;

	if (!ark) {
		res.ark_pinned = 0;
		ADD(ATTEST_R_CHAIN_ROOT, "no pinned ARK-%s in %s", line, ctx->roots_dir);
	} else {
		res.ark_pinned = 1;
	}
	if (!inter) {
		res.leaf_signed_by_intermediate = 0;
		res.intermediate_signed_by_ark = 0;
		ADD(ATTEST_R_CHAIN_INTERMEDIATE, "no %s-%s certificate given or in %s", inter_name, line,
		    ctx->roots_dir);
		goto times;
	}
	attest_cert_cn(inter, cn, sizeof(cn));
	if (strcmp(cn, want_cn) != 0)
		ADD(ATTEST_R_PRODUCT, "%s is '%s', expected '%s' for a %s %s", inter_name, cn, want_cn, line, leaf_name);

	res.leaf_signed_by_intermediate = signs(inter, leaf);
	if (!res.leaf_signed_by_intermediate)
		ADD(ATTEST_R_CHAIN_LEAF, "%s is not signed by %s '%s'", leaf_name, inter_name, cn);
	else if (!pss_sha384(leaf))
		ADD(ATTEST_R_CERT_ALGO, "%s signature is not RSA-PSS with SHA-384", leaf_name);

	if (ark) {
		res.intermediate_signed_by_ark = signs(ark, inter);
		if (!res.intermediate_signed_by_ark)
			ADD(ATTEST_R_CHAIN_INTERMEDIATE, "%s '%s' is not signed by the pinned ARK-%s", inter_name, cn,
			    line);
		else if (!pss_sha384(inter))
			ADD(ATTEST_R_CERT_ALGO, "%s signature is not RSA-PSS with SHA-384", inter_name);
	} else {
		res.intermediate_signed_by_ark = 0;
	}

	/* Optional CRL from the ARK: it lists revoked ASKs/ASVKs. */
	if (ev->crl && ark) {
		EVP_PKEY *ak = X509_get0_pubkey(ark);
		X509_REVOKED *rev = NULL;
		time_t t = at;
		const ASN1_TIME *next = X509_CRL_get0_nextUpdate(ev->crl);
		const ASN1_TIME *last = X509_CRL_get0_lastUpdate(ev->crl);

		if (!ak || X509_CRL_verify(ev->crl, ak) != 1) {
			res.crl_checked = 0;
			ADD(ATTEST_R_CRL, "CRL is not signed by the pinned ARK-%s", line);
		} else if (!last || X509_cmp_time(last, &t) != -1 || (next && X509_cmp_time(next, &t) != 1)) {
			res.crl_checked = 0;
			ADD(ATTEST_R_CRL, "CRL is not current at the verification time");
		} else {
			res.crl_checked = 1;
			if (X509_CRL_get0_by_cert(ev->crl, &rev, inter) == 1)
				ADD(ATTEST_R_REVOKED, "%s '%s' is revoked by the ARK-%s CRL", inter_name, cn, line);
		}
		ERR_clear_error();
	} else if (require_crl) {
		res.crl_checked = 0;
		ADD(ATTEST_R_CRL, "a CRL is required and none was given");
	}

times:
	res.certs_time_valid = 1;
	{
		int a = check_time(&v, leaf, leaf_name, at);
		int b = inter ? check_time(&v, inter, inter_name, at) : 0;
		int c = ark ? check_time(&v, ark, "ARK", at) : 0;
		if (a < 0 || b < 0 || c < 0)
			goto oom;
		if (a || b || c)
			res.certs_time_valid = 0;
	}

done:
	res.reasons = v.reasons;
	res.n_reasons = v.n_reasons;
	slot = &ctx->cache[ctx->next];
	ctx->next = (ctx->next + 1) % CHAIN_CACHE_SIZE;
	if (slot->used)
		free_reasons(slot->res.reasons, slot->res.n_reasons);
	slot->used = true;
	memcpy(slot->key, key, SHA256_LEN);
	slot->res = res;
	*ret = &slot->res;
	return 0;
oom:
	free_reasons(v.reasons, v.n_reasons);
	return sb_err_set(err, ENOMEM, "out of memory");
}

static bool key_is_p384(EVP_PKEY *k)
{
	char group[64];
	size_t n = 0;

	if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
		return false;
	if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &n)) {
		ERR_clear_error();
		return false;
	}
	return !strcmp(group, "secp384r1");
}

int attest_leaf_lookup(attest_ctx *ctx, X509 *leaf, const struct attest_leaf_info **ret, sb_err **err)
{
	_cleanup_free_ unsigned char *der = NULL;
	struct attest_leaf_info info;
	struct leaf_entry *slot;
	uint8_t key[SHA256_LEN];
	sb_err *ext_err = NULL;
	int len = i2d_X509(leaf, &der);

	if (len <= 0) {
		ERR_clear_error();
		return sb_err_set(err, EINVAL, "certificate cannot be encoded");
	}
	digest_sha256(der, (size_t)len, key);
	for (size_t i = 0; i < CHAIN_CACHE_SIZE; i++)
		if (ctx->leaves[i].used && !memcmp(ctx->leaves[i].key, key, SHA256_LEN)) {
			*ret = &ctx->leaves[i].info;
			return 0;
		}

	memset(&info, 0, sizeof(info));
	info.ext_r = attest_cert_ext_parse(leaf, &info.ext, &ext_err);
	if (info.ext_r < 0) {
		info.ext_err = strdup(ext_err && ext_err->msg ? ext_err->msg : "invalid AMD extensions");
		sb_err_free(ext_err);
		if (!info.ext_err)
			return sb_err_set(err, ENOMEM, "out of memory");
	}
	attest_cert_cn(leaf, info.cn, sizeof(info.cn));
	info.key_p384 = key_is_p384(X509_get0_pubkey(leaf));
	if (info.key_p384) {
		info.vctx = EVP_PKEY_CTX_new(X509_get0_pubkey(leaf), NULL);
		if (!info.vctx || EVP_PKEY_verify_init(info.vctx) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(info.vctx, EVP_sha384()) != 1) {
			EVP_PKEY_CTX_free(info.vctx);
			free(info.ext_err);
			ERR_clear_error();
			return sb_err_set(err, ENOMEM, "cannot prepare an ECDSA verify context");
		}
	}

	slot = &ctx->leaves[ctx->next_leaf];
	ctx->next_leaf = (ctx->next_leaf + 1) % CHAIN_CACHE_SIZE;
	if (slot->used) {
		EVP_PKEY_CTX_free(slot->info.vctx);
		free(slot->info.ext_err);
	}
	slot->used = true;
	memcpy(slot->key, key, SHA256_LEN);
	slot->info = info;
	*ret = &slot->info;
	return 0;
}
