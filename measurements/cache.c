/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Launch digests keyed by the digests of their inputs, so a daemon measures
 * each image x VM shape once. Optionally mirrored to a JSON file:
 *   {"type": "snpbuild-measure-cache", "version": 1, "entries": {ID: record}}
 * where ID is measure_key_id() of the record's inputs (checked on load).
 * Whoever can write that file chooses the reference values: keep it where
 * only the daemon writes.
 */
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "digest.h"
#include "hexutil.h"
#include "internal.h"

#define CACHE_TYPE "snpbuild-measure-cache"
#define KEY_ID_LEN (2 * MEASURE_SHA256_LEN + 1)

struct cache_entry {
	char id[KEY_ID_LEN];
	struct measure_result result;
};

struct measure_cache {
	pthread_mutex_t lock;
	char *path; /* NULL: memory only */
	struct cache_entry *entries;
	size_t n, cap;
};

void measure_key_id(const struct measure_key *k, char out[KEY_ID_LEN])
{
	char ovmf[65], fwld[97], kern[65], initrd[65], cmd[65];
	_cleanup_free_ char *text = NULL;
	uint8_t h[MEASURE_SHA256_LEN];
	int n;

	hex_encode(k->ovmf_sha256, 32, ovmf);
	hex_encode(k->firmware_ld, 48, fwld);
	hex_encode(k->kernel_sha256, 32, kern);
	hex_encode(k->initrd_sha256, 32, initrd);
	hex_encode(k->cmdline_sha256, 32, cmd);
	n = asprintf(&text,
		     "snpbuild-measure-key-v1\nvmm=QEMU\novmf=%s\novmf_ld=%s\nkernel=%s\ninitrd=%s\ncmdline=%s\n"
		     "vcpus=%u\nvcpu_sig=%u\nguest_features=%llu\n",
		     ovmf, k->has_firmware_ld ? fwld : "-", k->has_kernel ? kern : "-", k->has_kernel ? initrd : "-",
		     k->has_kernel ? cmd : "-", k->vcpus, k->vcpu_sig, (unsigned long long)k->guest_features);
	if (n < 0) {
		/* Out of memory: an ID no entry has, so the lookup misses and the digest is recomputed. */
		memset(out, 'x', KEY_ID_LEN - 1);
		out[KEY_ID_LEN - 1] = '\0';
		return;
	}
	digest_sha256(text, (size_t)n, h);
	hex_encode(h, sizeof(h), out);
}

static struct cache_entry *find(measure_cache_t *c, const char *id)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->entries[i].id, id))
			return &c->entries[i];
	return NULL;
}

static int insert(measure_cache_t *c, const char *id, const struct measure_result *r)
{
	struct cache_entry *e = find(c, id);
	if (!e) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 16;
			struct cache_entry *ne = realloc(c->entries, cap * sizeof(*ne));
			if (!ne)
				return -ENOMEM;
			c->entries = ne;
			c->cap = cap;
		}
		e = &c->entries[c->n++];
		memcpy(e->id, id, KEY_ID_LEN);
	}
	e->result = *r;
	return 0;
}

static int load(measure_cache_t *c, sb_err **err)
{
	json_error_t jerr;
	json_t *root, *entries, *rec;
	const char *id;
	int r = 0;

	root = json_load_file(c->path, 0, &jerr);
	if (!root) {
		if (access(c->path, F_OK) < 0 && errno == ENOENT)
			return 0;
		return sb_err_set(err, EINVAL, "%s: line %d: %s", c->path, jerr.line, jerr.text);
	}
	entries = json_object_get(root, "entries");
	if (strcmp(json_string_value(json_object_get(root, "type")) ?: "", CACHE_TYPE) ||
	    json_integer_value(json_object_get(root, "version")) != 1 || !json_is_object(entries)) {
		json_decref(root);
		return sb_err_set(err, EINVAL, "%s: not a version 1 %s file", c->path, CACHE_TYPE);
	}
	json_object_foreach(entries, id, rec) {
		struct measure_result res;
		char want[KEY_ID_LEN];

		r = measure_record_parse(rec, &res, err);
		if (r < 0) {
			sb_err_wrap(err, "%s: entries.%s", c->path, id);
			break;
		}
		measure_key_id(&res.key, want);
		if (strcmp(want, id)) {
			r = sb_err_set(err, EINVAL, "%s: entries.%s: the record's inputs have ID %s", c->path, id, want);
			break;
		}
		if (insert(c, id, &res) < 0) {
			r = sb_err_set(err, ENOMEM, "out of memory");
			break;
		}
	}
	json_decref(root);
	return r;
}

