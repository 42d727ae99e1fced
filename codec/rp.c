/* SPDX-License-Identifier: MIT */
/* Return-path scanner: follows the message framing until SHUT (lh_rp.h). */
#include "lh_rp.h"

#include <string.h>

static const char *const rp_names[] = {
	"INVALID", "SHUT", "PONG", "REQ_PAGES_ID", "REQ_PAGES", "RECV_BITMAP", "RESUME_ACK", "SWITCHOVER_ACK",
};

const char *lh_rp_type_name(unsigned type)
{
	return type <= LH_RP_MSG_MAX ? rp_names[type] : "unknown";
}

void lh_rp_init(lh_rp_scanner *s)
{
	memset(s, 0, sizeof(*s));
}

static enum lh_rp_state lost(lh_rp_scanner *s, const char *reason)
{
	s->state = LH_RP_LOST;
	s->reason = reason;
	return s->state;
}

/* Checks a complete header; the body is then skipped (or collected for SHUT). */
static enum lh_rp_state header_done(lh_rp_scanner *s)
{
	s->type = (uint16_t)(s->hdr[0] << 8 | s->hdr[1]);
	s->len = (uint16_t)(s->hdr[2] << 8 | s->hdr[3]);
	switch (s->type) {
	case 1: case 2: case 6: /* SHUT, PONG, RESUME_ACK: be32 */
		if (s->len != 4)
			return lost(s, "SHUT/PONG/RESUME_ACK length is not 4");
		break;
	case 3: /* REQ_PAGES_ID: be64 start, be32 len, str8 block */
		if (s->len < 13 || s->len > 12 + 1 + 255)
			return lost(s, "REQ_PAGES_ID length out of range");
		break;
	case 4: /* REQ_PAGES */
		if (s->len != 12)
			return lost(s, "REQ_PAGES length is not 12");
		break;
	case 7: /* SWITCHOVER_ACK */
		if (s->len != 0)
			return lost(s, "SWITCHOVER_ACK with a payload");
		break;
	case 5:
		return lost(s, "RECV_BITMAP (unframed payload follows)");
	default:
		return lost(s, "unknown return-path message type");
	}
	s->body_left = s->len;
	return s->state;
}

enum lh_rp_state lh_rp_feed(lh_rp_scanner *s, const uint8_t *p, size_t n)
{
	while (n && s->state == LH_RP_SCANNING) {
		if (s->hlen < 4) {
			size_t take = 4 - s->hlen < n ? 4 - s->hlen : n;
			memcpy(s->hdr + s->hlen, p, take);
			s->hlen += (unsigned)take;
			p += take;
			n -= take;
			s->offset += take;
			if (s->hlen < 4 || header_done(s) != LH_RP_SCANNING)
				continue;
		} else {
			size_t take = s->body_left < n ? s->body_left : n;
			if (s->type == LH_RP_MSG_SHUT)
				memcpy(s->body + (4 - s->body_left), p, take);
			s->body_left -= (uint32_t)take;
			p += take;
			n -= take;
			s->offset += take;
		}
		if (s->hlen == 4 && s->body_left == 0) {
			s->messages++;
			s->hlen = 0;
			if (s->type == LH_RP_MSG_SHUT) {
				s->status = (uint32_t)s->body[0] << 24 | (uint32_t)s->body[1] << 16 |
					    (uint32_t)s->body[2] << 8 | s->body[3];
				s->state = LH_RP_SHUT_SEEN;
			}
		}
	}
	return s->state;
}
