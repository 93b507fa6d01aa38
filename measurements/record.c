/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reference-value record: what `snpbuild measure --json` prints, what
 * verification and the key broker read, and the cache's on-disk entries.
 */
#include <jansson.h>
#include <string.h>

#include "hexutil.h"
#include "internal.h"

#define RECORD_TYPE "snpbuild-launch-measurement"
#define RECORD_VERSION 1

static int set_hex(json_t *o, const char *k, const void *buf, size_t len)
{
	char h[2 * MEASURE_HASHES_TABLE_LEN + 1];
	return json_object_set_new(o, k, json_string((hex_encode(buf, len, h), h)));
}

static int set_fmt(json_t *o, const char *k, unsigned long long v)
{
	char b[24];
	snprintf(b, sizeof(b), "0x%llx", v);
	return json_object_set_new(o, k, json_string(b));
}

int measure_record_json(const struct measure_result *r, const char *vcpu_type_name, const char *cmdline,
			struct json_t **ret, sb_err **err)
{
	json_t *o = json_object(), *in = json_object(), *im = json_object();
	int bad = 0;

	if (!o || !in || !im) {
		json_decref(o);
		json_decref(in);
		json_decref(im);
		return sb_err_set(err, ENOMEM, "out of memory");
	}
	bad |= json_object_set_new(o, "type", json_string(RECORD_TYPE));
	bad |= json_object_set_new(o, "version", json_integer(RECORD_VERSION));
	bad |= set_hex(o, "measurement", r->digest, MEASURE_LD_LEN);

	bad |= json_object_set_new(in, "vmm_type", json_string("QEMU"));
	bad |= set_hex(in, "ovmf_sha256", r->key.ovmf_sha256, MEASURE_SHA256_LEN);
	if (r->key.has_firmware_ld)
		bad |= set_hex(in, "ovmf_ld_given", r->key.firmware_ld, MEASURE_LD_LEN);
	if (r->key.has_kernel) {
		bad |= set_hex(in, "kernel_sha256", r->key.kernel_sha256, MEASURE_SHA256_LEN);
		bad |= set_hex(in, "initrd_sha256", r->key.initrd_sha256, MEASURE_SHA256_LEN);
		bad |= set_hex(in, "cmdline_sha256", r->key.cmdline_sha256, MEASURE_SHA256_LEN);
		if (cmdline)
			bad |= json_object_set_new(in, "cmdline", json_string(cmdline));
	} else {
		bad |= json_object_set_new(in, "kernel_sha256", json_null());
	}
	bad |= json_object_set_new(in, "vcpus", json_integer(r->key.vcpus));
	if (vcpu_type_name)
		bad |= json_object_set_new(in, "vcpu_type", json_string(vcpu_type_name));
	bad |= set_fmt(in, "vcpu_sig", r->key.vcpu_sig);
	bad |= set_fmt(in, "guest_features", r->key.guest_features);

	bad |= set_hex(im, "ld_after_firmware_pages", r->ld_after_firmware, MEASURE_LD_LEN);
	bad |= set_hex(im, "ld_after_metadata_sections", r->ld_after_metadata, MEASURE_LD_LEN);
	bad |= set_hex(im, "vmsa_bsp_sha384", r->vmsa_bsp_sha384, MEASURE_LD_LEN);
	if (r->has_ap)
		bad |= set_hex(im, "vmsa_ap_sha384", r->vmsa_ap_sha384, MEASURE_LD_LEN);
	bad |= set_fmt(im, "ap_reset_eip", r->ap_reset_eip);
	if (r->has_hashes_table) {
		bad |= set_fmt(im, "hashes_table_gpa", r->hashes_table_gpa);
		bad |= set_hex(im, "hashes_table_hex", r->hashes_table, MEASURE_HASHES_TABLE_LEN);
	}
	bad |= json_object_set_new(o, "inputs", in);
	bad |= json_object_set_new(o, "intermediate", im);
	if (bad) {
		json_decref(o);
		return sb_err_set(err, ENOMEM, "out of memory");
	}
	*ret = o;
	return 0;
}

static int get_hex(json_t *o, const char *k, void *out, size_t len, sb_err **err)
{
	const char *s = json_string_value(json_object_get(o, k));
	if (!s || hex_decode(s, out, len) < 0)
		return sb_err_set(err, EINVAL, "%s: must be %zu hex digits", k, 2 * len);
	return 0;
}

