/* SPDX-License-Identifier: Apache-2.0 */
#include "plan.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hexutil.h"
#include "jsonutil.h"
#include "wire.h"

const char *plan_transport_name(enum plan_transport t)
{
	return t == PLAN_TRANSPORT_VSOCK ? "vsock" : "virtio-serial";
}

enum plan_transport plan_transport_detect(const char **ret_reason)
{
	if (access("/dev/vhost-vsock", R_OK | W_OK) == 0) {
		*ret_reason = "/dev/vhost-vsock is available";
		return PLAN_TRANSPORT_VSOCK;
	}
	*ret_reason = "fallback: /dev/vhost-vsock is missing on this host";
	return PLAN_TRANSPORT_VIRTIO_SERIAL;
}

void plan_free(plan *p)
{
	if (!p)
		return;
	free(p->job_id);
	free(p->domain_name);
	free(p->firmware);
	free(p->kernel);
	free(p->initrd);
	free(p->cmdline);
	free(p->rootfs);
	free(p->cpu_model);
	free(p->work_dir);
	free(p->disk_path);
	free(p->transport_reason);
	free(p->chan_socket);
	free(p->console_log);
	free(p);
}

void plan_freep(plan **p)
{
	plan_free(*p);
	*p = NULL;
}

int plan_policy_check(uint64_t policy, bool allow_debug, sb_err **err)
{
	if (policy & ~PLAN_POLICY_DEFINED)
		return sb_err_set(err, EINVAL,
				  "SNP guest policy 0x%llx: reserved bits set (0x%llx; bits 63:26 must be zero)",
				  (unsigned long long)policy, (unsigned long long)(policy & ~PLAN_POLICY_DEFINED));
	if (!(policy & PLAN_POLICY_MUST_BE_ONE))
		return sb_err_set(err, EINVAL, "SNP guest policy 0x%llx: bit 17 must be one (the firmware refuses it)",
				  (unsigned long long)policy);
	if ((policy & PLAN_POLICY_DEBUG) && !allow_debug)
		return sb_err_set(err, EPERM,
				  "SNP guest policy 0x%llx: DEBUG (bit 19) lets the host read and change guest "
				  "memory; refused unless debugging is explicitly allowed (--allow-debug)",
				  (unsigned long long)policy);
	return 0;
}

static int plan_snp(plan *p, const image *img, const plan_opts *o, sb_err **err)
{
	const char *fw = o->firmware ? o->firmware : host_default_firmware();
	const host_info *h = o->host;
	uint32_t sig;
	int r;

	/* Measured direct boot: OVMF (AmdSev) hashes bzImage, initrd and cmdline. */
	if (!fw)
		return sb_err_set(err, ENOENT,
				  "tee snp needs an AmdSev OVMF firmware: none found (give --firmware FILE; "
				  "see ovmf/README.md)");
	r = host_check_firmware(fw, true, err);
	if (r < 0)
		return r;
	/* libvirtd resolves relative paths against its own folder, not ours. */
	p->firmware = realpath(fw, NULL);
	p->kernel = strdup(img->kernel.path);
	memcpy(p->kernel_sha256, img->kernel.sha256, SHA256_LEN);
	p->cpu_model = strdup(o->vcpu_type ? o->vcpu_type : PLAN_DEFAULT_CPU_MODEL);
	if (!p->firmware || !p->kernel || !p->cpu_model)
		return sb_err_set(err, ENOMEM, "out of memory");
	r = measure_vcpu_sig_from_name(p->cpu_model, &sig, err);
	if (r < 0)
		return sb_err_wrap(err, "vCPU type");
	p->policy = o->has_policy ? o->policy : PLAN_DEFAULT_POLICY;
	p->allow_debug = o->allow_debug;
	r = plan_policy_check(p->policy, p->allow_debug, err);
	if (r < 0)
		return r;
	p->guest_features = o->has_guest_features ? o->guest_features : MEASURE_DEFAULT_GUEST_FEATURES;
	if (!(p->guest_features & 1))
		return sb_err_set(err, EINVAL, "guest features 0x%llx: bit 0 (SNPActive) must be set",
				  (unsigned long long)p->guest_features);
	if (h && h->has_sev_params) {
		p->cbitpos = h->cbitpos;
		p->reduced_phys_bits = h->reduced_phys_bits;
		p->cbitpos_source = "host";
	} else {
		p->cbitpos = PLAN_DEFAULT_CBITPOS;
		p->reduced_phys_bits = PLAN_DEFAULT_REDUCED_PHYS_BITS;
		p->cbitpos_source = "default";
	}
	if (o->has_cbitpos || o->has_reduced_phys_bits)
		p->cbitpos_source = "option";
	if (o->has_cbitpos)
		p->cbitpos = o->cbitpos;
	if (o->has_reduced_phys_bits)
		p->reduced_phys_bits = o->reduced_phys_bits;
	/* x86-64 physical addresses have at most 52 bits. */
	if (p->cbitpos < 32 || p->cbitpos > 63)
		return sb_err_set(err, ERANGE, "cbitpos %u is out of range (32..63)", p->cbitpos);
	if (p->reduced_phys_bits < 1 || p->reduced_phys_bits > 63)
		return sb_err_set(err, ERANGE, "reducedPhysBits %u is out of range (1..63)", p->reduced_phys_bits);
	if (p->vcpus > MEASURE_MAX_VCPUS)
		return sb_err_set(err, ERANGE, "%u vCPUs: more than QEMU q35 supports (%u)", p->vcpus,
				  MEASURE_MAX_VCPUS);
	return 0;
}

