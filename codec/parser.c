/* SPDX-License-Identifier: MIT */
/* Parser driver: chunking (carry buffer), state dispatch, tables, errors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "parser_internal.h"

static const char *const channel_names[] = {
	[LH_CHAN_AUTO] = "auto", [LH_CHAN_MAIN] = "main", [LH_CHAN_MULTIFD] = "multifd",
	[LH_CHAN_PREEMPT] = "preempt", [LH_CHAN_OPAQUE] = "opaque",
};

const char *lh_channel_name(lh_channel_kind k)
{
	return (unsigned)k < sizeof(channel_names) / sizeof(channel_names[0]) ? channel_names[k] : "?";
}

static const char *const event_names[LH_EV__COUNT] = {
	[LH_EV_FILE_HEADER] = "FILE_HEADER", [LH_EV_CONFIGURATION] = "CONFIGURATION",
	[LH_EV_CONFIG_SUBSECTION] = "CONFIG_SUBSECTION", [LH_EV_SECTION_HEADER] = "SECTION_HEADER",
	[LH_EV_SECTION_FOOTER] = "SECTION_FOOTER", [LH_EV_COMMAND] = "COMMAND",
	[LH_EV_RAM_MEM_SIZE] = "RAM_MEM_SIZE", [LH_EV_RAM_BLOCK_INFO] = "RAM_BLOCK_INFO",
	[LH_EV_RAM_ZERO] = "RAM_ZERO", [LH_EV_RAM_PAGE] = "RAM_PAGE", [LH_EV_RAM_XBZRLE] = "RAM_XBZRLE",
	[LH_EV_RAM_COMPRESS] = "RAM_COMPRESS", [LH_EV_RAM_MULTIFD_FLUSH] = "RAM_MULTIFD_FLUSH",
	[LH_EV_RAM_EOS] = "RAM_EOS", [LH_EV_EOF] = "EOF", [LH_EV_VMDESC] = "VMDESC",
	[LH_EV_OPAQUE] = "OPAQUE", [LH_EV_MULTIFD_INIT] = "MULTIFD_INIT",
	[LH_EV_MULTIFD_PACKET] = "MULTIFD_PACKET", [LH_EV_MULTIFD_PAGE] = "MULTIFD_PAGE",
	[LH_EV_MULTIFD_DEVSTATE] = "MULTIFD_DEVSTATE",
};

const char *lh_event_name(lh_event_type t)
{
	return (unsigned)t < LH_EV__COUNT && event_names[t] ? event_names[t] : "?";
}

lh_parser *lh_parser_create(void)
{
	lh_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->carry = malloc(LH_CARRY_CAP);
	p->blocks = calloc(LH_MAX_BLOCKS, sizeof(*p->blocks));
	if (!p->carry || !p->blocks) {
		lh_parser_free(p);
		return NULL;
	}
	p->page_size_param = 4096;
	lh_parser_reset(p);
	return p;
}

void lh_parser_free(lh_parser *p)
{
	if (!p)
		return;
	free(p->carry);
	free(p->blocks);
	free(p);
}

void lh_parser_reset(lh_parser *p)
{
	lh_channel_kind chan = p->chan_param;
	uint32_t ps = p->page_size_param;
	uint8_t *carry = p->carry;
	lh_ramblock *blocks = p->blocks;

	memset(p, 0, sizeof(*p));
	p->chan_param = chan;
	p->page_size_param = ps;
	p->carry = carry;
	p->blocks = blocks;
	p->page_size = ps;
	p->chan = chan;
	switch (chan) {
	case LH_CHAN_AUTO: p->state = ST_DETECT; break;
	case LH_CHAN_MAIN: p->state = ST_DETECT; break; /* header or header-less recovery */
	case LH_CHAN_MULTIFD: p->state = ST_MF_INIT; break;
	case LH_CHAN_PREEMPT: p->state = ST_RAM_RECORD; break;
	case LH_CHAN_OPAQUE:
		p->state = ST_TAIL_DUMB;
		p->opaque_kind = LH_OPAQUE_UNKNOWN_CHANNEL;
		break;
	}
}

