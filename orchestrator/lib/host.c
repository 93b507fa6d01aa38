/* SPDX-License-Identifier: Apache-2.0 */
#include "host.h"
#include "xmlq.h"

#include <jansson.h>
#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "measure.h"
#include "vm.h"

static const char *const item_names[HOST_N_ITEMS] = {
	[HOST_LIBVIRT] = "libvirt",      [HOST_QEMU] = "qemu",         [HOST_KVM] = "kvm",
	[HOST_SNP] = "sev-snp",          [HOST_SEV_INFO] = "sev-info", [HOST_DEV_SEV] = "/dev/sev",
	[HOST_DEV_VSOCK] = "/dev/vhost-vsock", [HOST_FIRMWARE] = "firmware",
};

const char *host_item_name(enum host_item i)
{
	return i < HOST_N_ITEMS ? item_names[i] : "?";
}

void host_version_string(unsigned long v, char out[32])
{
	snprintf(out, 32, "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
}

void host_info_free(host_info *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < HOST_N_ITEMS; i++)
		free(h->items[i].detail);
	free(h->domain_type);
	free(h->firmware);
	free(h);
}

static void set_item(host_info *h, enum host_item i, bool ok, const char *fmt, ...) _printf_(4, 5);
static void set_item(host_info *h, enum host_item i, bool ok, const char *fmt, ...)
{
	va_list ap;

	free(h->items[i].detail);
	h->items[i].ok = ok;
	va_start(ap, fmt);
	if (vasprintf(&h->items[i].detail, fmt, ap) < 0)
		h->items[i].detail = NULL;
	va_end(ap);
}

/* --- domain capabilities ----------------------------------------------------- */

static void probe_domcaps(virConnectPtr conn, host_info *h)
{
	_cleanup_free_ char *xml = virConnectGetDomainCapabilities(conn, NULL, "x86_64", "q35", h->domain_type, 0);
	_cleanup_free_ char *snp = NULL, *sev = NULL;
	_cleanup_xmlq_ xmlq *c = NULL;

	if (!xml) {
		set_item(h, HOST_KVM, false, "libvirt has no domain capabilities for type '%s' (x86_64, q35): %s",
			 h->domain_type, vm_last_error());
		set_item(h, HOST_SNP, false, "unknown: libvirt reports no domain capabilities for type '%s'",
			 h->domain_type);
		return;
	}
	set_item(h, HOST_KVM, true, "libvirt offers domain type '%s'", h->domain_type);
	c = xmlq_parse(xml);
	if (!c) {
		set_item(h, HOST_SNP, false, "libvirt's domain capabilities could not be parsed");
		return;
	}
	xmlq_uint(c, "string(/domainCapabilities/vcpu/@max)", &h->max_vcpus);
	sev = xmlq_string(c, "string(/domainCapabilities/features/sev/@supported)");
	if (sev && !strcmp(sev, "yes")) {
		h->has_sev_params = xmlq_uint(c, "string(/domainCapabilities/features/sev/cbitpos)", &h->cbitpos) &&
				    xmlq_uint(c, "string(/domainCapabilities/features/sev/reducedPhysBits)",
					      &h->reduced_phys_bits);
		xmlq_uint(c, "string(/domainCapabilities/features/sev/maxGuests)", &h->max_guests);
		xmlq_uint(c, "string(/domainCapabilities/features/sev/maxESGuests)", &h->max_es_guests);
	}
	snp = xmlq_string(c, "string(/domainCapabilities/features/launchSecurity[@supported='yes']"
			      "/enum[@name='sectype']/value[text()='sev-snp'])");
	if (snp)
		set_item(h, HOST_SNP, true, "libvirt's domain capabilities offer launchSecurity 'sev-snp'");
	else
		set_item(h, HOST_SNP, false,
			 "libvirt's domain capabilities list no 'sev-snp' launch security on this host "
			 "(no SEV-SNP hardware, firmware or kernel support, or a QEMU without it)");
}

