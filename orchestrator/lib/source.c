/* SPDX-License-Identifier: Apache-2.0 */
#include "source.h"

#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hexutil.h"

extern char **environ;

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
	posix_spawnattr_t attr;
	sigset_t none;
	pid_t pid;
	int status, r;

	/* tar must not inherit the caller's blocked SIGINT/SIGTERM (a signalfd). */
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	r = posix_spawnp(&pid, "tar", NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return sb_err_sys(err, r, "packing %s with tar", dir);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return sb_err_sys(err, errno, "waiting for tar");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return sb_err_set(err, EIO, "packing %s with tar failed (status %d)", dir, status);
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
