/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "hexutil.h"
#include "proc.h"

#define SOURCE_ARCHIVE AGENT_BUILD_DIR "/source.archive"
#define SOURCE_ROOT AGENT_BUILD_DIR "/src"

static void send_log(int chan, const char *fmt, ...) _printf_(2, 3);
static void send_log(int chan, const char *fmt, ...)
{
	char *m = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) >= 0)
		wire_send(chan, WIRE_LOG, m, strlen(m), NULL);
	va_end(ap);
	free(m);
}

int agent_send_result(int chan, const job *j, const char *status, const char *message, json_t *steps,
		      const uint8_t *source_sha256)
{
	json_t *o = json_object();
	char hex[SHA256_HEX_LEN];
	char *text;
	int r;

	json_object_set_new(o, "status", json_string(status));
	if (message)
		json_object_set_new(o, "message", json_string(message));
	if (j) {
		hex_encode(j->digest, SHA256_LEN, hex);
		json_object_set_new(o, "job_sha256", json_string(hex));
	} else {
		json_object_set_new(o, "job_sha256", json_string(""));
	}
	if (source_sha256) {
		hex_encode(source_sha256, SHA256_LEN, hex);
		json_object_set_new(o, "source_sha256", json_string(hex));
	}
	json_object_set(o, "steps", steps ? steps : json_array());
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	r = wire_send_str(chan, WIRE_RESULT, text, NULL);
	free(text);
	return r;
}

/* --- running things as the build user ------------------------------------- */

static void become_build_user(const char *dir)
{
	static const gid_t none[1] = { AGENT_BUILD_GID };
	if (setgroups(1, none) < 0 || setgid(AGENT_BUILD_GID) < 0 || setuid(AGENT_BUILD_UID) < 0 ||
	    getuid() != AGENT_BUILD_UID || geteuid() != AGENT_BUILD_UID) {
		perror("snpbuild-agent: dropping privileges");
		_exit(126);
	}
	if (chdir(dir) < 0) {
		perror(dir);
		_exit(126);
	}
}

static void build_env(const job *j)
{
	char n[16];
	clearenv();
	setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
	setenv("HOME", "/home/build", 1);
	setenv("USER", "build", 1);
	setenv("LOGNAME", "build", 1);
	setenv("SHELL", "/bin/sh", 1);
	setenv("LANG", "C.UTF-8", 1);
	setenv("TMPDIR", "/tmp", 1);
	setenv("SNPBUILD_JOB_NAME", j->name, 1);
	snprintf(n, sizeof(n), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	setenv("SNPBUILD_JOBS", n, 1);
}

/* How long a step's output is still read once its shell has exited: what is
 * already in the pipe, not what a process left behind keeps writing. */
#define DRAIN_MAX_BYTES (4u * 1024 * 1024)
#define DRAIN_MAX_S 2.0

/* 1 once the step's shell has exited: its session's processes are killed
 * while its pid (the session and group id) is still held by the zombie, then
 * it is reaped. 0 while it runs (block false). */
static int reap_step(pid_t pid, bool block, int *ret_status, sb_err **err)
{
	siginfo_t si = { 0 };

	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | (block ? 0 : WNOHANG)) < 0)
		if (errno != EINTR)
			return sb_err_sys(err, errno, "waitid");
	if (si.si_pid != pid)
		return 0;
	kill(-pid, SIGKILL);
	while (waitpid(pid, ret_status, 0) < 0)
		if (errno != EINTR)
			return sb_err_sys(err, errno, "waitpid");
	return 1;
}

/* Runs argv as the build user in dir, streaming its output as LOG frames.
 * The step ends when its shell (our child) exits, whoever else still holds
 * the pipe: what the shell started in its session is killed then, what
 * escaped the session (setsid) by kill_build_user().
 * Returns the exit status (0..255, 128+signal) or a negative errno. */
