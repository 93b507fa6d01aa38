/* SPDX-License-Identifier: Apache-2.0 */
/* Product lines and the TCB_VERSION layouts (SNP ABI spec, TCB_VERSION). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attest.h"

const char *attest_product_name(enum attest_product p)
{
	switch (p) {
	case ATTEST_PRODUCT_MILAN:
		return "Milan";
	case ATTEST_PRODUCT_GENOA:
		return "Genoa";
	case ATTEST_PRODUCT_TURIN:
		return "Turin";
	default:
		return "unknown";
	}
}

enum attest_product attest_product_from_name(const char *name)
{
	static const struct {
		const char *name;
		enum attest_product p;
	} names[] = {
		{ "Milan", ATTEST_PRODUCT_MILAN },
		{ "Genoa", ATTEST_PRODUCT_GENOA },
		{ "Turin", ATTEST_PRODUCT_TURIN },
	};

	if (!name)
		return ATTEST_PRODUCT_UNKNOWN;
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		size_t n = strlen(names[i].name);
		if (strncasecmp(name, names[i].name, n) == 0 && (name[n] == '\0' || name[n] == '-'))
			return names[i].p;
	}
	return ATTEST_PRODUCT_UNKNOWN;
}

/* Family 19h: Milan models 00h-0Fh, Genoa 10h-1Fh and A0h-AFh (Bergamo,
 * Siena); family 1Ah: Turin models 00h-11h. */
enum attest_product attest_product_from_cpuid(uint8_t family, uint8_t model)
{
	if (family == 0x19) {
		if (model <= 0x0f)
			return ATTEST_PRODUCT_MILAN;
		if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))
			return ATTEST_PRODUCT_GENOA;
	} else if (family == 0x1a) {
		if (model <= 0x11)
			return ATTEST_PRODUCT_TURIN;
	}
	return ATTEST_PRODUCT_UNKNOWN;
}

struct attest_tcb attest_tcb_decode(uint64_t raw, enum attest_product p)
{
	struct attest_tcb t = { .raw = raw };
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(raw >> (8 * i));
	if (p == ATTEST_PRODUCT_TURIN) {
		t.has_fmc = true;
		t.fmc = b[0];
		t.bootloader = b[1];
		t.tee = b[2];
		t.snp = b[3];
	} else {
		t.bootloader = b[0];
		t.tee = b[1];
		t.snp = b[6];
	}
	t.microcode = b[7];
	return t;
}

uint64_t attest_tcb_encode(const struct attest_tcb *t, enum attest_product p)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	if (p == ATTEST_PRODUCT_TURIN) {
		b[0] = t->fmc;
		b[1] = t->bootloader;
		b[2] = t->tee;
		b[3] = t->snp;
	} else {
		b[0] = t->bootloader;
		b[1] = t->tee;
		b[6] = t->snp;
	}
	b[7] = t->microcode;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

void attest_tcb_format(const struct attest_tcb *t, char *buf, size_t size)
{
	if (t->has_fmc)
		snprintf(buf, size, "fmc=%u bl=%u tee=%u snp=%u ucode=%u", t->fmc, t->bootloader, t->tee, t->snp,
			 t->microcode);
	else
		snprintf(buf, size, "bl=%u tee=%u snp=%u ucode=%u", t->bootloader, t->tee, t->snp, t->microcode);
}

bool attest_tcb_at_least(const struct attest_tcb *have, const struct attest_tcb *want, const char **ret_component)
{
	const char *low = NULL;

	if (want->has_fmc && have->has_fmc && have->fmc < want->fmc)
		low = "fmc";
	else if (have->bootloader < want->bootloader)
		low = "bootloader";
	else if (have->tee < want->tee)
		low = "tee";
	else if (have->snp < want->snp)
		low = "snp";
	else if (have->microcode < want->microcode)
		low = "microcode";
	if (ret_component)
		*ret_component = low;
	return !low;
}

int attest_tcb_parse(const char *s, struct attest_tcb *ret, sb_err **err)
{
	struct attest_tcb t = { 0 };
	_cleanup_free_ char *copy = s ? strdup(s) : NULL;
	char *save = NULL, *tok;
	bool seen = false;

	if (!copy)
		return sb_err_set(err, EINVAL, "TCB: empty");
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *eq = strchr(tok, '='), *end = NULL;
		unsigned long v;
		uint8_t *slot;

		if (!eq)
			return sb_err_set(err, EINVAL, "TCB '%s': '%s' is not NAME=VALUE", s, tok);
		*eq = '\0';
		errno = 0;
		v = strtoul(eq + 1, &end, 0);
		if (errno || !end || end == eq + 1 || *end || v > 255)
			return sb_err_set(err, EINVAL, "TCB '%s': %s: not a number 0..255", s, tok);
		if (!strcmp(tok, "bl") || !strcmp(tok, "bootloader"))
			slot = &t.bootloader;
		else if (!strcmp(tok, "tee"))
			slot = &t.tee;
		else if (!strcmp(tok, "snp"))
			slot = &t.snp;
		else if (!strcmp(tok, "ucode") || !strcmp(tok, "microcode"))
			slot = &t.microcode;
		else if (!strcmp(tok, "fmc")) {
			slot = &t.fmc;
			t.has_fmc = true;
		} else
			return sb_err_set(err, EINVAL, "TCB '%s': unknown component '%s' (bl, tee, snp, ucode, fmc)",
					  s, tok);
		*slot = (uint8_t)v;
		seen = true;
	}
	if (!seen)
		return sb_err_set(err, EINVAL, "TCB '%s': no components", s);
	*ret = t;
	return 0;
}
