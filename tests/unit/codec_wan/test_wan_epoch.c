/* SPDX-License-Identifier: MIT */
/* Codec epochs (FORMAT.md "Epochs"): lh_wan_enc_reset / lh_wan_dec_reset after a decoder error. */
#include <stdlib.h>
#include <string.h>
#include "be.h"
#include "frame.h"
#include "synth.h"
#include "wan_harness.h"

/* Offsets of the frames in a vec, at most max. */
static size_t frame_offsets(const vec *f, size_t *off, size_t max)
{
	size_t n = 0;
	for (size_t at = 0; at < f->len && n < max;) {
		long sz = lh_wan_frame_size(f->b + at, f->len - at);
		if (sz <= 0)
			break;
		off[n++] = at;
		at += (size_t)sz;
	}
	return n;
}

static long frame_len(const vec *f, size_t at)
{
	return lh_wan_frame_size(f->b + at, f->len - at);
}

/* Decodes frames [from, to) of f with d, appending stream sid's bytes to outs[sid] (sid < 8). First error or 0. */
static long decode_range(lh_wan_dec *d, const vec *f, const size_t *off, size_t from, size_t to, vec outs[8])
{
	static uint8_t dst[LH_WAN_FRAME_RAW_MAX];
	size_t ann = 0;
	for (size_t i = from; i < to; i++) {
		long sz = frame_len(f, off[i]);
		if (lh_test_dec_ahead) {
			/* only the frames up to `to`: the rest belong to another decoder state */
			vec part = { .b = f->b, .len = off[to - 1] + (size_t)frame_len(f, off[to - 1]) };
			announce_ahead(d, &part, off[i], &ann);
		}
		lh_wan_frame_info info;
		long r = lh_wan_dec_frame(d, f->b + off[i], (size_t)sz, dst, sizeof(dst), &info);
		if (r < 0)
			return r;
		if (info.type == LH_WAN_FRAME_DATA && info.stream_id < 8)
			vput(&outs[info.stream_id], dst, (size_t)r);
	}
	return 0;
}

#define MAXF 4096

