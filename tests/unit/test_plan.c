/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The launch plan: policy validation, firmware checks, ID block, the domain
 * XML against libvirt's own schema (virt-xml-validate), the XML and the
 * expected measurement moving together for every plan field, the expected
 * measurement against sev-snp-measure's vectors, and the dev-mode XML
 * differing from the SNP XML exactly where README.md's table says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config.h"
#include "digest.h"
#include "hexutil.h"
#include "host.h"
#include "job.h"
#include "measure.h"
#include "plan.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/test-plan-XXXXXX";

#define JOB_SNP                                                                                           \
	"{\"api_version\": \"snpbuild/v1\", \"name\": \"demo\", \"source\": {\"path\": \"src\"},"          \
	" \"steps\": [{\"run\": \"make\"}], \"artifacts\": [\"out\"],"                                     \
	" \"resources\": {\"vcpus\": 2, \"memory_mib\": 2048}, \"tee\": \"snp\"}"

static char *write_tmp(const char *name, const void *buf, size_t len)
{
	char *p = test_path(tmpdir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return p;
}

static char *amdsev(void)
{
	return test_fixture_path("snp/sev-snp-measure/ovmf_AmdSev_suffix.bin");
}

static void image_file_set(image_file *f, const char *name, const char *content)
{
	f->path = write_tmp(name, content, strlen(content));
	digest_sha256(content, strlen(content), f->sha256);
	f->size = strlen(content);
}

/* A guest image whose files are small stand-ins (only their hashes matter). */
static image *fake_image(const char *kernel, const char *initrd, const char *cmdline)
{
	image *img = calloc(1, sizeof(*img));
	static unsigned n;
	char name[64];

	assert_non_null(img);
	img->dir = strdup(tmpdir);
	img->manifest_path = test_path(tmpdir, "manifest.json");
	snprintf(name, sizeof(name), "vmlinuz.%u", n);
	image_file_set(&img->kernel, name, kernel);
	snprintf(name, sizeof(name), "vmlinux.%u", n);
	image_file_set(&img->kernel_pvh, name, "pvh-elf");
	snprintf(name, sizeof(name), "initrd.%u", n++);
	image_file_set(&img->initrd, name, initrd);
	img->rootfs.path = test_path(tmpdir, "rootfs.img");
	img->cmdline = strdup(cmdline);
	img->verity_roothash = strdup("00");
	img->kernel_version = strdup("test");
	return img;
}

static job *parse_job(const char *text)
{
	_cleanup_err_ sb_err *e = NULL;
	job *j = NULL;
	if (job_parse(text, strlen(text), "job.json", NULL, 0, &j, &e) < 0)
		fail_msg("job: %s", e->msg);
	return j;
}

static plan_opts base_opts(const char *fw)
{
	return (plan_opts){ .job_id = "demo-1", .work_dir = "/var/tmp/snpbuild/demo-1",
			    .console_log = "/var/tmp/out/demo-1/console.log", .domain_type = "kvm", .firmware = fw,
			    .force_transport = -1 };
}

static plan *build(const job *j, const image *img, const plan_opts *o)
{
	_cleanup_err_ sb_err *e = NULL;
	plan *p = NULL;
	if (plan_build(j, img, o, &p, &e) < 0)
		fail_msg("plan_build: %s", e->msg);
	return p;
}

static char *xml_of(const plan *p)
{
	_cleanup_err_ sb_err *e = NULL;
	char *x = NULL;
	if (plan_domain_xml(p, &x, &e) < 0)
		fail_msg("plan_domain_xml: %s", e->msg);
	return x;
}

/* libvirt's own schema check: virt-xml-validate FILE domain. */
static void assert_libvirt_valid(const char *xml, const char *name)
{
	_cleanup_free_ char *p = write_tmp(name, xml, strlen(xml));
	_cleanup_free_ char *cmd = NULL;
	int st;

	assert_true(asprintf(&cmd, "virt-xml-validate '%s' domain >/dev/null 2>&1", p) > 0);
	st = system(cmd);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "%s\n", xml);
		fail_msg("virt-xml-validate refused %s (status %d); is libvirt-clients >= 10.5 installed?", name, st);
	}
}

static char *xpath_str(const char *xml, const char *expr)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "d.xml", NULL, XML_PARSE_NONET);
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	xmlChar *s = xmlXPathCastToString(o);
	char *out = strdup((const char *)s);
	xmlFree(s);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return out;
}

