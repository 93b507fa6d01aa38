/* SPDX-License-Identifier: Apache-2.0 */
#include "prov.h"

#include <fcntl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hexutil.h"
#include "job.h"

/* --- base64 ------------------------------------------------------------------ */

static int b64_value(char c, int *alphabet)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	int want = (c == '+' || c == '/') ? 1 : (c == '-' || c == '_') ? 2 : 0;
	if (!want || (*alphabet && *alphabet != want))
		return -1;
	*alphabet = want;
	return (c == '+' || c == '-') ? 62 : 63;
}

int prov_base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len, sb_err **err)
{
	size_t pad = 0, data, out_len, o = 0;
	int alphabet = 0;
	uint8_t *out;

	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	data = len - pad;
	if ((pad && len % 4) || data % 4 == 1)
		return sb_err_set(err, EBADMSG, "base64: bad length %zu", len);
	out_len = data / 4 * 3 + (data % 4 ? data % 4 - 1 : 0);
	out = malloc(out_len ? out_len : 1);
	if (!out)
		return sb_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < data; i += 4) {
		uint32_t acc = 0;
		size_t n = data - i < 4 ? data - i : 4;
		for (size_t k = 0; k < 4; k++) {
			int v = 0;
			if (k < n && (v = b64_value(s[i + k], &alphabet)) < 0) {
				free(out);
				return sb_err_set(err, EBADMSG, "base64: invalid character at offset %zu", i + k);
			}
			acc = acc << 6 | (uint32_t)v;
		}
		/* n chars carry 6n bits: 2 -> 1 byte, 3 -> 2, 4 -> 3; the rest must be zero */
		if ((n == 2 && (acc & 0xffff)) || (n == 3 && (acc & 0xff))) {
			free(out);
			return sb_err_set(err, EBADMSG, "base64: non-zero trailing bits");
		}
		for (size_t k = 0; k < n - 1; k++)
			out[o++] = (uint8_t)(acc >> (16 - 8 * k));
	}
	*ret = out;
	*ret_len = out_len;
	return 0;
}

char *prov_base64_encode(const void *buf, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
	return out;
}

int prov_pae(const char *type, const uint8_t *body, size_t len, uint8_t **ret, size_t *ret_len)
{
	char hdr[64];
	size_t tlen = strlen(type);
	int h = snprintf(hdr, sizeof(hdr), "DSSEv1 %zu ", tlen);
	int h2;
	char mid[32];
	uint8_t *out;

	h2 = snprintf(mid, sizeof(mid), " %zu ", len);
	out = malloc((size_t)h + tlen + (size_t)h2 + len + 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, hdr, (size_t)h);
	memcpy(out + h, type, tlen);
	memcpy(out + (size_t)h + tlen, mid, (size_t)h2);
	if (len)
		memcpy(out + (size_t)h + tlen + (size_t)h2, body, len);
	*ret = out;
	*ret_len = (size_t)h + tlen + (size_t)h2 + len;
	return 0;
}

/* --- the envelope --------------------------------------------------------------- */

void prov_envelope_free(prov_envelope *e)
{
	if (!e)
		return;
	free(e->payload_type);
	free(e->payload);
	for (size_t i = 0; i < e->n_sigs; i++) {
		free(e->sigs[i].keyid);
		free(e->sigs[i].sig);
	}
	free(e->sigs);
	free(e);
}

static bool only_keys(json_t *o, const char *const *allowed, size_t n, const char **ret_bad)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		bool ok = false;
		for (size_t i = 0; i < n; i++)
			ok |= !strcmp(k, allowed[i]);
		if (!ok) {
			*ret_bad = k;
			return false;
		}
	}
	return true;
}

static int b64_member(json_t *o, const char *key, const char *where, size_t max, uint8_t **ret, size_t *ret_len,
		      sb_err **err)
{
	json_t *v = json_object_get(o, key);
	int r;
	if (!json_is_string(v))
		return sb_err_set(err, EBADMSG, "%s.%s: must be a base64 string", where, key);
	if (json_string_length(v) > max / 3 * 4 + 4)
		return sb_err_set(err, EFBIG, "%s.%s: longer than %zu bytes", where, key, max);
	if ((r = prov_base64_decode(json_string_value(v), json_string_length(v), ret, ret_len, err)) < 0)
		return sb_err_wrap(err, "%s.%s", where, key);
	return 0;
}

