/* SPDX-License-Identifier: MIT */
/* Re-emission: rebuild an event's exact bytes from its decoded fields. */
#include "be.h"
#include "lh_stream.h"

static long copy_raw(const lh_event *ev, uint8_t *dst, size_t cap)
{
	if (ev->raw_len > cap)
		return -LH_E_DST_TOO_SMALL;
	memcpy(dst, ev->raw, ev->raw_len);
	return (long)ev->raw_len;
}

/* be64 (addr | flags), then str8 block name unless CONTINUE. */
static uint8_t *ram_header(const lh_event *ev, uint8_t *d)
{
	d = lh_put64(d, ev->u.ram.addr | ev->u.ram.flags);
	if (!(ev->u.ram.flags & LH_RAM_CONTINUE)) {
		d = lh_put8(d, ev->u.ram.block->name_len);
		memcpy(d, ev->u.ram.block->name, ev->u.ram.block->name_len);
		d += ev->u.ram.block->name_len;
	}
	return d;
}

static size_t ram_header_len(const lh_event *ev)
{
	return 8 + ((ev->u.ram.flags & LH_RAM_CONTINUE) ? 0 : 1u + ev->u.ram.block->name_len);
}

static long emit_ram(const lh_event *ev, uint8_t *dst, size_t cap)
{
	uint8_t *d = dst;
	size_t need;

	switch (ev->type) {
	case LH_EV_RAM_EOS: case LH_EV_RAM_MULTIFD_FLUSH:
		if (cap < 8)
			return -LH_E_DST_TOO_SMALL;
		lh_put64(d, ev->u.ram.addr | ev->u.ram.flags);
		return 8;
	case LH_EV_RAM_MEM_SIZE:
		if (cap < 8)
			return -LH_E_DST_TOO_SMALL;
		lh_put64(d, ev->u.ram.total | ev->u.ram.flags);
		return 8;
	case LH_EV_RAM_BLOCK_INFO: {
		const lh_ramblock *b = ev->u.ram.block;
		need = 1u + b->name_len + 8 + (ev->u.ram.has_page_size ? 8 : 0) + (ev->u.ram.has_mr_addr ? 8 : 0);
		if (cap < need)
			return -LH_E_DST_TOO_SMALL;
		d = lh_put8(d, b->name_len);
		memcpy(d, b->name, b->name_len);
		d = lh_put64(d + b->name_len, b->used_length);
		if (ev->u.ram.has_page_size)
			d = lh_put64(d, b->page_size);
		if (ev->u.ram.has_mr_addr)
			d = lh_put64(d, b->mr_addr);
		return (long)need;
	}
	case LH_EV_RAM_ZERO:
		need = ram_header_len(ev) + 1;
		if (cap < need)
			return -LH_E_DST_TOO_SMALL;
		d = ram_header(ev, d);
		*d = ev->u.ram.fill;
		return (long)need;
	case LH_EV_RAM_PAGE:
		need = ram_header_len(ev) + ev->u.ram.data_len;
		break;
	case LH_EV_RAM_XBZRLE:
		need = ram_header_len(ev) + 3 + ev->u.ram.data_len;
		break;
	default: /* LH_EV_RAM_COMPRESS */
		need = ram_header_len(ev) + 4 + ev->u.ram.data_len;
		break;
	}
	if (cap < need)
		return -LH_E_DST_TOO_SMALL;
	d = ram_header(ev, d);
	if (ev->type == LH_EV_RAM_XBZRLE) {
		d = lh_put8(d, ev->u.ram.xbzrle_encoding);
		d = lh_put16(d, (uint16_t)ev->u.ram.data_len);
	} else if (ev->type == LH_EV_RAM_COMPRESS) {
		d = lh_put32(d, ev->u.ram.data_len);
	}
	memcpy(d, ev->u.ram.data, ev->u.ram.data_len);
	return (long)need;
}

long lh_emit_event(const lh_event *ev, uint8_t *dst, size_t cap)
{
	uint8_t *d = dst;
	size_t need;

	switch (ev->type) {
	case LH_EV_FILE_HEADER:
		if (cap < 8)
			return -LH_E_DST_TOO_SMALL;
		lh_put32(lh_put32(d, ev->u.file.magic), ev->u.file.version);
		return 8;
	case LH_EV_SECTION_HEADER:
		need = 5;
		if (ev->u.section.type == LH_SEC_START || ev->u.section.type == LH_SEC_FULL)
			need += 1u + ev->u.section.idstr_len + 8;
		if (cap < need)
			return -LH_E_DST_TOO_SMALL;
		d = lh_put32(lh_put8(d, ev->u.section.type), ev->u.section.section_id);
		if (need > 5) {
			d = lh_put8(d, ev->u.section.idstr_len);
			memcpy(d, ev->u.section.idstr, ev->u.section.idstr_len);
			d = lh_put32(d + ev->u.section.idstr_len, ev->u.section.instance_id);
			lh_put32(d, ev->u.section.version_id);
		}
		return (long)need;
	case LH_EV_SECTION_FOOTER:
		if (cap < 5)
			return -LH_E_DST_TOO_SMALL;
		lh_put32(lh_put8(d, 0x7E), ev->u.footer.section_id);
		return 5;
	case LH_EV_COMMAND:
		need = 5u + ev->u.command.len;
		if (cap < need)
			return -LH_E_DST_TOO_SMALL;
		d = lh_put16(lh_put16(lh_put8(d, 0x08), ev->u.command.cmd), ev->u.command.len);
		memcpy(d, ev->u.command.payload, ev->u.command.len);
		return (long)need;
	case LH_EV_EOF:
		if (cap < 1)
			return -LH_E_DST_TOO_SMALL;
		*d = 0x00;
		return 1;
	case LH_EV_VMDESC:
		if (cap < 5)
			return -LH_E_DST_TOO_SMALL;
		lh_put32(lh_put8(d, 0x06), ev->u.vmdesc.len);
		return 5;
	case LH_EV_CONFIGURATION:
		need = 5u + ev->u.config.name_len;
		if (cap < need)
			return -LH_E_DST_TOO_SMALL;
		d = lh_put32(lh_put8(d, 0x07), ev->u.config.name_len);
		memcpy(d, ev->u.config.name, ev->u.config.name_len);
		return (long)need;
	case LH_EV_RAM_MEM_SIZE: case LH_EV_RAM_BLOCK_INFO: case LH_EV_RAM_ZERO: case LH_EV_RAM_PAGE:
	case LH_EV_RAM_XBZRLE: case LH_EV_RAM_COMPRESS: case LH_EV_RAM_MULTIFD_FLUSH: case LH_EV_RAM_EOS:
		return emit_ram(ev, dst, cap);
	case LH_EV_MULTIFD_PAGE:
		if (cap < ev->raw_len)
			return -LH_E_DST_TOO_SMALL;
		memcpy(d, ev->u.mf_page.data, ev->raw_len);
		return (long)ev->raw_len;
	/* Opaque bytes, subsections and multifd headers travel as they are:
	 * their raw bytes are their fields (7.2's stale slots included). */
	case LH_EV_CONFIG_SUBSECTION: case LH_EV_OPAQUE: case LH_EV_MULTIFD_INIT:
	case LH_EV_MULTIFD_PACKET: case LH_EV_MULTIFD_DEVSTATE:
		return copy_raw(ev, dst, cap);
	default:
		return -LH_E_PARAM;
	}
}
