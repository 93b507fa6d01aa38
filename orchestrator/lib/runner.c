/* SPDX-License-Identifier: Apache-2.0 */
#include "runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "chan.h"
#include "config.h"
#include "cursor.h"
#include "disk.h"
#include "hexutil.h"
#include "image.h"
#include "jsonutil.h"
#include "host.h"
#include "plan.h"
#include "proc.h"
#include "prov.h"
#include "source.h"
#include "store.h"
#include "vm.h"
#include "wire.h"

#define BOOT_GRACE_S 180 /* the agent must say HELLO within this after the VM starts */

const char *runner_status_name(runner_status s)
{
	switch (s) {
	case RUNNER_OK: return "success";
	case RUNNER_STEP_FAILED: return "step_failed";
	case RUNNER_BAD_INPUT: return "bad_input";
	case RUNNER_INFRA: return "infrastructure_error";
	case RUNNER_TIMEOUT: return "timeout";
	case RUNNER_INTERRUPTED: return "interrupted";
	}
	return "unknown";
}

void runner_result_clear(runner_result *r)
{
	free(r->job_id);
	free(r->out_dir);
	free(r->message);
	*r = (runner_result){ 0 };
}

static void iso8601(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *runner_new_job_id(const char *name)
{
	uint8_t rnd[4] = { 0 };
	char hex[9], stamp[32], *id = NULL;
	time_t t = time(NULL);
	struct tm tm;

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return NULL;
	hex_encode(rnd, sizeof(rnd), hex);
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	if (asprintf(&id, "%s-%s-%s", name, stamp, hex) < 0)
		return NULL;
	return id;
}

/* Everything one run owns; torn down by run_cleanup whatever happened. */
struct run {
	const job *j;
	const runner_opts *o;
	const runner_events *ev;
	runner_status status;
	char *message;

	char *job_id;
	image *img;
	plan *pl;
	source *src;
	store *st;
	virConnectPtr conn;
	virDomainPtr dom;
	disk *dsk;
	int lockfd;
	int chan;
	wire_reader rd;
	char *work_dir;
	double deadline;
	double boot_deadline; /* until HELLO; 0 afterwards */
	double last_alive_check;
	bool guest_gone;

	/* phases */
	const char *phase;
	double phase_t0;
	json_t *phases;
	/* what the guest said */
	json_t *guest_result;
	char *agent_ident;
	char started_at[32];
	/* evidence from the guest: one bit per wire_evidence_kind, each at most once */
	unsigned evidence_seen;
	uint8_t key_der[EVIDENCE_MAX_KEY_DER];
	size_t key_der_len;
	bool have_vcek;
};

_printf_(3, 4) static int fail(struct run *r, runner_status status, const char *fmt, ...)
{
	va_list ap;
	if (r->message)
		return -1;
	r->status = status;
	va_start(ap, fmt);
	if (vasprintf(&r->message, fmt, ap) < 0)
		r->message = NULL;
	va_end(ap);
	return -1;
}

static int fail_err(struct run *r, runner_status status, sb_err *e)
{
	return fail(r, status, "%s", e && e->msg ? e->msg : "unknown error");
}

static void notice(struct run *r, const char *fmt, ...) _printf_(2, 3);
static void notice(struct run *r, const char *fmt, ...)
{
	char *m = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m && r->ev && r->ev->notice)
		r->ev->notice(r->ev->ud, m);
	free(m);
}

static void phase_end(struct run *r)
{
	if (!r->phase)
		return;
	double d = proc_now_s() - r->phase_t0;
	json_object_set_new(r->phases, r->phase, json_real((double)(long)(d * 1000) / 1000));
	/* The phase that was running when the run failed says so; destroy always runs. */
	const char *outcome = r->message && strcmp(r->phase, "destroy") ? runner_status_name(r->status) : NULL;
	if (r->ev && r->ev->phase_end)
		r->ev->phase_end(r->ev->ud, r->phase, d, outcome);
	r->phase = NULL;
}

static void phase(struct run *r, const char *name)
{
	phase_end(r);
	r->phase = name;
	r->phase_t0 = proc_now_s();
	if (r->ev && r->ev->phase_begin)
		r->ev->phase_begin(r->ev->ud, name);
}

/* --- waiting on the guest --------------------------------------------------- */

enum wait_outcome { W_READY = 1, W_TICK = 0 };

/* Waits up to timeout_ms for fd (if >= 0) to be readable, watching the
 * cancel fd, the job deadline and whether the domain still runs. */