static void probe_sev_info(virConnectPtr conn, host_info *h)
{
	virTypedParameterPtr params = NULL;
	int n = 0;
	unsigned v, got = 0;

	if (virNodeGetSEVInfo(conn, &params, &n, 0) < 0) {
		set_item(h, HOST_SEV_INFO, false, "libvirt has no SEV information for this host: %s", vm_last_error());
		return;
	}
	if (virTypedParamsGetUInt(params, n, VIR_NODE_SEV_CBITPOS, &v) == 1)
		h->cbitpos = v, got++;
	if (virTypedParamsGetUInt(params, n, VIR_NODE_SEV_REDUCED_PHYS_BITS, &v) == 1)
		h->reduced_phys_bits = v, got++;
	if (got == 2)
		h->has_sev_params = true;
	if (virTypedParamsGetUInt(params, n, VIR_NODE_SEV_MAX_GUESTS, &v) == 1)
		h->max_guests = v;
	if (virTypedParamsGetUInt(params, n, VIR_NODE_SEV_MAX_ES_GUESTS, &v) == 1)
		h->max_es_guests = v;
	virTypedParamsFree(params, n);
	if (h->max_es_guests == 0)
		set_item(h, HOST_SEV_INFO, false,
			 "cbitpos %u, reducedPhysBits %u, but no SEV-ES/SNP guest slots (max-es-guests 0: "
			 "check the BIOS's SEV-ES ASID range)",
			 h->cbitpos, h->reduced_phys_bits);
	else
		set_item(h, HOST_SEV_INFO, true, "cbitpos %u, reducedPhysBits %u, up to %u SNP guests",
			 h->cbitpos, h->reduced_phys_bits, h->max_es_guests);
}

static void probe_versions(virConnectPtr conn, host_info *h)
{
	unsigned long v = 0;
	char s[32], min[32];

	host_version_string(HOST_MIN_LIBVIRT_VERSION, min);
	if (virConnectGetLibVersion(conn, &v) < 0) {
		set_item(h, HOST_LIBVIRT, false, "libvirt's version is unknown: %s", vm_last_error());
	} else {
		h->libvirt_version = v;
		host_version_string(v, s);
		set_item(h, HOST_LIBVIRT, v >= HOST_MIN_LIBVIRT_VERSION, "libvirt %s (SEV-SNP needs >= %s)", s, min);
	}
	host_version_string(HOST_MIN_QEMU_VERSION, min);
	v = 0;
	if (virConnectGetVersion(conn, &v) < 0 || v == 0) {
		set_item(h, HOST_QEMU, false, "QEMU's version is unknown: %s", vm_last_error());
	} else {
		h->qemu_version = v;
		host_version_string(v, s);
		set_item(h, HOST_QEMU, v >= HOST_MIN_QEMU_VERSION, "QEMU %s (SEV-SNP needs >= %s)", s, min);
	}
}

static void probe_device(host_info *h, enum host_item i, const char *path, const char *missing)
{
	if (access(path, R_OK | W_OK) == 0)
		set_item(h, i, true, "%s is available", path);
	else
		set_item(h, i, false, "%s: %s (%s)", path, strerror(errno), missing);
}

/* --- firmware ------------------------------------------------------------------ */

const char *host_default_firmware(void)
{
	static const char *const search[] = { HOST_FIRMWARE_SEARCH };
	for (size_t i = 0; i < ELEMENTSOF(search); i++)
		if (access(search[i], R_OK) == 0)
			return search[i];
	return NULL;
}

static int read_firmware(const char *path, uint8_t **ret, size_t *ret_len, sb_err **err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;

	if (!f)
		return sb_err_sys(err, errno, "firmware %s", path);
	if (fstat(fileno(f), &st) < 0)
		return sb_err_sys(err, errno, "firmware %s", path);
	if (!S_ISREG(st.st_mode))
		return sb_err_set(err, EINVAL, "firmware %s: not a regular file", path);
	if (st.st_size <= 0 || (uint64_t)st.st_size > MEASURE_MAX_FIRMWARE_SIZE)
		return sb_err_set(err, EINVAL, "firmware %s: size %lld is not in 1..%u bytes", path,
				  (long long)st.st_size, MEASURE_MAX_FIRMWARE_SIZE);
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return sb_err_set(err, ENOMEM, "out of memory");
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		return sb_err_set(err, EIO, "firmware %s: short read", path);
	*ret_len = (size_t)st.st_size;
	*ret = TAKE_PTR(buf);
	return 0;
}