int lh_parser_set_param(lh_parser *p, lh_parser_param param, int64_t v)
{
	if (p->offset != 0 || p->carry_len != 0)
		return -LH_E_STATE;
	switch (param) {
	case LH_P_CHANNEL:
		if (v < LH_CHAN_AUTO || v > LH_CHAN_OPAQUE)
			return -LH_E_PARAM;
		p->chan_param = (lh_channel_kind)v;
		break;
	case LH_P_PAGE_SIZE:
		if (v < 1024 || v > 65536 || (v & (v - 1)))
			return -LH_E_PARAM;
		p->page_size_param = (uint32_t)v;
		break;
	default:
		return -LH_E_PARAM;
	}
	lh_parser_reset(p);
	return 0;
}

const lh_parse_error *lh_parser_error(const lh_parser *p) { return &p->err; }
lh_channel_kind lh_parser_channel(const lh_parser *p) { return p->chan; }
uint64_t lh_parser_offset(const lh_parser *p) { return p->offset; }
int lh_parser_saw_eof(const lh_parser *p) { return p->saw_eof; }
int lh_parser_in_tail(const lh_parser *p) { return p->tail || p->state == ST_TAIL_DUMB; }
uint32_t lh_parser_page_size(const lh_parser *p) { return p->page_size; }

int lh__fail(lh_parser *p, int code, uint64_t offset, const char *fmt, ...)
{
	va_list ap;

	if (p->err.code)
		return p->err.code;
	p->err.code = -code;
	p->err.offset = offset;
	va_start(ap, fmt);
	vsnprintf(p->err.detail, sizeof(p->err.detail), fmt, ap);
	va_end(ap);
	return p->err.code;
}

void lh__event_init(lh_parser *p, lh_event *ev, lh_event_type t, const uint8_t *raw, size_t len)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = t;
	ev->offset = p->offset;
	ev->raw = raw;
	ev->raw_len = len;
}

int lh__emit(lh_parser *p, lh_event *ev)
{
	if (p->fn && p->fn(p->fn_opaque, ev) != 0)
		return lh__fail(p, LH_E_ABORTED, ev->offset, "event callback stopped the parser at %s",
				lh_event_name(ev->type));
	return 0;
}

int lh__emit_opaque(lh_parser *p, lh_opaque_kind kind, const uint8_t *b, size_t len, bool guessed)
{
	lh_event ev;

	if (len == 0)
		return 0;
	lh__event_init(p, &ev, LH_EV_OPAQUE, b, len);
	ev.u.opaque.kind = kind;
	ev.guessed = guessed;
	return lh__emit(p, &ev);
}

const lh_ramblock *lh__block_find(lh_parser *p, const uint8_t *name, uint8_t len)
{
	for (uint32_t i = 0; i < p->n_blocks; i++)
		if (p->blocks[i].name_len == len && !memcmp(p->blocks[i].name, name, len))
			return &p->blocks[i];
	return NULL;
}

int lh__block_add(lh_parser *p, const uint8_t *name, uint8_t len, const lh_ramblock **out)
{
	lh_ramblock *b;

	if (p->n_blocks >= LH_MAX_BLOCKS)
		return lh__fail(p, LH_E_LIMIT, p->offset, "more than %d RAM blocks", LH_MAX_BLOCKS);
	b = &p->blocks[p->n_blocks];
	memset(b, 0, sizeof(*b));
	memcpy(b->name, name, len);
	b->name[len] = 0;
	b->name_len = len;
	b->index = p->n_blocks++;
	*out = b;
	return 0;
}

lh_section_info *lh__section_find(lh_parser *p, uint32_t id)
{
	for (uint32_t i = 0; i < p->n_sections; i++)
		if (p->sections[i].id == id)
			return &p->sections[i];
	return NULL;
}

int lh__section_add(lh_parser *p, uint32_t id, bool is_ram)
{
	lh_section_info *s = lh__section_find(p, id);

	if (!s) {
		if (p->n_sections >= LH_MAX_SECTIONS)
			return lh__fail(p, LH_E_LIMIT, p->offset, "more than %d sections", LH_MAX_SECTIONS);
		s = &p->sections[p->n_sections++];
	}
	s->id = id;
	s->is_ram = is_ram;
	s->ended = 0;
	return 0;
}

