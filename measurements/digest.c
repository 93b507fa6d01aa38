/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SNP launch digest: SEV-SNP firmware ABI, SNP_LAUNCH_UPDATE. Each page
 * added to the guest extends the digest with
 *   LD = SHA-384(PAGE_INFO), PAGE_INFO = LD | CONTENTS | LENGTH(0x70) |
 *        PAGE_TYPE | IMI_PAGE | VMPL3..1_PERMS | reserved | GPA
 * where CONTENTS is the SHA-384 of the page for normal and VMSA pages and
 * zero for the others. Pages come in QEMU's order: firmware, the SEV
 * metadata sections, one VMSA per vCPU.
 */
#include <pthread.h>

#include "cursor.h"
#include "fileio.h"
#include "digest.h"
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

enum page_type {
	PAGE_NORMAL = 1,
	PAGE_VMSA = 2,
	PAGE_ZERO = 3,
	PAGE_UNMEASURED = 4,
	PAGE_SECRETS = 5,
	PAGE_CPUID = 6,
};

#define PAGE_INFO_LEN 0x70
/* The VMSA's GPA as the PSP records it: -1, page-aligned, 52-bit. */
#define VMSA_GPA UINT64_C(0xFFFFFFFFF000)

struct measure_prepared {
	uint8_t *owned; /* firmware read from a file */
	struct measure_ovmf ovmf;
	struct measure_key key;
	/* The firmware's SHA-256 (a key field, not a digest input) is computed on
	 * a second thread while the launch digest is chained on this one. */
	const uint8_t *fw;
	size_t fw_size;
	pthread_t fw_thread;
	bool fw_pending;
};

static void *fw_sha256_thread(void *arg)
{
	measure_prepared_t *p = arg;
	digest_sha256(p->fw, p->fw_size, p->key.ovmf_sha256);
	return NULL;
}

/* Completes the key: waits for the firmware digest if it is still running. */
static void key_settle(const measure_prepared_t *cp)
{
	measure_prepared_t *p = (measure_prepared_t *)cp; /* opaque: settling is not a visible change */
	if (p->fw_pending) {
		pthread_join(p->fw_thread, NULL);
		p->fw_pending = false;
	}
}

int sha384_engine_init(struct sha384_engine *e, sb_err **err)
{
	e->md = EVP_MD_fetch(NULL, "SHA384", NULL);
	e->ctx = EVP_MD_CTX_new();
	if (!e->md || !e->ctx) {
		sha384_engine_done(e);
		return sb_err_set(err, ENOMEM, "OpenSSL: cannot set up SHA-384");
	}
	return 0;
}

void sha384_engine_done(struct sha384_engine *e)
{
	EVP_MD_CTX_free(e->ctx);
	EVP_MD_free(e->md);
	e->ctx = NULL;
	e->md = NULL;
}

int sha384_engine_hash(struct sha384_engine *e, const void *buf, size_t len, uint8_t out[MEASURE_LD_LEN])
{
	unsigned int n = MEASURE_LD_LEN;
	if (!EVP_DigestInit_ex2(e->ctx, e->md, NULL) || !EVP_DigestUpdate(e->ctx, buf, len) ||
	    !EVP_DigestFinal_ex(e->ctx, out, &n))
		return -EIO;
	return 0;
}

/* The launch digest being extended, page by page. */
struct ld_chain {
	struct sha384_engine sha;
	uint8_t ld[MEASURE_LD_LEN];
};

static int ld_update(struct ld_chain *c, enum page_type type, uint64_t gpa, const uint8_t contents[MEASURE_LD_LEN])
{
	uint8_t info[PAGE_INFO_LEN] = { 0 };

	memcpy(info, c->ld, MEASURE_LD_LEN);
	memcpy(info + 48, contents, MEASURE_LD_LEN);
	put_u16le(info + 96, PAGE_INFO_LEN);
	info[98] = (uint8_t)type;
	/* 99: IMI_PAGE 0; 100-102: VMPL3..1 permissions 0; 103: reserved */
	put_u64le(info + 104, gpa);
	return sha384_engine_hash(&c->sha, info, sizeof(info), c->ld);
}

