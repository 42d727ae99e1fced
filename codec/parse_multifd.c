/* SPDX-License-Identifier: MIT */
/* Multifd channels (migration/multifd.c): init packet, page packets, device-state packets. */
#include "parser_internal.h"

/*
 * Wire format (format reference §4.2, §4.3), big-endian:
 *   init (64):   be32 magic 0x11223344, be32 version 1, 16 uuid, u8 id, 39 unused
 *   packet:      be32 magic, be32 version, be32 flags,
 *                be32 pages_alloc, be32 normal_pages, be32 next_packet_size,
 *                be64 packet_num, be32 zero_pages (9.0+; unused before),
 *                28 unused, char ramblock[256], be64 offset[page_count]
 *                with page_count = 512 KiB / page size, always all present
 *                (7.2 leaves stale values in unused slots; they are kept
 *                verbatim because the event's raw bytes are the header).
 *                Then normal_pages raw pages when uncompressed.
 *   device state (flags & 0x40, 10.0+): 12-byte header, char idstr[256],
 *                be32 instance_id, be32 next_packet_size, then that many bytes.
 */
#define MULTIFD_MAGIC 0x11223344u
#define MULTIFD_VERSION 1u
#define MF_FLAG_SYNC 0x01u
#define MF_FLAG_COMPRESSION_MASK 0x3Eu
#define MF_FLAG_DEVICE_STATE 0x40u
#define MF_KNOWN_FLAGS (MF_FLAG_SYNC | MF_FLAG_COMPRESSION_MASK | MF_FLAG_DEVICE_STATE)
#define MF_PACKET_BYTES (512u * 1024)
#define MF_DEVSTATE_HDR 276u

int lh__st_mf_init(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	lh_event ev;
	int r;

	if (n < 64)
		return lh__need(p, 64);
	if (lh_be32(b) != MULTIFD_MAGIC)
		return lh__fail(p, LH_E_BAD_MAGIC, p->offset, "multifd init magic 0x%08x", lh_be32(b));
	if (lh_be32(b + 4) != MULTIFD_VERSION)
		return lh__fail(p, LH_E_BAD_VERSION, p->offset + 4, "multifd version %u", lh_be32(b + 4));
	lh__event_init(p, &ev, LH_EV_MULTIFD_INIT, b, 64);
	ev.u.mf_init.version = MULTIFD_VERSION;
	ev.u.mf_init.uuid = b + 8;
	ev.u.mf_init.channel_id = b[24];
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = 64;
	p->state = ST_MF_PACKET;
	return 0;
}

static int mf_devstate(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	lh_event ev;
	uint32_t size;
	int r;

	if (n < MF_DEVSTATE_HDR)
		return lh__need(p, MF_DEVSTATE_HDR);
	if (!memchr(b + 12, 0, 256))
		return lh__fail(p, LH_E_BAD_MULTIFD, p->offset + 12, "device-state idstr is not terminated");
	size = lh_be32(b + 272);
	lh__event_init(p, &ev, LH_EV_MULTIFD_DEVSTATE, b, MF_DEVSTATE_HDR);
	ev.u.mf_packet.flags = lh_be32(b + 8);
	ev.u.mf_packet.next_packet_size = size;
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = MF_DEVSTATE_HDR;
	if (size > 0) {
		p->opaque_left = size;
		p->opaque_kind = LH_OPAQUE_MULTIFD_PAYLOAD;
		p->after_opaque = ST_MF_PACKET;
		p->state = ST_OPAQUE_LEN;
	}
	return 0;
}