int host_check_firmware(const char *path, bool need_kernel_hashes, sb_err **err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct measure_ovmf ovmf;
	bool has[MEASURE_SECTION_SNP_KERNEL_HASHES + 1] = { 0 };
	size_t len = 0;
	int r;

	r = read_firmware(path, &buf, &len, err);
	if (r < 0)
		return r;
	r = measure_ovmf_parse(buf, len, &ovmf, err);
	if (r < 0)
		return sb_err_wrap(err, "firmware %s is not an SNP-capable OVMF", path);
	for (size_t i = 0; i < ovmf.n_sections; i++)
		if (ovmf.sections[i].type <= MEASURE_SECTION_SNP_KERNEL_HASHES)
			has[ovmf.sections[i].type] = true;
	if (!has[MEASURE_SECTION_SNP_SEC_MEM] || !has[MEASURE_SECTION_SNP_SECRETS] || !has[MEASURE_SECTION_CPUID])
		return sb_err_set(err, EINVAL,
				  "firmware %s: its SEV metadata lacks the SNP sections (SNP_SEC_MEM, SNP_SECRETS, "
				  "CPUID): not an SEV-SNP build of OVMF",
				  path);
	if (ovmf.ap_reset_eip == 0)
		return sb_err_set(err, EINVAL, "firmware %s: no SEV-ES reset block (APs cannot start under SNP)",
				  path);
	if (need_kernel_hashes && (!has[MEASURE_SECTION_SNP_KERNEL_HASHES] || !ovmf.has_hashes_table))
		return sb_err_set(err, EINVAL,
				  "firmware %s: no SNP kernel-hashes section, so a direct kernel boot cannot be "
				  "measured (use an AmdSev build: OvmfPkg/AmdSev/AmdSevX64.dsc, see ovmf/README.md)",
				  path);
	return 0;
}

static void probe_firmware(host_info *h, const char *named)
{
	_cleanup_err_ sb_err *e = NULL;
	const char *path = named ? named : host_default_firmware();

	if (!path) {
		set_item(h, HOST_FIRMWARE, false,
			 "no AmdSev OVMF found (give --firmware FILE, or install OVMF.amdsev.fd in "
			 "/usr/share/snpbuild/ or /usr/share/ovmf/; see ovmf/README.md)");
		return;
	}
	h->firmware = strdup(path);
	if (host_check_firmware(path, true, &e) < 0)
		set_item(h, HOST_FIRMWARE, false, "%s", e->msg);
	else
		set_item(h, HOST_FIRMWARE, true, "%s: AmdSev OVMF with SNP metadata and a kernel-hashes section",
			 path);
}

/* --- probe ---------------------------------------------------------------------- */

int host_probe(virConnectPtr conn, const host_probe_opts *o, host_info **ret, sb_err **err)
{
	_cleanup_(host_info_freep) host_info *h = calloc(1, sizeof(*h));
	virNodeInfo ni;

	if (!h)
		return sb_err_set(err, ENOMEM, "out of memory");
	h->domain_type = strdup(o && o->domain_type ? o->domain_type : "kvm");
	if (!h->domain_type)
		return sb_err_set(err, ENOMEM, "out of memory");
	if (virNodeGetInfo(conn, &ni) < 0)
		return sb_err_set(err, EIO, "libvirt: host information: %s", vm_last_error());
	h->host_cpus = ni.cpus;
	h->host_memory_mib = ni.memory / 1024;
	/* nodeinfo sums NUMA cells and can undercount (seen: 10 of 24 GiB in a
	 * microVM); the node's memory statistics give the kernel's MemTotal. */
	int nparams = 0;
	if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &nparams, 0) == 0 && nparams > 0 &&
	    nparams < 64) {
		virNodeMemoryStats stats[64];
		if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, stats, &nparams, 0) == 0)
			for (int i = 0; i < nparams; i++)
				if (!strcmp(stats[i].field, VIR_NODE_MEMORY_STATS_TOTAL) &&
				    stats[i].value / 1024 > h->host_memory_mib)
					h->host_memory_mib = stats[i].value / 1024;
	}
	if (o && o->capacity_only) {
		for (size_t i = 0; i < HOST_N_ITEMS; i++)
			set_item(h, (enum host_item)i, false, "not checked (capacity only)");
		*ret = TAKE_PTR(h);
		return 0;
	}
	probe_versions(conn, h);
	probe_domcaps(conn, h);
	probe_sev_info(conn, h);
	probe_device(h, HOST_DEV_SEV, "/dev/sev", "the kernel's ccp/kvm_amd SEV support is not loaded");
	probe_device(h, HOST_DEV_VSOCK, "/dev/vhost-vsock", "the vhost_vsock module is not loaded");
	probe_firmware(h, o ? o->firmware : NULL);
	for (size_t i = 0; i < HOST_N_ITEMS; i++)
		if (!h->items[i].detail)
			return sb_err_set(err, ENOMEM, "out of memory");
	*ret = TAKE_PTR(h);
	return 0;
}