int plan_build(const job *j, const image *img, const plan_opts *o, plan **ret, sb_err **err)
{
	_cleanup_plan_ plan *p = calloc(1, sizeof(*p));
	const char *reason;
	int r;

	if (!p)
		return sb_err_set(err, ENOMEM, "out of memory");
	p->tee = o->has_tee ? o->tee : j->tee;
	p->job_id = strdup(o->job_id);
	if (asprintf(&p->domain_name, "snpbuild-%s", o->job_id) < 0)
		p->domain_name = NULL;
	p->domain_type = o->domain_type ? o->domain_type : "qemu";
	p->vcpus = j->vcpus;
	p->memory_mib = j->memory_mib;
	memcpy(p->host_data, j->digest, SHA256_LEN);
	if (p->tee == JOB_TEE_SNP) {
		r = plan_snp(p, img, o, err);
		if (r < 0)
			return r;
	} else {
		p->kernel = strdup(img->kernel_pvh.path);
		memcpy(p->kernel_sha256, img->kernel_pvh.sha256, SHA256_LEN);
	}
	p->initrd = strdup(img->initrd.path);
	memcpy(p->initrd_sha256, img->initrd.sha256, SHA256_LEN);
	memcpy(p->image_manifest_sha256, img->manifest_sha256, SHA256_LEN);
	p->cmdline = strdup(img->cmdline);
	p->rootfs = strdup(img->rootfs.path);
	p->work_dir = strdup(o->work_dir);
	if (asprintf(&p->disk_path, "%s/scratch.qcow2", o->work_dir) < 0)
		p->disk_path = NULL;
	p->disk_bytes = (uint64_t)j->disk_gib << 30;
	if (o->force_transport >= 0) {
		p->transport = (enum plan_transport)o->force_transport;
		reason = "forced";
	} else if (p->tee == JOB_TEE_SNP) {
		/* host-check requires /dev/vhost-vsock on an SNP host. */
		p->transport = PLAN_TRANSPORT_VSOCK;
		reason = "tee snp uses vsock";
	} else {
		p->transport = plan_transport_detect(&reason);
	}
	p->transport_reason = strdup(reason);
	if (asprintf(&p->chan_socket, "%s/channel.sock", o->work_dir) < 0)
		p->chan_socket = NULL;
	p->console_log = strdup(o->console_log);
	if (!p->job_id || !p->domain_name || !p->kernel || !p->initrd || !p->cmdline || !p->rootfs ||
	    !p->work_dir || !p->disk_path || !p->transport_reason || !p->chan_socket || !p->console_log)
		return sb_err_set(err, ENOMEM, "out of memory");
	*ret = TAKE_PTR(p);
	return 0;
}