static int ld_pages(struct ld_chain *c, enum page_type type, uint64_t gpa, uint64_t len)
{
	static const uint8_t zero[MEASURE_LD_LEN];
	for (uint64_t off = 0; off < len; off += MEASURE_PAGE_SIZE) {
		int r = ld_update(c, type, gpa + off, zero);
		if (r < 0)
			return r;
	}
	return 0;
}

static int ld_normal_pages(struct ld_chain *c, uint64_t gpa, const uint8_t *data, size_t len)
{
	uint8_t h[MEASURE_LD_LEN];
	for (size_t off = 0; off < len; off += MEASURE_PAGE_SIZE) {
		int r = sha384_engine_hash(&c->sha, data + off, MEASURE_PAGE_SIZE, h);
		if (r < 0)
			return r;
		r = ld_update(c, PAGE_NORMAL, gpa + off, h);
		if (r < 0)
			return r;
	}
	return 0;
}

static void hashes_entry(uint8_t *p, const char *guid, const uint8_t hash[MEASURE_SHA256_LEN])
{
	guid_to_efi(guid, p);
	put_u16le(p + 16, 16 + 2 + MEASURE_SHA256_LEN);
	memcpy(p + 18, hash, MEASURE_SHA256_LEN);
}

void measure_hashes_table(const uint8_t kernel[MEASURE_SHA256_LEN], const uint8_t initrd[MEASURE_SHA256_LEN],
			  const uint8_t cmdline[MEASURE_SHA256_LEN], uint8_t out[MEASURE_HASHES_TABLE_LEN])
{
	enum { ENTRY = 16 + 2 + MEASURE_SHA256_LEN, TABLE = 16 + 2 + 3 * ENTRY };

	memset(out, 0, MEASURE_HASHES_TABLE_LEN);
	guid_to_efi(GUID_SEV_HASH_TABLE_HEADER, out);
	put_u16le(out + 16, TABLE);
	hashes_entry(out + 18, GUID_SEV_CMDLINE_ENTRY, cmdline);
	hashes_entry(out + 18 + ENTRY, GUID_SEV_INITRD_ENTRY, initrd);
	hashes_entry(out + 18 + 2 * ENTRY, GUID_SEV_KERNEL_ENTRY, kernel);
}

int measure_firmware_ld(const struct measure_ovmf *ovmf, uint8_t out[MEASURE_LD_LEN], sb_err **err)
{
	struct ld_chain c = { 0 };
	int r = sha384_engine_init(&c.sha, err);
	if (r < 0)
		return r;
	r = ld_normal_pages(&c, ovmf->gpa, ovmf->data, ovmf->size);
	sha384_engine_done(&c.sha);
	if (r < 0)
		return sb_err_set(err, EIO, "OpenSSL: SHA-384 failed");
	memcpy(out, c.ld, MEASURE_LD_LEN);
	return 0;
}

static int blob_sha256(const char *what, const struct measure_blob *b, uint8_t out[MEASURE_SHA256_LEN], sb_err **err)
{
	uint8_t h[MEASURE_SHA256_LEN];
	int r;

	if (!b->path) {
		memcpy(out, b->sha256, MEASURE_SHA256_LEN);
		return 0;
	}
	r = digest_sha256_file(b->path, h, err);
	if (r < 0)
		return sb_err_wrap(err, "%s", what);
	if (b->has_sha256 && memcmp(h, b->sha256, MEASURE_SHA256_LEN))
		return sb_err_set(err, EINVAL, "%s %s: SHA-256 differs from the one given", what, b->path);
	memcpy(out, h, MEASURE_SHA256_LEN);
	return 0;
}

static bool blob_given(const struct measure_blob *b)
{
	return b->path || b->has_sha256;
}

void measure_prepared_free(measure_prepared_t *p)
{
	if (!p)
		return;
	key_settle(p);
	free(p->owned);
	free(p);
}

const struct measure_key *measure_prepared_key(const measure_prepared_t *p)
{
	key_settle(p);
	return &p->key;
}

