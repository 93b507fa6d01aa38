/* SPDX-License-Identifier: Apache-2.0 */
/* snpbuild verify: from an artifact to the AMD root, offline, link by link. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "hexutil.h"
#include "measure.h"
#include "prov.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: snpbuild verify ARTIFACT... --bundle DIR [OPTIONS]\n"
		"\n"
		"Checks, offline and in this order, naming the first link that fails:\n"
		"  1 subject       each artifact's sha256 is a subject of the provenance\n"
		"  2 signature     the DSSE envelope verifies with the bundled key\n"
		"  3 key-binding   that key (and the job digest) is bound in REPORT_DATA\n"
		"  4 report-chain  the report signature, VCEK -> ASK -> pinned AMD ARK\n"
		"  5 measurement   MEASUREMENT equals the reference value\n"
		"  6 host-data     HOST_DATA equals the digest of the job descriptor in the provenance\n"
		"  7 policy-tcb    guest policy and TCB are acceptable\n"
		"Exit 0 when every link holds, 1 when one fails, 2 for bad input or usage.\n"
		"\n"
		"  --bundle DIR        the job's output folder (out/<job-id>)\n"
		"  --reference FILE    reference value: 'snpbuild measure --json' output\n"
		"  --allow-insecure    accept a development-mode bundle (no SEV-SNP; NOT confidential)\n"
		"  --vcek FILE         VCEK/VLEK (PEM or DER) instead of the bundle's attestation/vcek.pem\n"
		"  --kds-cache DIR     look the VCEK up in this AMD KDS cache (offline)\n"
		"  --roots DIR         pinned AMD roots (default %s)\n"
		"  --at TIME           verification time: YYYY-MM-DD[THH:MM:SSZ] or @SECONDS\n"
		"  --allow-debug       accept POLICY.DEBUG=1\n"
		"  --forbid-smt        reject SMT\n"
		"  --min-tcb TCB       e.g. bl=3,tee=0,snp=8,ucode=115[,fmc=1]\n"
		"  --json              print JSON\n",
		attest_default_roots_dir());
}

enum {
	OPT_BUNDLE = 256,
	OPT_REFERENCE,
	OPT_ALLOW_INSECURE,
	OPT_VCEK,
	OPT_KDS_CACHE,
	OPT_ROOTS,
	OPT_AT,
	OPT_ALLOW_DEBUG,
	OPT_FORBID_SMT,
	OPT_MIN_TCB,
	OPT_JSON,
	OPT_HELP,
};

static const struct option options[] = {
	{ "bundle", required_argument, NULL, OPT_BUNDLE },
	{ "reference", required_argument, NULL, OPT_REFERENCE },
	{ "allow-insecure", no_argument, NULL, OPT_ALLOW_INSECURE },
	{ "vcek", required_argument, NULL, OPT_VCEK },
	{ "kds-cache", required_argument, NULL, OPT_KDS_CACHE },
	{ "roots", required_argument, NULL, OPT_ROOTS },
	{ "at", required_argument, NULL, OPT_AT },
	{ "allow-debug", no_argument, NULL, OPT_ALLOW_DEBUG },
	{ "forbid-smt", no_argument, NULL, OPT_FORBID_SMT },
	{ "min-tcb", required_argument, NULL, OPT_MIN_TCB },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int load_reference(const char *path, uint8_t out[SHA384_LEN], sb_err **err)
{
	json_error_t je;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	struct measure_result res;
	int r;

	if (!o && je.line < 1)
		return sb_err_set(err, EINVAL, "--reference %s: %s", path, je.text); /* could not read it */
	if (!o)
		return sb_err_set(err, EINVAL, "%s: %s (line %d)", path, je.text, je.line);
	r = measure_record_parse(o, &res, err);
	json_decref(o);
	if (r < 0)
		return sb_err_wrap(err, "%s", path);
	memcpy(out, res.digest, SHA384_LEN);
	return 0;
}

static const char *link_state(int v)
{
	return v > 0 ? "ok" : v == 0 ? "FAIL" : "-";
}

static int bad(const char *what, const char *msg)
{
	fprintf(stderr, "snpbuild verify: %s%s\n", what, msg);
	return EXIT_BAD_INPUT;
}

