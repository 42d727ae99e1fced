/* SPDX-License-Identifier: MIT */
/* Unit tests of the WAN encoding: round trips, page decisions, shared store, bad frames. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "be.h"
#include "delta.h"
#include "frame.h"
#include "lh_wan.h"
#include "synth.h"
#include "wan_harness.h"

/* ---- tests ---- */

static void test_varint_delta(void)
{
	uint8_t buf[16], base[4096], page[4096], d[4096], out[4096];
	uint64_t v, s = 42;
	const uint64_t vals[] = { 0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t n = (size_t)(lh_varint_put(buf, vals[i]) - buf);
		CHECK(lh_varint_get(buf, n, &v) == n && v == vals[i]);
		CHECK(lh_varint_get(buf, n - 1, &v) == 0 || n == 1);
	}
	CHECK(lh_unzigzag(lh_zigzag(-5)) == -5 && lh_unzigzag(lh_zigzag(INT64_MIN)) == INT64_MIN);

	for (int t = 0; t < 200; t++) {
		for (size_t i = 0; i < sizeof(base); i += 8) {
			uint64_t x = synth_rand(&s) & 0x0F0F0F0F0F0F0F0Full;
			memcpy(base + i, &x, 8);
		}
		memcpy(page, base, sizeof(page));
		int edits = t % 12;
		for (int k = 0; k < edits; k++)
			page[synth_rand(&s) % 4096] ^= (uint8_t)(1 + synth_rand(&s) % 255);
		size_t n = lh_delta_encode(base, page, 4096, d, 2048);
		if (edits == 0) {
			CHECK(n == 0);
			continue;
		}
		CHECK(n > 0 && n <= (size_t)edits * 6);
		CHECK(lh_delta_apply(base, d, n, out, 4096) == 0 && !memcmp(out, page, 4096));
		memcpy(out, base, 4096); /* in place, as the decoder may do */
		CHECK(lh_delta_apply(out, d, n, out, 4096) == 0 && !memcmp(out, page, 4096));
	}
	/* a run that overruns the page, a zero-length run, truncation */
	uint8_t *p = lh_varint_put(d, 4090);
	p = lh_varint_put(p, 10);
	memset(p, 1, 10);
	CHECK(lh_delta_apply(base, d, (size_t)(p + 10 - d), out, 4096) < 0);
	p = lh_varint_put(d, 5);
	p = lh_varint_put(p, 0);
	CHECK(lh_delta_apply(base, d, (size_t)(p - d), out, 4096) < 0);
	p = lh_varint_put(d, 5);
	p = lh_varint_put(p, 10);
	CHECK(lh_delta_apply(base, d, (size_t)(p - d) + 3, out, 4096) < 0);
	CHECK(lh_delta_apply(base, d, 0, out, 4096) < 0);
	/* a completely different page does not fit the limit */
	memset(page, 0x55, sizeof(page));
	CHECK(lh_delta_encode(base, page, 4096, d, 2048) == 0);
}

/* One stream, several chunkings: byte-exact, and the page decisions we expect. */
static void test_round_trip_chunkings(void)
{
	synth_cfg c;
	uint8_t *s;
	synth_default(&c);
	size_t len = synth_stream(&c, &s);
	CHECK(len > 0);
	const size_t chunks[] = { 1, 7, 4096, 65537, 1 << 20 };
	uint8_t first_digest[16] = { 0 };
	for (size_t ci = 0; ci < sizeof(chunks) / sizeof(chunks[0]); ci++) {
		lh_wan_enc *e = test_enc_create();
		vec frames = { 0 }, outs[8] = { 0 };
		lh_wan_stats st;
		lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 64);
		CHECK(lh_wan_enc_open(e, 1, 7, LH_CHAN_AUTO, "vm1.main") == 0);
		feed_all(e, 1, s, len, chunks[ci], &frames);
		CHECK(lh_wan_enc_end(e, 1, &st) == 0);
		pull_all(e, &frames);
		CHECK(st.bytes_in == len);
		CHECK(st.parse_fallbacks == 0);
		CHECK(st.pages[LH_WAN_OP_ZERO] > 0 && st.pages[LH_WAN_OP_LITERAL] > 0);
		CHECK(st.pages[LH_WAN_OP_LITERAL_RAW] > 0);
		CHECK(st.pages[LH_WAN_OP_DELTA_PREV] > 0);
		CHECK(frames.len < len / 2);
		CHECK(decode_all(&frames, outs, NULL) == 0);
		CHECK(outs[1].len == len && !memcmp(outs[1].b, s, len));
		/* the encoding does not depend on how the input was chunked */
		XXH128_canonical_t h;
		XXH128_canonicalFromHash(&h, XXH3_128bits(frames.b, frames.len));
		if (ci == 0)
			memcpy(first_digest, &h, 16);
		else
			CHECK(!memcmp(first_digest, &h, 16));
		free(frames.b);
		free_outs(outs);
		lh_wan_enc_free(e);
	}
	free(s);
}