static void assert_xpath(const char *xml, const char *expr, const char *want)
{
	_cleanup_free_ char *got = xpath_str(xml, expr);
	if (strcmp(got, want))
		fail_msg("%s: got '%s', want '%s'", expr, got, want);
}

/* ---- policy ---------------------------------------------------------------- */

static void test_policy(void **state)
{
	(void)state;
	sb_err *e = NULL;

	assert_int_equal(plan_policy_check(PLAN_DEFAULT_POLICY, false, NULL), 0);
	assert_int_equal(plan_policy_check(0x20000, false, NULL), 0);
	assert_int_equal(plan_policy_check(0x3ff0000 & ~PLAN_POLICY_DEBUG, false, NULL), 0);
	/* Bit 17 must be one. */
	assert_true(plan_policy_check(0x10000, false, &e) < 0);
	assert_non_null(strstr(e->msg, "bit 17 must be one"));
	sb_err_freep(&e);
	/* Every reserved bit is refused, each by name. */
	for (unsigned b = 26; b < 64; b++) {
		assert_true(plan_policy_check(PLAN_DEFAULT_POLICY | 1ull << b, false, &e) < 0);
		assert_non_null(strstr(e->msg, "reserved bits"));
		sb_err_freep(&e);
	}
	/* Debug only when explicitly allowed. */
	assert_int_equal(plan_policy_check(PLAN_DEFAULT_POLICY | PLAN_POLICY_DEBUG, false, &e), -EPERM);
	assert_non_null(strstr(e->msg, "--allow-debug"));
	sb_err_freep(&e);
	assert_int_equal(plan_policy_check(PLAN_DEFAULT_POLICY | PLAN_POLICY_DEBUG, true, NULL), 0);
}

static void test_plan_refuses(void **state)
{
	(void)state;
	_cleanup_job_ job *j = parse_job(JOB_SNP);
	_cleanup_image_ image *img = fake_image("kernel", "initrd", "console=ttyS0");
	_cleanup_free_ char *fw = amdsev();
	_cleanup_free_ char *x64 = test_fixture_path("snp/sev-snp-measure/ovmf_OvmfX64_suffix.bin");
	_cleanup_free_ char *junk = write_tmp("junk.fd", "\0\0\0\0", 4);
	sb_err *e = NULL;
	plan *p = NULL;
	plan_opts o;

	o = base_opts(fw);
	o.has_policy = true, o.policy = 0x70000 | PLAN_POLICY_DEBUG;
	assert_int_equal(plan_build(j, img, &o, &p, &e), -EPERM);
	sb_err_freep(&e);
	o.has_policy = true, o.policy = 1ull << 40 | PLAN_DEFAULT_POLICY;
	assert_true(plan_build(j, img, &o, &p, &e) < 0);
	assert_non_null(strstr(e->msg, "reserved"));
	sb_err_freep(&e);
	/* OvmfX64 has SNP metadata but no kernel-hashes section: direct boot could not be measured. */
	o = base_opts(x64);
	assert_true(plan_build(j, img, &o, &p, &e) < 0);
	assert_non_null(strstr(e->msg, "no SNP kernel-hashes section"));
	sb_err_freep(&e);
	o = base_opts(junk);
	assert_true(plan_build(j, img, &o, &p, &e) < 0);
	assert_non_null(strstr(e->msg, "not an SNP-capable OVMF"));
	sb_err_freep(&e);
	o = base_opts("/nonexistent/OVMF.amdsev.fd");
	assert_true(plan_build(j, img, &o, &p, &e) < 0);
	assert_non_null(strstr(e->msg, "/nonexistent/OVMF.amdsev.fd"));
	sb_err_freep(&e);
	o = base_opts(fw);
	o.vcpu_type = "Skylake-Client";
	assert_true(plan_build(j, img, &o, &p, &e) < 0);
	sb_err_freep(&e);
	o = base_opts(fw);
	o.has_guest_features = true, o.guest_features = 0x20;
	assert_true(plan_build(j, img, &o, &p, &e) < 0);
	assert_non_null(strstr(e->msg, "SNPActive"));
	sb_err_freep(&e);
	assert_null(p);
}

/* ---- host shape ---------------------------------------------------------------- */

