/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Launch digest against values established outside the project: every
 * SNP/QEMU vector of virtee/sev-snp-measure's test suite, every vector the
 * fixtures generated with it (digests and intermediates), the VMSA pages
 * byte for byte; and the bad inputs the parser must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "config.h"
#include "cursor.h"
#include "digest.h"
#include "hexutil.h"
#include "measure.h"
#include "testutil.h"

static json_t *load_json(const char *rel)
{
	_cleanup_free_ char *p = test_fixture_path(rel);
	json_error_t jerr;
	json_t *j = json_load_file(p, 0, &jerr);
	if (!j)
		fail_msg("%s: %s (line %d)", p, jerr.text, jerr.line);
	return j;
}

static void assert_hex(const char *ctx, const char *what, const char *want, const uint8_t *got, size_t len)
{
	char h[2 * 4096 + 1];
	hex_encode(got, len, h);
	if (!want || strcmp(want, h))
		fail_msg("%s: %s: want %s, got %s", ctx, what, want ? want : "(null)", h);
}

static uint8_t *read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(64 << 20);
	size_t n;
	if (!f)
		fail_msg("%s: cannot open", path);
	n = fread(buf, 1, 64 << 20, f);
	fclose(f);
	*ret_len = n;
	return buf;
}

/* The Debian OVMF of the deb12-* vectors: fetched by tests/fetch-ovmf.sh. */
static char *deb12_ovmf(void)
{
	const char *env = getenv("SNPBUILD_DEB12_OVMF");
	char *p = NULL;
	uint8_t h[32];
	char hex[65];
	sb_err *err = NULL;

	if (env)
		p = strdup(env);
	else
		assert_true(asprintf(&p, "%s/ovmf-cache/deb12/usr/share/ovmf/OVMF.fd", SNPBUILD_BUILD_ROOT) > 0);
	if (access(p, R_OK) != 0)
		fail_msg("Debian OVMF (ovmf=2022.11-6+deb12u2) not found at %s: run 'tests/fetch-ovmf.sh %s' first "
			 "(or set SNPBUILD_DEB12_OVMF)", p, SNPBUILD_BUILD_ROOT);
	assert_int_equal(digest_sha256_file(p, h, &err), 0);
	hex_encode(h, 32, hex);
	if (strcmp(hex, "7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773"))
		fail_msg("%s: sha256 %s is not the Debian 2022.11-6+deb12u2 OVMF.fd the vectors were made with", p, hex);
	return p;
}

/* ---- virtee/sev-snp-measure tests/test_guest.py, SNP + QEMU ---- */