int lh__st_mf_packet(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	const uint32_t ps = p->page_size;
	const uint32_t page_count = MF_PACKET_BYTES / ps;
	const size_t hdr = 320u + 8u * page_count;
	const lh_ramblock *blk = NULL;
	uint32_t flags, alloc, normal, zero, next;
	size_t name_len;
	lh_event ev;
	int r;

	if (n < 12)
		return lh__need(p, 12);
	if (lh_be32(b) != MULTIFD_MAGIC)
		return lh__fail(p, LH_E_BAD_MAGIC, p->offset, "multifd packet magic 0x%08x", lh_be32(b));
	if (lh_be32(b + 4) != MULTIFD_VERSION)
		return lh__fail(p, LH_E_BAD_VERSION, p->offset + 4, "multifd packet version %u", lh_be32(b + 4));
	flags = lh_be32(b + 8);
	if (flags & ~MF_KNOWN_FLAGS)
		return lh__fail(p, LH_E_BAD_MULTIFD, p->offset + 8, "multifd flags 0x%x has unknown bits", flags);
	if (flags & MF_FLAG_DEVICE_STATE)
		return mf_devstate(p, b, n, used);
	if (n < hdr)
		return lh__need(p, hdr);
	alloc = lh_be32(b + 12);
	normal = lh_be32(b + 16);
	next = lh_be32(b + 20);
	zero = lh_be32(b + 32);
	if (alloc > page_count || normal > alloc || zero > alloc - normal)
		return lh__fail(p, LH_E_BAD_MULTIFD, p->offset + 12,
				"multifd packet pages: alloc %u normal %u zero %u (max %u)", alloc, normal, zero, page_count);
	name_len = strnlen((const char *)b + 64, 256);
	if (name_len == 256)
		return lh__fail(p, LH_E_BAD_MULTIFD, p->offset + 64, "multifd ramblock name is not terminated");
	if (normal + zero > 0) {
		blk = lh__block_find(p, b + 64, (uint8_t)name_len);
		if (!blk && (r = lh__block_add(p, b + 64, (uint8_t)name_len, &blk)) < 0)
			return r;
		for (uint32_t i = 0; i < normal + zero; i++) {
			uint64_t off = lh_be64(b + 320 + 8 * i);
			if (off & (ps - 1))
				return lh__fail(p, LH_E_BAD_MULTIFD, p->offset + 320 + 8 * i,
						"multifd page offset 0x%llx is not page aligned", (unsigned long long)off);
			if (i < normal)
				p->mf_offsets[i] = off;
		}
	}
	/* With no normal pages there is no payload, whatever next_packet_size says (7.2 leaves it stale). */
	if (normal > 0 && !(flags & MF_FLAG_COMPRESSION_MASK) && next != normal * ps)
		return lh__fail(p, LH_E_BAD_MULTIFD, p->offset + 20,
				"next_packet_size %u for %u uncompressed pages", next, normal);
	lh__event_init(p, &ev, LH_EV_MULTIFD_PACKET, b, hdr);
	ev.u.mf_packet.flags = flags;
	ev.u.mf_packet.pages_alloc = alloc;
	ev.u.mf_packet.normal_pages = normal;
	ev.u.mf_packet.zero_pages = zero;
	ev.u.mf_packet.next_packet_size = next;
	ev.u.mf_packet.packet_num = lh_be64(b + 24);
	ev.u.mf_packet.block = blk;
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = hdr;
	p->mf_packet_num = ev.u.mf_packet.packet_num;
	p->mf_block = blk;
	if (normal > 0 && (flags & MF_FLAG_COMPRESSION_MASK)) {
		p->opaque_left = next;
		p->opaque_kind = LH_OPAQUE_MULTIFD_PAYLOAD;
		p->after_opaque = ST_MF_PACKET;
		p->state = next ? ST_OPAQUE_LEN : ST_MF_PACKET;
	} else if (normal > 0) {
		p->mf_npages = normal;
		p->mf_index = 0;
		p->state = ST_MF_PAGES;
	}
	return 0;
}

int lh__st_mf_pages(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	const uint32_t ps = p->page_size;
	lh_event ev;
	int r;

	if (n < ps)
		return lh__need(p, ps);
	lh__event_init(p, &ev, LH_EV_MULTIFD_PAGE, b, ps);
	ev.u.mf_page.addr = p->mf_offsets[p->mf_index];
	ev.u.mf_page.index = p->mf_index;
	ev.u.mf_page.block = p->mf_block;
	ev.u.mf_page.data = b;
	ev.u.mf_page.packet_num = p->mf_packet_num;
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = ps;
	if (++p->mf_index == p->mf_npages)
		p->state = ST_MF_PACKET;
	return 0;
}