static int run_streamed(int chan, const job *j, const char *dir, char *const argv[], sb_err **err)
{
	int pfd[2];
	pid_t pid;
	char buf[16384];
	int status = 0, r = 0;
	bool exited = false;
	double drain_end = 0;
	size_t drained = 0;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return sb_err_sys(err, errno, "pipe");
	/* only our end: the step's stdout/stderr stay blocking */
	if (fcntl(pfd[0], F_SETFL, O_NONBLOCK) < 0) {
		r = sb_err_sys(err, errno, "pipe");
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	pid = fork();
	if (pid < 0) {
		r = sb_err_sys(err, errno, "fork");
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		setsid();
		dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		signal(SIGPIPE, SIG_DFL);
		build_env(j);
		become_build_user(dir);
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		ssize_t n;
		int pr;

		if (!exited) {
			if ((r = reap_step(pid, false, &status, err)) < 0)
				break;
			if (r > 0) {
				exited = true;
				drain_end = proc_now_s() + DRAIN_MAX_S;
				r = 0;
			}
		}
		if (exited && (drained >= DRAIN_MAX_BYTES || proc_now_s() >= drain_end))
			break;
		pr = poll(&p, 1, exited ? 0 : 100);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			r = sb_err_sys(err, errno, "poll");
			break;
		}
		if (pr == 0) {
			if (exited)
				break; /* nothing more is immediately readable */
			continue;
		}
		n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			if (exited)
				break;
			/* EOF before the shell exited: just wait for it */
			if ((r = reap_step(pid, true, &status, err)) < 0)
				break;
			exited = true;
			r = 0;
			break;
		}
		if (exited)
			drained += (size_t)n;
		if ((r = wire_send(chan, WIRE_LOG, buf, (size_t)n, err)) < 0)
			break;
	}
	close(pfd[0]);
	if (!exited) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (r < 0)
		return r;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Kills every process of the build user that /proc lists (any of its real,
 * effective, saved or filesystem uids); returns how many there were. */
static size_t kill_build_user_procs(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[64], line[256];
		unsigned int u[4];
		char *end;
		FILE *f;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/status", pid);
		if (!(f = fopen(path, "re")))
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Uid: %u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4) {
				if (u[0] == AGENT_BUILD_UID || u[1] == AGENT_BUILD_UID || u[2] == AGENT_BUILD_UID ||
				    u[3] == AGENT_BUILD_UID) {
					kill((pid_t)pid, SIGKILL);
					n++;
				}
				break;
			}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* After the build, nothing of the build user may keep running while we read
 * its files as root: one kill(-1) as that user (atomic against its forks),
 * then until /proc lists none of its processes, reaping what PID 1 inherited. */
static int kill_build_user(sb_err **err)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(AGENT_BUILD_GID) == 0 && setuid(AGENT_BUILD_UID) == 0)
			kill(-1, SIGKILL);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	for (int tries = 0; tries < 1000; tries++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (kill_build_user_procs() == 0)
			return 0;
		usleep(10 * 1000);
	}
	return sb_err_set(err, EBUSY, "processes of the build user (uid %d) survive SIGKILL", AGENT_BUILD_UID);
}

/* --- source --------------------------------------------------------------- */

static int receive_source(int chan, wire_reader *rd, uint8_t ret_sha[SHA256_LEN], sb_err **err)
{
	_cleanup_close_ int fd = open(SOURCE_ARCHIVE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t md[SHA256_LEN];
	unsigned int mdlen = SHA256_LEN;
	wire_frame f;
	int r;

	if (fd < 0 || !ctx) {
		EVP_MD_CTX_free(ctx);
		return sb_err_sys(err, errno, SOURCE_ARCHIVE);
	}
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (;;) {
		if ((r = agent_read_frame(chan, rd, &f, err)) < 0)
			break;
		if (f.type == WIRE_SOURCE_DATA) {
			if (write(fd, f.payload, f.len) != (ssize_t)f.len) {
				r = sb_err_sys(err, errno, SOURCE_ARCHIVE);
				break;
			}
			EVP_DigestUpdate(ctx, f.payload, f.len);
			continue;
		}
		if (f.type != WIRE_SOURCE_END || f.len != SHA256_LEN) {
			r = sb_err_set(err, EPROTO, "expected source data, got %s", wire_type_name(f.type));
			break;
		}
		EVP_DigestFinal_ex(ctx, md, &mdlen);
		if (memcmp(md, f.payload, SHA256_LEN)) {
			r = sb_err_set(err, EBADMSG, "the source received does not match the digest the host announced");
			break;
		}
		memcpy(ret_sha, md, SHA256_LEN);
		r = 0;
		break;
	}
	EVP_MD_CTX_free(ctx);
	return r;
}

/* Steps run in the tree's single top-level folder when there is exactly one
 * (as in release tarballs), else in the extraction root. */
static char *source_tree(void)
{
	DIR *d = opendir(SOURCE_ROOT);
	struct dirent *de;
	char *only = NULL;
	int count = 0;

	if (!d)
		return strdup(SOURCE_ROOT);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		count++;
		if (de->d_type == DT_DIR && !only && asprintf(&only, "%s/%s", SOURCE_ROOT, de->d_name) < 0)
			only = NULL;
	}
	closedir(d);
	if (count == 1 && only)
		return only;
	free(only);
	return strdup(SOURCE_ROOT);
}

