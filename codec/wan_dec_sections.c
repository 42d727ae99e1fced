/* SPDX-License-Identifier: MIT */
/* WAN decoder, section stage: a DATA body split into its sections, and its zstd sections decompressed. */
#include <stdarg.h>
#include <stdio.h>
#define ZSTD_STATIC_LINKING_ONLY /* buffer-less decompression into the ring */
#include <zstd.h>
#include "be.h"
#include "pagestore.h"
#include "wan_dec_internal.h"

/* Z sections are decompressed in place into a ring (see lh_dec_zs_section): the
 * largest zstd window we accept (8 MiB), the frame being decoded (<= 1 MiB and its ops),
 * and a second frame's worth, so that even right after a wrap every byte an
 * 8 MiB window can reach lies behind the region being overwritten. Frames
 * announced ahead (lh_wan_dec_announce) have their sections decompressed
 * while the frames before them still read theirs: in Z those all lie inside
 * the 8 MiB kept anyway; B, with its 2 MiB window, keeps one frame's worth
 * more for each frame that can be ahead. */
#define DEC_ZRING ((1u << LH_WAN_ZSTD_WINDOW_LOG_MAX) + 2 * (LH_WAN_FRAME_RAW_MAX + LH_WAN_OPS_MAX) + (256u << 10))
_Static_assert((LH_WAN_DEC_AHEAD_MAX + 1) * (LH_WAN_FRAME_RAW_MAX + LH_WAN_OPS_MAX) <= (1u << LH_WAN_ZSTD_WINDOW_LOG_MAX),
	       "the Z sections of the frames announced ahead lie inside the history the ring keeps");
#define DEC_BRING ((1u << LH_WAN_ZSTD_B_WINDOW_LOG) + (LH_WAN_DEC_AHEAD_MAX + 2) * LH_WAN_FRAME_RAW_MAX + (256u << 10))

int lh_dec_err(lh_wan_error *e, int code, uint32_t sid, const char *fmt, ...)
{
	va_list ap;
	e->code = code;
	e->stream_id = sid;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return code;
}

int lh_dec_split(const lh_dec_allow *allow, const lh_frame_hdr *h, const uint8_t *b, lh_dec_sections *ds,
		 lh_wan_error *e)
{
	size_t at = 1, k, n = h->body_len;
	uint64_t *fields[6] = { &ds->ops_len, &ds->z_raw, &ds->z_len, &ds->r_len, &ds->b_raw, &ds->b_len };
	const uint32_t sid = h->stream_id;

	if (n < 5)
		return lh_dec_err(e, -LH_E_TRUNCATED, sid, "DATA body of %zu bytes", n);
	ds->flags = b[0];
	if (ds->flags & ~(LH_DATA_F_ZSTD | LH_DATA_F_BSEC | LH_DATA_F_OPSZ))
		return lh_dec_err(e, -LH_E_CORRUPT, sid, "DATA flags 0x%x unknown", ds->flags);
	const bool opsz = ds->flags & LH_DATA_F_OPSZ;
	if (opsz && (!allow->opsz || !(ds->flags & LH_DATA_F_ZSTD)))
		return lh_dec_err(e, -LH_E_CORRUPT, sid, "DATA with its ops in Z, %s",
				  allow->opsz ? "but Z is not zstd" : "HELLO did not allow it");
	if ((ds->flags & LH_DATA_F_BSEC) && !allow->b)
		return lh_dec_err(e, -LH_E_CORRUPT, sid, "DATA with a B section, HELLO did not allow them");
	int nfields = ds->flags & LH_DATA_F_BSEC ? 6 : 4;
	ds->b_raw = ds->b_len = 0;
	for (int i = 0; i < nfields; i++) {
		if (!(k = lh_varint_get(b + at, n - at, fields[i])))
			return lh_dec_err(e, -LH_E_CORRUPT, sid, "DATA section length %d unreadable", i);
		at += k;
	}
	const uint64_t body_ops = opsz ? 0 : ds->ops_len; /* ops bytes in the body */
	if (ds->ops_len > LH_WAN_OPS_MAX)
		return lh_dec_err(e, -LH_E_BAD_LENGTH, sid, "DATA with %llu bytes of ops (at most %u)",
				  (unsigned long long)ds->ops_len, LH_WAN_OPS_MAX);
	if (body_ops > n - at || ds->z_len > n - at - body_ops || ds->b_len > n - at - body_ops - ds->z_len ||
	    ds->r_len != n - at - body_ops - ds->z_len - ds->b_len)
		return lh_dec_err(e, -LH_E_BAD_LENGTH, sid,
				  "DATA sections (ops %llu, z %llu, b %llu, r %llu) do not fill the %zu-byte body",
				  (unsigned long long)ds->ops_len, (unsigned long long)ds->z_len,
				  (unsigned long long)ds->b_len, (unsigned long long)ds->r_len, n - at);
	if (ds->z_raw > h->raw_len + (opsz ? ds->ops_len : 0) || ds->r_len > h->raw_len || ds->b_raw > h->raw_len)
		return lh_dec_err(e, -LH_E_BAD_LENGTH, sid, "DATA section larger than the frame's output");
	if (opsz && ds->ops_len > ds->z_raw)
		return lh_dec_err(e, -LH_E_BAD_LENGTH, sid, "DATA ops of %llu bytes past its %llu-byte Z section",
				  (unsigned long long)ds->ops_len, (unsigned long long)ds->z_raw);
	if (!(ds->flags & LH_DATA_F_ZSTD) && ds->z_len != ds->z_raw)
		return lh_dec_err(e, -LH_E_BAD_LENGTH, sid, "stored Z section of %llu bytes claims %llu",
				  (unsigned long long)ds->z_len, (unsigned long long)ds->z_raw);
	ds->ops = b + at; /* with opsz: set from Z once it is decompressed */
	ds->z = ds->ops + body_ops;
	ds->b = ds->z + ds->z_len;
	ds->r = ds->b + ds->b_len;
	return 0;
}

