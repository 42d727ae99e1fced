/* SPDX-License-Identifier: MIT */
/* WAN frame layout: header, frame types, op codes and varints (documented in FORMAT.md). */
#ifndef LH_FRAME_H
#define LH_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "lh_wan.h"

#define LH_FRAME_MAGIC0 0x4C /* 'L' */
#define LH_FRAME_MAGIC1 0x57 /* 'W' */
#define LH_FRAME_VERSION 1

/* Frame types (header byte 3). */
enum {
	LH_FT_HELLO = 1, /* session parameters: page size, store slots */
	LH_FT_OPEN = 2,  /* a stream begins: vm id, channel kind, label */
	LH_FT_DATA = 3,  /* a run of the stream's bytes: ops + sections */
	LH_FT_END = 4,   /* the stream ended: length + XXH3-128 of its bytes */
	LH_FT_ABORT = 5, /* the stream was cut short at the source: no checksum */
};

/* DATA op codes (first byte of each op in the ops section). */
enum {
	LH_OP_LIT = 1,   /* varint n: n bytes from Z */
	LH_OP_ZERO = 2,  /* varint count: count zero pages */
	LH_OP_REF = 3,   /* varint slot: the page stored in slot */
	LH_OP_PAGEZ = 4, /* zigzag dslot: a page from Z, stored into the slot */
	LH_OP_PAGER = 5, /* zigzag dslot: a page from R, stored into the slot */
	LH_OP_DELTA = 6, /* varint base, zigzag dslot, varint dlen: delta from Z on store[base] */
	LH_OP_PAGEB = 7, /* zigzag dslot: a page from B, stored into the slot */
	LH_OP_PAGEZP = 8, /* zigzag dslot, varint pfn: PAGEZ of a pointer-relative page (ptrrel.h) */
	LH_OP_PAGEBP = 9, /* zigzag dslot, varint pfn: PAGEB of a pointer-relative page */
	LH_OP_HDR = 10,   /* u8 kind, zigzag dpages, varint flags: one RAM record header (8 bytes) */
	LH_OP_ZREC = 11,  /* varint count: zero-page records with predicted headers (9 bytes each) */
};
/* On a page op (REF, PAGE*, DELTA): a page record header, the predicted one, precedes the page. */
#define LH_OP_F_HDR 0x80
/* Record header kinds (FORMAT.md, "Record headers"). */
enum { LH_REC_PAGE = 0, LH_REC_ZERO = 1 };
#define LH_REC_FLAGS_MASK 0xfffu /* a header is (page-aligned offset | flags below 4096), big-endian */

/*
 * The record-header predictor, one per stream, run alike by the encoder and
 * the decoder (FORMAT.md, "Record headers"): the next record is the page after
 * the last record of either kind, with the flags of the last record of its own
 * kind. Both ends move it with every header, predicted or explicit.
 */
typedef struct {
	uint64_t addr;     /* the last header's page-aligned offset */
	uint16_t flags[2]; /* the last flags per kind (LH_REC_PAGE, LH_REC_ZERO) */
} lh_rec_pred;

static inline uint64_t lh_rec_predict(const lh_rec_pred *p, int kind)
{
	return (p->addr + LH_WAN_PAGE_SIZE) | p->flags[kind];
}

static inline void lh_rec_seen(lh_rec_pred *p, int kind, uint64_t hdr)
{
	p->addr = hdr & ~(uint64_t)LH_REC_FLAGS_MASK;
	p->flags[kind] = (uint16_t)(hdr & LH_REC_FLAGS_MASK);
}

/* HDR's distance: pages from the predicted offset (both are multiples of 4096,
 * so the shift of the wrapped difference is exact), and back. */
static inline int64_t lh_rec_distance(const lh_rec_pred *p, uint64_t hdr)
{
	return (int64_t)((hdr & ~(uint64_t)LH_REC_FLAGS_MASK) - (p->addr + LH_WAN_PAGE_SIZE)) >> 12;
}

static inline uint64_t lh_rec_at_distance(const lh_rec_pred *p, int64_t dpages, uint16_t flags)
{
	return (p->addr + LH_WAN_PAGE_SIZE + ((uint64_t)dpages << 12)) | flags;
}

#define LH_DATA_F_ZSTD 0x01 /* the Z section continues the session's zstd stream */
#define LH_DATA_F_BSEC 0x02 /* a B section (always zstd: the session's second stream) follows Z */
#define LH_DATA_F_OPSZ 0x04 /* the ops are the last ops_len bytes of the (zstd) Z section, not in the body */
#define LH_WAN_OPS_MAX (64u << 10) /* op bytes of one DATA frame */
#define LH_HELLO_F_BSTREAM 0x1 /* HELLO flag: DATA frames may carry B sections */
#define LH_HELLO_F_PTRREL 0x2  /* HELLO flag: DATA frames may carry PAGEZP and PAGEBP */
#define LH_HELLO_F_RECHDR 0x4  /* HELLO flag: DATA frames may carry HDR, ZREC and LH_OP_F_HDR */
#define LH_HELLO_F_OPSZ 0x8    /* HELLO flag: DATA frames may carry their ops in Z (LH_DATA_F_OPSZ) */
#define LH_HELLO_F_EPOCH 0x10  /* HELLO flag: the body ends with be32 epoch (> 0): a codec epoch after a reset */
#define LH_WAN_ZSTD_WINDOW_LOG 22 /* encoder window: 4 MiB of history */
#define LH_WAN_ZSTD_WINDOW_LOG_MAX 23 /* the decoder refuses larger windows (memory bound) */
#define LH_WAN_ZSTD_B_WINDOW_LOG 21 /* B stream: 2 MiB of history; the decoder refuses more */

#define LH_HELLO_BODY 12
#define LH_HELLO_BODY_EPOCH 16 /* with LH_HELLO_F_EPOCH */
#define LH_END_BODY 24
#define LH_OPEN_BODY_MIN 6

typedef struct {
	uint8_t type;
	uint32_t stream_id;
	uint32_t body_len;
	uint32_t raw_len;
	uint32_t body_check;
} lh_frame_hdr;

/* Parses and bounds-checks a header (LH_WAN_FRAME_HDR bytes). 0 or a negative lh_err. */
int lh_frame_hdr_parse(const uint8_t *b, lh_frame_hdr *h);
/* Writes the header for body[0..body_len) (computes the body check). */
void lh_frame_hdr_write(uint8_t *dst, uint8_t type, uint32_t stream_id, const uint8_t *body,
			uint32_t body_len, uint32_t raw_len);
uint32_t lh_frame_body_check(const uint8_t *body, size_t len);

/* LEB128 varints, at most 10 bytes. */
static inline uint8_t *lh_varint_put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Returns bytes read, 0 when truncated or longer than 10 bytes / 64 bits. */
static inline size_t lh_varint_get(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t r = 0;
	for (size_t i = 0; i < n && i < 10; i++) {
		uint64_t b = p[i] & 0x7F;
		if (i == 9 && b > 1)
			return 0;
		r |= b << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			return i + 1;
		}
	}
	return 0;
}

static inline uint64_t lh_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t lh_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

#endif