static int wait_io_events(struct run *r, int fd, short events, int timeout_ms)
{
	struct pollfd p[2];
	int n = 0, rc;

	if (proc_now_s() >= r->deadline)
		return fail(r, RUNNER_TIMEOUT, "the job ran past its timeout of %u s", r->j->timeout_s);
	if (r->boot_deadline > 0 && proc_now_s() >= r->boot_deadline)
		return fail(r, RUNNER_INFRA,
			    "the guest agent did not start within %d s of boot (the kernel or firmware hangs? see "
			    "console.log)", BOOT_GRACE_S);
	if (fd >= 0)
		p[n++] = (struct pollfd){ .fd = fd, .events = events };
	if (r->o->cancel_fd >= 0)
		p[n++] = (struct pollfd){ .fd = r->o->cancel_fd, .events = POLLIN };
	rc = poll(p, (nfds_t)n, timeout_ms);
	if (rc < 0 && errno != EINTR)
		return fail(r, RUNNER_INFRA, "poll: %s", strerror(errno));
	if (r->o->cancel_fd >= 0 && (p[n - 1].revents & POLLIN)) {
		/* A signalfd names the signal; any other readable fd just cancels. */
		struct signalfd_siginfo si;
		if (read(r->o->cancel_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			return fail(r, RUNNER_INTERRUPTED, "interrupted by SIG%s; the VM was destroyed",
				    sigabbrev_np((int)si.ssi_signo) ? sigabbrev_np((int)si.ssi_signo) : "?");
		return fail(r, RUNNER_INTERRUPTED, "interrupted; the VM was destroyed");
	}
	if (proc_now_s() - r->last_alive_check >= 1.0 && r->dom) {
		r->last_alive_check = proc_now_s();
		if (vm_is_active(r->dom) == 0)
			r->guest_gone = true;
	}
	return fd >= 0 && rc > 0 && (p[0].revents & (events | POLLHUP | POLLERR)) ? W_READY : W_TICK;
}

static int wait_io(struct run *r, int fd, int timeout_ms)
{
	return wait_io_events(r, fd, POLLIN, timeout_ms);
}

/* Sends one frame on the non-blocking channel, watching the deadline, the
 * cancel fd and the VM while the guest is slow to read. */
static int chan_send(struct run *r, uint16_t type, const void *payload, size_t len)
{
	uint8_t hdr[WIRE_HEADER_LEN];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, len } };

	if (len > WIRE_MAX_PAYLOAD)
		return fail(r, RUNNER_INFRA, "%s frame of %zu bytes is too large", wire_type_name(type), len);
	wire_header_encode(hdr, type, (uint32_t)len);
	while (iov[0].iov_len + iov[1].iov_len > 0) {
		ssize_t n = writev(r->chan, iov[0].iov_len ? iov : iov + 1, iov[0].iov_len ? 2 : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int w = wait_io_events(r, r->chan, POLLOUT, 250);
			if (w < 0)
				return w;
			if (w == W_TICK && r->guest_gone)
				return fail(r, RUNNER_INFRA, "the VM stopped before the job finished (see console.log)");
			continue;
		}
		if (n < 0)
			return fail(r, RUNNER_INFRA, "channel write: %s", strerror(errno));
		for (int i = 0; i < 2 && n > 0; i++) {
			size_t k = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + k;
			iov[i].iov_len -= k;
			n -= (ssize_t)k;
		}
	}
	return 0;
}

/* The next frame from the guest, or -1 with the run failed. */
static int next_frame(struct run *r, wire_frame *f)
{
	_cleanup_err_ sb_err *e = NULL;

	for (;;) {
		int got = wire_reader_next(&r->rd, f, &e);
		if (got < 0)
			return fail(r, RUNNER_INFRA, "guest sent a malformed frame: %s", e->msg);
		if (got > 0)
			return 0;
		int w = wait_io(r, r->chan, 250);
		if (w < 0)
			return w;
		if (w == W_TICK) {
			if (r->guest_gone)
				return fail(r, RUNNER_INFRA,
					    "the VM stopped before the job finished (see console.log)");
			continue;
		}
		int n = wire_reader_fill(&r->rd, r->chan, &e);
		if (n == -EAGAIN)
			continue;
		if (n < 0)
			return fail(r, RUNNER_INFRA, "%s", e->msg);
		if (n == 0)
			return fail(r, RUNNER_INFRA, "the guest closed the channel before the job finished "
						     "(the VM stopped or crashed; see console.log)");
	}
}

static int connect_channel(struct run *r)
{
	_cleanup_err_ sb_err *e = NULL;
	const chan_transport *t = r->pl->transport == PLAN_TRANSPORT_VSOCK ? &chan_vsock : &chan_virtio_serial;
	chan_target tg = { .socket_path = r->pl->chan_socket, .port = WIRE_VSOCK_PORT };

	if (r->pl->transport == PLAN_TRANSPORT_VSOCK && vm_vsock_cid(r->dom, &tg.cid, &e) < 0)
		return fail_err(r, RUNNER_INFRA, e);
	for (;;) {
		int c = t->try_connect(&tg, &r->chan, &e);
		if (c == 0) {
			/* Reads and writes both wait in poll(), never in the kernel. */
			if (fcntl(r->chan, F_SETFL, fcntl(r->chan, F_GETFL) | O_NONBLOCK) < 0)
				return fail(r, RUNNER_INFRA, "channel: %s", strerror(errno));
			return 0;
		}
		if (c != -EAGAIN)
			return fail_err(r, RUNNER_INFRA, e);
		int w = wait_io(r, -1, 200);
		if (w < 0)
			return w;
		if (r->guest_gone)
			return fail(r, RUNNER_INFRA, "the VM stopped during boot (see console.log)");
	}
}

