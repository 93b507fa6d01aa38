/* SPDX-License-Identifier: Apache-2.0 */
#include "job.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cursor.h"
#include "hexutil.h"
#include "wire.h"

const char *job_tee_name(enum job_tee tee)
{
	return tee == JOB_TEE_SNP ? "snp" : "none";
}

void job_free(job *j)
{
	if (!j)
		return;
	free(j->name);
	free(j->source_path);
	free(j->source_resolved);
	for (size_t i = 0; i < j->n_steps; i++) {
		free(j->steps[i].name);
		free(j->steps[i].run);
	}
	free(j->steps);
	for (size_t i = 0; i < j->n_artifacts; i++)
		free(j->artifacts[i]);
	free(j->artifacts);
	free(j->raw);
	free(j);
}

void job_freep(job **j)
{
	job_free(*j);
	*j = NULL;
}

bool job_artifact_path_valid(const char *p)
{
	size_t len = p ? strlen(p) : 0;
	if (len == 0 || p[0] == '/' || p[len - 1] == '/')
		return false;
	for (const char *s = p; *s;) {
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s = *e ? e + 1 : e;
	}
	return true;
}

/* --- JSON path of a byte offset, for jansson's positional errors --------- */

struct path_frame {
	bool is_array;
	size_t index;
	char key[64];
	bool have_key;
};

static void skip_string(sb_cursor *c, char *key, size_t key_cap)
{
	size_t n = 0;
	uint8_t ch;

	while (cur_u8(c, &ch)) {
		if (ch == '"')
			break;
		if (ch == '\\') {
			if (!cur_u8(c, &ch))
				break;
		}
		if (key && n + 1 < key_cap)
			key[n++] = (char)ch;
	}
	if (key)
		key[n] = '\0';
}

char *job_json_path_at(const char *text, size_t len, size_t pos)
{
	struct path_frame st[32];
	int depth = -1;
	sb_cursor c = cur_make(text, len < pos ? len : pos);
	uint8_t ch;
	char pending_key[64] = "";
	bool expect_key = false;

	while (cur_u8(&c, &ch)) {
		switch (ch) {
		case '"':
			if (depth >= 0 && !st[depth].is_array && expect_key) {
				skip_string(&c, pending_key, sizeof(pending_key));
				snprintf(st[depth].key, sizeof(st[depth].key), "%s", pending_key);
				st[depth].have_key = true;
				expect_key = false;
			} else {
				skip_string(&c, NULL, 0);
			}
			break;
		case '{':
		case '[':
			if (depth + 1 < (int)ELEMENTSOF(st)) {
				depth++;
				st[depth] = (struct path_frame){ .is_array = ch == '[' };
			}
			expect_key = ch == '{';
			break;
		case '}':
		case ']':
			if (depth >= 0)
				depth--;
			expect_key = false;
			break;
		case ',':
			if (depth >= 0) {
				if (st[depth].is_array)
					st[depth].index++;
				else {
					st[depth].have_key = false;
					expect_key = true;
				}
			}
			break;
		default:
			break;
		}
	}

	char buf[1024];
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i <= depth && n < sizeof(buf) - 80; i++) {
		if (st[i].is_array)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "[%zu]", st[i].index);
		else if (st[i].have_key)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "." : "", st[i].key);
	}
	return strdup(n ? buf : "(root)");
}

/* --- validation ------------------------------------------------------------ */

struct ctx {
	const char *display;
	sb_err **err;
};

_printf_(3, 4) static int bad(struct ctx *x, const char *path, const char *fmt, ...)
{
	char *reason = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		reason = NULL;
	va_end(ap);
	r = sb_err_set(x->err, EINVAL, "%s: %s: %s", x->display, path, reason ? reason : "invalid");
	free(reason);
	return r;
}

/* Every key of obj must be in allowed. */
static int check_keys(struct ctx *x, const char *path, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			if (!strcmp(*a, key))
				ok = true;
		if (!ok) {
			char p[512];
			snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "", key);
			return bad(x, p, "unknown field");
		}
	}
	return 0;
}

