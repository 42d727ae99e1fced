/* SPDX-License-Identifier: MIT */
/* libFuzzer: streams built from the input -> WAN encoder -> decoder must come back byte-equal. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lh_wan.h"

#define PS 4096
#define NPAGES 64

typedef struct {
	uint8_t *b;
	size_t len, cap;
} vec;

static void put(vec *v, const void *p, size_t n)
{
	if (n == 0)
		return;
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
static void u8(vec *v, uint8_t x) { put(v, &x, 1); }
static void be32(vec *v, uint32_t x)
{
	uint8_t b[4] = { x >> 24, x >> 16, x >> 8, x };
	put(v, b, 4);
}
static void be64(vec *v, uint64_t x)
{
	be32(v, (uint32_t)(x >> 32));
	be32(v, (uint32_t)x);
}

typedef struct {
	const uint8_t *p;
	size_t n, at;
} script;

static uint8_t next(script *s) { return s->at < s->n ? s->p[s->at++] : 0; }

static void footer(vec *v) { be64(v, 0x10), u8(v, 0x7E), be32(v, 2); }

/*
 * A QEMU-shaped stream driven by the script: new pages from input bytes,
 * re-sends with edits, copies (duplicates), zero pages, section breaks.
 * perm varies the physical layout, so a second VM sees the same contents
 * at other addresses (cross-VM refs and resemblance deltas).
 */
static void build(const uint8_t *data, size_t size, uint8_t perm, vec *v)
{
	static uint8_t mem[NPAGES][PS];
	script s = { data, size, 0 };
	int first = 1;
	memset(mem, 0, sizeof(mem));
	be32(v, 0x5145564D), be32(v, 3);
	u8(v, 0x07), be32(v, 4), put(v, "pc-q", 4);
	u8(v, 0x01), be32(v, 2), u8(v, 3), put(v, "ram", 3), be32(v, 0), be32(v, 4);
	be64(v, (uint64_t)NPAGES * PS | 4), u8(v, 6), put(v, "pc.ram", 6), be64(v, (uint64_t)NPAGES * PS);
	footer(v);
	u8(v, 0x02), be32(v, 2);
	while (s.at < s.n) {
		uint8_t cmd = next(&s), a = (uint8_t)((next(&s) ^ perm) % NPAGES);
		uint8_t *p = mem[a];
		switch (cmd % 6) {
		case 0: { /* new content from 32 input bytes, spread over the page */
			uint8_t seed[32];
			for (int i = 0; i < 32; i++)
				seed[i] = next(&s);
			for (int i = 0; i < PS; i++)
				p[i] = (uint8_t)(seed[i % 32] + (i / 32) * (seed[0] & 3));
			break;
		}
		case 1: { /* small edit */
			uint16_t off = (uint16_t)(next(&s) << 8 | next(&s)) % PS;
			uint8_t len = next(&s) % 64, val = next(&s);
			for (int i = 0; i < len && off + i < PS; i++)
				p[off + i] ^= (uint8_t)(val + i);
			break;
		}
		case 2: /* duplicate another page */
			memcpy(p, mem[(next(&s) ^ perm) % NPAGES], PS);
			break;
		case 3:
			memset(p, 0, PS);
			break;
		case 4: /* ZERO record */
			memset(p, 0, PS);
			be64(v, (uint64_t)a * PS | 0x02 | (first ? 0 : 0x20));
			if (first)
				u8(v, 6), put(v, "pc.ram", 6);
			first = 0;
			u8(v, 0);
			continue;
		case 5:
			footer(v);
			u8(v, 0x02), be32(v, 2);
			continue;
		}
		be64(v, (uint64_t)a * PS | 0x08 | (first ? 0 : 0x20));
		if (first)
			u8(v, 6), put(v, "pc.ram", 6);
		first = 0;
		put(v, p, PS);
	}
	footer(v);
	u8(v, 0x03), be32(v, 2), footer(v);
	u8(v, 0x04), be32(v, 7), u8(v, 3), put(v, "cpu", 3), be32(v, 0), be32(v, 1);
	for (size_t i = 0; i < size && i < 3000; i++)
		u8(v, data[i] & 0x3F);
	u8(v, 0x7E), be32(v, 7), u8(v, 0x00);
}

