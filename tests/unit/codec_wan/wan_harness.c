/* SPDX-License-Identifier: MIT */
/* The WAN encoding's unit-test harness (wan_harness.h). */
#include <stdlib.h>
#include <string.h>
#include "be.h"
#include "frame.h"
#include "wan_harness.h"

int lh_test_failures;
int lh_test_dec_ahead;
int lh_test_enc_threads = 1;

lh_wan_enc *test_enc_create(void)
{
	lh_wan_enc *e = lh_wan_enc_create();
	if (e && lh_wan_enc_set_param(e, LH_WAN_P_THREADS, lh_test_enc_threads) < 0) {
		lh_wan_enc_free(e);
		return NULL;
	}
	return e;
}

/* ---- a tiny session harness: encode streams, collect frames, decode them ---- */

void vput(vec *v, const void *p, size_t n)
{
	if (v->len + n > v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 1 << 16;
		while (nc < v->len + n)
			nc *= 2;
		v->b = realloc(v->b, nc);
		v->cap = nc;
	}
	memcpy(v->b + v->len, p, n);
	v->len += n;
}

void pull_all(lh_wan_enc *e, vec *frames)
{
	static uint8_t f[LH_WAN_FRAME_MAX];
	long n;
	while ((n = lh_wan_enc_pull(e, f, sizeof(f))) > 0)
		vput(frames, f, (size_t)n);
	CHECK(n == 0);
}

void feed_all(lh_wan_enc *e, uint32_t sid, const uint8_t *p, size_t len, size_t chunk, vec *frames)
{
	size_t off = 0;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		long k = lh_wan_enc_feed(e, sid, p + off, n);
		CHECK(k >= 0);
		if (k < 0)
			return;
		off += (size_t)k;
		pull_all(e, frames);
	}
}

/* Stream 1 in 2 MiB steps, the link pressure (and so the auto level) cycling through pressure[0..n). */
void feed_with_pressure(lh_wan_enc *e, const uint8_t *s, size_t len, const int64_t *pressure, size_t n,
			       vec *frames)
{
	size_t chunk = 2u << 20;
	for (size_t off = 0, i = 0; off < len; off += chunk, i++) {
		lh_wan_enc_set_param(e, LH_WAN_P_LINK_PRESSURE, pressure[i % n]);
		feed_all(e, 1, s + off, len - off < chunk ? len - off : chunk, 1 << 20, frames);
	}
}

/* The one decode loop: every frame through decoder d, each frame's output to put(ctx). Stops at the
 * first error (a frame size that does not fit counts) and returns it, or 0. */
typedef void (*frame_put_fn)(void *ctx, const lh_wan_frame_info *info, const uint8_t *out, size_t n);

/* With lh_test_dec_ahead: announces the frame at off (unless it is already) and the whole frames
 * after it, up to LH_WAN_DEC_AHEAD_MAX, as a reader that has them would. *ann: where the first
 * frame not announced yet starts. */
void announce_ahead(lh_wan_dec *d, const vec *frames, size_t off, size_t *ann)
{
	if (*ann < off)
		*ann = off;
	for (int k = 0; k < LH_WAN_DEC_AHEAD_MAX && *ann < frames->len; k++) {
		long n = lh_wan_frame_size(frames->b + *ann, frames->len - *ann);
		if (n <= 0 || (size_t)n > frames->len - *ann || lh_wan_dec_announce(d, frames->b + *ann, (size_t)n) != 1)
			return;
		*ann += (size_t)n;
	}
}

static long each_frame(lh_wan_dec *d, const vec *frames, frame_put_fn put, void *ctx)
{
	static uint8_t dst[LH_WAN_FRAME_RAW_MAX];
	size_t ann = 0;
	for (size_t off = 0; off < frames->len;) {
		long size = lh_wan_frame_size(frames->b + off, frames->len - off);
		if (size <= 0 || (size_t)size > frames->len - off)
			return size < 0 ? size : -LH_E_TRUNCATED;
		if (lh_test_dec_ahead)
			announce_ahead(d, frames, off, &ann);
		lh_wan_frame_info info;
		long r = lh_wan_dec_frame(d, frames->b + off, (size_t)size, dst, sizeof(dst), &info);
		if (r < 0)
			return r;
		put(ctx, &info, dst, (size_t)r);
		off += (size_t)size;
	}
	return 0;
}

