/* SPDX-License-Identifier: Apache-2.0 */
/* snpbuild host-check: what this host can launch, and for each missing piece why. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "host.h"
#include "vm.h"

static void usage(FILE *f)
{
	fputs("usage: snpbuild host-check [--json] [--firmware FILE] [--connect URI]\n"
	      "\n"
	      "Asks libvirt (domain capabilities for type kvm, SEV information, versions) and the\n"
	      "host (/dev/sev, /dev/vhost-vsock, an AmdSev OVMF) whether tee \"snp\" jobs can run.\n"
	      "\n"
	      "      --json           the report as JSON\n"
	      "      --firmware FILE  check this firmware instead of searching the default places\n"
	      "  -c, --connect URI    libvirt URI (default: qemu:///system)\n"
	      "\n"
	      "Exit status: 0 tee \"snp\" can run here, 1 it cannot (each reason printed),\n"
	      "2 usage, 3 libvirt could not be asked.\n",
	      f);
}

int cmd_host_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "firmware", required_argument, NULL, 'f' },
		{ "connect", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_err_ sb_err *e = NULL;
	_cleanup_(host_info_freep) host_info *h = NULL;
	_cleanup_(virConnectClosep) virConnectPtr conn = NULL;
	_cleanup_free_ char *reason = NULL;
	host_probe_opts o = { .domain_type = "kvm" };
	const char *uri = NULL;
	bool json = false, ready;
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'f': o.firmware = optarg; break;
		case 'c': uri = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_BAD_INPUT;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_BAD_INPUT;
	}
	if (vm_connect(uri, &conn, &e) < 0 || host_probe(conn, &o, &h, &e) < 0) {
		fprintf(stderr, "snpbuild host-check: %s\n", e->msg);
		return EXIT_INFRA;
	}
	ready = host_snp_ready(h, &reason);
	if (json) {
		json_t *j = host_info_json(h);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(j);
		return ready ? EXIT_OK : EXIT_BUILD_FAILED;
	}
	for (size_t i = 0; i < HOST_N_ITEMS; i++)
		printf("%-18s %-4s %s\n", host_item_name(i), h->items[i].ok ? "ok" : "NO", h->items[i].detail);
	printf("%-18s      %u CPUs, %llu MiB, up to %u vCPUs per q35 VM\n", "host", h->host_cpus,
	       (unsigned long long)h->host_memory_mib, h->max_vcpus);
	if (h->has_sev_params)
		printf("%-18s      cbitpos %u, reducedPhysBits %u, max SEV guests %u, max SNP (SEV-ES) guests %u\n",
		       "sev", h->cbitpos, h->reduced_phys_bits, h->max_guests, h->max_es_guests);
	if (ready)
		printf("\ntee \"snp\" jobs can run on this host.\n");
	else
		printf("\ntee \"snp\" jobs cannot run on this host; tee \"none\" (the insecure development mode) "
		       "can.\n");
	return ready ? EXIT_OK : EXIT_BUILD_FAILED;
}
