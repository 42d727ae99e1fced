/* SPDX-License-Identifier: MIT */
/*
 * Sessions from another conforming sender: zstd streams made by libzstd
 * directly, with the largest windows FORMAT.md lets a decoder accept (8 MiB
 * for Z, 2 MiB for B), which longhaul's own encoder never uses (4 MiB, 2 MiB).
 * The content repeats with a period just under the window, so nearly every
 * match reaches back almost a full window, across the decoder's ring wraps.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#define ZSTD_STATIC_LINKING_ONLY /* buffer-less compression: each section is whole blocks */
#include <zstd.h>
#include "be.h"
#include "frame.h"
#include "synth.h"
#include "wan_harness.h"

#define PS LH_WAN_PAGE_SIZE
#define SECTION (1u << 20) /* raw bytes per DATA frame */

typedef struct {
	ZSTD_CCtx *cctx;
	uint8_t *buf; /* one compressed section */
} zsrc;

/* Buffer-less libzstd with window_log; the input stays in place, so zstd's history is all of it. */
static void zsrc_begin(zsrc *z, unsigned window_log)
{
	ZSTD_parameters p = ZSTD_getParams(1, ZSTD_CONTENTSIZE_UNKNOWN, 0);
	p.cParams.windowLog = window_log;
	p.cParams.hashLog = 20; /* finds the repeats a window back */
	p.fParams.contentSizeFlag = 0;
	z->cctx = ZSTD_createCCtx();
	z->buf = malloc(ZSTD_compressBound(SECTION) + 64);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	CHECK(!ZSTD_isError(ZSTD_compressBegin_advanced(z->cctx, NULL, 0, p, ZSTD_CONTENTSIZE_UNKNOWN)));
#pragma GCC diagnostic pop
}

static size_t zsrc_section(zsrc *z, const uint8_t *src, size_t n, int last)
{
	size_t cap = ZSTD_compressBound(SECTION) + 64;
	size_t r = last ? ZSTD_compressEnd(z->cctx, z->buf, cap, src, n)
			: ZSTD_compressContinue(z->cctx, z->buf, cap, src, n);
	CHECK(!ZSTD_isError(r));
	return ZSTD_isError(r) ? 0 : r;
}

static void zsrc_free(zsrc *z)
{
	ZSTD_freeCCtx(z->cctx);
	free(z->buf);
}

/* len bytes of period-long random content (period a multiple of the page size). */
static uint8_t *periodic(size_t len, size_t period, uint64_t seed)
{
	uint8_t *p = malloc(len);
	for (size_t i = 0; i < period; i += 8) {
		uint64_t v = synth_rand(&seed);
		memcpy(p + i, &v, 8);
	}
	for (size_t i = period; i < len; i++)
		p[i] = p[i - period];
	return p;
}

/* A DATA frame: Z only (ops: one LIT) or B only (ops: one PAGEB per page, slots in order). */
static void data_frame(vec *v, int b_section, const uint8_t *zs, size_t zlen, size_t raw)
{
	uint8_t ops[3 * (SECTION / PS) + 8], *o = ops;
	if (b_section) {
		for (size_t i = 0; i < raw / PS; i++) {
			*o++ = LH_OP_PAGEB;
			*o++ = 0; /* zigzag 0: the slot after the previous one */
		}
	} else {
		*o++ = LH_OP_LIT;
		o = lh_varint_put(o, raw);
	}
	size_t ops_len = (size_t)(o - ops);
	uint8_t *body = malloc(64 + ops_len + zlen), *p = body;
	*p++ = b_section ? LH_DATA_F_BSEC : LH_DATA_F_ZSTD;
	p = lh_varint_put(p, ops_len);
	p = lh_varint_put(p, b_section ? 0 : raw); /* Z raw */
	p = lh_varint_put(p, b_section ? 0 : zlen);
	p = lh_varint_put(p, 0); /* R */
	if (b_section) {
		p = lh_varint_put(p, raw);
		p = lh_varint_put(p, zlen);
	}
	memcpy(p, ops, ops_len);
	memcpy(p + ops_len, zs, zlen);
	hand_frame(v, LH_FT_DATA, 1, body, (uint32_t)(p - body + ops_len + zlen), (uint32_t)raw);
	free(body);
}

/* The whole stream through one zstd stream of window_log, in SECTION-sized frames, then END. */
static void session(vec *v, const uint8_t *s, size_t len, unsigned window_log, int b_section, size_t *zbytes)
{
	zsrc z;
	uint8_t end[LH_END_BODY];
	XXH128_canonical_t sum;

	hand_session_flags(v, (uint32_t)(len / PS) + 16, LH_HELLO_F_BSTREAM);
	zsrc_begin(&z, window_log);
	*zbytes = 0;
	for (size_t at = 0; at < len; at += SECTION) {
		size_t n = len - at < SECTION ? len - at : SECTION;
		size_t zl = zsrc_section(&z, s + at, n, at + n == len);
		*zbytes += zl;
		data_frame(v, b_section, z.buf, zl, n);
	}
	zsrc_free(&z);
	XXH128_canonicalFromHash(&sum, XXH3_128bits(s, len));
	lh_put64(end, len);
	memcpy(end + 8, &sum, sizeof(sum));
	hand_frame(v, LH_FT_END, 1, end, sizeof(end), 0);
}

static void round_trip(size_t len, size_t period, unsigned window_log, int b_section)
{
	uint8_t *s = periodic(len, period, window_log * 7 + (unsigned)b_section);
	vec v = { 0 }, outs[8] = { 0 };
	size_t zbytes;

	session(&v, s, len, window_log, b_section, &zbytes);
	/* not vacuous: only the first period is new, the rest are matches a window back */
	CHECK(zbytes < period + period / 8);
	CHECK(decode_all(&v, outs, NULL) == 0);
	CHECK(outs[1].len == len && !memcmp(outs[1].b, s, len));
	free_outs(outs);
	free(v.b);
	free(s);
}

void test_wan_foreign(void)
{
	/* Z: an 8 MiB window, content repeating every 8 MiB - 64 KiB, 3 periods: two ring wraps */
	round_trip(3 * ((8u << 20) - (64u << 10)), (8u << 20) - (64u << 10), 23, 0);
	/* B: a 2 MiB window (B sections are whole pages), 5 periods */
	round_trip(5 * ((2u << 20) - (16u << 10)), (2u << 20) - (16u << 10), 21, 1);

	/* a window larger than the decoder accepts is refused, not followed */
	size_t len = 2 * SECTION, zbytes;
	uint8_t *s = periodic(len, SECTION, 5);
	vec v = { 0 }, outs[8] = { 0 };
	session(&v, s, len, 24, 0, &zbytes);
	CHECK(decode_all(&v, outs, NULL) == -LH_E_LIMIT);
	free_outs(outs);
	v.len = 0;
	session(&v, s, len, 22, 1, &zbytes); /* B: 4 MiB */
	CHECK(decode_all(&v, outs, NULL) == -LH_E_LIMIT);
	free_outs(outs);
	free(v.b);
	free(s);
}