/* outs[sid] collects stream sid's bytes; an ABORT empties them */
static void put_by_stream(void *ctx, const lh_wan_frame_info *info, const uint8_t *out, size_t n)
{
	vec *outs = ctx;
	if (info->stream_id >= 8)
		return;
	if (n > 0)
		vput(&outs[info->stream_id], out, n);
	if (info->type == LH_WAN_FRAME_ABORT)
		outs[info->stream_id].len = 0;
}

/* Decodes all frames; outs[sid] collects stream sid's bytes (sid < 8). Returns the first error or 0. */
long decode_all(const vec *frames, vec outs[8], lh_wan_stats *st)
{
	lh_wan_dec *d = lh_wan_dec_create();
	long r = each_frame(d, frames, put_by_stream, outs);
	if (r == 0 && lh_wan_dec_open_streams(d))
		r = -LH_E_TRUNCATED;
	if (st)
		*st = *lh_wan_dec_stats(d);
	lh_wan_dec_free(d);
	return r;
}

size_t break_ram_record(uint8_t *s, size_t len)
{
	for (size_t i = len / 2; i + 8 < len; i++)
		if (!memcmp(s + i, "\x00\x00\x00\x00", 4) && (s[i + 7] & 0x28) == 0x28) {
			s[i + 6] |= 0x04;
			return i;
		}
	return 0;
}

void free_outs(vec outs[8])
{
	for (int i = 0; i < 8; i++) {
		free(outs[i].b);
		memset(&outs[i], 0, sizeof(outs[i]));
	}
}

void b_sections(const vec *frames, size_t *count, size_t *raw, size_t *unshrunk)
{
	*count = *raw = *unshrunk = 0;
	for (size_t at = 0; at < frames->len;) {
		long n = lh_wan_frame_size(frames->b + at, frames->len - at);
		if (n <= 0)
			return;
		const uint8_t *body = frames->b + at + LH_WAN_FRAME_HDR;
		if (frames->b[at + 3] == LH_FT_DATA && (body[0] & LH_DATA_F_BSEC)) {
			uint64_t v[6];
			size_t k = 1;
			for (int i = 0; i < 6; i++)
				k += lh_varint_get(body + k, 16, &v[i]);
			(*count)++;
			*raw += v[4];
			*unshrunk += v[5] >= v[4];
		}
		at += (size_t)n;
	}
}

void hand_frame(vec *v, uint8_t type, uint32_t sid, const uint8_t *body, uint32_t len, uint32_t raw)
{
	uint8_t h[LH_WAN_FRAME_HDR];
	lh_frame_hdr_write(h, type, sid, body, len, raw);
	vput(v, h, sizeof(h));
	vput(v, body, len);
}

void hand_session_flags(vec *v, uint32_t slots, uint32_t hello_flags)
{
	uint8_t hello[12], open[6] = { 0, 0, 0, 1, 0, 0 };
	lh_put32(lh_put32(lh_put32(hello, 4096), slots), hello_flags);
	hand_frame(v, LH_FT_HELLO, 0, hello, 12, 0);
	hand_frame(v, LH_FT_OPEN, 1, open, 6, 0);
}

void hand_session(vec *v, uint32_t slots) { hand_session_flags(v, slots, 0); }

long hand_data_flags(uint32_t hello_flags, const uint8_t *ops, size_t ops_len, const uint8_t *z, size_t z_len,
		     uint32_t raw, vec *out)
{
	vec v = { 0 };
	uint8_t body[3 * 8192], *p = body;
	hand_session_flags(&v, 16, hello_flags);
	*p++ = 0;
	p = lh_varint_put(p, ops_len);
	p = lh_varint_put(p, z_len);
	p = lh_varint_put(p, z_len);
	p = lh_varint_put(p, 0);
	memcpy(p, ops, ops_len);
	memcpy(p + ops_len, z, z_len);
	hand_frame(&v, LH_FT_DATA, 1, body, (uint32_t)(p - body + ops_len + z_len), raw);
	hand_frame(&v, LH_FT_ABORT, 1, body, 0, 0);
	long r = decode_frames(&v, out);
	free(v.b);
	return r;
}

static void put_all(void *ctx, const lh_wan_frame_info *info, const uint8_t *out, size_t n)
{
	(void)info;
	if (ctx && n > 0)
		vput(ctx, out, n);
}

long decode_frames(const vec *frames, vec *out)
{
	lh_wan_dec *d = lh_wan_dec_create();
	long r = each_frame(d, frames, put_all, out);
	lh_wan_dec_free(d);
	return r;
}

long hand_data(const uint8_t *ops, size_t ops_len, const uint8_t *z, size_t z_len, uint32_t raw)
{
	return hand_data_flags(0, ops, ops_len, z, z_len, raw, NULL);
}
