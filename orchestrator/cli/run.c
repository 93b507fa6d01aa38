/* SPDX-License-Identifier: Apache-2.0 */
/* snpbuild run JOB.json: one job in a fresh VM. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "job.h"
#include "plan.h"
#include "runner.h"

#define DEFAULT_WORK_ROOT "/var/tmp/snpbuild"

static void usage(FILE *f)
{
	fputs("usage: snpbuild run JOB.json [options]\n"
	      "\n"
	      "Runs the job in a fresh VM and writes its outputs to OUT/<job-id>/.\n"
	      "\n"
	      "  -o, --out DIR          output root (default: ./out)\n"
	      "      --image DIR        guest image folder or manifest.json\n"
	      "                         (default: $SNPBUILD_IMAGE, else the build tree's guest-image/)\n"
	      "      --work-dir DIR     per-job work folders (default: " DEFAULT_WORK_ROOT ")\n"
	      "  -c, --connect URI      libvirt URI (default: qemu:///system)\n"
	      "      --accel tcg|kvm    accelerator (default: kvm for tee snp, tcg for tee none;\n"
	      "                         $SNPBUILD_ACCEL overrides the default)\n"
	      "      --firmware FILE    AmdSev OVMF ROM for tee snp\n"
	      "      --kds-cache DIR    AMD KDS cache: store the report's VCEK in the bundle\n"
	      "      --transport auto|vsock|virtio-serial   host-guest channel (default: auto)\n"
	      "  -q, --quiet            no build output, only phases and the summary\n"
	      "\n"
	      "Exit status: 0 success, 1 a build step failed, 2 bad input, 3 infrastructure\n"
	      "failure, 4 timeout, 5 interrupted (SIGINT/SIGTERM/SIGHUP).\n",
	      f);
}

struct ui {
	bool quiet;
	bool mid_line;   /* the build's output on stdout did not end with a newline */
	uint8_t held[4]; /* a UTF-8 sequence split across two chunks */
	size_t n_held;
};

/* Our own lines start on a line of their own, whatever the build printed. */
static void own_line(struct ui *u)
{
	if (u->mid_line) {
		fputc('\n', stdout);
		fflush(stdout);
		u->mid_line = false;
	}
}

static void on_phase_begin(void *ud, const char *phase)
{
	own_line(ud);
	fprintf(stderr, "snpbuild: [%s] ...\n", phase);
}

static void on_phase_end(void *ud, const char *phase, double s, const char *outcome)
{
	own_line(ud);
	if (outcome)
		fprintf(stderr, "snpbuild: [%s] stopped after %.2f s: %s\n", phase, s, outcome);
	else
		fprintf(stderr, "snpbuild: [%s] done in %.2f s\n", phase, s);
}

/* Length of the valid UTF-8 sequence at p (2-4 bytes) and its code point; 0
 * when invalid, -1 when it may still complete with more bytes. */
static int utf8_seq(const uint8_t *p, size_t left, uint32_t *cp)
{
	int n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : 0;
	uint32_t v;

	if (n == 0 || p[0] > 0xf4)
		return 0;
	v = p[0] & (0x7f >> n);
	for (int k = 1; k < n; k++) {
		if ((size_t)k >= left)
			return -1;
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[k] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* Guest bytes reach the user's terminal without terminal controls: C0 and C1
 * controls (but newline and tab) in caret or <U+XXXX> notation, bytes that
 * are not UTF-8 as <XX>, and bidirectional overrides shown, not obeyed, so
 * a build cannot clear the screen, retitle the window, rewrite or reorder a
 * line. log.txt keeps the bytes as they came. */
static void put_sanitized(FILE *f, const uint8_t *p, size_t len, struct ui *u)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		uint32_t cp = 0;
		int n;

		if (c < 0x80) {
			if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f))
				fputc(c, f);
			else
				fprintf(f, "^%c", c == 0x7f ? '?' : c + 0x40);
			continue;
		}
		n = utf8_seq(p + i, len - i, &cp);
		if (n < 0 && u && len - i < sizeof(u->held)) {
			memcpy(u->held, p + i, len - i); /* finish it with the next chunk */
			u->n_held = len - i;
			return;
		}
		if (n <= 0) {
			fprintf(f, "<%02X>", c);
			continue;
		}
		if ((cp >= 0x80 && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
		    cp == 0x200e || cp == 0x200f)
			fprintf(f, "<U+%04X>", (unsigned)cp);
		else
			fwrite(p + i, 1, (size_t)n, f);
		i += (size_t)n - 1;
	}
}

