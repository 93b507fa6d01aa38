/* SPDX-License-Identifier: Apache-2.0 */
/* snpbuild plan JOB.json: the launch plan, expected measurement and domain XML
 * that `run` would use. Launches and creates nothing. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "hexutil.h"
#include "host.h"
#include "job.h"
#include "plan.h"
#include "runner.h"
#include "vm.h"

#define DEFAULT_WORK_ROOT "/var/tmp/snpbuild"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: snpbuild plan JOB.json [options]\n"
		"\n"
		"Prints the launch plan, the expected SNP launch measurement and the libvirt\n"
		"domain XML that `snpbuild run` would use. Launches and creates nothing.\n"
		"\n"
		"      --tee snp|none         plan for this tee instead of the job's\n"
		"      --xml                  print only the domain XML\n"
		"      --json                 print the plan as JSON (with the XML and the measurement record)\n"
		"      --image DIR            guest image folder or manifest.json (default as for run)\n"
		"      --firmware FILE        AmdSev OVMF ROM (tee snp; default: the first of\n"
		"                             /usr/share/snpbuild/OVMF.amdsev.fd, /usr/share/ovmf/OVMF.amdsev.fd, ...)\n"
		"      --cbitpos N            C-bit position (default: the host's, else %u)\n"
		"      --reduced-phys-bits N  (default: the host's, else %u)\n"
		"      --policy X             SNP guest policy (default 0x%llx; bit 17 must be set,\n"
		"                             bits 63:26 are reserved, DEBUG needs --allow-debug)\n"
		"      --allow-debug          permit POLICY.DEBUG (bit 19)\n"
		"      --vcpu-type T          QEMU CPU model the measurement assumes (default %s)\n"
		"      --guest-features X     SEV_FEATURES the host gives (default 0x%llx)\n"
		"      --id-block B64 --id-auth B64 [--author-key-enabled]\n"
		"                             pin the launch with a given ID block and ID auth\n"
		"      --id-key PEM [--author-key PEM] [--family-id HEX32] [--image-id HEX32] [--guest-svn N]\n"
		"                             build and sign the ID block for this plan\n"
		"      --accel kvm|tcg        domain type (default: kvm for tee snp, tcg for tee none)\n"
		"      --transport auto|vsock|virtio-serial\n"
		"      --job-id ID            (default: a fresh one, as run makes)\n"
		"  -c, --connect URI          libvirt URI asked for the host's SEV parameters\n"
		"      --offline              do not ask libvirt (defaults and options only)\n"
		"\n"
		"Exit status: 0 printed, 2 bad input (job, option, policy, firmware, ID block),\n"
		"3 infrastructure failure.\n",
		PLAN_DEFAULT_CBITPOS, PLAN_DEFAULT_REDUCED_PHYS_BITS, (unsigned long long)PLAN_DEFAULT_POLICY,
		PLAN_DEFAULT_CPU_MODEL, (unsigned long long)MEASURE_DEFAULT_GUEST_FEATURES);
}

enum {
	OPT_TEE = 256, OPT_XML, OPT_JSON, OPT_IMAGE, OPT_FIRMWARE, OPT_CBITPOS, OPT_RPB, OPT_POLICY,
	OPT_ALLOW_DEBUG, OPT_VCPU_TYPE, OPT_GUEST_FEATURES, OPT_ID_BLOCK, OPT_ID_AUTH, OPT_AUTHOR_ENABLED,
	OPT_ID_KEY, OPT_AUTHOR_KEY, OPT_FAMILY_ID, OPT_IMAGE_ID, OPT_GUEST_SVN, OPT_ACCEL, OPT_TRANSPORT,
	OPT_JOB_ID, OPT_OFFLINE,
};

static void print_text(const plan *p, const json_t *pj, const host_info *h, const char *host_note)
{
	printf("tee:               %s%s\n", job_tee_name(p->tee),
	       p->tee == JOB_TEE_SNP ? "" : " (INSECURE DEVELOPMENT MODE: no launch measurement)");
	printf("domain:            %s (type %s)\n", p->domain_name, p->domain_type);
	if (p->firmware)
		printf("firmware:          %s (ROM, stateless)\n", p->firmware);
	printf("kernel:            %s\n", p->kernel);
	printf("initrd:            %s\n", p->initrd);
	printf("cmdline:           %s\n", p->cmdline);
	printf("vcpus:             %u%s%s\n", p->vcpus, p->cpu_model ? ", type " : "", p->cpu_model ? p->cpu_model : "");
	printf("memory:            %u MiB\n", p->memory_mib);
	printf("host_data:         %s (SHA-256 of the job descriptor)\n",
	       json_string_value(json_object_get(pj, "host_data")));
	printf("channel:           %s (%s)\n", plan_transport_name(p->transport), p->transport_reason);
	if (p->tee == JOB_TEE_SNP) {
		printf("policy:            0x%llx\n", (unsigned long long)p->policy);
		printf("guest features:    0x%llx\n", (unsigned long long)p->guest_features);
		printf("cbitpos:           %u, reducedPhysBits %u (%s)\n", p->cbitpos, p->reduced_phys_bits,
		       p->cbitpos_source);
		printf("id block:          %s\n", p->has_id_block ? (p->author_key ? "yes, with author key" : "yes") : "no");
		printf("measurement:       %s\n", json_string_value(json_object_get(pj, "measurement")));
	}
	if (h)
		printf("host:              libvirt reachable; SEV-SNP %s\n",
		       h->items[HOST_SNP].ok ? "offered" : "not offered (snpbuild host-check says why)");
	else if (host_note)
		printf("host:              not consulted: %s\n", host_note);
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tee", required_argument, NULL, OPT_TEE },
		{ "xml", no_argument, NULL, OPT_XML },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "firmware", required_argument, NULL, OPT_FIRMWARE },
		{ "cbitpos", required_argument, NULL, OPT_CBITPOS },
		{ "reduced-phys-bits", required_argument, NULL, OPT_RPB },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "allow-debug", no_argument, NULL, OPT_ALLOW_DEBUG },
		{ "vcpu-type", required_argument, NULL, OPT_VCPU_TYPE },
		{ "guest-features", required_argument, NULL, OPT_GUEST_FEATURES },
		{ "id-block", required_argument, NULL, OPT_ID_BLOCK },
		{ "id-auth", required_argument, NULL, OPT_ID_AUTH },
		{ "author-key-enabled", no_argument, NULL, OPT_AUTHOR_ENABLED },
		{ "id-key", required_argument, NULL, OPT_ID_KEY },
		{ "author-key", required_argument, NULL, OPT_AUTHOR_KEY },
		{ "family-id", required_argument, NULL, OPT_FAMILY_ID },
		{ "image-id", required_argument, NULL, OPT_IMAGE_ID },
		{ "guest-svn", required_argument, NULL, OPT_GUEST_SVN },
		{ "accel", required_argument, NULL, OPT_ACCEL },
		{ "transport", required_argument, NULL, OPT_TRANSPORT },
		{ "job-id", required_argument, NULL, OPT_JOB_ID },
		{ "connect", required_argument, NULL, 'c' },
		{ "offline", no_argument, NULL, OPT_OFFLINE },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_err_ sb_err *e = NULL;
	_cleanup_job_ job *j = NULL;
	_cleanup_image_ image *img = NULL;
	_cleanup_plan_ plan *p = NULL;
	_cleanup_(host_info_freep) host_info *h = NULL;
	_cleanup_free_ char *default_image = NULL, *job_id = NULL, *work_dir = NULL, *console = NULL, *xml = NULL;
	_cleanup_free_ char *host_note = NULL;
	plan_opts po = { .force_transport = -1 };
	plan_id_opts ido = { 0 };
	const char *image_path = NULL, *accel = NULL, *uri = NULL, *id_block = NULL, *id_auth = NULL;
	const char *given_job_id = NULL;
	bool want_xml = false, want_json = false, offline = false, author_enabled = false;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TEE:
			po.has_tee = true;
			if (!strcmp(optarg, "snp"))
				po.tee = JOB_TEE_SNP;
			else if (!strcmp(optarg, "none"))
				po.tee = JOB_TEE_NONE;
			else {
				fprintf(stderr, "snpbuild plan: --tee: must be snp or none\n");
				return EXIT_BAD_INPUT;
			}
			break;
		case OPT_XML: want_xml = true; break;
		case OPT_JSON: want_json = true; break;
		case OPT_IMAGE: image_path = optarg; break;
		case OPT_FIRMWARE: po.firmware = optarg; break;
		case OPT_CBITPOS:
			if (cli_parse_u64("snpbuild plan", "--cbitpos", optarg, 63, &v) < 0)
				return EXIT_BAD_INPUT;
			po.has_cbitpos = true, po.cbitpos = (unsigned)v;
			break;
		case OPT_RPB:
			if (cli_parse_u64("snpbuild plan", "--reduced-phys-bits", optarg, 63, &v) < 0)
				return EXIT_BAD_INPUT;
			po.has_reduced_phys_bits = true, po.reduced_phys_bits = (unsigned)v;
			break;
		case OPT_POLICY:
			if (cli_parse_u64("snpbuild plan", "--policy", optarg, UINT64_MAX, &po.policy) < 0)
				return EXIT_BAD_INPUT;
			po.has_policy = true;
			break;
		case OPT_ALLOW_DEBUG: po.allow_debug = true; break;
		case OPT_VCPU_TYPE: po.vcpu_type = optarg; break;
		case OPT_GUEST_FEATURES:
			if (cli_parse_u64("snpbuild plan", "--guest-features", optarg, UINT64_MAX, &po.guest_features) < 0)
				return EXIT_BAD_INPUT;
			po.has_guest_features = true;
			break;
		case OPT_ID_BLOCK: id_block = optarg; break;
		case OPT_ID_AUTH: id_auth = optarg; break;
		case OPT_AUTHOR_ENABLED: author_enabled = true; break;
		case OPT_ID_KEY: ido.id_key = optarg; break;
		case OPT_AUTHOR_KEY: ido.author_key = optarg; break;
		case OPT_FAMILY_ID:
		case OPT_IMAGE_ID:
			if (hex_decode(optarg, c == OPT_FAMILY_ID ? ido.family_id : ido.image_id, MEASURE_ID_LEN) < 0) {
				fprintf(stderr, "snpbuild plan: --%s: must be %d hex digits\n",
					c == OPT_FAMILY_ID ? "family-id" : "image-id", 2 * MEASURE_ID_LEN);
				return EXIT_BAD_INPUT;
			}
			break;
		case OPT_GUEST_SVN:
			if (cli_parse_u64("snpbuild plan", "--guest-svn", optarg, UINT32_MAX, &v) < 0)
				return EXIT_BAD_INPUT;
			ido.guest_svn = (uint32_t)v;
			break;
		case OPT_ACCEL: accel = optarg; break;
		case OPT_TRANSPORT:
			if (!strcmp(optarg, "vsock"))
				po.force_transport = PLAN_TRANSPORT_VSOCK;
			else if (!strcmp(optarg, "virtio-serial"))
				po.force_transport = PLAN_TRANSPORT_VIRTIO_SERIAL;
			else if (strcmp(optarg, "auto")) {
				fprintf(stderr, "snpbuild plan: --transport: must be auto, vsock or virtio-serial\n");
				return EXIT_BAD_INPUT;
			}
			break;
		case OPT_JOB_ID: given_job_id = optarg; break;
		case 'c': uri = optarg; break;
		case OPT_OFFLINE: offline = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_BAD_INPUT;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "snpbuild plan: %s\n\n", optind == argc ? "name one JOB.json" : "one JOB.json only");
		usage(stderr);
		return EXIT_BAD_INPUT;
	}
	if (want_xml && want_json) {
		fprintf(stderr, "snpbuild plan: --xml and --json exclude each other\n");
		return EXIT_BAD_INPUT;
	}
	if ((id_block || id_auth) && (!id_block || !id_auth || ido.id_key)) {
		fprintf(stderr, "snpbuild plan: --id-block and --id-auth go together, and exclude --id-key\n");
		return EXIT_BAD_INPUT;
	}
	if (!ido.id_key && (ido.author_key || author_enabled) && !id_block) {
		fprintf(stderr, "snpbuild plan: --author-key needs --id-key; --author-key-enabled needs --id-block\n");
		return EXIT_BAD_INPUT;
	}

	if (job_load(argv[optind], &j, &e) < 0) {
		fprintf(stderr, "%s\n", e->msg);
		return EXIT_BAD_INPUT;
	}
	enum job_tee tee = po.has_tee ? po.tee : j->tee;
	if ((id_block || ido.id_key) && tee != JOB_TEE_SNP) {
		fprintf(stderr, "snpbuild plan: an ID block needs tee snp\n");
		return EXIT_BAD_INPUT;
	}
	if (po.firmware && tee != JOB_TEE_SNP) {
		fprintf(stderr, "snpbuild plan: --firmware applies to tee snp only (tee none boots without one)\n");
		return EXIT_BAD_INPUT;
	}
	if (!accel)
		accel = tee == JOB_TEE_SNP ? "kvm" : "tcg";
	if (!strcmp(accel, "tcg"))
		po.domain_type = "qemu";
	else if (!strcmp(accel, "kvm"))
		po.domain_type = "kvm";
	else {
		fprintf(stderr, "snpbuild plan: --accel: must be tcg or kvm\n");
		return EXIT_BAD_INPUT;
	}
	if (tee == JOB_TEE_SNP && !strcmp(accel, "tcg")) {
		fprintf(stderr, "%s: tee: \"snp\" needs --accel kvm (SEV-SNP is a KVM feature)\n", argv[optind]);
		return EXIT_BAD_INPUT;
	}
	if (!image_path) {
		image_path = getenv("SNPBUILD_IMAGE");
		if (!image_path && asprintf(&default_image, "%s/guest-image", SNPBUILD_BUILD_ROOT) >= 0)
			image_path = default_image;
	}
	if (image_load(image_path, &img, &e) < 0) {
		fprintf(stderr, "snpbuild plan: %s\n", e->msg);
		return EXIT_INFRA;
	}

	/* The host's SEV parameters when libvirt can tell; a development host has none. */
	if (!offline && tee == JOB_TEE_SNP) {
		virConnectPtr conn = NULL;
		host_probe_opts hpo = { .domain_type = po.domain_type, .firmware = po.firmware };
		if (vm_connect(uri, &conn, &e) < 0 || host_probe(conn, &hpo, &h, &e) < 0) {
			host_note = strdup(e->msg);
			sb_err_free(e);
			e = NULL;
		}
		if (conn)
			virConnectClose(conn);
	} else if (offline) {
		host_note = strdup("--offline");
	}
	po.host = h;

	job_id = given_job_id ? strdup(given_job_id) : runner_new_job_id(j->name);
	if (!job_id || asprintf(&work_dir, "%s/%s", DEFAULT_WORK_ROOT, job_id) < 0 ||
	    asprintf(&console, "out/%s/console.log", job_id) < 0) {
		fprintf(stderr, "snpbuild plan: out of memory\n");
		return EXIT_INFRA;
	}
	po.job_id = job_id;
	po.work_dir = work_dir;
	po.console_log = console;
	if (plan_build(j, img, &po, &p, &e) < 0 ||
	    (id_block && plan_set_id_block(p, id_block, id_auth, author_enabled, &e) < 0) ||
	    (ido.id_key && plan_sign_id_block(p, &ido, &e) < 0)) {
		fprintf(stderr, "%s: %s\n", argv[optind], e->msg);
		return e->errnum == ENOMEM ? EXIT_INFRA : EXIT_BAD_INPUT;
	}
	if (!host_note && h && !h->has_sev_params && !po.has_cbitpos && tee == JOB_TEE_SNP)
		host_note = strdup("libvirt reports no SEV parameters here");

	if (plan_domain_xml(p, &xml, &e) < 0) {
		fprintf(stderr, "snpbuild plan: %s\n", e->msg);
		return EXIT_INFRA;
	}
	if (want_xml && !want_json) {
		fputs(xml, stdout);
		return EXIT_OK;
	}
	json_t *pj = NULL;
	if (plan_json(p, &pj, &e) < 0) {
		fprintf(stderr, "%s: %s\n", argv[optind], e->msg);
		return EXIT_BAD_INPUT;
	}
	if (want_json) {
		json_object_set_new(pj, "host_note", host_note ? json_string(host_note) : json_null());
		json_object_set_new(pj, "domain_xml", json_string(xml));
		json_dumpf(pj, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	} else {
		print_text(p, pj, h, host_note);
		printf("\n%s", xml);
	}
	json_decref(pj);
	return EXIT_OK;
}
