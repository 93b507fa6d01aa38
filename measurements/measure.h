/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP launch digest (the MEASUREMENT of an attestation report), computed
 * on the host from public inputs: an OVMF image, optionally a kernel, initrd
 * and command line (QEMU's kernel-hashes table), the vCPU count and type and
 * the guest's SEV_FEATURES. VMM type QEMU. See measurements/README.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MEASURE_LD_LEN 48 /* SHA-384 */
#define MEASURE_SHA256_LEN 32
#define MEASURE_PAGE_SIZE 4096u
/* QEMU q35's CPU limit; every AP page hashes the same, so this bounds nothing costly. */
#define MEASURE_MAX_VCPUS 4096u
/* Firmware is mapped just below 4 GiB; real OVMF images are 1-4 MiB. */
#define MEASURE_MAX_FIRMWARE_SIZE (32u << 20)
#define MEASURE_MAX_SECTIONS 64
/* QEMU's PaddedSevHashTable: 168 bytes padded to 16. */
#define MEASURE_HASHES_TABLE_LEN 176
/*
 * SEV_FEATURES when nobody says otherwise: SNPActive only. QEMU >= 9.1 on a
 * kernel with KVM_SEV_INIT2 (the only way upstream KVM launches SNP guests)
 * sets no VMSA feature the user did not ask for; older out-of-tree stacks
 * turned on DebugSwap (bit 5), giving 0x21.
 */
#define MEASURE_DEFAULT_GUEST_FEATURES UINT64_C(0x1)

/* OVMF SEV metadata section types (edk2 OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm). */
enum measure_section_type {
	MEASURE_SECTION_SNP_SEC_MEM = 1,
	MEASURE_SECTION_SNP_SECRETS = 2,
	MEASURE_SECTION_CPUID = 3,
	MEASURE_SECTION_SVSM_CAA = 4,
	MEASURE_SECTION_SNP_KERNEL_HASHES = 0x10,
};

struct measure_section {
	uint32_t gpa;
	uint32_t size;
	uint32_t type; /* enum measure_section_type */
};

/* What the firmware parser learns from an OVMF image. data is borrowed. */
struct measure_ovmf {
	const uint8_t *data;
	size_t size;
	uint64_t gpa; /* the image ends at 4 GiB */
	uint32_t ap_reset_eip; /* SEV-ES reset block; 0 if the firmware has none */
	bool has_hashes_table;
	uint32_t hashes_table_gpa;
	size_t n_sections;
	struct measure_section sections[MEASURE_MAX_SECTIONS];
};

/* Parses the reset-vector footer GUID table and the SEV metadata; every
 * read is bounds-checked and every section validated (alignment, range,
 * overlap, known type). */
int measure_ovmf_parse(const void *data, size_t size, struct measure_ovmf *ret, sb_err **err);
const char *measure_section_type_name(uint32_t type);

/* vCPU type: a QEMU CPU model name, or an explicit family/model/stepping. */
struct measure_vcpu_type {
	const char *name; /* NULL: use family/model/stepping (0 is a value) */
	unsigned family, model, stepping;
};

/* CPUID Fn0000_0001_EAX as the VMSA's RDX carries it. */
int measure_vcpu_sig(const struct measure_vcpu_type *t, uint32_t *ret_sig, sb_err **err);
int measure_vcpu_sig_from_name(const char *name, uint32_t *ret_sig, sb_err **err);
int measure_vcpu_sig_from_fms(unsigned family, unsigned model, unsigned stepping, uint32_t *ret_sig,
			      sb_err **err);
/* The i-th accepted CPU model name, NULL past the end. */
const char *measure_vcpu_name_at(size_t i);

#define MEASURE_VMSA_BSP_EIP 0xfffffff0u
/* Writes the 4096-byte initial VMSA QEMU gives a vCPU starting at eip. */
void measure_vmsa_build(uint8_t page[MEASURE_PAGE_SIZE], uint32_t eip, uint32_t vcpu_sig, uint64_t guest_features);

/* A kernel or initrd: a file, or only its SHA-256 (only the hash enters the digest). */
struct measure_blob {
	const char *path;  /* hashed when set */
	bool has_sha256;   /* without path: used as is; with path: must match the file */
	uint8_t sha256[MEASURE_SHA256_LEN];
};

struct measure_input {
	/* The firmware, as a file or bytes in memory (the metadata is always needed). */
	const char *ovmf_path;
	const void *ovmf_data;
	size_t ovmf_size;
	/* Optional: the launch digest after the firmware pages, precomputed
	 * (sev-snp-measure's --snp-ovmf-hash); the firmware's pages are then
	 * not hashed. */
	bool has_firmware_ld;
	uint8_t firmware_ld[MEASURE_LD_LEN];
	/* Kernel present: kernel.path or kernel.has_sha256. Initrd absent: empty. */
	struct measure_blob kernel, initrd;
	const char *cmdline; /* NULL: empty; hashed with its terminating NUL */
	unsigned vcpus;
	struct measure_vcpu_type vcpu_type;
	uint64_t guest_features; /* SEV_FEATURES; bit 0 (SNPActive) must be set */
};

/* Every input reduced to its digest: what the cache is keyed on. */
struct measure_key {
	uint8_t ovmf_sha256[MEASURE_SHA256_LEN];
	bool has_firmware_ld;
	uint8_t firmware_ld[MEASURE_LD_LEN];
	bool has_kernel;
	uint8_t kernel_sha256[MEASURE_SHA256_LEN];
	uint8_t initrd_sha256[MEASURE_SHA256_LEN];
	uint8_t cmdline_sha256[MEASURE_SHA256_LEN];
	uint32_t vcpus;
	uint32_t vcpu_sig;
	uint64_t guest_features;
};

struct measure_result {
	struct measure_key key;
	uint8_t digest[MEASURE_LD_LEN];
	/* Intermediates, for diagnosis. */
	uint8_t ld_after_firmware[MEASURE_LD_LEN];
	uint8_t ld_after_metadata[MEASURE_LD_LEN];
	uint8_t vmsa_bsp_sha384[MEASURE_LD_LEN];
	bool has_ap; /* vcpus > 1 */
	uint8_t vmsa_ap_sha384[MEASURE_LD_LEN];
	uint32_t ap_reset_eip;
	bool has_hashes_table; /* a kernel was given */
	uint32_t hashes_table_gpa;
	uint8_t hashes_table[MEASURE_HASHES_TABLE_LEN];
};

/* Inputs resolved: firmware in memory, files hashed, vCPU type resolved. */
typedef struct measure_prepared measure_prepared_t;
int measure_prepare(const struct measure_input *in, measure_prepared_t **ret, sb_err **err);
const struct measure_key *measure_prepared_key(const measure_prepared_t *p);
int measure_compute(const measure_prepared_t *p, struct measure_result *ret, sb_err **err);
void measure_prepared_free(measure_prepared_t *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(measure_prepared_t *, measure_prepared_free)

/* prepare + compute. */
int measure_launch_digest(const struct measure_input *in, struct measure_result *ret, sb_err **err);

/* QEMU's SEV hashes table for the kernel/initrd/cmdline digests. */
void measure_hashes_table(const uint8_t kernel[MEASURE_SHA256_LEN], const uint8_t initrd[MEASURE_SHA256_LEN],
			  const uint8_t cmdline[MEASURE_SHA256_LEN], uint8_t out[MEASURE_HASHES_TABLE_LEN]);

/* The launch digest after the firmware pages alone (sev-snp-measure --mode snp:ovmf-hash). */
int measure_firmware_ld(const struct measure_ovmf *ovmf, uint8_t out[MEASURE_LD_LEN], sb_err **err);

/*
 * Reference-value record (snpbuild measure --json): every input digest, the
 * result and the intermediates. Returns a new jansson object (json_t *).
 * vcpu_type_name and cmdline are copied in when non-NULL.
 */
struct json_t;
int measure_record_json(const struct measure_result *r, const char *vcpu_type_name, const char *cmdline,
			struct json_t **ret, sb_err **err);
/* Reads back what measure_record_json wrote (the cache's on-disk form). */
int measure_record_parse(struct json_t *o, struct measure_result *ret, sb_err **err);

/*
 * Guest image manifest (guest-image/): JSON with kernel, initrd, cmdline and
 * ovmf; paths relative to the manifest's folder. Fills in the firmware,
 * kernel, initrd and cmdline of *in; strings stay owned by *ret_owner
 * (free with measure_manifest_free).
 */
typedef struct measure_manifest measure_manifest_t;
int measure_manifest_load(const char *path, struct measure_input *in, measure_manifest_t **ret_owner, sb_err **err);
void measure_manifest_free(measure_manifest_t *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(measure_manifest_t *, measure_manifest_free)

/*
 * Cache of results keyed by the input digests, in memory and optionally
 * mirrored to a JSON file (written atomically on every insertion), so a
 * daemon computes each image x VM shape once.
 */
typedef struct measure_cache measure_cache_t;
int measure_cache_new(const char *path, measure_cache_t **ret, sb_err **err);
void measure_cache_free(measure_cache_t *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(measure_cache_t *, measure_cache_free)
/* Returns 1 when the result came from the cache, 0 when it was computed. */
int measure_cache_measure(measure_cache_t *c, const struct measure_input *in, struct measure_result *ret,
			  sb_err **err);
/* Lookup by key alone; 1 found, 0 not found. */
int measure_cache_lookup(measure_cache_t *c, const struct measure_key *key, struct measure_result *ret);
int measure_cache_store(measure_cache_t *c, const struct measure_result *r, sb_err **err);
size_t measure_cache_size(const measure_cache_t *c);
/* Canonical text of a key hashed to hex (65 bytes): the cache's index. */
void measure_key_id(const struct measure_key *key, char out[2 * MEASURE_SHA256_LEN + 1]);

/*
 * ID block (96 bytes) and ID authentication information (4096 bytes), for
 * libvirt's <idBlock>/<idAuth>: with them the firmware refuses a launch
 * whose digest differs.
 */
#define MEASURE_ID_BLOCK_LEN 96
#define MEASURE_ID_AUTH_LEN 4096
#define MEASURE_ID_LEN 16
struct measure_id_block_params {
	uint8_t digest[MEASURE_LD_LEN];
	uint8_t family_id[MEASURE_ID_LEN];
	uint8_t image_id[MEASURE_ID_LEN];
	uint32_t guest_svn;
	uint64_t policy;
};
void measure_idblock_build(const struct measure_id_block_params *p, uint8_t out[MEASURE_ID_BLOCK_LEN]);
/* EVP_PKEY is OpenSSL's; keys must be ECDSA P-384. author_key may be NULL. */
struct evp_pkey_st;
int measure_idblock_load_key(const char *path, struct evp_pkey_st **ret, sb_err **err);
int measure_idauth_build(const uint8_t id_block[MEASURE_ID_BLOCK_LEN], struct evp_pkey_st *id_key,
			 struct evp_pkey_st *author_key, uint8_t out[MEASURE_ID_AUTH_LEN], sb_err **err);
/* SHA-384 of the 0x404-byte public key structure: the report's ID_KEY_DIGEST / AUTHOR_KEY_DIGEST. */
int measure_idblock_key_digest(struct evp_pkey_st *key, uint8_t out[MEASURE_LD_LEN], sb_err **err);
/* Signature (r, s little-endian, 72 bytes each at 0 and 0x48) of an ID block or key, checked. */
int measure_idauth_verify(const uint8_t id_block[MEASURE_ID_BLOCK_LEN], const uint8_t id_auth[MEASURE_ID_AUTH_LEN],
			  sb_err **err);
/* Base64 (no newlines), malloc'd. */
char *measure_base64(const void *buf, size_t len);