static void test_host_fits(void **state)
{
	(void)state;
	host_info h = { .host_cpus = 2, .max_vcpus = 1024, .host_memory_mib = 4096 };
	_cleanup_free_ char *why = NULL;

	assert_true(host_fits(&h, 2, 4096, &why));
	assert_null(why);
	assert_false(host_fits(&h, 3, 1024, &why));
	assert_string_equal(why, "resources.vcpus: 3 is more than this host's 2 CPUs");
	free(why);
	assert_false(host_fits(&h, 1, 4097, &why));
	assert_string_equal(why, "resources.memory_mib: 4097 is more than this host's memory (4096 MiB)");
	free(why);
	why = NULL;
	h.host_cpus = 4096;
	assert_false(host_fits(&h, 2048, 1, &why));
	assert_non_null(strstr(why, "libvirt allows"));
}

static void test_firmware_check(void **state)
{
	(void)state;
	_cleanup_free_ char *fw = amdsev();
	_cleanup_free_ char *x64 = test_fixture_path("snp/sev-snp-measure/ovmf_OvmfX64_suffix.bin");
	sb_err *e = NULL;

	assert_int_equal(host_check_firmware(fw, true, NULL), 0);
	assert_int_equal(host_check_firmware(x64, false, NULL), 0);
	assert_true(host_check_firmware(x64, true, &e) < 0);
	assert_non_null(strstr(e->msg, "kernel-hashes"));
	sb_err_freep(&e);
}

/* ---- XML: schema and content ------------------------------------------------- */

static EVP_PKEY *new_key(const char *file)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	_cleanup_free_ char *p = test_path(tmpdir, file);
	FILE *f = fopen(p, "w");
	assert_non_null(k);
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	return k;
}

static void test_snp_xml(void **state)
{
	(void)state;
	_cleanup_job_ job *j = parse_job(JOB_SNP);
	_cleanup_image_ image *img = fake_image("kernel", "initrd", "console=ttyS0 quiet");
	_cleanup_free_ char *fw = amdsev(), *xml = NULL, *hd = NULL, *idk = test_path(tmpdir, "id.pem"),
			   *authk = test_path(tmpdir, "author.pem");
	_cleanup_plan_ plan *p = NULL;
	_cleanup_err_ sb_err *e = NULL;
	uint8_t digest[SHA256_LEN];
	plan_opts o = base_opts(fw);
	plan_id_opts ido = { .id_key = idk };
	EVP_PKEY *k1 = new_key("id.pem"), *k2 = new_key("author.pem");

	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	p = build(j, img, &o);
	xml = xml_of(p);
	assert_libvirt_valid(xml, "snp.xml");
	/* hostData: SHA-256 of the exact descriptor bytes, computed here independently. */
	EVP_Digest(JOB_SNP, strlen(JOB_SNP), digest, NULL, EVP_sha256(), NULL);
	hd = measure_base64(digest, SHA256_LEN);
	assert_xpath(xml, "string(/domain/launchSecurity/hostData)", hd);
	assert_xpath(xml, "string(/domain/launchSecurity/@type)", "sev-snp");
	assert_xpath(xml, "string(/domain/launchSecurity/@kernelHashes)", "yes");
	assert_xpath(xml, "string(/domain/launchSecurity/policy)", "0x00030000");
	assert_xpath(xml, "string(/domain/launchSecurity/cbitpos)", "51");
	assert_xpath(xml, "string(/domain/launchSecurity/reducedPhysBits)", "1");
	assert_xpath(xml, "count(/domain/launchSecurity/idBlock)", "0");
	assert_xpath(xml, "string(/domain/@type)", "kvm");
	assert_xpath(xml, "string(/domain/os/loader/@type)", "rom");
	/* absolute and canonical: libvirtd resolves relative paths in its own folder */
	_cleanup_free_ char *fw_abs = realpath(fw, NULL);
	assert_non_null(fw_abs);
	assert_xpath(xml, "string(/domain/os/loader)", fw_abs);
	assert_xpath(xml, "count(/domain/os/nvram)", "0");
	assert_xpath(xml, "string(/domain/os/kernel)", img->kernel.path);
	assert_xpath(xml, "string(/domain/cpu/model)", "EPYC-v4");
	assert_xpath(xml, "string(/domain/memoryBacking/source/@type)", "memfd");
	assert_xpath(xml, "string(/domain/memoryBacking/access/@mode)", "private");
	assert_xpath(xml, "string(/domain/devices/vsock/cid/@auto)", "yes");
	assert_xpath(xml, "count(/domain/devices/interface)", "0");
	assert_xpath(xml, "count(/domain/devices/channel)", "0");

	/* cbitpos/reducedPhysBits from the host when it has them, options above both. */
	host_info h = { .has_sev_params = true, .cbitpos = 47, .reduced_phys_bits = 5 };
	plan_free(p);
	o.host = &h;
	p = build(j, img, &o);
	assert_int_equal(p->cbitpos, 47);
	assert_int_equal(p->reduced_phys_bits, 5);
	assert_string_equal(p->cbitpos_source, "host");
	plan_free(p);
	o.has_cbitpos = true, o.cbitpos = 51;
	p = build(j, img, &o);
	assert_int_equal(p->cbitpos, 51);
	assert_int_equal(p->reduced_phys_bits, 5);
	assert_string_equal(p->cbitpos_source, "option");

	/* With an ID block (signed here, with and without an author key). */
	if (plan_sign_id_block(p, &ido, &e) < 0)
		fail_msg("%s", e->msg);
	free(xml);
	xml = xml_of(p);
	assert_libvirt_valid(xml, "snp-id.xml");
	_cleanup_free_ char *idb = measure_base64(p->id_block, MEASURE_ID_BLOCK_LEN);
	_cleanup_free_ char *ida = measure_base64(p->id_auth, MEASURE_ID_AUTH_LEN);
	assert_xpath(xml, "string(/domain/launchSecurity/idBlock)", idb);
	assert_xpath(xml, "string(/domain/launchSecurity/idAuth)", ida);
	assert_xpath(xml, "count(/domain/launchSecurity/@authorKey)", "0");
	ido.author_key = authk;
	assert_int_equal(plan_sign_id_block(p, &ido, &e), 0);
	free(xml);
	xml = xml_of(p);
	assert_libvirt_valid(xml, "snp-id-author.xml");
	assert_xpath(xml, "string(/domain/launchSecurity/@authorKey)", "yes");
}