static void upstream_vectors(void **state)
{
	(void)state;
	json_t *root = load_json("snp/sev-snp-measure/upstream-test-vectors.json");
	json_t *v;
	size_t i, ran = 0;

	json_array_foreach(json_object_get(root, "vectors"), i, v) {
		json_t *a = json_object_get(v, "args");
		const char *mode = json_string_value(json_object_get(a, "mode"));
		const char *vmm = json_string_value(json_object_get(a, "vmm_type"));
		const char *test = json_string_value(json_object_get(v, "upstream_test"));
		const char *sig = json_string_value(json_object_get(a, "vcpu_sig"));
		const char *ovmf = json_string_value(json_object_get(a, "ovmf_file"));
		const char *seed = json_string_value(json_object_get(a, "snp_ovmf_hash_str"));
		const char *want = json_string_value(json_object_get(v, "expected_digest"));
		const char *want_err = json_string_value(json_object_get(v, "expected_error"));
		const char *want_fw = json_string_value(json_object_get(v, "expected_snp_ovmf_hash"));
		_cleanup_free_ char *name = NULL, *ovmf_path = NULL;
		struct measure_input in = { 0 };
		struct measure_result res;
		sb_err *err = NULL;
		uint32_t s;
		char sigtxt[16];
		int r;

		if (strcmp(mode, "SevMode.SEV_SNP") || (vmm && strcmp(vmm, "VMMType.QEMU")))
			continue;
		/* "CPU_SIGS[EPYC-v4]" -> "EPYC-v4" */
		assert_non_null(sig);
		name = strndup(sig + 9, strlen(sig) - 10);
		assert_int_equal(measure_vcpu_sig_from_name(name, &s, &err), 0);
		snprintf(sigtxt, sizeof(sigtxt), "0x%x", s);
		assert_string_equal(sigtxt, json_string_value(json_object_get(a, "vcpu_sig_value")));

		ovmf_path = test_fixture_path("snp/sev-snp-measure/");
		ovmf_path = realloc(ovmf_path, strlen(ovmf_path) + strlen(ovmf) + 1);
		strcat(ovmf_path, strrchr(ovmf, '/') + 1);
		in.ovmf_path = ovmf_path;
		in.vcpus = (unsigned)json_integer_value(json_object_get(a, "vcpus"));
		in.vcpu_type.name = name;
		in.guest_features = (uint64_t)json_integer_value(json_object_get(a, "guest_features"));
		in.kernel.path = json_string_value(json_object_get(a, "kernel"));
		in.initrd.path = json_string_value(json_object_get(a, "initrd"));
		in.cmdline = json_string_value(json_object_get(a, "append"));
		if (in.kernel.path && !in.cmdline)
			in.cmdline = "";
		if (seed && seed[0] != '<') {
			in.has_firmware_ld = true;
			assert_int_equal(hex_decode(seed, in.firmware_ld, MEASURE_LD_LEN), 0);
		}
		r = measure_launch_digest(&in, &res, &err);
		if (want_err) {
			if (r >= 0)
				fail_msg("%s: expected an error (%s), got a digest", test, want_err);
			assert_non_null(strstr(err->msg, "SNP_KERNEL_HASHES"));
			sb_err_free(err);
		} else {
			if (r < 0)
				fail_msg("%s: %s", test, err->msg);
			assert_hex(test, "digest", want, res.digest, MEASURE_LD_LEN);
			if (want_fw)
				assert_hex(test, "ovmf hash", want_fw, res.ld_after_firmware, MEASURE_LD_LEN);
		}
		ran++;
	}
	/* 12 digests and the OvmfX64-with-kernel refusal. */
	assert_int_equal(ran, 13);
	json_decref(root);
}

/* ---- fixtures/snp/generated/launch-digest-vectors.json ---- */

struct gen_ctx {
	json_t *root;
	char *deb12;
};

static const char *input_path(struct gen_ctx *g, const char *id, char **owned)
{
	if (!strcmp(id, "sev-snp-measure-ovmf_AmdSev_suffix"))
		return *owned = test_fixture_path("snp/sev-snp-measure/ovmf_AmdSev_suffix.bin");
	if (!strcmp(id, "sev-snp-measure-ovmf_OvmfX64_suffix"))
		return *owned = test_fixture_path("snp/sev-snp-measure/ovmf_OvmfX64_suffix.bin");
	if (!strcmp(id, "fake-kernel.bin"))
		return *owned = test_fixture_path("snp/generated/fake-kernel.bin");
	if (!strcmp(id, "tiny-initrd.cpio"))
		return *owned = test_fixture_path("snp/generated/tiny-initrd.cpio");
	if (!strcmp(id, "debian12-ovmf-2022.11-6+deb12u2")) {
		if (!g->deb12)
			g->deb12 = deb12_ovmf();
		return g->deb12;
	}
	return NULL; /* not shipped: the test feeds its sha256 */
}

