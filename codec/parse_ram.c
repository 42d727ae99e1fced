/* SPDX-License-Identifier: MIT */
/* RAM section payloads (migration/ram.c): records, the MEM_SIZE block list, CONTINUE state. */
#include "parser_internal.h"

#define RAM_KNOWN_FLAGS 0x3FFu

/* zlib's compressBound() for one page, rounded up: COMPRESS_PAGE never exceeds it. */
static uint32_t compress_bound(uint32_t ps) { return ps + ps / 64 + 64; }

static int record_block(lh_parser *p, const uint8_t *b, size_t n, uint32_t flags,
			const lh_ramblock **blk, size_t *hdr)
{
	uint8_t len;
	int r;

	if (flags & LH_RAM_CONTINUE) {
		if (!p->cur_block)
			return lh__fail(p, LH_E_BAD_RAM_BLOCK, p->offset,
					"CONTINUE record with no previous block on this connection");
		*blk = p->cur_block;
		*hdr = 8;
		return 0;
	}
	if (n < 9)
		return lh__need(p, 9);
	len = b[8];
	if (n < 9u + len)
		return lh__need(p, 9u + len);
	*blk = lh__block_find(p, b + 9, len);
	if (!*blk) {
		/* A MEM_SIZE list names every block; a record naming another is corrupt.
		 * Without one (preempt or recovery channel) blocks are learnt as they come. */
		if (p->mem_total != 0)
			return lh__fail(p, LH_E_BAD_RAM_BLOCK, p->offset + 9, "unknown RAM block `%.*s'",
					(int)len, (const char *)(b + 9));
		if ((r = lh__block_add(p, b + 9, len, blk)) < 0)
			return r;
	}
	*hdr = 9u + len;
	return 0;
}

int lh__st_ram_record(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	const uint32_t ps = p->page_size;
	const lh_ramblock *blk = NULL;
	lh_event ev;
	uint64_t v, addr;
	uint32_t flags, kind;
	size_t hdr = 8, total;
	int r;

	if (n < 8)
		return lh__need(p, 8);
	v = lh_be64(b);
	flags = (uint32_t)(v & (ps - 1));
	addr = v & ~(uint64_t)(ps - 1);
	if (flags & ~RAM_KNOWN_FLAGS)
		return lh__fail(p, LH_E_BAD_RAM_FLAGS, p->offset, "RAM record flags 0x%x has unknown bits", flags);
	kind = flags & ~(uint32_t)LH_RAM_CONTINUE;
	lh__event_init(p, &ev, LH_EV_RAM_EOS, b, 8);
	ev.u.ram.flags = flags;
	ev.u.ram.addr = addr;

	switch (kind) {
	case LH_RAM_EOS:
		if ((r = lh__emit(p, &ev)) < 0)
			return r;
		*used = 8;
		if (p->chan != LH_CHAN_PREEMPT)
			p->state = ST_SECTION_FOOTER;
		return 0;
	case LH_RAM_MULTIFD_FLUSH:
		ev.type = LH_EV_RAM_MULTIFD_FLUSH;
		if ((r = lh__emit(p, &ev)) < 0)
			return r;
		*used = 8;
		return 0;
	case LH_RAM_MEM_SIZE:
		if (p->mem_total != 0)
			return lh__fail(p, LH_E_BAD_RAM_FLAGS, p->offset, "second MEM_SIZE record");
		ev.type = LH_EV_RAM_MEM_SIZE;
		ev.u.ram.total = addr;
		if ((r = lh__emit(p, &ev)) < 0)
			return r;
		*used = 8;
		p->mem_total = addr;
		p->mem_seen = 0;
		if (addr != 0)
			p->state = ST_RAM_BLOCK_LIST;
		return 0;
	case LH_RAM_ZERO: case LH_RAM_PAGE: case LH_RAM_XBZRLE: case LH_RAM_COMPRESS:
		break;
	case LH_RAM_HOOK:
		return lh__fail(p, LH_E_UNSUPPORTED, p->offset, "RDMA hook record on a TCP stream");
	default:
		return lh__fail(p, LH_E_BAD_RAM_FLAGS, p->offset, "RAM record flags 0x%x are not a known record kind",
				flags);
	}

	if ((r = record_block(p, b, n, flags, &blk, &hdr)) != 0)
		return r;
	if (blk->from_mem_size && addr >= blk->used_length)
		return lh__fail(p, LH_E_BAD_RAM_BLOCK, p->offset, "offset 0x%llx beyond block `%s' (0x%llx bytes)",
				(unsigned long long)addr, blk->name, (unsigned long long)blk->used_length);
	ev.u.ram.block = blk;
	switch (kind) {
	case LH_RAM_ZERO:
		ev.type = LH_EV_RAM_ZERO;
		total = hdr + 1;
		if (n < total)
			return lh__need(p, total);
		ev.u.ram.fill = b[hdr];
		break;
	case LH_RAM_PAGE:
		ev.type = LH_EV_RAM_PAGE;
		total = hdr + ps;
		if (n < total)
			return lh__need(p, total);
		ev.u.ram.data = b + hdr;
		ev.u.ram.data_len = ps;
		break;
	case LH_RAM_XBZRLE:
		ev.type = LH_EV_RAM_XBZRLE;
		if (n < hdr + 3)
			return lh__need(p, hdr + 3);
		if (b[hdr] != 0x01)
			return lh__fail(p, LH_E_BAD_RAM_FLAGS, p->offset + hdr, "XBZRLE encoding byte 0x%02x", b[hdr]);
		ev.u.ram.xbzrle_encoding = b[hdr];
		ev.u.ram.data_len = lh_be16(b + hdr + 1);
		if (ev.u.ram.data_len > ps)
			return lh__fail(p, LH_E_BAD_LENGTH, p->offset + hdr + 1, "XBZRLE delta of %u bytes for a %u-byte page",
					ev.u.ram.data_len, ps);
		total = hdr + 3 + ev.u.ram.data_len;
		if (n < total)
			return lh__need(p, total);
		ev.u.ram.data = b + hdr + 3;
		break;
	default: /* LH_RAM_COMPRESS */
		ev.type = LH_EV_RAM_COMPRESS;
		if (n < hdr + 4)
			return lh__need(p, hdr + 4);
		ev.u.ram.data_len = lh_be32(b + hdr);
		if (ev.u.ram.data_len > compress_bound(ps))
			return lh__fail(p, LH_E_BAD_LENGTH, p->offset + hdr, "compressed page of %u bytes", ev.u.ram.data_len);
		total = hdr + 4 + ev.u.ram.data_len;
		if (n < total)
			return lh__need(p, total);
		ev.u.ram.data = b + hdr + 4;
		break;
	}
	ev.raw_len = total;
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	p->cur_block = blk;
	*used = total;
	return 0;
}

