/* SPDX-License-Identifier: Apache-2.0 */
/* snpbuild verify-report: check an SEV-SNP attestation report and its AMD chain. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest.h"
#include "cli.h"
#include "hexutil.h"
#include "jsonutil.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: snpbuild verify-report REPORT [OPTIONS]\n"
		"\n"
		"Verifies an AMD SEV-SNP attestation report (binary, or its hex) against its\n"
		"VCEK/VLEK and the pinned AMD roots, prints every field and the verdict.\n"
		"Exit 0 only when valid, 1 when a check failed, 2 for bad input.\n"
		"\n"
		"  --vcek FILE               VCEK or VLEK (PEM or DER; more PEM certs = chain)\n"
		"  --chain FILE              ASK/ASVK [+ ARK] (KDS cert_chain order)\n"
		"  --crl FILE                CRL from the ARK (PEM or DER)\n"
		"  --roots DIR               pinned AMD roots (default %s)\n"
		"  --at TIME                 verification time: YYYY-MM-DD[THH:MM:SSZ] or @SECONDS\n"
		"  --allow-debug             accept POLICY.DEBUG=1\n"
		"  --allow-vmpl              accept VMPL != 0\n"
		"  --allow-migrate-ma        accept POLICY.MIGRATE_MA=1\n"
		"  --forbid-smt              reject POLICY.SMT or PLATFORM_INFO.SMT_EN\n"
		"  --no-vlek                 reject VLEK-signed reports\n"
		"  --require-crl             fail unless --crl is given and checks out\n"
		"  --min-tcb TCB             e.g. bl=3,tee=0,snp=8,ucode=115[,fmc=1]\n"
		"  --min-guest-svn N\n"
		"  --expect-measurement HEX  (48 bytes)\n"
		"  --expect-host-data HEX    (32 bytes)\n"
		"  --expect-report-data HEX  (up to 64 bytes; the rest must be zero)\n"
		"  --expect-family-id HEX    (16 bytes)\n"
		"  --expect-image-id HEX     (16 bytes)\n"
		"  --expect-product NAME     Milan, Genoa or Turin\n"
		"  --expect-stepping N       stepping in the VCEK productName (Milan-B0 = 0)\n"
		"  --kds-cache DIR           look the VCEK up in this KDS cache when --vcek is absent\n"
		"  --json                    print JSON\n",
		attest_default_roots_dir());
}

enum {
	OPT_VCEK = 256,
	OPT_CHAIN,
	OPT_CRL,
	OPT_ROOTS,
	OPT_AT,
	OPT_ALLOW_DEBUG,
	OPT_ALLOW_VMPL,
	OPT_ALLOW_MIGRATE,
	OPT_FORBID_SMT,
	OPT_NO_VLEK,
	OPT_REQUIRE_CRL,
	OPT_MIN_TCB,
	OPT_MIN_SVN,
	OPT_MEASUREMENT,
	OPT_HOST_DATA,
	OPT_REPORT_DATA,
	OPT_FAMILY_ID,
	OPT_IMAGE_ID,
	OPT_PRODUCT,
	OPT_STEPPING,
	OPT_KDS_CACHE,
	OPT_JSON,
	OPT_HELP,
};

static const struct option options[] = {
	{ "vcek", required_argument, NULL, OPT_VCEK },
	{ "chain", required_argument, NULL, OPT_CHAIN },
	{ "crl", required_argument, NULL, OPT_CRL },
	{ "roots", required_argument, NULL, OPT_ROOTS },
	{ "at", required_argument, NULL, OPT_AT },
	{ "allow-debug", no_argument, NULL, OPT_ALLOW_DEBUG },
	{ "allow-vmpl", no_argument, NULL, OPT_ALLOW_VMPL },
	{ "allow-migrate-ma", no_argument, NULL, OPT_ALLOW_MIGRATE },
	{ "forbid-smt", no_argument, NULL, OPT_FORBID_SMT },
	{ "no-vlek", no_argument, NULL, OPT_NO_VLEK },
	{ "require-crl", no_argument, NULL, OPT_REQUIRE_CRL },
	{ "min-tcb", required_argument, NULL, OPT_MIN_TCB },
	{ "min-guest-svn", required_argument, NULL, OPT_MIN_SVN },
	{ "expect-measurement", required_argument, NULL, OPT_MEASUREMENT },
	{ "expect-host-data", required_argument, NULL, OPT_HOST_DATA },
	{ "expect-report-data", required_argument, NULL, OPT_REPORT_DATA },
	{ "expect-family-id", required_argument, NULL, OPT_FAMILY_ID },
	{ "expect-image-id", required_argument, NULL, OPT_IMAGE_ID },
	{ "expect-product", required_argument, NULL, OPT_PRODUCT },
	{ "expect-stepping", required_argument, NULL, OPT_STEPPING },
	{ "kds-cache", required_argument, NULL, OPT_KDS_CACHE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int hex_arg(const char *opt, const char *s, uint8_t *out, size_t len, bool prefix_ok)
{
	size_t n = strlen(s);

	memset(out, 0, len);
	if (n % 2 || n / 2 > len || (!prefix_ok && n / 2 != len) || hex_decode(s, out, n / 2) < 0) {
		fprintf(stderr, "snpbuild verify-report: %s: expected %s%zu bytes of hex\n", opt,
			prefix_ok ? "up to " : "", len);
		return -1;
	}
	return 0;
}

static json_t *u64j(uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%016llx", (unsigned long long)v);
	return json_string(buf);
}

static json_t *tcbj(uint64_t raw, enum attest_product p)
{
	struct attest_tcb t = attest_tcb_decode(raw, p);
	json_t *o = json_object();
	json_object_set_new(o, "raw", u64j(raw));
	if (t.has_fmc)
		json_object_set_new(o, "fmc", json_integer(t.fmc));
	json_object_set_new(o, "bootloader", json_integer(t.bootloader));
	json_object_set_new(o, "tee", json_integer(t.tee));
	json_object_set_new(o, "snp", json_integer(t.snp));
	json_object_set_new(o, "microcode", json_integer(t.microcode));
	return o;
}

static json_t *verj(uint8_t major, uint8_t minor, uint8_t build)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%u.%u.%u", major, minor, build);
	return json_string(buf);
}

static json_t *tri(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static json_t *report_json(const struct attest_report *r, enum attest_product p)
{
	json_t *o = json_object();

	json_object_set_new(o, "version", json_integer(r->version));
	json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
	json_object_set_new(o, "policy", u64j(r->policy));
	json_object_set_new(o, "policy_debug", json_boolean(r->policy & ATTEST_POLICY_DEBUG));
	json_object_set_new(o, "policy_migrate_ma", json_boolean(r->policy & ATTEST_POLICY_MIGRATE_MA));
	json_object_set_new(o, "policy_smt", json_boolean(r->policy & ATTEST_POLICY_SMT));
	{
		char abi[16];
		snprintf(abi, sizeof(abi), "%u.%u", (unsigned)(r->policy >> 8) & 0xff, (unsigned)r->policy & 0xff);
		json_object_set_new(o, "policy_abi_min", json_string(abi));
	}
	json_object_set_new(o, "family_id", json_hex(r->family_id, 16));
	json_object_set_new(o, "image_id", json_hex(r->image_id, 16));
	json_object_set_new(o, "vmpl", json_integer(r->vmpl));
	json_object_set_new(o, "signature_algo", json_integer(r->signature_algo));
	json_object_set_new(o, "current_tcb", tcbj(r->current_tcb, p));
	json_object_set_new(o, "platform_info", u64j(r->platform_info));
	json_object_set_new(o, "signer_info", json_integer(r->signer_info));
	json_object_set_new(o, "author_key_en", json_integer(r->author_key_en));
	json_object_set_new(o, "mask_chip_key", json_integer(r->mask_chip_key));
	json_object_set_new(o, "signing_key", json_integer(r->signing_key));
	json_object_set_new(o, "report_data", json_hex(r->report_data, 64));
	json_object_set_new(o, "measurement", json_hex(r->measurement, 48));
	json_object_set_new(o, "host_data", json_hex(r->host_data, 32));
	json_object_set_new(o, "id_key_digest", json_hex(r->id_key_digest, 48));
	json_object_set_new(o, "author_key_digest", json_hex(r->author_key_digest, 48));
	json_object_set_new(o, "report_id", json_hex(r->report_id, 32));
	json_object_set_new(o, "report_id_ma", json_hex(r->report_id_ma, 32));
	json_object_set_new(o, "reported_tcb", tcbj(r->reported_tcb, p));
	if (r->has_cpuid) {
		json_object_set_new(o, "cpuid_fam_id", json_integer(r->cpuid_fam_id));
		json_object_set_new(o, "cpuid_mod_id", json_integer(r->cpuid_mod_id));
		json_object_set_new(o, "cpuid_step", json_integer(r->cpuid_step));
	}
	json_object_set_new(o, "chip_id", json_hex(r->chip_id, 64));
	json_object_set_new(o, "committed_tcb", tcbj(r->committed_tcb, p));
	json_object_set_new(o, "current_version", verj(r->current_major, r->current_minor, r->current_build));
	json_object_set_new(o, "committed_version", verj(r->committed_major, r->committed_minor, r->committed_build));
	json_object_set_new(o, "launch_tcb", tcbj(r->launch_tcb, p));
	if (r->has_mit_vectors) {
		json_object_set_new(o, "launch_mit_vector", u64j(r->launch_mit_vector));
		json_object_set_new(o, "current_mit_vector", u64j(r->current_mit_vector));
	}
	json_object_set_new(o, "signature_r", json_hex(r->sig_r, 72));
	json_object_set_new(o, "signature_s", json_hex(r->sig_s, 72));
	return o;
}

static json_t *ext_json(const struct attest_cert_ext *e)
{
	static const char *const spl_names[10] = { NULL,     "blSPL", "teeSPL", "snpSPL", "spl_4",
						   "spl_5",  "spl_6", "spl_7",  "ucodeSPL", "fmcSPL" };
	json_t *o = json_object();

	if (e->has_struct_version)
		json_object_set_new(o, "structVersion", json_integer(e->struct_version));
	json_object_set_new(o, "productName", json_string(e->product_name));
	for (int i = 1; i < 10; i++)
		if (e->has_spl[i])
			json_object_set_new(o, spl_names[i], json_integer(e->spl[i]));
	if (e->hwid_len)
		json_object_set_new(o, "hwID", json_hex(e->hwid, e->hwid_len));
	if (e->csp_id[0])
		json_object_set_new(o, "cspID", json_string(e->csp_id));
	return o;
}

static json_t *verdict_json(const struct attest_verdict *v)
{
	json_t *o = json_object(), *reasons = json_array();

	json_object_set_new(o, "valid", json_boolean(v->valid));
	json_object_set_new(o, "product", json_string(attest_product_name(v->product)));
	json_object_set_new(o, "signer", json_string(v->signer == ATTEST_SIGNER_VLEK ? "VLEK" :
						     v->signer == ATTEST_SIGNER_VCEK ? "VCEK" : "none"));
	json_object_set_new(o, "report_signature_valid", tri(v->signature_valid));
	json_object_set_new(o, "endorsement_signed_by_intermediate", tri(v->leaf_signed_by_intermediate));
	json_object_set_new(o, "intermediate_signed_by_ark", tri(v->intermediate_signed_by_ark));
	json_object_set_new(o, "ark_pinned", tri(v->ark_pinned));
	json_object_set_new(o, "certificates_time_valid", tri(v->certs_time_valid));
	json_object_set_new(o, "crl_checked", tri(v->crl_checked));
	json_object_set_new(o, "reported_tcb_matches_certificate", tri(v->tcb_matches_cert));
	json_object_set_new(o, "chip_id_matches_hwid", tri(v->chip_id_matches));
	json_object_set_new(o, "policy_ok", tri(v->policy_ok));
	for (size_t i = 0; i < v->n_reasons; i++) {
		json_t *r = json_object();
		json_object_set_new(r, "code", json_string(attest_reason_name(v->reasons[i].code)));
		json_object_set_new(r, "message", json_string(v->reasons[i].msg));
		json_array_append_new(reasons, r);
	}
	json_object_set_new(o, "reasons", reasons);
	return o;
}

static void print_text(FILE *f, json_t *j, int depth)
{
	const char *key;
	json_t *val;

	json_object_foreach(j, key, val) {
		if (json_is_object(val)) {
			fprintf(f, "%*s%s:\n", depth * 2, "", key);
			print_text(f, val, depth + 1);
		} else if (json_is_array(val)) {
			size_t i;
			json_t *item;
			fprintf(f, "%*s%s:%s\n", depth * 2, "", key, json_array_size(val) ? "" : " none");
			json_array_foreach(val, i, item) {
				json_t *code = json_object_get(item, "code"), *msg = json_object_get(item, "message");
				fprintf(f, "%*s- [%s] %s\n", depth * 2 + 2, "", json_string_value(code),
					json_string_value(msg));
			}
		} else {
			_cleanup_free_ char *s = json_is_string(val) ? strdup(json_string_value(val))
								    : json_dumps(val, JSON_ENCODE_ANY);
			fprintf(f, "%*s%s: %s\n", depth * 2, "", key, s ? s : "?");
		}
	}
}

static void x509_freep(X509 **x)
{
	X509_free(*x);
}
static void crl_freep(X509_CRL **c)
{
	X509_CRL_free(*c);
}
static void sk_freep(STACK_OF(X509) **sk)
{
	if (*sk)
		sk_X509_pop_free(*sk, X509_free);
}

static int load_crl(const char *path, X509_CRL **ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	X509_CRL *crl;

	if (!f) {
		fprintf(stderr, "snpbuild verify-report: %s: %m\n", path);
		return -1;
	}
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	if (!crl) {
		rewind(f);
		crl = d2i_X509_CRL_fp(f, NULL);
	}
	if (!crl) {
		fprintf(stderr, "snpbuild verify-report: %s: not a PEM or DER X.509 CRL\n", path);
		return -1;
	}
	*ret = crl;
	return 0;
}

int cmd_verify_report(int argc, char **argv)
{
	_cleanup_err_ sb_err *err = NULL;
	_cleanup_(attest_ctx_freep) attest_ctx *ctx = NULL;
	_cleanup_(attest_verdict_freep) struct attest_verdict *v = NULL;
	_cleanup_(sk_freep) STACK_OF(X509) *vcek_file = NULL;
	_cleanup_(sk_freep) STACK_OF(X509) *chain = NULL;
	_cleanup_(x509_freep) X509 *kds_vcek = NULL;
	_cleanup_(crl_freep) X509_CRL *crl = NULL;
	_cleanup_(json_decrefp) json_t *out = NULL;
	struct attest_policy pol;
	struct attest_evidence ev = { 0 };
	struct attest_report rep;
	const char *vcek_path = NULL, *chain_path = NULL, *crl_path = NULL, *roots = NULL, *cache = NULL;
	bool json = false;
	int c;

	attest_policy_init(&pol);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		char *end = NULL;
		unsigned long n;

		switch (c) {
		case OPT_VCEK:
			vcek_path = optarg;
			break;
		case OPT_CHAIN:
			chain_path = optarg;
			break;
		case OPT_CRL:
			crl_path = optarg;
			break;
		case OPT_ROOTS:
			roots = optarg;
			break;
		case OPT_KDS_CACHE:
			cache = optarg;
			break;
		case OPT_AT:
			if (attest_parse_time(optarg, &pol.at, &err) < 0)
				goto bad;
			break;
		case OPT_ALLOW_DEBUG:
			pol.allow_debug = true;
			break;
		case OPT_ALLOW_VMPL:
			pol.allow_vmpl_nonzero = true;
			break;
		case OPT_ALLOW_MIGRATE:
			pol.allow_migrate_ma = true;
			break;
		case OPT_FORBID_SMT:
			pol.forbid_smt = true;
			break;
		case OPT_NO_VLEK:
			pol.allow_vlek = false;
			break;
		case OPT_REQUIRE_CRL:
			pol.require_crl = true;
			break;
		case OPT_MIN_TCB:
			if (attest_tcb_parse(optarg, &pol.min_tcb, &err) < 0)
				goto bad;
			pol.has_min_tcb = true;
			break;
		case OPT_MIN_SVN:
		case OPT_STEPPING:
			n = strtoul(optarg, &end, 0);
			if (!*optarg || *end || n > (c == OPT_STEPPING ? 255UL : 0xffffffffUL)) {
				fprintf(stderr, "snpbuild verify-report: '%s' is not a valid number\n", optarg);
				return EXIT_BAD_INPUT;
			}
			if (c == OPT_STEPPING) {
				pol.has_stepping = true;
				pol.stepping = (uint8_t)n;
			} else {
				pol.has_min_guest_svn = true;
				pol.min_guest_svn = (uint32_t)n;
			}
			break;
		case OPT_MEASUREMENT:
			if (hex_arg("--expect-measurement", optarg, pol.measurement, 48, false) < 0)
				return EXIT_BAD_INPUT;
			pol.has_measurement = true;
			break;
		case OPT_HOST_DATA:
			if (hex_arg("--expect-host-data", optarg, pol.host_data, 32, false) < 0)
				return EXIT_BAD_INPUT;
			pol.has_host_data = true;
			break;
		case OPT_REPORT_DATA:
			if (hex_arg("--expect-report-data", optarg, pol.report_data, 64, true) < 0)
				return EXIT_BAD_INPUT;
			pol.has_report_data = true;
			break;
		case OPT_FAMILY_ID:
			if (hex_arg("--expect-family-id", optarg, pol.family_id, 16, false) < 0)
				return EXIT_BAD_INPUT;
			pol.has_family_id = true;
			break;
		case OPT_IMAGE_ID:
			if (hex_arg("--expect-image-id", optarg, pol.image_id, 16, false) < 0)
				return EXIT_BAD_INPUT;
			pol.has_image_id = true;
			break;
		case OPT_PRODUCT:
			pol.expect_product = attest_product_from_name(optarg);
			if (pol.expect_product == ATTEST_PRODUCT_UNKNOWN) {
				fprintf(stderr, "snpbuild verify-report: --expect-product: '%s' is not Milan, Genoa or Turin\n",
					optarg);
				return EXIT_BAD_INPUT;
			}
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_BAD_INPUT;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_BAD_INPUT;
	}

	if (attest_report_load(argv[optind], &rep, &err) < 0)
		goto bad;
	if (vcek_path) {
		if (attest_certs_load(vcek_path, &vcek_file, &err) < 0)
			goto bad;
		ev.endorsement = sk_X509_value(vcek_file, 0);
		if (sk_X509_num(vcek_file) > 1) {
			/* A bundle: VCEK, then its chain. */
			chain = sk_X509_new_null();
			if (!chain)
				return EXIT_INFRA;
			for (int i = 1; i < sk_X509_num(vcek_file); i++) {
				X509 *x = sk_X509_value(vcek_file, i);
				if (!X509_up_ref(x) || !sk_X509_push(chain, x))
					return EXIT_INFRA;
			}
		}
	} else if (cache) {
		struct attest_kds kds = { .cache_dir = cache, .offline = true };
		if (attest_kds_get_vcek(&kds, &rep, ATTEST_PRODUCT_UNKNOWN, &kds_vcek, &err) < 0)
			goto bad;
		ev.endorsement = kds_vcek;
	}
	if (chain_path) {
		if (chain)
			sk_X509_pop_free(TAKE_PTR(chain), X509_free);
		if (attest_certs_load(chain_path, &chain, &err) < 0)
			goto bad;
	}
	ev.chain = chain;
	if (crl_path) {
		if (load_crl(crl_path, &crl) < 0)
			return EXIT_BAD_INPUT;
		ev.crl = crl;
	}
	if (attest_ctx_new(roots, &ctx, &err) < 0)
		goto bad;
	if (attest_verify(ctx, &rep, &ev, &pol, &v, &err) < 0)
		goto bad;

	out = json_object();
	json_object_set_new(out, "report", report_json(&rep, v->product));
	if (v->has_ext)
		json_object_set_new(out, "certificate", ext_json(&v->ext));
	json_object_set_new(out, "verdict", verdict_json(v));
	if (json) {
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		print_text(stdout, out, 0);
		printf("%s\n", v->valid ? "VALID" : "INVALID");
	}
	return v->valid ? EXIT_OK : EXIT_BUILD_FAILED;

bad:
	fprintf(stderr, "snpbuild verify-report: %s\n", err && err->msg ? err->msg : "invalid input");
	return EXIT_BAD_INPUT;
}
