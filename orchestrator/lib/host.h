/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What this host can launch: libvirt's domain capabilities and SEV
 * information, the libvirt and QEMU versions, the devices SNP needs and a
 * firmware fit for measured direct boot. Each missing piece says why.
 */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* The first releases with SEV-SNP guests. */
#define HOST_MIN_LIBVIRT_VERSION 10005000ul /* 10.5.0 */
#define HOST_MIN_QEMU_VERSION 9001000ul     /* 9.1.0 */

/* Where an AmdSev OVMF is looked for when none is named (first found wins). */
#define HOST_FIRMWARE_SEARCH                                                                      \
	"/usr/share/snpbuild/OVMF.amdsev.fd", "/usr/share/ovmf/OVMF.amdsev.fd",                   \
		"/usr/share/OVMF/OVMF.amdsev.fd", "/usr/share/edk2/ovmf/OVMF.amdsev.fd",          \
		"/usr/share/edk2/x64/OVMF.amdsev.fd"

enum host_item {
	HOST_LIBVIRT,      /* libvirt >= 10.5 */
	HOST_QEMU,         /* QEMU >= 9.1 */
	HOST_KVM,          /* domain type kvm available */
	HOST_SNP,          /* launchSecurity sev-snp in the domain capabilities */
	HOST_SEV_INFO,     /* virNodeGetSEVInfo answers (cbitpos, reducedPhysBits, guests) */
	HOST_DEV_SEV,      /* /dev/sev */
	HOST_DEV_VSOCK,    /* /dev/vhost-vsock */
	HOST_FIRMWARE,     /* an AmdSev OVMF with SNP metadata and a kernel-hashes section */
	HOST_N_ITEMS,
};

typedef struct host_check {
	bool ok;
	char *detail; /* what was found, or why it is missing */
} host_check;

typedef struct host_info {
	char *domain_type;          /* the domain type the capabilities were asked for */
	unsigned long libvirt_version, qemu_version; /* major * 1e6 + minor * 1e3 + micro; 0 unknown */
	bool has_sev_params;        /* cbitpos etc. known (domain capabilities or SEV info) */
	unsigned cbitpos, reduced_phys_bits;
	unsigned max_guests;        /* SEV guests */
	unsigned max_es_guests;     /* SEV-ES and SEV-SNP guests share these ASIDs */
	unsigned max_vcpus;         /* libvirt's limit for the machine type; 0 unknown */
	unsigned host_cpus;         /* online CPUs */
	uint64_t host_memory_mib;
	char *firmware;             /* the firmware checked (named or found) */
	host_check items[HOST_N_ITEMS];
} host_info;

typedef struct host_probe_opts {
	const char *domain_type; /* NULL: "kvm" (SNP is a KVM feature) */
	const char *firmware;    /* NULL: search HOST_FIRMWARE_SEARCH */
	bool capacity_only;      /* CPUs and memory only (a tee none run needs no more) */
} host_probe_opts;

/* Asks libvirt and the host. Fails only when libvirt cannot be asked at all. */
int host_probe(virConnectPtr conn, const host_probe_opts *o, host_info **ret, sb_err **err);
void host_info_free(host_info *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(host_info *, host_info_free)

const char *host_item_name(enum host_item i);
/* Whether every piece a tee "snp" launch needs is there; if not, *ret_reason
 * (malloc'd) lists each missing piece and why. */
bool host_snp_ready(const host_info *h, char **ret_reason);
/* A VM of this shape fits the host; else *ret_reason (malloc'd) names the field. */
bool host_fits(const host_info *h, unsigned vcpus, unsigned memory_mib, char **ret_reason);

/* Checks a firmware file is an AmdSev OVMF usable for a measured SNP direct
 * boot: SEV metadata with the SNP sections, an SEV-ES reset block and (when
 * need_kernel_hashes) a kernel-hashes section and table. */
int host_check_firmware(const char *path, bool need_kernel_hashes, sb_err **err);
/* The first firmware of HOST_FIRMWARE_SEARCH that exists, or NULL. */
const char *host_default_firmware(void);

/* The report as JSON (jansson json_t *). */
struct json_t;
struct json_t *host_info_json(const host_info *h);

/* "11.3.0" */
void host_version_string(unsigned long v, char out[32]);