static void test_dev_xml(void **state)
{
	(void)state;
	_cleanup_job_ job *j = parse_job(JOB_SNP);
	_cleanup_image_ image *img = fake_image("kernel", "initrd", "console=ttyS0 quiet");
	plan_opts o = base_opts(NULL);

	o.has_tee = true, o.tee = JOB_TEE_NONE, o.domain_type = "qemu";
	for (int t = PLAN_TRANSPORT_VSOCK; t <= PLAN_TRANSPORT_VIRTIO_SERIAL; t++) {
		o.force_transport = t;
		_cleanup_plan_ plan *p = build(j, img, &o);
		_cleanup_free_ char *xml = xml_of(p);
		assert_libvirt_valid(xml, t == PLAN_TRANSPORT_VSOCK ? "dev-vsock.xml" : "dev-serial.xml");
		assert_xpath(xml, "count(/domain/launchSecurity)", "0");
		assert_xpath(xml, "string(/domain/os/kernel)", img->kernel_pvh.path);
		assert_xpath(xml, "count(/domain/devices/interface)", "0");
	}
}

/* ---- ID block given from outside -------------------------------------------------- */

static void test_id_block_given(void **state)
{
	(void)state;
	_cleanup_job_ job *j = parse_job(JOB_SNP);
	_cleanup_image_ image *img = fake_image("kernel", "initrd", "console=ttyS0");
	_cleanup_free_ char *fw = amdsev(), *idk = test_path(tmpdir, "id2.pem");
	_cleanup_plan_ plan *signer = NULL, *p = NULL, *other = NULL;
	sb_err *e = NULL;
	plan_opts o = base_opts(fw);
	plan_id_opts ido = { .id_key = idk };

	EVP_PKEY_free(new_key("id2.pem"));
	signer = build(j, img, &o);
	assert_int_equal(plan_sign_id_block(signer, &ido, NULL), 0);
	_cleanup_free_ char *idb = measure_base64(signer->id_block, MEASURE_ID_BLOCK_LEN);
	_cleanup_free_ char *ida = measure_base64(signer->id_auth, MEASURE_ID_AUTH_LEN);

	p = build(j, img, &o);
	assert_int_equal(plan_set_id_block(p, idb, ida, false, NULL), 0);
	assert_memory_equal(p->id_block, signer->id_block, MEASURE_ID_BLOCK_LEN);
	/* Another vCPU count: another measurement, so the firmware would refuse the launch. */
	o.has_policy = false;
	_cleanup_job_ job *j4 = parse_job("{\"api_version\": \"snpbuild/v1\", \"name\": \"demo\", \"source\": "
					  "{\"path\": \"src\"}, \"steps\": [{\"run\": \"make\"}], \"artifacts\": "
					  "[\"out\"], \"resources\": {\"vcpus\": 4}, \"tee\": \"snp\"}");
	other = build(j4, img, &o);
	assert_true(plan_set_id_block(other, idb, ida, false, &e) < 0);
	assert_non_null(strstr(e->msg, "is not this plan's measurement"));
	sb_err_freep(&e);
	plan_free(other);
	o.has_policy = true, o.policy = 0x20000;
	other = build(j, img, &o);
	assert_true(plan_set_id_block(other, idb, ida, false, &e) < 0);
	assert_non_null(strstr(e->msg, "is not the launch policy"));
	sb_err_freep(&e);
	/* Lengths, encoding and signature. */
	assert_true(plan_set_id_block(p, "AAAA", ida, false, &e) < 0);
	assert_non_null(strstr(e->msg, "ID block: base64 of 96 bytes"));
	sb_err_freep(&e);
	ida[100] = ida[100] == 'A' ? 'B' : 'A'; /* inside the signature */
	assert_true(plan_set_id_block(p, idb, ida, false, &e) < 0);
	sb_err_freep(&e);
}