static void check_intermediate(const char *id, json_t *im, const struct measure_result *res)
{
	const char *ap = json_string_value(json_object_get(im, "vmsa_ap_sha384"));
	const char *ht = json_string_value(json_object_get(im, "hashes_table_hex"));
	char buf[32];

	assert_hex(id, "ld_after_firmware_pages", json_string_value(json_object_get(im, "ld_after_firmware_pages")),
		   res->ld_after_firmware, MEASURE_LD_LEN);
	assert_hex(id, "ld_after_metadata_sections",
		   json_string_value(json_object_get(im, "ld_after_metadata_sections")), res->ld_after_metadata,
		   MEASURE_LD_LEN);
	assert_hex(id, "vmsa_bsp_sha384", json_string_value(json_object_get(im, "vmsa_bsp_sha384")),
		   res->vmsa_bsp_sha384, MEASURE_LD_LEN);
	assert_int_equal(res->has_ap, ap != NULL);
	if (ap)
		assert_hex(id, "vmsa_ap_sha384", ap, res->vmsa_ap_sha384, MEASURE_LD_LEN);
	snprintf(buf, sizeof(buf), "0x%x", res->ap_reset_eip);
	assert_string_equal(buf, json_string_value(json_object_get(im, "ap_reset_eip")));
	assert_int_equal(res->has_hashes_table, ht != NULL);
	if (ht) {
		assert_hex(id, "hashes_table_hex", ht, res->hashes_table, MEASURE_HASHES_TABLE_LEN);
		snprintf(buf, sizeof(buf), "0x%x", res->hashes_table_gpa);
		assert_string_equal(buf, json_string_value(json_object_get(im, "hashes_table_gpa")));
		assert_hex(id, "kernel_sha256", json_string_value(json_object_get(im, "kernel_sha256")),
			   res->key.kernel_sha256, 32);
		assert_hex(id, "initrd_sha256", json_string_value(json_object_get(im, "initrd_sha256")),
			   res->key.initrd_sha256, 32);
		assert_hex(id, "cmdline_sha256", json_string_value(json_object_get(im, "cmdline_sha256")),
			   res->key.cmdline_sha256, 32);
	}
}

static size_t run_generated(bool deb12)
{
	struct gen_ctx g = { .root = load_json("snp/generated/launch-digest-vectors.json") };
	json_t *inputs = json_object_get(g.root, "inputs"), *v;
	size_t i, ran = 0;

	json_array_foreach(json_object_get(g.root, "vectors"), i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));
		json_t *vin = json_object_get(v, "inputs");
		const char *kid = json_string_value(json_object_get(vin, "kernel"));
		const char *iid = json_string_value(json_object_get(vin, "initrd"));
		const char *want_err = json_string_value(json_object_get(v, "expected_error"));
		_cleanup_free_ char *o1 = NULL, *o2 = NULL, *o3 = NULL;
		struct measure_input in = { 0 };
		struct measure_result res;
		sb_err *err = NULL;
		uint32_t sig;
		char sigtxt[16];
		int r;

		if (deb12 != !strncmp(id, "deb12-", 6))
			continue;
		in.ovmf_path = input_path(&g, json_string_value(json_object_get(vin, "ovmf")), &o1);
		assert_non_null(in.ovmf_path);
		if (kid) {
			in.kernel.path = input_path(&g, kid, &o2);
			if (!in.kernel.path) {
				const char *h = json_string_value(
					json_object_get(json_object_get(inputs, kid), "sha256"));
				in.kernel.has_sha256 = true;
				assert_int_equal(hex_decode(h, in.kernel.sha256, 32), 0);
			}
		}
		if (iid)
			in.initrd.path = input_path(&g, iid, &o3);
		in.cmdline = json_string_value(json_object_get(vin, "append"));
		in.vcpus = (unsigned)json_integer_value(json_object_get(v, "vcpus"));
		in.vcpu_type.name = json_string_value(json_object_get(v, "vcpu_type"));
		in.guest_features = strtoull(json_string_value(json_object_get(v, "guest_features")), NULL, 16);
		assert_int_equal(measure_vcpu_sig(&in.vcpu_type, &sig, &err), 0);
		snprintf(sigtxt, sizeof(sigtxt), "0x%x", sig);
		assert_string_equal(sigtxt, json_string_value(json_object_get(v, "vcpu_sig")));

		r = measure_launch_digest(&in, &res, &err);
		if (want_err) {
			if (r >= 0)
				fail_msg("%s: expected an error, got a digest", id);
			assert_non_null(strstr(err->msg, "SNP_KERNEL_HASHES"));
			sb_err_free(err);
		} else {
			if (r < 0)
				fail_msg("%s: %s", id, err->msg);
			assert_hex(id, "measurement", json_string_value(json_object_get(v, "expected_measurement")),
				   res.digest, MEASURE_LD_LEN);
			check_intermediate(id, json_object_get(v, "intermediate"), &res);
		}
		ran++;
	}
	free(g.deb12);
	json_decref(g.root);
	return ran;
}