/* --- artifacts ----------------------------------------------------------------- */

/* Streams one artifact; its SHA-256 (what the provenance names) to ret_md. */
static int send_file(int chan, const char *path, const char *name, uint8_t ret_md[SHA256_LEN], sb_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	uint8_t hdr[WIRE_MAX_NAME + 16];
	size_t hlen;
	_cleanup_free_ uint8_t *buf = malloc(WIRE_CHUNK);
	EVP_MD_CTX *ctx;
	uint8_t md[SHA256_LEN];
	unsigned int mdlen = SHA256_LEN;
	uint64_t left;
	int r = 0;

	if (fd < 0 || fstat(fd, &st) < 0 || !buf)
		return sb_err_sys(err, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return sb_err_set(err, EINVAL, "%s is not a regular file", path);
	if ((r = wire_artifact_begin_encode(hdr, sizeof(hdr), (uint64_t)st.st_size,
						   (st.st_mode & 0111) ? WIRE_ARTIFACT_EXECUTABLE : 0, name, &hlen, err)) < 0 ||
	    (r = wire_send(chan, WIRE_ARTIFACT_BEGIN, hdr, hlen, err)) < 0)
		return r;
	ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (left = (uint64_t)st.st_size; left > 0;) {
		ssize_t n = read(fd, buf, left < WIRE_CHUNK ? left : WIRE_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = sb_err_sys(err, n < 0 ? errno : EIO, "%s changed while being read", path);
			break;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		if ((r = wire_send(chan, WIRE_ARTIFACT_DATA, buf, (size_t)n, err)) < 0)
			break;
		left -= (uint64_t)n;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (r < 0)
		return r;
	memcpy(ret_md, md, SHA256_LEN);
	return wire_send(chan, WIRE_ARTIFACT_END, md, SHA256_LEN, err);
}

/* s with control characters, '\' and bytes past 200 made printable, for
 * messages about names the job chose; malloc'd. */
static char *escape_name(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(4 * (n < 200 ? n : 200) + 4);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n && i < 200; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\n' || ch == '\t' || ch == '\r' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = ch == '\n' ? 'n' : ch == '\t' ? 't' : ch == '\r' ? 'r' : '\\';
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)sprintf(out + o, "\\x%02x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	if (n > 200)
		o += (size_t)sprintf(out + o, "...");
	out[o] = '\0';
	return out;
}

/* Why name cannot cross the wire as an artifact name, or NULL. */
static const char *unsendable_why(const char *name)
{
	size_t n = strlen(name);

	if (wire_name_valid(name, n))
		return NULL;
	if (n > WIRE_MAX_NAME)
		return "it is longer than 255 bytes";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] == 0x7f)
			return "it contains a control character";
	if (strchr(name, '\\'))
		return "it contains a backslash";
	return "it is not a single path component";
}

static void set_msg(char **ret_msg, const char *fmt, ...) _printf_(2, 3);
static void set_msg(char **ret_msg, const char *fmt, ...)
{
	va_list ap;

	free(*ret_msg);
	va_start(ap, fmt);
	if (vasprintf(ret_msg, fmt, ap) < 0)
		*ret_msg = NULL;
	va_end(ap);
}

/* Resolves every match of every declared path, then sends them: a job whose
 * declaration is not met sends none. Returns 0, or 1 with *ret_msg set when
 * the declaration is not met (a build failure, not ours): nothing matches, a
 * match's name cannot be sent or is reserved, two files share a name, a
 * match resolves outside the tree. */
static int send_artifacts(int chan, const job *j, const char *tree, agent_subject *subs, size_t *ret_n_subs,
			  char **ret_msg, sb_err **err)
{
	_cleanup_free_ char *root = realpath(tree, NULL);
	char **sent = calloc(4096, sizeof(char *));
	size_t n_sent = 0;
	int r = 0;

	if (!root || !sent) {
		free(sent);
		return sb_err_sys(err, errno ? errno : ENOMEM, "%s", tree);
	}
	for (size_t i = 0; i < j->n_artifacts && r == 0; i++) {
		glob_t g = { 0 };
		char pat[PATH_MAX];
		size_t found = 0;
		bool is_glob = strpbrk(j->artifacts[i], "*?[") != NULL;
		_cleanup_free_ char *epat = escape_name(j->artifacts[i]);

		snprintf(pat, sizeof(pat), "%s/%s", root, j->artifacts[i]);
		if (glob(pat, 0, NULL, &g) != 0) {
			globfree(&g);
			set_msg(ret_msg, "artifacts[%zu]: '%s' matched no file", i, epat);
			r = 1;
			break;
		}
		for (size_t k = 0; k < g.gl_pathc && r == 0; k++) {
			struct stat st;
			const char *p = g.gl_pathv[k], *base = strrchr(p, '/') + 1;
			_cleanup_free_ char *real = NULL, *ebase = escape_name(base);
			const char *why;
			bool dup = false;

			if (lstat(p, &st) < 0 || S_ISLNK(st.st_mode)) {
				send_log(chan, "snpbuild-agent: artifacts[%zu]: skipping symlink %s\n", i, ebase);
				continue;
			}
			if (!S_ISREG(st.st_mode))
				continue;
			if ((why = unsendable_why(base))) {
				set_msg(ret_msg, "artifacts[%zu]: '%s' matched a file named '%s', which cannot be an artifact: %s",
					i, epat, ebase, why);
				r = 1;
				break;
			}
			if (wire_artifact_name_reserved(base)) {
				if (is_glob) {
					send_log(chan, "snpbuild-agent: artifacts[%zu]: skipping %s, a name snpbuild reserves for its own files\n",
						 i, ebase);
					continue;
				}
				set_msg(ret_msg, "artifacts[%zu]: '%s' is a name snpbuild reserves for its own files", i, epat);
				r = 1;
				break;
			}
			real = realpath(p, NULL);
			if (!real || strncmp(real, root, strlen(root)) || real[strlen(root)] != '/') {
				set_msg(ret_msg, "artifacts[%zu]: '%s' matched %s, which resolves outside the source tree", i,
					epat, ebase);
				r = 1;
				break;
			}
			for (size_t s = 0; s < n_sent && !r; s++) {
				if (!strcmp(sent[s], real))
					dup = true;
				else if (!strcmp(strrchr(sent[s], '/') + 1, base)) {
					set_msg(ret_msg, "artifacts: two different files are named '%s'", ebase);
					r = 1;
				}
			}
			if (r)
				break;
			if (dup) { /* matched by an earlier pattern: still a match of this one */
				found++;
				continue;
			}
			if (n_sent >= 4096) {
				set_msg(ret_msg, "artifacts: more than 4096 files");
				r = 1;
				break;
			}
			snprintf(subs[n_sent].name, sizeof(subs[n_sent].name), "%s", base);
			sent[n_sent++] = TAKE_PTR(real);
			found++;
		}
		globfree(&g);
		if (r == 0 && found == 0) {
			set_msg(ret_msg, "artifacts[%zu]: '%s' matched no regular file", i, epat);
			r = 1;
		}
	}
	for (size_t s = 0; s < n_sent && r == 0; s++)
		r = send_file(chan, sent[s], subs[s].name, subs[s].sha256, err);
	*ret_n_subs = r == 0 ? n_sent : 0;
	for (size_t s = 0; s < n_sent; s++)
		free(sent[s]);
	free(sent);
	return r;
}

/* --- the build ------------------------------------------------------------------- */

int agent_build(int chan, wire_reader *rd, const job *j, const agent_signer *signer, sb_err **err)
{
	uint8_t src_sha[SHA256_LEN];
	_cleanup_free_ char *tree = NULL, *msg = NULL;
	json_t *steps = json_array();
	const char *status = "success";
	_cleanup_free_ agent_subject *subs = calloc(4096, sizeof(agent_subject));
	size_t n_subs = 0;
	wire_frame f;
	int r;

	wire_send_str(chan, WIRE_PHASE, "scratch disk", NULL);
	if ((r = agent_scratch_setup(err)) < 0)
		goto out;
	send_log(chan, "snpbuild-agent: scratch disk: %u GiB, encrypted with a key generated in the guest\n",
		 j->disk_gib);
	if ((r = receive_source(chan, rd, src_sha, err)) < 0)
		goto out;

	mkdir(SOURCE_ROOT, 0755);
	if (chown(SOURCE_ROOT, AGENT_BUILD_UID, AGENT_BUILD_GID) < 0) {
		r = sb_err_sys(err, errno, SOURCE_ROOT);
		goto out;
	}
	{
		char *const tar_argv[] = { "/bin/tar", "-xf", SOURCE_ARCHIVE, "-C", SOURCE_ROOT, "--no-same-owner",
					   "--no-same-permissions", NULL };
		wire_send_str(chan, WIRE_PHASE, "unpack source", NULL);
		r = run_streamed(chan, j, SOURCE_ROOT, tar_argv, err);
		if (r < 0)
			goto out;
		if (r != 0) {
			/* The job's source is at fault (unsafe or broken entries), not the VM. */
			if (asprintf(&msg, "source: the archive did not unpack (tar exit status %d, see log.txt)", r) < 0)
				msg = NULL;
			status = "bad_source";
		}
		r = 0;
	}
	tree = source_tree();

	for (size_t i = 0; i < j->n_steps && !strcmp(status, "success"); i++) {
		char *const argv[] = { "/bin/sh", "-ec", j->steps[i].run, NULL };
		double t0 = proc_now_s();
		send_log(chan, "==> [%zu/%zu] %s\n", i + 1, j->n_steps, j->steps[i].name);
		r = run_streamed(chan, j, tree, argv, err);
		if (r < 0)
			goto out;
		json_array_append_new(steps, json_pack("{s:s, s:i, s:f}", "name", j->steps[i].name, "exit_code", r,
						       "seconds", (double)(long)((proc_now_s() - t0) * 1000) / 1000));
		if (r != 0) {
			if (asprintf(&msg, "steps[%zu] (%s) exited with status %d", i, j->steps[i].name, r) < 0)
				msg = NULL;
			status = "step_failed";
			break;
		}
	}
	if ((r = kill_build_user(err)) < 0)
		goto out;

	if (!strcmp(status, "success")) {
		wire_send_str(chan, WIRE_PHASE, "collect artifacts", NULL);
		if (!subs) {
			r = sb_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		r = send_artifacts(chan, j, tree, subs, &n_subs, &msg, err);
		if (r < 0)
			goto out;
		if (r > 0)
			status = "artifact_missing";
	}
	/* Signed only once every artifact is hashed; a failed build gets no provenance. */
	if (!strcmp(status, "success")) {
		wire_send_str(chan, WIRE_PHASE, "sign provenance", NULL);
		if ((r = agent_send_evidence(chan, signer, j, subs, n_subs, src_sha, err)) < 0)
			goto out;
	}
	if ((r = agent_send_result(chan, j, status, msg, steps, src_sha)) < 0) {
		r = sb_err_sys(err, -r, "sending the result");
		goto out;
	}
	/* The host acknowledges once it has everything; then we power off. */
	if ((r = agent_read_frame(chan, rd, &f, err)) < 0)
		goto out;
	if (f.type != WIRE_ACK)
		r = sb_err_set(err, EPROTO, "expected ACK, got %s", wire_type_name(f.type));
out:
	json_decref(steps);
	return r < 0 ? r : 0;
}