/* --- domain XML ------------------------------------------------------------ */

static void xml_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* printf with %s arguments passed through xml_escaped: use XS(...) pairs. */
static void tag(FILE *f, const char *indent, const char *name, const char *value)
{
	fprintf(f, "%s<%s>", indent, name);
	xml_escaped(f, value);
	fprintf(f, "</%s>\n", name);
}

static void attr_path(FILE *f, const char *before, const char *path, const char *after)
{
	fputs(before, f);
	xml_escaped(f, path);
	fputs(after, f);
}

/* Devices sit on pcie.0 as integrated endpoints, so libvirt adds no
 * pcie-root-ports for firmware and kernel to probe (a second of boot under TCG). */
#define PCI_SLOT(n) "      <address type='pci' domain='0x0000' bus='0x00' slot='0x" n "' function='0x0'/>\n"

int plan_domain_xml(const plan *p, char **ret, sb_err **err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool snp = p->tee == JOB_TEE_SNP;

	if (!f)
		return sb_err_sys(err, errno, "domain XML");
	fprintf(f, "<domain type='%s'>\n", p->domain_type);
	tag(f, "  ", "name", p->domain_name);
	fputs("  <description>snpbuild job ", f);
	xml_escaped(f, p->job_id);
	fputs("</description>\n", f);
	fprintf(f, "  <memory unit='MiB'>%u</memory>\n", p->memory_mib);
	fprintf(f, "  <vcpu placement='static'>%u</vcpu>\n", p->vcpus);
	if (snp)
		/* SNP guest memory must be private memfd-backed; no ballooning, no sharing. */
		fputs("  <memoryBacking>\n    <source type='memfd'/>\n    <access mode='private'/>\n  </memoryBacking>\n", f);
	fputs("  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n", f);
	if (p->firmware)
		/* One stateless ROM: SNP cannot use split CODE/VARS pflash. */
		attr_path(f, "    <loader type='rom' readonly='yes'>", p->firmware, "</loader>\n");
	tag(f, "    ", "kernel", p->kernel);
	tag(f, "    ", "initrd", p->initrd);
	tag(f, "    ", "cmdline", p->cmdline);
	fputs("  </os>\n  <features>\n    <acpi/>\n  </features>\n", f);
	if (p->cpu_model) {
		fputs("  <cpu mode='custom' match='exact' check='none'>\n", f);
		fputs("    <model fallback='forbid'>", f);
		xml_escaped(f, p->cpu_model);
		fputs("</model>\n  </cpu>\n", f);
	} else {
		fputs("  <cpu mode='maximum' check='none'/>\n", f);
	}
	fputs("  <clock offset='utc'/>\n", f);
	fputs("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n  <on_crash>destroy</on_crash>\n",
	      f);
	fputs("  <devices>\n", f);
	attr_path(f, "    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw'/>\n      <source file='",
		  p->rootfs, "'/>\n      <target dev='vda' bus='virtio'/>\n      <readonly/>\n" PCI_SLOT("02") "    </disk>\n");
	attr_path(f,
		  "    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2' discard='unmap'/>\n"
		  "      <source file='",
		  p->disk_path, "'/>\n      <target dev='vdb' bus='virtio'/>\n" PCI_SLOT("03") "    </disk>\n");
	if (p->transport == PLAN_TRANSPORT_VSOCK) {
		fputs("    <vsock model='virtio'>\n      <cid auto='yes'/>\n" PCI_SLOT("04") "    </vsock>\n", f);
	} else {
		fputs("    <controller type='virtio-serial' index='0'>\n" PCI_SLOT("04") "    </controller>\n", f);
		attr_path(f, "    <channel type='unix'>\n      <source mode='bind' path='", p->chan_socket, "'/>\n");
		fprintf(f, "      <target type='virtio' name='%s'/>\n    </channel>\n", WIRE_SERIAL_PORT_NAME);
	}
	attr_path(f, "    <serial type='file'>\n      <source path='", p->console_log,
		  "'/>\n      <target port='0'/>\n    </serial>\n");
	attr_path(f, "    <console type='file'>\n      <source path='", p->console_log,
		  "'/>\n      <target type='serial' port='0'/>\n    </console>\n");
	fputs("    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n" PCI_SLOT("05") "    </rng>\n",
	      f);
	fputs("    <controller type='usb' model='none'/>\n", f);
	fputs("    <memballoon model='none'/>\n", f);
	fputs("  </devices>\n", f);
	if (snp) {
		_cleanup_free_ char *hd = measure_base64(p->host_data, SHA256_LEN);
		_cleanup_free_ char *idb = p->has_id_block ? measure_base64(p->id_block, MEASURE_ID_BLOCK_LEN) : NULL;
		_cleanup_free_ char *ida = p->has_id_block ? measure_base64(p->id_auth, MEASURE_ID_AUTH_LEN) : NULL;
		if (!hd || (p->has_id_block && (!idb || !ida))) {
			fclose(f);
			free(buf);
			return sb_err_set(err, ENOMEM, "out of memory");
		}
		fprintf(f, "  <launchSecurity type='sev-snp' kernelHashes='yes'%s>\n",
			p->has_id_block && p->author_key ? " authorKey='yes'" : "");
		fprintf(f, "    <cbitpos>%u</cbitpos>\n    <reducedPhysBits>%u</reducedPhysBits>\n", p->cbitpos,
			p->reduced_phys_bits);
		fprintf(f, "    <policy>0x%08llx</policy>\n", (unsigned long long)p->policy);
		if (p->has_id_block)
			fprintf(f, "    <idBlock>%s</idBlock>\n    <idAuth>%s</idAuth>\n", idb, ida);
		fprintf(f, "    <hostData>%s</hostData>\n", hd);
		fprintf(f, "  </launchSecurity>\n");
	}
	fputs("</domain>\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return sb_err_sys(err, errno, "domain XML");
	}
	*ret = buf;
	return 0;
}