static void generated_vectors_offline(void **state)
{
	(void)state;
	/* amdsevsuffix-{debkernel,fakekernel,nokernel}-*: 8 + 12 + 1 + 2 */
	assert_int_equal(run_generated(false), 23);
}

static void generated_vectors_deb12(void **state)
{
	(void)state;
	/* 12 digests + deb12-kernel-unsupported */
	assert_int_equal(run_generated(true), 13);
}

/* The parser against the fixtures' description of each firmware. */
static void firmware_inputs(void **state)
{
	(void)state;
	json_t *root = load_json("snp/generated/launch-digest-vectors.json");
	json_t *inputs = json_object_get(root, "inputs"), *fw;
	const char *id;
	struct gen_ctx g = { .root = root };

	json_object_foreach(inputs, id, fw) {
		json_t *secs = json_object_get(fw, "metadata_sections"), *s;
		_cleanup_free_ char *owned = NULL;
		_cleanup_free_ uint8_t *data = NULL;
		const char *path;
		struct measure_ovmf o;
		uint8_t ld[MEASURE_LD_LEN];
		sb_err *err = NULL;
		size_t len, i;
		char buf[64];

		if (!secs)
			continue;
		path = input_path(&g, id, &owned);
		data = read_all(path, &len);
		if (measure_ovmf_parse(data, len, &o, &err) < 0)
			fail_msg("%s: %s", id, err->msg);
		assert_int_equal(o.n_sections, json_array_size(secs));
		json_array_foreach(secs, i, s) {
			snprintf(buf, sizeof(buf), "0x%x", o.sections[i].gpa);
			assert_string_equal(buf, json_string_value(json_object_get(s, "gpa")));
			snprintf(buf, sizeof(buf), "0x%x", o.sections[i].size);
			assert_string_equal(buf, json_string_value(json_object_get(s, "size")));
			snprintf(buf, sizeof(buf), "%s(%u)", measure_section_type_name(o.sections[i].type),
				 o.sections[i].type);
			assert_string_equal(buf, json_string_value(json_object_get(s, "type")));
		}
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)o.gpa);
		assert_string_equal(buf, json_string_value(json_object_get(fw, "load_gpa")));
		snprintf(buf, sizeof(buf), "0x%x", o.ap_reset_eip);
		assert_string_equal(buf, json_string_value(json_object_get(fw, "ap_reset_eip")));
		snprintf(buf, sizeof(buf), "0x%x", o.has_hashes_table ? o.hashes_table_gpa : 0);
		assert_string_equal(buf, json_string_value(json_object_get(fw, "sev_hashes_table_gpa")));
		assert_int_equal(measure_firmware_ld(&o, ld, &err), 0);
		assert_hex(id, "snp_ovmf_hash",
			   json_string_value(json_object_get(fw, "snp_ovmf_hash (argv: --mode snp:ovmf-hash)")), ld,
			   MEASURE_LD_LEN);
	}
	free(g.deb12);
	json_decref(root);
}

/* ---- fixtures/snp/generated/vmsa-pages.json, byte for byte ---- */

