/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ID block and ID authentication information (SEV-SNP firmware ABI,
 * SNP_LAUNCH_FINISH): the guest owner's ECDSA P-384 key signs the expected
 * launch digest and policy; the firmware refuses to finish a launch whose
 * digest or policy differs. Signatures and key coordinates are stored
 * little-endian, zero-padded to 72 bytes.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "internal.h"

#define ALGO_ECDSA_P384_SHA384 1
#define CURVE_P384 2
#define COORD_LEN 72 /* r, s, Qx, Qy: 576-bit fields */
#define P384_LEN 48

/* ID_AUTH_INFO layout */
#define AUTH_ID_KEY_ALGO 0x000
#define AUTH_AUTHOR_KEY_ALGO 0x004
#define AUTH_ID_BLOCK_SIG 0x040
#define AUTH_ID_KEY 0x240
#define AUTH_ID_KEY_SIG 0x680
#define AUTH_AUTHOR_KEY 0x880
#define SIG_LEN 0x200
#define PUBKEY_LEN 0x404

DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ECDSA_SIG *, ECDSA_SIG_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM *, OSSL_PARAM_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)

void measure_idblock_build(const struct measure_id_block_params *p, uint8_t out[MEASURE_ID_BLOCK_LEN])
{
	memcpy(out, p->digest, MEASURE_LD_LEN);
	memcpy(out + 48, p->family_id, MEASURE_ID_LEN);
	memcpy(out + 64, p->image_id, MEASURE_ID_LEN);
	put_u32le(out + 80, 1); /* VERSION */
	put_u32le(out + 84, p->guest_svn);
	put_u64le(out + 88, p->policy);
}

int measure_idblock_load_key(const char *path, EVP_PKEY **ret, sb_err **err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
	char group[32] = "";

	if (!f)
		return sb_err_sys(err, errno, "%s", path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (!k)
		return sb_err_set(err, EINVAL, "%s: not a PEM private key (unencrypted)", path);
	if (!EVP_PKEY_is_a(k, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ||
	    strcmp(group, SN_secp384r1))
		return sb_err_set(err, EINVAL, "%s: not an ECDSA P-384 key (SNP accepts only P-384)", path);
	*ret = TAKE_PTR(k);
	return 0;
}

/* The 0x404-byte public key structure: curve, Qx, Qy. */
static int put_pubkey(EVP_PKEY *k, uint8_t out[PUBKEY_LEN], sb_err **err)
{
	_cleanup_(BN_freep) BIGNUM *x = NULL;
	_cleanup_(BN_freep) BIGNUM *y = NULL;

	memset(out, 0, PUBKEY_LEN);
	if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
		return sb_err_set(err, EINVAL, "OpenSSL: cannot read the public key's coordinates");
	put_u32le(out, CURVE_P384);
	if (BN_bn2lebinpad(x, out + 4, COORD_LEN) != COORD_LEN || BN_bn2lebinpad(y, out + 4 + COORD_LEN, COORD_LEN) != COORD_LEN)
		return sb_err_set(err, EINVAL, "public key coordinate wider than 72 bytes");
	return 0;
}

int measure_idblock_key_digest(EVP_PKEY *key, uint8_t out[MEASURE_LD_LEN], sb_err **err)
{
	uint8_t pub[PUBKEY_LEN];
	unsigned int n = MEASURE_LD_LEN;
	int r = put_pubkey(key, pub, err);
	if (r < 0)
		return r;
	if (!EVP_Digest(pub, sizeof(pub), out, &n, EVP_sha384(), NULL))
		return sb_err_set(err, EIO, "OpenSSL: SHA-384 failed");
	return 0;
}

/* r and s, each little-endian over the full 72 bytes: a zero byte anywhere,
 * leading ones included, keeps its place. */
int idauth_put_sig(const BIGNUM *r, const BIGNUM *s, uint8_t out[SIG_LEN])
{
	memset(out, 0, SIG_LEN);
	if (BN_bn2lebinpad(r, out, COORD_LEN) != COORD_LEN || BN_bn2lebinpad(s, out + COORD_LEN, COORD_LEN) != COORD_LEN)
		return -EINVAL;
	return 0;
}

static int sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t out[SIG_LEN], sb_err **err)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = NULL;
	uint8_t der[256];
	const uint8_t *p = der;
	size_t der_len = sizeof(der);

	if (!ctx || !EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, k) ||
	    !EVP_DigestSign(ctx, der, &der_len, msg, len))
		return sb_err_set(err, EIO, "OpenSSL: ECDSA P-384 signing failed");
	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (!sig || idauth_put_sig(ECDSA_SIG_get0_r(sig), ECDSA_SIG_get0_s(sig), out) < 0)
		return sb_err_set(err, EIO, "OpenSSL: unexpected ECDSA signature");
	return 0;
}

