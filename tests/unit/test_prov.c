/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Provenance, signed by the agent's own code (guest-image/agent/sign.c) and
 * verified by the host's (orchestrator/lib/prov.c), with real crypto; the
 * report links against real AMD reports from ../shared/fixtures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "hexutil.h"
#include "prov.h"
#include "testutil.h"

static char root[] = "/tmp/snpbuild-test-prov-XXXXXX";
static char fixtures[1024];

static const char job_none[] = "{\"api_version\": \"snpbuild/v1\", \"name\": \"hello\", \"source\": {\"path\": \"src\"},"
			       " \"steps\": [{\"run\": \"cc -o hello hello.c\"}], \"artifacts\": [\"hello\", \"hello.c\"],"
			       " \"tee\": \"none\"}";
static const char job_snp[] = "{\"api_version\": \"snpbuild/v1\", \"name\": \"hello\", \"source\": {\"path\": \"src\"},"
			      " \"steps\": [{\"run\": \"cc -o hello hello.c\"}], \"artifacts\": [\"hello\"], \"tee\": \"snp\"}";

static int setup(void **state)
{
	(void)state;
	snprintf(fixtures, sizeof(fixtures), "%s", test_fixtures());
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return test_rm_rf(root);
}

static void write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char p[1024];
	FILE *f;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static void write_key(const char *dir, const agent_signer *s)
{
	const uint8_t *der;
	size_t n;
	EVP_PKEY *k = NULL;
	char *pem = NULL;
	agent_signer_pubkey(s, &der, &n);
	assert_int_equal(prov_pubkey_from_der(der, n, &k, NULL), 0);
	assert_int_equal(prov_pubkey_pem(k, &pem, NULL), 0);
	write_file(dir, "attestation/signing-key.pem", pem, strlen(pem));
	free(pem);
	EVP_PKEY_free(k);
}

static const uint8_t art_hello[SHA256_LEN] = { 0x11, 0x22, 0x33 };
static const uint8_t art_other[SHA256_LEN] = { 0x44, 0x55, 0x66 };

/* A bundle as `snpbuild run` leaves it: provenance + key (+ report). */
struct bundle_fx {
	char dir[512];
	agent_signer *signer;
	job *j;
	char *statement;
	char *envelope;
};

static void make_bundle(struct bundle_fx *fx, const char *name, const char *job_text)
{
	char p[600];
	agent_subject subs[1] = { { .name = "hello" } };
	uint8_t src[SHA256_LEN] = { 9 };

	snprintf(fx->dir, sizeof(fx->dir), "%s/%s", root, name);
	mkdir(fx->dir, 0755);
	snprintf(p, sizeof(p), "%s/attestation", fx->dir);
	mkdir(p, 0755);
	assert_int_equal(job_parse(job_text, strlen(job_text), "job", NULL, 0, &fx->j, NULL), 0);
	assert_int_equal(agent_signer_new(&fx->signer, NULL), 0);
	/* tee "snp" without SEV-SNP fails to get a report, after binding the key */
	sb_err *e = NULL;
	int r = agent_signer_attest(fx->signer, &agent_attester_none, fx->j, &e);
	assert_int_equal(r, fx->j->tee == JOB_TEE_NONE ? 0 : -ENOTSUP);
	sb_err_free(e);
	memcpy(subs[0].sha256, art_hello, SHA256_LEN);
	fx->statement = agent_provenance_statement(fx->signer, fx->j, subs, 1, src, "2026-12-03T10:00:00Z", NULL);
	assert_non_null(fx->statement);
	fx->envelope = agent_dsse_sign(fx->signer, fx->statement, strlen(fx->statement), NULL);
	assert_non_null(fx->envelope);
	write_file(fx->dir, PROV_FILE_PROVENANCE, fx->envelope, strlen(fx->envelope));
	write_file(fx->dir, PROV_FILE_PROVENANCE, fx->envelope, strlen(fx->envelope));
	write_key(fx->dir, fx->signer);
}

