/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ID block / ID auth, checked with OpenSSL directly (not with our own
 * verifier alone); the measurement cache, the reference-value record and the
 * guest image manifest reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config.h"
#include "cursor.h"
#include "digest.h"
#include "hexutil.h"
#include "internal.h"
#include "measure.h"
#include "testutil.h"

/* The debkernel vector: AmdSev suffix, Debian kernel by digest, tiny initrd, 4 x EPYC-Milan, 0x21. */
#define DEBKERNEL_SHA256 "d8808aa4ca188560da1e6d749dcb930c87a5fd8b11ebff1f3fa6d728af35203d"
#define DEBKERNEL_DIGEST                                                                                       \
	"c7d41e6a4204438d28d7c760cb4612645f944ae41fd8b0f30afc8f7d9bce455720123437b51088f33320a38c4f42886e"
#define CMDLINE "console=ttyS0 root=/dev/vda1 ro"

static char tmpdir[] = "/tmp/test-measure-XXXXXX";

static EVP_PKEY *new_key(const char *curve, const char *file)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	_cleanup_free_ char *p = test_path(tmpdir, file);
	FILE *f = fopen(p, "w");
	assert_non_null(k);
	assert_non_null(f);
	assert_true(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	return k;
}

/* Verifies an SNP-format signature with OpenSSL and the key itself. */
static int openssl_verify(EVP_PKEY *k, const uint8_t *msg, size_t len, const uint8_t *sig)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *der = NULL;
	int der_len, ok;

	/* the layout: r at 0, s at 0x48, 72 bytes each, little-endian */
	ECDSA_SIG_set0(s, BN_lebin2bn(sig, 72, NULL), BN_lebin2bn(sig + 72, 72, NULL));
	der_len = i2d_ECDSA_SIG(s, &der);
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, k) &&
	     EVP_DigestVerify(ctx, der, (size_t)der_len, msg, len) == 1;
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(ctx);
	return ok;
}

static void assert_pubkey(EVP_PKEY *k, const uint8_t *pub)
{
	BIGNUM *x = NULL, *y = NULL;
	uint8_t want[0x404] = { 0 };
	assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x));
	assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y));
	put_u32le(want, 2);
	assert_int_equal(BN_bn2lebinpad(x, want + 4, 72), 72);
	assert_int_equal(BN_bn2lebinpad(y, want + 76, 72), 72);
	assert_memory_equal(pub, want, sizeof(want));
	BN_free(x);
	BN_free(y);
}

static void id_block_layout(void **state)
{
	(void)state;
	struct measure_id_block_params p = { .guest_svn = 0x01020304, .policy = 0x30000 };
	uint8_t b[MEASURE_ID_BLOCK_LEN];

	for (int i = 0; i < 48; i++)
		p.digest[i] = (uint8_t)i;
	memset(p.family_id, 0xf1, 16);
	memset(p.image_id, 0x1a, 16);
	measure_idblock_build(&p, b);
	assert_memory_equal(b, p.digest, 48);
	assert_memory_equal(b + 48, p.family_id, 16);
	assert_memory_equal(b + 64, p.image_id, 16);
	assert_memory_equal(b + 80, "\x01\x00\x00\x00", 4);			/* VERSION 1 */
	assert_memory_equal(b + 84, "\x04\x03\x02\x01", 4);			/* GUEST_SVN */
	assert_memory_equal(b + 88, "\x00\x00\x03\x00\x00\x00\x00\x00", 8); /* POLICY */
}

