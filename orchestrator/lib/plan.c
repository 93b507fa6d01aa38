/* SPDX-License-Identifier: Apache-2.0 */
#include "plan.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int plan_build(const job *j, const image *img, const plan_opts *o, plan **ret, sb_err **err)
{
	_cleanup_plan_ plan *p = calloc(1, sizeof(*p));
	const char *reason;

	if (!p)
		return sb_err_set(err, ENOMEM, "out of memory");
	p->tee = j->tee;
	p->job_id = strdup(o->job_id);
	if (asprintf(&p->domain_name, "snpbuild-%s", o->job_id) < 0)
		p->domain_name = NULL;
	p->domain_type = o->domain_type ? o->domain_type : "qemu";
	if (j->tee == JOB_TEE_SNP) {
		/* Measured direct boot: OVMF (AmdSev) hashes bzImage, initrd and cmdline. */
		if (!o->firmware)
			return sb_err_set(err, ENOENT, "tee snp needs the AmdSev OVMF firmware (--firmware)");
		p->firmware = strdup(o->firmware);
		p->kernel = strdup(img->kernel.path);
		memcpy(p->kernel_sha256, img->kernel.sha256, SHA256_LEN);
		p->cpu_model = strdup(PLAN_DEFAULT_CPU_MODEL);
	} else {
		p->kernel = strdup(img->kernel_pvh.path);
		memcpy(p->kernel_sha256, img->kernel_pvh.sha256, SHA256_LEN);
	}
	p->initrd = strdup(img->initrd.path);
	memcpy(p->initrd_sha256, img->initrd.sha256, SHA256_LEN);
	memcpy(p->image_manifest_sha256, img->manifest_sha256, SHA256_LEN);
	p->cmdline = strdup(img->cmdline);
	p->rootfs = strdup(img->rootfs.path);
	p->vcpus = j->vcpus;
	p->memory_mib = j->memory_mib;
	p->policy = PLAN_DEFAULT_POLICY;
	p->guest_features = 0x1;
	p->cbitpos = 51;
	p->reduced_phys_bits = 1;
	memcpy(p->host_data, j->digest, SHA256_LEN);
	p->work_dir = strdup(o->work_dir);
	if (asprintf(&p->disk_path, "%s/scratch.qcow2", o->work_dir) < 0)
		p->disk_path = NULL;
	p->disk_bytes = (uint64_t)j->disk_gib << 30;
	p->transport = o->force_transport >= 0 ? (enum plan_transport)o->force_transport
					       : plan_transport_detect(&reason);
	if (o->force_transport >= 0)
		reason = "forced";
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
	fprintf(f, "  <description>snpbuild job %s (tee %s)</description>\n", p->job_id, job_tee_name(p->tee));
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
		  p->rootfs, "'/>\n      <target dev='vda' bus='virtio'/>\n      <readonly/>\n    </disk>\n");
	attr_path(f,
		  "    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2' discard='unmap'/>\n"
		  "      <source file='",
		  p->disk_path, "'/>\n      <target dev='vdb' bus='virtio'/>\n    </disk>\n");
	if (p->transport == PLAN_TRANSPORT_VSOCK) {
		fputs("    <vsock model='virtio'>\n      <cid auto='yes'/>\n    </vsock>\n", f);
	} else {
		fputs("    <controller type='virtio-serial' index='0'/>\n", f);
		attr_path(f, "    <channel type='unix'>\n      <source mode='bind' path='", p->chan_socket, "'/>\n");
		fprintf(f, "      <target type='virtio' name='%s'/>\n    </channel>\n", WIRE_SERIAL_PORT_NAME);
	}
	attr_path(f, "    <serial type='file'>\n      <source path='", p->console_log,
		  "'/>\n      <target port='0'/>\n    </serial>\n");
	attr_path(f, "    <console type='file'>\n      <source path='", p->console_log,
		  "'/>\n      <target type='serial' port='0'/>\n    </console>\n");
	fputs("    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n    </rng>\n", f);
	fputs("    <memballoon model='none'/>\n", f);
	fputs("  </devices>\n", f);
	if (snp) {
		char hd[64];
		unsigned char raw[SHA256_LEN];
		memcpy(raw, p->host_data, SHA256_LEN);
		EVP_EncodeBlock((unsigned char *)hd, raw, SHA256_LEN);
		fprintf(f, "  <launchSecurity type='sev-snp' kernelHashes='yes'>\n");
		fprintf(f, "    <cbitpos>%u</cbitpos>\n    <reducedPhysBits>%u</reducedPhysBits>\n", p->cbitpos,
			p->reduced_phys_bits);
		fprintf(f, "    <policy>0x%08llx</policy>\n", (unsigned long long)p->policy);
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