static void free_bundle(struct bundle_fx *fx)
{
	agent_signer_free(fx->signer);
	job_free(fx->j);
	free(fx->statement);
	free(fx->envelope);
}

/* Loads and verifies fx's bundle for one artifact; returns the failed link (0: valid). */
static int verify_dir(const char *dir, const uint8_t digest[SHA256_LEN], bool allow_insecure, prov_verify_result *res)
{
	prov_bundle *b = NULL;
	sb_err *e = NULL;
	prov_verify_opts o = { .allow_insecure = allow_insecure };
	const char *names[] = { "hello" };
	int r;

	attest_policy_init(&o.policy);
	r = prov_bundle_load(dir, &b, &e);
	if (r < 0)
		fail_msg("bundle: %s", e->msg);
	assert_int_equal(prov_verify(b, (const uint8_t(*)[SHA256_LEN])digest, names, 1, &o, res, NULL), 0);
	prov_bundle_free(b);
	return res->valid ? 0 : (int)res->failed;
}

/* --- the binding ------------------------------------------------------------------ */

static void test_report_data_layout(void **state)
{
	(void)state;
	/* SHA-512("snpbuild-report-data-v1\0" || job digest || DER), computed with Python's hashlib. */
	static const char want[] = "a4358909dbb224fee9999ad738fedb33f3330fd391600fb74c883066e78baa67"
				   "cf5270c7befa1a3814c7c9cfd859ef188d6f65eaa12229185b8dfe6872b58ef6";
	uint8_t jd[SHA256_LEN], out[64];
	const uint8_t der[] = { 0x30, 0x03, 0x01, 0x02, 0x03 };
	char hex[129];
	for (int i = 0; i < SHA256_LEN; i++)
		jd[i] = (uint8_t)i;
	evidence_report_data(jd, der, sizeof(der), out);
	hex_encode(out, 64, hex);
	assert_string_equal(hex, want);
}

static void test_binding_matches_key(void **state)
{
	(void)state;
	struct bundle_fx fx = { 0 };
	const uint8_t *der;
	size_t n;
	EVP_PKEY *k = NULL;
	struct attest_report rep = { 0 };
	uint8_t other_job[SHA256_LEN] = { 1 };

	make_bundle(&fx, "binding", job_none);
	agent_signer_pubkey(fx.signer, &der, &n);
	assert_int_equal(prov_pubkey_from_der(der, n, &k, NULL), 0);
	evidence_report_data(fx.j->digest, der, n, rep.report_data);
	assert_int_equal(prov_report_binds(&rep, fx.j->digest, k), 1);
	assert_int_equal(prov_report_binds(&rep, other_job, k), 0); /* same key, another job */
	rep.report_data[63] ^= 1;
	assert_int_equal(prov_report_binds(&rep, fx.j->digest, k), 0);
	EVP_PKEY_free(k);
	free_bundle(&fx);
}

/* --- the chain in development mode --------------------------------------------------- */

static void test_dev_bundle(void **state)
{
	(void)state;
	struct bundle_fx fx = { 0 };
	prov_verify_result res;

	make_bundle(&fx, "dev", job_none);
	assert_int_equal(verify_dir(fx.dir, art_hello, true, &res), 0);
	assert_true(res.insecure);
	assert_int_equal(res.link[PROV_LINK_SUBJECT], 1);
	assert_int_equal(res.link[PROV_LINK_SIGNATURE], 1);
	assert_int_equal(res.link[PROV_LINK_BINDING], -1);
	prov_verify_result_clear(&res);

	/* without --allow-insecure: refused at the binding, saying why */
	assert_int_equal(verify_dir(fx.dir, art_hello, false, &res), PROV_LINK_BINDING);
	assert_non_null(strstr(res.message, "NOT confidential"));
	prov_verify_result_clear(&res);
	free_bundle(&fx);
}

