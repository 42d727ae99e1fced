/* SPDX-License-Identifier: MIT */
/* Unit tests of the WAN encoding's page transforms: pointer-relative pages and predicted record headers. */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include "be.h"
#include "frame.h"
#include "lh_wan.h"
#include "ptrrel.h"
#include "similar.h"
#include "synth.h"
#include "wan_harness.h"

#define PS 4096

static void put_word(uint8_t *p, size_t i, uint64_t w) { memcpy(p + 8 * i, &w, 8); }
static uint64_t get_word(const uint8_t *p, size_t i)
{
	uint64_t w;
	memcpy(&w, p + 8 * i, 8);
	return w;
}

/* The transform is a bijection that moves only words inside the direct-map region, and keeps them there. */
static void test_ptrrel_transform(void)
{
	uint8_t page[PS], t[PS];
	uint64_t r = 42;
	const uint64_t B = LH_PTR_REGION_BASE, M = LH_PTR_REGION_MASK;
	for (size_t i = 0; i < PS / 8; i++)
		put_word(page, i, synth_rand(&r));
	/* region words, its edges included, and neighbours just outside it */
	const uint64_t inside[] = { B, B + M, B + 0x1234008, B + 7 * PS + 8, B + M - 5 };
	for (size_t i = 0; i < 5; i++)
		put_word(page, 10 * i, inside[i]);
	put_word(page, 60, B - 1);
	put_word(page, 61, B + M + 1);
	size_t n = lh_ptr_count(page);
	CHECK(n >= 5);
	const uint64_t pfns[] = { 0, 7, 0x3ffff, UINT64_MAX / PS, 1ull << 40 };
	for (size_t k = 0; k < 5; k++) {
		memcpy(t, page, PS);
		lh_ptr_to_rel(t, pfns[k]);
		CHECK(lh_ptr_count(t) == n);
		for (size_t i = 0; i < PS / 8; i++) {
			uint64_t w = get_word(page, i);
			if (w - B > M)
				CHECK(get_word(t, i) == w);
		}
		lh_ptr_from_rel(t, pfns[k]);
		CHECK(memcmp(t, page, PS) == 0);
	}
	/* a self pointer becomes a small offset */
	memcpy(t, page, PS);
	lh_ptr_to_rel(t, 7);
	CHECK(get_word(t, 30) == B + 8);
}

/* Encodes one synthetic stream with one parameter set to v; decodes and compares. */
static uint64_t encode_with(const uint8_t *s, size_t len, lh_wan_param p, int64_t v, lh_wan_stats *st)
{
	vec frames = { 0 }, outs[8] = { 0 };
	lh_wan_enc *e = test_enc_create();
	CHECK(lh_wan_enc_set_param(e, p, v) == 0);
	CHECK(lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, "vm") == 0);
	feed_all(e, 1, s, len, 100000, &frames);
	CHECK(lh_wan_enc_end(e, 1, st) == 0);
	pull_all(e, &frames);
	CHECK(lh_wan_enc_set_param(e, p, v) == -LH_E_STATE); /* announced in HELLO: frozen */
	lh_wan_enc_free(e);
	CHECK(decode_all(&frames, outs, NULL) == 0);
	CHECK(outs[1].len == len && memcmp(outs[1].b, s, len) == 0);
	uint64_t size = frames.len;
	free_outs(outs);
	free(frames.b);
	return size;
}

static void test_ptrrel_stream(void)
{
	synth_cfg c;
	synth_default(&c);
	c.pointer_frac = 0.4;
	uint8_t *s;
	size_t len = synth_stream(&c, &s);
	lh_wan_stats on, off;
	uint64_t a = encode_with(s, len, LH_WAN_P_PTR_REL, 1, &on), b = encode_with(s, len, LH_WAN_P_PTR_REL, 0, &off);
	printf("pointer-relative pages: %llu of them, %llu -> %llu bytes\n", (unsigned long long)on.ptr_rel_pages,
	       (unsigned long long)b, (unsigned long long)a);
	CHECK(on.ptr_rel_pages > 0 && off.ptr_rel_pages == 0);
	CHECK(a < b * 9 / 10); /* the objects differ only in their own address: relative, they repeat */
	free(s);
}

static void test_record_headers_stream(void)
{
	synth_cfg c;
	synth_default(&c);
	uint8_t *s;
	size_t len = synth_stream(&c, &s);
	lh_wan_stats on, off;
	uint64_t a = encode_with(s, len, LH_WAN_P_REC_HDR, 1, &on), b = encode_with(s, len, LH_WAN_P_REC_HDR, 0, &off);
	printf("record headers: %llu predicted, %llu sent as HDR, %llu -> %llu bytes\n",
	       (unsigned long long)on.rec_predicted, (unsigned long long)on.rec_explicit, (unsigned long long)b,
	       (unsigned long long)a);
	/* the first pass is in address order; later rounds re-send scattered pages */
	CHECK(on.rec_predicted > c.pages / 2 && on.rec_explicit > 0);
	CHECK(off.rec_predicted == 0 && off.rec_explicit == 0);
	CHECK(a < b);
	free(s);
}

