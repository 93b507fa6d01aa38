/* SPDX-License-Identifier: Apache-2.0 */
/* snpbuild measure: the SNP launch digest of a firmware/kernel/VM shape, and
 * optionally the ID block and ID auth that pin it at launch. */
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "hexutil.h"
#include "measure.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: snpbuild measure --ovmf FILE [--kernel FILE | --kernel-sha256 HEX]\n"
		"                        [--initrd FILE | --initrd-sha256 HEX] [--append CMDLINE]\n"
		"                        --vcpus N (--vcpu-type NAME | --vcpu-family N --vcpu-model N --vcpu-stepping N)\n"
		"                        [--guest-features X] [--ovmf-ld HEX] [--cache FILE] [--json]\n"
		"                        [--id-key PEM [--author-key PEM] --policy X [--family-id HEX]\n"
		"                         [--image-id HEX] [--guest-svn N]]\n"
		"       snpbuild measure --image MANIFEST --vcpus N --vcpu-type NAME [...]\n"
		"\n"
		"Prints the SEV-SNP launch digest (hex) a QEMU guest with these inputs must report.\n"
		"  --guest-features X  SEV_FEATURES (default 0x%llx: SNPActive; 0x21 adds DebugSwap)\n"
		"  --ovmf-ld HEX       launch digest after the firmware pages, precomputed\n"
		"  --json              a reference-value record: every input digest, the result, intermediates\n"
		"  --cache FILE        reuse/record results in FILE, keyed by the input digests\n"
		"  --id-key PEM        also print the ID block and ID auth (base64, for libvirt's\n"
		"                      <idBlock>/<idAuth>) signed with this ECDSA P-384 key\n"
		"vCPU types:",
		(unsigned long long)MEASURE_DEFAULT_GUEST_FEATURES);
	for (size_t i = 0; measure_vcpu_name_at(i); i++)
		fprintf(f, " %s", measure_vcpu_name_at(i));
	fprintf(f, "\n");
}

static int parse_hex(const char *opt, const char *s, void *out, size_t len)
{
	if (hex_decode(s, out, len) < 0) {
		fprintf(stderr, "snpbuild measure: %s: must be %zu hex digits\n", opt, 2 * len);
		return -EINVAL;
	}
	return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)

enum {
	OPT_OVMF = 0x100,
	OPT_OVMF_LD,
	OPT_KERNEL,
	OPT_KERNEL_SHA,
	OPT_INITRD,
	OPT_INITRD_SHA,
	OPT_APPEND,
	OPT_IMAGE,
	OPT_VCPUS,
	OPT_VCPU_TYPE,
	OPT_FAMILY,
	OPT_MODEL,
	OPT_STEPPING,
	OPT_FEATURES,
	OPT_JSON,
	OPT_CACHE,
	OPT_ID_KEY,
	OPT_AUTHOR_KEY,
	OPT_POLICY,
	OPT_FAMILY_ID,
	OPT_IMAGE_ID,
	OPT_SVN,
};

