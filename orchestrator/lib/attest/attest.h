/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV-SNP attestation report verification (SEV-SNP ABI spec, AMD KDS).
 *
 *   report.c  parse report versions 2..5 (every field), load .bin or hex
 *   tcb.c     TCB_VERSION layouts (Milan/Genoa vs Turin), product lines
 *   certs.c   load certificates, parse the VCEK/VLEK AMD extensions (DER)
 *   chain.c   pinned ARKs, VCEK -> ASK -> ARK / VLEK -> ASVK -> ARK, CRL
 *   verify.c  report signature, VCEK/report cross checks, policy, verdict
 *   kds.c     KDS URLs, on-disk cache, offline mode, injectable fetcher
 *
 * Everything read from a report or a certificate extension goes through the
 * bounds-checked cursor (common/cursor.h).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "err.h"

#define ATTEST_REPORT_SIZE 0x4A0       /* 1184 */
#define ATTEST_SIGNED_SIZE 0x2A0       /* bytes 0x000..0x29F are signed */
#define ATTEST_SIG_COMPONENT_SIZE 72   /* r and s, little-endian, zero padded */
#define ATTEST_CHIP_ID_SIZE 64
#define ATTEST_TURIN_HWID_SIZE 8

/* ---- product lines and TCB_VERSION ---------------------------------- */

enum attest_product {
	ATTEST_PRODUCT_UNKNOWN = 0,
	ATTEST_PRODUCT_MILAN,
	ATTEST_PRODUCT_GENOA,
	ATTEST_PRODUCT_TURIN,
};

/* "Milan", "Genoa", "Turin" (the KDS spelling) or "unknown". */
const char *attest_product_name(enum attest_product p);
/* Case-insensitive "milan"/"genoa"/"turin", optionally with a "-B0"-style
 * stepping suffix as found in VCEK productName; UNKNOWN otherwise. */
enum attest_product attest_product_from_name(const char *name);
/* From the report's CPUID_FAM_ID / CPUID_MOD_ID (report version >= 3). */
enum attest_product attest_product_from_cpuid(uint8_t family, uint8_t model);

/* One TCB_VERSION decoded with the layout of its product line. */
struct attest_tcb {
	uint64_t raw;
	bool has_fmc; /* Turin only */
	uint8_t fmc;
	uint8_t bootloader;
	uint8_t tee;
	uint8_t snp;
	uint8_t microcode;
};

/* Milan/Genoa: byte 0 bl, 1 tee, 6 snp, 7 ucode. Turin: 0 fmc, 1 bl, 2 tee,
 * 3 snp, 7 ucode. UNKNOWN decodes as Milan/Genoa. */
struct attest_tcb attest_tcb_decode(uint64_t raw, enum attest_product p);
uint64_t attest_tcb_encode(const struct attest_tcb *t, enum attest_product p);
/* Writes "fmc=1 bl=3 tee=0 snp=8 ucode=115" (no fmc unless has_fmc). */
void attest_tcb_format(const struct attest_tcb *t, char *buf, size_t size);
/* Per component: true when every component of have is >= want's. Writes
 * the first component that is lower to *ret_component (may be NULL). */
bool attest_tcb_at_least(const struct attest_tcb *have, const struct attest_tcb *want,
			 const char **ret_component);
/* Parses "bl=3,tee=0,snp=8,ucode=115[,fmc=1]" (spaces or commas). */
int attest_tcb_parse(const char *s, struct attest_tcb *ret, sb_err **err);

/* ---- the report ------------------------------------------------------ */

/* POLICY bits (SNP ABI spec, guest policy). */
#define ATTEST_POLICY_SMT (1ULL << 16)
#define ATTEST_POLICY_RESERVED_ONE (1ULL << 17)
#define ATTEST_POLICY_MIGRATE_MA (1ULL << 18)
#define ATTEST_POLICY_DEBUG (1ULL << 19)
#define ATTEST_POLICY_SINGLE_SOCKET (1ULL << 20)
#define ATTEST_POLICY_CXL_ALLOW (1ULL << 21)
#define ATTEST_POLICY_MEM_AES_256_XTS (1ULL << 22)
#define ATTEST_POLICY_RAPL_DIS (1ULL << 23)
#define ATTEST_POLICY_CIPHERTEXT_HIDING (1ULL << 24)
#define ATTEST_POLICY_PAGE_SWAP_DISABLE (1ULL << 25)