static void on_log(void *ud, const void *buf, size_t len)
{
	struct ui *u = ud;
	uint8_t joined[2 * sizeof(u->held)];

	if (u->quiet || len == 0)
		return;
	if (u->n_held) {
		/* complete the held sequence with the bytes it lacks from this chunk */
		uint8_t lead = u->held[0];
		size_t held = u->n_held, want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
		size_t take = want > held ? want - held : 0;
		if (take > len)
			take = len;
		memcpy(joined, u->held, held);
		memcpy(joined + held, buf, take);
		u->n_held = 0;
		put_sanitized(stdout, joined, held + take, NULL);
		buf = (const uint8_t *)buf + take;
		len -= take;
	}
	put_sanitized(stdout, buf, len, u);
	if (len)
		u->mid_line = ((const uint8_t *)buf)[len - 1] != '\n';
	fflush(stdout);
}

static void on_notice(void *ud, const char *msg)
{
	own_line(ud);
	fputs("snpbuild: ", stderr);
	put_sanitized(stderr, (const uint8_t *)msg, strlen(msg), NULL);
	fputc('\n', stderr);
}

static int exit_for(runner_status s)
{
	switch (s) {
	case RUNNER_OK: return EXIT_OK;
	case RUNNER_STEP_FAILED: return EXIT_BUILD_FAILED;
	case RUNNER_BAD_INPUT: return EXIT_BAD_INPUT;
	case RUNNER_TIMEOUT: return EXIT_TIMEOUT;
	case RUNNER_INTERRUPTED: return EXIT_INTERRUPTED;
	case RUNNER_INFRA: break;
	}
	return EXIT_INFRA;
}