bool host_snp_ready(const host_info *h, char **ret_reason)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool ok = true;

	for (size_t i = 0; i < HOST_N_ITEMS; i++) {
		if (h->items[i].ok)
			continue;
		if (f)
			fprintf(f, "%s%s", ok ? "" : "; ", h->items[i].detail);
		ok = false;
	}
	if (f)
		fclose(f);
	if (ok) {
		free(buf);
		buf = NULL;
	}
	*ret_reason = ok ? NULL : buf ? buf : strdup("out of memory");
	return ok;
}

bool host_fits(const host_info *h, unsigned vcpus, unsigned memory_mib, char **ret_reason)
{
	int r = 0;

	*ret_reason = NULL;
	if (h->host_cpus && vcpus > h->host_cpus)
		r = asprintf(ret_reason, "resources.vcpus: %u is more than this host's %u CPUs", vcpus, h->host_cpus);
	else if (h->max_vcpus && vcpus > h->max_vcpus)
		r = asprintf(ret_reason, "resources.vcpus: %u is more than libvirt allows for a q35 VM (%u)", vcpus,
			     h->max_vcpus);
	else if (h->host_memory_mib && memory_mib > h->host_memory_mib)
		r = asprintf(ret_reason, "resources.memory_mib: %u is more than this host's memory (%llu MiB)",
			     memory_mib, (unsigned long long)h->host_memory_mib);
	else
		return true;
	if (r < 0)
		*ret_reason = strdup("out of memory");
	return false;
}

json_t *host_info_json(const host_info *h)
{
	json_t *o = json_object(), *items = json_object();
	char *reason = NULL;
	char v[32];

	for (size_t i = 0; i < HOST_N_ITEMS; i++)
		json_object_set_new(items, item_names[i],
				    json_pack("{s:b, s:s}", "ok", h->items[i].ok, "detail", h->items[i].detail));
	json_object_set_new(o, "snp_ready", json_boolean(host_snp_ready(h, &reason)));
	json_object_set_new(o, "snp_missing", reason ? json_string(reason) : json_null());
	free(reason);
	json_object_set_new(o, "domain_type", json_string(h->domain_type));
	host_version_string(h->libvirt_version, v);
	json_object_set_new(o, "libvirt_version", h->libvirt_version ? json_string(v) : json_null());
	host_version_string(h->qemu_version, v);
	json_object_set_new(o, "qemu_version", h->qemu_version ? json_string(v) : json_null());
	json_object_set_new(o, "cbitpos", h->has_sev_params ? json_integer(h->cbitpos) : json_null());
	json_object_set_new(o, "reduced_phys_bits", h->has_sev_params ? json_integer(h->reduced_phys_bits) : json_null());
	json_object_set_new(o, "max_sev_guests", json_integer(h->max_guests));
	json_object_set_new(o, "max_snp_guests", json_integer(h->max_es_guests));
	json_object_set_new(o, "max_vcpus", json_integer(h->max_vcpus));
	json_object_set_new(o, "host_cpus", json_integer(h->host_cpus));
	json_object_set_new(o, "host_memory_mib", json_integer((json_int_t)h->host_memory_mib));
	json_object_set_new(o, "firmware", h->firmware ? json_string(h->firmware) : json_null());
	json_object_set_new(o, "checks", items);
	return o;
}