/* PLATFORM_INFO bits. Bits not named here are never judged. */
#define ATTEST_PLATFORM_SMT_EN (1ULL << 0)
#define ATTEST_PLATFORM_TSME_EN (1ULL << 1)
#define ATTEST_PLATFORM_ECC_EN (1ULL << 2)
#define ATTEST_PLATFORM_RAPL_DIS (1ULL << 3)
#define ATTEST_PLATFORM_CIPHERTEXT_HIDING_EN (1ULL << 4)
#define ATTEST_PLATFORM_ALIAS_CHECK_COMPLETE (1ULL << 5)
#define ATTEST_PLATFORM_TIO_EN (1ULL << 7)

enum attest_signer {
	ATTEST_SIGNER_VCEK = 0,
	ATTEST_SIGNER_VLEK = 1,
	ATTEST_SIGNER_NONE = 7,
};

struct attest_report {
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t signature_algo;
	uint64_t current_tcb;
	uint64_t platform_info;
	uint32_t signer_info; /* the raw 32-bit word at 0x48 */
	bool author_key_en;
	bool mask_chip_key;
	uint8_t signing_key; /* enum attest_signer */
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint8_t id_key_digest[48];
	uint8_t author_key_digest[48];
	uint8_t report_id[32];
	uint8_t report_id_ma[32];
	uint64_t reported_tcb;
	bool has_cpuid; /* version >= 3 */
	uint8_t cpuid_fam_id;
	uint8_t cpuid_mod_id;
	uint8_t cpuid_step;
	uint8_t chip_id[ATTEST_CHIP_ID_SIZE];
	uint64_t committed_tcb;
	uint8_t current_build, current_minor, current_major;
	uint8_t committed_build, committed_minor, committed_major;
	uint64_t launch_tcb;
	bool has_mit_vectors; /* version >= 5 */
	uint64_t launch_mit_vector;
	uint64_t current_mit_vector;
	uint8_t sig_r[ATTEST_SIG_COMPONENT_SIZE]; /* little-endian */
	uint8_t sig_s[ATTEST_SIG_COMPONENT_SIZE];
	bool sig_trailing_nonzero; /* unsigned bytes after r,s; never judged */
	uint8_t signed_bytes[ATTEST_SIGNED_SIZE];
};

/* Parses exactly ATTEST_REPORT_SIZE bytes, versions 2..5 (4 has the layout of
 * 3). Unknown versions and wrong sizes fail with -EINVAL / -EBADMSG. */
int attest_report_parse(const void *buf, size_t len, struct attest_report *ret, sb_err **err);
/* Loads a binary report or its ASCII hex (whitespace allowed). */
int attest_report_load(const char *path, struct attest_report *ret, sb_err **err);
/* Product line from CPUID (v3+), UNKNOWN otherwise. */
enum attest_product attest_report_product(const struct attest_report *r);

/* ---- certificates ---------------------------------------------------- */

/* The AMD extensions of a VCEK or VLEK (OIDs 1.3.6.1.4.1.3704.1.*). */
struct attest_cert_ext {
	bool has_struct_version;
	int64_t struct_version;
	char product_name[64]; /* "Milan-B0", "Genoa", "Turin", "" if absent */
	/* spl[i] is 1.3.6.1.4.1.3704.1.3.<i>: 1 bl, 2 tee, 3 snp, 4-7 reserved,
	 * 8 ucode, 9 fmc (Turin). */
	bool has_spl[10];
	uint8_t spl[10];
	size_t hwid_len; /* 0 when absent (VLEK) */
	uint8_t hwid[ATTEST_CHIP_ID_SIZE];
	char csp_id[256]; /* VLEK: the cloud provider, "" if absent */
};

enum attest_ext_kind {
	ATTEST_EXT_STRUCT_VERSION, /* INTEGER */
	ATTEST_EXT_PRODUCT_NAME,   /* IA5String */
	ATTEST_EXT_SPL,            /* INTEGER 0..255 */
	ATTEST_EXT_HWID,           /* raw bytes, or OCTET STRING wrapped */
	ATTEST_EXT_CSP_ID,         /* IA5String */
};

/* Parses one extension value (the contents of extnValue) into ext. `index`
 * is the SPL number for ATTEST_EXT_SPL. Exposed for the fuzz target. */
int attest_cert_ext_parse_value(enum attest_ext_kind kind, unsigned index, const uint8_t *val,
				size_t len, struct attest_cert_ext *ext, sb_err **err);
/* Parses every AMD extension of a certificate. */
int attest_cert_ext_parse(X509 *cert, struct attest_cert_ext *ret, sb_err **err);
/* The TCB the certificate was issued for, in the product's layout. */
struct attest_tcb attest_cert_ext_tcb(const struct attest_cert_ext *ext, enum attest_product p);