static void id_auth_signs(void **state)
{
	(void)state;
	EVP_PKEY *idk = new_key("P-384", "id.pem"), *auk = new_key("P-384", "author.pem");
	EVP_PKEY *lid = NULL, *lau = NULL;
	_cleanup_free_ char *idp = test_path(tmpdir, "id.pem"), *aup = test_path(tmpdir, "author.pem");
	struct measure_id_block_params p = { .policy = 0x30000, .guest_svn = 7 };
	uint8_t block[MEASURE_ID_BLOCK_LEN], auth[MEASURE_ID_AUTH_LEN], kd[48], want[48];
	unsigned int n = 48;
	sb_err *err = NULL;

	assert_int_equal(hex_decode(DEBKERNEL_DIGEST, p.digest, 48), 0);
	measure_idblock_build(&p, block);
	assert_int_equal(measure_idblock_load_key(idp, &lid, &err), 0);
	assert_int_equal(measure_idblock_load_key(aup, &lau, &err), 0);

	/* ID key only */
	assert_int_equal(measure_idauth_build(block, lid, NULL, auth, &err), 0);
	assert_memory_equal(auth, "\x01\x00\x00\x00\x00\x00\x00\x00", 8); /* ID algo 1, author algo 0 */
	assert_pubkey(idk, auth + 0x240);
	assert_true(openssl_verify(idk, block, sizeof(block), auth + 0x40));
	for (size_t i = 0x880; i < sizeof(auth); i++)
		assert_int_equal(auth[i], 0);
	assert_int_equal(measure_idauth_verify(block, auth, &err), 0);
	block[0] ^= 1;
	assert_false(openssl_verify(idk, block, sizeof(block), auth + 0x40));
	assert_true(measure_idauth_verify(block, auth, &err) < 0);
	sb_err_freep(&err);
	block[0] ^= 1;

	/* with an author key signing the ID key */
	assert_int_equal(measure_idauth_build(block, lid, lau, auth, &err), 0);
	assert_memory_equal(auth, "\x01\x00\x00\x00\x01\x00\x00\x00", 8);
	assert_pubkey(auk, auth + 0x880);
	assert_true(openssl_verify(idk, block, sizeof(block), auth + 0x40));
	assert_true(openssl_verify(auk, auth + 0x240, 0x404, auth + 0x680));
	assert_int_equal(measure_idauth_verify(block, auth, &err), 0);
	auth[0x250] ^= 1; /* the ID key changes: neither signature holds */
	assert_true(measure_idauth_verify(block, auth, &err) < 0);
	sb_err_freep(&err);
	auth[0x250] ^= 1;

	/* the report's ID_KEY_DIGEST: SHA-384 of the 0x404-byte key structure */
	assert_int_equal(measure_idblock_key_digest(lid, kd, &err), 0);
	EVP_Digest(auth + 0x240, 0x404, want, &n, EVP_sha384(), NULL);
	assert_memory_equal(kd, want, 48);

	EVP_PKEY_free(idk);
	EVP_PKEY_free(auk);
	EVP_PKEY_free(lid);
	EVP_PKEY_free(lau);
}

/* A zero byte inside r or s -- or at its top, making the number shorter -- keeps its place. */
static void id_auth_zero_bytes(void **state)
{
	(void)state;
	uint8_t sig[0x200], want[0x200] = { 0 };
	BIGNUM *r = NULL, *s = NULL;
	/* r: 47 significant bytes with zeros inside; s: 1 */
	assert_true(BN_hex2bn(&r, "00ff00ee0000dd00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677"));
	assert_true(BN_hex2bn(&s, "1"));
	assert_int_equal(idauth_put_sig(r, s, sig), 0);
	/* little-endian: the last hex byte first */
	const char *hex = "ff00ee0000dd00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677";
	size_t nb = strlen(hex) / 2;
	for (size_t i = 0; i < nb; i++) {
		unsigned int v;
		sscanf(hex + 2 * (nb - 1 - i), "%2x", &v);
		want[i] = (uint8_t)v;
	}
	want[72] = 1;
	assert_memory_equal(sig, want, sizeof(want));
	BN_free(r);
	BN_free(s);

	/* and real signatures whose r or s is shorter than 48 bytes still verify */
	EVP_PKEY *k = new_key("P-384", "short.pem"), *lk = NULL;
	_cleanup_free_ char *kp = test_path(tmpdir, "short.pem");
	sb_err *err = NULL;
	struct measure_id_block_params p = { .policy = 0x30000 };
	uint8_t block[MEASURE_ID_BLOCK_LEN], auth[MEASURE_ID_AUTH_LEN];
	int found = 0;

	assert_int_equal(measure_idblock_load_key(kp, &lk, &err), 0);
	for (int i = 0; i < 5000 && found < 2; i++) {
		p.guest_svn = (uint32_t)i;
		measure_idblock_build(&p, block);
		assert_int_equal(measure_idauth_build(block, lk, NULL, auth, &err), 0);
		/* byte 47 of r or s is its most significant one */
		if (auth[0x40 + 47] == 0 || auth[0x40 + 72 + 47] == 0) {
			assert_true(openssl_verify(k, block, sizeof(block), auth + 0x40));
			assert_int_equal(measure_idauth_verify(block, auth, &err), 0);
			found++;
		}
	}
	assert_true(found > 0);
	EVP_PKEY_free(k);
	EVP_PKEY_free(lk);
}

