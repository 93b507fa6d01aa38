/* SPDX-License-Identifier: Apache-2.0 */
#include "store.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hexutil.h"
#include "proc.h"
#include "wire.h"

struct store {
	char *dir;
	int dirfd;
	int logfd;
	char **patterns; /* last components of the declared paths */
	size_t n_patterns;
	uint64_t max_artifact, max_log, log_bytes;
	bool log_truncated;
	/* the artifact being received */
	int afd;
	char *aname, *atmp;
	uint64_t asize, agot;
	bool aexec;
	EVP_MD_CTX *actx;
	store_artifact *arts;
	size_t n_arts;
};

const char *store_dir(const store *s)
{
	return s->dir;
}

void store_set_limits(store *s, uint64_t max_artifact_bytes, uint64_t max_log_bytes)
{
	s->max_artifact = max_artifact_bytes;
	s->max_log = max_log_bytes;
}

static int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int store_open(const char *root, const char *job_id, char *const *patterns, size_t n_patterns, store **ret,
	       sb_err **err)
{
	store *s;
	int r;

	if (!wire_name_valid(job_id, strlen(job_id)))
		return sb_err_set(err, EINVAL, "job id '%s' is not a valid folder name", job_id);
	if ((r = mkdir_p(root, 0755)) < 0)
		return sb_err_sys(err, -r, "output folder %s", root);
	s = calloc(1, sizeof(*s));
	if (!s)
		return sb_err_set(err, ENOMEM, "out of memory");
	s->dirfd = s->logfd = s->afd = -1;
	s->max_artifact = STORE_DEFAULT_MAX_ARTIFACT_BYTES;
	s->max_log = STORE_DEFAULT_MAX_LOG_BYTES;
	/* Absolute: these paths go into domain XML, which libvirtd resolves
	 * against its own folder. */
	_cleanup_free_ char *abs_root = realpath(root, NULL);
	if (!abs_root) {
		r = sb_err_sys(err, errno, "output folder %s", root);
		store_free(s);
		return r;
	}
	if (asprintf(&s->dir, "%s/%s", abs_root, job_id) < 0) {
		s->dir = NULL;
		store_free(s);
		return sb_err_set(err, ENOMEM, "out of memory");
	}
	if (mkdir(s->dir, 0755) < 0) {
		r = sb_err_sys(err, errno, "output folder %s", s->dir);
		free(s->dir);
		s->dir = NULL; /* not ours: do not touch it */
		store_free(s);
		return r;
	}
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd >= 0)
		s->logfd = openat(s->dirfd, "log.txt", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s->dirfd < 0 || s->logfd < 0) {
		r = sb_err_sys(err, errno, "%s", s->dir);
		store_free(s);
		return r;
	}
	s->patterns = calloc(n_patterns ? n_patterns : 1, sizeof(char *));
	if (!s->patterns) {
		store_free(s);
		return sb_err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n_patterns; i++) {
		const char *slash = strrchr(patterns[i], '/');
		s->patterns[i] = strdup(slash ? slash + 1 : patterns[i]);
		s->n_patterns++;
		if (!s->patterns[i]) {
			store_free(s);
			return sb_err_set(err, ENOMEM, "out of memory");
		}
	}
	*ret = s;
	return 0;
}

void store_artifact_abort(store *s)
{
	if (s->afd >= 0) {
		close(s->afd);
		s->afd = -1;
	}
	if (s->atmp) {
		unlinkat(s->dirfd, s->atmp, 0);
		free(s->atmp);
		s->atmp = NULL;
	}
	free(s->aname);
	s->aname = NULL;
	EVP_MD_CTX_free(s->actx);
	s->actx = NULL;
}

bool store_artifact_open(const store *s)
{
	return s->aname != NULL;
}