/* ---- the measurement comes from the plan -------------------------------------------- */

/* sev-snp-measure's own vectors, reached through a plan (the kernel and initrd
 * are empty files; guest features 0x1). */
static void test_expected_against_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *test;
		const char *job;
		const char *cmdline;
	} cases[] = {
		{ "tests/test_guest.py::test_snp_guest_feature_snp_only", "1", "console=ttyS0 loglevel=7" },
		{ "tests/test_guest.py::test_snp_with_multiple_vcpus_feature_snp_only", "4", "" },
	};
	_cleanup_free_ char *vpath = test_fixture_path("snp/sev-snp-measure/upstream-test-vectors.json");
	_cleanup_free_ char *fw = amdsev();
	json_t *root = json_load_file(vpath, 0, NULL), *v;
	size_t i;

	assert_non_null(root);
	for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
		const char *want = NULL;
		json_array_foreach(json_object_get(root, "vectors"), i, v)
			if (!strcmp(json_string_value(json_object_get(v, "upstream_test")), cases[c].test))
				want = json_string_value(json_object_get(v, "expected_digest"));
		assert_non_null(want);
		_cleanup_free_ char *jt = NULL;
		assert_true(asprintf(&jt,
				     "{\"api_version\": \"snpbuild/v1\", \"name\": \"v\", \"source\": {\"path\": "
				     "\"s\"}, \"steps\": [{\"run\": \"x\"}], \"artifacts\": [\"a\"], \"resources\": "
				     "{\"vcpus\": %s}, \"tee\": \"snp\"}",
				     cases[c].job) > 0);
		_cleanup_job_ job *j = parse_job(jt);
		_cleanup_image_ image *img = fake_image("", "", cases[c].cmdline);
		plan_opts o = base_opts(fw);
		_cleanup_plan_ plan *p = build(j, img, &o);
		plan_expected ex;
		char hex[2 * MEASURE_LD_LEN + 1];
		assert_int_equal(plan_expect(p, &ex, NULL, NULL), 0);
		hex_encode(ex.measurement, MEASURE_LD_LEN, hex);
		assert_string_equal(hex, want);
	}
	json_decref(root);
}

struct variant {
	const char *field;
	bool xml_moves, measurement_moves, expected_moves;
};

/* Each plan field changed alone: the domain XML and the expected launch
 * (measurement, or the policy/host_data the report must carry) move together. */