int prov_envelope_parse(const void *buf, size_t len, prov_envelope **ret, sb_err **err)
{
	static const char *const top[] = { "payloadType", "payload", "signatures" };
	static const char *const sigkeys[] = { "keyid", "sig" };
	_cleanup_(prov_envelope_freep) prov_envelope *e = NULL;
	json_error_t je;
	json_t *root, *sigs, *pt;
	const char *bad = NULL;
	int r = 0;

	if (len > PROV_MAX_ENVELOPE)
		return sb_err_set(err, EFBIG, "envelope: %zu bytes exceeds the limit of %u", len, PROV_MAX_ENVELOPE);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return sb_err_set(err, EBADMSG, "envelope: not JSON: %s (at byte %d)", je.text, je.position);
	e = calloc(1, sizeof(*e));
	if (!e) {
		json_decref(root);
		return sb_err_set(err, ENOMEM, "out of memory");
	}
	if (!json_is_object(root)) {
		r = sb_err_set(err, EBADMSG, "envelope: not a JSON object");
		goto out;
	}
	if (!only_keys(root, top, ELEMENTSOF(top), &bad)) {
		r = sb_err_set(err, EBADMSG, "envelope: unknown member '%.64s'", bad);
		goto out;
	}
	pt = json_object_get(root, "payloadType");
	if (!json_is_string(pt) || json_string_length(pt) == 0 || json_string_length(pt) > 256) {
		r = sb_err_set(err, EBADMSG, "envelope.payloadType: must be a non-empty string");
		goto out;
	}
	e->payload_type = strdup(json_string_value(pt));
	if ((r = b64_member(root, "payload", "envelope", PROV_MAX_ENVELOPE, &e->payload, &e->payload_len, err)) < 0)
		goto out;
	sigs = json_object_get(root, "signatures");
	if (!json_is_array(sigs) || json_array_size(sigs) == 0 || json_array_size(sigs) > PROV_MAX_SIGNATURES) {
		r = sb_err_set(err, EBADMSG, "envelope.signatures: must be an array of 1..%d signatures",
			       PROV_MAX_SIGNATURES);
		goto out;
	}
	e->sigs = calloc(json_array_size(sigs), sizeof(*e->sigs));
	if (!e->sigs || !e->payload_type) {
		r = sb_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(sigs); i++) {
		json_t *s = json_array_get(sigs, i), *kid;
		char where[48];
		snprintf(where, sizeof(where), "envelope.signatures[%zu]", i);
		if (!json_is_object(s)) {
			r = sb_err_set(err, EBADMSG, "%s: must be an object", where);
			goto out;
		}
		if (!only_keys(s, sigkeys, ELEMENTSOF(sigkeys), &bad)) {
			r = sb_err_set(err, EBADMSG, "%s: unknown member '%.64s'", where, bad);
			goto out;
		}
		kid = json_object_get(s, "keyid");
		if (kid && (!json_is_string(kid) || json_string_length(kid) > 256)) {
			r = sb_err_set(err, EBADMSG, "%s.keyid: must be a string", where);
			goto out;
		}
		e->sigs[i].keyid = strdup(kid ? json_string_value(kid) : "");
		e->n_sigs++;
		if (!e->sigs[i].keyid) {
			r = sb_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		if ((r = b64_member(s, "sig", where, PROV_MAX_SIG_LEN, &e->sigs[i].sig, &e->sigs[i].sig_len, err)) < 0)
			goto out;
		if (e->sigs[i].sig_len == 0 || e->sigs[i].sig_len > PROV_MAX_SIG_LEN) {
			r = sb_err_set(err, EBADMSG, "%s.sig: %zu bytes is not a signature", where, e->sigs[i].sig_len);
			goto out;
		}
	}
	*ret = TAKE_PTR(e);
out:
	json_decref(root);
	return r;
}

static const EVP_MD *key_md(EVP_PKEY *key)
{
	char group[32];
	size_t n = 0;
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &n))
		return NULL;
	if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"))
		return EVP_sha256();
	if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384"))
		return EVP_sha384();
	return NULL;
}

