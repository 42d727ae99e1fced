/* SPDX-License-Identifier: MIT */
/* Parser state shared by parser.c and the per-channel parse_*.c files. Not public. */
#ifndef LH_PARSER_INTERNAL_H
#define LH_PARSER_INTERNAL_H

#include <stdbool.h>
#include "be.h"
#include "lh_stream.h"

/* Longest item that must be contiguous: a COMMAND (5 + 65535) or a 64 KiB page record. */
#define LH_CARRY_CAP (128 * 1024 + 1024)
#define LH_MAX_BLOCKS 512
#define LH_MAX_SECTIONS 2048
#define LH_MF_MAX_PAGES 512   /* 512 KiB packet / 1 KiB pages */

/* Where the parser is; each state has one handler. */
typedef enum {
	ST_DETECT = 0,       /* first bytes decide the channel kind */
	ST_MAIN_HEADER,      /* QEVM + version */
	ST_MAIN_CONFIG,      /* optional CONFIGURATION right after the header */
	ST_MAIN_CONFIG_SUB,  /* its subsections */
	ST_MAIN_TOP,         /* next top-level type byte */
	ST_RAM_RECORD,       /* inside a ram section payload (or the preempt channel) */
	ST_RAM_BLOCK_LIST,   /* MEM_SIZE entries */
	ST_SECTION_FOOTER,   /* optional footer after a RAM payload */
	ST_OPAQUE_LEN,       /* fixed-length opaque payload (blob, vmdesc, multifd payload) */
	ST_POST_EOF,         /* after EOF: VMDESCRIPTION or trailing bytes */
	ST_TAIL_SCAN,        /* device state: scan for the section's footer */
	ST_TAIL_DUMB,        /* opaque to the end of the connection */
	ST_MF_INIT,
	ST_MF_PACKET,
	ST_MF_PAGES,
} parse_state;

typedef struct {
	uint32_t id;
	uint8_t is_ram;
	uint8_t ended;
} lh_section_info;

struct lh_parser {
	/* parameters */
	lh_channel_kind chan_param;
	uint32_t page_size_param;

	/* progress */
	lh_channel_kind chan;
	parse_state state;
	parse_state after_opaque;   /* where ST_OPAQUE_LEN returns */
	lh_opaque_kind opaque_kind;
	uint64_t opaque_left;
	uint64_t offset;            /* stream offset of the next unconsumed byte */
	size_t need;                /* contiguous bytes needed to progress */
	bool saw_eof, tail, final;
	bool guessing;              /* boundaries now come from footer re-sync */
	bool recovery;              /* header-less postcopy recovery connection */

	/* main channel */
	uint32_t page_size;
	bool ignore_shared;
	uint64_t postcopy_pagesize_summary;
	uint32_t cur_section_id;    /* section whose payload we are in */
	lh_section_info sections[LH_MAX_SECTIONS];
	uint32_t n_sections;

	/* RAM */
	lh_ramblock *blocks;        /* LH_MAX_BLOCKS entries */
	uint32_t n_blocks;
	const lh_ramblock *cur_block; /* CONTINUE state, per connection */
	uint64_t mem_total, mem_seen;

	/* multifd */
	uint32_t mf_npages;         /* payload pages left in the current packet */
	uint32_t mf_index;
	uint64_t mf_packet_num;
	const lh_ramblock *mf_block;
	uint64_t mf_offsets[LH_MF_MAX_PAGES];

	/* callback */
	lh_event_fn fn;
	void *fn_opaque;

	lh_parse_error err;

	size_t carry_len;
	uint8_t *carry;             /* LH_CARRY_CAP bytes */
};

/*
 * Handler contract: look at b[0..n); either consume a prefix (*used > 0)
 * and/or change state, returning 0; or return LH_NEED after setting p->need
 * to the number of bytes (counted from b) required to progress, which must be
 * greater than n; or return a negative lh_err after lh__fail().
 */
#define LH_NEED 1

typedef int (*lh_state_fn)(lh_parser *p, const uint8_t *b, size_t n, size_t *used);

int lh__fail(lh_parser *p, int code, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int lh__emit(lh_parser *p, lh_event *ev);
static inline int lh__need(lh_parser *p, size_t need)
{
	p->need = need;
	return LH_NEED;
}
void lh__event_init(lh_parser *p, lh_event *ev, lh_event_type t, const uint8_t *raw, size_t len);
/* Emits len opaque bytes as one event of the current opaque kind. */
int lh__emit_opaque(lh_parser *p, lh_opaque_kind kind, const uint8_t *b, size_t len, bool guessed);

/* Block table. */
const lh_ramblock *lh__block_find(lh_parser *p, const uint8_t *name, uint8_t len);
int lh__block_add(lh_parser *p, const uint8_t *name, uint8_t len, const lh_ramblock **out);

/* Section table. */
lh_section_info *lh__section_find(lh_parser *p, uint32_t id);
int lh__section_add(lh_parser *p, uint32_t id, bool is_ram);

/* State handlers, by file. */
int lh__st_main_header(lh_parser *p, const uint8_t *b, size_t n, size_t *used);
int lh__st_main_config(lh_parser *p, const uint8_t *b, size_t n, size_t *used);
int lh__st_main_config_sub(lh_parser *p, const uint8_t *b, size_t n, size_t *used);
int lh__st_main_top(lh_parser *p, const uint8_t *b, size_t n, size_t *used);
int lh__st_section_footer(lh_parser *p, const uint8_t *b, size_t n, size_t *used);
int lh__st_post_eof(lh_parser *p, const uint8_t *b, size_t n, size_t *used);
int lh__st_ram_record(lh_parser *p, const uint8_t *b, size_t n, size_t *used);
int lh__st_ram_block_list(lh_parser *p, const uint8_t *b, size_t n, size_t *used);
int lh__st_tail_scan(lh_parser *p, const uint8_t *b, size_t n, size_t *used);
int lh__st_mf_init(lh_parser *p, const uint8_t *b, size_t n, size_t *used);
int lh__st_mf_packet(lh_parser *p, const uint8_t *b, size_t n, size_t *used);
int lh__st_mf_pages(lh_parser *p, const uint8_t *b, size_t n, size_t *used);

bool lh__command_len_ok(uint16_t cmd, uint16_t len);

/* Enter tail mode inside the payload of section `id` (scan for its footer). */
void lh__enter_tail(lh_parser *p, uint32_t section_id);
/* Validates the item that starts at b (after a footer) in the tail: 1 yes, 0 no, TAIL_NEED_MORE. */
#define TAIL_NEED_MORE 2
int lh__tail_item_plausible(lh_parser *p, const uint8_t *b, size_t n, size_t *need);

#endif