static void test_fields_move_together(void **state)
{
	(void)state;
	static const struct variant vs[] = {
		{ "firmware", true, true, true },
		{ "kernel", true, true, true },
		{ "initrd", true, true, true },
		{ "cmdline", true, true, true },
		{ "vcpus", true, true, true },
		{ "vcpu_type", true, true, true },
		{ "policy", true, false, true },  /* in the report, not in the digest */
		{ "host_data", true, false, true }, /* in the report, not in the digest */
		/* SEV_FEATURES are what the host's KVM/QEMU set; libvirt 11 has no XML for
		 * them, so only the measurement moves. Recorded in the plan and the record. */
		{ "guest_features", false, true, true },
	};
	_cleanup_free_ char *fw = amdsev();
	_cleanup_free_ char *fw2 = NULL;
	_cleanup_job_ job *j = parse_job(JOB_SNP);
	_cleanup_job_ job *j3 = parse_job("{\"api_version\": \"snpbuild/v1\", \"name\": \"demo\", \"source\": "
					  "{\"path\": \"src\"}, \"steps\": [{\"run\": \"make\"}], \"artifacts\": "
					  "[\"out\"], \"resources\": {\"vcpus\": 3, \"memory_mib\": 2048}, \"tee\": "
					  "\"snp\"}");
	_cleanup_job_ job *jh = parse_job(JOB_SNP " ");
	_cleanup_image_ image *img = fake_image("kernel", "initrd", "console=ttyS0");
	plan_opts o = base_opts(fw);
	_cleanup_plan_ plan *base = build(j, img, &o);
	_cleanup_free_ char *base_xml = xml_of(base);
	plan_expected base_ex;

	/* A second AmdSev firmware: the same metadata, one byte changed in a code page. */
	{
		FILE *f = fopen(fw, "r");
		uint8_t buf[MEASURE_PAGE_SIZE];
		assert_non_null(f);
		assert_int_equal(fread(buf, 1, sizeof(buf), f), sizeof(buf));
		fclose(f);
		buf[0] ^= 0xff;
		fw2 = write_tmp("amdsev2.fd", buf, sizeof(buf));
		assert_int_equal(host_check_firmware(fw2, true, NULL), 0);
	}
	assert_int_equal(plan_expect(base, &base_ex, NULL, NULL), 0);
	for (size_t i = 0; i < ELEMENTSOF(vs); i++) {
		const job *jj = j;
		_cleanup_image_ image *im = NULL;
		plan_opts oo = o;
		const char *f = vs[i].field;

		if (!strcmp(f, "firmware"))
			oo.firmware = fw2;
		else if (!strcmp(f, "kernel"))
			im = fake_image("another kernel", "initrd", "console=ttyS0");
		else if (!strcmp(f, "initrd"))
			im = fake_image("kernel", "another initrd", "console=ttyS0");
		else if (!strcmp(f, "cmdline"))
			im = fake_image("kernel", "initrd", "console=ttyS0 quiet");
		else if (!strcmp(f, "vcpus"))
			jj = j3;
		else if (!strcmp(f, "vcpu_type"))
			oo.vcpu_type = "EPYC-Milan";
		else if (!strcmp(f, "policy"))
			oo.has_policy = true, oo.policy = 0x20000;
		else if (!strcmp(f, "host_data"))
			jj = jh;
		else if (!strcmp(f, "guest_features"))
			oo.has_guest_features = true, oo.guest_features = 0x21;
		if (!im)
			im = fake_image("kernel", "initrd", "console=ttyS0");
		_cleanup_plan_ plan *p = build(jj, im, &oo);
		_cleanup_free_ char *x = xml_of(p);
		plan_expected ex;
		bool xml_moved, meas_moved, exp_moved;

		assert_int_equal(plan_expect(p, &ex, NULL, NULL), 0);
		/* File names differ per fake image: compare the XML with the base's
		 * file names put back, so only the field's own change counts. */
		_cleanup_plan_ plan *rebased = build(jj, im, &oo);
		free(rebased->kernel), rebased->kernel = strdup(base->kernel);
		free(rebased->initrd), rebased->initrd = strdup(base->initrd);
		_cleanup_free_ char *xr = xml_of(rebased);
		/* A new kernel or initrd comes as a new file of a new image: its path moves. */
		if (!strcmp(f, "kernel") || !strcmp(f, "initrd"))
			xml_moved = strcmp(x, base_xml) != 0;
		else
			xml_moved = strcmp(xr, base_xml) != 0;
		meas_moved = memcmp(ex.measurement, base_ex.measurement, MEASURE_LD_LEN) != 0;
		exp_moved = memcmp(&ex, &base_ex, sizeof(ex)) != 0;
		if (xml_moved != vs[i].xml_moves || meas_moved != vs[i].measurement_moves ||
		    exp_moved != vs[i].expected_moves)
			fail_msg("%s: xml moved %d (want %d), measurement moved %d (want %d), expected moved %d "
				 "(want %d)",
				 f, xml_moved, vs[i].xml_moves, meas_moved, vs[i].measurement_moves, exp_moved,
				 vs[i].expected_moves);
		/* The measurement input is the plan's, field by field. */
		struct measure_input in;
		assert_int_equal(plan_measure_input(p, &in, NULL), 0);
		assert_string_equal(in.ovmf_path, p->firmware);
		assert_string_equal(in.kernel.path, p->kernel);
		assert_memory_equal(in.kernel.sha256, p->kernel_sha256, SHA256_LEN);
		assert_string_equal(in.initrd.path, p->initrd);
		assert_string_equal(in.cmdline, p->cmdline);
		assert_int_equal(in.vcpus, p->vcpus);
		assert_string_equal(in.vcpu_type.name, p->cpu_model);
		assert_int_equal(in.guest_features, p->guest_features);
		_cleanup_free_ char *vc = NULL;
		assert_true(asprintf(&vc, "%u", p->vcpus) > 0);
		assert_xpath(x, "string(/domain/vcpu)", vc);
		assert_xpath(x, "string(/domain/cpu/model)", p->cpu_model);
		assert_xpath(x, "string(/domain/os/cmdline)", p->cmdline);
		assert_xpath(x, "string(/domain/os/loader)", p->firmware);
	}
	/* A kernel file changed after planning no longer matches: refused, not mis-measured. */
	{
		FILE *kf = fopen(base->kernel, "w");
		fputs("tampered", kf);
		fclose(kf);
		sb_err *e = NULL;
		plan_expected ex;
		assert_true(plan_expect(base, &ex, NULL, &e) < 0);
		sb_err_freep(&e);
	}
}