int lh_dec_zs_init(lh_dec_zs *zs, char name)
{
	const bool b = name == 'B';
	zs->name = name;
	zs->ring_size = b ? DEC_BRING : DEC_ZRING;
	zs->max_window_log = b ? LH_WAN_ZSTD_B_WINDOW_LOG : LH_WAN_ZSTD_WINDOW_LOG_MAX;
	zs->frame_start = true;
	zs->pos = 0;
	zs->dctx = ZSTD_createDCtx();
	zs->ring = lh_big_zalloc(zs->ring_size);
	if (!zs->dctx || !zs->ring || ZSTD_isError(ZSTD_decompressBegin(zs->dctx)))
		return -LH_E_NOMEM;
	return 0;
}

void lh_dec_zs_fini(lh_dec_zs *zs)
{
	ZSTD_freeDCtx(zs->dctx);
	lh_big_free(zs->ring, zs->ring_size);
	zs->dctx = NULL;
	zs->ring = NULL;
}

/*
 * One of the session's zstd streams (Z, or B): this section holds whole zstd
 * blocks (the encoder ends every section at a block boundary) and
 * decompresses to raw bytes. zstd's buffer-less API writes them straight into the ring,
 * where the ops read them: no copy out of a zstd-owned window buffer
 * (~6 % of decode time). Each section lands contiguously; when it would not
 * fit before the ring's end it starts again at 0, and zstd keeps the previous
 * contiguous run as history. Windows over 8 MiB (Z) or 2 MiB (B, whose
 * ring is smaller) are refused.
 */
int lh_dec_zs_section(lh_dec_zs *zs, uint32_t sid, const uint8_t *in, size_t left, uint64_t raw,
		      const uint8_t **z, lh_wan_error *e)
{
	size_t got = 0;

	if (zs->pos + raw > zs->ring_size)
		zs->pos = 0;
	uint8_t *out = zs->ring + zs->pos;
	while (left > 0) {
		size_t need = ZSTD_nextSrcSizeToDecompress(zs->dctx);
		if (need == 0) {
			/* the previous zstd frame ended (a level change): the next one starts here */
			ZSTD_decompressBegin(zs->dctx);
			zs->frame_start = true;
			continue;
		}
		if (zs->frame_start) {
			ZSTD_frameHeader fh;
			size_t hr = ZSTD_getFrameHeader(&fh, in, left);
			if (hr != 0)
				return lh_dec_err(e, -LH_E_CORRUPT, sid, "%c section: %s", zs->name,
						  ZSTD_isError(hr) ? ZSTD_getErrorName(hr) : "zstd frame header cut short");
			if (fh.frameType == ZSTD_frame && fh.windowSize > (1ull << zs->max_window_log))
				return lh_dec_err(e, -LH_E_LIMIT, sid, "%c section: zstd window of %llu bytes", zs->name,
						  (unsigned long long)fh.windowSize);
			zs->frame_start = false;
		}
		if (need > left)
			return lh_dec_err(e, -LH_E_TRUNCATED, sid, "%c section ends inside a zstd block", zs->name);
		size_t n = ZSTD_decompressContinue(zs->dctx, out + got, raw - got, in, need);
		if (ZSTD_isError(n))
			return lh_dec_err(e, -LH_E_CORRUPT, sid, "%c section: %s", zs->name, ZSTD_getErrorName(n));
		got += n;
		in += need;
		left -= need;
	}
	if (got != raw)
		return lh_dec_err(e, -LH_E_BAD_LENGTH, sid, "%c section gave %zu bytes, header says %llu", zs->name, got,
				  (unsigned long long)raw);
	zs->pos += got;
	*z = out;
	return 0;
}