static int sig_verifies(EVP_PKEY *key, const uint8_t *msg, size_t len, const prov_signature *s)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, key_md(key), NULL, key) == 1 &&
		 EVP_DigestVerify(ctx, s->sig, s->sig_len, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

int prov_envelope_verify(const prov_envelope *e, EVP_PKEY *key, sb_err **err)
{
	_cleanup_free_ uint8_t *pae = NULL;
	size_t pae_len, good = 0, first = 0;

	if (!key_md(key))
		return sb_err_set(err, EBADMSG, "the signing key is not ECDSA P-256 or P-384");
	for (size_t i = 0; i < e->n_sigs; i++)
		for (size_t k = 0; k < i; k++) {
			if (e->sigs[i].sig_len == e->sigs[k].sig_len &&
			    !memcmp(e->sigs[i].sig, e->sigs[k].sig, e->sigs[i].sig_len))
				return sb_err_set(err, EBADMSG,
						  "signatures[%zu] repeats signatures[%zu]: a signature counts once", i, k);
			if (e->sigs[i].keyid[0] && !strcmp(e->sigs[i].keyid, e->sigs[k].keyid))
				return sb_err_set(err, EBADMSG,
						  "signatures[%zu] and [%zu] name the same keyid: a key counts once", k, i);
		}
	if (prov_pae(e->payload_type, e->payload, e->payload_len, &pae, &pae_len) < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < e->n_sigs; i++) {
		if (!sig_verifies(key, pae, pae_len, &e->sigs[i]))
			continue;
		if (good++ == 0)
			first = i;
		else
			return sb_err_set(err, EBADMSG,
					  "signatures[%zu] and [%zu] are both by the bundled key: a key counts once",
					  first, i);
	}
	if (!good)
		return sb_err_set(err, EBADMSG,
				  "no signature verifies with the bundled key over the payload as carried "
				  "(another key, or a payload changed or re-encoded after signing)");
	return 0;
}

/* --- the Statement --------------------------------------------------------------- */

void prov_statement_free(prov_statement *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_subjects; i++)
		free(s->subjects[i].name);
	free(s->subjects);
	free(s->job_raw);
	free(s->job_name);
	free(s->tee);
	free(s->builder_id);
	free(s->invocation_id);
	free(s->started_on);
	free(s->finished_on);
	free(s);
}

static int hex32(json_t *v, uint8_t out[SHA256_LEN])
{
	if (!json_is_string(v) || json_string_length(v) != 2 * SHA256_LEN)
		return -EINVAL;
	return hex_decode(json_string_value(v), out, SHA256_LEN);
}

static char *strdup_member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