/* ---- dev mode differs only where README.md says ------------------------------------- */

/* README.md's table rows (first column) and the domain XML nodes each one covers. */
static const struct {
	const char *row;
	const char *xpaths[3];
	bool always; /* must differ on every host ("channel" differs only without /dev/vhost-vsock) */
} differences[] = {
	{ "domain type", { "/domain/@type" }, true },
	{ "launch security", { "/domain/launchSecurity" }, true },
	{ "firmware, kernel", { "/domain/os/loader", "/domain/os/kernel" }, true },
	{ "CPU model", { "/domain/cpu" }, true },
	{ "memory", { "/domain/memoryBacking" }, true },
	{ "channel",
	  { "/domain/devices/vsock", "/domain/devices/controller[@type='virtio-serial']", "/domain/devices/channel" },
	  false },
};

static char **readme_rows(size_t *n)
{
	const char *root = getenv("SNPBUILD_SOURCE_ROOT");
	_cleanup_free_ char *path = NULL, *line = NULL;
	size_t cap = 0;
	bool in_section = false, in_table = false;
	char **rows = calloc(32, sizeof(char *));
	FILE *f;

	assert_true(asprintf(&path, "%s/README.md", root ? root : SNPBUILD_SOURCE_ROOT) > 0);
	f = fopen(path, "r");
	assert_non_null(f);
	*n = 0;
	while (getline(&line, &cap, f) > 0) {
		if (!strncmp(line, "### The insecure development mode", 33))
			in_section = true;
		else if (in_section && !strncmp(line, "#", 1))
			break;
		if (!in_section)
			continue;
		if (strstr(line, "| tee `snp` | tee `none` |")) {
			in_table = true;
			continue;
		}
		if (!in_table || !strncmp(line, "| ---", 5))
			continue;
		if (line[0] != '|')
			break;
		char *start = line + 1, *end = strchr(start, '|');
		assert_non_null(end);
		while (*start == ' ')
			start++;
		while (end > start && end[-1] == ' ')
			end--;
		assert_true(*n < 32);
		rows[(*n)++] = strndup(start, (size_t)(end - start));
	}
	fclose(f);
	return rows;
}

static char *nodes_text(xmlDocPtr doc, const char *expr, bool remove)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	xmlBufferPtr b = xmlBufferCreate();
	char *out;

	for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr; i++) {
		xmlNodePtr nd = o->nodesetval->nodeTab[i];
		if (nd->type == XML_ATTRIBUTE_NODE) {
			xmlChar *v = xmlNodeGetContent(nd);
			xmlBufferCat(b, v);
			xmlFree(v);
			if (remove)
				xmlSetProp(nd->parent, nd->name, (const xmlChar *)"X");
		} else {
			xmlNodeDump(b, doc, nd, 0, 0);
			if (remove) {
				xmlUnlinkNode(nd);
				xmlFreeNode(nd);
				o->nodesetval->nodeTab[i] = NULL;
			}
		}
	}
	out = strdup((const char *)xmlBufferContent(b));
	xmlBufferFree(b);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return out;
}

