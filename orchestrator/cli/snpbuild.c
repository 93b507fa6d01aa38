/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "cli.h"

static const struct cli_verb verbs[] = {
	{ "run", cmd_run, "run one job in a fresh VM: snpbuild run job.json" },
#ifndef NO_MEASURE
	{ "measure", cmd_measure, "compute an SNP launch digest" },
#endif
#ifndef NO_VERIFY_REPORT
	{ "verify-report", cmd_verify_report, "verify an SNP attestation report and its AMD chain" },
#endif
};

static void usage(FILE *f)
{
	fprintf(f, "usage: snpbuild VERB [ARGS...]\n\nverbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-15s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\n'snpbuild VERB --help' describes a verb.\n");
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
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "snpbuild: unknown verb '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_BAD_INPUT;
}
