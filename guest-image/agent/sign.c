/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The job's signing key and the signed provenance. The key is generated in
 * guest memory when the agent starts and never leaves it: only its public
 * half crosses the channel, bound into the attestation report through
 * REPORT_DATA (proto/evidence.h has the exact layout). After the artifacts
 * are hashed the agent writes an in-toto Statement v1 with an SLSA
 * provenance v1 predicate and signs it as a DSSE envelope:
 *
 *   sig = ECDSA-P256-SHA256( PAE("application/vnd.in-toto+json", payload) )
 *   PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body
 *
 * over the payload bytes exactly as encoded (standard base64 with padding in
 * the envelope). P-256 because that is what every DSSE verifier (cosign,
 * in-toto, sigstore) accepts for ECDSA with SHA-256.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "agent.h"
#include "config.h"
#include "evidence.h"
#include "hexutil.h"
#include "jsonutil.h"

struct agent_signer {
	EVP_PKEY *key;
	uint8_t *der; /* SubjectPublicKeyInfo */
	size_t der_len;
	char keyid[SHA256_HEX_LEN]; /* SHA-256 of the DER, hex */
	uint8_t report_data[EVIDENCE_REPORT_DATA_LEN];
	bool attested;
	uint8_t *report; /* NULL: no SEV-SNP (development mode) */
	size_t report_len;
	const char *attester;
	char started_on[32];
	char invocation_id[64];
};

void agent_rfc3339_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int agent_signer_new(agent_signer **ret, sb_err **err)
{
	agent_signer *s = calloc(1, sizeof(*s));
	uint8_t *p = NULL, md[SHA256_LEN];
	int n;

	if (!s)
		return sb_err_set(err, ENOMEM, "out of memory");
	s->key = EVP_EC_gen("P-256");
	n = s->key ? i2d_PUBKEY(s->key, &p) : -1;
	if (n <= 0 || n > EVIDENCE_MAX_KEY_DER) {
		OPENSSL_free(p);
		agent_signer_free(s);
		return sb_err_set(err, EIO, "generating the job's signing key (ECDSA P-256) failed");
	}
	s->der = malloc((size_t)n);
	if (!s->der) {
		OPENSSL_free(p);
		agent_signer_free(s);
		return sb_err_set(err, ENOMEM, "out of memory");
	}
	memcpy(s->der, p, (size_t)n);
	s->der_len = (size_t)n;
	OPENSSL_free(p);
	digest_sha256(s->der, s->der_len, md);
	hex_encode(md, SHA256_LEN, s->keyid);
	s->attester = "none";
	*ret = s;
	return 0;
}

void agent_signer_free(agent_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->key);
	free(s->der);
	free(s->report);
	free(s);
}

void agent_signer_pubkey(const agent_signer *s, const uint8_t **ret_der, size_t *ret_len)
{
	*ret_der = s->der;
	*ret_len = s->der_len;
}

const uint8_t *agent_signer_report(const agent_signer *s, size_t *ret_len)
{
	*ret_len = s->report_len;
	return s->report;
}

int agent_signer_attest(agent_signer *s, const agent_attester *att, const job *j, sb_err **err)
{
	uint8_t rnd[16];
	int r;

	agent_rfc3339_now(s->started_on);
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return sb_err_sys(err, errno, "getrandom");
	rnd[6] = (uint8_t)((rnd[6] & 0x0f) | 0x40); /* UUID v4 */
	rnd[8] = (uint8_t)((rnd[8] & 0x3f) | 0x80);
	snprintf(s->invocation_id, sizeof(s->invocation_id),
		 "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10], rnd[11], rnd[12], rnd[13],
		 rnd[14], rnd[15]);
	evidence_report_data(j->digest, s->der, s->der_len, s->report_data);
	s->attested = true;
	s->attester = att->name;

	if (j->tee == JOB_TEE_NONE)
		return 0; /* development mode: no report, and the provenance says so */
	if (att == &agent_attester_none)
		return sb_err_set(err, ENOTSUP,
				  "the job requires tee \"snp\" but this VM has no SEV-SNP attestation interface "
				  "(neither configfs-tsm nor /dev/sev-guest)");
	if ((r = att->report(s->report_data, &s->report, &s->report_len, err)) < 0)
		return sb_err_wrap(err, "attestation report (%s)", att->name);
	if (s->report_len < EVIDENCE_REPORT_MIN_LEN) {
		free(s->report);
		s->report = NULL;
		return sb_err_set(err, EIO, "attestation report (%s): %zu bytes, too short", att->name, s->report_len);
	}
	/* The report is the firmware's: it must carry our binding and the
	 * HOST_DATA the launch fixed, or the host fed us another job. */
	if (memcmp(s->report + EVIDENCE_REPORT_OFF_REPORT_DATA, s->report_data, EVIDENCE_REPORT_DATA_LEN))
		return sb_err_set(err, EIO, "attestation report: REPORT_DATA is not what was requested");
	if (memcmp(s->report + EVIDENCE_REPORT_OFF_HOST_DATA, j->digest, SHA256_LEN))
		return sb_err_set(err, EPERM,
				  "the job descriptor received does not match the HOST_DATA this VM was launched "
				  "with: refusing to run another job than the one attested");
	return 0;
}