static void vmsa_pages(void **state)
{
	(void)state;
	json_t *root = load_json("snp/generated/vmsa-pages.json"), *pg;
	size_t i, n = 0;

	json_array_foreach(json_object_get(root, "pages"), i, pg) {
		uint8_t want[MEASURE_PAGE_SIZE] = { 0 }, got[MEASURE_PAGE_SIZE], h[MEASURE_LD_LEN];
		json_t *runs = json_object_get(pg, "nonzero_runs_[offset,hexbytes]"), *run;
		uint32_t eip = (uint32_t)strtoul(json_string_value(json_object_get(pg, "eip_input")), NULL, 16);
		uint64_t gf = strtoull(json_string_value(json_object_get(pg, "guest_features")), NULL, 16);
		const char *type = json_string_value(json_object_get(pg, "vcpu_type"));
		uint32_t sig;
		size_t j;
		sb_err *err = NULL;

		assert_int_equal(json_integer_value(json_object_get(pg, "page_size")), MEASURE_PAGE_SIZE);
		json_array_foreach(runs, j, run) {
			size_t off = strtoul(json_string_value(json_array_get(run, 0)), NULL, 16);
			const char *hex = json_string_value(json_array_get(run, 1));
			assert_true(off + strlen(hex) / 2 <= sizeof(want));
			assert_int_equal(hex_decode(hex, want + off, strlen(hex) / 2), 0);
		}
		assert_int_equal(measure_vcpu_sig_from_name(type, &sig, &err), 0);
		measure_vmsa_build(got, eip, sig, gf);
		for (size_t k = 0; k < sizeof(got); k++)
			if (got[k] != want[k])
				fail_msg("VMSA %s %s gf %s: byte 0x%zx is %02x, want %02x", type,
					 json_string_value(json_object_get(pg, "role")),
					 json_string_value(json_object_get(pg, "guest_features")), k, got[k], want[k]);
		{
			unsigned int hl = sizeof(h);
			EVP_Digest(got, sizeof(got), h, &hl, EVP_sha384(), NULL);
		}
		assert_hex(type, "VMSA sha384", json_string_value(json_object_get(pg, "sha384")), h, sizeof(h));
		n++;
	}
	assert_int_equal(n, 12);
	json_decref(root);
}

static void vcpu_types(void **state)
{
	(void)state;
	sb_err *err = NULL;
	uint32_t sig = 1;

	/* AMD CPUID spec examples: family 0x19 model 0x01 stepping 1 = Milan */
	assert_int_equal(measure_vcpu_sig_from_name("EPYC-Milan", &sig, &err), 0);
	assert_int_equal(sig, 0xa00f11);
	assert_int_equal(measure_vcpu_sig_from_name("EPYC-Genoa", &sig, &err), 0);
	assert_int_equal(sig, 0xa10f10);
	assert_int_equal(measure_vcpu_sig_from_name("EPYC-Rome", &sig, &err), 0);
	assert_int_equal(sig, 0x830f10);
	assert_int_equal(measure_vcpu_sig_from_name("EPYC-Turin", &sig, &err), 0);
	assert_int_equal(sig, 0xb00f00);
	/* explicit zero is a value */
	struct measure_vcpu_type t = { .name = NULL, .family = 0, .model = 0, .stepping = 0 };
	assert_int_equal(measure_vcpu_sig(&t, &sig, &err), 0);
	assert_int_equal(sig, 0);
	t = (struct measure_vcpu_type){ .family = 25, .model = 1, .stepping = 1 };
	assert_int_equal(measure_vcpu_sig(&t, &sig, &err), 0);
	assert_int_equal(sig, 0xa00f11);
	for (size_t i = 0; measure_vcpu_name_at(i); i++)
		assert_int_equal(measure_vcpu_sig_from_name(measure_vcpu_name_at(i), &sig, &err), 0);

	assert_true(measure_vcpu_sig_from_name("EPYC-Nonsense", &sig, &err) < 0);
	assert_non_null(strstr(err->msg, "EPYC-Nonsense"));
	sb_err_freep(&err);
	t = (struct measure_vcpu_type){ .family = 271 };
	assert_true(measure_vcpu_sig(&t, &sig, &err) < 0);
	sb_err_freep(&err);
	t = (struct measure_vcpu_type){ .family = 25, .model = 256 };
	assert_true(measure_vcpu_sig(&t, &sig, &err) < 0);
	sb_err_freep(&err);
	t = (struct measure_vcpu_type){ .family = 25, .stepping = 16 };
	assert_true(measure_vcpu_sig(&t, &sig, &err) < 0);
	sb_err_freep(&err);
}