int measure_idauth_build(const uint8_t id_block[MEASURE_ID_BLOCK_LEN], EVP_PKEY *id_key, EVP_PKEY *author_key,
			 uint8_t out[MEASURE_ID_AUTH_LEN], sb_err **err)
{
	int r;

	memset(out, 0, MEASURE_ID_AUTH_LEN);
	put_u32le(out + AUTH_ID_KEY_ALGO, ALGO_ECDSA_P384_SHA384);
	r = put_pubkey(id_key, out + AUTH_ID_KEY, err);
	if (r < 0)
		return sb_err_wrap(err, "ID key");
	r = sign(id_key, id_block, MEASURE_ID_BLOCK_LEN, out + AUTH_ID_BLOCK_SIG, err);
	if (r < 0)
		return sb_err_wrap(err, "ID block signature");
	if (author_key) {
		put_u32le(out + AUTH_AUTHOR_KEY_ALGO, ALGO_ECDSA_P384_SHA384);
		r = put_pubkey(author_key, out + AUTH_AUTHOR_KEY, err);
		if (r < 0)
			return sb_err_wrap(err, "author key");
		r = sign(author_key, out + AUTH_ID_KEY, PUBKEY_LEN, out + AUTH_ID_KEY_SIG, err);
		if (r < 0)
			return sb_err_wrap(err, "ID key signature");
	}
	return 0;
}

/* An EVP_PKEY from the little-endian public key structure. */
static int get_pubkey(const uint8_t in[PUBKEY_LEN], EVP_PKEY **ret, sb_err **err)
{
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	_cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	sb_cursor c = cur_make(in, PUBKEY_LEN);
	uint8_t point[1 + 2 * P384_LEN];
	const uint8_t *x, *y;
	uint32_t curve;
	EVP_PKEY *k = NULL;

	if (!cur_u32le(&c, &curve) || !cur_view(&c, &x, COORD_LEN) || !cur_view(&c, &y, COORD_LEN))
		return sb_err_set(err, EINVAL, "public key truncated");
	if (curve != CURVE_P384)
		return sb_err_set(err, EINVAL, "public key: curve %u, only P-384 (2) is known", curve);
	for (size_t i = P384_LEN; i < COORD_LEN; i++)
		if (x[i] || y[i])
			return sb_err_set(err, EINVAL, "public key: coordinate wider than P-384");
	point[0] = 0x04; /* uncompressed, big-endian */
	for (size_t i = 0; i < P384_LEN; i++) {
		point[1 + i] = x[P384_LEN - 1 - i];
		point[1 + P384_LEN + i] = y[P384_LEN - 1 - i];
	}
	if (!bld || !ctx || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_secp384r1, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		return sb_err_set(err, EINVAL, "public key: not a point on P-384");
	*ret = k;
	return 0;
}

static int verify(const uint8_t pub[PUBKEY_LEN], const uint8_t *msg, size_t len, const uint8_t sigbuf[SIG_LEN],
		  sb_err **err)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_lebin2bn(sigbuf, COORD_LEN, NULL), *s = BN_lebin2bn(sigbuf + COORD_LEN, COORD_LEN, NULL);
	_cleanup_free_ uint8_t *der = NULL;
	int der_len, e;

	if (!ctx || !sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		return sb_err_set(err, ENOMEM, "out of memory");
	}
	e = get_pubkey(pub, &k, err);
	if (e < 0)
		return e;
	der_len = i2d_ECDSA_SIG(sig, &der);
	if (der_len <= 0)
		return sb_err_set(err, EINVAL, "signature: cannot encode");
	if (!EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, k) ||
	    EVP_DigestVerify(ctx, der, (size_t)der_len, msg, len) != 1)
		return sb_err_set(err, EBADMSG, "signature does not verify");
	return 0;
}

int measure_idauth_verify(const uint8_t id_block[MEASURE_ID_BLOCK_LEN], const uint8_t id_auth[MEASURE_ID_AUTH_LEN],
			  sb_err **err)
{
	sb_cursor c = cur_make(id_auth, MEASURE_ID_AUTH_LEN);
	uint32_t id_algo, author_algo;
	int r;

	if (!cur_u32le(&c, &id_algo) || !cur_u32le(&c, &author_algo))
		return sb_err_set(err, EINVAL, "ID auth truncated");
	if (id_algo != ALGO_ECDSA_P384_SHA384)
		return sb_err_set(err, EINVAL, "ID auth: ID key algorithm %u, only 1 (ECDSA P-384 SHA-384) is known",
				  id_algo);
	r = verify(id_auth + AUTH_ID_KEY, id_block, MEASURE_ID_BLOCK_LEN, id_auth + AUTH_ID_BLOCK_SIG, err);
	if (r < 0)
		return sb_err_wrap(err, "ID block");
	if (author_algo == 0)
		return 0;
	if (author_algo != ALGO_ECDSA_P384_SHA384)
		return sb_err_set(err, EINVAL, "ID auth: author key algorithm %u unknown", author_algo);
	r = verify(id_auth + AUTH_AUTHOR_KEY, id_auth + AUTH_ID_KEY, PUBKEY_LEN, id_auth + AUTH_ID_KEY_SIG, err);
	if (r < 0)
		return sb_err_wrap(err, "ID key (author signature)");
	return 0;
}

char *measure_base64(const void *buf, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
	return out;
}