/* A second VM from the same image, through the same store: mostly refs and deltas. */
static void test_second_vm(void)
{
	synth_cfg c1, c2;
	uint8_t *s1, *s2;
	synth_default(&c1);
	c1.rounds = 1;
	c2 = c1;
	c2.vm_seed = 99;
	size_t l1 = synth_stream(&c1, &s1), l2 = synth_stream(&c2, &s2);
	lh_wan_enc *e = test_enc_create();
	vec frames = { 0 }, outs[8] = { 0 };
	lh_wan_stats st1, st2;
	CHECK(lh_wan_enc_open(e, 1, 100, LH_CHAN_AUTO, "a") == 0);
	feed_all(e, 1, s1, l1, 1 << 20, &frames);
	CHECK(lh_wan_enc_end(e, 1, &st1) == 0);
	CHECK(lh_wan_enc_open(e, 2, 200, LH_CHAN_AUTO, "b") == 0);
	feed_all(e, 2, s2, l2, 1 << 20, &frames);
	CHECK(lh_wan_enc_end(e, 2, &st2) == 0);
	pull_all(e, &frames);
	if (getenv("LH_TEST_VERBOSE"))
		for (int i = 0; i < LH_WAN_OP__COUNT; i++)
			fprintf(stderr, "%s: vm1 %llu vm2 %llu\n", lh_wan_op_name(i), (unsigned long long)st1.pages[i],
				(unsigned long long)st2.pages[i]);
	/* VM 2's text pages are the image's: each is identical (ref) or a few bytes off (delta_sim) */
	uint64_t text2 = st2.pages[LH_WAN_OP_REF] + st2.pages[LH_WAN_OP_DELTA_SIM] + st2.pages[LH_WAN_OP_LITERAL];
	CHECK(st2.pages[LH_WAN_OP_REF] > text2 / 3);
	CHECK(st2.pages[LH_WAN_OP_DELTA_SIM] > text2 / 5);
	CHECK(st2.pages[LH_WAN_OP_LITERAL] < text2 / 20);
	CHECK(st2.bytes_out < st1.bytes_out / 2);
	CHECK(decode_all(&frames, outs, NULL) == 0);
	CHECK(outs[1].len == l1 && !memcmp(outs[1].b, s1, l1));
	CHECK(outs[2].len == l2 && !memcmp(outs[2].b, s2, l2));
	/* without resemblance the same input costs clearly more */
	lh_wan_enc *e2 = test_enc_create();
	vec f2 = { 0 };
	lh_wan_stats st3;
	lh_wan_enc_set_param(e2, LH_WAN_P_RESEMBLANCE, 0);
	lh_wan_enc_open(e2, 1, 100, LH_CHAN_AUTO, "a");
	feed_all(e2, 1, s1, l1, 1 << 20, &f2);
	lh_wan_enc_end(e2, 1, NULL);
	lh_wan_enc_open(e2, 2, 200, LH_CHAN_AUTO, "b");
	feed_all(e2, 2, s2, l2, 1 << 20, &f2);
	lh_wan_enc_end(e2, 2, &st3);
	CHECK(st3.pages[LH_WAN_OP_DELTA_SIM] == 0);
	CHECK(st2.bytes_out * 10 < st3.bytes_out * 8);
	free(f2.b);
	lh_wan_enc_free(e2);
	free(frames.b);
	free_outs(outs);
	lh_wan_enc_free(e);
	free(s1);
	free(s2);
}

