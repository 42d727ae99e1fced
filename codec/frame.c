/* SPDX-License-Identifier: MIT */
/* WAN frame header: write, parse, bounds, frame sizes (layout in FORMAT.md); used by encoder and decoder. */
#include "be.h"
#include <string.h>
#include "frame.h"
#include "wan_hash.h"

uint32_t lh_frame_body_check(const uint8_t *body, size_t len)
{
	return (uint32_t)XXH3_64bits(body, len);
}

void lh_frame_hdr_write(uint8_t *dst, uint8_t type, uint32_t stream_id, const uint8_t *body,
			uint32_t body_len, uint32_t raw_len)
{
	uint8_t *p = dst;
	p = lh_put8(p, LH_FRAME_MAGIC0);
	p = lh_put8(p, LH_FRAME_MAGIC1);
	p = lh_put8(p, LH_FRAME_VERSION);
	p = lh_put8(p, type);
	p = lh_put32(p, stream_id);
	p = lh_put32(p, body_len);
	p = lh_put32(p, raw_len);
	lh_put32(p, lh_frame_body_check(body, body_len));
}

int lh_frame_hdr_parse(const uint8_t *b, lh_frame_hdr *h)
{
	if (b[0] != LH_FRAME_MAGIC0 || b[1] != LH_FRAME_MAGIC1)
		return -LH_E_BAD_MAGIC;
	if (b[2] != LH_FRAME_VERSION)
		return -LH_E_BAD_VERSION;
	h->type = b[3];
	h->stream_id = lh_be32(b + 4);
	h->body_len = lh_be32(b + 8);
	h->raw_len = lh_be32(b + 12);
	h->body_check = lh_be32(b + 16);
	if (h->type < LH_FT_HELLO || h->type > LH_FT_ABORT)
		return -LH_E_CORRUPT;
	if (h->body_len > LH_WAN_FRAME_MAX - LH_WAN_FRAME_HDR || h->raw_len > LH_WAN_FRAME_RAW_MAX)
		return -LH_E_BAD_LENGTH;
	if (h->type != LH_FT_DATA && h->raw_len != 0)
		return -LH_E_BAD_LENGTH;
	return 0;
}

/* Public (lh_wan.h). Here rather than in the decoder: the encoder reads its queued frames' sizes too. */
long lh_wan_frame_size(const void *buf, size_t len)
{
	lh_frame_hdr h;
	int r;
	if (len < LH_WAN_FRAME_HDR)
		return 0;
	if ((r = lh_frame_hdr_parse(buf, &h)) < 0)
		return r;
	return (long)LH_WAN_FRAME_HDR + h.body_len;
}

int lh_wan_frame_peek(const void *buf, size_t len, lh_wan_frame_info *info)
{
	const uint8_t *f = buf;
	lh_frame_hdr h;
	int r;
	if (len < LH_WAN_FRAME_HDR)
		return -LH_E_TRUNCATED;
	if ((r = lh_frame_hdr_parse(buf, &h)) < 0)
		return r;
	memset(info, 0, sizeof(*info));
	info->type = h.type;
	info->stream_id = h.stream_id;
	if (h.type == LH_FT_OPEN && h.body_len >= 4 && len >= LH_WAN_FRAME_HDR + 4)
		info->vm_id = lh_be32(f + LH_WAN_FRAME_HDR);
	return 0;
}

long lh_wan_frame_raw_len(const void *buf, size_t len)
{
	lh_frame_hdr h;
	int r;
	if (len < LH_WAN_FRAME_HDR)
		return -LH_E_TRUNCATED;
	if ((r = lh_frame_hdr_parse(buf, &h)) < 0)
		return r;
	return h.raw_len;
}