static void test_statement_content(void **state)
{
	(void)state;
	struct bundle_fx fx = { 0 };
	prov_statement *st = NULL;
	json_t *o;

	make_bundle(&fx, "content", job_none);
	assert_int_equal(prov_statement_parse((const uint8_t *)fx.statement, strlen(fx.statement), &st, NULL), 0);
	assert_int_equal(st->n_subjects, 1);
	assert_string_equal(st->subjects[0].name, "hello");
	assert_memory_equal(st->job_sha256, fx.j->digest, SHA256_LEN);
	assert_int_equal(st->job_raw_len, strlen(job_none));
	assert_memory_equal(st->job_raw, job_none, strlen(job_none));
	assert_string_equal(st->tee, "none");
	assert_true(st->insecure_dev_mode);
	assert_true(st->has_source);
	assert_string_equal(st->builder_id, EVIDENCE_BUILDER_ID);
	assert_non_null(strstr(st->invocation_id, "urn:uuid:"));
	prov_statement_free(st);

	/* the SLSA v1 shape, read independently of prov.c */
	o = json_loads(fx.statement, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "_type")), "https://in-toto.io/Statement/v1");
	assert_string_equal(json_string_value(json_object_get(o, "predicateType")), "https://slsa.dev/provenance/v1");
	json_t *bd = json_object_get(json_object_get(o, "predicate"), "buildDefinition");
	assert_true(json_is_array(json_object_get(bd, "resolvedDependencies")));
	assert_int_equal(json_array_size(json_object_get(bd, "resolvedDependencies")), 2);
	json_t *md = json_object_get(json_object_get(json_object_get(o, "predicate"), "runDetails"), "metadata");
	assert_string_equal(json_string_value(json_object_get(md, "finishedOn")), "2026-12-03T10:00:00Z");
	json_decref(o);
	free_bundle(&fx);
}

/* --- bad input, each naming its link ----------------------------------------------------- */

static void test_other_artifact(void **state)
{
	(void)state;
	struct bundle_fx fx = { 0 };
	prov_verify_result res;

	make_bundle(&fx, "other", job_none);
	assert_int_equal(verify_dir(fx.dir, art_other, true, &res), PROV_LINK_SUBJECT);
	assert_non_null(strstr(res.message, "is not a subject"));
	prov_verify_result_clear(&res);
	free_bundle(&fx);
}

static void test_swapped_key(void **state)
{
	(void)state;
	struct bundle_fx fx = { 0 };
	agent_signer *other = NULL;
	prov_verify_result res;

	make_bundle(&fx, "swapped", job_none);
	assert_int_equal(agent_signer_new(&other, NULL), 0);
	write_key(fx.dir, other);
	assert_int_equal(verify_dir(fx.dir, art_hello, true, &res), PROV_LINK_SIGNATURE);
	assert_non_null(strstr(res.message, "no signature verifies"));
	prov_verify_result_clear(&res);
	agent_signer_free(other);
	free_bundle(&fx);
}

/* Rewrites the envelope: payload and signatures replaced. */
static void rewrite_envelope(struct bundle_fx *fx, const char *payload_b64, json_t *sigs)
{
	json_t *env = json_loads(fx->envelope, 0, NULL);
	char *text;
	assert_non_null(env);
	if (payload_b64)
		json_object_set_new(env, "payload", json_string(payload_b64));
	if (sigs)
		json_object_set_new(env, "signatures", sigs);
	text = json_dumps(env, JSON_COMPACT);
	write_file(fx->dir, PROV_FILE_PROVENANCE, text, strlen(text));
	free(text);
	json_decref(env);
}

static json_t *env_sigs(const char *envelope)
{
	json_t *env = json_loads(envelope, 0, NULL);
	json_t *s = json_deep_copy(json_object_get(env, "signatures"));
	json_decref(env);
	return s;
}

