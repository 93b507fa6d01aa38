/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verifications per second with the chain cached (attest_verify on a real
 * report, its VCEK and the pinned roots, the same attest_ctx throughout),
 * against `openssl speed -seconds 3 ecdsap384` verify, run in the same
 * invocation on the same machine. Prints both and the ratio.
 *
 *   bench-attest [SECONDS]    (env SNPBUILD_FIXTURES, SNPBUILD_SOURCE_ROOT override config.h)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest.h"
#include "config.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* verify/s of "384 bits ecdsa (nistp384)" from openssl speed; <0 if unknown. */
static double openssl_speed(int seconds)
{
	char cmd[128], line[512];
	double best = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d ecdsap384 2>/dev/null", seconds);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *s = strstr(line, "ecdsa (nistp384)");
		double sign_t, verify_t, sign_s, verify_s;
		if (s && sscanf(s + strlen("ecdsa (nistp384)"), "%lfs %lfs %lf %lf", &sign_t, &verify_t, &sign_s,
				&verify_s) == 4)
			best = verify_s;
	}
	pclose(p);
	return best;
}

int main(int argc, char **argv)
{
	const char *fixtures = getenv("SNPBUILD_FIXTURES") ? getenv("SNPBUILD_FIXTURES") : SNPBUILD_FIXTURES;
	const char *src = getenv("SNPBUILD_SOURCE_ROOT") ? getenv("SNPBUILD_SOURCE_ROOT") : SNPBUILD_SOURCE_ROOT;
	int seconds = argc > 1 ? atoi(argv[1]) : 3;
	char path[4096], roots[4096];
	_cleanup_err_ sb_err *err = NULL;
	attest_ctx *ctx = NULL;
	STACK_OF(X509) *certs = NULL;
	struct attest_report r;
	struct attest_policy pol;
	struct attest_evidence ev = { 0 };
	struct attest_verdict *v = NULL;
	double t0, t1, ours, theirs;
	long n = 0;

	if (seconds <= 0)
		seconds = 3;
	snprintf(roots, sizeof(roots), "%s/data/amd", src);
	snprintf(path, sizeof(path), "%s/snp/trustee/test-report.bin", fixtures);
	if (attest_report_load(path, &r, &err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/snp/trustee/test-vcek.der", fixtures);
	if (attest_certs_load(path, &certs, &err) < 0)
		goto fail;
	if (attest_ctx_new(roots, &ctx, &err) < 0)
		goto fail;
	ev.endorsement = sk_X509_value(certs, 0);
	attest_policy_init(&pol);
	if (attest_parse_time("2023-02-23T17:58:26Z", &pol.at, &err) < 0)
		goto fail;

	/* The first call verifies and caches the chain; it must say valid. */
	if (attest_verify(ctx, &r, &ev, &pol, &v, &err) < 0)
		goto fail;
	if (!v->valid) {
		fprintf(stderr, "bench-attest: the fixture does not verify: %s\n", v->n_reasons ? v->reasons[0].msg : "?");
		return 1;
	}
	attest_verdict_free(v);

	t0 = now();
	do {
		for (int i = 0; i < 64; i++) {
			if (attest_verify(ctx, &r, &ev, &pol, &v, &err) < 0 || !v->valid)
				goto fail;
			attest_verdict_free(v);
			n++;
		}
		t1 = now();
	} while (t1 - t0 < seconds);
	ours = (double)n / (t1 - t0);

	theirs = openssl_speed(seconds);
	printf("attest_verify (chain cached): %.1f verifications/s (%ld in %.2fs)\n", ours, n, t1 - t0);
	if (theirs <= 0) {
		printf("openssl speed -seconds %d ecdsap384: not available; no ratio\n", seconds);
		return 0;
	}
	printf("openssl speed -seconds %d ecdsap384 verify: %.1f verify/s\n", seconds, theirs);
	printf("ratio: %.1f %% (goal >= 90 %%)\n", 100.0 * ours / theirs);
	sk_X509_pop_free(certs, X509_free);
	attest_ctx_free(ctx);
	return 0;
fail:
	fprintf(stderr, "bench-attest: %s\n", err && err->msg ? err->msg : "verification failed");
	return 1;
}