/*
 * Auto level, literal share: a second VM of one image goes mostly as REF and
 * deltas, so the CPU its few literals need buys a higher zstd level (smaller
 * output); a first VM, a fixed level and a CPU-bound (low pressure) encoder
 * keep the level the pressure gives.
 */
static void encode_two_vms(const uint8_t *s1, size_t l1, const uint8_t *s2, size_t l2, int64_t level,
			   int64_t pressure, lh_wan_stats *st1, lh_wan_stats *st2)
{
	lh_wan_enc *e = test_enc_create();
	vec frames = { 0 }, outs[8] = { 0 };
	lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 128);
	lh_wan_enc_set_param(e, LH_WAN_P_LEVEL, level);
	lh_wan_enc_set_param(e, LH_WAN_P_LINK_PRESSURE, pressure);
	CHECK(lh_wan_enc_open(e, 1, 100, LH_CHAN_AUTO, "a") == 0);
	feed_all(e, 1, s1, l1, 1 << 20, &frames);
	CHECK(lh_wan_enc_end(e, 1, st1) == 0);
	CHECK(lh_wan_enc_open(e, 2, 200, LH_CHAN_AUTO, "b") == 0);
	feed_all(e, 2, s2, l2, 1 << 20, &frames);
	CHECK(lh_wan_enc_end(e, 2, st2) == 0);
	pull_all(e, &frames);
	CHECK(decode_all(&frames, outs, NULL) == 0);
	CHECK(outs[1].len == l1 && !memcmp(outs[1].b, s1, l1));
	CHECK(outs[2].len == l2 && !memcmp(outs[2].b, s2, l2));
	free(frames.b);
	free_outs(outs);
	lh_wan_enc_free(e);
}

static void test_level_boost(void)
{
	synth_cfg c1, c2;
	uint8_t *s1, *s2;
	synth_default(&c1);
	c1.pages = 16384; /* 64 MiB: the share falls over ~8 MiB steps, then must hold for 8 MiB */
	c1.rounds = 1;
	c2 = c1;
	c2.vm_seed = 99;
	size_t l1 = synth_stream(&c1, &s1), l2 = synth_stream(&c2, &s2);
	lh_wan_stats a1, a2, f1, f2, p1, p2;
	encode_two_vms(s1, l1, s2, l2, LH_WAN_LEVEL_AUTO, 50, &a1, &a2);
	encode_two_vms(s1, l1, s2, l2, 1, 50, &f1, &f2);
	encode_two_vms(s1, l1, s2, l2, LH_WAN_LEVEL_AUTO, 20, &p1, &p2);
	if (getenv("LH_TEST_VERBOSE"))
		fprintf(stderr, "boost: vm1 level %d boosted %llu out %llu; vm2 level %d boosted %llu out %llu "
				"(fixed 1: %llu)\n",
			a1.zstd_level, (unsigned long long)a1.boosted_bytes, (unsigned long long)a1.bytes_out,
			a2.zstd_level, (unsigned long long)a2.boosted_bytes, (unsigned long long)a2.bytes_out,
			(unsigned long long)f2.bytes_out);
	CHECK(a1.zstd_level == 1 && a1.boosted_bytes == 0 && a1.bytes_out == f1.bytes_out);
	/* (the synthetic pages compress alike at any level: the size gain is bench_wan's to show) */
	CHECK(a2.zstd_level > 1 && a2.boosted_bytes > l2 / 2);
	CHECK(f2.zstd_level == 1 && f2.boosted_bytes == 0);
	CHECK(p2.zstd_level == -3 && p2.boosted_bytes == 0);
	free(s1);
	free(s2);
}