/* --- the conversation ---------------------------------------------------------- */

static int await_hello(struct run *r)
{
	_cleanup_err_ sb_err *e = NULL;
	wire_frame f;
	uint32_t version;

	if (next_frame(r, &f) < 0)
		return -1;
	if (f.type != WIRE_HELLO)
		return fail(r, RUNNER_INFRA, "guest spoke %s before HELLO", wire_type_name(f.type));
	if (wire_hello_parse(f.payload, f.len, &version, &r->agent_ident, &e) < 0)
		return fail_err(r, RUNNER_INFRA, e);
	if (version != WIRE_VERSION)
		return fail(r, RUNNER_INFRA, "guest agent speaks protocol %u, this host %u", version, WIRE_VERSION);
	notice(r, "guest agent: %s", r->agent_ident);
	r->boot_deadline = 0;
	return 0;
}

static int send_source(struct run *r)
{
	_cleanup_close_ int fd = open(r->src->archive, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ uint8_t *buf = malloc(WIRE_CHUNK);

	if (fd < 0 || !buf)
		return fail(r, RUNNER_INFRA, "%s: %s", r->src->archive, strerror(errno));
	if (chan_send(r, WIRE_JOB, r->j->raw, r->j->raw_len) < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf, WIRE_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(r, RUNNER_INFRA, "%s: %s", r->src->archive, strerror(errno));
		if (n == 0)
			break;
		if (chan_send(r, WIRE_SOURCE_DATA, buf, (size_t)n) < 0)
			return -1;
		if (wait_io(r, -1, 0) < 0)
			return -1;
	}
	if (chan_send(r, WIRE_SOURCE_END, r->src->sha256, SHA256_LEN) < 0)
		return -1;
	return 0;
}

static int check_guest_result(struct run *r, const wire_frame *f)
{
	json_error_t je;
	json_t *res = json_loadb((const char *)f->payload, f->len, JSON_REJECT_DUPLICATES, &je);
	const char *status = NULL, *message = NULL, *job_sha = NULL, *src_sha = NULL;
	char want[SHA256_HEX_LEN];

	if (!res || json_unpack(res, "{s:s, s?s, s:s, s?s}", "status", &status, "message", &message, "job_sha256",
				&job_sha, "source_sha256", &src_sha) < 0) {
		json_decref(res);
		return fail(r, RUNNER_INFRA, "guest RESULT is not the expected JSON object");
	}
	r->guest_result = res;
	hex_encode(r->j->digest, SHA256_LEN, want);
	if (strcmp(job_sha, want))
		return fail(r, RUNNER_INFRA, "guest ran a job descriptor with sha256 %.64s, not this job's %s", job_sha,
			    want);
	if (!strcmp(status, "success")) {
		hex_encode(r->src->sha256, SHA256_LEN, want);
		if (!src_sha || strcmp(src_sha, want))
			return fail(r, RUNNER_INFRA, "guest built a source with another digest");
		return 0;
	}
	if (!strcmp(status, "bad_source"))
		return fail(r, RUNNER_BAD_INPUT, "%s: %.1024s", r->o->display, message ? message : "bad source");
	if (!strcmp(status, "step_failed") || !strcmp(status, "artifact_missing"))
		return fail(r, RUNNER_STEP_FAILED, "%.1024s", message ? message : "a build step failed");
	return fail(r, RUNNER_INFRA, "guest agent: %.1024s", message ? message : status);
}

/* --- evidence ------------------------------------------------------------------ */

#define EVIDENCE_MAX_CERTS (64u * 1024)

/* Checks the provenance against what the host holds: it must be signed by
 * the key the guest sent, and name exactly the artifacts stored. The host
 * trusts none of it; this only catches a broken guest early. */
static int check_provenance(struct run *r, const uint8_t *buf, size_t len)
{
	_cleanup_err_ sb_err *e = NULL;
	_cleanup_(prov_envelope_freep) prov_envelope *env = NULL;
	_cleanup_(prov_statement_freep) prov_statement *st = NULL;
	EVP_PKEY *key = NULL;
	int rc = 0;

	if (!(r->evidence_seen & (1u << WIRE_EVIDENCE_PUBKEY)))
		return fail(r, RUNNER_INFRA, "guest sent its provenance before its public key");
	if (memchr(buf, '\n', len))
		return fail(r, RUNNER_INFRA, "guest provenance: a newline inside the envelope");
	if (prov_envelope_parse(buf, len, &env, &e) < 0 ||
	    prov_statement_parse(env->payload, env->payload_len, &st, &e) < 0 ||
	    prov_pubkey_from_der(r->key_der, r->key_der_len, &key, &e) < 0 || prov_envelope_verify(env, key, &e) < 0)
		rc = fail(r, RUNNER_INFRA, "guest provenance: %s", e->msg);
	EVP_PKEY_free(key);
	if (rc < 0)
		return rc;
	if (memcmp(st->job_sha256, r->j->digest, SHA256_LEN))
		return fail(r, RUNNER_INFRA, "guest provenance names another job descriptor");
	if (st->n_subjects != store_n_artifacts(r->st))
		return fail(r, RUNNER_INFRA, "guest provenance names %zu artifacts, %zu were received", st->n_subjects,
			    store_n_artifacts(r->st));
	for (size_t i = 0; i < store_n_artifacts(r->st); i++) {
		const store_artifact *a = store_artifact_at(r->st, i);
		size_t k;
		for (k = 0; k < st->n_subjects; k++)
			if (!strcmp(st->subjects[k].name, a->name) && !memcmp(st->subjects[k].sha256, a->sha256, SHA256_LEN))
				break;
		if (k == st->n_subjects)
			return fail(r, RUNNER_INFRA, "guest provenance does not name artifact '%s' with its sha256", a->name);
	}
	return 0;
}

/* The VCEK for the report from the KDS cache, when there is one: public
 * data, checked by the verifier against the pinned AMD root. */
static void store_vcek(struct run *r, const struct attest_report *rep)
{
	_cleanup_err_ sb_err *e = NULL;
	struct attest_kds kds = { .cache_dir = r->o->kds_cache, .offline = true };
	X509 *x = NULL;
	BIO *b;
	char *data;
	long n;

	if (!r->o->kds_cache)
		return;
	if (attest_kds_get_vcek(&kds, rep, ATTEST_PRODUCT_UNKNOWN, &x, &e) < 0) {
		notice(r, "no VCEK in the KDS cache %s: %s", r->o->kds_cache, e->msg);
		return;
	}
	b = BIO_new(BIO_s_mem());
	if (b && PEM_write_bio_X509(b, x) && (n = BIO_get_mem_data(b, &data)) > 0 &&
	    store_write_file_in(r->st, PROV_DIR_ATTESTATION, PROV_FILE_VCEK, data, (size_t)n, &e) == 0)
		r->have_vcek = true;
	else if (e)
		notice(r, "%s", e->msg);
	BIO_free(b);
	X509_free(x);
}

/* One EVIDENCE frame: u8 kind, then the bytes. Bounded per kind, each kind
 * at most once, stored in the output folder. */
static int take_evidence(struct run *r, const wire_frame *f)
{
	_cleanup_err_ sb_err *e = NULL;
	_cleanup_free_ char *pem = NULL;
	sb_cursor c = cur_make(f->payload, f->len);
	const uint8_t *data;
	uint8_t kind;
	size_t n;
	EVP_PKEY *key = NULL;
	struct attest_report rep;
	int rc;

	if (!cur_u8(&c, &kind) || kind < WIRE_EVIDENCE_REPORT || kind > WIRE_EVIDENCE_CERTS)
		return fail(r, RUNNER_INFRA, "guest sent evidence of unknown kind");
	if (r->evidence_seen & (1u << kind))
		return fail(r, RUNNER_INFRA, "guest sent evidence of kind %u twice", kind);
	r->evidence_seen |= 1u << kind;
	n = c.left;
	cur_view(&c, &data, n);

	switch (kind) {
	case WIRE_EVIDENCE_PUBKEY:
		if (prov_pubkey_from_der(data, n, &key, &e) < 0)
			return fail(r, RUNNER_INFRA, "guest signing key: %s", e->msg);
		rc = prov_pubkey_pem(key, &pem, &e);
		EVP_PKEY_free(key);
		if (rc < 0 || store_write_file_in(r->st, PROV_DIR_ATTESTATION, PROV_FILE_PUBKEY, pem, strlen(pem), &e) < 0)
			return fail_err(r, RUNNER_INFRA, e);
		memcpy(r->key_der, data, n);
		r->key_der_len = n;
		return 0;
	case WIRE_EVIDENCE_REPORT:
		if (r->j->tee != JOB_TEE_SNP)
			return fail(r, RUNNER_INFRA, "guest sent an attestation report for a development-mode job");
		if (attest_report_parse(data, n, &rep, &e) < 0)
			return fail(r, RUNNER_INFRA, "guest attestation report: %s", e->msg);
		if (memcmp(rep.host_data, r->j->digest, SHA256_LEN))
			return fail(r, RUNNER_INFRA, "guest attestation report: HOST_DATA is not this job's digest");
		if (store_write_file_in(r->st, PROV_DIR_ATTESTATION, PROV_FILE_REPORT, data, n, &e) < 0)
			return fail_err(r, RUNNER_INFRA, e);
		store_vcek(r, &rep);
		return 0;
	case WIRE_EVIDENCE_CERTS:
		if (n > EVIDENCE_MAX_CERTS)
			return fail(r, RUNNER_INFRA, "guest certificate table: %zu bytes exceeds %u", n, EVIDENCE_MAX_CERTS);
		if (store_write_file_in(r->st, PROV_DIR_ATTESTATION, PROV_FILE_CERTS, data, n, &e) < 0)
			return fail_err(r, RUNNER_INFRA, e);
		return 0;
	case WIRE_EVIDENCE_PROVENANCE: {
		_cleanup_free_ char *line = malloc(n + 1);
		if (check_provenance(r, data, n) < 0)
			return -1;
		if (!line)
			return fail(r, RUNNER_INFRA, "out of memory");
		memcpy(line, data, n);
		line[n] = '\n';
		if (store_write_file(r->st, PROV_FILE_PROVENANCE, line, n + 1, &e) < 0)
			return fail_err(r, RUNNER_INFRA, e);
		return 0;
	}
	}
	return 0;
}

/* A successful build comes with its signed provenance, and for tee "snp"
 * with the report binding its key. */
static int check_evidence_complete(struct run *r)
{
	if (!(r->evidence_seen & (1u << WIRE_EVIDENCE_PROVENANCE)))
		return fail(r, RUNNER_INFRA, "guest reported success without a signed provenance");
	if (r->j->tee == JOB_TEE_SNP && !(r->evidence_seen & (1u << WIRE_EVIDENCE_REPORT)))
		return fail(r, RUNNER_INFRA, "guest reported success without an attestation report (tee \"snp\")");
	return 0;
}

static int converse(struct run *r)
{
	_cleanup_err_ sb_err *e = NULL;
	wire_frame f;
	char name[WIRE_MAX_NAME + 1];
	uint64_t size;
	uint16_t flags;
	bool collecting = false;
	int rc;

	for (;;) {
		if (next_frame(r, &f) < 0)
			return -1;
		switch (f.type) {
		case WIRE_LOG:
			if (store_log(r->st, f.payload, f.len, &e) < 0)
				return fail_err(r, RUNNER_INFRA, e);
			if (r->ev && r->ev->log)
				r->ev->log(r->ev->ud, f.payload, f.len);
			break;
		case WIRE_PHASE:
			notice(r, "guest: %.*s", (int)(f.len > 200 ? 200 : f.len), (const char *)f.payload);
			break;
		case WIRE_ARTIFACT_BEGIN:
			if (!collecting) {
				phase(r, "collect");
				collecting = true;
			}
			if (wire_artifact_begin_parse(f.payload, f.len, &size, &flags, name, &e) < 0 ||
			    store_artifact_begin(r->st, name, size, flags & WIRE_ARTIFACT_EXECUTABLE, &e) < 0)
				return fail_err(r, RUNNER_INFRA, e);
			break;
		case WIRE_ARTIFACT_DATA:
			if (store_artifact_data(r->st, f.payload, f.len, &e) < 0)
				return fail_err(r, RUNNER_INFRA, e);
			break;
		case WIRE_ARTIFACT_END:
			if (f.len != SHA256_LEN)
				return fail(r, RUNNER_INFRA, "ARTIFACT_END carries %u bytes, not a SHA-256", f.len);
			if (store_artifact_end(r->st, f.payload, &e) < 0)
				return fail_err(r, RUNNER_INFRA, e);
			break;
		case WIRE_EVIDENCE:
			if (store_artifact_open(r->st))
				return fail(r, RUNNER_INFRA, "guest sent evidence with an artifact half sent");
			if (take_evidence(r, &f) < 0)
				return -1;
			break;
		case WIRE_RESULT:
			if (store_artifact_open(r->st))
				return fail(r, RUNNER_INFRA, "guest ended with an artifact half sent");
			if (!collecting)
				phase(r, "collect");
			rc = check_guest_result(r, &f);
			if (rc == 0)
				rc = check_evidence_complete(r);
			/* Everything is here: the VM has nothing left to give, so it is
			 * destroyed now rather than waited for (its disk key dies with it). */
			if (chan_send(r, WIRE_ACK, NULL, 0) < 0)
				return -1;
			return rc;
		default:
			return fail(r, RUNNER_INFRA, "guest sent a %s frame, which only the host may send",
				    wire_type_name(f.type));
		}
	}
}

/* --- output ----------------------------------------------------------------- */

static json_t *evidence_file(const struct run *r, enum wire_evidence_kind kind, const char *path)
{
	return (r->evidence_seen & (1u << kind)) ? json_string(path) : json_null();
}

/* The evidence files and the attester, as the guest announced it in HELLO. */
static void write_result_evidence(const struct run *r, json_t *o)
{
	const char *a = r->agent_ident ? strstr(r->agent_ident, "attester=") : NULL;
	json_t *ev;

	/* Every field is present on every run: null when the run ended without it. */
	if (a) {
		a += strlen("attester=");
		json_object_set_new(o, "attester", json_stringn(a, strcspn(a, " ")));
	} else {
		json_object_set_new(o, "attester", json_null());
	}
	ev = json_object();
	json_object_set_new(ev, "provenance", evidence_file(r, WIRE_EVIDENCE_PROVENANCE, PROV_FILE_PROVENANCE));
	json_object_set_new(ev, "signing_key",
			    evidence_file(r, WIRE_EVIDENCE_PUBKEY, PROV_DIR_ATTESTATION "/" PROV_FILE_PUBKEY));
	json_object_set_new(ev, "report", evidence_file(r, WIRE_EVIDENCE_REPORT, PROV_DIR_ATTESTATION "/" PROV_FILE_REPORT));
	json_object_set_new(ev, "certs", evidence_file(r, WIRE_EVIDENCE_CERTS, PROV_DIR_ATTESTATION "/" PROV_FILE_CERTS));
	json_object_set_new(ev, "vcek", r->have_vcek ? json_string(PROV_DIR_ATTESTATION "/" PROV_FILE_VCEK) : json_null());
	json_object_set_new(ev, "confidential", json_boolean(r->evidence_seen & (1u << WIRE_EVIDENCE_REPORT)));
	json_object_set_new(o, "evidence", ev);
}

static void write_result(struct run *r)
{
	_cleanup_err_ sb_err *e = NULL;
	json_t *o = json_object(), *arts = json_array();
	char finished[32];

	if (!r->st)
		return;
	iso8601(finished);
	json_object_set_new(o, "snpbuild_version", json_string(SNPBUILD_VERSION));
	json_object_set_new(o, "job_id", json_string(r->job_id));
	json_object_set_new(o, "job_name", json_string(r->j->name));
	json_object_set_new(o, "status", json_string(runner_status_name(r->status)));
	if (r->message)
		json_object_set_new(o, "message", json_string(r->message));
	json_object_set_new(o, "tee", json_string(job_tee_name(r->j->tee)));
	json_object_set_new(o, "insecure_dev_mode", json_boolean(r->j->tee == JOB_TEE_NONE));
	json_object_set_new(o, "job_sha256", json_hex(r->j->digest, SHA256_LEN));
	json_object_set_new(o, "host_data", json_hex(r->j->digest, SHA256_LEN));
	if (r->src)
		json_object_set_new(o, "source", json_pack("{s:s, s:o, s:I, s:b}", "path", r->j->source_path,
							    "sha256", json_hex(r->src->sha256, SHA256_LEN), "size",
							    (json_int_t)r->src->size, "packed_from_directory",
							    r->j->source_is_dir));
	if (r->img)
		json_object_set_new(o, "guest_image",
				    json_pack("{s:o, s:o, s:o, s:s, s:s}", "manifest_sha256",
					      json_hex(r->img->manifest_sha256, SHA256_LEN), "kernel_sha256",
					      json_hex(r->pl ? r->pl->kernel_sha256 : r->img->kernel.sha256, SHA256_LEN), "initrd_sha256",
					      json_hex(r->img->initrd.sha256, SHA256_LEN), "cmdline", r->img->cmdline, "verity_roothash",
					      r->img->verity_roothash));
	if (r->pl)
		json_object_set_new(o, "vm",
				    json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:s}", "domain", r->pl->domain_name,
					      "domain_type", r->pl->domain_type, "vcpus", r->pl->vcpus, "memory_mib",
					      r->pl->memory_mib, "disk_gib", r->j->disk_gib, "transport",
					      plan_transport_name(r->pl->transport), "transport_reason",
					      r->pl->transport_reason));
	/* steps: as the guest reported them; empty when the run ended before its result */
	json_t *steps = r->guest_result ? json_object_get(r->guest_result, "steps") : NULL;
	json_object_set_new(o, "steps", json_is_array(steps) ? json_incref(steps) : json_array());
	json_object_set_new(o, "log_truncated", json_boolean(store_log_truncated(r->st)));
	for (size_t i = 0; i < store_n_artifacts(r->st); i++) {
		const store_artifact *a = store_artifact_at(r->st, i);
		json_array_append_new(arts, json_pack("{s:s, s:o, s:o, s:I, s:b}", "name", a->name, "sha256",
						      json_hex(a->sha256, SHA256_LEN), "guest_sha256", json_hex(a->guest_sha256, SHA256_LEN), "size",
						      (json_int_t)a->size, "executable", a->executable));
	}
	json_object_set_new(o, "artifacts", arts);
	write_result_evidence(r, o);
	json_object_set(o, "phases", r->phases);
	json_object_set_new(o, "started_at", json_string(r->started_at));
	json_object_set_new(o, "finished_at", json_string(finished));

	char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
	if (text) {
		size_t n = strlen(text);
		text[n] = '\n';
		store_write_file(r->st, "result.json", text, n + 1, &e);
		free(text);
	}
	json_decref(o);
}