/* ---- bad input ---- */

struct fw {
	uint8_t *data;
	size_t len;
	uint8_t *meta; /* "ASEV" header */
};

static struct fw amdsev(void)
{
	_cleanup_free_ char *p = test_fixture_path("snp/sev-snp-measure/ovmf_AmdSev_suffix.bin");
	struct fw f;
	f.data = read_all(p, &f.len);
	f.meta = memmem(f.data, f.len, "ASEV", 4);
	assert_non_null(f.meta);
	return f;
}

static void expect_parse_error(const char *what, const struct fw *f, const char *needle)
{
	struct measure_ovmf o;
	sb_err *err = NULL;
	if (measure_ovmf_parse(f->data, f->len, &o, &err) >= 0)
		fail_msg("%s: parsed", what);
	if (needle && !strstr(err->msg, needle))
		fail_msg("%s: message '%s' lacks '%s'", what, err->msg, needle);
	sb_err_free(err);
}

static void expect_digest_error(const char *what, struct measure_input *in, const char *needle)
{
	struct measure_result res;
	sb_err *err = NULL;
	if (measure_launch_digest(in, &res, &err) >= 0)
		fail_msg("%s: gave a digest", what);
	if (needle && !strstr(err->msg, needle))
		fail_msg("%s: message '%s' lacks '%s'", what, err->msg, needle);
	sb_err_free(err);
}

static void bad_firmware(void **state)
{
	(void)state;
	struct fw f = amdsev();
	uint8_t *orig = malloc(f.len);
	size_t footer = f.len - 32 - 18;
	uint8_t *sec0 = f.meta + 16;

	memcpy(orig, f.data, f.len);
#define RESET() memcpy(f.data, orig, f.len)

	/* truncated / not OVMF */
	f.len = 4000;
	expect_parse_error("unaligned", &f, "multiple of 4096");
	f.len = 0;
	expect_parse_error("empty", &f, NULL);
	f.len = 4096;
	memset(f.data, 0, f.len);
	expect_parse_error("zeros", &f, "not an OVMF image");
	RESET();

	/* footer table length overruns the image */
	put_u16le(f.data + footer, 0xffff);
	expect_parse_error("footer overrun", &f, "footer table");
	put_u16le(f.data + footer, 5);
	expect_parse_error("footer too short", &f, "footer table");
	RESET();
	/* first entry below the footer claims more than the table holds */
	put_u16le(f.data + footer - 18, 0x7fff);
	expect_parse_error("entry overrun", &f, "entry");
	put_u16le(f.data + footer - 18, 3);
	expect_parse_error("entry too short", &f, "entry");
	RESET();

	/* SEV metadata header */
	memcpy(f.meta, "XSEV", 4);
	expect_parse_error("bad signature", &f, "signature");
	RESET();
	put_u32le(f.meta + 8, 2);
	expect_parse_error("bad version", &f, "version");
	RESET();
	put_u32le(f.meta + 4, 0x7fffffff);
	expect_parse_error("metadata length overrun", &f, "length");
	RESET();
	put_u32le(f.meta + 12, 1000);
	expect_parse_error("too many sections", &f, "sections");
	RESET();
	put_u32le(f.meta + 12, 9);
	expect_parse_error("sections past length", &f, "do not fit");
	RESET();

	/* sections */
	put_u32le(sec0 + 8, 7);
	expect_parse_error("unknown type", &f, "unknown type 0x7");
	RESET();
	put_u32le(sec0 + 0, 0x800100);
	expect_parse_error("unaligned gpa", &f, "whole pages");
	RESET();
	put_u32le(sec0 + 4, 0);
	expect_parse_error("empty section", &f, "whole pages");
	RESET();
	put_u32le(sec0 + 0, 0xfffff000);
	expect_parse_error("section over the firmware", &f, "overlaps the firmware");
	RESET();
	put_u32le(sec0 + 0, 0xfffff000);
	put_u32le(sec0 + 4, 0x2000);
	expect_parse_error("section past 4 GiB", &f, "overlaps the firmware");
	RESET();
	put_u32le(sec0 + 12 + 0, 0x801000); /* second section into the first */
	expect_parse_error("overlap", &f, "overlap");
	RESET();
	put_u32le(sec0 + 3 * 12 + 4, 0x2000); /* the CPUID page */
	expect_parse_error("big cpuid", &f, "one page");
	RESET();

	/* unchanged it parses */
	{
		struct measure_ovmf o;
		sb_err *err = NULL;
		assert_int_equal(measure_ovmf_parse(f.data, f.len, &o, &err), 0);
		assert_int_equal(o.n_sections, 7);
	}
	free(orig);
	free(f.data);
#undef RESET
}