int measure_prepare(const struct measure_input *in, measure_prepared_t **ret, sb_err **err)
{
	_cleanup_(measure_prepared_freep) measure_prepared_t *p = calloc(1, sizeof(*p));
	const uint8_t *fw;
	size_t fw_size;
	const char *fw_name = in->ovmf_path ? in->ovmf_path : "firmware";
	const char *cmdline = in->cmdline ? in->cmdline : "";
	int r;

	if (!p)
		return sb_err_set(err, ENOMEM, "out of memory");
	if (in->vcpus == 0 || in->vcpus > MEASURE_MAX_VCPUS)
		return sb_err_set(err, EINVAL, "vCPU count %u out of range (1-%u)", in->vcpus, MEASURE_MAX_VCPUS);
	if (!(in->guest_features & 1))
		return sb_err_set(err, EINVAL, "guest features 0x%llx: bit 0 (SNPActive) must be set for an SNP guest",
				  (unsigned long long)in->guest_features);
	r = measure_vcpu_sig(&in->vcpu_type, &p->key.vcpu_sig, err);
	if (r < 0)
		return r;
	p->key.vcpus = in->vcpus;
	p->key.guest_features = in->guest_features;

	if (in->ovmf_path) {
		r = file_read_max(in->ovmf_path, MEASURE_MAX_FIRMWARE_SIZE, &p->owned, &fw_size, err);
		if (r < 0)
			return sb_err_wrap(err, "firmware");
		fw = p->owned;
	} else if (in->ovmf_data) {
		fw = in->ovmf_data;
		fw_size = in->ovmf_size;
	} else {
		return sb_err_set(err, EINVAL, "no firmware (OVMF) given");
	}
	r = measure_ovmf_parse(fw, fw_size, &p->ovmf, err);
	if (r < 0)
		return sb_err_wrap(err, "%s", fw_name);
	if (!p->ovmf.ap_reset_eip)
		return sb_err_set(err, EINVAL, "%s: no SEV-ES reset block (AP reset EIP): cannot start an SNP guest",
				  fw_name);
	p->fw = fw;
	p->fw_size = fw_size;
	if (pthread_create(&p->fw_thread, NULL, fw_sha256_thread, p) == 0)
		p->fw_pending = true;
	else
		digest_sha256(fw, fw_size, p->key.ovmf_sha256);
	if (in->has_firmware_ld) {
		p->key.has_firmware_ld = true;
		memcpy(p->key.firmware_ld, in->firmware_ld, MEASURE_LD_LEN);
	}

	p->key.has_kernel = blob_given(&in->kernel);
	if (!p->key.has_kernel && (blob_given(&in->initrd) || in->cmdline))
		return sb_err_set(err, EINVAL, "an initrd or a command line needs a kernel");
	if (p->key.has_kernel) {
		bool has_section = false;
		for (size_t i = 0; i < p->ovmf.n_sections; i++)
			has_section |= p->ovmf.sections[i].type == MEASURE_SECTION_SNP_KERNEL_HASHES;
		if (!has_section)
			return sb_err_set(err, EINVAL,
					  "%s: kernel given but the firmware's SEV metadata has no SNP_KERNEL_HASHES "
					  "section (not an AmdSev build?)", fw_name);
		if (!p->ovmf.has_hashes_table)
			return sb_err_set(err, EINVAL, "%s: kernel given but the firmware has no SEV hashes table entry",
					  fw_name);
		r = blob_sha256("kernel", &in->kernel, p->key.kernel_sha256, err);
		if (r < 0)
			return r;
		if (blob_given(&in->initrd))
			r = blob_sha256("initrd", &in->initrd, p->key.initrd_sha256, err);
		else
			digest_sha256("", 0, p->key.initrd_sha256);
		if (r < 0)
			return r;
		digest_sha256(cmdline, strlen(cmdline) + 1, p->key.cmdline_sha256);
	}
	*ret = TAKE_PTR(p);
	return 0;
}