int prov_statement_parse(const uint8_t *buf, size_t len, prov_statement **ret, sb_err **err)
{
	_cleanup_(prov_statement_freep) prov_statement *s = NULL;
	json_error_t je;
	json_t *root, *v, *subj, *pred, *bd, *ext, *jd, *jobj, *jparsed = NULL, *internal, *deps, *rd;
	uint8_t md[SHA256_LEN];
	int r = 0;

	if (len > PROV_MAX_ENVELOPE)
		return sb_err_set(err, EFBIG, "statement: too large");
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return sb_err_set(err, EBADMSG, "statement: not JSON: %s (at byte %d)", je.text, je.position);
	s = calloc(1, sizeof(*s));
	if (!s) {
		json_decref(root);
		return sb_err_set(err, ENOMEM, "out of memory");
	}
#define BAD(...)                                             \
	do {                                                 \
		r = sb_err_set(err, EBADMSG, __VA_ARGS__); \
		goto out;                                    \
	} while (0)
	if (!json_is_object(root))
		BAD("statement: not a JSON object");
	v = json_object_get(root, "_type");
	if (!json_is_string(v) || strcmp(json_string_value(v), EVIDENCE_STATEMENT_TYPE))
		BAD("statement._type: must be \"%s\"", EVIDENCE_STATEMENT_TYPE);
	v = json_object_get(root, "predicateType");
	if (!json_is_string(v) || strcmp(json_string_value(v), EVIDENCE_PREDICATE_TYPE))
		BAD("statement.predicateType: must be \"%s\"", EVIDENCE_PREDICATE_TYPE);

	subj = json_object_get(root, "subject");
	if (!json_is_array(subj) || json_array_size(subj) == 0 || json_array_size(subj) > PROV_MAX_SUBJECTS)
		BAD("statement.subject: must be an array of 1..%d subjects", PROV_MAX_SUBJECTS);
	s->subjects = calloc(json_array_size(subj), sizeof(*s->subjects));
	if (!s->subjects)
		BAD("out of memory");
	for (size_t i = 0; i < json_array_size(subj); i++) {
		json_t *o = json_array_get(subj, i), *name = json_object_get(o, "name");
		if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 4096)
			BAD("statement.subject[%zu].name: must be a non-empty string", i);
		if (hex32(json_object_get(json_object_get(o, "digest"), "sha256"), s->subjects[i].sha256) < 0)
			BAD("statement.subject[%zu].digest.sha256: must be 64 hex digits", i);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(s->subjects[k].name, json_string_value(name)))
				BAD("statement.subject[%zu]: the name '%.255s' is listed twice", i, json_string_value(name));
		s->subjects[i].name = strdup(json_string_value(name));
		s->n_subjects++;
		if (!s->subjects[i].name)
			BAD("out of memory");
	}

	pred = json_object_get(root, "predicate");
	bd = json_object_get(pred, "buildDefinition");
	v = json_object_get(bd, "buildType");
	if (!json_is_string(v) || strcmp(json_string_value(v), EVIDENCE_BUILD_TYPE))
		BAD("statement.predicate.buildDefinition.buildType: must be \"%s\"", EVIDENCE_BUILD_TYPE);
	ext = json_object_get(bd, "externalParameters");
	jd = json_object_get(ext, "jobDescriptor");
	if (hex32(json_object_get(jd, "sha256"), s->job_sha256) < 0)
		BAD("externalParameters.jobDescriptor.sha256: must be 64 hex digits");
	if (b64_member(jd, "base64", "externalParameters.jobDescriptor", JOB_MAX_BYTES, &s->job_raw, &s->job_raw_len,
		       err) < 0) {
		r = -EBADMSG;
		goto out;
	}
	digest_sha256(s->job_raw, s->job_raw_len, md);
	if (memcmp(md, s->job_sha256, SHA256_LEN))
		BAD("externalParameters.jobDescriptor: the bytes carried do not have the sha256 stated");
	/* The readable copy must say what the bytes say. */
	jobj = json_object_get(ext, "job");
	jparsed = json_loadb((const char *)s->job_raw, s->job_raw_len, JSON_REJECT_DUPLICATES, NULL);
	if (!jobj || !jparsed || !json_equal(jobj, jparsed))
		BAD("externalParameters.job: differs from the job descriptor bytes carried");
	s->job_name = strdup_member(jparsed, "name");

	internal = json_object_get(bd, "internalParameters");
	s->tee = strdup_member(internal, "tee");
	v = json_object_get(internal, "insecureDevMode");
	if (!s->tee || (strcmp(s->tee, "snp") && strcmp(s->tee, "none")) || !json_is_boolean(v) ||
	    json_is_true(v) != !strcmp(s->tee, "none"))
		BAD("internalParameters: tee must be \"snp\" or \"none\", and insecureDevMode true exactly for \"none\"");
	s->insecure_dev_mode = json_is_true(v);

	deps = json_object_get(bd, "resolvedDependencies");
	if (deps && !json_is_array(deps))
		BAD("resolvedDependencies: must be an array");
	for (size_t i = 0; i < json_array_size(deps); i++) {
		json_t *d = json_array_get(deps, i), *n = json_object_get(d, "name");
		if (json_is_string(n) && !strcmp(json_string_value(n), "source")) {
			if (s->has_source)
				BAD("resolvedDependencies: 'source' is listed twice");
			if (hex32(json_object_get(json_object_get(d, "digest"), "sha256"), s->source_sha256) < 0)
				BAD("resolvedDependencies[%zu].digest.sha256: must be 64 hex digits", i);
			s->has_source = true;
		}
	}
	rd = json_object_get(json_object_get(pred, "runDetails"), "metadata");
	s->builder_id = strdup_member(json_object_get(json_object_get(pred, "runDetails"), "builder"), "id");
	if (!s->builder_id)
		BAD("runDetails.builder.id: must be a string");
	s->invocation_id = strdup_member(rd, "invocationId");
	s->started_on = strdup_member(rd, "startedOn");
	s->finished_on = strdup_member(rd, "finishedOn");