/* First bytes of a connection (QEMU's own classification, format reference §4.1, §5.2). */
static int st_detect(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	(void)used;
	if (n >= 1 && b[0] == 0x08) { /* header-less postcopy recovery main channel */
		p->chan = LH_CHAN_MAIN;
		p->recovery = true;
		p->state = ST_MAIN_TOP;
		return 0;
	}
	if (n < 4) {
		if (!p->final)
			return lh__need(p, 4);
		/* a connection shorter than a magic: not QEMU */
	} else if (lh_be32(b) == 0x5145564D) {
		p->chan = LH_CHAN_MAIN;
		p->state = ST_MAIN_HEADER;
		return 0;
	} else if (lh_be32(b) == 0x11223344 && p->chan_param != LH_CHAN_MAIN) {
		p->chan = LH_CHAN_MULTIFD;
		p->state = ST_MF_INIT;
		return 0;
	}
	if (p->chan_param == LH_CHAN_MAIN)
		return lh__fail(p, LH_E_BAD_MAGIC, p->offset, "main channel does not start with QEVM magic");
	p->chan = LH_CHAN_OPAQUE;
	p->state = ST_TAIL_DUMB;
	p->opaque_kind = LH_OPAQUE_UNKNOWN_CHANNEL;
	return 0;
}

/* Payload of known length (PACKAGED blob, VMDESCRIPTION, multifd payloads): streamed, never buffered. */
static int st_opaque_len(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	size_t take = p->opaque_left < n ? (size_t)p->opaque_left : n;
	int r;

	if (take == 0)
		return lh__need(p, 1);
	r = lh__emit_opaque(p, p->opaque_kind, b, take, false);
	if (r < 0)
		return r;
	*used = take;
	p->opaque_left -= take;
	if (p->opaque_left == 0) {
		p->state = p->after_opaque;
		if (p->state == ST_TAIL_DUMB)
			p->opaque_kind = LH_OPAQUE_TRAILING;
	}
	return 0;
}

/* Everything to the end of the connection is opaque. */
static int st_tail_dumb(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	int r;

	if (n == 0)
		return lh__need(p, 1);
	r = lh__emit_opaque(p, p->opaque_kind ? p->opaque_kind : LH_OPAQUE_TRAILING, b, n, false);
	if (r < 0)
		return r;
	*used = n;
	return 0;
}

static const lh_state_fn handlers[] = {
	[ST_DETECT] = st_detect,
	[ST_MAIN_HEADER] = lh__st_main_header,
	[ST_MAIN_CONFIG] = lh__st_main_config,
	[ST_MAIN_CONFIG_SUB] = lh__st_main_config_sub,
	[ST_MAIN_TOP] = lh__st_main_top,
	[ST_RAM_RECORD] = lh__st_ram_record,
	[ST_RAM_BLOCK_LIST] = lh__st_ram_block_list,
	[ST_SECTION_FOOTER] = lh__st_section_footer,
	[ST_OPAQUE_LEN] = st_opaque_len,
	[ST_POST_EOF] = lh__st_post_eof,
	[ST_TAIL_SCAN] = lh__st_tail_scan,
	[ST_TAIL_DUMB] = st_tail_dumb,
	[ST_MF_INIT] = lh__st_mf_init,
	[ST_MF_PACKET] = lh__st_mf_packet,
	[ST_MF_PAGES] = lh__st_mf_pages,
};

/* Runs handlers over b[0..n) until they need more than what is left; returns bytes consumed. */
static size_t run(lh_parser *p, const uint8_t *b, size_t n)
{
	size_t pos = 0;

	while (!p->err.code) {
		size_t used = 0;
		parse_state before = p->state;
		int r = handlers[p->state](p, b + pos, n - pos, &used);

		pos += used;
		p->offset += used;
		if (r < 0)
			break;
		if (r == LH_NEED) {
			if (p->need <= n - pos) /* a handler bug; never loop on it */
				lh__fail(p, LH_E_STATE, p->offset, "parser asked for %zu bytes with %zu available",
					 p->need, n - pos);
			break;
		}
		if (used == 0 && before == p->state) { /* no progress: a handler bug */
			lh__fail(p, LH_E_STATE, p->offset, "parser made no progress in state %d", (int)p->state);
			break;
		}
	}
	return pos;
}