static void pull(lh_wan_enc *e, vec *frames)
{
	static uint8_t f[LH_WAN_FRAME_MAX];
	long n;
	while ((n = lh_wan_enc_pull(e, f, sizeof(f))) > 0)
		put(frames, f, (size_t)n);
	if (n < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t dst[LH_WAN_FRAME_RAW_MAX];
	if (size < 2 || size > 200000)
		return 0;
	uint8_t flags = data[0], chunkb = data[1];
	data += 2;
	size -= 2;
	vec in[3] = { 0 }, frames = { 0 }, out[3] = { 0 };
	build(data, size, 0, &in[0]);
	build(data, size, 0x15, &in[1]);
	put(&in[2], data, size); /* the raw input as a stream of its own: parser fallbacks */

	lh_wan_enc *e = lh_wan_enc_create();
	lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 1 + (flags & 1)); /* 256 or 512 slots: constant eviction */
	lh_wan_enc_set_param(e, LH_WAN_P_FRAME_RAW, 65536);
	lh_wan_enc_set_param(e, LH_WAN_P_LEVEL, (flags & 6) == 0 ? 0 : (flags & 6) == 2 ? 1 : LH_WAN_LEVEL_AUTO);
	lh_wan_enc_set_param(e, LH_WAN_P_RESEMBLANCE, !(flags & 8));
	lh_wan_enc_set_param(e, LH_WAN_P_DELTA_PREV, !(flags & 16));
	lh_wan_enc_set_param(e, LH_WAN_P_THREADS, flags & 64 ? 2 : 1); /* zstd on a worker thread */
	size_t chunk = 1 + (size_t)chunkb * 97, off[3] = { 0 };
	for (uint32_t i = 0; i < 3; i++)
		if (lh_wan_enc_open(e, i, i == 2 ? 3 : i, i == 2 ? LH_CHAN_AUTO : LH_CHAN_MAIN, "f") < 0)
			abort();
	/* interleaved (flags & 32) or one stream after another */
	for (int busy = 1; busy;) {
		busy = 0;
		for (int i = 0; i < 3; i++) {
			while (off[i] < in[i].len) {
				size_t n = in[i].len - off[i] < chunk ? in[i].len - off[i] : chunk;
				long k = lh_wan_enc_feed(e, (uint32_t)i, in[i].b + off[i], n);
				if (k < 0)
					abort();
				off[i] += (size_t)k;
				pull(e, &frames);
				busy = 1;
				if (flags & 32)
					break;
			}
		}
	}
	for (uint32_t i = 0; i < 3; i++)
		if (lh_wan_enc_end(e, i, NULL) < 0)
			abort();
	pull(e, &frames);
	lh_wan_enc_free(e);

	lh_wan_dec *d = lh_wan_dec_create();
	for (size_t at = 0; at < frames.len;) {
		long n = lh_wan_frame_size(frames.b + at, frames.len - at);
		lh_wan_frame_info info;
		if (n <= 0)
			abort();
		long r = lh_wan_dec_frame(d, frames.b + at, (size_t)n, dst, sizeof(dst), &info);
		if (r < 0) {
			fprintf(stderr, "decode: %s: %s\n", lh_err_name((int)r), lh_wan_dec_error(d)->detail);
			abort();
		}
		if (r > 0)
			put(&out[info.stream_id], dst, (size_t)r);
		at += (size_t)n;
	}
	if (lh_wan_dec_open_streams(d))
		abort();
	lh_wan_dec_free(d);
	for (int i = 0; i < 3; i++) {
		if (out[i].len != in[i].len || (in[i].len && memcmp(out[i].b, in[i].b, in[i].len)))
			abort();
		free(in[i].b);
		free(out[i].b);
	}
	free(frames.b);
	return 0;
}