/* Loads every certificate of a PEM or DER file (a DER file holds one). */
int attest_certs_load(const char *path, STACK_OF(X509) **ret, sb_err **err);
int attest_cert_from_der(const uint8_t *der, size_t len, X509 **ret, sb_err **err);
/* The subject's commonName into buf ("" if none). */
void attest_cert_cn(X509 *cert, char *buf, size_t size);

/* ---- policy and verdict ---------------------------------------------- */

struct attest_policy {
	time_t at;                  /* verification time; 0 = now */
	bool allow_debug;           /* POLICY.DEBUG */
	bool allow_vmpl_nonzero;    /* VMPL must be 0 unless set */
	bool allow_migrate_ma;      /* POLICY.MIGRATE_MA */
	bool forbid_smt;            /* reject POLICY.SMT / PLATFORM_INFO.SMT_EN */
	bool allow_vlek;            /* accept a VLEK-signed report (default true via attest_policy_init) */
	bool require_crl;           /* fail unless a CRL was given and checked */
	bool has_min_tcb;           /* checked per component on REPORTED and COMMITTED ... */
	struct attest_tcb min_tcb;  /* ... and CURRENT, in the report's layout */
	bool has_min_guest_svn;
	uint32_t min_guest_svn;
	bool has_measurement;
	uint8_t measurement[48];
	bool has_host_data;
	uint8_t host_data[32];
	bool has_report_data;
	uint8_t report_data[64];
	bool has_family_id;
	uint8_t family_id[16];
	bool has_image_id;
	uint8_t image_id[16];
	bool has_stepping;          /* expected CPU stepping (report CPUID, VCEK productName) */
	uint8_t stepping;
	enum attest_product expect_product; /* UNKNOWN = any */
};

/* Defaults: everything off except allow_vlek. */
void attest_policy_init(struct attest_policy *p);

enum attest_reason_code {
	ATTEST_R_BAD_SIGNATURE = 1,  /* report signature does not verify */
	ATTEST_R_SIGNATURE_ALGO,     /* SIGNATURE_ALGO is not ECDSA P-384/SHA-384 */
	ATTEST_R_SIGNER,             /* SIGNING_KEY vs the certificate (VCEK/VLEK) */
	ATTEST_R_NO_CERT,            /* no endorsement certificate */
	ATTEST_R_CERT_KEY,           /* certificate key is not EC P-384 */
	ATTEST_R_CHAIN_LEAF,         /* VCEK/VLEK not signed by ASK/ASVK */
	ATTEST_R_CHAIN_INTERMEDIATE, /* ASK/ASVK not signed by the pinned ARK */
	ATTEST_R_CHAIN_ROOT,         /* supplied ARK differs from the pinned one / no pinned ARK */
	ATTEST_R_CERT_TIME,          /* a certificate is not valid at the verification time */
	ATTEST_R_CERT_ALGO,          /* chain signature is not RSA-PSS SHA-384 */
	ATTEST_R_CRL,                /* CRL missing, bad signature, or stale */
	ATTEST_R_REVOKED,            /* an intermediate is on the CRL */
	ATTEST_R_PRODUCT,            /* product lines disagree */
	ATTEST_R_TCB_MISMATCH,       /* REPORTED_TCB != certificate SPLs */
	ATTEST_R_CHIP_ID,            /* CHIP_ID != hwID */
	ATTEST_R_DEBUG,
	ATTEST_R_VMPL,
	ATTEST_R_MIGRATE_MA,
	ATTEST_R_SMT,
	ATTEST_R_MIN_TCB,
	ATTEST_R_GUEST_SVN,
	ATTEST_R_MEASUREMENT,
	ATTEST_R_HOST_DATA,
	ATTEST_R_REPORT_DATA,
	ATTEST_R_FAMILY_ID,
	ATTEST_R_IMAGE_ID,
	ATTEST_R_STEPPING,
};

/* Short stable name of a reason code, e.g. "bad-signature". */
const char *attest_reason_name(enum attest_reason_code c);

struct attest_reason {
	enum attest_reason_code code;
	char *msg;
};