static void id_key_must_be_p384(void **state)
{
	(void)state;
	EVP_PKEY *k = new_key("P-256", "p256.pem"), *l = NULL;
	_cleanup_free_ char *p = test_path(tmpdir, "p256.pem");
	sb_err *err = NULL;
	assert_true(measure_idblock_load_key(p, &l, &err) < 0);
	assert_non_null(strstr(err->msg, "P-384"));
	sb_err_freep(&err);
	assert_true(measure_idblock_load_key("/nonexistent.pem", &l, &err) < 0);
	sb_err_freep(&err);
	EVP_PKEY_free(k);
}

static void debkernel_input(struct measure_input *in, char *ovmf, char *initrd)
{
	*in = (struct measure_input){ .ovmf_path = ovmf, .vcpus = 4, .vcpu_type = { .name = "EPYC-Milan" },
				      .guest_features = 0x21, .cmdline = CMDLINE };
	in->kernel.has_sha256 = true;
	assert_int_equal(hex_decode(DEBKERNEL_SHA256, in->kernel.sha256, 32), 0);
	in->initrd.path = initrd;
}

static void assert_same_result(const struct measure_result *a, const struct measure_result *b)
{
	assert_memory_equal(a->digest, b->digest, 48);
	assert_memory_equal(a->ld_after_firmware, b->ld_after_firmware, 48);
	assert_memory_equal(a->ld_after_metadata, b->ld_after_metadata, 48);
	assert_memory_equal(a->vmsa_bsp_sha384, b->vmsa_bsp_sha384, 48);
	assert_int_equal(a->has_ap, b->has_ap);
	assert_memory_equal(a->vmsa_ap_sha384, b->vmsa_ap_sha384, 48);
	assert_int_equal(a->ap_reset_eip, b->ap_reset_eip);
	assert_int_equal(a->has_hashes_table, b->has_hashes_table);
	assert_int_equal(a->hashes_table_gpa, b->hashes_table_gpa);
	assert_memory_equal(a->hashes_table, b->hashes_table, sizeof(a->hashes_table));
	char ia[65], ib[65];
	measure_key_id(&a->key, ia);
	measure_key_id(&b->key, ib);
	assert_string_equal(ia, ib);
}

static void record_roundtrip(void **state)
{
	(void)state;
	_cleanup_free_ char *ovmf = test_fixture_path("snp/sev-snp-measure/ovmf_AmdSev_suffix.bin");
	_cleanup_free_ char *initrd = test_fixture_path("snp/generated/tiny-initrd.cpio");
	struct measure_input in;
	struct measure_result a, b;
	json_t *rec = NULL;
	sb_err *err = NULL;
	char hex[97];

	debkernel_input(&in, ovmf, initrd);
	assert_int_equal(measure_launch_digest(&in, &a, &err), 0);
	hex_encode(a.digest, 48, hex);
	assert_string_equal(hex, DEBKERNEL_DIGEST);
	assert_int_equal(measure_record_json(&a, "EPYC-Milan", CMDLINE, &rec, &err), 0);
	assert_string_equal(json_string_value(json_object_get(rec, "measurement")), DEBKERNEL_DIGEST);
	assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "inputs"), "kernel_sha256")),
			    DEBKERNEL_SHA256);
	assert_int_equal(measure_record_parse(rec, &b, &err), 0);
	assert_same_result(&a, &b);
	json_object_set_new(rec, "version", json_integer(2));
	assert_true(measure_record_parse(rec, &b, &err) < 0);
	sb_err_freep(&err);
	json_decref(rec);
}