/* --- measurement ------------------------------------------------------------ */

int plan_measure_input(const plan *p, struct measure_input *ret, sb_err **err)
{
	if (p->tee != JOB_TEE_SNP)
		return sb_err_set(err, EOPNOTSUPP, "tee %s has no launch measurement", job_tee_name(p->tee));
	*ret = (struct measure_input){
		.ovmf_path = p->firmware,
		.kernel = { .path = p->kernel, .has_sha256 = true },
		.initrd = { .path = p->initrd, .has_sha256 = true },
		.cmdline = p->cmdline,
		.vcpus = p->vcpus,
		.vcpu_type = { .name = p->cpu_model },
		.guest_features = p->guest_features,
	};
	/* The files must still be what the image manifest recorded. */
	memcpy(ret->kernel.sha256, p->kernel_sha256, SHA256_LEN);
	memcpy(ret->initrd.sha256, p->initrd_sha256, SHA256_LEN);
	return 0;
}

int plan_expect(const plan *p, plan_expected *ret, struct measure_result *ret_result, sb_err **err)
{
	struct measure_input in;
	struct measure_result res;
	int r;

	r = plan_measure_input(p, &in, err);
	if (r < 0)
		return r;
	r = measure_launch_digest(&in, &res, err);
	if (r < 0)
		return sb_err_wrap(err, "expected measurement");
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->measurement, res.digest, MEASURE_LD_LEN);
	ret->policy = p->policy;
	memcpy(ret->host_data, p->host_data, SHA256_LEN);
	ret->has_id_block = p->has_id_block;
	if (p->has_id_block)
		memcpy(ret->id_block, p->id_block, MEASURE_ID_BLOCK_LEN);
	if (ret_result)
		*ret_result = res;
	return 0;
}

/* --- ID block ------------------------------------------------------------------ */