static int get_string(struct ctx *x, const char *path, json_t *v, bool required, size_t max, char **ret)
{
	if (!v) {
		if (required)
			return bad(x, path, "missing (must be a non-empty string)");
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0)
		return bad(x, path, "must be a non-empty string");
	if (memchr(json_string_value(v), '\0', json_string_length(v)))
		return bad(x, path, "must not contain NUL characters");
	if (json_string_length(v) > max)
		return bad(x, path, "longer than %zu bytes", max);
	*ret = strdup(json_string_value(v));
	return *ret ? 0 : sb_err_set(x->err, ENOMEM, "out of memory");
}

static int get_uint(struct ctx *x, const char *path, json_t *v, unsigned def, unsigned min, unsigned max,
		    unsigned *ret)
{
	if (!v) {
		*ret = def;
		return 0;
	}
	if (!json_is_integer(v))
		return bad(x, path, "must be an integer");
	json_int_t n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max)
		return bad(x, path, "%lld is out of range (%u..%u)", (long long)n, min, max);
	*ret = (unsigned)n;
	return 0;
}

static bool name_ok(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* What the guest's tar can unpack: a plain tar (ustar/GNU magic at 257), or
 * one compressed with gzip, bzip2 or xz (tools the guest image has). */
static bool looks_like_tar(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	uint8_t b[512];
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, b, sizeof(b));
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return true;
	if (n >= 3 && !memcmp(b, "BZh", 3))
		return true;
	if (n >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6))
		return true;
	return n >= 262 && !memcmp(b + 257, "ustar", 5);
}

