/* SPDX-License-Identifier: Apache-2.0 */
#include "image.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hexutil.h"

static void file_clear(image_file *f)
{
	free(f->path);
	f->path = NULL;
}

void image_free(image *img)
{
	if (!img)
		return;
	free(img->dir);
	free(img->manifest_path);
	file_clear(&img->kernel);
	file_clear(&img->kernel_pvh);
	file_clear(&img->initrd);
	file_clear(&img->rootfs);
	free(img->verity_roothash);
	free(img->cmdline);
	free(img->kernel_version);
	free(img);
}

void image_freep(image **img)
{
	image_free(*img);
	*img = NULL;
}

static int load_file(const char *mpath, const char *dir, json_t *root, const char *key, bool check_digest,
		     image_file *f, sb_err **err)
{
	json_t *o = json_object_get(root, key);
	const char *path, *sha;
	json_int_t size;
	struct stat st;
	uint8_t got[SHA256_LEN];
	int r;

	if (json_unpack(o, "{s:s, s:s, s:I}", "path", &path, "sha256", &sha, "size", &size) < 0)
		return sb_err_set(err, EINVAL, "%s: %s: must be an object with path, sha256 and size", mpath, key);
	if (strchr(path, '/') || !strcmp(path, "..") || !strcmp(path, "."))
		return sb_err_set(err, EINVAL, "%s: %s.path: must be a file name inside the image folder", mpath, key);
	if (hex_decode(sha, f->sha256, SHA256_LEN) < 0)
		return sb_err_set(err, EINVAL, "%s: %s.sha256: must be 64 hex digits", mpath, key);
	if (asprintf(&f->path, "%s/%s", dir, path) < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	if (stat(f->path, &st) < 0)
		return sb_err_sys(err, errno, "%s: %s", mpath, f->path);
	if ((json_int_t)st.st_size != size)
		return sb_err_set(err, EINVAL, "%s: %s: size %lld, manifest says %lld (rebuild the guest image)", mpath,
				  f->path, (long long)st.st_size, (long long)size);
	f->size = (uint64_t)size;
	if (!check_digest)
		return 0;
	if ((r = digest_sha256_file(f->path, got, err)) < 0)
		return r;
	if (memcmp(got, f->sha256, SHA256_LEN)) {
		char hex[SHA256_HEX_LEN];
		hex_encode(got, SHA256_LEN, hex);
		return sb_err_set(err, EINVAL, "%s: %s: sha256 %s differs from the manifest (rebuild the guest image)",
				  mpath, f->path, hex);
	}
	return 0;
}

int image_load(const char *dir_or_manifest, image **ret, sb_err **err)
{
	_cleanup_image_ image *img = calloc(1, sizeof(*img));
	struct stat st;
	json_error_t jerr;
	json_t *root = NULL;
	const char *cmdline, *kver = NULL, *roothash = NULL;
	int r;

	if (!img)
		return sb_err_set(err, ENOMEM, "out of memory");
	if (stat(dir_or_manifest, &st) < 0)
		return sb_err_sys(err, errno, "guest image %s", dir_or_manifest);
	if (S_ISDIR(st.st_mode)) {
		img->dir = realpath(dir_or_manifest, NULL);
		if (img->dir && asprintf(&img->manifest_path, "%s/manifest.json", img->dir) < 0)
			img->manifest_path = NULL;
	} else {
		img->manifest_path = realpath(dir_or_manifest, NULL);
		img->dir = img->manifest_path ? strdup(img->manifest_path) : NULL;
		if (img->dir)
			*strrchr(img->dir, '/') = '\0';
	}
	if (!img->dir || !img->manifest_path)
		return sb_err_sys(err, errno ? errno : ENOMEM, "guest image %s", dir_or_manifest);
	if ((r = digest_sha256_file(img->manifest_path, img->manifest_sha256, err)) < 0)
		return sb_err_wrap(err, "guest image (build it with: meson compile -C build guest-image)");

	root = json_load_file(img->manifest_path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return sb_err_set(err, EINVAL, "%s: %s (line %d)", img->manifest_path, jerr.text, jerr.line);
	if (json_unpack(root, "{s:s, s?s}", "cmdline", &cmdline, "kernel_version", &kver) < 0) {
		r = sb_err_set(err, EINVAL, "%s: cmdline: must be a string", img->manifest_path);
		goto out;
	}
	json_unpack(json_object_get(root, "rootfs"), "{s?s}", "verity_roothash", &roothash);
	img->cmdline = strdup(cmdline);
	img->kernel_version = kver ? strdup(kver) : NULL;
	img->verity_roothash = roothash ? strdup(roothash) : NULL;
	if ((r = load_file(img->manifest_path, img->dir, root, "kernel", true, &img->kernel, err)) < 0 ||
	    (r = load_file(img->manifest_path, img->dir, root, "kernel_pvh", true, &img->kernel_pvh, err)) < 0 ||
	    (r = load_file(img->manifest_path, img->dir, root, "initrd", true, &img->initrd, err)) < 0 ||
	    (r = load_file(img->manifest_path, img->dir, root, "rootfs", false, &img->rootfs, err)) < 0)
		goto out;
	if (!img->verity_roothash) {
		r = sb_err_set(err, EINVAL, "%s: rootfs.verity_roothash: missing", img->manifest_path);
		goto out;
	}
	*ret = TAKE_PTR(img);
	r = 0;
out:
	json_decref(root);
	return r;
}