/* Streams fed interleaved in small pieces, a tiny store that evicts all the time, a non-QEMU stream. */
static void test_interleaved_small_store(void)
{
	synth_cfg c;
	uint8_t *s[3];
	size_t l[3];
	synth_default(&c);
	c.pages = 3000;
	l[0] = synth_stream(&c, &s[0]);
	c.vm_seed = 5;
	l[1] = synth_stream(&c, &s[1]);
	l[2] = 300000;
	s[2] = malloc(l[2]);
	uint64_t r = 9;
	for (size_t i = 0; i < l[2]; i++)
		s[2][i] = (uint8_t)(i % 5000 < 2500 ? synth_rand(&r) : i);

	lh_wan_enc *e = test_enc_create();
	vec frames = { 0 }, outs[8] = { 0 };
	lh_wan_stats st;
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 1) == 0);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_FRAME_RAW, 65536) == 0);
	for (uint32_t i = 0; i < 3; i++)
		CHECK(lh_wan_enc_open(e, i + 1, i == 2 ? 9 : 1, i == 2 ? LH_CHAN_OPAQUE : LH_CHAN_AUTO, NULL) == 0);
	CHECK(lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, NULL) == -LH_E_STATE);
	size_t off[3] = { 0 };
	for (int busy = 1; busy;) {
		busy = 0;
		for (int i = 0; i < 3; i++) {
			size_t n = l[i] - off[i] < 5003 ? l[i] - off[i] : 5003;
			if (!n)
				continue;
			busy = 1;
			feed_all(e, (uint32_t)i + 1, s[i] + off[i], n, n, &frames);
			off[i] += n;
		}
	}
	for (uint32_t i = 0; i < 3; i++)
		CHECK(lh_wan_enc_end(e, i + 1, &st) == 0);
	pull_all(e, &frames);
	CHECK(decode_all(&frames, outs, NULL) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(outs[i + 1].len == l[i] && !memcmp(outs[i + 1].b, s[i], l[i]));
	free(frames.b);
	free_outs(outs);
	lh_wan_enc_free(e);
	for (int i = 0; i < 3; i++)
		free(s[i]);
}

/* A stream the parser rejects half-way, and one cut inside a page: still byte-exact. */
static void test_parser_fallback(void)
{
	synth_cfg c;
	uint8_t *s;
	synth_default(&c);
	c.pages = 600;
	size_t len = synth_stream(&c, &s);
	CHECK(break_ram_record(s, len) > 0);
	for (int cut = 0; cut < 2; cut++) {
		size_t l = cut ? len / 3 + 1000 : len;
		lh_wan_enc *e = test_enc_create();
		vec frames = { 0 }, outs[8] = { 0 };
		lh_wan_stats st;
		lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 16);
		lh_wan_enc_open(e, 3, 1, LH_CHAN_AUTO, "x");
		feed_all(e, 3, s, l, 10000, &frames);
		CHECK(lh_wan_enc_end(e, 3, &st) == 0);
		pull_all(e, &frames);
		CHECK(st.parse_fallbacks == 1);
		CHECK(decode_all(&frames, outs, NULL) == 0);
		CHECK(outs[3].len == l && !memcmp(outs[3].b, s, l));
		free(frames.b);
		free_outs(outs);
		lh_wan_enc_free(e);
	}
	free(s);
}

