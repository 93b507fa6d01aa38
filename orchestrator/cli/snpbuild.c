/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The snpbuild front end. Verbs that drive VMs (run, plan, host-check) live in
 * snpbuild-host, which links libvirt; the offline verbs (measure, verify,
 * verify-report) stay here, so a reference-value or verification command does
 * not pay for loading libvirt and its sixty libraries.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "cli.h"

#ifdef SNPBUILD_HOST_BINARY
#define HOST(fn) fn
#define OFFLINE(fn) NULL
#else
#define HOST(fn) NULL
#define OFFLINE(fn) fn
#endif

static const struct cli_verb verbs[] = {
	{ "run", HOST(cmd_run), "run one job in a fresh VM: snpbuild run job.json" },
	{ "plan", HOST(cmd_plan), "print the launch plan, expected measurement and domain XML (launches nothing)" },
	{ "host-check", HOST(cmd_host_check), "what this host can launch (SEV-SNP), and why not" },
	{ "measure", OFFLINE(cmd_measure), "compute an SNP launch digest (reference value)" },
	{ "verify", OFFLINE(cmd_verify), "verify an artifact: provenance, signature, report, AMD chain" },
	{ "verify-report", OFFLINE(cmd_verify_report), "verify an SNP attestation report and its AMD chain" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: snpbuild VERB [ARGS...]\n\nverbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-15s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\n'snpbuild VERB --help' describes a verb.\n");
}

/* The other binary: beside this one (build tree), else in libexecdir. */
static int exec_other(char **argv)
{
	const char *name = OTHER_BINARY;
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", self, name);
			if (access(path, X_OK) == 0)
				execv(path, argv);
		}
	}
	snprintf(path, sizeof(path), "%s/%s", SNPBUILD_LIBEXECDIR, name);
	execv(path, argv);
	fprintf(stderr, "snpbuild: cannot run %s: %s\n", path, strerror(errno));
	return EXIT_INFRA;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_BAD_INPUT;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("snpbuild %s\n", SNPBUILD_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[1], verbs[i].name))
			continue;
		if (!verbs[i].fn)
			return exec_other(argv);
		return verbs[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "snpbuild: unknown verb '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_BAD_INPUT;
}
