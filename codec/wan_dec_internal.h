/* SPDX-License-Identifier: MIT */
/* WAN decoder internals shared by the decoder and its section stage (wan_dec_sections.c). */
#ifndef LH_WAN_DEC_INTERNAL_H
#define LH_WAN_DEC_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"
#include "lh_wan.h"

typedef struct ZSTD_DCtx_s ZSTD_DCtx;

/* What HELLO allowed DATA frames to carry. */
typedef struct {
	bool b;    /* B sections */
	bool ptr;  /* pointer-relative pages */
	bool rec;  /* record-header ops */
	bool opsz; /* ops inside Z */
} lh_dec_allow;

/* Section layout of a DATA body (FORMAT.md). */
typedef struct {
	uint8_t flags;
	const uint8_t *ops, *z, *b, *r;
	uint64_t ops_len, z_raw, z_len, r_len, b_raw, b_len;
} lh_dec_sections;

/* One of the session's zstd streams, decompressed in place into its ring. */
typedef struct {
	ZSTD_DCtx *dctx;
	bool frame_start;       /* dctx expects a zstd frame header next */
	uint8_t *ring;          /* decompressed sections, in order (zstd's history) */
	size_t ring_size, pos;  /* pos: where the next section goes */
	unsigned max_window_log;
	char name;              /* 'Z' or 'B', for errors */
} lh_dec_zs;

/* Sets code, stream and detail of *e (the caller sets where); returns code. */
int lh_dec_err(lh_wan_error *e, int code, uint32_t sid, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Splits a DATA body into its sections, checking every length against the body and the frame. */
int lh_dec_split(const lh_dec_allow *allow, const lh_frame_hdr *h, const uint8_t *body, lh_dec_sections *ds,
		 lh_wan_error *e);

/* 'Z' (8 MiB windows at most) or 'B' (2 MiB); 0 or -LH_E_NOMEM. */
int lh_dec_zs_init(lh_dec_zs *zs, char name);
void lh_dec_zs_fini(lh_dec_zs *zs);
/* Decompresses one section of in_len bytes that must give exactly raw bytes; *out points into the ring. */
int lh_dec_zs_section(lh_dec_zs *zs, uint32_t sid, const uint8_t *in, size_t in_len, uint64_t raw,
		      const uint8_t **out, lh_wan_error *e);

#endif