/* Builds a session by hand: HELLO(slots), OPEN 1, then body as one DATA frame. */
static void test_bad_frames(void)
{
	uint8_t z[8192] = { 0 };
	/* forged slots: REF past the store, DELTA base past it, a store slot past it */
	CHECK(hand_data((const uint8_t[]){ LH_OP_REF, 16 }, 2, z, 0, 4096) == -LH_E_CORRUPT);
	CHECK(hand_data((const uint8_t[]){ LH_OP_DELTA, 99, 0, 4 }, 4, z, 4, 4096) == -LH_E_CORRUPT);
	CHECK(hand_data((const uint8_t[]){ LH_OP_PAGEZ, 40 }, 2, z, 4096, 4096) == -LH_E_CORRUPT);
	/* a delta that overruns the page */
	uint8_t dz[8], *p = lh_varint_put(dz, 4095);
	p = lh_varint_put(p, 2);
	*p++ = 1;
	*p++ = 2;
	CHECK(hand_data((const uint8_t[]){ LH_OP_DELTA, 0, 0, (uint8_t)(p - dz) }, 4, dz, (size_t)(p - dz), 4096) ==
	      -LH_E_CORRUPT);
	/* lying sizes: LIT past Z, output larger or smaller than the header says, ZERO run too long */
	CHECK(hand_data((const uint8_t[]){ LH_OP_LIT, 100 }, 2, z, 50, 100) == -LH_E_BAD_LENGTH);
	CHECK(hand_data((const uint8_t[]){ LH_OP_LIT, 50 }, 2, z, 50, 60) == -LH_E_BAD_LENGTH);
	CHECK(hand_data((const uint8_t[]){ LH_OP_ZERO, 2 }, 2, z, 0, 4096) == -LH_E_BAD_LENGTH);
	CHECK(hand_data((const uint8_t[]){ LH_OP_ZERO, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F }, 6, z, 0, 1 << 20) ==
	      -LH_E_BAD_LENGTH);
	CHECK(hand_data((const uint8_t[]){ 0x77 }, 1, z, 0, 0) == -LH_E_CORRUPT);
	/* a B page without a B section */
	CHECK(hand_data((const uint8_t[]){ LH_OP_PAGEB, 0 }, 2, z, 0, 4096) == -LH_E_BAD_LENGTH);
	{
		/* a B section the HELLO did not announce; a HELLO flag nobody knows */
		vec v = { 0 }, outs[8] = { 0 };
		const uint8_t body[] = { LH_DATA_F_BSEC, 0, 0, 0, 0, 0, 0 };
		hand_session(&v, 16);
		hand_frame(&v, LH_FT_DATA, 1, body, sizeof(body), 0);
		CHECK(decode_all(&v, outs, NULL) == -LH_E_CORRUPT);
		free_outs(outs);
		v.len = 0;
		uint8_t hello[12];
		lh_put32(lh_put32(lh_put32(hello, 4096), 16), 0x20); /* 0x10 is the epoch flag */
		hand_frame(&v, LH_FT_HELLO, 0, hello, 12, 0);
		CHECK(decode_all(&v, outs, NULL) == -LH_E_UNSUPPORTED);
		free_outs(outs);
		free(v.b);
	}
	CHECK(hand_data((const uint8_t[]){ LH_OP_LIT, 0x80 }, 2, z, 0, 0) == -LH_E_CORRUPT);
	/* a valid one for contrast */
	CHECK(hand_data((const uint8_t[]){ LH_OP_LIT, 50, LH_OP_ZERO, 1, LH_OP_PAGEZ, 4, LH_OP_REF, 4 }, 8, z,
			50 + 4096, 50 + 3 * 4096) == 0);

	/* a real session, then damage: truncation, a flipped body byte, a forged checksum */
	synth_cfg c;
	uint8_t *s;
	synth_default(&c);
	c.pages = 300;
	size_t len = synth_stream(&c, &s);
	lh_wan_enc *e = test_enc_create();
	vec frames = { 0 }, outs[8] = { 0 };
	lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 8);
	lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, "v");
	feed_all(e, 1, s, len, 1 << 20, &frames);
	lh_wan_enc_end(e, 1, NULL);
	pull_all(e, &frames);
	lh_wan_enc_free(e);
	vec t = { 0 };
	vput(&t, frames.b, frames.len - 10);
	CHECK(decode_all(&t, outs, NULL) < 0);
	free_outs(outs);
	t.len = 0;
	vput(&t, frames.b, frames.len);
	t.b[t.len / 2] ^= 0x20;
	CHECK(decode_all(&t, outs, NULL) == -LH_E_CHECKSUM);
	free_outs(outs);
	/* rewrite the last frame (END) with a wrong digest and a valid body check */
	size_t off = 0, last = 0;
	while (off < t.len) {
		last = off;
		off += (size_t)lh_wan_frame_size(frames.b + off, frames.len - off);
	}
	t.len = 0;
	vput(&t, frames.b, frames.len);
	uint8_t *endf = t.b + last;
	CHECK(endf[3] == LH_FT_END);
	endf[LH_WAN_FRAME_HDR + 12] ^= 1;
	lh_frame_hdr_write(endf, LH_FT_END, 1, endf + LH_WAN_FRAME_HDR, LH_END_BODY, 0);
	CHECK(decode_all(&t, outs, NULL) == -LH_E_CHECKSUM);
	free_outs(outs);
	/* bit flips everywhere never crash (run under ASan in CI through the fuzzer too) */
	uint64_t r = 3;
	for (int i = 0; i < 300; i++) {
		t.len = 0;
		vput(&t, frames.b, frames.len);
		size_t at = synth_rand(&r) % t.len;
		t.b[at] ^= (uint8_t)(1 + synth_rand(&r) % 255);
		CHECK(decode_all(&t, outs, NULL) < 0);
		free_outs(outs);
	}
	/* dst too small is not sticky; frame size of a short buffer is "need more" */
	lh_wan_dec *d = lh_wan_dec_create();
	uint8_t small[16];
	long n1 = lh_wan_frame_size(frames.b, frames.len);
	CHECK(lh_wan_dec_frame(d, frames.b, (size_t)n1, small, sizeof(small), NULL) == 0); /* HELLO */
	CHECK(lh_wan_frame_size(frames.b, 5) == 0);
	CHECK(lh_wan_frame_size("XXXXXXXXXXXXXXXXXXXXXXXX", 24) == -LH_E_BAD_MAGIC);
	free(t.b);
	free(frames.b);
	free(s);
	lh_wan_dec_free(d);
}