static int add_sections(struct ld_chain *c, const measure_prepared_t *p, struct measure_result *res, sb_err **err)
{
	const struct measure_ovmf *o = &p->ovmf;
	int r = 0;

	for (size_t i = 0; i < o->n_sections && r >= 0; i++) {
		const struct measure_section *s = &o->sections[i];
		switch (s->type) {
		case MEASURE_SECTION_SNP_SEC_MEM:
		case MEASURE_SECTION_SVSM_CAA:
			r = ld_pages(c, PAGE_ZERO, s->gpa, s->size);
			break;
		case MEASURE_SECTION_SNP_SECRETS:
			r = ld_pages(c, PAGE_SECRETS, s->gpa, MEASURE_PAGE_SIZE);
			break;
		case MEASURE_SECTION_CPUID:
			r = ld_pages(c, PAGE_CPUID, s->gpa, MEASURE_PAGE_SIZE);
			break;
		case MEASURE_SECTION_SNP_KERNEL_HASHES:
			if (!p->key.has_kernel) {
				r = ld_pages(c, PAGE_ZERO, s->gpa, s->size);
			} else {
				/* QEMU places the table at its GPA's offset within the section's first page. */
				size_t off = o->hashes_table_gpa & (MEASURE_PAGE_SIZE - 1);
				_cleanup_free_ uint8_t *buf = NULL;
				if (off + MEASURE_HASHES_TABLE_LEN > s->size)
					return sb_err_set(err, EINVAL, "SEV hashes table at 0x%x does not fit its section",
							  o->hashes_table_gpa);
				buf = calloc(1, s->size);
				if (!buf)
					return sb_err_set(err, ENOMEM, "out of memory");
				memcpy(buf + off, res->hashes_table, MEASURE_HASHES_TABLE_LEN);
				r = ld_normal_pages(c, s->gpa, buf, s->size);
			}
			break;
		default: /* the parser admits known types only */
			return sb_err_set(err, EINVAL, "SEV metadata section type 0x%x", s->type);
		}
	}
	return r;
}

int measure_compute(const measure_prepared_t *p, struct measure_result *ret, sb_err **err)
{
	struct measure_result res = { .key = p->key };
	struct ld_chain c = { 0 };
	uint8_t vmsa[MEASURE_PAGE_SIZE];
	int r;

	res.ap_reset_eip = p->ovmf.ap_reset_eip;
	if (p->key.has_kernel) {
		res.has_hashes_table = true;
		res.hashes_table_gpa = p->ovmf.hashes_table_gpa;
		measure_hashes_table(p->key.kernel_sha256, p->key.initrd_sha256, p->key.cmdline_sha256,
				     res.hashes_table);
	}

	r = sha384_engine_init(&c.sha, err);
	if (r < 0)
		return r;
	if (p->key.has_firmware_ld)
		memcpy(c.ld, p->key.firmware_ld, MEASURE_LD_LEN);
	else
		r = ld_normal_pages(&c, p->ovmf.gpa, p->ovmf.data, p->ovmf.size);
	if (r < 0)
		goto sha_fail;
	memcpy(res.ld_after_firmware, c.ld, MEASURE_LD_LEN);

	r = add_sections(&c, p, &res, err);
	if (r < 0) {
		sha384_engine_done(&c.sha);
		return r == -EIO ? sb_err_set(err, EIO, "OpenSSL: SHA-384 failed") : r;
	}
	memcpy(res.ld_after_metadata, c.ld, MEASURE_LD_LEN);

	measure_vmsa_build(vmsa, MEASURE_VMSA_BSP_EIP, p->key.vcpu_sig, p->key.guest_features);
	r = sha384_engine_hash(&c.sha, vmsa, sizeof(vmsa), res.vmsa_bsp_sha384);
	if (r < 0)
		goto sha_fail;
	if (p->key.vcpus > 1) {
		res.has_ap = true;
		measure_vmsa_build(vmsa, p->ovmf.ap_reset_eip, p->key.vcpu_sig, p->key.guest_features);
		r = sha384_engine_hash(&c.sha, vmsa, sizeof(vmsa), res.vmsa_ap_sha384);
		if (r < 0)
			goto sha_fail;
	}
	for (uint32_t i = 0; i < p->key.vcpus; i++) {
		r = ld_update(&c, PAGE_VMSA, VMSA_GPA, i == 0 ? res.vmsa_bsp_sha384 : res.vmsa_ap_sha384);
		if (r < 0)
			goto sha_fail;
	}
	sha384_engine_done(&c.sha);
	memcpy(res.digest, c.ld, MEASURE_LD_LEN);
	key_settle(p);
	res.key = p->key;
	*ret = res;
	return 0;

sha_fail:
	sha384_engine_done(&c.sha);
	return sb_err_set(err, EIO, "OpenSSL: SHA-384 failed");
}

int measure_launch_digest(const struct measure_input *in, struct measure_result *ret, sb_err **err)
{
	_cleanup_(measure_prepared_freep) measure_prepared_t *p = NULL;
	int r = measure_prepare(in, &p, err);
	if (r < 0)
		return r;
	return measure_compute(p, ret, err);
}