/* "snpbuild.verity=<hash>" from the kernel command line, which the SNP
 * launch measurement covers (kernel-hashes). */
static json_t *guest_image_dependency(void)
{
	char line[4096] = "";
	FILE *f = fopen("/proc/cmdline", "re");
	uint8_t md[SHA256_LEN];
	json_t *ann = json_object();
	size_t n;

	if (f) {
		n = fread(line, 1, sizeof(line) - 1, f);
		fclose(f);
		line[n] = '\0';
		while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
			line[--n] = '\0';
	}
	n = strlen(line);
	digest_sha256(line, n, md);
	json_object_set_new(ann, "kernelCmdline", json_string(line));
	for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " "))
		if (!strncmp(tok, "snpbuild.verity=", 16))
			json_object_set_new(ann, "verityRootHash", json_string(tok + 16));
	return json_pack("{s:s, s:s, s:{s:o}, s:o}", "name", "guest-image", "uri", "snpbuild:guest-image/cmdline",
			 "digest", "sha256", json_hex(md, SHA256_LEN), "annotations", ann);
}

char *agent_provenance_statement(const agent_signer *s, const job *j, const agent_subject *subs, size_t n_subs,
				 const uint8_t source_sha256[SHA256_LEN], const char *finished_on, sb_err **err)
{
	json_t *subjects = json_array(), *internal, *deps, *st, *jobj;
	_cleanup_free_ char *b64 = NULL;
	char *text;

	if (!s->attested) {
		json_decref(subjects);
		sb_err_set(err, EINVAL, "provenance before the key was bound to the job");
		return NULL;
	}
	for (size_t i = 0; i < n_subs; i++)
		json_array_append_new(subjects, json_pack("{s:s, s:{s:o}}", "name", subs[i].name, "digest", "sha256",
							  json_hex(subs[i].sha256, SHA256_LEN)));
	jobj = json_loadb((const char *)j->raw, j->raw_len, JSON_REJECT_DUPLICATES, NULL);
	b64 = malloc(4 * ((j->raw_len + 2) / 3) + 1);
	if (!jobj || !b64) {
		json_decref(subjects);
		json_decref(jobj);
		sb_err_set(err, ENOMEM, "provenance: the job descriptor");
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)b64, j->raw, (int)j->raw_len);

	internal = json_pack("{s:s, s:b, s:s, s:o, s:s}", "tee", job_tee_name(j->tee), "insecureDevMode",
			     j->tee == JOB_TEE_NONE, "attester", s->report ? s->attester : "none", "reportData",
			     json_hex(s->report_data, EVIDENCE_REPORT_DATA_LEN), "agent", "snpbuild-agent " SNPBUILD_VERSION);
	if (s->report) {
		json_object_set_new(internal, "launchMeasurement",
				    json_hex(s->report + EVIDENCE_REPORT_OFF_MEASUREMENT, SHA384_LEN));
		json_object_set_new(internal, "hostData", json_hex(s->report + EVIDENCE_REPORT_OFF_HOST_DATA, SHA256_LEN));
	}
	deps = json_pack("[{s:s, s:s, s:{s:o}}, o]", "name", "source", "uri", "snpbuild:source", "digest", "sha256",
			 json_hex(source_sha256, SHA256_LEN), guest_image_dependency());

	st = json_pack("{s:s, s:o, s:s, s:{s:{s:s, s:{s:o, s:{s:o, s:s}}, s:o, s:o}, s:{s:{s:s}, s:{s:s, s:s, s:s}}}}",
		       "_type", EVIDENCE_STATEMENT_TYPE, "subject", subjects, "predicateType", EVIDENCE_PREDICATE_TYPE,
		       "predicate", "buildDefinition", "buildType", EVIDENCE_BUILD_TYPE, "externalParameters", "job",
		       jobj, "jobDescriptor", "sha256", json_hex(j->digest, SHA256_LEN), "base64", b64,
		       "internalParameters", internal, "resolvedDependencies", deps, "runDetails", "builder", "id",
		       EVIDENCE_BUILDER_ID, "metadata", "invocationId", s->invocation_id, "startedOn", s->started_on,
		       "finishedOn", finished_on);
	if (!st) {
		sb_err_set(err, ENOMEM, "provenance: building the statement");
		return NULL;
	}
	text = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	if (!text)
		sb_err_set(err, ENOMEM, "provenance: encoding the statement");
	return text;
}

