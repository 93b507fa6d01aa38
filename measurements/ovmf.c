/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OVMF firmware metadata: the GUID table in front of the reset vector and
 * the SEV metadata it points to. The image is untrusted input: every read
 * goes through the cursor, every value is range-checked before use.
 */
#include "cursor.h"
#include "internal.h"

#include <string.h>

#define FOOTER_ENTRY_HDR 18u	/* u16 size + GUID, at the end of each entry */
#define FOOTER_TAIL 32u		/* the table ends this far before the image's end */
#define MAX_TABLE_ENTRIES 64u
#define SEV_META_HDR 16u	/* "ASEV", size, version, num_items */
#define SEV_META_DESC 12u	/* gpa, size, type */
#define FOUR_GIB UINT64_C(0x100000000)

struct table_entry {
	uint8_t guid[16];
	const uint8_t *data;
	size_t len;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

void guid_to_efi(const char *text, uint8_t out[16])
{
	/* Byte positions of the text form's 16 bytes in EFI order. */
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t raw[16];
	size_t n = 0;

	for (const char *p = text; *p && n < 16; p++) {
		if (*p == '-')
			continue;
		raw[n++] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
		p++;
	}
	for (size_t i = 0; i < 16; i++)
		out[i] = raw[order[i]];
}

const char *measure_section_type_name(uint32_t type)
{
	switch (type) {
	case MEASURE_SECTION_SNP_SEC_MEM:
		return "SNP_SEC_MEM";
	case MEASURE_SECTION_SNP_SECRETS:
		return "SNP_SECRETS";
	case MEASURE_SECTION_CPUID:
		return "CPUID";
	case MEASURE_SECTION_SVSM_CAA:
		return "SVSM_CAA";
	case MEASURE_SECTION_SNP_KERNEL_HASHES:
		return "SNP_KERNEL_HASHES";
	}
	return NULL;
}

static const struct table_entry *find_entry(const struct table_entry *t, size_t n, const char *guid_text)
{
	uint8_t guid[16];

	guid_to_efi(guid_text, guid);
	for (size_t i = 0; i < n; i++)
		if (!memcmp(t[i].guid, guid, 16))
			return &t[i];
	return NULL;
}

/* Walks the footer GUID table backwards from its end, as QEMU does. */
static int parse_footer_table(const uint8_t *data, size_t size, struct table_entry *t, size_t *ret_n, sb_err **err)
{
	sb_cursor c = cur_make(data, size);
	uint8_t footer_guid[16], want[16];
	uint16_t total;
	size_t table_len, left, n = 0;
	const uint8_t *table;

	if (size < FOOTER_TAIL + FOOTER_ENTRY_HDR)
		return sb_err_set(err, EINVAL, "firmware too small (%zu bytes) to hold an OVMF footer table", size);
	if (!cur_skip(&c, size - FOOTER_TAIL - FOOTER_ENTRY_HDR) || !cur_u16le(&c, &total) ||
	    !cur_bytes(&c, footer_guid, 16))
		return sb_err_set(err, EINVAL, "firmware truncated at the footer table");
	guid_to_efi(GUID_OVMF_TABLE_FOOTER, want);
	if (memcmp(footer_guid, want, 16))
		return sb_err_set(err, EINVAL, "no OVMF footer table GUID before the reset vector: not an OVMF image");
	if (total < FOOTER_ENTRY_HDR)
		return sb_err_set(err, EINVAL, "OVMF footer table: length %u shorter than its own header", total);
	table_len = total - FOOTER_ENTRY_HDR;
	if (table_len > size - FOOTER_TAIL - FOOTER_ENTRY_HDR)
		return sb_err_set(err, EINVAL, "OVMF footer table: length %u runs past the start of the image", total);

	c = cur_make(data, size);
	if (!cur_skip(&c, size - FOOTER_TAIL - FOOTER_ENTRY_HDR - table_len) || !cur_view(&c, &table, table_len))
		return sb_err_set(err, EINVAL, "OVMF footer table out of range");

	left = table_len;
	while (left > 0) {
		sb_cursor e = cur_make(table, left);
		uint16_t len;
		struct table_entry ent;

		if (left < FOOTER_ENTRY_HDR)
			return sb_err_set(err, EINVAL, "OVMF footer table: %zu stray bytes before the first entry", left);
		if (n == MAX_TABLE_ENTRIES)
			return sb_err_set(err, EINVAL, "OVMF footer table: more than %u entries", MAX_TABLE_ENTRIES);
		if (!cur_skip(&e, left - FOOTER_ENTRY_HDR) || !cur_u16le(&e, &len) || !cur_bytes(&e, ent.guid, 16))
			return sb_err_set(err, EINVAL, "OVMF footer table: entry header out of range");
		if (len < FOOTER_ENTRY_HDR || len > left)
			return sb_err_set(err, EINVAL, "OVMF footer table: entry %zu has length %u (%zu bytes left)", n,
					  len, left);
		e = cur_make(table, left);
		if (!cur_skip(&e, left - len) || !cur_view(&e, &ent.data, len - FOOTER_ENTRY_HDR))
			return sb_err_set(err, EINVAL, "OVMF footer table: entry %zu out of range", n);
		ent.len = len - FOOTER_ENTRY_HDR;
		for (size_t i = 0; i < n; i++)
			if (!memcmp(t[i].guid, ent.guid, 16))
				return sb_err_set(err, EINVAL, "OVMF footer table: GUID of entry %zu appears twice", n);
		t[n++] = ent;
		left -= len;
	}
	*ret_n = n;
	return 0;
}

static int entry_u32(const struct table_entry *e, const char *what, uint32_t *ret, sb_err **err)
{
	sb_cursor c = cur_make(e->data, e->len);
	if (!cur_u32le(&c, ret))
		return sb_err_set(err, EINVAL, "OVMF footer table: %s entry has %zu bytes of data, needs 4", what,
				  e->len);
	return 0;
}

static int check_section(const struct measure_ovmf *o, size_t i, sb_err **err)
{
	const struct measure_section *s = &o->sections[i];
	uint64_t end = (uint64_t)s->gpa + s->size;
	const char *name = measure_section_type_name(s->type);

	if (!name)
		return sb_err_set(err, EINVAL, "SEV metadata section %zu: unknown type 0x%x", i, s->type);
	if (s->size == 0 || s->gpa % MEASURE_PAGE_SIZE || s->size % MEASURE_PAGE_SIZE)
		return sb_err_set(err, EINVAL, "SEV metadata section %zu (%s): gpa 0x%x size 0x%x not whole pages", i,
				  name, s->gpa, s->size);
	if (end > o->gpa)
		return sb_err_set(err, EINVAL,
				  "SEV metadata section %zu (%s): 0x%x+0x%x overlaps the firmware at 0x%llx or 4 GiB", i,
				  name, s->gpa, s->size, (unsigned long long)o->gpa);
	/* One page each: QEMU would measure every page of a bigger one, the spec knows one. */
	if ((s->type == MEASURE_SECTION_SNP_SECRETS || s->type == MEASURE_SECTION_CPUID) &&
	    s->size != MEASURE_PAGE_SIZE)
		return sb_err_set(err, EINVAL, "SEV metadata section %zu (%s): size 0x%x, must be one page", i, name,
				  s->size);
	for (size_t j = 0; j < i; j++) {
		const struct measure_section *p = &o->sections[j];
		if (s->gpa < (uint64_t)p->gpa + p->size && p->gpa < end)
			return sb_err_set(err, EINVAL, "SEV metadata sections %zu and %zu overlap", j, i);
		if (p->type == s->type && s->type != MEASURE_SECTION_SNP_SEC_MEM)
			return sb_err_set(err, EINVAL, "SEV metadata: more than one %s section", name);
	}
	return 0;
}

static int parse_sev_metadata(const uint8_t *data, size_t size, const struct table_entry *e, struct measure_ovmf *o,
			      sb_err **err)
{
	uint32_t off = 0, hdr_size, version, n_items;
	uint8_t sig[4];
	sb_cursor c = cur_make(data, size), items;
	int r;

	r = entry_u32(e, "SEV metadata", &off, err);
	if (r < 0)
		return r;
	if (off > size || off < SEV_META_HDR)
		return sb_err_set(err, EINVAL, "SEV metadata: offset 0x%x from the end is outside the %zu-byte image",
				  off, size);
	if (!cur_skip(&c, size - off) || !cur_bytes(&c, sig, 4) || !cur_u32le(&c, &hdr_size) ||
	    !cur_u32le(&c, &version) || !cur_u32le(&c, &n_items))
		return sb_err_set(err, EINVAL, "SEV metadata: header truncated");
	if (memcmp(sig, "ASEV", 4))
		return sb_err_set(err, EINVAL, "SEV metadata: bad signature (want ASEV)");
	if (version != 1)
		return sb_err_set(err, EINVAL, "SEV metadata: version %u, only 1 is known", version);
	if (hdr_size < SEV_META_HDR || hdr_size - SEV_META_HDR > c.left)
		return sb_err_set(err, EINVAL, "SEV metadata: length %u runs past the end of the image", hdr_size);
	if (!cur_sub(&c, &items, hdr_size - SEV_META_HDR))
		return sb_err_set(err, EINVAL, "SEV metadata: out of range");
	if (n_items > MEASURE_MAX_SECTIONS)
		return sb_err_set(err, EINVAL, "SEV metadata: %u sections, at most %d supported", n_items,
				  MEASURE_MAX_SECTIONS);
	if ((size_t)n_items * SEV_META_DESC > items.left)
		return sb_err_set(err, EINVAL, "SEV metadata: %u sections do not fit in its length %u", n_items,
				  hdr_size);
	for (uint32_t i = 0; i < n_items; i++) {
		struct measure_section *s = &o->sections[i];
		if (!cur_u32le(&items, &s->gpa) || !cur_u32le(&items, &s->size) || !cur_u32le(&items, &s->type))
			return sb_err_set(err, EINVAL, "SEV metadata: section %u truncated", i);
		o->n_sections = i + 1;
		r = check_section(o, i, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int measure_ovmf_parse(const void *data, size_t size, struct measure_ovmf *ret, sb_err **err)
{
	struct table_entry table[MAX_TABLE_ENTRIES];
	const struct table_entry *e;
	struct measure_ovmf o = { .data = data, .size = size };
	size_t n = 0;
	int r;

	if (size == 0 || size % MEASURE_PAGE_SIZE)
		return sb_err_set(err, EINVAL, "firmware size %zu is not a non-zero multiple of 4096", size);
	if (size > MEASURE_MAX_FIRMWARE_SIZE)
		return sb_err_set(err, EFBIG, "firmware size %zu above the %u-byte limit", size,
				  MEASURE_MAX_FIRMWARE_SIZE);
	o.gpa = FOUR_GIB - size;

	r = parse_footer_table(data, size, table, &n, err);
	if (r < 0)
		return r;

	e = find_entry(table, n, GUID_SEV_ES_RESET_BLOCK);
	if (e && (r = entry_u32(e, "SEV-ES reset block", &o.ap_reset_eip, err)) < 0)
		return r;
	e = find_entry(table, n, GUID_SEV_HASH_TABLE_RV);
	if (e) {
		if ((r = entry_u32(e, "SEV hashes table", &o.hashes_table_gpa, err)) < 0)
			return r;
		o.has_hashes_table = o.hashes_table_gpa != 0;
	}
	e = find_entry(table, n, GUID_OVMF_SEV_METADATA);
	if (!e)
		return sb_err_set(err, EINVAL, "OVMF footer table has no SEV metadata entry: firmware not built for SEV");
	r = parse_sev_metadata(data, size, e, &o, err);
	if (r < 0)
		return r;
	*ret = o;
	return 0;
}