/* --- teardown ------------------------------------------------------------------ */

static int rm_work_dir(const char *dir)
{
	static const char *const files[] = { "scratch.qcow2", "channel.sock", "source.tar", "lock" };
	char p[4096];
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	return rmdir(dir) < 0 && errno != ENOENT ? -errno : 0;
}

static void run_cleanup(struct run *r)
{
	_cleanup_err_ sb_err *e = NULL;

	if (r->dom || r->dsk || r->work_dir)
		phase(r, "destroy");
	else
		phase_end(r); /* nothing was created: nothing to destroy */
	if (r->chan >= 0) {
		close(r->chan);
		r->chan = -1;
	}
	if (r->dom) {
		if (vm_destroy(r->dom, &e) < 0) {
			notice(r, "%s", e->msg);
			sb_err_freep(&e);
		}
		virDomainFree(r->dom);
		r->dom = NULL;
		/* QEMU made the console file for itself; it is an output like the others. */
		if (r->pl && r->pl->console_log)
			chmod(r->pl->console_log, 0644);
	}
	if (r->dsk) {
		if (disk_delete(r->dsk, &e) < 0) {
			notice(r, "%s", e->msg);
			sb_err_freep(&e);
		}
		disk_free(r->dsk);
		r->dsk = NULL;
	}
	if (r->st)
		store_artifact_abort(r->st);
	if (r->src && r->src->temporary && r->src->archive)
		unlink(r->src->archive); /* the record of it stays for result.json */
	if (r->work_dir) {
		if (rm_work_dir(r->work_dir) < 0)
			notice(r, "could not remove %s: %s", r->work_dir, strerror(errno));
	}
	if (r->lockfd >= 0)
		close(r->lockfd);
	if (r->conn)
		virConnectClose(r->conn);
	r->conn = NULL;
	phase_end(r);
}