#define F_NEW (LH_HELLO_F_PTRREL | LH_HELLO_F_RECHDR)
#define OPS(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static void test_transform_ops_bad(void)
{
	static uint8_t z[2 * PS + 16];
	/* not announced in HELLO */
	CHECK(hand_data_flags(0, OPS(LH_OP_PAGEZP, 0, 5), z, PS, PS, NULL) == -LH_E_CORRUPT);
	CHECK(hand_data_flags(0, OPS(LH_OP_HDR, 0, 0, 0x28), z, 0, 8, NULL) == -LH_E_CORRUPT);
	CHECK(hand_data_flags(0, OPS(LH_OP_ZREC, 1), z, 0, 9, NULL) == -LH_E_CORRUPT);
	CHECK(hand_data_flags(0, OPS(LH_OP_REF | LH_OP_F_HDR, 0), z, 0, 8 + PS, NULL) == -LH_E_CORRUPT);
	/* the header flag on ops that carry no page, or none at all */
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_LIT | LH_OP_F_HDR, 1), z, 1, 9, NULL) == -LH_E_CORRUPT);
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_ZERO | LH_OP_F_HDR, 1), z, 0, 8 + PS, NULL) == -LH_E_CORRUPT);
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_HDR | LH_OP_F_HDR, 0, 0, 0), z, 0, 16, NULL) == -LH_E_CORRUPT);
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_ZREC | LH_OP_F_HDR, 1), z, 0, 17, NULL) == -LH_E_CORRUPT);
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_F_HDR), z, 0, 8, NULL) == -LH_E_CORRUPT);
	CHECK(hand_data_flags(F_NEW, OPS(0xFF, 0), z, 0, 8, NULL) == -LH_E_CORRUPT);
	/* HDR: unknown kind, truncated, flags that reach into the offset */
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_HDR, 2, 0, 0), z, 0, 8, NULL) == -LH_E_CORRUPT);
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_HDR), z, 0, 8, NULL) == -LH_E_CORRUPT);
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_HDR, 0, 0), z, 0, 8, NULL) == -LH_E_CORRUPT);
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_HDR, 0, 0, 0x80, 0x20), z, 0, 8, NULL) == -LH_E_CORRUPT);
	/* lying lengths: ZREC runs of 0, past the output, absurd; a header with no room for its page */
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_ZREC, 0), z, 0, 0, NULL) == -LH_E_BAD_LENGTH);
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_ZREC, 2), z, 0, 9, NULL) == -LH_E_BAD_LENGTH);
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_ZREC, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F), z, 0, 1 << 20, NULL) ==
	      -LH_E_BAD_LENGTH);
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_REF | LH_OP_F_HDR, 0), z, 0, PS, NULL) == -LH_E_BAD_LENGTH);
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_HDR, 0, 0, 0x28), z, 0, 4, NULL) == -LH_E_BAD_LENGTH);
	/* PAGEZP without its page frame number */
	CHECK(hand_data_flags(F_NEW, OPS(LH_OP_PAGEZP, 0), z, PS, PS, NULL) == -LH_E_CORRUPT);
}

/* A hand-made frame with every new op; the output must be exactly the records QEMU would have sent. */
static void test_transform_ops_exact(void)
{
	static uint8_t z[2 * PS + 1], want[3 * PS + 64], page[PS];
	uint8_t *w = want;
	memset(z, 'A', PS);
	z[PS] = 0; /* the explicit zero record's fill byte */
	for (size_t i = 0; i < PS / 8; i++)
		put_word(page, i, i % 3 ? LH_PTR_REGION_BASE + 3 * PS + 8 * i : 0x1122334455667788ull * i);
	memcpy(z + PS + 1, page, PS);
	lh_ptr_to_rel(z + PS + 1, 3);

	w = lh_put64(w, 0x5028); /* HDR page: predicted 0x1000, 4 pages further, flags 0x28 */
	memset(w, 'A', PS);
	w += PS;
	w = lh_put64(w, 0x6028); /* predicted on REF */
	memset(w, 'A', PS);
	w += PS;
	w = lh_put64(w, 0x7022); /* HDR zero record: predicted offset, flags 0x22; fill from Z */
	*w++ = 0;
	w = lh_put64(w, 0x8022); /* ZREC 2 */
	*w++ = 0;
	w = lh_put64(w, 0x9022);
	*w++ = 0;
	w = lh_put64(w, 0xA028); /* predicted on PAGEZP: page flags are remembered per kind */
	memcpy(w, page, PS);
	w += PS;

	vec out = { 0 };
	long r = hand_data_flags(F_NEW,
				 OPS(LH_OP_HDR, LH_REC_PAGE, 8, 0x28, LH_OP_PAGEZ, 0, LH_OP_REF | LH_OP_F_HDR, 0,
				     LH_OP_HDR, LH_REC_ZERO, 0, 0x22, LH_OP_LIT, 1, LH_OP_ZREC, 2,
				     LH_OP_PAGEZP | LH_OP_F_HDR, 0, 3),
				 z, sizeof(z), (uint32_t)(w - want), &out);
	CHECK(r == 0);
	CHECK(out.len == (size_t)(w - want) && memcmp(out.b, want, out.len) == 0);
	free(out.b);
}

