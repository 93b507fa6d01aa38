/* SPDX-License-Identifier: Apache-2.0 */
#include "source.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hexutil.h"
#include "proc.h"

void source_free(source *s)
{
	if (!s)
		return;
	if (s->temporary && s->archive)
		unlink(s->archive);
	free(s->archive);
	free(s);
}

static int pack_dir(const char *dir, const char *out, sb_err **err)
{
	char *const argv[] = { "tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
			       "--format=gnu", "-C", (char *)dir, "-cf", (char *)out, ".", NULL };

	return proc_run(argv, err) < 0 ? sb_err_wrap(err, "packing %s", dir) : 0;
}

static __thread const char *special_found;
static __thread char special_path[4096];

static int find_special(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_NS || flag == FTW_DNR) {
		snprintf(special_path, sizeof(special_path), "%s", path);
		special_found = "cannot be read";
		return 1;
	}
	if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) || S_ISLNK(st->st_mode))
		return 0;
	snprintf(special_path, sizeof(special_path), "%s", path);
	special_found = S_ISFIFO(st->st_mode) ? "a FIFO" : S_ISSOCK(st->st_mode) ? "a socket" : "a device node";
	return 1;
}

int source_check_dir(const job *j, const char *display, sb_err **err)
{
	special_found = NULL;
	if (nftw(j->source_resolved, find_special, 32, FTW_PHYS) < 0)
		return sb_err_sys(err, errno, "%s", j->source_resolved);
	if (special_found)
		return sb_err_set(err, EBADMSG, "%s: source.path: %s is %s (a source holds files, folders and symlinks)",
				  display, special_path, special_found);
	return 0;
}

int source_prepare(const job *j, const char *display, const char *work_dir, source **ret, sb_err **err)
{
	source *s = calloc(1, sizeof(*s));
	struct stat st;
	int r;

	if (!s)
		return sb_err_set(err, ENOMEM, "out of memory");
	if (j->source_is_dir) {
		s->temporary = true;
		if (asprintf(&s->archive, "%s/source.tar", work_dir) < 0) {
			s->archive = NULL;
			r = sb_err_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		if ((r = pack_dir(j->source_resolved, s->archive, err)) < 0)
			goto fail;
	} else {
		s->archive = strdup(j->source_resolved);
		if (!s->archive) {
			r = sb_err_set(err, ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (stat(s->archive, &st) < 0) {
		r = sb_err_sys(err, errno, "%s", s->archive);
		goto fail;
	}
	s->size = (uint64_t)st.st_size;
	if ((r = digest_sha256_file(s->archive, s->sha256, err)) < 0)
		goto fail;
	if (j->source_sha256_pinned && memcmp(j->source_sha256, s->sha256, SHA256_LEN)) {
		char got[SHA256_HEX_LEN];
		hex_encode(s->sha256, SHA256_LEN, got);
		r = sb_err_set(err, EBADMSG, "%s: source.sha256: %s has sha256 %s, not the pinned value", display,
			       j->source_path, got);
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	source_free(s);
	return r;
}