static void test_reencoded_payload(void **state)
{
	(void)state;
	struct bundle_fx fx = { 0 };
	prov_verify_result res;
	json_t *st = NULL;
	char *text, *b64;

	make_bundle(&fx, "reencoded", job_none);
	/* The same Statement, the same signature, bytes re-encoded (indented, keys sorted). */
	st = json_loads(fx.statement, 0, NULL);
	text = json_dumps(st, JSON_INDENT(1) | JSON_SORT_KEYS);
	assert_string_not_equal(text, fx.statement);
	b64 = prov_base64_encode(text, strlen(text));
	rewrite_envelope(&fx, b64, NULL);
	assert_int_equal(verify_dir(fx.dir, art_hello, true, &res), PROV_LINK_SIGNATURE);
	assert_non_null(strstr(res.message, "re-encoded"));
	prov_verify_result_clear(&res);
	free(text);
	free(b64);
	json_decref(st);
	free_bundle(&fx);
}

static char *to_url_safe(const char *std)
{
	char *u = strdup(std);
	size_t n = strlen(u);
	for (size_t i = 0; i < n; i++)
		u[i] = u[i] == '+' ? '-' : u[i] == '/' ? '_' : u[i];
	while (n && u[n - 1] == '=')
		u[--n] = '\0';
	return u;
}

static void test_url_safe_base64_read(void **state)
{
	(void)state;
	struct bundle_fx fx = { 0 };
	prov_verify_result res;
	json_t *env, *sigs;
	char *pu, *su;

	make_bundle(&fx, "urlsafe", job_none);
	env = json_loads(fx.envelope, 0, NULL);
	pu = to_url_safe(json_string_value(json_object_get(env, "payload")));
	sigs = env_sigs(fx.envelope);
	su = to_url_safe(json_string_value(json_object_get(json_array_get(sigs, 0), "sig")));
	json_object_set_new(json_array_get(sigs, 0), "sig", json_string(su));
	rewrite_envelope(&fx, pu, sigs);
	assert_int_equal(verify_dir(fx.dir, art_hello, true, &res), 0);
	prov_verify_result_clear(&res);
	free(pu);
	free(su);
	json_decref(env);
	free_bundle(&fx);
}

static void test_signature_counted_twice(void **state)
{
	(void)state;
	struct bundle_fx fx = { 0 };
	prov_verify_result res;
	json_t *sigs;
	char *again;

	make_bundle(&fx, "twice", job_none);
	/* the very same signature twice */
	sigs = env_sigs(fx.envelope);
	json_array_append(sigs, json_array_get(sigs, 0));
	rewrite_envelope(&fx, NULL, sigs);
	assert_int_equal(verify_dir(fx.dir, art_hello, true, &res), PROV_LINK_SIGNATURE);
	assert_non_null(strstr(res.message, "a signature counts once"));
	prov_verify_result_clear(&res);

	/* a second, different signature by the same key (ECDSA is randomised), no keyid */
	again = agent_dsse_sign(fx.signer, fx.statement, strlen(fx.statement), NULL);
	sigs = env_sigs(fx.envelope);
	json_t *s2 = json_array_get(env_sigs(again), 0);
	json_object_del(json_array_get(sigs, 0), "keyid");
	json_object_del(s2, "keyid");
	json_array_append_new(sigs, s2);
	rewrite_envelope(&fx, NULL, sigs);
	assert_int_equal(verify_dir(fx.dir, art_hello, true, &res), PROV_LINK_SIGNATURE);
	assert_non_null(strstr(res.message, "a key counts once"));
	prov_verify_result_clear(&res);

	/* the same keyid twice */
	sigs = env_sigs(fx.envelope);
	json_array_append_new(sigs, json_array_get(env_sigs(again), 0));
	rewrite_envelope(&fx, NULL, sigs);
	assert_int_equal(verify_dir(fx.dir, art_hello, true, &res), PROV_LINK_SIGNATURE);
	assert_non_null(strstr(res.message, "same keyid"));
	prov_verify_result_clear(&res);
	free(again);
	free_bundle(&fx);
}

