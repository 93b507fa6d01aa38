/* SPDX-License-Identifier: Apache-2.0 */
/* ATTESTATION_REPORT parsing (SEV-SNP ABI spec, report versions 2 to 5). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "attest.h"
#include "cursor.h"
#include "fileio.h"
#include "hexutil.h"

/* The largest file attest_report_load() reads (hex with generous spacing). */
#define REPORT_FILE_MAX (64 * 1024)

static bool take_tcb(sb_cursor *c, uint64_t *v)
{
	return cur_u64le(c, v);
}

int attest_report_parse(const void *buf, size_t len, struct attest_report *ret, sb_err **err)
{
	struct attest_report r;
	sb_cursor c = cur_make(buf, len), sig;
	const uint8_t *signed_region, *rest;
	uint32_t reserved32;
	uint8_t reserved_cpuid[0x15];
	bool ok;

	if (len != ATTEST_REPORT_SIZE)
		return sb_err_set(err, EBADMSG, "attestation report: %zu bytes, expected %d", len,
				  ATTEST_REPORT_SIZE);
	memset(&r, 0, sizeof(r));
	{
		sb_cursor whole = c;
		if (!cur_view(&whole, &signed_region, ATTEST_SIGNED_SIZE))
			return sb_err_set(err, EBADMSG, "attestation report: truncated");
		memcpy(r.signed_bytes, signed_region, ATTEST_SIGNED_SIZE);
	}
	ok = cur_u32le(&c, &r.version);
	if (!ok)
		return sb_err_set(err, EBADMSG, "attestation report: truncated");
	/* Every version up to 5 keeps the offsets of version 2; later ones may not. */
	if (r.version < 2 || r.version > 5)
		return sb_err_set(err, EPROTONOSUPPORT,
				  "attestation report: version %u is not supported (2, 3, 4 or 5)", r.version);

	ok = cur_u32le(&c, &r.guest_svn) && cur_u64le(&c, &r.policy) &&
	     cur_bytes(&c, r.family_id, sizeof(r.family_id)) && cur_bytes(&c, r.image_id, sizeof(r.image_id)) &&
	     cur_u32le(&c, &r.vmpl) && cur_u32le(&c, &r.signature_algo) && take_tcb(&c, &r.current_tcb) &&
	     cur_u64le(&c, &r.platform_info) && cur_u32le(&c, &r.signer_info) && cur_u32le(&c, &reserved32) &&
	     cur_bytes(&c, r.report_data, sizeof(r.report_data)) &&
	     cur_bytes(&c, r.measurement, sizeof(r.measurement)) && cur_bytes(&c, r.host_data, sizeof(r.host_data)) &&
	     cur_bytes(&c, r.id_key_digest, sizeof(r.id_key_digest)) &&
	     cur_bytes(&c, r.author_key_digest, sizeof(r.author_key_digest)) &&
	     cur_bytes(&c, r.report_id, sizeof(r.report_id)) && cur_bytes(&c, r.report_id_ma, sizeof(r.report_id_ma)) &&
	     take_tcb(&c, &r.reported_tcb) && cur_u8(&c, &r.cpuid_fam_id) && cur_u8(&c, &r.cpuid_mod_id) &&
	     cur_u8(&c, &r.cpuid_step) && cur_bytes(&c, reserved_cpuid, sizeof(reserved_cpuid)) &&
	     cur_bytes(&c, r.chip_id, sizeof(r.chip_id)) && take_tcb(&c, &r.committed_tcb) &&
	     cur_u8(&c, &r.current_build) && cur_u8(&c, &r.current_minor) && cur_u8(&c, &r.current_major) &&
	     cur_skip(&c, 1) && cur_u8(&c, &r.committed_build) && cur_u8(&c, &r.committed_minor) &&
	     cur_u8(&c, &r.committed_major) && cur_skip(&c, 1) && take_tcb(&c, &r.launch_tcb) &&
	     cur_u64le(&c, &r.launch_mit_vector) && cur_u64le(&c, &r.current_mit_vector);
	if (!ok)
		return sb_err_set(err, EBADMSG, "attestation report: truncated");
	/* Reserved up to the signature: a later spec may define it, never judged. */
	if (!cur_skip(&c, ATTEST_SIGNED_SIZE - 0x208) || !cur_sub(&c, &sig, ATTEST_REPORT_SIZE - ATTEST_SIGNED_SIZE))
		return sb_err_set(err, EBADMSG, "attestation report: truncated");
	if (!cur_bytes(&sig, r.sig_r, sizeof(r.sig_r)) || !cur_bytes(&sig, r.sig_s, sizeof(r.sig_s)) ||
	    !cur_view(&sig, &rest, sig.left))
		return sb_err_set(err, EBADMSG, "attestation report: truncated signature");
	for (size_t i = 0; i < ATTEST_REPORT_SIZE - ATTEST_SIGNED_SIZE - 2 * ATTEST_SIG_COMPONENT_SIZE; i++)
		if (rest[i])
			r.sig_trailing_nonzero = true;

	r.author_key_en = r.signer_info & 1;
	r.mask_chip_key = (r.signer_info >> 1) & 1;
	r.signing_key = (uint8_t)((r.signer_info >> 2) & 7);
	r.has_cpuid = r.version >= 3;
	if (!r.has_cpuid)
		r.cpuid_fam_id = r.cpuid_mod_id = r.cpuid_step = 0;
	r.has_mit_vectors = r.version >= 5;
	if (!r.has_mit_vectors)
		r.launch_mit_vector = r.current_mit_vector = 0;
	*ret = r;
	return 0;
}