#undef BAD
	*ret = TAKE_PTR(s);
out:
	json_decref(jparsed);
	json_decref(root);
	return r;
}

/* --- keys ---------------------------------------------------------------------- */

static int check_key(EVP_PKEY *k, const char *what, sb_err **err)
{
	if (!key_md(k))
		return sb_err_set(err, EBADMSG, "%s: not an ECDSA P-256 or P-384 public key", what);
	return 0;
}

int prov_pubkey_from_der(const uint8_t *der, size_t len, EVP_PKEY **ret, sb_err **err)
{
	const uint8_t *p = der;
	EVP_PKEY *k;

	if (len == 0 || len > EVIDENCE_MAX_KEY_DER)
		return sb_err_set(err, EBADMSG, "public key: %zu bytes of DER", len);
	k = d2i_PUBKEY(NULL, &p, (long)len);
	if (!k || p != der + len) {
		EVP_PKEY_free(k);
		return sb_err_set(err, EBADMSG, "public key: not one DER SubjectPublicKeyInfo");
	}
	if (check_key(k, "public key", err) < 0) {
		EVP_PKEY_free(k);
		return -EBADMSG;
	}
	*ret = k;
	return 0;
}

int prov_pubkey_load(const char *path, EVP_PKEY **ret, sb_err **err)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *k;

	if (!f)
		return sb_err_sys(err, errno, "%s", path);
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (k) {
		/* Exactly one key: anything after it but white space is refused. */
		int c;
		while ((c = fgetc(f)) != EOF && (c == ' ' || c == '\n' || c == '\r' || c == '\t'))
			;
		if (c != EOF) {
			fclose(f);
			EVP_PKEY_free(k);
			return sb_err_set(err, EBADMSG, "%s: more than one key, or data after the key", path);
		}
	}
	fclose(f);
	if (!k)
		return sb_err_set(err, EBADMSG, "%s: not a PEM public key", path);
	if (check_key(k, path, err) < 0) {
		EVP_PKEY_free(k);
		return -EBADMSG;
	}
	*ret = k;
	return 0;
}

int prov_pubkey_der(EVP_PKEY *key, uint8_t **ret, size_t *ret_len, sb_err **err)
{
	uint8_t *p = NULL, *out;
	int n = i2d_PUBKEY(key, &p);
	if (n <= 0)
		return sb_err_set(err, EINVAL, "public key: cannot encode");
	out = malloc((size_t)n);
	if (out)
		memcpy(out, p, (size_t)n);
	OPENSSL_free(p);
	if (!out)
		return sb_err_set(err, ENOMEM, "out of memory");
	*ret = out;
	*ret_len = (size_t)n;
	return 0;
}

int prov_pubkey_pem(EVP_PKEY *key, char **ret, sb_err **err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (!b || !PEM_write_bio_PUBKEY(b, key)) {
		BIO_free(b);
		return sb_err_set(err, EINVAL, "public key: cannot encode PEM");
	}
	n = BIO_get_mem_data(b, &data);
	out = malloc((size_t)n + 1);
	if (out) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	if (!out)
		return sb_err_set(err, ENOMEM, "out of memory");
	*ret = out;
	return 0;
}

void prov_report_data(const uint8_t job_sha256[SHA256_LEN], EVP_PKEY *key, uint8_t out[EVIDENCE_REPORT_DATA_LEN])
{
	_cleanup_free_ uint8_t *der = NULL;
	size_t n = 0;

	if (prov_pubkey_der(key, &der, &n, NULL) < 0) {
		memset(out, 0, EVIDENCE_REPORT_DATA_LEN);
		return;
	}
	evidence_report_data(job_sha256, der, n, out);
}

int prov_report_binds(const struct attest_report *r, const uint8_t job_sha256[SHA256_LEN], EVP_PKEY *key)
{
	uint8_t want[EVIDENCE_REPORT_DATA_LEN];
	prov_report_data(job_sha256, key, want);
	return CRYPTO_memcmp(want, r->report_data, EVIDENCE_REPORT_DATA_LEN) == 0;
}

/* --- the bundle ----------------------------------------------------------------- */