/* The vectorized resemblance features equal the portable ones, for any page and length (the encoder's
 * output must not depend on the CPU). */
static void test_features_portable(void)
{
	static uint8_t page[PS];
	uint64_t r = 7;
	for (int t = 0; t < 400; t++) {
		int kind = t % 4;
		for (size_t i = 0; i < PS / 8; i++) {
			uint64_t w = synth_rand(&r);
			if (kind == 1) /* sparse: mostly zero words */
				w = (w & 7) ? 0 : w;
			else if (kind == 2) /* pointer-like and small values */
				w = (w & 1) ? LH_PTR_REGION_BASE + (w & 0xffff8) : w & 0xff;
			else if (kind == 3) /* one word repeated, a few edits */
				w = (w & 63) ? 0x0123456789abcdefull : w;
			put_word(page, i, w);
		}
		const size_t lens[] = { PS, PS - 8, 8 * 65, 8 * 9, 8 * 8, 16, 8 };
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			uint32_t a[LH_SIM_FEATURES], b[LH_SIM_FEATURES];
			lh_sim_features(page, lens[l], a);
			lh__sim_features_portable(page, lens[l], b);
			CHECK(memcmp(a, b, sizeof(a)) == 0);
		}
	}
}

/* One DATA frame with the given flags and section lengths after a HELLO with hello_flags; Z is
 * zstd -1 of zraw (which holds the ops at its end when DATA flag OPSZ is set). */
static long opsz_frame(uint32_t hello_flags, uint8_t data_flags, uint64_t ops_len, const uint8_t *zraw,
		       size_t zraw_len, uint32_t raw, vec *out)
{
	static uint8_t z[8192], body[8192];
	size_t zl = ZSTD_compress(z, sizeof(z), zraw, zraw_len, 1);
	uint8_t *p = body;
	vec v = { 0 };
	*p++ = data_flags;
	p = lh_varint_put(p, ops_len);
	p = lh_varint_put(p, zraw_len);
	p = lh_varint_put(p, zl);
	p = lh_varint_put(p, 0);
	memcpy(p, z, zl);
	hand_session_flags(&v, 16, hello_flags);
	hand_frame(&v, LH_FT_DATA, 1, body, (uint32_t)(p - body + zl), raw);
	long r = decode_frames(&v, out);
	free(v.b);
	return r;
}

/* Ops inside Z: the last ops_len bytes of the decompressed section. */
static void test_ops_in_z(void)
{
	/* Z = 100 literal bytes, then the ops: LIT 100, ZERO 1 */
	uint8_t zraw[104];
	for (int i = 0; i < 100; i++)
		zraw[i] = (uint8_t)('a' + i % 26);
	zraw[100] = LH_OP_LIT, zraw[101] = 100, zraw[102] = LH_OP_ZERO, zraw[103] = 1;
	const uint8_t f = LH_DATA_F_ZSTD | LH_DATA_F_OPSZ;
	vec out = { 0 };
	CHECK(opsz_frame(LH_HELLO_F_OPSZ, f, 4, zraw, 104, 100 + PS, &out) == 0);
	CHECK(out.len == 100 + PS && memcmp(out.b, zraw, 100) == 0 && out.b[100 + PS - 1] == 0);
	free(out.b);
	/* not announced; not zstd; ops longer than Z; more ops than a frame may have; Z past the output */
	CHECK(opsz_frame(0, f, 4, zraw, 104, 100 + PS, NULL) == -LH_E_CORRUPT);
	CHECK(opsz_frame(LH_HELLO_F_OPSZ, LH_DATA_F_OPSZ, 4, zraw, 104, 100 + PS, NULL) == -LH_E_CORRUPT);
	CHECK(opsz_frame(LH_HELLO_F_OPSZ, f, 105, zraw, 104, 100 + PS, NULL) == -LH_E_BAD_LENGTH);
	CHECK(opsz_frame(LH_HELLO_F_OPSZ, f, LH_WAN_OPS_MAX + 1, zraw, 104, 100 + PS, NULL) == -LH_E_BAD_LENGTH);
	CHECK(opsz_frame(LH_HELLO_F_OPSZ, f, 4, zraw, 104, 90, NULL) == -LH_E_BAD_LENGTH);
	/* ops that do not read all of the rest of Z */
	zraw[101] = 99;
	CHECK(opsz_frame(LH_HELLO_F_OPSZ, f, 4, zraw, 104, 99 + PS, NULL) == -LH_E_BAD_LENGTH);
}

void test_wan_transforms(void)
{
	test_ops_in_z();
	test_features_portable();
	test_ptrrel_transform();
	test_ptrrel_stream();
	test_record_headers_stream();
	test_transform_ops_bad();
	test_transform_ops_exact();
}
