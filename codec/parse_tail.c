/* SPDX-License-Identifier: MIT */
/* Device state ("tail"): opaque bytes, with section boundaries re-found by their footers. */
#include "parser_internal.h"

/*
 * Device payloads have no length prefix (format reference §2.7). Their
 * bytes always travel as LH_EV_OPAQUE; this file only *reports* where a
 * section ends: at `7E <be32 id>` of the current section when what follows
 * is a plausible next item. A wrong guess can mislabel a boundary but never
 * changes a byte or fails a valid stream, because nothing after the first
 * device payload is interpreted as RAM again.
 */

void lh__enter_tail(lh_parser *p, uint32_t section_id)
{
	p->tail = true;
	p->cur_section_id = section_id;
	p->opaque_kind = LH_OPAQUE_DEVICE_STATE;
	p->state = ST_TAIL_SCAN;
}

static bool printable(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7E)
			return false;
	return true;
}

/* 1: plausible next top-level item at b; 0: not; TAIL_NEED_MORE: *need bytes required. */
int lh__tail_item_plausible(lh_parser *p, const uint8_t *b, size_t n, size_t *need)
{
#define WANT(k) do { if (n < (k)) { if (p->final) return 0; *need = (k); return TAIL_NEED_MORE; } } while (0)
	lh_section_info *s;
	uint8_t il;

	if (n < 1) {
		if (p->final)
			return 0;
		*need = 1;
		return TAIL_NEED_MORE;
	}
	switch (b[0]) {
	case 0x00: /* EOF, then VMDESCRIPTION or the end of the connection */
		if (n < 2 && p->final)
			return 1;
		WANT(2);
		if (b[1] != 0x06)
			return 0;
		WANT(7);
		return lh_be32(b + 2) > 0 && lh_be32(b + 2) <= (256u << 20) && b[6] == '{';
	case LH_SEC_START: case LH_SEC_FULL:
		WANT(6);
		il = b[5];
		if (il == 0)
			return 0;
		WANT(6u + il + 8);
		return printable(b + 6, il) && !lh__section_find(p, lh_be32(b + 1)) &&
		       lh_be32(b + 6 + il) <= 0xFFFF && lh_be32(b + 10 + il) <= 0xFFFF;
	case LH_SEC_PART: case LH_SEC_END:
		WANT(5);
		s = lh__section_find(p, lh_be32(b + 1));
		return s && !s->ended;
	case 0x08:
		WANT(5);
		return lh_be16(b + 1) <= LH_CMD_SWITCHOVER_START && lh__command_len_ok(lh_be16(b + 1), lh_be16(b + 3));
	default:
		return 0;
	}
#undef WANT
}

int lh__st_tail_scan(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	uint8_t sid[4];
	size_t i = 0;
	int r;

	if (n == 0)
		return lh__need(p, 1);
	lh_put32(sid, p->cur_section_id);
	while (i < n) {
		const uint8_t *q = memchr(b + i, 0x7E, n - i);
		size_t c, need = 0;
		int ok;

		if (!q)
			break;
		c = (size_t)(q - b);
		if (n - c < 5 && !p->final) {
			if (c == 0)
				return lh__need(p, 5);
			i = c; /* hand the candidate over to the next call */
			break;
		}
		if (n - c < 5 || memcmp(b + c + 1, sid, 4) != 0) {
			i = c + 1;
			continue;
		}
		ok = lh__tail_item_plausible(p, b + c + 5, n - c - 5, &need);
		if (ok == TAIL_NEED_MORE) {
			if (c == 0)
				return lh__need(p, 5 + need);
			i = c;
			break;
		}
		if (!ok) {
			i = c + 1;
			continue;
		}
		/* Footer found: opaque bytes before it, then the footer itself. */
		if ((r = lh__emit_opaque(p, LH_OPAQUE_DEVICE_STATE, b, c, p->guessing)) < 0)
			return r;
		lh_event ev;
		lh__event_init(p, &ev, LH_EV_SECTION_FOOTER, b + c, 5);
		ev.offset = p->offset + c;
		ev.guessed = 1;
		ev.u.footer.section_id = p->cur_section_id;
		if ((r = lh__emit(p, &ev)) < 0)
			return r;
		*used = c + 5;
		p->guessing = true;
		p->state = ST_MAIN_TOP;
		return 0;
	}
	if (i == n || !memchr(b + i, 0x7E, n - i))
		i = n;
	if ((r = lh__emit_opaque(p, LH_OPAQUE_DEVICE_STATE, b, i, p->guessing)) < 0)
		return r;
	*used = i;
	return 0;
}