static void test_two_envelopes(void **state)
{
	(void)state;
	struct bundle_fx fx = { 0 };
	prov_bundle *b = NULL;
	sb_err *e = NULL;
	char *two;

	make_bundle(&fx, "two", job_none);
	assert_true(asprintf(&two, "%s\n%s\n", fx.envelope, fx.envelope) > 0);
	write_file(fx.dir, PROV_FILE_PROVENANCE, two, strlen(two));
	assert_int_equal(prov_bundle_load(fx.dir, &b, &e), -EBADMSG);
	assert_non_null(strstr(e->msg, "exactly one envelope"));
	sb_err_free(e);
	free(two);
	free_bundle(&fx);
}

/* --- the report links, with real reports ------------------------------------------------ */

static void copy_fixture(const char *rel, const char *dir, const char *name)
{
	char p[1200], cmd[2600];
	snprintf(p, sizeof(p), "%s/snp/%s", fixtures, rel);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/%s'", p, dir, name);
	assert_int_equal(system(cmd), 0);
}

static void test_report_binds_another_key(void **state)
{
	(void)state;
	struct bundle_fx fx = { 0 };
	prov_verify_result res;

	make_bundle(&fx, "snp-other-key", job_snp);
	/* SNP bundle without a report */
	assert_int_equal(verify_dir(fx.dir, art_hello, true, &res), PROV_LINK_BINDING);
	assert_non_null(strstr(res.message, "no attestation/report.bin"));
	prov_verify_result_clear(&res);
	/* a genuine AMD report, whose REPORT_DATA binds someone else's key */
	copy_fixture("trustee/test-report.bin", fx.dir, "attestation/report.bin");
	assert_int_equal(verify_dir(fx.dir, art_hello, true, &res), PROV_LINK_BINDING);
	assert_non_null(strstr(res.message, "binds another key"));
	assert_int_equal(res.link[PROV_LINK_SIGNATURE], 1);
	assert_int_equal(res.link[PROV_LINK_REPORT], -1);
	prov_verify_result_clear(&res);
	free_bundle(&fx);
}

struct report_fx {
	struct attest_report rep;
	X509 *vcek;
	attest_ctx *ctx;
	prov_verify_opts o;
};

static void load_report_fx(struct report_fx *f)
{
	char p[1200];
	STACK_OF(X509) *certs = NULL;
	sb_err *e = NULL;

	snprintf(p, sizeof(p), "%s/snp/trustee/test-report.bin", fixtures);
	assert_int_equal(attest_report_load(p, &f->rep, NULL), 0);
	snprintf(p, sizeof(p), "%s/snp/trustee/test-vcek.der", fixtures);
	assert_int_equal(attest_certs_load(p, &certs, NULL), 0);
	f->vcek = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	if (attest_ctx_new(NULL, &f->ctx, &e) < 0)
		fail_msg("%s", e->msg);
	attest_policy_init(&f->o.policy);
	assert_int_equal(attest_parse_time("2023-02-23T17:58:26Z", &f->o.policy.at, NULL), 0);
	f->o.ctx = f->ctx;
	f->o.has_reference = true;
	memcpy(f->o.reference_measurement, f->rep.measurement, SHA384_LEN);
}

static int check(struct report_fx *f, const struct attest_report *rep, const uint8_t *jd, prov_verify_result *res)
{
	struct attest_evidence ev = { .endorsement = f->vcek };
	*res = (prov_verify_result){ .valid = true };
	for (int i = 0; i <= PROV_N_LINKS; i++)
		res->link[i] = -1;
	assert_int_equal(prov_check_report(rep, &ev, jd, &f->o, res, NULL), 0);
	return res->failed;
}