static void test_abort_and_api(void)
{
	lh_wan_enc *e = test_enc_create();
	vec frames = { 0 }, outs[8] = { 0 };
	int64_t lo, hi;
	CHECK(lh_wan_param_bounds(LH_WAN_P_LEVEL, &lo, &hi) == 0 && hi == 19);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_LEVEL, 20) == -LH_E_PARAM);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_LEVEL, -5) == -LH_E_PARAM);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 2) == 0);
	CHECK(lh_wan_enc_feed(e, 1, "x", 1) == -LH_E_STATE);
	CHECK(lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, "a") == 0);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 4) == -LH_E_STATE);
	CHECK(lh_wan_enc_feed(e, 1, "QEVM\0\0\0\3", 8) == 8);
	CHECK(lh_wan_enc_abort(e, 1, NULL) == 0);
	CHECK(lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, "again") == 0);
	CHECK(lh_wan_enc_feed(e, 1, "hello", 5) == 5);
	CHECK(lh_wan_enc_end(e, 1, NULL) == 0);
	pull_all(e, &frames);
	CHECK(decode_all(&frames, outs, NULL) == 0);
	CHECK(outs[1].len == 5 && !memcmp(outs[1].b, "hello", 5));
	free(frames.b);
	free_outs(outs);
	lh_wan_enc_free(e);
}

/* Each level setting round-trips; level 0 sends no zstd section. */
static void test_levels(void)
{
	synth_cfg c;
	uint8_t *s;
	synth_default(&c);
	c.pages = 500;
	size_t len = synth_stream(&c, &s);
	const int64_t levels[] = { 0, 1, 9, LH_WAN_LEVEL_AUTO };
	size_t sizes[4];
	for (int i = 0; i < 4; i++) {
		lh_wan_enc *e = test_enc_create();
		vec frames = { 0 }, outs[8] = { 0 };
		lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 8);
		lh_wan_enc_set_param(e, LH_WAN_P_LEVEL, levels[i]);
		lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, NULL);
		feed_all(e, 1, s, len, 1 << 20, &frames);
		lh_wan_enc_end(e, 1, NULL);
		pull_all(e, &frames);
		sizes[i] = frames.len;
		CHECK(decode_all(&frames, outs, NULL) == 0);
		CHECK(outs[1].len == len && !memcmp(outs[1].b, s, len));
		free(frames.b);
		free_outs(outs);
		lh_wan_enc_free(e);
	}
	CHECK(sizes[1] < sizes[0] * 3 / 4);
	CHECK(sizes[2] <= sizes[1]);
	free(s);
}

