/* SPDX-License-Identifier: Apache-2.0 */
/* The guest image: the manifest written by guest-image/recipe and the boot
 * components it names. */
#pragma once

#include <stdint.h>

#include "digest.h"
#include "err.h"

typedef struct image_file {
	char *path; /* absolute */
	uint8_t sha256[SHA256_LEN];
	uint64_t size;
} image_file;

typedef struct image {
	char *dir;
	char *manifest_path;
	uint8_t manifest_sha256[SHA256_LEN];
	image_file kernel;     /* bzImage, for firmware (OVMF) boot */
	image_file kernel_pvh; /* uncompressed PVH ELF, for fast direct boot under TCG */
	image_file initrd;
	image_file rootfs;
	char *verity_roothash;
	char *cmdline;
	char *kernel_version;
} image;

/* Loads DIR/manifest.json (or a manifest path), checks the files exist with
 * the recorded sizes, and that kernel, PVH kernel and initrd hash to the
 * recorded SHA-256 (the root filesystem is protected by dm-verity in the guest). */
int image_load(const char *dir_or_manifest, image **ret, sb_err **err);
void image_free(image *img);
void image_freep(image **img);
#define _cleanup_image_ _cleanup_(image_freep)