void store_free(store *s)
{
	if (!s)
		return;
	store_artifact_abort(s);
	if (s->logfd >= 0)
		close(s->logfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	for (size_t i = 0; i < s->n_patterns; i++)
		free(s->patterns[i]);
	free(s->patterns);
	for (size_t i = 0; i < s->n_arts; i++)
		free(s->arts[i].name);
	free(s->arts);
	free(s->dir);
	free(s);
}

bool store_log_truncated(const store *s)
{
	return s->log_truncated;
}

int store_log(store *s, const void *buf, size_t len, sb_err **err)
{
	int r;

	if (s->log_truncated)
		return 0;
	if (s->log_bytes + len > s->max_log) {
		static const char note[] = "\n[snpbuild: log truncated: the build wrote more than the log limit]\n";
		s->log_truncated = true;
		proc_write_all(s->logfd, note, sizeof(note) - 1);
		return 0;
	}
	if ((r = proc_write_all(s->logfd, buf, len)) < 0)
		return sb_err_sys(err, -r, "%s/log.txt", s->dir);
	s->log_bytes += len;
	return 0;
}

static bool declared(const store *s, const char *name)
{
	for (size_t i = 0; i < s->n_patterns; i++)
		if (fnmatch(s->patterns[i], name, FNM_PERIOD) == 0)
			return true;
	return false;
}

int store_artifact_begin(store *s, const char *name, uint64_t size, bool executable, sb_err **err)
{
	if (s->aname)
		return sb_err_set(err, EPROTO, "artifact '%s' started before '%s' ended", name, s->aname);
	if (!wire_name_valid(name, strlen(name)))
		return sb_err_set(err, EPROTO, "artifact name '%s' is not a single safe path component", name);
	if (wire_artifact_name_reserved(name))
		return sb_err_set(err, EPROTO, "artifact name '%s' is reserved for snpbuild's own files", name);
	if (!declared(s, name))
		return sb_err_set(err, EPROTO, "artifact '%s' matches none of the job's declared artifacts", name);
	for (size_t i = 0; i < s->n_arts; i++)
		if (!strcmp(s->arts[i].name, name))
			return sb_err_set(err, EPROTO, "artifact '%s' sent twice", name);
	if (s->n_arts >= STORE_MAX_ARTIFACTS)
		return sb_err_set(err, EPROTO, "more than %d artifacts", STORE_MAX_ARTIFACTS);
	if (size > s->max_artifact)
		return sb_err_set(err, EFBIG, "artifact '%s': %llu bytes exceeds the limit of %llu", name,
				  (unsigned long long)size, (unsigned long long)s->max_artifact);

	s->aname = strdup(name);
	/* Numbered, not named: a 255-byte artifact name plus a suffix would not fit. */
	if (!s->aname || asprintf(&s->atmp, ".artifact-%zu.partial", s->n_arts) < 0) {
		s->atmp = NULL;
		store_artifact_abort(s);
		return sb_err_set(err, ENOMEM, "out of memory");
	}
	s->afd = openat(s->dirfd, s->atmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		       executable ? 0755 : 0644);
	if (s->afd < 0) {
		int r = sb_err_sys(err, errno, "%s/%s", s->dir, s->atmp);
		free(s->atmp);
		s->atmp = NULL; /* not ours */
		store_artifact_abort(s);
		return r;
	}
	s->actx = EVP_MD_CTX_new();
	if (!s->actx || !EVP_DigestInit_ex(s->actx, EVP_sha256(), NULL)) {
		store_artifact_abort(s);
		return sb_err_set(err, ENOMEM, "SHA-256");
	}
	s->asize = size;
	s->agot = 0;
	s->aexec = executable;
	return 0;
}

int store_artifact_data(store *s, const void *buf, size_t len, sb_err **err)
{
	int r;

	if (!s->aname)
		return sb_err_set(err, EPROTO, "artifact data outside an artifact");
	if (len > s->asize - s->agot)
		return sb_err_set(err, EPROTO, "artifact '%s': more data than the announced %llu bytes", s->aname,
				  (unsigned long long)s->asize);
	if ((r = proc_write_all(s->afd, buf, len)) < 0)
		return sb_err_sys(err, -r, "%s/%s", s->dir, s->atmp);
	EVP_DigestUpdate(s->actx, buf, len);
	s->agot += len;
	return 0;
}

int store_artifact_end(store *s, const uint8_t guest_sha256[SHA256_LEN], sb_err **err)
{
	uint8_t md[SHA256_LEN];
	unsigned int n = SHA256_LEN;
	store_artifact *na;

	if (!s->aname)
		return sb_err_set(err, EPROTO, "artifact end outside an artifact");
	if (s->agot != s->asize)
		return sb_err_set(err, EPROTO, "artifact '%s': %llu of the announced %llu bytes arrived", s->aname,
				  (unsigned long long)s->agot, (unsigned long long)s->asize);
	EVP_DigestFinal_ex(s->actx, md, &n);
	if (memcmp(md, guest_sha256, SHA256_LEN)) {
		char h[SHA256_HEX_LEN], g[SHA256_HEX_LEN];
		hex_encode(md, SHA256_LEN, h);
		hex_encode(guest_sha256, SHA256_LEN, g);
		return sb_err_set(err, EBADMSG, "artifact '%s': host computed sha256 %s, guest reported %s", s->aname,
				  h, g);
	}
	if (fsync(s->afd) < 0)
		return sb_err_sys(err, errno, "%s/%s", s->dir, s->atmp);
	close(s->afd);
	s->afd = -1;
	if (renameat2(s->dirfd, s->atmp, s->dirfd, s->aname, RENAME_NOREPLACE) < 0)
		return sb_err_sys(err, errno, "%s/%s", s->dir, s->aname);
	free(s->atmp);
	s->atmp = NULL;

	na = realloc(s->arts, (s->n_arts + 1) * sizeof(*na));
	if (!na)
		return sb_err_set(err, ENOMEM, "out of memory");
	s->arts = na;
	s->arts[s->n_arts] = (store_artifact){ .name = TAKE_PTR(s->aname), .size = s->asize, .executable = s->aexec };
	memcpy(s->arts[s->n_arts].sha256, md, SHA256_LEN);
	memcpy(s->arts[s->n_arts].guest_sha256, guest_sha256, SHA256_LEN);
	s->n_arts++;
	EVP_MD_CTX_free(s->actx);
	s->actx = NULL;
	return 0;
}

size_t store_n_artifacts(const store *s)
{
	return s->n_arts;
}

const store_artifact *store_artifact_at(const store *s, size_t i)
{
	return i < s->n_arts ? &s->arts[i] : NULL;
}

static int write_file_at(int dirfd, const char *shown, const char *name, const void *buf, size_t len, sb_err **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (!wire_name_valid(name, strlen(name)) || asprintf(&tmp, ".%s.tmp", name) < 0)
		return sb_err_set(err, EINVAL, "output file name '%s'", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return sb_err_sys(err, errno, "%s/%s", shown, tmp);
	if ((r = proc_write_all(fd, buf, len)) < 0 || fsync(fd) < 0) {
		unlinkat(dirfd, tmp, 0);
		return sb_err_sys(err, r < 0 ? -r : errno, "%s/%s", shown, tmp);
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = sb_err_sys(err, errno, "%s/%s", shown, name);
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return 0;
}

int store_write_file(store *s, const char *name, const void *buf, size_t len, sb_err **err)
{
	return write_file_at(s->dirfd, s->dir, name, buf, len, err);
}

int store_write_file_in(store *s, const char *subdir, const char *name, const void *buf, size_t len, sb_err **err)
{
	_cleanup_free_ char *shown = NULL;
	_cleanup_close_ int fd = -1;

	if (!wire_name_valid(subdir, strlen(subdir)) || asprintf(&shown, "%s/%s", s->dir, subdir) < 0)
		return sb_err_set(err, EINVAL, "output folder name '%s'", subdir);
	if (mkdirat(s->dirfd, subdir, 0755) < 0 && errno != EEXIST)
		return sb_err_sys(err, errno, "%s", shown);
	fd = openat(s->dirfd, subdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sb_err_sys(err, errno, "%s", shown);
	return write_file_at(fd, shown, name, buf, len, err);
}