/*
 * The encoder builds Z sections in a ring that zstd reads in place; a level
 * change, or a raw section while a zstd frame is open, must end that frame.
 * 24+ MiB of stream (several laps of the ring) with the level switching
 * between no zstd, 1 and 3 in 2 MiB steps must still decode byte for byte.
 */
static void test_level_switches_over_ring(void)
{
	synth_cfg c;
	uint8_t *s;
	synth_default(&c);
	c.pages = 10000;
	c.random_frac = 0.05;
	size_t len = synth_stream(&c, &s);
	/* 12 MiB without zstd (more than a lap of the ring) between zstd stretches */
	const int64_t pressure[] = { 50, 50, 0, 0, 0, 5, 5, 0, 50, 70, 50, 5 };
	lh_wan_enc *e = test_enc_create();
	vec frames = { 0 }, outs[8] = { 0 };
	lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 16);
	lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, NULL);
	feed_with_pressure(e, s, len, pressure, sizeof(pressure) / sizeof(pressure[0]), &frames);
	CHECK(lh_wan_enc_end(e, 1, NULL) == 0);
	pull_all(e, &frames);
	CHECK(len > (24u << 20)); /* several laps of the 9 MiB ring */
	CHECK(decode_all(&frames, outs, NULL) == 0);
	CHECK(outs[1].len == len && !memcmp(outs[1].b, s, len));
	free(frames.b);
	free_outs(outs);
	lh_wan_enc_free(e);
	free(s);
}

/* LH_WAN_P_STORE_COMMIT: both sides commit the store up front; only before the session starts. */
static void test_store_commit(void)
{
	synth_cfg c;
	uint8_t *s;
	synth_default(&c);
	c.pages = 300;
	size_t len = synth_stream(&c, &s);
	lh_wan_enc *e = test_enc_create();
	vec frames = { 0 }, outs[8] = { 0 };
	int64_t lo, hi;
	CHECK(lh_wan_param_bounds(LH_WAN_P_STORE_COMMIT, &lo, &hi) == 0 && lo == 0 && hi == 1);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_STORE_COMMIT, 2) == -LH_E_PARAM);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 4) == 0);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_STORE_COMMIT, 1) == 0);
	CHECK(lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, NULL) == 0);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_STORE_COMMIT, 0) == -LH_E_STATE);
	feed_all(e, 1, s, len, 1 << 20, &frames);
	CHECK(lh_wan_enc_end(e, 1, NULL) == 0);
	pull_all(e, &frames);

	lh_wan_dec *d = lh_wan_dec_create();
	uint8_t *out = malloc(LH_WAN_FRAME_RAW_MAX);
	size_t got = 0;
	int ok = 1;
	CHECK(lh_wan_dec_set_param(d, LH_WAN_P_STORE_COMMIT, 1) == 0);
	for (size_t at = 0; at < frames.len && ok;) {
		long n = lh_wan_frame_size(frames.b + at, frames.len - at);
		long r = n > 0 ? lh_wan_dec_frame(d, frames.b + at, (size_t)n, out, LH_WAN_FRAME_RAW_MAX, NULL) : -1;
		if (r < 0 || got + (size_t)r > len || (r > 0 && memcmp(out, s + got, (size_t)r))) {
			ok = 0;
			break;
		}
		if (at == 0)
			CHECK(lh_wan_dec_set_param(d, LH_WAN_P_STORE_COMMIT, 0) == -LH_E_STATE);
		got += (size_t)r;
		at += (size_t)n;
	}
	CHECK(ok && got == len);
	free(out);
	lh_wan_dec_free(d);
	free(frames.b);
	free_outs(outs);
	lh_wan_enc_free(e);
	free(s);
}