static void test_report_links(void **state)
{
	(void)state;
	struct report_fx f = { 0 };
	prov_verify_result res;
	struct attest_report bad;
	uint8_t jd[SHA256_LEN];

	load_report_fx(&f);
	memcpy(jd, f.rep.host_data, SHA256_LEN);
	/* everything holds */
	assert_int_equal(check(&f, &f.rep, jd, &res), 0);
	for (int l = PROV_LINK_REPORT; l <= PROV_LINK_POLICY; l++)
		assert_int_equal(res.link[l], 1);
	prov_verify_result_clear(&res);

	/* 4: a report whose signed bytes changed */
	bad = f.rep;
	bad.signed_bytes[0x100] ^= 1;
	assert_int_equal(check(&f, &bad, jd, &res), PROV_LINK_REPORT);
	assert_non_null(strstr(res.message, "bad-signature"));
	prov_verify_result_clear(&res);

	/* 5: another reference value; and none at all */
	f.o.reference_measurement[0] ^= 1;
	assert_int_equal(check(&f, &f.rep, jd, &res), PROV_LINK_MEASUREMENT);
	prov_verify_result_clear(&res);
	f.o.has_reference = false;
	assert_int_equal(check(&f, &f.rep, jd, &res), PROV_LINK_MEASUREMENT);
	assert_non_null(strstr(res.message, "no reference value"));
	prov_verify_result_clear(&res);
	f.o.has_reference = true;
	f.o.reference_measurement[0] ^= 1;

	/* 6: the provenance names another job descriptor */
	jd[5] ^= 0x80;
	assert_int_equal(check(&f, &f.rep, jd, &res), PROV_LINK_HOST_DATA);
	prov_verify_result_clear(&res);
	jd[5] ^= 0x80;

	/* 7: a TCB below the minimum */
	f.o.policy.has_min_tcb = true;
	assert_int_equal(attest_tcb_parse("bl=0,tee=0,snp=0,ucode=255", &f.o.policy.min_tcb, NULL), 0);
	assert_int_equal(check(&f, &f.rep, jd, &res), PROV_LINK_POLICY);
	prov_verify_result_clear(&res);

	X509_free(f.vcek);
	attest_ctx_free(f.ctx);
}

/* --- the parsers ------------------------------------------------------------------------- */

static void test_base64(void **state)
{
	(void)state;
	struct {
		const char *in;
		const char *out; /* NULL: rejected */
	} v[] = {
		{ "", "" },	       { "Zg==", "f" },	     { "Zg", "f" },	   { "Zm8=", "fo" },   { "Zm9v", "foo" },
		{ "Zm9vYg==", "foob" }, { "-_-_", "\xfb\xff\xbf" }, { "+/+/", "\xfb\xff\xbf" }, { "+_", NULL },
		{ "Zh==", NULL },      { "Z===", NULL },     { "Zg=", NULL },	   { "Zm9 v", NULL },  { "Z", NULL },
		{ "Zg==Zg==", NULL },
	};
	for (size_t i = 0; i < ELEMENTSOF(v); i++) {
		uint8_t *out = NULL;
		size_t n = 0;
		int r = prov_base64_decode(v[i].in, strlen(v[i].in), &out, &n, NULL);
		if (!v[i].out) {
			if (r == 0)
				fail_msg("'%s' accepted", v[i].in);
			continue;
		}
		if (r != 0)
			fail_msg("'%s' rejected", v[i].in);
		assert_int_equal(n, strlen(v[i].out));
		assert_memory_equal(out, v[i].out, n);
		free(out);
	}
}

