/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The initial VMSA (VM save area) QEMU/KVM give each vCPU of an SNP guest,
 * laid out as in AMD APM vol. 2, table B-4, and the vCPU signature it holds
 * in RDX.
 */
#include "cursor.h"
#include "internal.h"

#include <string.h>

/* Save-area offsets of the fields that are not zero at reset. */
enum {
	VMSA_ES = 0x000,
	VMSA_CS = 0x010,
	VMSA_SS = 0x020,
	VMSA_DS = 0x030,
	VMSA_FS = 0x040,
	VMSA_GS = 0x050,
	VMSA_GDTR = 0x060,
	VMSA_LDTR = 0x070,
	VMSA_IDTR = 0x080,
	VMSA_TR = 0x090,
	VMSA_EFER = 0x0d0,
	VMSA_CR4 = 0x148,
	VMSA_CR0 = 0x158,
	VMSA_DR7 = 0x160,
	VMSA_DR6 = 0x168,
	VMSA_RFLAGS = 0x170,
	VMSA_RIP = 0x178,
	VMSA_G_PAT = 0x268,
	VMSA_RDX = 0x310,
	VMSA_SEV_FEATURES = 0x3b0,
	VMSA_XCR0 = 0x3e8,
	VMSA_MXCSR = 0x408,
	VMSA_X87_FCW = 0x410,
};

/* A segment register: selector, attributes, limit, base. */
static void put_seg(uint8_t *p, uint16_t selector, uint16_t attrib, uint32_t limit, uint64_t base)
{
	put_u16le(p, selector);
	put_u16le(p + 2, attrib);
	put_u32le(p + 4, limit);
	put_u64le(p + 8, base);
}

void measure_vmsa_build(uint8_t page[MEASURE_PAGE_SIZE], uint32_t eip, uint32_t vcpu_sig, uint64_t guest_features)
{
	memset(page, 0, MEASURE_PAGE_SIZE);
	/* Real mode, CS:IP split from the reset EIP as KVM does for SEV-ES APs. */
	put_seg(page + VMSA_ES, 0, 0x93, 0xffff, 0);
	put_seg(page + VMSA_CS, 0xf000, 0x9b, 0xffff, eip & 0xffff0000u);
	put_seg(page + VMSA_SS, 0, 0x93, 0xffff, 0);
	put_seg(page + VMSA_DS, 0, 0x93, 0xffff, 0);
	put_seg(page + VMSA_FS, 0, 0x93, 0xffff, 0);
	put_seg(page + VMSA_GS, 0, 0x93, 0xffff, 0);
	put_seg(page + VMSA_GDTR, 0, 0, 0xffff, 0);
	put_seg(page + VMSA_LDTR, 0, 0x82, 0xffff, 0);
	put_seg(page + VMSA_IDTR, 0, 0, 0xffff, 0);
	put_seg(page + VMSA_TR, 0, 0x8b, 0xffff, 0);
	put_u64le(page + VMSA_EFER, 0x1000);		/* SVME, set by KVM */
	put_u64le(page + VMSA_CR4, 0x40);		/* MCE, set by KVM */
	put_u64le(page + VMSA_CR0, 0x10);		/* ET */
	put_u64le(page + VMSA_DR7, 0x400);
	put_u64le(page + VMSA_DR6, 0xffff0ff0);
	put_u64le(page + VMSA_RFLAGS, 0x2);
	put_u64le(page + VMSA_RIP, eip & 0xffffu);
	put_u64le(page + VMSA_G_PAT, UINT64_C(0x0007040600070406)); /* PAT reset value */
	put_u64le(page + VMSA_RDX, vcpu_sig);
	put_u64le(page + VMSA_SEV_FEATURES, guest_features);
	put_u64le(page + VMSA_XCR0, 0x1);
	put_u32le(page + VMSA_MXCSR, 0x1f80);
	put_u16le(page + VMSA_X87_FCW, 0x37f);
}

struct cpu_model {
	const char *name;
	unsigned family, model, stepping;
};

/* QEMU's AMD EPYC models (target/i386/cpu.c); versions keep family/model/stepping. */
static const struct cpu_model cpu_models[] = {
	{ "EPYC", 23, 1, 2 },
	{ "EPYC-v1", 23, 1, 2 },
	{ "EPYC-v2", 23, 1, 2 },
	{ "EPYC-IBPB", 23, 1, 2 },
	{ "EPYC-v3", 23, 1, 2 },
	{ "EPYC-v4", 23, 1, 2 },
	{ "EPYC-v5", 23, 1, 2 },
	{ "EPYC-Rome", 23, 49, 0 },
	{ "EPYC-Rome-v1", 23, 49, 0 },
	{ "EPYC-Rome-v2", 23, 49, 0 },
	{ "EPYC-Rome-v3", 23, 49, 0 },
	{ "EPYC-Rome-v4", 23, 49, 0 },
	{ "EPYC-Rome-v5", 23, 49, 0 },
	{ "EPYC-Milan", 25, 1, 1 },
	{ "EPYC-Milan-v1", 25, 1, 1 },
	{ "EPYC-Milan-v2", 25, 1, 1 },
	{ "EPYC-Milan-v3", 25, 1, 1 },
	{ "EPYC-Genoa", 25, 17, 0 },
	{ "EPYC-Genoa-v1", 25, 17, 0 },
	{ "EPYC-Genoa-v2", 25, 17, 0 },
	{ "EPYC-Turin", 26, 0, 0 },
	{ "EPYC-Turin-v1", 26, 0, 0 },
};

const char *measure_vcpu_name_at(size_t i)
{
	return i < ELEMENTSOF(cpu_models) ? cpu_models[i].name : NULL;
}

int measure_vcpu_sig_from_fms(unsigned family, unsigned model, unsigned stepping, uint32_t *ret_sig, sb_err **err)
{
	uint32_t base_family, ext_family;

	/* CPUID Fn0000_0001_EAX: family above 0xf spills into the extended field. */
	if (family > 0xf + 0xff)
		return sb_err_set(err, EINVAL, "vCPU family %u out of range (0-270)", family);
	if (model > 0xff)
		return sb_err_set(err, EINVAL, "vCPU model %u out of range (0-255)", model);
	if (stepping > 0xf)
		return sb_err_set(err, EINVAL, "vCPU stepping %u out of range (0-15)", stepping);
	base_family = family > 0xf ? 0xf : family;
	ext_family = family > 0xf ? family - 0xf : 0;
	*ret_sig = ext_family << 20 | (model >> 4) << 16 | base_family << 8 | (model & 0xf) << 4 | stepping;
	return 0;
}

int measure_vcpu_sig_from_name(const char *name, uint32_t *ret_sig, sb_err **err)
{
	for (size_t i = 0; i < ELEMENTSOF(cpu_models); i++)
		if (!strcmp(name, cpu_models[i].name))
			return measure_vcpu_sig_from_fms(cpu_models[i].family, cpu_models[i].model,
							 cpu_models[i].stepping, ret_sig, err);
	return sb_err_set(err, EINVAL, "unknown vCPU type '%s' (known: EPYC, EPYC-Rome, EPYC-Milan, EPYC-Genoa, "
			  "EPYC-Turin and their -vN versions)", name);
}

int measure_vcpu_sig(const struct measure_vcpu_type *t, uint32_t *ret_sig, sb_err **err)
{
	if (t->name)
		return measure_vcpu_sig_from_name(t->name, ret_sig, err);
	return measure_vcpu_sig_from_fms(t->family, t->model, t->stepping, ret_sig, err);
}