/* Rewrites the whole file: write a temporary beside it, then rename over. */
static int save(measure_cache_t *c, sb_err **err)
{
	json_t *root = json_object(), *entries = json_object();
	_cleanup_free_ char *tmp = NULL;
	int fd, r = 0;

	if (!root || !entries || asprintf(&tmp, "%s.XXXXXX", c->path) < 0) {
		json_decref(root);
		json_decref(entries);
		return sb_err_set(err, ENOMEM, "out of memory");
	}
	json_object_set_new(root, "type", json_string(CACHE_TYPE));
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "entries", entries);
	for (size_t i = 0; i < c->n && r == 0; i++) {
		json_t *rec = NULL;
		r = measure_record_json(&c->entries[i].result, NULL, NULL, &rec, err);
		if (r == 0)
			json_object_set_new(entries, c->entries[i].id, rec);
	}
	if (r < 0) {
		json_decref(root);
		return r;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		json_decref(root);
		return sb_err_sys(err, errno, "%s", tmp);
	}
	if (json_dumpfd(root, fd, JSON_INDENT(1) | JSON_SORT_KEYS) < 0 || fsync(fd) < 0)
		r = sb_err_sys(err, errno ? errno : EIO, "%s: write", tmp);
	if (close(fd) < 0 && r == 0)
		r = sb_err_sys(err, errno, "%s: close", tmp);
	json_decref(root);
	if (r == 0 && rename(tmp, c->path) < 0)
		r = sb_err_sys(err, errno, "%s: rename to %s", tmp, c->path);
	if (r < 0)
		unlink(tmp);
	return r;
}

void measure_cache_free(measure_cache_t *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->entries);
	free(c->path);
	free(c);
}

int measure_cache_new(const char *path, measure_cache_t **ret, sb_err **err)
{
	_cleanup_(measure_cache_freep) measure_cache_t *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return sb_err_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	if (path) {
		c->path = strdup(path);
		if (!c->path)
			return sb_err_set(err, ENOMEM, "out of memory");
		r = load(c, err);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(c);
	return 0;
}

size_t measure_cache_size(const measure_cache_t *c)
{
	return c->n;
}

int measure_cache_lookup(measure_cache_t *c, const struct measure_key *key, struct measure_result *ret)
{
	char id[KEY_ID_LEN];
	struct cache_entry *e;
	int found = 0;

	measure_key_id(key, id);
	pthread_mutex_lock(&c->lock);
	e = find(c, id);
	if (e) {
		*ret = e->result;
		found = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

int measure_cache_store(measure_cache_t *c, const struct measure_result *r, sb_err **err)
{
	char id[KEY_ID_LEN];
	int e = 0;

	measure_key_id(&r->key, id);
	pthread_mutex_lock(&c->lock);
	if (insert(c, id, r) < 0)
		e = sb_err_set(err, ENOMEM, "out of memory");
	else if (c->path)
		e = save(c, err);
	pthread_mutex_unlock(&c->lock);
	return e;
}

int measure_cache_measure(measure_cache_t *c, const struct measure_input *in, struct measure_result *ret,
			  sb_err **err)
{
	_cleanup_(measure_prepared_freep) measure_prepared_t *p = NULL;
	struct measure_result res;
	int r;

	/* Preparing hashes the inputs (the key); only the page chain is saved on a hit. */
	r = measure_prepare(in, &p, err);
	if (r < 0)
		return r;
	if (measure_cache_lookup(c, measure_prepared_key(p), ret))
		return 1;
	r = measure_compute(p, &res, err);
	if (r < 0)
		return r;
	r = measure_cache_store(c, &res, err);
	if (r < 0)
		return sb_err_wrap(err, "measurement cache");
	*ret = res;
	return 0;
}