static const struct option options[] = {
	{ "ovmf", required_argument, NULL, OPT_OVMF },
	{ "ovmf-ld", required_argument, NULL, OPT_OVMF_LD },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "kernel-sha256", required_argument, NULL, OPT_KERNEL_SHA },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "initrd-sha256", required_argument, NULL, OPT_INITRD_SHA },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "vcpu-type", required_argument, NULL, OPT_VCPU_TYPE },
	{ "vcpu-family", required_argument, NULL, OPT_FAMILY },
	{ "vcpu-model", required_argument, NULL, OPT_MODEL },
	{ "vcpu-stepping", required_argument, NULL, OPT_STEPPING },
	{ "guest-features", required_argument, NULL, OPT_FEATURES },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "cache", required_argument, NULL, OPT_CACHE },
	{ "id-key", required_argument, NULL, OPT_ID_KEY },
	{ "author-key", required_argument, NULL, OPT_AUTHOR_KEY },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "family-id", required_argument, NULL, OPT_FAMILY_ID },
	{ "image-id", required_argument, NULL, OPT_IMAGE_ID },
	{ "guest-svn", required_argument, NULL, OPT_SVN },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_measure(int argc, char **argv)
{
	struct measure_input in = { .guest_features = MEASURE_DEFAULT_GUEST_FEATURES };
	struct measure_id_block_params idp = { 0 };
	_cleanup_(measure_manifest_freep) measure_manifest_t *manifest = NULL;
	_cleanup_(measure_cache_freep) measure_cache_t *cache = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *id_key = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *author_key = NULL;
	_cleanup_(json_decrefp) json_t *rec = NULL;
	_cleanup_err_ sb_err *err = NULL;
	_cleanup_free_ char *image_manifest = NULL;
	const char *image = NULL, *cache_path = NULL, *id_key_path = NULL, *author_key_path = NULL;
	bool json = false, have_fms[3] = { false }, have_policy = false, have_vcpus = false;
	struct measure_result res;
	uint64_t v;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_OVMF:
			in.ovmf_path = optarg;
			break;
		case OPT_OVMF_LD:
			if (parse_hex("--ovmf-ld", optarg, in.firmware_ld, MEASURE_LD_LEN) < 0)
				return EXIT_BAD_INPUT;
			in.has_firmware_ld = true;
			break;
		case OPT_KERNEL:
			in.kernel.path = optarg;
			break;
		case OPT_KERNEL_SHA:
			if (parse_hex("--kernel-sha256", optarg, in.kernel.sha256, MEASURE_SHA256_LEN) < 0)
				return EXIT_BAD_INPUT;
			in.kernel.has_sha256 = true;
			break;
		case OPT_INITRD:
			in.initrd.path = optarg;
			break;
		case OPT_INITRD_SHA:
			if (parse_hex("--initrd-sha256", optarg, in.initrd.sha256, MEASURE_SHA256_LEN) < 0)
				return EXIT_BAD_INPUT;
			in.initrd.has_sha256 = true;
			break;
		case OPT_APPEND:
			in.cmdline = optarg;
			break;
		case OPT_IMAGE:
			image = optarg;
			break;
		case OPT_VCPUS:
			if (cli_parse_u64("snpbuild measure", "--vcpus", optarg, UINT32_MAX, &v) < 0)
				return EXIT_BAD_INPUT;
			in.vcpus = (unsigned)v;
			have_vcpus = true;
			break;
		case OPT_VCPU_TYPE:
			in.vcpu_type.name = optarg;
			break;
		case OPT_FAMILY:
		case OPT_MODEL:
		case OPT_STEPPING:
			if (cli_parse_u64("snpbuild measure", c == OPT_FAMILY ? "--vcpu-family" : c == OPT_MODEL ? "--vcpu-model" : "--vcpu-stepping",
				      optarg, UINT32_MAX, &v) < 0)
				return EXIT_BAD_INPUT;
			if (c == OPT_FAMILY)
				in.vcpu_type.family = (unsigned)v;
			else if (c == OPT_MODEL)
				in.vcpu_type.model = (unsigned)v;
			else
				in.vcpu_type.stepping = (unsigned)v;
			have_fms[c - OPT_FAMILY] = true;
			break;
		case OPT_FEATURES:
			if (cli_parse_u64("snpbuild measure", "--guest-features", optarg, UINT64_MAX, &in.guest_features) < 0)
				return EXIT_BAD_INPUT;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_CACHE:
			cache_path = optarg;
			break;
		case OPT_ID_KEY:
			id_key_path = optarg;
			break;
		case OPT_AUTHOR_KEY:
			author_key_path = optarg;
			break;
		case OPT_POLICY:
			if (cli_parse_u64("snpbuild measure", "--policy", optarg, UINT64_MAX, &idp.policy) < 0)
				return EXIT_BAD_INPUT;
			have_policy = true;
			break;
		case OPT_FAMILY_ID:
			if (parse_hex("--family-id", optarg, idp.family_id, MEASURE_ID_LEN) < 0)
				return EXIT_BAD_INPUT;
			break;
		case OPT_IMAGE_ID:
			if (parse_hex("--image-id", optarg, idp.image_id, MEASURE_ID_LEN) < 0)
				return EXIT_BAD_INPUT;
			break;
		case OPT_SVN:
			if (cli_parse_u64("snpbuild measure", "--guest-svn", optarg, UINT32_MAX, &v) < 0)
				return EXIT_BAD_INPUT;
			idp.guest_svn = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_BAD_INPUT;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "snpbuild measure: unexpected argument '%s'\n", argv[optind]);
		return EXIT_BAD_INPUT;
	}
	if (!have_vcpus) {
		fprintf(stderr, "snpbuild measure: --vcpus is required\n");
		return EXIT_BAD_INPUT;
	}
	if (!!in.vcpu_type.name == (have_fms[0] || have_fms[1] || have_fms[2]) ||
	    (!in.vcpu_type.name && !(have_fms[0] && have_fms[1] && have_fms[2]))) {
		fprintf(stderr, "snpbuild measure: give either --vcpu-type or all of --vcpu-family, --vcpu-model "
				"and --vcpu-stepping\n");
		return EXIT_BAD_INPUT;
	}
	if ((in.kernel.path && in.kernel.has_sha256) || (in.initrd.path && in.initrd.has_sha256)) {
		fprintf(stderr, "snpbuild measure: give a file or its --*-sha256, not both\n");
		return EXIT_BAD_INPUT;
	}
	if (image) {
		if (in.kernel.path || in.kernel.has_sha256 || in.initrd.path || in.initrd.has_sha256 || in.cmdline) {
			fprintf(stderr, "snpbuild measure: --image names the kernel, initrd and command line itself "
					"(and the firmware, unless --ovmf gives it)\n");
			return EXIT_BAD_INPUT;
		}
		struct stat st;
		if (stat(image, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (asprintf(&image_manifest, "%s/manifest.json", image) < 0)
				return EXIT_INFRA;
			image = image_manifest;
		}
		r = measure_manifest_load(image, &in, &manifest, &err);
		if (r < 0)
			goto fail;
	} else if (!in.ovmf_path) {
		fprintf(stderr, "snpbuild measure: --ovmf (or --image) is required\n");
		return EXIT_BAD_INPUT;
	}
	if (author_key_path && !id_key_path) {
		fprintf(stderr, "snpbuild measure: --author-key needs --id-key\n");
		return EXIT_BAD_INPUT;
	}
	if (id_key_path && !have_policy) {
		fprintf(stderr, "snpbuild measure: --id-key needs --policy (the guest policy of the launch)\n");
		return EXIT_BAD_INPUT;
	}

	if (cache_path) {
		r = measure_cache_new(cache_path, &cache, &err);
		if (r >= 0)
			r = measure_cache_measure(cache, &in, &res, &err);
	} else {
		r = measure_launch_digest(&in, &res, &err);
	}
	if (r < 0)
		goto fail;

	if (json) {
		r = measure_record_json(&res, in.vcpu_type.name, res.key.has_kernel ? (in.cmdline ? in.cmdline : "") : NULL,
					&rec, &err);
		if (r < 0)
			goto fail;
	} else {
		char hex[2 * MEASURE_LD_LEN + 1];
		hex_encode(res.digest, MEASURE_LD_LEN, hex);
		printf("%s\n", hex);
	}

	if (id_key_path) {
		uint8_t block[MEASURE_ID_BLOCK_LEN], auth[MEASURE_ID_AUTH_LEN], kd[MEASURE_LD_LEN];
		char hex[2 * MEASURE_LD_LEN + 1];
		_cleanup_free_ char *b64_block = NULL, *b64_auth = NULL;

		r = measure_idblock_load_key(id_key_path, &id_key, &err);
		if (r >= 0 && author_key_path)
			r = measure_idblock_load_key(author_key_path, &author_key, &err);
		if (r < 0)
			goto fail;
		memcpy(idp.digest, res.digest, MEASURE_LD_LEN);
		measure_idblock_build(&idp, block);
		r = measure_idauth_build(block, id_key, author_key, auth, &err);
		if (r < 0)
			goto fail;
		b64_block = measure_base64(block, sizeof(block));
		b64_auth = measure_base64(auth, sizeof(auth));
		if (!b64_block || !b64_auth) {
			fprintf(stderr, "snpbuild measure: out of memory\n");
			return EXIT_INFRA;
		}
		if (json) {
			json_t *idj = json_object();
			char pol[24];
			snprintf(pol, sizeof(pol), "0x%llx", (unsigned long long)idp.policy);
			json_object_set_new(idj, "id_block", json_string(b64_block));
			json_object_set_new(idj, "id_auth", json_string(b64_auth));
			json_object_set_new(idj, "policy", json_string(pol));
			json_object_set_new(idj, "guest_svn", json_integer(idp.guest_svn));
			hex_encode(idp.family_id, MEASURE_ID_LEN, hex);
			json_object_set_new(idj, "family_id", json_string(hex));
			hex_encode(idp.image_id, MEASURE_ID_LEN, hex);
			json_object_set_new(idj, "image_id", json_string(hex));
			if (measure_idblock_key_digest(id_key, kd, &err) < 0)
				goto fail;
			hex_encode(kd, sizeof(kd), hex);
			json_object_set_new(idj, "id_key_digest", json_string(hex));
			if (author_key) {
				if (measure_idblock_key_digest(author_key, kd, &err) < 0)
					goto fail;
				hex_encode(kd, sizeof(kd), hex);
				json_object_set_new(idj, "author_key_digest", json_string(hex));
			}
			json_object_set_new(rec, "id", idj);
		} else {
			printf("id-block: %s\nid-auth: %s\n", b64_block, b64_auth);
			if (measure_idblock_key_digest(id_key, kd, &err) < 0)
				goto fail;
			hex_encode(kd, sizeof(kd), hex);
			printf("id-key-digest: %s\n", hex);
			if (author_key) {
				if (measure_idblock_key_digest(author_key, kd, &err) < 0)
					goto fail;
				hex_encode(kd, sizeof(kd), hex);
				printf("author-key-digest: %s\n", hex);
			}
		}
	}
	if (json) {
		if (json_dumpf(rec, stdout, JSON_INDENT(2)) < 0)
			return EXIT_INFRA;
		printf("\n");
	}
	return EXIT_OK;

fail:
	fprintf(stderr, "snpbuild measure: %s\n", err && err->msg ? err->msg : "failed");
	return EXIT_BAD_INPUT;
}