/* Tri-state results: 1 pass, 0 fail, -1 not checked / not applicable. */
struct attest_verdict {
	bool valid;
	enum attest_product product;
	enum attest_signer signer;
	int signature_valid;
	int leaf_signed_by_intermediate;
	int intermediate_signed_by_ark;
	int ark_pinned;
	int certs_time_valid;
	int crl_checked;
	int tcb_matches_cert;
	int chip_id_matches;
	int policy_ok;
	struct attest_cert_ext ext; /* of the endorsement certificate */
	bool has_ext;
	size_t n_reasons;
	struct attest_reason *reasons;
};

void attest_verdict_free(struct attest_verdict *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct attest_verdict *, attest_verdict_free);
bool attest_verdict_has(const struct attest_verdict *v, enum attest_reason_code c);

/* What came with the report. Borrowed; NULL fields are looked up: the
 * intermediate in the pinned roots directory, the endorsement certificate in
 * the KDS cache (see attest_kds_*). */
struct attest_evidence {
	X509 *endorsement;           /* VCEK or VLEK */
	STACK_OF(X509) *chain;       /* optional ASK/ASVK [+ ARK], KDS cert_chain order */
	X509 *intermediate;          /* optional explicit ASK/ASVK (overrides chain) */
	X509_CRL *crl;               /* optional CRL issued by the ARK */
};

/* The verifier: pinned roots and a cache of verified chains. */
typedef struct attest_ctx attest_ctx;

/* roots_dir holds <line>_ark.pem (required), <line>_ask.pem, <line>_asvk.pem;
 * NULL means ATTEST_DEFAULT_ROOTS_DIR. */
int attest_ctx_new(const char *roots_dir, attest_ctx **ret, sb_err **err);
void attest_ctx_free(attest_ctx *ctx);
DEFINE_TRIVIAL_CLEANUP_FUNC(attest_ctx *, attest_ctx_free);
const char *attest_default_roots_dir(void);

/* Verifies everything and returns a verdict listing every failure. Returns 0
 * with *ret set whether the report is valid or not; a negative errno only
 * when the inputs cannot be examined at all. */
int attest_verify(attest_ctx *ctx, const struct attest_report *r, const struct attest_evidence *ev,
		  const struct attest_policy *pol, struct attest_verdict **ret, sb_err **err);

/* The ECDSA P-384 check alone: 1 valid, 0 invalid, <0 error. */
int attest_report_check_signature(const struct attest_report *r, EVP_PKEY *key, sb_err **err);

/* Parses "2022-10-24T00:55:28Z", "2022-10-24" or "@<unix seconds>". */
int attest_parse_time(const char *s, time_t *ret, sb_err **err);

/* ---- AMD KDS --------------------------------------------------------- */

#define ATTEST_KDS_BASE "https://kdsintf.amd.com"

/* Fetches url into a malloc'd buffer. Returns 0 or a negative errno. */
typedef int (*attest_fetch_fn)(const char *url, uint8_t **ret_buf, size_t *ret_len, void *userdata,
			       sb_err **err);

struct attest_kds {
	const char *base;       /* NULL = ATTEST_KDS_BASE */
	const char *cache_dir;  /* NULL = no cache */
	bool offline;           /* never call fetch */
	attest_fetch_fn fetch;  /* NULL = cache only */
	void *userdata;
};

/* https://kdsintf.amd.com/vcek/v1/<Product>/<hwid>?[fmcSPL=..&]blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..
 * hwid is CHIP_ID in lowercase hex: 64 bytes, or the first 8 on Turin. */
int attest_kds_vcek_url(const char *base, enum attest_product p, const uint8_t *chip_id,
			size_t chip_id_len, const struct attest_tcb *tcb, char **ret, sb_err **err);
/* .../{vcek,vlek}/v1/<Product>/cert_chain and .../crl */
int attest_kds_chain_url(const char *base, enum attest_product p, enum attest_signer s, char **ret,
			 sb_err **err);
int attest_kds_crl_url(const char *base, enum attest_product p, enum attest_signer s, char **ret,
		       sb_err **err);
/* The cache file for a URL: <cache_dir>/<host>/<path>[/<query as name>].der
 * with every URL component in the name; characters outside [A-Za-z0-9._=-]
 * rejected. */
int attest_kds_cache_path(const char *cache_dir, const char *url, char **ret, sb_err **err);
/* Cache lookup, then (unless offline) fetch and store. */
int attest_kds_get(const struct attest_kds *kds, const char *url, uint8_t **ret_buf, size_t *ret_len,
		   sb_err **err);
/* The VCEK for a report (REPORTED_TCB, CHIP_ID, product from CPUID or p). */
int attest_kds_get_vcek(const struct attest_kds *kds, const struct attest_report *r, enum attest_product p,
			X509 **ret, sb_err **err);
