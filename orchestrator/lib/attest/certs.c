/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificates: loading (PEM bundles or DER) and the AMD VCEK/VLEK
 * extensions (AMD KDS spec, OIDs 1.3.6.1.4.1.3704.1.*). OpenSSL parses the
 * X.509 structure; the extension values are ours to read, through the cursor.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "attest.h"
#include "cursor.h"
#include "fileio.h"

#define CERT_FILE_MAX (1024 * 1024)
#define AMD_OID_PREFIX "1.3.6.1.4.1.3704.1."

/* One DER TLV: tag (low-tag-number form), definite length, value. */
static bool der_tlv(sb_cursor *c, uint8_t *ret_tag, sb_cursor *ret_val)
{
	sb_cursor save = *c;
	uint8_t tag, l0;
	size_t len = 0;

	if (!cur_u8(c, &tag) || (tag & 0x1f) == 0x1f || !cur_u8(c, &l0))
		goto fail;
	if (l0 < 0x80) {
		len = l0;
	} else {
		unsigned n = l0 & 0x7f;
		if (n == 0 || n > 3) /* no indefinite form; nothing here is >16 MiB */
			goto fail;
		for (unsigned i = 0; i < n; i++) {
			uint8_t b;
			if (!cur_u8(c, &b) || (i == 0 && b == 0))
				goto fail;
			len = len << 8 | b;
		}
		if (len < 0x80)
			goto fail; /* not minimal */
	}
	if (!cur_sub(c, ret_val, len))
		goto fail;
	*ret_tag = tag;
	return true;
fail:
	*c = save;
	return false;
}

/* The whole of val is exactly one TLV with this tag. */
static bool der_only(const uint8_t *val, size_t len, uint8_t want_tag, sb_cursor *ret_val)
{
	sb_cursor c = cur_make(val, len);
	uint8_t tag;

	return der_tlv(&c, &tag, ret_val) && tag == want_tag && c.left == 0;
}

static int der_integer(const uint8_t *val, size_t len, int64_t *ret, sb_err **err)
{
	sb_cursor v;
	int64_t x;
	uint8_t b;

	if (!der_only(val, len, 0x02, &v))
		return sb_err_set(err, EBADMSG, "not a DER INTEGER");
	if (v.left == 0 || v.left > 8)
		return sb_err_set(err, EBADMSG, "INTEGER of %zu bytes", v.left);
	if (!cur_u8(&v, &b))
		return sb_err_set(err, EBADMSG, "empty INTEGER");
	x = (int8_t)b;
	while (cur_u8(&v, &b))
		x = (int64_t)((uint64_t)x << 8 | b);
	*ret = x;
	return 0;
}