static char *doc_text(xmlDocPtr doc)
{
	xmlChar *s = NULL;
	int len = 0;
	char *out;
	xmlDocDumpFormatMemory(doc, &s, &len, 0);
	out = strdup((const char *)s);
	xmlFree(s);
	return out;
}

static void test_dev_differences(void **state)
{
	(void)state;
	_cleanup_job_ job *j = parse_job(JOB_SNP);
	_cleanup_image_ image *img = fake_image("kernel", "initrd", "console=ttyS0");
	_cleanup_free_ char *fw = amdsev();
	plan_opts so = base_opts(fw), no = base_opts(NULL);
	size_t n = 0;
	char **rows = readme_rows(&n);

	/* README's table lists exactly the differences this test knows. */
	assert_int_equal(n, ELEMENTSOF(differences));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(rows[i], differences[i].row);
		free(rows[i]);
	}
	free(rows);

	no.has_tee = true, no.tee = JOB_TEE_NONE, no.domain_type = "qemu";
	_cleanup_plan_ plan *ps = build(j, img, &so);
	_cleanup_plan_ plan *pn = build(j, img, &no);
	_cleanup_free_ char *xs = xml_of(ps), *xn = xml_of(pn);
	xmlDocPtr ds = xmlReadMemory(xs, (int)strlen(xs), "s.xml", NULL, XML_PARSE_NOBLANKS);
	xmlDocPtr dn = xmlReadMemory(xn, (int)strlen(xn), "n.xml", NULL, XML_PARSE_NOBLANKS);
	assert_non_null(ds);
	assert_non_null(dn);
	for (size_t i = 0; i < ELEMENTSOF(differences); i++) {
		_cleanup_free_ char *a = NULL, *b = NULL;
		size_t la = 0, lb = 0;
		FILE *fa = open_memstream(&a, &la), *fb = open_memstream(&b, &lb);
		for (size_t k = 0; k < 3 && differences[i].xpaths[k]; k++) {
			_cleanup_free_ char *ta = nodes_text(ds, differences[i].xpaths[k], true);
			_cleanup_free_ char *tb = nodes_text(dn, differences[i].xpaths[k], true);
			fputs(ta, fa);
			fputs(tb, fb);
		}
		fclose(fa);
		fclose(fb);
		if (differences[i].always && !strcmp(a, b))
			fail_msg("README lists '%s' as a difference, but both XMLs have: %s", differences[i].row, a);
	}
	/* Everything else is identical. */
	_cleanup_free_ char *rs = doc_text(ds), *rn = doc_text(dn);
	if (strcmp(rs, rn))
		fail_msg("snp and dev XML differ beyond README's table:\n--- snp\n%s\n--- none\n%s", rs, rn);
	xmlFreeDoc(ds);
	xmlFreeDoc(dn);
}

/* ---- JSON ---------------------------------------------------------------------------- */

static void test_plan_json(void **state)
{
	(void)state;
	_cleanup_job_ job *j = parse_job(JOB_SNP);
	_cleanup_image_ image *img = fake_image("kernel", "initrd", "console=ttyS0");
	_cleanup_free_ char *fw = amdsev();
	plan_opts o = base_opts(fw);
	_cleanup_plan_ plan *p = build(j, img, &o);
	plan_expected ex;
	json_t *pj = NULL;
	char hex[2 * MEASURE_LD_LEN + 1];

	assert_int_equal(plan_json(p, &pj, NULL), 0);
	assert_int_equal(plan_expect(p, &ex, NULL, NULL), 0);
	hex_encode(ex.measurement, MEASURE_LD_LEN, hex);
	assert_string_equal(json_string_value(json_object_get(pj, "measurement")), hex);
	assert_string_equal(json_string_value(json_object_get(json_object_get(pj, "measurement_record"), "measurement")),
			    hex);
	assert_string_equal(json_string_value(json_object_get(pj, "policy")), "0x30000");
	assert_string_equal(json_string_value(json_object_get(pj, "cbitpos_source")), "default");
	json_decref(pj);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return test_rm_rf(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_plan_refuses),
		cmocka_unit_test(test_host_fits),
		cmocka_unit_test(test_firmware_check),
		cmocka_unit_test(test_snp_xml),
		cmocka_unit_test(test_dev_xml),
		cmocka_unit_test(test_id_block_given),
		cmocka_unit_test(test_expected_against_vectors),
		cmocka_unit_test(test_fields_move_together),
		cmocka_unit_test(test_dev_differences),
		cmocka_unit_test(test_plan_json),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
