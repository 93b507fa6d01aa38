/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the OVMF parser and the digest over what it admits.
 * The first input byte picks how the rest becomes a firmware image:
 *   even: the bytes as the image's tail, zero-padded at the front to whole pages
 *   odd:  overwritten onto the tail of a real OVMF suffix from the fixtures
 *         (so mutations start from a valid footer table and SEV metadata)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"

static uint8_t *seed[2];
static size_t seed_len[2];

static void load_seed(int i, const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/snp/sev-snp-measure/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return;
	seed[i] = malloc(MEASURE_PAGE_SIZE);
	if (seed[i])
		seed_len[i] = fread(seed[i], 1, MEASURE_PAGE_SIZE, f);
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("SNPBUILD_FIXTURES");
	(void)argc;
	(void)argv;
	if (dir) {
		load_seed(0, dir, "ovmf_AmdSev_suffix.bin");
		load_seed(1, dir, "ovmf_OvmfX64_suffix.bin");
	}
	return 0;
}

static void measure_image(const uint8_t *img, size_t len)
{
	struct measure_ovmf o;
	struct measure_result res;
	sb_err *err = NULL;
	uint64_t pages = 0;

	/* The parser alone, exactly on these bytes. */
	if (measure_ovmf_parse(img, len, &o, &err) < 0) {
		if (!err || !err->msg)
			abort(); /* a failure must say why */
		sb_err_free(err);
		return;
	}
	for (size_t i = 0; i < o.n_sections; i++)
		pages += o.sections[i].size / MEASURE_PAGE_SIZE;
	if (pages > 4096)
		return; /* valid but slow to chain: nothing new for the parser */

	/* Then the whole digest, with and without a kernel, 1 and 3 vCPUs. */
	for (int k = 0; k < 2; k++) {
		struct measure_input in = {
			.ovmf_data = img,
			.ovmf_size = len,
			.vcpus = k ? 3 : 1,
			.vcpu_type = { .name = "EPYC-Milan" },
			.guest_features = MEASURE_DEFAULT_GUEST_FEATURES,
		};
		if (k) {
			in.kernel.has_sha256 = true;
			memset(in.kernel.sha256, 0x5a, sizeof(in.kernel.sha256));
			in.cmdline = "console=ttyS0";
		}
		if (measure_launch_digest(&in, &res, &err) < 0) {
			if (!err || !err->msg)
				abort();
			sb_err_free(err);
			err = NULL;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img;
	size_t len;

	if (size < 1 || size > (1u << 16))
		return 0;
	if (data[0] & 1) {
		int which = (data[0] >> 1) & 1;
		size_t n = size - 1;
		if (!seed[which])
			return 0;
		len = seed_len[which];
		if (n > len)
			n = len;
		img = malloc(len);
		if (!img)
			return 0;
		memcpy(img, seed[which], len);
		memcpy(img + len - n, data + 1, n);
		measure_image(img, len);
		/* and truncated, the way a short read would leave it */
		measure_image(img + (data[size - 1] % 64), len - (data[size - 1] % 64));
	} else {
		size_t n = size - 1;
		len = (n + MEASURE_PAGE_SIZE - 1) / MEASURE_PAGE_SIZE * MEASURE_PAGE_SIZE;
		if (len == 0)
			len = MEASURE_PAGE_SIZE;
		img = calloc(1, len);
		if (!img)
			return 0;
		memcpy(img + len - n, data + 1, n);
		measure_image(img, len);
	}
	free(img);
	return 0;
}