static int der_ia5(const uint8_t *val, size_t len, char *out, size_t size, sb_err **err)
{
	sb_cursor v;
	const uint8_t *s;
	size_t n;

	if (!der_only(val, len, 0x16, &v))
		return sb_err_set(err, EBADMSG, "not a DER IA5String");
	n = v.left;
	if (n >= size)
		return sb_err_set(err, EBADMSG, "string of %zu bytes is too long", n);
	if (!cur_view(&v, &s, n))
		return sb_err_set(err, EBADMSG, "truncated string");
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return sb_err_set(err, EBADMSG, "non-printable byte 0x%02x in string", s[i]);
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static bool hwid_len_ok(size_t n)
{
	return n == ATTEST_CHIP_ID_SIZE || n == ATTEST_TURIN_HWID_SIZE;
}

int attest_cert_ext_parse_value(enum attest_ext_kind kind, unsigned index, const uint8_t *val, size_t len,
				struct attest_cert_ext *ext, sb_err **err)
{
	int64_t x;
	int r;

	switch (kind) {
	case ATTEST_EXT_STRUCT_VERSION:
		r = der_integer(val, len, &x, err);
		if (r < 0)
			return sb_err_wrap(err, "structVersion");
		ext->has_struct_version = true;
		ext->struct_version = x;
		return 0;
	case ATTEST_EXT_PRODUCT_NAME:
		r = der_ia5(val, len, ext->product_name, sizeof(ext->product_name), err);
		return r < 0 ? sb_err_wrap(err, "productName") : 0;
	case ATTEST_EXT_CSP_ID:
		r = der_ia5(val, len, ext->csp_id, sizeof(ext->csp_id), err);
		return r < 0 ? sb_err_wrap(err, "cspID") : 0;
	case ATTEST_EXT_SPL:
		if (index < 1 || index >= ELEMENTSOF(ext->spl))
			return sb_err_set(err, EINVAL, "SPL %u: unknown", index);
		r = der_integer(val, len, &x, err);
		if (r < 0)
			return sb_err_wrap(err, "SPL %u", index);
		if (x < 0 || x > 255)
			return sb_err_set(err, EBADMSG, "SPL %u: %lld is not 0..255", index, (long long)x);
		ext->has_spl[index] = true;
		ext->spl[index] = (uint8_t)x;
		return 0;
	case ATTEST_EXT_HWID: {
		/* Two encodings in the wild: the raw bytes, or an OCTET STRING around them. */
		sb_cursor v;
		if (der_only(val, len, 0x04, &v) && hwid_len_ok(v.left)) {
			ext->hwid_len = v.left;
			if (!cur_bytes(&v, ext->hwid, v.left))
				return sb_err_set(err, EBADMSG, "hwID: truncated");
			return 0;
		}
		if (!hwid_len_ok(len))
			return sb_err_set(err, EBADMSG, "hwID: %zu bytes, expected 64 or 8", len);
		v = cur_make(val, len);
		if (!cur_bytes(&v, ext->hwid, len))
			return sb_err_set(err, EBADMSG, "hwID: truncated");
		ext->hwid_len = len;
		return 0;
	}
	}
	return sb_err_set(err, EINVAL, "unknown extension kind %d", (int)kind);
}

/* Maps the text OID after AMD_OID_PREFIX to a kind; false if not ours. */
static bool amd_oid_kind(const char *suffix, enum attest_ext_kind *kind, unsigned *index)
{
	*index = 0;
	if (!strcmp(suffix, "1"))
		*kind = ATTEST_EXT_STRUCT_VERSION;
	else if (!strcmp(suffix, "2"))
		*kind = ATTEST_EXT_PRODUCT_NAME;
	else if (!strcmp(suffix, "4"))
		*kind = ATTEST_EXT_HWID;
	else if (!strcmp(suffix, "5"))
		*kind = ATTEST_EXT_CSP_ID;
	else if (!strncmp(suffix, "3.", 2) && suffix[2] >= '1' && suffix[2] <= '9' && suffix[3] == '\0') {
		*kind = ATTEST_EXT_SPL;
		*index = (unsigned)(suffix[2] - '0');
	} else
		return false;
	return true;
}

int attest_cert_ext_parse(X509 *cert, struct attest_cert_ext *ret, sb_err **err)
{
	struct attest_cert_ext ext;
	bool seen[6][10];
	int n = X509_get_ext_count(cert);

	memset(&ext, 0, sizeof(ext));
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < n; i++) {
		X509_EXTENSION *e = X509_get_ext(cert, i);
		ASN1_OCTET_STRING *data;
		char oid[128];
		enum attest_ext_kind kind;
		unsigned index;
		int r, olen;

		if (!e)
			continue;
		olen = OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e), 1);
		if (olen <= 0 || (size_t)olen >= sizeof(oid))
			continue;
		if (strncmp(oid, AMD_OID_PREFIX, strlen(AMD_OID_PREFIX)) != 0)
			continue;
		if (!amd_oid_kind(oid + strlen(AMD_OID_PREFIX), &kind, &index))
			continue; /* an AMD extension defined after us */
		if (seen[kind][index])
			return sb_err_set(err, EBADMSG, "certificate extension %s appears twice", oid);
		seen[kind][index] = true;
		data = X509_EXTENSION_get_data(e);
		if (!data)
			return sb_err_set(err, EBADMSG, "certificate extension %s: no value", oid);
		r = attest_cert_ext_parse_value(kind, index, ASN1_STRING_get0_data(data),
						(size_t)ASN1_STRING_length(data), &ext, err);
		if (r < 0)
			return sb_err_wrap(err, "certificate extension %s", oid);
	}
	*ret = ext;
	return 0;
}