static void cache_memory_and_disk(void **state)
{
	(void)state;
	_cleanup_free_ char *ovmf = test_fixture_path("snp/sev-snp-measure/ovmf_AmdSev_suffix.bin");
	_cleanup_free_ char *initrd = test_fixture_path("snp/generated/tiny-initrd.cpio");
	_cleanup_free_ char *file = test_path(tmpdir, "cache.json");
	measure_cache_t *c = NULL;
	struct measure_input in;
	struct measure_result a, b, direct;
	sb_err *err = NULL;
	char hex[97];

	debkernel_input(&in, ovmf, initrd);
	assert_int_equal(measure_launch_digest(&in, &direct, &err), 0);

	/* memory only */
	assert_int_equal(measure_cache_new(NULL, &c, &err), 0);
	assert_int_equal(measure_cache_measure(c, &in, &a, &err), 0); /* computed */
	assert_int_equal(measure_cache_measure(c, &in, &b, &err), 1); /* cached */
	assert_same_result(&a, &direct);
	assert_same_result(&b, &direct);
	in.vcpus = 2; /* another VM shape is another entry */
	assert_int_equal(measure_cache_measure(c, &in, &b, &err), 0);
	assert_memory_not_equal(a.digest, b.digest, 48);
	assert_int_equal(measure_cache_size(c), 2);
	measure_cache_free(c);
	in.vcpus = 4;

	/* on disk: a new cache (a restarted daemon) reads it back */
	unlink(file);
	assert_int_equal(measure_cache_new(file, &c, &err), 0);
	assert_int_equal(measure_cache_measure(c, &in, &a, &err), 0);
	measure_cache_free(c);
	assert_int_equal(measure_cache_new(file, &c, &err), 0);
	assert_int_equal(measure_cache_size(c), 1);
	assert_int_equal(measure_cache_lookup(c, &direct.key, &b), 1);
	assert_same_result(&b, &direct);
	assert_int_equal(measure_cache_measure(c, &in, &b, &err), 1);
	hex_encode(b.digest, 48, hex);
	assert_string_equal(hex, DEBKERNEL_DIGEST);
	measure_cache_free(c);

	/* an entry filed under another key's ID is refused, not served */
	{
		json_error_t jerr;
		json_t *root = json_load_file(file, 0, &jerr), *entries, *rec;
		const char *id;
		assert_non_null(root);
		entries = json_object_get(root, "entries");
		json_object_foreach(entries, id, rec)
			json_object_set_new(json_object_get(rec, "inputs"), "vcpus", json_integer(3));
		assert_int_equal(json_dump_file(root, file, 0), 0);
		json_decref(root);
		assert_true(measure_cache_new(file, &c, &err) < 0);
		assert_non_null(strstr(err->msg, "ID"));
		sb_err_freep(&err);
	}
	{
		FILE *f = fopen(file, "w");
		fputs("{not json", f);
		fclose(f);
		assert_true(measure_cache_new(file, &c, &err) < 0);
		sb_err_freep(&err);
	}
	unlink(file);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void image_manifest(void **state)
{
	(void)state;
	_cleanup_free_ char *ovmf = test_fixture_path("snp/sev-snp-measure/ovmf_AmdSev_suffix.bin");
	_cleanup_free_ char *initrd = test_fixture_path("snp/generated/tiny-initrd.cpio");
	_cleanup_free_ char *dir = test_path(tmpdir, "image"), *m = test_path(tmpdir, "image/manifest.json");
	_cleanup_free_ char *l1 = test_path(tmpdir, "image/OVMF.fd"), *l2 = test_path(tmpdir, "image/initrd.img");
	measure_manifest_t *owner = NULL;
	struct measure_input in;
	struct measure_result res;
	sb_err *err = NULL;
	char hex[97];

	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(symlink(ovmf, l1), 0);
	assert_int_equal(symlink(initrd, l2), 0);
	write_text(m, "{\"name\": \"x\", \"ovmf\": {\"path\": \"OVMF.fd\", \"sha256\": "
		      "\"8f765dfabc127fc0a938a0744a3103ec15864d7d794eb4c398aa976b6d6ab16c\"},"
		      " \"kernel\": {\"sha256\": \"" DEBKERNEL_SHA256 "\"}, \"initrd\": \"initrd.img\","
		      " \"cmdline\": \"" CMDLINE "\", \"extra\": [1, 2]}");
	in = (struct measure_input){ .vcpus = 4, .vcpu_type = { .name = "EPYC-Milan" }, .guest_features = 0x21 };
	assert_int_equal(measure_manifest_load(m, &in, &owner, &err), 0);
	assert_int_equal(measure_launch_digest(&in, &res, &err), 0);
	hex_encode(res.digest, 48, hex);
	assert_string_equal(hex, DEBKERNEL_DIGEST);
	measure_manifest_free(owner);

	/* a manifest without firmware takes the caller's (snpbuild's own image);
	 * the same digest results */
	write_text(m, "{\"kernel\": {\"sha256\": \"" DEBKERNEL_SHA256 "\"}, \"initrd\": \"initrd.img\","
		      " \"cmdline\": \"" CMDLINE "\"}");
	in = (struct measure_input){ .vcpus = 4, .vcpu_type = { .name = "EPYC-Milan" }, .guest_features = 0x21,
				     .ovmf_path = l1 };
	assert_int_equal(measure_manifest_load(m, &in, &owner, &err), 0);
	assert_int_equal(measure_launch_digest(&in, &res, &err), 0);
	hex_encode(res.digest, 48, hex);
	assert_string_equal(hex, DEBKERNEL_DIGEST);
	measure_manifest_free(owner);

	/* ... but not a second one beside the manifest's */
	write_text(m, "{\"ovmf\": \"OVMF.fd\"}");
	assert_true(measure_manifest_load(m, &in, &owner, &err) < 0);
	assert_non_null(strstr(err->msg, "do not give another"));
	sb_err_freep(&err);

	/* a firmware that is not the one the manifest names */
	in = (struct measure_input){ .vcpus = 4, .vcpu_type = { .name = "EPYC-Milan" }, .guest_features = 0x21 };
	write_text(m, "{\"ovmf\": {\"path\": \"OVMF.fd\", \"sha256\": \"" DEBKERNEL_SHA256 "\"}}");
	assert_true(measure_manifest_load(m, &in, &owner, &err) < 0);
	assert_non_null(strstr(err->msg, "differs"));
	sb_err_freep(&err);
	write_text(m, "{\"kernel\": \"vmlinuz\"}");
	assert_true(measure_manifest_load(m, &in, &owner, &err) < 0);
	assert_non_null(strstr(err->msg, "ovmf"));
	sb_err_freep(&err);
	write_text(m, "{\"ovmf\": \"OVMF.fd\", \"kernel\": {\"sha256\": \"xyz\"}}");
	assert_true(measure_manifest_load(m, &in, &owner, &err) < 0);
	assert_non_null(strstr(err->msg, "kernel.sha256"));
	sb_err_freep(&err);
	unlink(m);
	unlink(l1);
	unlink(l2);
	rmdir(dir);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	const char *names[] = { "id.pem", "author.pem", "short.pem", "p256.pem" };
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *p = test_path(tmpdir, names[i]);
		unlink(p);
	}
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(id_block_layout),
		cmocka_unit_test(id_auth_signs),
		cmocka_unit_test(id_auth_zero_bytes),
		cmocka_unit_test(id_key_must_be_p384),
		cmocka_unit_test(record_roundtrip),
		cmocka_unit_test(cache_memory_and_disk),
		cmocka_unit_test(image_manifest),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