/* Strict base64 of exactly len bytes. */
static int base64_exact(const char *what, const char *s, uint8_t *out, size_t len, sb_err **err)
{
	size_t n = s ? strlen(s) : 0;
	_cleanup_free_ uint8_t *tmp = NULL;
	int got;

	if (n != 4 * ((len + 2) / 3))
		return sb_err_set(err, EINVAL, "%s: base64 of %zu bytes must be %zu characters, not %zu", what, len,
				  4 * ((len + 2) / 3), n);
	tmp = malloc(n);
	if (!tmp)
		return sb_err_set(err, ENOMEM, "out of memory");
	got = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
	if (got < 0)
		return sb_err_set(err, EINVAL, "%s: not valid base64", what);
	/* EVP_DecodeBlock counts padding as zero bytes. */
	memcpy(out, tmp, len);
	_cleanup_free_ char *back = measure_base64(out, len);
	if (!back || strcmp(back, s))
		return sb_err_set(err, EINVAL, "%s: not canonical base64 of %zu bytes", what, len);
	return 0;
}

static int check_id_block(const plan *p, const uint8_t *idb, sb_err **err)
{
	plan_expected ex;
	uint64_t policy = 0;
	int r;

	r = plan_expect(p, &ex, NULL, err);
	if (r < 0)
		return r;
	/* Layout: LD (48) | FAMILY_ID (16) | IMAGE_ID (16) | VERSION (4) | GUEST_SVN (4) | POLICY (8). */
	if (memcmp(idb, ex.measurement, MEASURE_LD_LEN)) {
		char a[2 * MEASURE_LD_LEN + 1], b[2 * MEASURE_LD_LEN + 1];
		hex_encode(idb, MEASURE_LD_LEN, a);
		hex_encode(ex.measurement, MEASURE_LD_LEN, b);
		return sb_err_set(err, EINVAL,
				  "ID block: its launch digest %s is not this plan's measurement %s (the firmware "
				  "would refuse the launch)",
				  a, b);
	}
	for (int i = 7; i >= 0; i--)
		policy = policy << 8 | idb[88 + i];
	if (policy != p->policy)
		return sb_err_set(err, EINVAL,
				  "ID block: its policy 0x%llx is not the launch policy 0x%llx (the firmware "
				  "would refuse the launch)",
				  (unsigned long long)policy, (unsigned long long)p->policy);
	return 0;
}

int plan_set_id_block(plan *p, const char *id_block_b64, const char *id_auth_b64, bool author_key, sb_err **err)
{
	uint8_t idb[MEASURE_ID_BLOCK_LEN], ida[MEASURE_ID_AUTH_LEN];
	int r;

	if (p->tee != JOB_TEE_SNP)
		return sb_err_set(err, EINVAL, "an ID block needs tee snp");
	r = base64_exact("ID block", id_block_b64, idb, sizeof(idb), err);
	if (r < 0)
		return r;
	r = base64_exact("ID auth", id_auth_b64, ida, sizeof(ida), err);
	if (r < 0)
		return r;
	r = measure_idauth_verify(idb, ida, err);
	if (r < 0)
		return sb_err_wrap(err, "ID auth");
	r = check_id_block(p, idb, err);
	if (r < 0)
		return r;
	memcpy(p->id_block, idb, sizeof(idb));
	memcpy(p->id_auth, ida, sizeof(ida));
	p->author_key = author_key;
	p->has_id_block = true;
	return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)

int plan_sign_id_block(plan *p, const plan_id_opts *o, sb_err **err)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *id_key = NULL, *author = NULL;
	struct measure_id_block_params bp = { .guest_svn = o->guest_svn };
	plan_expected ex;
	int r;

	if (p->tee != JOB_TEE_SNP)
		return sb_err_set(err, EINVAL, "an ID block needs tee snp");
	r = plan_expect(p, &ex, NULL, err);
	if (r < 0)
		return r;
	r = measure_idblock_load_key(o->id_key, &id_key, err);
	if (r < 0)
		return r;
	if (o->author_key) {
		r = measure_idblock_load_key(o->author_key, &author, err);
		if (r < 0)
			return r;
	}
	memcpy(bp.digest, ex.measurement, MEASURE_LD_LEN);
	memcpy(bp.family_id, o->family_id, MEASURE_ID_LEN);
	memcpy(bp.image_id, o->image_id, MEASURE_ID_LEN);
	bp.policy = p->policy;
	measure_idblock_build(&bp, p->id_block);
	r = measure_idauth_build(p->id_block, id_key, author, p->id_auth, err);
	if (r < 0)
		return r;
	p->author_key = author != NULL;
	p->has_id_block = true;
	return 0;
}