static void test_epoch_reset(void)
{
	synth_cfg c1, c2;
	uint8_t *s1, *s2;
	synth_default(&c1);
	c1.rounds = 1;
	c2 = c1;
	c2.vm_seed = 77;
	size_t l1 = synth_stream(&c1, &s1), l2 = synth_stream(&c2, &s2);
	CHECK(l1 > (4u << 20) && l2 > (4u << 20));

	/* epoch 0: VM 1 whole, VM 2 half way (its stream still open), as a session would carry them */
	lh_wan_enc *e = test_enc_create();
	lh_wan_enc_set_param(e, LH_WAN_P_FRAME_RAW, 65536);
	vec f0 = { 0 };
	CHECK(lh_wan_enc_epoch(e) == 0);
	CHECK(lh_wan_enc_open(e, 1, 100, LH_CHAN_AUTO, "vm1") == 0);
	feed_all(e, 1, s1, l1, 1 << 20, &f0);
	CHECK(lh_wan_enc_end(e, 1, NULL) == 0);
	CHECK(lh_wan_enc_open(e, 2, 200, LH_CHAN_AUTO, "vm2") == 0);
	feed_all(e, 2, s2, l2 / 2, 1 << 20, &f0);
	CHECK(lh_wan_enc_flush(e) == 0);
	pull_all(e, &f0);
	/* frames it made and nobody pulled yet: the reset drops them */
	vec lost = { 0 };
	feed_all(e, 2, s2 + l2 / 2, 200000, 1 << 20, &lost);
	free(lost.b);
	CHECK(lh_wan_enc_feed(e, 2, s2 + l2 / 2 + 200000, 100000) > 0);

	static size_t off0[MAXF];
	size_t n0 = frame_offsets(&f0, off0, MAXF);
	CHECK(n0 > 20 && n0 < MAXF);
	/* the bad frame: a DATA frame of VM 2, three quarters into epoch 0 */
	size_t bad = n0 * 3 / 4;
	while (bad < n0 && f0.b[off0[bad] + 3] != LH_FT_DATA)
		bad++;
	CHECK(bad < n0 && lh_be32(f0.b + off0[bad] + 4) == 2);

	/* the receiver decodes up to the bad frame: VM 1 arrives whole */
	lh_wan_dec *d = lh_wan_dec_create();
	vec outs[8] = { 0 };
	CHECK(decode_range(d, &f0, off0, 0, bad, outs) == 0);
	CHECK(outs[1].len == l1 && !memcmp(outs[1].b, s1, l1));
	CHECK(lh_wan_dec_open_streams(d) == 1); /* VM 2's stream, open at the error */
	uint32_t ids[4] = { 0 };
	CHECK(lh_wan_dec_stream_ids(d, ids, 4) == 1 && ids[0] == 2);
	lh_wan_frame_info pk;
	CHECK(lh_wan_frame_peek(f0.b + off0[bad], (size_t)frame_len(&f0, off0[bad]), &pk) == 0 &&
	      pk.type == LH_WAN_FRAME_DATA && pk.stream_id == 2 && pk.vm_id == 0);
	for (size_t i = 0; i < n0; i++)
		if (f0.b[off0[i] + 3] == LH_FT_OPEN && lh_be32(f0.b + off0[i] + 4) == 2)
			CHECK(lh_wan_frame_peek(f0.b + off0[i], (size_t)frame_len(&f0, off0[i]), &pk) == 0 &&
			      pk.type == LH_WAN_FRAME_OPEN && pk.vm_id == 200);
	long bl = frame_len(&f0, off0[bad]);
	uint8_t *badf = malloc((size_t)bl);
	memcpy(badf, f0.b + off0[bad], (size_t)bl);
	badf[LH_WAN_FRAME_HDR + (bl - LH_WAN_FRAME_HDR) / 2] ^= 0x5a;
	static uint8_t dst[LH_WAN_FRAME_RAW_MAX];
	if (lh_test_dec_ahead && lh_wan_dec_announce(d, badf, (size_t)bl) == 1) /* and the frames after it */
		for (size_t i = bad + 1; i < bad + 4 && i < n0; i++)
			lh_wan_dec_announce(d, f0.b + off0[i], (size_t)frame_len(&f0, off0[i]));
	CHECK(lh_wan_dec_frame(d, badf, (size_t)bl, dst, sizeof(dst), NULL) < 0);
	CHECK(lh_wan_dec_frame(d, f0.b + off0[bad + 1], (size_t)frame_len(&f0, off0[bad + 1]), dst, sizeof(dst), NULL) < 0);

	/* the barrier: both ends start epoch 1 */
	CHECK(lh_wan_dec_reset(d, 0) == -LH_E_PARAM);
	CHECK(lh_wan_dec_reset(d, 1) == 0);
	CHECK(lh_wan_dec_epoch(d) == 1 && lh_wan_dec_open_streams(d) == 0);
	CHECK(lh_wan_dec_reset(d, 1) == -LH_E_PARAM);
	CHECK(lh_wan_enc_reset(e, 1) == 0);
	CHECK(lh_wan_enc_epoch(e) == 1);
	CHECK(lh_wan_enc_reset(e, 1) == -LH_E_PARAM);
	CHECK(lh_wan_enc_pending(e) == 0);
	/* VM 2's stream ended with the old epoch: it must be opened again */
	CHECK(lh_wan_enc_feed(e, 2, s2, 4096) < 0);

	/* old-epoch frames never decode against the new store: refused, whatever they are */
	lh_wan_dec *d2 = lh_wan_dec_create();
	vec o2[8] = { 0 };
	CHECK(decode_range(d2, &f0, off0, 0, bad, o2) == 0);
	CHECK(lh_wan_dec_reset(d2, 1) == 0);
	CHECK(lh_wan_dec_frame(d2, f0.b + off0[bad + 1], (size_t)frame_len(&f0, off0[bad + 1]), dst, sizeof(dst), NULL) ==
	      -LH_E_STATE); /* a DATA frame of the old epoch, before the new HELLO */
	free_outs(o2);
	lh_wan_dec_free(d2);
	d2 = lh_wan_dec_create();
	CHECK(lh_wan_dec_reset(d2, 1) == 0);
	CHECK(lh_wan_dec_frame(d2, f0.b + off0[0], (size_t)frame_len(&f0, off0[0]), dst, sizeof(dst), NULL) ==
	      -LH_E_STATE); /* the old epoch's HELLO (epoch 0) */
	lh_wan_dec_free(d2);

	/* epoch 1: VM 2 again from its start, and VM 3 (VM 1's image again: refs and deltas in the new store) */
	vec f1 = { 0 };
	CHECK(lh_wan_enc_open(e, 2, 200, LH_CHAN_AUTO, "vm2 again") == 0);
	feed_all(e, 2, s2, l2, 1 << 20, &f1);
	CHECK(lh_wan_enc_end(e, 2, NULL) == 0);
	lh_wan_stats st3;
	CHECK(lh_wan_enc_open(e, 3, 300, LH_CHAN_AUTO, "vm3") == 0);
	feed_all(e, 3, s1, l1, 1 << 20, &f1);
	CHECK(lh_wan_enc_end(e, 3, &st3) == 0);
	pull_all(e, &f1);
	CHECK(st3.pages[LH_WAN_OP_REF] + st3.pages[LH_WAN_OP_DELTA_SIM] > 0);
	static size_t off1[MAXF];
	size_t n1 = frame_offsets(&f1, off1, MAXF);
	CHECK(n1 > 2 && n1 < MAXF);
	/* its first frame is the HELLO that names epoch 1 */
	CHECK(f1.b[3] == LH_FT_HELLO && lh_be32(f1.b + 8) == LH_HELLO_BODY_EPOCH);
	CHECK((lh_be32(f1.b + LH_WAN_FRAME_HDR + 8) & LH_HELLO_F_EPOCH) && lh_be32(f1.b + LH_WAN_FRAME_HDR + 12) == 1);
	/* a HELLO of another epoch is refused */
	lh_wan_dec *d3 = lh_wan_dec_create();
	CHECK(lh_wan_dec_reset(d3, 2) == 0);
	CHECK(lh_wan_dec_frame(d3, f1.b, (size_t)frame_len(&f1, 0), dst, sizeof(dst), NULL) == -LH_E_STATE);
	lh_wan_dec_free(d3);
	/* a decoder that never reset refuses it too (it has its HELLO; and an epoch HELLO is never a first one) */
	d3 = lh_wan_dec_create();
	CHECK(lh_wan_dec_frame(d3, f1.b, (size_t)frame_len(&f1, 0), dst, sizeof(dst), NULL) == -LH_E_STATE);
	lh_wan_dec_free(d3);

	/* the reset decoder and the reset encoder agree again: byte-identical streams */
	free_outs(outs);
	memset(outs, 0, sizeof(outs));
	CHECK(decode_range(d, &f1, off1, 0, n1, outs) == 0);
	CHECK(outs[2].len == l2 && !memcmp(outs[2].b, s2, l2));
	CHECK(outs[3].len == l1 && !memcmp(outs[3].b, s1, l1));
	CHECK(lh_wan_dec_open_streams(d) == 0);
	/* an old-epoch frame after the new epoch began: its stream is not open here */
	CHECK(lh_wan_dec_frame(d, f0.b + off0[bad + 1], (size_t)frame_len(&f0, off0[bad + 1]), dst, sizeof(dst), NULL) ==
	      -LH_E_CORRUPT);
	/* and a second reset (epoch 2) works the same way */
	CHECK(lh_wan_dec_reset(d, 2) == 0 && lh_wan_enc_reset(e, 2) == 0);
	vec f2 = { 0 };
	CHECK(lh_wan_enc_open(e, 4, 400, LH_CHAN_AUTO, "vm4") == 0);
	feed_all(e, 4, s2, l2 / 3, 1 << 20, &f2);
	CHECK(lh_wan_enc_end(e, 4, NULL) == 0);
	pull_all(e, &f2);
	static size_t off2[MAXF];
	size_t n2 = frame_offsets(&f2, off2, MAXF);
	free_outs(outs);
	memset(outs, 0, sizeof(outs));
	CHECK(decode_range(d, &f2, off2, 0, n2, outs) == 0);
	CHECK(outs[4].len == l2 / 3 && !memcmp(outs[4].b, s2, l2 / 3));

	free_outs(outs);
	free(badf);
	free(f0.b);
	free(f1.b);
	free(f2.b);
	lh_wan_dec_free(d);
	lh_wan_enc_free(e);
	free(s1);
	free(s2);
}

void test_wan_epoch(void);
void test_wan_epoch(void)
{
	test_epoch_reset();
}
