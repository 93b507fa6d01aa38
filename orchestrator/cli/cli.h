/* SPDX-License-Identifier: Apache-2.0 */
/* The snpbuild front end: one file per verb, each parses its arguments,
 * calls the library and prints. */
#pragma once

#include <stdint.h>

/* Exit statuses, documented in README.md. */
enum {
	EXIT_OK = 0,
	EXIT_BUILD_FAILED = 1, /* a build step exited non-zero; verify: a check failed */
	EXIT_BAD_INPUT = 2,    /* usage error or invalid input file */
	EXIT_INFRA = 3,        /* host, libvirt, VM or channel failure */
	EXIT_TIMEOUT = 4,      /* the job ran past resources.timeout */
	EXIT_INTERRUPTED = 5,  /* SIGINT / SIGTERM; everything was cleaned up */
};

struct cli_verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

/* Parses a number (decimal, 0x hex or 0 octal) in 0..max for option opt;
 * prints "<verb>: <opt>: ..." and returns -EINVAL otherwise. */
int cli_parse_u64(const char *verb, const char *opt, const char *s, uint64_t max, uint64_t *out);

int cmd_measure(int argc, char **argv);
int cmd_verify_report(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_host_check(int argc, char **argv);
int cmd_image(int argc, char **argv);