int lh_parser_feed(lh_parser *p, const void *buf, size_t len, lh_event_fn fn, void *opaque)
{
	const uint8_t *in = buf;

	if (p->err.code)
		return p->err.code;
	if (p->final)
		return lh__fail(p, LH_E_STATE, p->offset, "feed after finish");
	p->fn = fn;
	p->fn_opaque = opaque;
	while (len > 0 && !p->err.code) {
		if (p->carry_len > 0) {
			/* Top the carried partial item up to exactly what it needs. */
			size_t want = p->need > p->carry_len ? p->need - p->carry_len : 1;
			size_t take = want < len ? want : len;
			size_t used;

			memcpy(p->carry + p->carry_len, in, take);
			p->carry_len += take;
			in += take;
			len -= take;
			if (p->carry_len < p->need)
				break;
			used = run(p, p->carry, p->carry_len);
			memmove(p->carry, p->carry + used, p->carry_len - used);
			p->carry_len -= used;
			continue;
		}
		size_t used = run(p, in, len);
		in += used;
		len -= used;
		if (len > 0 && !p->err.code) {
			if (p->need > LH_CARRY_CAP)
				return lh__fail(p, LH_E_LIMIT, p->offset, "item of %zu bytes exceeds the carry buffer", p->need);
			memcpy(p->carry, in, len);
			p->carry_len = len;
			len = 0;
		}
	}
	return p->err.code;
}

static bool at_clean_end(const lh_parser *p)
{
	switch (p->state) {
	case ST_DETECT: /* empty connection */
	case ST_MAIN_TOP:
	case ST_MAIN_CONFIG: /* header only */
	case ST_POST_EOF:
	case ST_TAIL_SCAN:
	case ST_TAIL_DUMB:
	case ST_MF_INIT:
	case ST_MF_PACKET:
		return p->carry_len == 0;
	case ST_RAM_RECORD:
		return p->chan == LH_CHAN_PREEMPT && p->carry_len == 0;
	default:
		return false;
	}
}

static const char *state_name(parse_state s)
{
	static const char *const n[] = {
		[ST_DETECT] = "channel detection", [ST_MAIN_HEADER] = "file header",
		[ST_MAIN_CONFIG] = "configuration", [ST_MAIN_CONFIG_SUB] = "configuration subsection",
		[ST_MAIN_TOP] = "top level", [ST_RAM_RECORD] = "RAM record",
		[ST_RAM_BLOCK_LIST] = "MEM_SIZE block list", [ST_SECTION_FOOTER] = "section footer",
		[ST_OPAQUE_LEN] = "length-prefixed payload", [ST_POST_EOF] = "after EOF",
		[ST_TAIL_SCAN] = "device state", [ST_TAIL_DUMB] = "opaque tail",
		[ST_MF_INIT] = "multifd init packet", [ST_MF_PACKET] = "multifd packet header",
		[ST_MF_PAGES] = "multifd packet pages",
	};
	return n[s];
}

int lh_parser_finish(lh_parser *p, lh_event_fn fn, void *opaque)
{
	if (p->err.code)
		return p->err.code;
	p->fn = fn;
	p->fn_opaque = opaque;
	p->final = true;
	/* With no more input coming, look-ahead decisions (detect, tail) can be made. */
	while (p->carry_len > 0 && !p->err.code) {
		size_t used = run(p, p->carry, p->carry_len);
		if (used == 0)
			break;
		memmove(p->carry, p->carry + used, p->carry_len - used);
		p->carry_len -= used;
	}
	if (!p->err.code && p->carry_len == 0)
		run(p, p->carry, 0); /* let zero-byte transitions (e.g. detect) settle */
	if (p->err.code)
		return p->err.code;
	if (!at_clean_end(p))
		return lh__fail(p, LH_E_TRUNCATED, p->offset,
				"stream ends inside %s (%zu bytes of an incomplete item)",
				state_name(p->state), p->carry_len);
	return 0;
}