static int parse_source(struct ctx *x, json_t *src, const char *base_dir, unsigned flags, job *j)
{
	static const char *const keys[] = { "path", "sha256", NULL };
	_cleanup_free_ char *sha = NULL;
	int r;

	if (!src)
		return bad(x, "source", "missing (an object with \"path\")");
	if (!json_is_object(src))
		return bad(x, "source", "must be an object");
	if ((r = check_keys(x, "source", src, keys)) < 0)
		return r;
	if ((r = get_string(x, "source.path", json_object_get(src, "path"), true, PATH_MAX, &j->source_path)) < 0)
		return r;
	if ((r = get_string(x, "source.sha256", json_object_get(src, "sha256"), false, 64, &sha)) < 0)
		return r;
	if (sha) {
		if (hex_decode(sha, j->source_sha256, SHA256_LEN) < 0)
			return bad(x, "source.sha256", "must be 64 hex digits");
		j->source_sha256_pinned = true;
	}
	if (!(flags & JOB_PARSE_HOST))
		return 0;

	_cleanup_free_ char *joined = NULL;
	if (j->source_path[0] == '/' || !base_dir)
		joined = strdup(j->source_path);
	else if (asprintf(&joined, "%s/%s", base_dir, j->source_path) < 0)
		joined = NULL;
	if (!joined)
		return sb_err_set(x->err, ENOMEM, "out of memory");

	struct stat st;
	if (stat(joined, &st) < 0)
		return bad(x, "source.path", "%s: %s", j->source_path, strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return bad(x, "source.path", "%s: neither a directory nor a regular file", j->source_path);
	if (S_ISDIR(st.st_mode) && j->source_sha256_pinned)
		return bad(x, "source.sha256", "only a tarball source can be pinned by digest");
	j->source_is_dir = S_ISDIR(st.st_mode);
	if (!j->source_is_dir && !looks_like_tar(joined))
		return bad(x, "source.path", "%s: not a tar archive (plain, gzip, bzip2 or xz)", j->source_path);
	j->source_resolved = realpath(joined, NULL);
	if (!j->source_resolved)
		return bad(x, "source.path", "%s: %s", j->source_path, strerror(errno));
	return 0;
}

static int parse_steps(struct ctx *x, json_t *steps, job *j)
{
	static const char *const keys[] = { "name", "run", NULL };
	size_t i;
	json_t *s;
	int r;

	if (!steps)
		return bad(x, "steps", "missing (a non-empty array)");
	if (!json_is_array(steps) || json_array_size(steps) == 0)
		return bad(x, "steps", "must be a non-empty array");
	if (json_array_size(steps) > JOB_MAX_STEPS)
		return bad(x, "steps", "more than %d steps", JOB_MAX_STEPS);
	j->steps = calloc(json_array_size(steps), sizeof(*j->steps));
	if (!j->steps)
		return sb_err_set(x->err, ENOMEM, "out of memory");
	json_array_foreach(steps, i, s) {
		char p[64], pn[64], pr[64];
		snprintf(p, sizeof(p), "steps[%zu]", i);
		snprintf(pn, sizeof(pn), "steps[%zu].name", i);
		snprintf(pr, sizeof(pr), "steps[%zu].run", i);
		if (!json_is_object(s))
			return bad(x, p, "must be an object with \"run\"");
		if ((r = check_keys(x, p, s, keys)) < 0)
			return r;
		j->n_steps++;
		if ((r = get_string(x, pn, json_object_get(s, "name"), false, 256, &j->steps[i].name)) < 0)
			return r;
		for (const char *c = j->steps[i].name; c && *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return bad(x, pn, "must not contain control characters");
		if ((r = get_string(x, pr, json_object_get(s, "run"), true, JOB_MAX_STRING, &j->steps[i].run)) < 0)
			return r;
		if (!j->steps[i].name && asprintf(&j->steps[i].name, "step %zu", i + 1) < 0)
			return sb_err_set(x->err, ENOMEM, "out of memory");
	}
	return 0;
}

static int parse_artifacts(struct ctx *x, json_t *arts, job *j)
{
	size_t i;
	json_t *a;
	int r;

	if (!arts)
		return bad(x, "artifacts", "missing (a non-empty array of paths)");
	if (!json_is_array(arts) || json_array_size(arts) == 0)
		return bad(x, "artifacts", "must be a non-empty array");
	if (json_array_size(arts) > JOB_MAX_ARTIFACTS)
		return bad(x, "artifacts", "more than %d entries", JOB_MAX_ARTIFACTS);
	j->artifacts = calloc(json_array_size(arts), sizeof(char *));
	if (!j->artifacts)
		return sb_err_set(x->err, ENOMEM, "out of memory");
	json_array_foreach(arts, i, a) {
		char p[64];
		snprintf(p, sizeof(p), "artifacts[%zu]", i);
		if ((r = get_string(x, p, a, true, 4096, &j->artifacts[i])) < 0)
			return r;
		j->n_artifacts++;
		if (j->artifacts[i][0] == '/')
			return bad(x, p, "must be relative to the source tree, not absolute");
		if (!job_artifact_path_valid(j->artifacts[i]))
			return bad(x, p, "must not contain \"..\", \".\" or empty path components");
		for (const char *c = j->artifacts[i]; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return bad(x, p, "must not contain control characters");
		const char *last = strrchr(j->artifacts[i], '/');
		last = last ? last + 1 : j->artifacts[i];
		if (strlen(last) > WIRE_MAX_NAME)
			return bad(x, p, "the file name '%.32s...' is longer than %d bytes", last, WIRE_MAX_NAME);
		if (!strpbrk(last, "*?[") && wire_artifact_name_reserved(last))
			return bad(x, p, "'%s' is a name snpbuild uses for its own output files", last);
	}
	return 0;
}

static int parse_resources(struct ctx *x, json_t *res, job *j)
{
	static const char *const keys[] = { "vcpus", "memory_mib", "disk_gib", "timeout_s", NULL };
	int r;

	if (res && !json_is_object(res))
		return bad(x, "resources", "must be an object");
	if (res && (r = check_keys(x, "resources", res, keys)) < 0)
		return r;
	if ((r = get_uint(x, "resources.vcpus", res ? json_object_get(res, "vcpus") : NULL, JOB_DEFAULT_VCPUS, 1,
			  255, &j->vcpus)) < 0)
		return r;
	if ((r = get_uint(x, "resources.memory_mib", res ? json_object_get(res, "memory_mib") : NULL,
			  JOB_DEFAULT_MEMORY_MIB, 512, 1024 * 1024, &j->memory_mib)) < 0)
		return r;
	if ((r = get_uint(x, "resources.disk_gib", res ? json_object_get(res, "disk_gib") : NULL,
			  JOB_DEFAULT_DISK_GIB, 1, 16384, &j->disk_gib)) < 0)
		return r;
	return get_uint(x, "resources.timeout_s", res ? json_object_get(res, "timeout_s") : NULL,
			JOB_DEFAULT_TIMEOUT_S, 10, 7 * 24 * 3600, &j->timeout_s);
}

int job_parse(const void *bytes, size_t len, const char *display, const char *base_dir, unsigned flags, job **ret,
	      sb_err **err)
{
	static const char *const keys[] = { "api_version", "name", "source", "steps", "artifacts",
					    "resources", "tee", NULL };
	struct ctx x = { .display = display ? display : "job", .err = err };
	_cleanup_job_ job *j = NULL;
	_cleanup_free_ char *api = NULL, *tee = NULL;
	json_error_t jerr;
	json_t *root;
	int r;

	if (len > JOB_MAX_BYTES)
		return bad(&x, "(root)", "larger than %d bytes", JOB_MAX_BYTES);
	/* JSON_ALLOW_NUL so that a NUL inside a string is reported with its path below. */
	root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!root) {
		size_t pos = jerr.position > 0 ? (size_t)jerr.position : 0;
		_cleanup_free_ char *path = job_json_path_at(bytes, len, pos);
		return sb_err_set(err, EINVAL, "%s: %s: %s (line %d, column %d)", x.display, path ? path : "(root)",
				  jerr.text, jerr.line, jerr.column);
	}

	j = calloc(1, sizeof(*j));
	if (!j) {
		json_decref(root);
		return sb_err_set(err, ENOMEM, "out of memory");
	}

	if (!json_is_object(root)) {
		r = bad(&x, "(root)", "must be a JSON object");
		goto out;
	}
	if ((r = check_keys(&x, "", root, keys)) < 0)
		goto out;
	if ((r = get_string(&x, "api_version", json_object_get(root, "api_version"), true, 64, &api)) < 0)
		goto out;
	if (strcmp(api, JOB_API_VERSION)) {
		r = bad(&x, "api_version", "unsupported \"%s\" (this snpbuild reads \"%s\")", api, JOB_API_VERSION);
		goto out;
	}
	if ((r = get_string(&x, "name", json_object_get(root, "name"), true, 64, &j->name)) < 0)
		goto out;
	if (!name_ok(j->name)) {
		r = bad(&x, "name", "must start with a letter or digit and contain only letters, digits, '-', '_' and '.'");
		goto out;
	}
	if ((r = parse_source(&x, json_object_get(root, "source"), base_dir, flags, j)) < 0)
		goto out;
	if ((r = parse_steps(&x, json_object_get(root, "steps"), j)) < 0)
		goto out;
	if ((r = parse_artifacts(&x, json_object_get(root, "artifacts"), j)) < 0)
		goto out;
	if ((r = parse_resources(&x, json_object_get(root, "resources"), j)) < 0)
		goto out;
	if ((r = get_string(&x, "tee", json_object_get(root, "tee"), true, 16, &tee)) < 0)
		goto out;
	if (!strcmp(tee, "snp"))
		j->tee = JOB_TEE_SNP;
	else if (!strcmp(tee, "none"))
		j->tee = JOB_TEE_NONE;
	else {
		r = bad(&x, "tee", "must be \"snp\" or \"none\"");
		goto out;
	}

	j->raw = malloc(len ? len : 1);
	if (!j->raw) {
		r = sb_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	memcpy(j->raw, bytes, len);
	j->raw_len = len;
	digest_sha256(bytes, len, j->digest);
	*ret = TAKE_PTR(j);
	r = 0;
out:
	json_decref(root);
	return r;
}

int job_load(const char *path, job **ret, sb_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	_cleanup_free_ char *buf = NULL, *dir = NULL;
	struct stat st;
	size_t n = 0;

	if (fd < 0)
		return sb_err_sys(err, errno, "%s", path);
	if (fstat(fd, &st) < 0)
		return sb_err_sys(err, errno, "%s", path);
	if (S_ISDIR(st.st_mode))
		return sb_err_set(err, EISDIR, "%s: is a directory, not a job descriptor", path);
	if (!S_ISREG(st.st_mode))
		return sb_err_set(err, EINVAL, "%s: not a regular file", path);
	buf = malloc(JOB_MAX_BYTES + 1);
	if (!buf)
		return sb_err_set(err, ENOMEM, "out of memory");
	while (n < JOB_MAX_BYTES + 1) {
		ssize_t got = read(fd, buf + n, JOB_MAX_BYTES + 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return sb_err_sys(err, errno, "%s", path);
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > JOB_MAX_BYTES)
		return sb_err_set(err, EFBIG, "%s: (root): larger than %d bytes", path, JOB_MAX_BYTES);
	dir = strdup(path);
	if (!dir)
		return sb_err_set(err, ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	return job_parse(buf, n, path, dir, JOB_PARSE_HOST, ret, err);
}