/* The work folder appears under its name only with its lock already held
 * (made as .<id>.new, locked, renamed), so a concurrent sweep never takes a
 * live run's folder for a dead one's. */
static int make_work_dir(struct run *r)
{
	_cleanup_free_ char *tmp = NULL;
	char lock[4200];

	_cleanup_free_ char *root = NULL;

	if (mkdir(r->o->work_root, 0700) < 0 && errno != EEXIST)
		return fail(r, RUNNER_INFRA, "work folder %s: %s", r->o->work_root, strerror(errno));
	/* Absolute: the disk and socket paths go into the domain XML. */
	root = realpath(r->o->work_root, NULL);
	if (!root)
		return fail(r, RUNNER_INFRA, "work folder %s: %s", r->o->work_root, strerror(errno));
	if (asprintf(&tmp, "%s/.%s.new", root, r->job_id) < 0) {
		tmp = NULL;
		return fail(r, RUNNER_INFRA, "out of memory");
	}
	if (mkdir(tmp, 0700) < 0)
		return fail(r, RUNNER_INFRA, "work folder %s: %s", tmp, strerror(errno));
	snprintf(lock, sizeof(lock), "%s/lock", tmp);
	r->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (r->lockfd < 0 || flock(r->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;
		unlink(lock);
		rmdir(tmp);
		return fail(r, RUNNER_INFRA, "%s: %s", lock, strerror(saved));
	}
	if (asprintf(&r->work_dir, "%s/%s", root, r->job_id) < 0) {
		r->work_dir = NULL;
		return fail(r, RUNNER_INFRA, "out of memory");
	}
	if (rename(tmp, r->work_dir) < 0) {
		int saved = errno;
		unlink(lock);
		rmdir(tmp);
		free(r->work_dir);
		r->work_dir = NULL;
		return fail(r, RUNNER_INFRA, "work folder %s: %s", tmp, strerror(saved));
	}
	return 0;
}

static int run_inner(struct run *r)
{
	_cleanup_err_ sb_err *e = NULL;
	_cleanup_free_ char *xml = NULL, *console = NULL, *reason = NULL;
	_cleanup_(host_info_freep) host_info *host = NULL;
	int rc;

	phase(r, "image");
	if (image_load(r->o->image, &r->img, &e) < 0)
		return fail_err(r, RUNNER_INFRA, e);

	if (vm_connect(r->o->uri, &r->conn, &e) < 0)
		return fail_err(r, RUNNER_INFRA, e);
	host_probe_opts hpo = { .domain_type = r->o->domain_type ? r->o->domain_type : "kvm",
				.firmware = r->o->firmware, .capacity_only = r->j->tee != JOB_TEE_SNP };
	if (host_probe(r->conn, &hpo, &host, &e) < 0)
		return fail_err(r, RUNNER_INFRA, e);
	if (r->j->tee == JOB_TEE_SNP && !host_snp_ready(host, &reason))
		return fail(r, RUNNER_INFRA,
			    "%s: tee: \"snp\" cannot run on this host: %s. Nothing was created. "
			    "Use tee \"none\" for the insecure development mode.",
			    r->o->display, reason);
	if (!host_fits(host, r->j->vcpus, r->j->memory_mib, &reason))
		return fail(r, RUNNER_INFRA, "%s: %s. Nothing was created.", r->o->display, reason);
	/* A pinned tarball, or what a directory holds, is checked before anything exists. */
	if (!r->j->source_is_dir)
		rc = source_prepare(r->j, r->o->display, NULL, &r->src, &e);
	else
		rc = source_check_dir(r->j, r->o->display, &e);
	if (rc < 0)
		return fail_err(r, rc == -EBADMSG ? RUNNER_BAD_INPUT : RUNNER_INFRA, e);

	if (make_work_dir(r) < 0)
		return -1;
	if (store_open(r->o->out_root, r->job_id, r->j->artifacts, r->j->n_artifacts, &r->st, &e) < 0)
		return fail_err(r, RUNNER_INFRA, e);
	if (asprintf(&console, "%s/console.log", store_dir(r->st)) < 0)
		return fail(r, RUNNER_INFRA, "out of memory");
	plan_opts po = { .job_id = r->job_id, .work_dir = r->work_dir, .console_log = console,
			 .domain_type = r->o->domain_type, .firmware = r->o->firmware,
			 .force_transport = r->o->force_transport, .host = host };
	if (plan_build(r->j, r->img, &po, &r->pl, &e) < 0)
		return fail_err(r, RUNNER_INFRA, e);
	notice(r, "channel: %s (%s)", plan_transport_name(r->pl->transport), r->pl->transport_reason);
	if (r->j->source_is_dir && source_prepare(r->j, r->o->display, r->work_dir, &r->src, &e) < 0)
		return fail_err(r, RUNNER_INFRA, e);

	phase(r, "disk");
	if (disk_create(r->conn, r->pl->domain_name, r->work_dir, "scratch.qcow2", r->pl->disk_bytes, &r->dsk, &e) < 0)
		return fail_err(r, RUNNER_INFRA, e);

	phase(r, "boot");
	if (plan_domain_xml(r->pl, &xml, &e) < 0)
		return fail_err(r, RUNNER_INFRA, e);
	r->deadline = proc_now_s() + r->j->timeout_s;
	if (vm_start(r->conn, xml, &r->dom, &e) < 0)
		return fail_err(r, RUNNER_INFRA, e);
	r->last_alive_check = proc_now_s();
	r->boot_deadline = proc_now_s() + BOOT_GRACE_S;
	if (connect_channel(r) < 0 || await_hello(r) < 0)
		return -1;

	phase(r, "inject");
	if (send_source(r) < 0)
		return -1;

	phase(r, "build");
	return converse(r);
}

int runner_run(const job *j, const runner_opts *o, const runner_events *ev, runner_result *ret)
{
	struct run r = { .j = j, .o = o, .ev = ev, .status = RUNNER_OK, .lockfd = -1, .chan = -1 };
	int rc;

	wire_reader_init(&r.rd, WIRE_MAX_PAYLOAD);
	r.phases = json_object();
	iso8601(r.started_at);
	r.deadline = proc_now_s() + j->timeout_s + 3600;
	r.job_id = runner_new_job_id(j->name);
	if (!r.job_id)
		fail(&r, RUNNER_INFRA, "cannot generate a job id");
	else
		run_inner(&r);
	run_cleanup(&r);
	write_result(&r);

	*ret = (runner_result){ .status = r.status, .job_id = r.job_id, .message = r.message };
	ret->out_dir = r.st ? strdup(store_dir(r.st)) : NULL;
	rc = r.status == RUNNER_OK ? 0 : -1;

	store_free(r.st);
	source_free(r.src);
	image_free(r.img);
	plan_free(r.pl);
	wire_reader_free(&r.rd);
	json_decref(r.phases);
	json_decref(r.guest_result);
	free(r.agent_ident);
	free(r.work_dir);
	return rc;
}

int runner_sweep(const char *uri, const char *work_root, unsigned *ret_removed, sb_err **err)
{
	_cleanup_(virConnectClosep) virConnectPtr conn = NULL;
	DIR *d = opendir(work_root);
	struct dirent *de;
	unsigned removed = 0;

	if (!d) {
		if (errno == ENOENT) {
			*ret_removed = 0;
			return 0;
		}
		return sb_err_sys(err, errno, "%s", work_root);
	}
	while ((de = readdir(d))) {
		char dir[4096], lock[4200], name[4200];
		_cleanup_close_ int fd = -1;

		struct stat st;
		size_t n = strlen(de->d_name);
		bool pending = de->d_name[0] == '.' && n > 5 && !strcmp(de->d_name + n - 4, ".new");

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || (de->d_name[0] == '.' && !pending))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", work_root, de->d_name);
		snprintf(lock, sizeof(lock), "%s/lock", dir);
		fd = open(lock, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* a live run owns it */
		/* A folder a run is creating this very moment has no lock yet. */
		if (fd < 0 && (stat(dir, &st) < 0 || time(NULL) - st.st_mtime < 60))
			continue;
		if (!conn && vm_connect(uri, &conn, err) < 0) {
			closedir(d);
			return -EIO;
		}
		snprintf(name, sizeof(name), "snpbuild-%.*s", pending ? (int)(n - 5) : (int)n,
			 pending ? de->d_name + 1 : de->d_name);
		vm_destroy_by_name(conn, name, NULL);
		virStoragePoolPtr pool = virStoragePoolLookupByName(conn, name);
		if (pool) {
			virStoragePoolDestroy(pool);
			virStoragePoolFree(pool);
		}
		if (rm_work_dir(dir) == 0)
			removed++;
	}
	closedir(d);
	*ret_removed = removed;
	return 0;
}