static void test_envelope_refusals(void **state)
{
	(void)state;
	const char *bad[] = {
		"[]",
		"{\"payloadType\": \"x\", \"payload\": \"\", \"signatures\": []}",
		"{\"payloadType\": \"x\", \"payload\": \"e30=\", \"signatures\": [{\"sig\": \"AAAA\"}], \"extra\": 1}",
		"{\"payloadType\": \"x\", \"payloadType\": \"y\", \"payload\": \"e30=\", \"signatures\": [{\"sig\": \"AAAA\"}]}",
		"{\"payloadType\": \"x\", \"payload\": \"e30\\u0000\", \"signatures\": [{\"sig\": \"AAAA\"}]}",
		"{\"payloadType\": \"x\", \"payload\": \"e3-/\", \"signatures\": [{\"sig\": \"AAAA\"}]}",
		"{\"payloadType\": \"x\", \"payload\": \"e30=\", \"signatures\": [{\"sig\": \"\"}]}",
		"{\"payloadType\": \"x\", \"payload\": \"e30=\", \"signatures\": [{\"sig\": 5}]}",
		"{\"payloadType\": \"\", \"payload\": \"e30=\", \"signatures\": [{\"sig\": \"AAAA\"}]}",
		"{\"payloadType\": \"x\", \"payload\": \"e30=\", \"signatures\": [{\"sig\": \"AAAA\", \"k\": 1}]}",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		prov_envelope *e = NULL;
		if (prov_envelope_parse(bad[i], strlen(bad[i]), &e, NULL) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
	/* 17 signatures */
	char buf[4096] = "{\"payloadType\": \"x\", \"payload\": \"e30=\", \"signatures\": [";
	for (int i = 0; i < 17; i++)
		strcat(buf, i ? ", {\"sig\": \"AAAA\"}" : "{\"sig\": \"AAAA\"}");
	strcat(buf, "]}");
	prov_envelope *e = NULL;
	assert_int_not_equal(prov_envelope_parse(buf, strlen(buf), &e, NULL), 0);
}

static void test_statement_refusals(void **state)
{
	(void)state;
	struct bundle_fx fx = { 0 };
	json_t *st;
	char *text;
	prov_statement *s = NULL;
	sb_err *e = NULL;

	make_bundle(&fx, "st-refusals", job_none);
	/* the readable job differs from the bytes carried */
	st = json_loads(fx.statement, 0, NULL);
	json_t *ext = json_object_get(json_object_get(json_object_get(st, "predicate"), "buildDefinition"),
				      "externalParameters");
	json_object_set_new(json_object_get(ext, "job"), "name", json_string("evil"));
	text = json_dumps(st, JSON_COMPACT);
	assert_int_equal(prov_statement_parse((uint8_t *)text, strlen(text), &s, &e), -EBADMSG);
	assert_non_null(strstr(e->msg, "differs"));
	sb_err_freep(&e);
	free(text);
	json_decref(st);

	/* another predicate type */
	st = json_loads(fx.statement, 0, NULL);
	json_object_set_new(st, "predicateType", json_string("https://slsa.dev/provenance/v0.2"));
	text = json_dumps(st, JSON_COMPACT);
	assert_int_equal(prov_statement_parse((uint8_t *)text, strlen(text), &s, &e), -EBADMSG);
	sb_err_freep(&e);
	free(text);
	json_decref(st);

	/* a subject name listed twice */
	st = json_loads(fx.statement, 0, NULL);
	json_array_append_new(json_object_get(st, "subject"),
			      json_pack("{s:s, s:{s:s}}", "name", "hello", "digest", "sha256",
					"0000000000000000000000000000000000000000000000000000000000000000"));
	text = json_dumps(st, JSON_COMPACT);
	assert_int_equal(prov_statement_parse((uint8_t *)text, strlen(text), &s, &e), -EBADMSG);
	assert_non_null(strstr(e->msg, "listed twice"));
	sb_err_freep(&e);
	free(text);
	json_decref(st);
	free_bundle(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_data_layout),
		cmocka_unit_test(test_binding_matches_key),
		cmocka_unit_test(test_dev_bundle),
		cmocka_unit_test(test_statement_content),
		cmocka_unit_test(test_other_artifact),
		cmocka_unit_test(test_swapped_key),
		cmocka_unit_test(test_reencoded_payload),
		cmocka_unit_test(test_url_safe_base64_read),
		cmocka_unit_test(test_signature_counted_twice),
		cmocka_unit_test(test_two_envelopes),
		cmocka_unit_test(test_report_binds_another_key),
		cmocka_unit_test(test_report_links),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_envelope_refusals),
		cmocka_unit_test(test_statement_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