static int get_num(json_t *o, const char *k, uint64_t max, uint64_t *out, sb_err **err)
{
	json_t *v = json_object_get(o, k);
	const char *s = json_string_value(v);
	char *end = NULL;
	unsigned long long n;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		n = (unsigned long long)json_integer_value(v);
	} else if (s && *s) {
		errno = 0;
		n = strtoull(s, &end, 0);
		if (errno || *end)
			return sb_err_set(err, EINVAL, "%s: '%s' is not a number", k, s);
	} else {
		return sb_err_set(err, EINVAL, "%s: missing or not a number", k);
	}
	if (n > max)
		return sb_err_set(err, EINVAL, "%s: %llu out of range", k, n);
	*out = n;
	return 0;
}

int measure_record_parse(struct json_t *o, struct measure_result *ret, sb_err **err)
{
	struct measure_result r = { 0 };
	json_t *in = json_object_get(o, "inputs"), *im = json_object_get(o, "intermediate");
	uint64_t n;
	int e = 0;

	if (!json_is_object(o) || !json_is_object(in) || !json_is_object(im) ||
	    strcmp(json_string_value(json_object_get(o, "type")) ?: "", RECORD_TYPE) ||
	    json_integer_value(json_object_get(o, "version")) != RECORD_VERSION)
		return sb_err_set(err, EINVAL, "not a version %d %s record", RECORD_VERSION, RECORD_TYPE);
	if ((e = get_hex(o, "measurement", r.digest, MEASURE_LD_LEN, err)) < 0 ||
	    (e = get_hex(in, "ovmf_sha256", r.key.ovmf_sha256, MEASURE_SHA256_LEN, err)) < 0)
		return e;
	if (json_object_get(in, "ovmf_ld_given")) {
		r.key.has_firmware_ld = true;
		if ((e = get_hex(in, "ovmf_ld_given", r.key.firmware_ld, MEASURE_LD_LEN, err)) < 0)
			return e;
	}
	r.key.has_kernel = json_is_string(json_object_get(in, "kernel_sha256"));
	if (r.key.has_kernel &&
	    ((e = get_hex(in, "kernel_sha256", r.key.kernel_sha256, MEASURE_SHA256_LEN, err)) < 0 ||
	     (e = get_hex(in, "initrd_sha256", r.key.initrd_sha256, MEASURE_SHA256_LEN, err)) < 0 ||
	     (e = get_hex(in, "cmdline_sha256", r.key.cmdline_sha256, MEASURE_SHA256_LEN, err)) < 0))
		return e;
	if ((e = get_num(in, "vcpus", MEASURE_MAX_VCPUS, &n, err)) < 0)
		return e;
	r.key.vcpus = (uint32_t)n;
	if ((e = get_num(in, "vcpu_sig", UINT32_MAX, &n, err)) < 0)
		return e;
	r.key.vcpu_sig = (uint32_t)n;
	if ((e = get_num(in, "guest_features", UINT64_MAX, &r.key.guest_features, err)) < 0)
		return e;

	if ((e = get_hex(im, "ld_after_firmware_pages", r.ld_after_firmware, MEASURE_LD_LEN, err)) < 0 ||
	    (e = get_hex(im, "ld_after_metadata_sections", r.ld_after_metadata, MEASURE_LD_LEN, err)) < 0 ||
	    (e = get_hex(im, "vmsa_bsp_sha384", r.vmsa_bsp_sha384, MEASURE_LD_LEN, err)) < 0)
		return e;
	r.has_ap = json_object_get(im, "vmsa_ap_sha384") != NULL;
	if (r.has_ap && (e = get_hex(im, "vmsa_ap_sha384", r.vmsa_ap_sha384, MEASURE_LD_LEN, err)) < 0)
		return e;
	if ((e = get_num(im, "ap_reset_eip", UINT32_MAX, &n, err)) < 0)
		return e;
	r.ap_reset_eip = (uint32_t)n;
	r.has_hashes_table = json_object_get(im, "hashes_table_hex") != NULL;
	if (r.has_hashes_table) {
		if ((e = get_hex(im, "hashes_table_hex", r.hashes_table, MEASURE_HASHES_TABLE_LEN, err)) < 0 ||
		    (e = get_num(im, "hashes_table_gpa", UINT32_MAX, &n, err)) < 0)
			return e;
		r.hashes_table_gpa = (uint32_t)n;
	}
	*ret = r;
	return 0;
}
