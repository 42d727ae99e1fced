/* SPDX-License-Identifier: MIT */
/* Push parser and re-emitter for QEMU migration streams, one parser per TCP connection. */
#ifndef LH_STREAM_H
#define LH_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include "lh_errors.h"

/*-*****  Model  *****
 * A migration is several TCP connections (main, multifd channels, postcopy
 * preempt). Each gets its own lh_parser. Bytes are pushed in any chunking,
 * down to one byte at a time; the parser calls back once per event, and the
 * sequence of events is the same for every chunking.
 *
 * Every byte of the input belongs to exactly one event: concatenating
 * ev->raw over all events reproduces the input. lh_emit_event() rebuilds an
 * event's bytes from its decoded fields; for every event it equals ev->raw.
 * This is the invariant the product rests on.
 *
 * Pointers inside an event (raw, data, names) are valid only during the
 * callback. They point into the caller's buffer when an item lies whole in
 * one chunk (page payloads are never copied then), or into the parser's
 * carry buffer when an item straddles chunks.
 *
 * What the parser does not understand it passes through as LH_EV_OPAQUE and
 * never guesses about: device state has no length prefix, so after the
 * first non-RAM section payload the rest of the connection is "tail" bytes.
 * In the tail, section boundaries are still *reported* by footer re-sync
 * (ev->guessed = 1), but no RAM record is interpreted any more.
 */

typedef enum {
	LH_CHAN_AUTO = 0,  /* classify by the first 4 bytes (default) */
	LH_CHAN_MAIN = 1,  /* QEVM stream, or header-less recovery stream */
	LH_CHAN_MULTIFD = 2,
	LH_CHAN_PREEMPT = 3, /* postcopy preempt: bare RAM records */
	LH_CHAN_OPAQUE = 4,  /* not QEMU: pass through */
} lh_channel_kind;

const char *lh_channel_name(lh_channel_kind k);

typedef enum {
	LH_EV_FILE_HEADER = 1,  /* be32 magic, be32 version */
	LH_EV_CONFIGURATION,    /* 0x07 be32 len machine-name */
	LH_EV_CONFIG_SUBSECTION, /* 0x05 str8 name be32 version fields (one known subsection) */
	LH_EV_SECTION_HEADER,   /* 0x01..0x04 section header (no payload) */
	LH_EV_SECTION_FOOTER,   /* 0x7E be32 section_id */
	LH_EV_COMMAND,          /* 0x08 be16 cmd be16 len payload */
	LH_EV_RAM_MEM_SIZE,     /* be64 total|MEM_SIZE */
	LH_EV_RAM_BLOCK_INFO,   /* one MEM_SIZE list entry */
	LH_EV_RAM_ZERO,
	LH_EV_RAM_PAGE,
	LH_EV_RAM_XBZRLE,
	LH_EV_RAM_COMPRESS,
	LH_EV_RAM_MULTIFD_FLUSH,
	LH_EV_RAM_EOS,
	LH_EV_EOF,              /* 0x00 */
	LH_EV_VMDESC,           /* 0x06 be32 len; the JSON follows as OPAQUE */
	LH_EV_OPAQUE,           /* bytes passed through; .u.opaque.kind says why */
	LH_EV_MULTIFD_INIT,     /* 64-byte channel init packet */
	LH_EV_MULTIFD_PACKET,   /* packet header (12 + 1332 bytes on x86) */
	LH_EV_MULTIFD_PAGE,     /* one normal page of the packet payload */
	LH_EV_MULTIFD_DEVSTATE, /* 276-byte device-state header; payload as OPAQUE */
	LH_EV__COUNT
} lh_event_type;

const char *lh_event_name(lh_event_type t);

typedef enum {
	LH_OPAQUE_DEVICE_STATE = 1, /* section payload the parser cannot frame */
	LH_OPAQUE_PACKAGED,         /* PACKAGED command blob (nested stream) */
	LH_OPAQUE_VMDESC,           /* VMDESCRIPTION JSON */
	LH_OPAQUE_TRAILING,         /* bytes after the end of a stream */
	LH_OPAQUE_UNKNOWN_CHANNEL,  /* connection that is not QEMU migration */
	LH_OPAQUE_MULTIFD_PAYLOAD,  /* compressed or device-state multifd payload */
} lh_opaque_kind;

/* Section header type bytes (migration/savevm.h). */
enum {
	LH_SEC_START = 0x01, LH_SEC_PART = 0x02, LH_SEC_END = 0x03, LH_SEC_FULL = 0x04,
};

/* RAM record flags (migration/ram.h). */
enum {
	LH_RAM_ZERO = 0x002, LH_RAM_MEM_SIZE = 0x004, LH_RAM_PAGE = 0x008,
	LH_RAM_EOS = 0x010, LH_RAM_CONTINUE = 0x020, LH_RAM_XBZRLE = 0x040,
	LH_RAM_HOOK = 0x080, LH_RAM_COMPRESS = 0x100, LH_RAM_MULTIFD_FLUSH = 0x200,
};