/* 1 when the MEM_SIZE entry carries a page size (format reference §2.4); NEED_MORE: *need bytes. */
#define NEED_MORE 2
static int has_page_size_field(lh_parser *p, const uint8_t *b, size_t n, size_t pos, bool last, size_t *need)
{
	uint64_t summary = p->postcopy_pagesize_summary, w;

	if (summary == 0 || summary == p->page_size)
		return 0;
	if (!last) { /* an idstr length byte is >= 1, a page size's top byte is 0 */
		if (n < pos + 1) {
			*need = pos + 1;
			return NEED_MORE;
		}
		return b[pos] == 0;
	}
	if (n < pos + 8) {
		*need = pos + 8;
		return NEED_MORE;
	}
	w = lh_be64(b + pos);
	return w > p->page_size && !(w & (w - 1)) && (w & summary);
}

int lh__st_ram_block_list(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	const lh_ramblock *cblk;
	lh_ramblock *blk;
	lh_event ev;
	uint64_t used_len, page_size = 0, mr_addr = 0;
	size_t pos, need = 0;
	uint8_t len;
	int r, has_ps;

	if (n < 1)
		return lh__need(p, 1);
	len = b[0];
	pos = 1u + len + 8;
	if (n < pos)
		return lh__need(p, pos);
	used_len = lh_be64(b + 1 + len);
	if (used_len > p->mem_total - p->mem_seen)
		return lh__fail(p, LH_E_BAD_LENGTH, p->offset + 1 + len,
				"block `%.*s' of 0x%llx bytes overruns MEM_SIZE total 0x%llx", (int)len,
				(const char *)(b + 1), (unsigned long long)used_len, (unsigned long long)p->mem_total);
	if (lh__block_find(p, b + 1, len))
		return lh__fail(p, LH_E_BAD_RAM_BLOCK, p->offset + 1, "block `%.*s' listed twice", (int)len,
				(const char *)(b + 1));
	has_ps = has_page_size_field(p, b, n, pos, p->mem_seen + used_len == p->mem_total, &need);
	if (has_ps == NEED_MORE)
		return lh__need(p, need);
	if (has_ps && p->ignore_shared)
		return lh__fail(p, LH_E_UNSUPPORTED, p->offset,
				"huge-page blocks with x-ignore-shared: per-block page sizes are not in the stream");
	if (has_ps) {
		if (n < pos + 8)
			return lh__need(p, pos + 8);
		page_size = lh_be64(b + pos);
		pos += 8;
	}
	if (p->ignore_shared) {
		if (n < pos + 8)
			return lh__need(p, pos + 8);
		mr_addr = lh_be64(b + pos);
		pos += 8;
	}
	if ((r = lh__block_add(p, b + 1, len, &cblk)) < 0)
		return r;
	blk = &p->blocks[cblk->index];
	blk->from_mem_size = 1;
	blk->used_length = used_len;
	blk->page_size = page_size;
	blk->mr_addr = mr_addr;
	lh__event_init(p, &ev, LH_EV_RAM_BLOCK_INFO, b, pos);
	ev.u.ram.block = blk;
	ev.u.ram.has_page_size = (uint8_t)has_ps;
	ev.u.ram.has_mr_addr = p->ignore_shared;
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = pos;
	p->mem_seen += used_len;
	if (p->mem_seen == p->mem_total)
		p->state = ST_RAM_RECORD;
	return 0;
}