static int read_bounded(const char *path, size_t max, uint8_t **ret, size_t *ret_len, sb_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	if (fd < 0)
		return sb_err_sys(err, errno, "%s", path);
	if (fstat(fd, &st) < 0)
		return sb_err_sys(err, errno, "%s", path);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
		return sb_err_set(err, EFBIG, "%s: not a regular file of at most %zu bytes", path, max);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return sb_err_set(err, ENOMEM, "out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return sb_err_sys(err, n < 0 ? errno : EIO, "%s", path);
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*ret = buf;
	*ret_len = got;
	return 0;
}

void prov_bundle_free(prov_bundle *b)
{
	if (!b)
		return;
	free(b->dir);
	prov_envelope_free(b->env);
	prov_statement_free(b->st);
	free(b->st_error);
	EVP_PKEY_free(b->key);
	sk_X509_pop_free(b->vcek, X509_free);
	free(b);
}

int prov_bundle_load(const char *dir, prov_bundle **ret, sb_err **err)
{
	_cleanup_(prov_bundle_freep) prov_bundle *b = calloc(1, sizeof(*b));
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_err_ sb_err *e = NULL;
	size_t len = 0, line;
	int r;

	if (!b)
		return sb_err_set(err, ENOMEM, "out of memory");
	b->dir = strdup(dir);
	if (asprintf(&path, "%s/" PROV_FILE_PROVENANCE, dir) < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	if ((r = read_bounded(path, PROV_MAX_ENVELOPE, &buf, &len, err)) < 0)
		return r;
	/* JSON Lines: exactly one envelope, the one the guest signed. */
	for (line = 0; line < len && buf[line] != '\n'; line++)
		;
	for (size_t i = line; i < len; i++)
		if (buf[i] != '\n' && buf[i] != '\r' && buf[i] != ' ' && buf[i] != '\t')
			return sb_err_set(err, EBADMSG, "%s: more than one line: a bundle holds exactly one envelope",
					  path);
	if ((r = prov_envelope_parse(buf, line, &b->env, err)) < 0)
		return sb_err_wrap(err, "%s", path);
	if (prov_statement_parse(b->env->payload, b->env->payload_len, &b->st, &e) < 0) {
		b->st_error = strdup(e->msg);
		if (!b->st_error)
			return sb_err_set(err, ENOMEM, "out of memory");
	}

	free(path);
	if (asprintf(&path, "%s/" PROV_DIR_ATTESTATION "/" PROV_FILE_PUBKEY, dir) < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	if ((r = prov_pubkey_load(path, &b->key, err)) < 0)
		return r;

	free(path);
	if (asprintf(&path, "%s/" PROV_DIR_ATTESTATION "/" PROV_FILE_REPORT, dir) < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	if (access(path, F_OK) == 0) {
		if ((r = attest_report_load(path, &b->report, err)) < 0)
			return r;
		b->has_report = true;
	}

	free(path);
	if (asprintf(&path, "%s/" PROV_DIR_ATTESTATION "/" PROV_FILE_VCEK, dir) < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	if (access(path, F_OK) == 0 && (r = attest_certs_load(path, &b->vcek, err)) < 0)
		return r;
	*ret = TAKE_PTR(b);
	return 0;
}

/* --- the chain ---------------------------------------------------------------------- */

const char *prov_link_name(enum prov_link l)
{
	switch (l) {
	case PROV_LINK_SUBJECT: return "subject";
	case PROV_LINK_SIGNATURE: return "signature";
	case PROV_LINK_BINDING: return "key-binding";
	case PROV_LINK_REPORT: return "report-chain";
	case PROV_LINK_MEASUREMENT: return "measurement";
	case PROV_LINK_HOST_DATA: return "host-data";
	case PROV_LINK_POLICY: return "policy-tcb";
	}
	return "unknown";
}

void prov_verify_result_clear(prov_verify_result *r)
{
	free(r->message);
	free(r->subject_names);
	*r = (prov_verify_result){ 0 };
}

static void result_init(prov_verify_result *r)
{
	*r = (prov_verify_result){ 0 };
	for (int i = 0; i <= PROV_N_LINKS; i++)
		r->link[i] = -1;
}

_printf_(3, 4) static int link_fail(prov_verify_result *r, enum prov_link l, const char *fmt, ...)
{
	va_list ap;
	r->valid = false;
	r->link[l] = 0;
	if (r->failed)
		return 0;
	r->failed = l;
	va_start(ap, fmt);
	if (vasprintf(&r->message, fmt, ap) < 0)
		r->message = NULL;
	va_end(ap);
	return 0;
}

static enum prov_link reason_link(enum attest_reason_code c)
{
	switch (c) {
	case ATTEST_R_MEASUREMENT: return PROV_LINK_MEASUREMENT;
	case ATTEST_R_HOST_DATA: return PROV_LINK_HOST_DATA;
	case ATTEST_R_DEBUG:
	case ATTEST_R_VMPL:
	case ATTEST_R_MIGRATE_MA:
	case ATTEST_R_SMT:
	case ATTEST_R_MIN_TCB:
	case ATTEST_R_GUEST_SVN:
	case ATTEST_R_REPORT_DATA:
	case ATTEST_R_FAMILY_ID:
	case ATTEST_R_IMAGE_ID:
	case ATTEST_R_STEPPING:
		return PROV_LINK_POLICY;
	default:
		return PROV_LINK_REPORT;
	}
}

int prov_check_report(const struct attest_report *rep, const struct attest_evidence *ev,
		      const uint8_t job_sha256[SHA256_LEN], const prov_verify_opts *o, prov_verify_result *ret,
		      sb_err **err)
{
	_cleanup_(attest_verdict_freep) struct attest_verdict *v = NULL;
	struct attest_policy pol = o->policy;
	int r;

	pol.has_host_data = true;
	memcpy(pol.host_data, job_sha256, SHA256_LEN);
	pol.has_measurement = o->has_reference;
	if (o->has_reference)
		memcpy(pol.measurement, o->reference_measurement, SHA384_LEN);
	if ((r = attest_verify(o->ctx, rep, ev, &pol, &v, err)) < 0)
		return r;
	for (int l = PROV_LINK_REPORT; l <= PROV_LINK_POLICY; l++) {
		bool bad = false;
		for (size_t i = 0; i < v->n_reasons; i++)
			if (reason_link(v->reasons[i].code) == (enum prov_link)l) {
				if (!bad)
					link_fail(ret, (enum prov_link)l, "%s: %s", attest_reason_name(v->reasons[i].code),
						  v->reasons[i].msg);
				bad = true;
			}
		if (l == PROV_LINK_MEASUREMENT && !o->has_reference && !bad) {
			char hex[2 * SHA384_LEN + 1];
			hex_encode(rep->measurement, SHA384_LEN, hex);
			link_fail(ret, PROV_LINK_MEASUREMENT,
				  "no reference value to compare MEASUREMENT %s with (--reference, from "
				  "'snpbuild measure --json')",
				  hex);
			bad = true;
		}
		if (!bad)
			ret->link[l] = 1;
		if (ret->failed)
			break; /* the first failing link is the verdict */
	}
	return 0;
}

int prov_verify(const prov_bundle *b, const uint8_t (*artifacts)[SHA256_LEN], const char *const *names,
		size_t n_artifacts, const prov_verify_opts *o, prov_verify_result *ret, sb_err **err)
{
	_cleanup_err_ sb_err *e = NULL;
	size_t cap = 1, used = 0;
	char *joined;
	int r;

	result_init(ret);
	ret->valid = true;

	/* 1. every artifact is a subject */
	if (!b->st) {
		link_fail(ret, PROV_LINK_SUBJECT, "the provenance payload is not an snpbuild SLSA provenance: %s",
			  b->st_error ? b->st_error : "unparsed");
		return 0;
	}
	if (n_artifacts == 0) {
		link_fail(ret, PROV_LINK_SUBJECT, "no artifact given to verify");
		return 0;
	}
	for (size_t i = 0; i < b->st->n_subjects; i++)
		cap += strlen(b->st->subjects[i].name) + 2;
	joined = calloc(1, cap);
	if (!joined)
		return sb_err_set(err, ENOMEM, "out of memory");
	ret->subject_names = joined;
	for (size_t a = 0; a < n_artifacts; a++) {
		size_t k;
		for (k = 0; k < b->st->n_subjects; k++)
			if (!memcmp(b->st->subjects[k].sha256, artifacts[a], SHA256_LEN))
				break;
		if (k == b->st->n_subjects) {
			char hex[SHA256_HEX_LEN];
			hex_encode(artifacts[a], SHA256_LEN, hex);
			link_fail(ret, PROV_LINK_SUBJECT,
				  "%s (sha256 %s) is not a subject of the provenance: it names %zu other artifact(s)",
				  names ? names[a] : "the artifact", hex, b->st->n_subjects);
			return 0;
		}
		used += (size_t)snprintf(joined + used, cap - used, "%s%s", used ? ", " : "",
					 b->st->subjects[k].name);
		if (used >= cap)
			used = cap - 1;
	}
	ret->link[PROV_LINK_SUBJECT] = 1;

	/* 2. the DSSE signature, by the bundled key */
	if (strcmp(b->env->payload_type, EVIDENCE_PAYLOAD_TYPE)) {
		link_fail(ret, PROV_LINK_SIGNATURE, "payloadType is '%.64s', not %s", b->env->payload_type,
			  EVIDENCE_PAYLOAD_TYPE);
		return 0;
	}
	if (prov_envelope_verify(b->env, b->key, &e) < 0) {
		link_fail(ret, PROV_LINK_SIGNATURE, "%s", e->msg);
		return 0;
	}
	ret->link[PROV_LINK_SIGNATURE] = 1;

	/* The development mode has no report: nothing binds the key to hardware. */
	if (b->st->insecure_dev_mode) {
		ret->insecure = true;
		if (b->has_report) {
			link_fail(ret, PROV_LINK_BINDING,
				  "the provenance says tee \"none\" (development mode) but the bundle has a report");
			return 0;
		}
		if (!o->allow_insecure) {
			link_fail(ret, PROV_LINK_BINDING,
				  "insecure development-mode bundle (tee \"none\"): no attestation report binds the "
				  "signing key; NOT confidential (accept with --allow-insecure)");
			return 0;
		}
		return 0; /* links 3-7 not applicable */
	}

	/* 3. the key is bound in REPORT_DATA */
	if (!b->has_report) {
		link_fail(ret, PROV_LINK_BINDING, "the provenance says tee \"snp\" but the bundle has no %s/%s",
			  PROV_DIR_ATTESTATION, PROV_FILE_REPORT);
		return 0;
	}
	if (!prov_report_binds(&b->report, b->st->job_sha256, b->key)) {
		uint8_t want[EVIDENCE_REPORT_DATA_LEN];
		char hw[2 * EVIDENCE_REPORT_DATA_LEN + 1], hr[2 * EVIDENCE_REPORT_DATA_LEN + 1];
		prov_report_data(b->st->job_sha256, b->key, want);
		hex_encode(want, sizeof(want), hw);
		hex_encode(b->report.report_data, sizeof(want), hr);
		link_fail(ret, PROV_LINK_BINDING,
			  "the report's REPORT_DATA binds another key or job: expected %s for the bundled key, the "
			  "report has %s",
			  hw, hr);
		return 0;
	}
	ret->link[PROV_LINK_BINDING] = 1;

	/* 4-7: the report, its chain to the pinned AMD root, the reference
	 * measurement, HOST_DATA and the policy. The ASK/ASVK come from the
	 * pinned roots directory; a bundle's vcek.pem is used for its first
	 * certificate only. */
	struct attest_evidence ev = { .endorsement = o->vcek };
	X509 *looked_up = NULL;
	if (!ev.endorsement && b->vcek && sk_X509_num(b->vcek) > 0)
		ev.endorsement = sk_X509_value(b->vcek, 0);
	if (!ev.endorsement && o->kds) {
		if (attest_kds_get_vcek(o->kds, &b->report, ATTEST_PRODUCT_UNKNOWN, &looked_up, &e) < 0) {
			link_fail(ret, PROV_LINK_REPORT, "no VCEK: none in the bundle, and the KDS cache: %s", e->msg);
			return 0;
		}
		ev.endorsement = looked_up;
	}
	if (!ev.endorsement) {
		link_fail(ret, PROV_LINK_REPORT, "no VCEK: none in the bundle (%s/%s) and none given (--vcek, "
			  "--kds-cache)", PROV_DIR_ATTESTATION, PROV_FILE_VCEK);
		return 0;
	}
	r = prov_check_report(&b->report, &ev, b->st->job_sha256, o, ret, err);
	X509_free(looked_up);
	return r;
}