char *agent_dsse_sign(const agent_signer *s, const void *payload, size_t len, sb_err **err)
{
	static const char type[] = EVIDENCE_PAYLOAD_TYPE;
	_cleanup_free_ char *pae = NULL, *b64p = NULL, *b64s = NULL;
	_cleanup_free_ uint8_t *sig = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t sig_len = 0;
	int hlen;
	char hdr[128];
	json_t *env;
	char *text = NULL;

	hlen = snprintf(hdr, sizeof(hdr), "DSSEv1 %zu %s %zu ", strlen(type), type, len);
	pae = malloc((size_t)hlen + len + 1);
	b64p = malloc(4 * ((len + 2) / 3) + 1);
	if (!pae || !b64p) {
		sb_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(pae, hdr, (size_t)hlen);
	memcpy(pae + hlen, payload, len);
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, s->key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &sig_len, (const uint8_t *)pae, (size_t)hlen + len) != 1 ||
	    !(sig = malloc(sig_len)) ||
	    EVP_DigestSign(ctx, sig, &sig_len, (const uint8_t *)pae, (size_t)hlen + len) != 1) {
		EVP_MD_CTX_free(ctx);
		sb_err_set(err, EIO, "signing the provenance failed");
		return NULL;
	}
	EVP_MD_CTX_free(ctx);
	b64s = malloc(4 * ((sig_len + 2) / 3) + 1);
	if (!b64s) {
		sb_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)b64p, payload, (int)len);
	EVP_EncodeBlock((unsigned char *)b64s, sig, (int)sig_len);
	env = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "payloadType", type, "payload", b64p, "signatures", "keyid",
			s->keyid, "sig", b64s);
	if (env)
		text = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	if (!text)
		sb_err_set(err, ENOMEM, "out of memory");
	return text;
}

static int send_evidence(int chan, uint8_t kind, const void *buf, size_t len, sb_err **err)
{
	_cleanup_free_ uint8_t *p = malloc(len + 1);
	if (!p)
		return sb_err_set(err, ENOMEM, "out of memory");
	p[0] = kind;
	memcpy(p + 1, buf, len);
	return wire_send(chan, WIRE_EVIDENCE, p, len + 1, err);
}

int agent_send_evidence(int chan, const agent_signer *s, const job *j, const agent_subject *subs, size_t n_subs,
			const uint8_t source_sha256[SHA256_LEN], sb_err **err)
{
	_cleanup_free_ char *statement = NULL, *envelope = NULL;
	char finished[32];
	int r;

	agent_rfc3339_now(finished);
	statement = agent_provenance_statement(s, j, subs, n_subs, source_sha256, finished, err);
	if (!statement)
		return -EIO;
	envelope = agent_dsse_sign(s, statement, strlen(statement), err);
	if (!envelope)
		return -EIO;
	if ((r = send_evidence(chan, WIRE_EVIDENCE_PUBKEY, s->der, s->der_len, err)) < 0)
		return r;
	if (s->report && (r = send_evidence(chan, WIRE_EVIDENCE_REPORT, s->report, s->report_len, err)) < 0)
		return r;
	return send_evidence(chan, WIRE_EVIDENCE_PROVENANCE, envelope, strlen(envelope), err);
}