int cmd_verify(int argc, char **argv)
{
	_cleanup_err_ sb_err *e = NULL;
	_cleanup_(prov_bundle_freep) prov_bundle *b = NULL;
	_cleanup_(attest_ctx_freep) attest_ctx *ctx = NULL;
	_cleanup_free_ uint8_t(*digests)[SHA256_LEN] = NULL;
	STACK_OF(X509) *vcek = NULL;
	const char *bundle = NULL, *reference = NULL, *roots = NULL, *vcek_path = NULL, *kds_cache = NULL;
	bool json = false;
	prov_verify_opts o = { 0 };
	prov_verify_result res = { 0 };
	struct attest_kds kds = { .offline = true };
	int c, n, rc;

	attest_policy_init(&o.policy);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_BUNDLE: bundle = optarg; break;
		case OPT_REFERENCE: reference = optarg; break;
		case OPT_ALLOW_INSECURE: o.allow_insecure = true; break;
		case OPT_VCEK: vcek_path = optarg; break;
		case OPT_KDS_CACHE: kds_cache = optarg; break;
		case OPT_ROOTS: roots = optarg; break;
		case OPT_AT:
			if (attest_parse_time(optarg, &o.policy.at, &e) < 0)
				return bad("--at: ", e->msg);
			break;
		case OPT_ALLOW_DEBUG: o.policy.allow_debug = true; break;
		case OPT_FORBID_SMT: o.policy.forbid_smt = true; break;
		case OPT_MIN_TCB:
			if (attest_tcb_parse(optarg, &o.policy.min_tcb, &e) < 0)
				return bad("--min-tcb: ", e->msg);
			o.policy.has_min_tcb = true;
			break;
		case OPT_JSON: json = true; break;
		case 'h':
		case OPT_HELP: usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_BAD_INPUT;
		}
	}
	n = argc - optind;
	if (!bundle || n < 1) {
		fprintf(stderr, "snpbuild verify: %s\n\n",
			!bundle ? "--bundle out/<job-id> is required" : "name at least one ARTIFACT to verify");
		usage(stderr);
		return EXIT_BAD_INPUT;
	}
	digests = calloc((size_t)n, sizeof(*digests));
	if (!digests)
		return EXIT_INFRA;
	for (int i = 0; i < n; i++)
		if (digest_sha256_file(argv[optind + i], digests[i], &e) < 0)
			return bad("", e->msg);
	if (reference) {
		if (load_reference(reference, o.reference_measurement, &e) < 0)
			return bad("--reference: ", e->msg);
		o.has_reference = true;
	}
	if (attest_ctx_new(roots, &ctx, &e) < 0)
		return bad("", e->msg);
	o.ctx = ctx;
	if (vcek_path) {
		if (attest_certs_load(vcek_path, &vcek, &e) < 0)
			return bad("--vcek: ", e->msg);
		o.vcek = sk_X509_value(vcek, 0);
	}
	if (kds_cache) {
		kds.cache_dir = kds_cache;
		o.kds = &kds;
	}

	if (prov_bundle_load(bundle, &b, &e) < 0) {
		/* A bundle that cannot be read is a failed check, not a usage error. */
		if (json) {
			json_t *j = json_pack("{s:b, s:s, s:s}", "valid", 0, "failed_link", "bundle", "message", e->msg);
			json_dumpf(j, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(j);
		} else {
			printf("FAILED: bundle %s: %s\n", bundle, e->msg);
		}
		sk_X509_pop_free(vcek, X509_free);
		return EXIT_BUILD_FAILED;
	}
	rc = prov_verify(b, (const uint8_t(*)[SHA256_LEN])digests, (const char *const *)argv + optind, (size_t)n, &o,
			 &res, &e);
	sk_X509_pop_free(vcek, X509_free);
	if (rc < 0)
		return bad("", e->msg);

	if (json) {
		json_t *j = json_object(), *links = json_array(), *arts = json_array();
		for (int l = 1; l <= PROV_N_LINKS; l++)
			json_array_append_new(links, json_pack("{s:i, s:s, s:s}", "number", l, "name",
								prov_link_name((enum prov_link)l), "result",
								res.link[l] > 0 ? "pass" : res.link[l] == 0 ? "fail" : "not-checked"));
		for (int i = 0; i < n; i++) {
			char h[SHA256_HEX_LEN];
			hex_encode(digests[i], SHA256_LEN, h);
			json_array_append_new(arts, json_pack("{s:s, s:s}", "path", argv[optind + i], "sha256", h));
		}
		json_object_set_new(j, "valid", json_boolean(res.valid));
		json_object_set_new(j, "insecure_dev_mode", json_boolean(res.insecure));
		json_object_set_new(j, "confidential", json_boolean(res.valid && !res.insecure));
		json_object_set_new(j, "failed_link", res.failed ? json_string(prov_link_name(res.failed)) : json_null());
		json_object_set_new(j, "failed_link_number", res.failed ? json_integer(res.failed) : json_null());
		json_object_set_new(j, "message", res.message ? json_string(res.message) : json_null());
		json_object_set_new(j, "bundle", json_string(bundle));
		if (b->st) {
			char h[SHA256_HEX_LEN];
			hex_encode(b->st->job_sha256, SHA256_LEN, h);
			json_object_set_new(j, "job", json_pack("{s:s?, s:s, s:s, s:s?}", "name", b->st->job_name,
							       "sha256", h, "tee", b->st->tee, "invocation_id",
							       b->st->invocation_id));
		}
		json_object_set_new(j, "artifacts", arts);
		json_object_set_new(j, "links", links);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		if (b->st)
			printf("bundle %s: job '%s', tee %s\n", bundle, b->st->job_name ? b->st->job_name : "?",
			       b->st->tee);
		for (int l = 1; l <= PROV_N_LINKS; l++)
			printf("  %d %-13s %s%s%s\n", l, prov_link_name((enum prov_link)l), link_state(res.link[l]),
			       l == PROV_LINK_SUBJECT && res.link[l] > 0 ? "    " : "",
			       l == PROV_LINK_SUBJECT && res.link[l] > 0 && res.subject_names ? res.subject_names : "");
		if (!res.valid)
			printf("FAILED at link %d (%s): %s\n", res.failed, prov_link_name(res.failed),
			       res.message ? res.message : "");
		else if (res.insecure)
			printf("VERIFIED WITH --allow-insecure: INSECURE DEVELOPMENT MODE. The provenance is signed by "
			       "the bundled key, but no attestation report binds that key to SEV-SNP hardware: the "
			       "build was NOT confidential and nothing proves where it ran.\n");
		else
			printf("VERIFIED: artifact -> provenance -> signature -> key in REPORT_DATA -> report -> "
			       "VCEK -> ASK -> ARK; measurement, host_data, policy and TCB hold.\n");
	}
	rc = res.valid ? EXIT_OK : EXIT_BUILD_FAILED;
	prov_verify_result_clear(&res);
	return rc;
}