enum attest_product attest_report_product(const struct attest_report *r)
{
	if (!r->has_cpuid)
		return ATTEST_PRODUCT_UNKNOWN;
	return attest_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id);
}

/* ASCII hex with optional whitespace into exactly ATTEST_REPORT_SIZE bytes. */
static int decode_hex_report(const uint8_t *in, size_t len, uint8_t *out, size_t *ret_len)
{
	size_t n = 0;
	char pair[3] = { 0 };
	int have = 0;

	for (size_t i = 0; i < len; i++) {
		if (isspace(in[i]))
			continue;
		if (!isxdigit(in[i]))
			return -EINVAL;
		pair[have++] = (char)in[i];
		if (have == 2) {
			if (n == ATTEST_REPORT_SIZE)
				return -EMSGSIZE;
			if (hex_decode(pair, out + n, 1) < 0)
				return -EINVAL;
			n++;
			have = 0;
		}
	}
	if (have)
		return -EINVAL;
	*ret_len = n;
	return 0;
}

int attest_report_load(const char *path, struct attest_report *ret, sb_err **err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t bin[ATTEST_REPORT_SIZE];
	size_t len = 0, n = 0;
	int r;

	r = file_read_max(path, REPORT_FILE_MAX, &buf, &len, err);
	if (r < 0)
		return r;
	if (len != ATTEST_REPORT_SIZE) {
		r = decode_hex_report(buf, len, bin, &n);
		if (r == -EMSGSIZE || (r == 0 && n != ATTEST_REPORT_SIZE))
			return sb_err_set(err, EBADMSG, "%s: hex report of %zu bytes, expected %d", path,
					  r == 0 ? n : (size_t)ATTEST_REPORT_SIZE + 1, ATTEST_REPORT_SIZE);
		if (r < 0)
			return sb_err_set(err, EBADMSG, "%s: %zu bytes, expected a %d-byte report or its hex", path,
					  len, ATTEST_REPORT_SIZE);
		r = attest_report_parse(bin, n, ret, err);
	} else {
		r = attest_report_parse(buf, len, ret, err);
	}
	if (r < 0)
		return sb_err_wrap(err, "%s", path);
	return 0;
}