static void print_summary(const runner_result *res)
{
	_cleanup_free_ char *path = NULL;
	json_t *root, *arts, *a;
	size_t i;

	if (!res->out_dir || asprintf(&path, "%s/result.json", res->out_dir) < 0)
		return;
	root = json_load_file(path, 0, NULL);
	arts = json_object_get(root, "artifacts");
	if (json_array_size(arts) > 0)
		fprintf(stderr, "snpbuild: artifacts:\n");
	json_array_foreach(arts, i, a)
		fprintf(stderr, "  %s  %10lld  %s\n", json_string_value(json_object_get(a, "sha256")),
			(long long)json_integer_value(json_object_get(a, "size")),
			json_string_value(json_object_get(a, "name")));
	json_decref(root);
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "image", required_argument, NULL, 'i' },
		{ "work-dir", required_argument, NULL, 'w' },
		{ "connect", required_argument, NULL, 'c' },
		{ "accel", required_argument, NULL, 'a' },
		{ "firmware", required_argument, NULL, 'f' },
		{ "kds-cache", required_argument, NULL, 'k' },
		{ "transport", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_err_ sb_err *e = NULL;
	_cleanup_job_ job *j = NULL;
	_cleanup_free_ char *default_image = NULL;
	runner_opts o = { .out_root = "out", .work_root = DEFAULT_WORK_ROOT, .force_transport = -1,
			  .cancel_fd = -1 };
	const char *accel = getenv("SNPBUILD_ACCEL");
	bool accel_given = false;
	struct ui u = { 0 };
	runner_result res = { 0 };
	int c, rc;

	while ((c = getopt_long(argc, argv, "o:c:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.out_root = optarg; break;
		case 'i': o.image = optarg; break;
		case 'w': o.work_root = optarg; break;
		case 'c': o.uri = optarg; break;
		case 'a': accel = optarg; accel_given = true; break;
		case 'f': o.firmware = optarg; break;
		case 'k': o.kds_cache = optarg; break;
		case 't':
			if (!strcmp(optarg, "vsock"))
				o.force_transport = PLAN_TRANSPORT_VSOCK;
			else if (!strcmp(optarg, "virtio-serial"))
				o.force_transport = PLAN_TRANSPORT_VIRTIO_SERIAL;
			else if (strcmp(optarg, "auto")) {
				fprintf(stderr, "snpbuild run: --transport: must be auto, vsock or virtio-serial\n");
				return EXIT_BAD_INPUT;
			}
			break;
		case 'q': u.quiet = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_BAD_INPUT;
		}
	}
	if (optind != argc - 1) {
		if (optind < argc - 1)
			fprintf(stderr, "snpbuild run: one JOB.json only ('%s' is extra)\n\n", argv[optind + 1]);
		else
			fprintf(stderr, "snpbuild run: name the JOB.json to run\n\n");
		usage(stderr);
		return EXIT_BAD_INPUT;
	}
	o.display = argv[optind];

	/* Everything about the job is validated before anything is created. */
	if (job_load(argv[optind], &j, &e) < 0) {
		fprintf(stderr, "%s\n", e->msg);
		return EXIT_BAD_INPUT;
	}
	if (!accel)
		accel = j->tee == JOB_TEE_SNP ? "kvm" : "tcg";
	if (!strcmp(accel, "tcg"))
		o.domain_type = "qemu";
	else if (!strcmp(accel, "kvm"))
		o.domain_type = "kvm";
	else {
		fprintf(stderr, "snpbuild run: %s: must be tcg or kvm\n", accel_given ? "--accel" : "SNPBUILD_ACCEL");
		return EXIT_BAD_INPUT;
	}
	if (j->tee == JOB_TEE_SNP && !strcmp(accel, "tcg")) {
		fprintf(stderr, "%s: tee: \"snp\" needs --accel kvm (SEV-SNP is a KVM feature)\n", o.display);
		return EXIT_BAD_INPUT;
	}
	if (!o.image) {
		o.image = getenv("SNPBUILD_IMAGE");
		if (!o.image && asprintf(&default_image, "%s/guest-image", SNPBUILD_BUILD_ROOT) >= 0)
			o.image = default_image;
	}
	/* Options that cannot work are bad input, found before anything exists. */
	struct stat st;
	if (o.image && stat(o.image, &st) < 0) {
		fprintf(stderr, "snpbuild run: --image %s: %s (build one with: meson compile -C build guest-image)\n",
			o.image, strerror(errno));
		return EXIT_BAD_INPUT;
	}
	if (stat(o.out_root, &st) == 0 && !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "snpbuild run: --out %s: not a directory\n", o.out_root);
		return EXIT_BAD_INPUT;
	}
	if (stat(o.work_root, &st) == 0 && !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "snpbuild run: --work-dir %s: not a directory\n", o.work_root);
		return EXIT_BAD_INPUT;
	}
	if (o.force_transport == PLAN_TRANSPORT_VSOCK && access("/dev/vhost-vsock", R_OK | W_OK) < 0) {
		fprintf(stderr, "snpbuild run: --transport vsock: /dev/vhost-vsock: %s (the vhost_vsock module?)\n",
			strerror(errno));
		return EXIT_BAD_INPUT;
	}

	if (j->tee == JOB_TEE_NONE)
		fprintf(stderr, "snpbuild: INSECURE DEVELOPMENT MODE (tee \"none\"): a plain VM without SEV-SNP; "
				"the host can read and change this build. Evidence and result.json say so.\n");

	/* SIGINT/SIGTERM become a readable fd the runner watches, so it can
	 * destroy the VM and delete the disk before exiting. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	o.cancel_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	unsigned swept = 0;
	if (runner_sweep(o.uri, o.work_root, &swept, &e) == 0 && swept > 0)
		fprintf(stderr, "snpbuild: removed %u leftover work folder(s) of dead runs in %s\n", swept,
			o.work_root);
	sb_err_freep(&e);

	fprintf(stderr, "snpbuild: job %s (sha256 of the descriptor = host_data)\n", j->name);
	runner_events ev = { .phase_begin = on_phase_begin, .phase_end = on_phase_end, .log = on_log,
			     .notice = on_notice, .ud = &u };
	runner_run(j, &o, &ev, &res);

	rc = exit_for(res.status);
	print_summary(&res);
	if (res.status == RUNNER_OK)
		fprintf(stderr, "snpbuild: success: %s\n", res.out_dir);
	else
		fprintf(stderr, "snpbuild: %s: %s%s%s\n", runner_status_name(res.status),
			res.message ? res.message : "", res.out_dir ? "; outputs: " : "",
			res.out_dir ? res.out_dir : "");
	runner_result_clear(&res);
	if (o.cancel_fd >= 0)
		close(o.cancel_fd);
	return rc;
}