static void bad_launch(void **state)
{
	(void)state;
	_cleanup_free_ char *amd = test_fixture_path("snp/sev-snp-measure/ovmf_AmdSev_suffix.bin");
	_cleanup_free_ char *x64 = test_fixture_path("snp/sev-snp-measure/ovmf_OvmfX64_suffix.bin");
	struct measure_input ok = { .ovmf_path = amd, .vcpus = 1, .vcpu_type = { .name = "EPYC-v4" },
				    .guest_features = 1 };
	struct measure_input in;
	struct measure_result res;
	sb_err *err = NULL;

	assert_int_equal(measure_launch_digest(&ok, &res, &err), 0);

	in = ok;
	in.vcpus = 0;
	expect_digest_error("0 vcpus", &in, "vCPU count 0");
	in.vcpus = MEASURE_MAX_VCPUS + 1;
	expect_digest_error("too many vcpus", &in, "out of range");
	in = ok;
	in.vcpu_type.name = "Skylake-Server";
	expect_digest_error("unknown cpu", &in, "Skylake-Server");
	in = ok;
	in.guest_features = 0x20;
	expect_digest_error("no SNPActive", &in, "SNPActive");
	in = ok;
	in.ovmf_path = x64;
	in.kernel.path = "/dev/null";
	expect_digest_error("kernel, no hashes section", &in, "SNP_KERNEL_HASHES");
	in = ok;
	in.cmdline = "console=ttyS0";
	expect_digest_error("cmdline without kernel", &in, "needs a kernel");
	in = ok;
	in.ovmf_path = "/nonexistent/OVMF.fd";
	expect_digest_error("missing firmware", &in, "/nonexistent/OVMF.fd");
	in = ok;
	in.ovmf_path = NULL;
	expect_digest_error("no firmware", &in, "no firmware");
	/* a kernel file whose digest differs from the one given */
	in = ok;
	in.kernel.path = "/dev/null";
	in.kernel.has_sha256 = true;
	memset(in.kernel.sha256, 0xab, 32);
	expect_digest_error("kernel digest mismatch", &in, "differs");
	/* same digest given as file or as hash */
	{
		struct measure_result a, b;
		in = ok;
		in.kernel.path = "/dev/null";
		assert_int_equal(measure_launch_digest(&in, &a, &err), 0);
		in.kernel.path = NULL;
		in.kernel.has_sha256 = true;
		digest_sha256("", 0, in.kernel.sha256);
		assert_int_equal(measure_launch_digest(&in, &b, &err), 0);
		assert_memory_equal(a.digest, b.digest, MEASURE_LD_LEN);
	}
	/* explicit zero family/model/stepping is measured, not refused */
	in = ok;
	in.vcpu_type = (struct measure_vcpu_type){ 0 };
	assert_int_equal(measure_launch_digest(&in, &res, &err), 0);
	assert_int_equal(res.key.vcpu_sig, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(upstream_vectors),
		cmocka_unit_test(generated_vectors_offline),
		cmocka_unit_test(generated_vectors_deb12),
		cmocka_unit_test(firmware_inputs),
		cmocka_unit_test(vmsa_pages),
		cmocka_unit_test(vcpu_types),
		cmocka_unit_test(bad_firmware),
		cmocka_unit_test(bad_launch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