/* Binary pages go to the B section (its own zstd stream and ring): several laps of the
 * B ring, with zstd switched off and on, decode byte for byte; no B without zstd. */
static void test_binary_pages(void)
{
	synth_cfg c;
	uint8_t *s;
	synth_default(&c);
	c.pages = 8000;
	c.binary_frac = 0.4;
	size_t len = synth_stream(&c, &s);
	const int64_t pressure[] = { 50, 50, 0, 50, 70, 50, 5, 50 };
	lh_wan_enc *e = test_enc_create();
	vec frames = { 0 }, outs[8] = { 0 };
	lh_wan_stats st;
	lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 64);
	lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, NULL);
	feed_with_pressure(e, s, len, pressure, sizeof(pressure) / sizeof(pressure[0]), &frames);
	CHECK(lh_wan_enc_end(e, 1, &st) == 0 && st.pages[LH_WAN_OP_LITERAL] > 2000);
	pull_all(e, &frames);
	size_t with_b, b_raw, unshrunk;
	b_sections(&frames, &with_b, &b_raw, &unshrunk);
	CHECK(unshrunk == 0); /* zstd shrank every B section */
	CHECK(with_b > 0 && b_raw > (9u << 20)); /* more than a lap of the 8.25 MiB B ring */
	CHECK(decode_all(&frames, outs, NULL) == 0);
	CHECK(outs[1].len == len && !memcmp(outs[1].b, s, len));
	free(frames.b);
	free_outs(outs);
	lh_wan_enc_free(e);
	/* zstd off: binary pages stay in Z (sent raw), no B section */
	e = test_enc_create();
	frames = (vec){ 0 };
	lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 64);
	lh_wan_enc_set_param(e, LH_WAN_P_LEVEL, 0);
	lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, NULL);
	feed_all(e, 1, s, len / 4, 1 << 20, &frames);
	lh_wan_enc_abort(e, 1, NULL);
	pull_all(e, &frames);
	for (size_t at = 0; at < frames.len;) {
		long n = lh_wan_frame_size(frames.b + at, frames.len - at);
		if (frames.b[at + 3] == LH_FT_DATA)
			CHECK(!(frames.b[at + LH_WAN_FRAME_HDR] & LH_DATA_F_BSEC));
		at += (size_t)n;
	}
	free(frames.b);
	lh_wan_enc_free(e);
	free(s);
}

void test_wan_transforms(void); /* test_wan_transforms.c */
void test_wan_foreign(void);    /* test_wan_foreign.c */
void test_wan_epoch(void);      /* test_wan_epoch.c */
void test_wan_watch(void);      /* test_wan_watch.c */

int main(void)
{
	const char *ahead = getenv("LH_TEST_DEC_AHEAD");
	lh_test_dec_ahead = ahead && *ahead == '1';
	const char *threads = getenv("LH_TEST_ENC_THREADS");
	lh_test_enc_threads = threads && *threads == '2' ? 2 : 1;
	test_varint_delta();
	test_round_trip_chunkings();
	test_second_vm();
	test_level_boost();
	test_interleaved_small_store();
	test_parser_fallback();
	test_bad_frames();
	test_abort_and_api();
	test_levels();
	test_level_switches_over_ring();
	test_store_commit();
	test_binary_pages();
	test_wan_transforms();
	test_wan_foreign();
	test_wan_epoch();
	test_wan_watch();
	if (lh_test_failures) {
		fprintf(stderr, "codec_wan: %d checks failed\n", lh_test_failures);
		return 1;
	}
	printf("codec_wan: all checks passed%s%s\n", lh_test_dec_ahead ? " (decoding ahead on a second thread)" : "",
	       lh_test_enc_threads == 2 ? " (encoding with a zstd worker thread)" : "");
	return 0;
}