struct attest_tcb attest_cert_ext_tcb(const struct attest_cert_ext *ext, enum attest_product p)
{
	struct attest_tcb t = {
		.bootloader = ext->spl[1],
		.tee = ext->spl[2],
		.snp = ext->spl[3],
		.microcode = ext->spl[8],
	};
	if (p == ATTEST_PRODUCT_TURIN) {
		t.has_fmc = true;
		t.fmc = ext->spl[9];
	}
	t.raw = attest_tcb_encode(&t, p);
	return t;
}

void attest_cert_cn(X509 *cert, char *buf, size_t size)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int len;

	buf[0] = '\0';
	if (!name)
		return;
	len = X509_NAME_get_text_by_NID(name, NID_commonName, buf, (int)size);
	if (len < 0)
		buf[0] = '\0';
}

int attest_cert_from_der(const uint8_t *der, size_t len, X509 **ret, sb_err **err)
{
	const unsigned char *p = der;
	X509 *x;

	if (len > CERT_FILE_MAX)
		return sb_err_set(err, EFBIG, "certificate: %zu bytes is too large", len);
	x = d2i_X509(NULL, &p, (long)len);
	if (!x) {
		ERR_clear_error();
		return sb_err_set(err, EBADMSG, "not a DER X.509 certificate");
	}
	if ((size_t)(p - der) != len) {
		X509_free(x);
		return sb_err_set(err, EBADMSG, "%zu bytes of garbage after the certificate", len - (size_t)(p - der));
	}
	*ret = x;
	return 0;
}

static void sk_x509_pop_freep(STACK_OF(X509) **sk)
{
	if (*sk)
		sk_X509_pop_free(*sk, X509_free);
}

static void biop(BIO **b)
{
	BIO_free(*b);
}

int attest_certs_load(const char *path, STACK_OF(X509) **ret, sb_err **err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(sk_x509_pop_freep) STACK_OF(X509) *sk = NULL;
	size_t len = 0;
	int r = file_read_max(path, CERT_FILE_MAX, &buf, &len, err);

	if (r < 0)
		return r;
	sk = sk_X509_new_null();
	if (!sk)
		return sb_err_set(err, ENOMEM, "%s: out of memory", path);
	if (memmem(buf, len, "-----BEGIN", 10)) {
		_cleanup_(biop) BIO *bio = BIO_new_mem_buf(buf, (int)len);
		X509 *x;

		if (!bio)
			return sb_err_set(err, ENOMEM, "%s: out of memory", path);
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			if (!sk_X509_push(sk, x)) {
				X509_free(x);
				return sb_err_set(err, ENOMEM, "%s: out of memory", path);
			}
		}
		/* A clean end is "no start line"; anything else is a broken certificate. */
		unsigned long e = ERR_peek_last_error();
		ERR_clear_error();
		if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
			return sb_err_set(err, EBADMSG, "%s: PEM certificate #%d is not a valid X.509 certificate",
					  path, sk_X509_num(sk) + 1);
		if (sk_X509_num(sk) == 0)
			return sb_err_set(err, EBADMSG, "%s: no valid PEM certificate", path);
	} else {
		X509 *x;
		r = attest_cert_from_der(buf, len, &x, err);
		if (r < 0)
			return sb_err_wrap(err, "%s", path);
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			return sb_err_set(err, ENOMEM, "%s: out of memory", path);
		}
	}
	*ret = TAKE_PTR(sk);
	return 0;
}
