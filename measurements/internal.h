/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the measurements/ modules; not part of the API. */
#pragma once

#include <openssl/evp.h>
#include <stdint.h>

#include "measure.h"

/* Firmware GUIDs as text; the image holds them in EFI (mixed-endian) byte order. */
#define GUID_OVMF_TABLE_FOOTER "96b582de-1fb2-45f7-baea-a366c55a082d"
#define GUID_SEV_HASH_TABLE_RV "7255371f-3a3b-4b04-927b-1da6efa8d454"
#define GUID_SEV_ES_RESET_BLOCK "00f771de-1a7e-4fcb-890e-68c77e2fb44e"
#define GUID_OVMF_SEV_METADATA "dc886566-984a-4798-a75e-5585a7bf67cc"
#define GUID_SEV_HASH_TABLE_HEADER "9438d606-4f22-4cc9-b479-a793d411fd21"
#define GUID_SEV_KERNEL_ENTRY "4de79437-abd2-427f-b835-d5b172d2045b"
#define GUID_SEV_INITRD_ENTRY "44baf731-3a2f-4bd7-9af1-41e29169781d"
#define GUID_SEV_CMDLINE_ENTRY "97d02dd8-bd20-4c94-aa78-e7714d36ab2a"

/* Text GUID -> 16 bytes, first three fields little-endian. The strings are ours. */
void guid_to_efi(const char *text, uint8_t out[16]);

/* One SHA-384 engine reused for every hash of a run: an explicit fetch
 * avoids OpenSSL 3's per-call provider lookup. */
struct sha384_engine {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};
int sha384_engine_init(struct sha384_engine *e, sb_err **err);
void sha384_engine_done(struct sha384_engine *e);
int sha384_engine_hash(struct sha384_engine *e, const void *buf, size_t len, uint8_t out[MEASURE_LD_LEN]);

/* Reads a whole regular file of at most max bytes. */

/* idblock.c: r and s into a 0x200-byte SNP signature, little-endian, full width. */
#include <openssl/bn.h>
int idauth_put_sig(const BIGNUM *r, const BIGNUM *s, uint8_t out[0x200]);