/* --- JSON -------------------------------------------------------------------------- */

static json_t *strj(const char *s)
{
	return s ? json_string(s) : json_null();
}

int plan_json(const plan *p, json_t **ret, sb_err **err)
{
	json_t *o = json_object();
	char policy[32];

	json_object_set_new(o, "tee", json_string(job_tee_name(p->tee)));
	json_object_set_new(o, "insecure_dev_mode", json_boolean(p->tee != JOB_TEE_SNP));
	json_object_set_new(o, "job_id", strj(p->job_id));
	json_object_set_new(o, "domain_name", strj(p->domain_name));
	json_object_set_new(o, "domain_type", strj(p->domain_type));
	json_object_set_new(o, "firmware", strj(p->firmware));
	json_object_set_new(o, "kernel", json_pack("{s:s, s:o}", "path", p->kernel, "sha256", json_hex(p->kernel_sha256, SHA256_LEN)));
	json_object_set_new(o, "initrd", json_pack("{s:s, s:o}", "path", p->initrd, "sha256", json_hex(p->initrd_sha256, SHA256_LEN)));
	json_object_set_new(o, "cmdline", strj(p->cmdline));
	json_object_set_new(o, "rootfs", strj(p->rootfs));
	json_object_set_new(o, "image_manifest_sha256", json_hex(p->image_manifest_sha256, SHA256_LEN));
	json_object_set_new(o, "vcpus", json_integer(p->vcpus));
	json_object_set_new(o, "vcpu_type", strj(p->cpu_model));
	json_object_set_new(o, "memory_mib", json_integer(p->memory_mib));
	json_object_set_new(o, "disk_bytes", json_integer((json_int_t)p->disk_bytes));
	json_object_set_new(o, "host_data", json_hex(p->host_data, SHA256_LEN));
	json_object_set_new(o, "transport", json_string(plan_transport_name(p->transport)));
	json_object_set_new(o, "transport_reason", strj(p->transport_reason));
	if (p->tee == JOB_TEE_SNP) {
		plan_expected ex;
		struct measure_result res;
		json_t *rec = NULL;
		int r = plan_expect(p, &ex, &res, err);
		if (r < 0) {
			json_decref(o);
			return r;
		}
		snprintf(policy, sizeof(policy), "0x%llx", (unsigned long long)p->policy);
		json_object_set_new(o, "policy", json_string(policy));
		json_object_set_new(o, "allow_debug", json_boolean(p->allow_debug));
		snprintf(policy, sizeof(policy), "0x%llx", (unsigned long long)p->guest_features);
		json_object_set_new(o, "guest_features", json_string(policy));
		json_object_set_new(o, "cbitpos", json_integer(p->cbitpos));
		json_object_set_new(o, "reduced_phys_bits", json_integer(p->reduced_phys_bits));
		json_object_set_new(o, "cbitpos_source", strj(p->cbitpos_source));
		json_object_set_new(o, "measurement", json_hex(ex.measurement, MEASURE_LD_LEN));
		r = measure_record_json(&res, p->cpu_model, p->cmdline, &rec, err);
		if (r < 0) {
			json_decref(o);
			return r;
		}
		json_object_set_new(o, "measurement_record", rec);
		if (p->has_id_block) {
			char *b1 = measure_base64(p->id_block, MEASURE_ID_BLOCK_LEN);
			char *b2 = measure_base64(p->id_auth, MEASURE_ID_AUTH_LEN);
			json_object_set_new(o, "id_block", strj(b1));
			json_object_set_new(o, "id_auth", strj(b2));
			json_object_set_new(o, "author_key", json_boolean(p->author_key));
			free(b1);
			free(b2);
		}
	}
	*ret = o;
	return 0;
}