/* QEMU_VM_COMMAND ids. */
enum {
	LH_CMD_OPEN_RETURN_PATH = 1, LH_CMD_PING = 2, LH_CMD_POSTCOPY_ADVISE = 3,
	LH_CMD_POSTCOPY_LISTEN = 4, LH_CMD_POSTCOPY_RUN = 5, LH_CMD_POSTCOPY_RAM_DISCARD = 6,
	LH_CMD_PACKAGED = 7, LH_CMD_ENABLE_COLO = 8, LH_CMD_POSTCOPY_RESUME = 9,
	LH_CMD_RECV_BITMAP = 10, LH_CMD_SWITCHOVER_START = 11,
};

/* A RAM block as known to one parser (from MEM_SIZE, or from a record naming it). */
typedef struct {
	char name[256];         /* NUL-terminated */
	uint8_t name_len;
	uint8_t from_mem_size;  /* used_length is known */
	uint32_t index;         /* dense, in order of first appearance */
	uint64_t used_length;
	uint64_t page_size;     /* 0 when the stream did not say */
	uint64_t mr_addr;       /* x-ignore-shared only */
} lh_ramblock;

typedef struct {
	lh_event_type type;
	uint8_t guessed;        /* found by footer re-sync in the tail */
	uint64_t offset;        /* stream offset of raw[0] */
	const uint8_t *raw;     /* the exact bytes of this event */
	size_t raw_len;
	union {
		struct { uint32_t magic, version; } file;
		struct { const uint8_t *name; uint32_t name_len; } config;
		struct { const uint8_t *name; uint8_t name_len; uint32_t version; } subsection;
		struct {
			uint8_t type;           /* LH_SEC_* */
			uint8_t is_ram;
			uint32_t section_id;
			const uint8_t *idstr;   /* START/FULL only */
			uint8_t idstr_len;
			uint32_t instance_id, version_id;
		} section;
		struct { uint32_t section_id; } footer;
		struct {
			uint16_t cmd, len;
			const uint8_t *payload;
			uint32_t blob_len;      /* PACKAGED only */
		} command;
		struct {
			uint32_t flags;         /* all flag bits, incl. CONTINUE */
			uint64_t addr;          /* offset inside the block */
			const lh_ramblock *block;
			const uint8_t *data;    /* PAGE: page; XBZRLE/COMPRESS: encoded bytes */
			uint32_t data_len;
			uint8_t fill;           /* ZERO: the fill byte */
			uint8_t xbzrle_encoding; /* XBZRLE: 0x01 */
			uint64_t total;         /* MEM_SIZE: total RAM bytes */
			uint8_t has_page_size, has_mr_addr; /* BLOCK_INFO */
		} ram;
		struct { uint32_t len; } vmdesc;
		struct { lh_opaque_kind kind; } opaque;
		struct { uint32_t version; uint8_t channel_id; const uint8_t *uuid; } mf_init;
		struct {
			uint32_t flags, pages_alloc, normal_pages, zero_pages, next_packet_size;
			uint64_t packet_num;
			const lh_ramblock *block; /* NULL when the packet carries no pages */
		} mf_packet;
		struct {
			uint64_t addr;
			uint32_t index;         /* position in the packet */
			const lh_ramblock *block;
			const uint8_t *data;
			uint64_t packet_num;
		} mf_page;
	} u;
} lh_event;

/* Return 0 to go on; anything else stops the parser with LH_E_ABORTED. */
typedef int (*lh_event_fn)(void *opaque, const lh_event *ev);

typedef struct lh_parser lh_parser;

typedef enum {
	LH_P_CHANNEL = 1,      /* lh_channel_kind; default AUTO. Set before the first byte */
	LH_P_PAGE_SIZE = 2,    /* target page size, default 4096 (power of 2, 1 KiB..64 KiB) */
} lh_parser_param;

typedef struct {
	int code;              /* negative lh_err, 0 when no error */
	uint64_t offset;       /* stream offset the error refers to */
	char detail[160];      /* human readable: what was wrong */
} lh_parse_error;

lh_parser *lh_parser_create(void);
void lh_parser_free(lh_parser *p);
/* Back to the state of a new parser; parameters are kept. */
void lh_parser_reset(lh_parser *p);
int lh_parser_set_param(lh_parser *p, lh_parser_param param, int64_t value);

/*
 * Push bytes. Returns 0 or a negative lh_err; after an error every call
 * returns that error again (see lh_parser_error()).
 */
int lh_parser_feed(lh_parser *p, const void *buf, size_t len, lh_event_fn fn, void *opaque);
/* End of the connection: flushes look-ahead; LH_E_TRUNCATED inside an item. */
int lh_parser_finish(lh_parser *p, lh_event_fn fn, void *opaque);

const lh_parse_error *lh_parser_error(const lh_parser *p);
lh_channel_kind lh_parser_channel(const lh_parser *p);
uint64_t lh_parser_offset(const lh_parser *p);
/* 1 once the main stream's EOF byte was seen (0 for other channels). */
int lh_parser_saw_eof(const lh_parser *p);
/* 1 once the parser passes everything through as opaque tail bytes. */
int lh_parser_in_tail(const lh_parser *p);
uint32_t lh_parser_page_size(const lh_parser *p);

/*
 * Rebuild an event's bytes from its decoded fields into dst.
 * Returns the size written, or a negative lh_err (LH_E_DST_TOO_SMALL).
 * The longest event is a PAGE record: 8 + 256 + page size.
 */
long lh_emit_event(const lh_event *ev, uint8_t *dst, size_t cap);

#endif
