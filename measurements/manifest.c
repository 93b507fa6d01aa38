/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest image manifest, read for measuring (`snpbuild measure --image`).
 * Read tolerantly, ignoring members it does not know:
 *   "ovmf" (or "firmware"): {"path": P, "sha256": H} or "P"   - path required
 *   "kernel": {"path": P, "sha256": H} or "P"                  - path or sha256
 *   "initrd": same, optional
 *   "cmdline" (or "append"): string, optional
 * Relative paths are relative to the manifest's folder. When both a path
 * and a sha256 are given, the file must hash to it.
 */
#include <jansson.h>
#include <libgen.h>
#include <string.h>

#include "digest.h"
#include "hexutil.h"
#include "internal.h"

struct measure_manifest {
	char *ovmf, *kernel, *initrd, *cmdline;
};

void measure_manifest_free(measure_manifest_t *m)
{
	if (!m)
		return;
	free(m->ovmf);
	free(m->kernel);
	free(m->initrd);
	free(m->cmdline);
	free(m);
}

static json_t *member(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	return v || !b ? v : json_object_get(o, b);
}

/* One file entry: fills *ret_path (resolved against dir) and/or the blob's sha256. */
static int file_entry(const char *mpath, const char *dir, const char *name, json_t *v, char **ret_path,
		      struct measure_blob *blob, sb_err **err)
{
	const char *path = NULL, *sha = NULL;

	if (json_is_string(v)) {
		path = json_string_value(v);
	} else if (json_is_object(v)) {
		json_t *p = json_object_get(v, "path"), *h = json_object_get(v, "sha256");
		if (p && !json_is_string(p))
			return sb_err_set(err, EINVAL, "%s: %s.path: must be a string", mpath, name);
		if (h && !json_is_string(h))
			return sb_err_set(err, EINVAL, "%s: %s.sha256: must be a string", mpath, name);
		path = json_string_value(p);
		sha = json_string_value(h);
	} else {
		return sb_err_set(err, EINVAL, "%s: %s: must be an object with path/sha256 or a path", mpath, name);
	}
	if (path && !*path)
		return sb_err_set(err, EINVAL, "%s: %s.path: empty", mpath, name);
	if (!path && !sha)
		return sb_err_set(err, EINVAL, "%s: %s: needs a path or a sha256", mpath, name);
	if (sha) {
		if (hex_decode(sha, blob->sha256, MEASURE_SHA256_LEN) < 0)
			return sb_err_set(err, EINVAL, "%s: %s.sha256: must be 64 hex digits", mpath, name);
		blob->has_sha256 = true;
	}
	if (path) {
		int n = path[0] == '/' ? asprintf(ret_path, "%s", path) : asprintf(ret_path, "%s/%s", dir, path);
		if (n < 0)
			return sb_err_set(err, ENOMEM, "out of memory");
		blob->path = *ret_path;
	}
	return 0;
}

int measure_manifest_load(const char *path, struct measure_input *in, measure_manifest_t **ret_owner, sb_err **err)
{
	_cleanup_(measure_manifest_freep) measure_manifest_t *m = calloc(1, sizeof(*m));
	_cleanup_free_ char *dircopy = strdup(path);
	struct measure_blob fw = { 0 }, kernel = { 0 }, initrd = { 0 };
	json_error_t jerr;
	json_t *root, *v;
	const char *dir;
	int r = 0;

	if (!m || !dircopy)
		return sb_err_set(err, ENOMEM, "out of memory");
	dir = dirname(dircopy);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return sb_err_set(err, EINVAL, "%s: line %d: %s", path, jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return sb_err_set(err, EINVAL, "%s: must be a JSON object", path);
	}

	/* The firmware comes from the manifest, or from the caller when the image
	 * ships none (snpbuild's own guest image: hosts supply the AmdSev OVMF). */
	v = member(root, "ovmf", "firmware");
	if (v && in->ovmf_path)
		r = sb_err_set(err, EINVAL, "%s: ovmf: the manifest names a firmware; do not give another", path);
	else if (!v && !in->ovmf_path)
		r = sb_err_set(err, EINVAL, "%s: ovmf: missing (give the firmware, e.g. --ovmf)", path);
	if (r == 0 && v)
		r = file_entry(path, dir, "ovmf", v, &m->ovmf, &fw, err);
	if (r == 0 && v && !m->ovmf)
		r = sb_err_set(err, EINVAL, "%s: ovmf.path: missing (the firmware is needed for its metadata)", path);
	if (r == 0 && (v = json_object_get(root, "kernel")))
		r = file_entry(path, dir, "kernel", v, &m->kernel, &kernel, err);
	if (r == 0 && (v = json_object_get(root, "initrd")))
		r = file_entry(path, dir, "initrd", v, &m->initrd, &initrd, err);
	if (r == 0 && (v = member(root, "cmdline", "append"))) {
		if (!json_is_string(v))
			r = sb_err_set(err, EINVAL, "%s: cmdline: must be a string", path);
		else if (!(m->cmdline = strdup(json_string_value(v))))
			r = sb_err_set(err, ENOMEM, "out of memory");
	}
	json_decref(root);
	if (r < 0)
		return r;
	if (fw.has_sha256) {
		uint8_t h[MEASURE_SHA256_LEN];
		r = digest_sha256_file(m->ovmf, h, err);
		if (r < 0)
			return sb_err_wrap(err, "%s: ovmf", path);
		if (memcmp(h, fw.sha256, sizeof(h)))
			return sb_err_set(err, EINVAL, "%s: ovmf %s: SHA-256 differs from the manifest's", path, m->ovmf);
	}
	if (m->ovmf) {
		in->ovmf_path = m->ovmf;
		in->ovmf_data = NULL;
	}
	in->kernel = kernel;
	in->initrd = initrd;
	in->cmdline = m->cmdline;
	*ret_owner = TAKE_PTR(m);
	return 0;
}
