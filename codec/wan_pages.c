/* SPDX-License-Identifier: MIT */
/* Encoder page decisions: zero, exact reference, delta (previous version or similar page), literal. */
#include <string.h>
#include "delta.h"
#include "ptrrel.h"
#include "similar.h"
#include "wan_enc_internal.h"

#define PS LH_WAN_PAGE_SIZE
/* A delta must beat a quarter page to be chosen over the literal page, which zstd also shrinks:
 * a 1-2 KiB delta of scattered bytes compresses worse than the page itself with the session's
 * history (measured on the real captures: both VMs ~0.5 % smaller than with half a page). */
#define DELTA_LIMIT (PS / 4)
/* A delta this small is good enough: skip the search for a better base. */
#define DELTA_GOOD 64
#define SIM_CANDIDATES 2

static bool all_zero(const uint8_t *p)
{
	uint64_t acc = 0, w;
	for (size_t i = 0; i < PS; i += 64) {
		for (size_t j = 0; j < 64; j += 8) {
			memcpy(&w, p + i + j, 8);
			acc |= w;
		}
		if (acc)
			return false;
	}
	return true;
}

/*
 * Which section a literal page goes to. Random or already-compressed data is
 * not worth zstd, and zstd would spend time to learn that: 256 sampled bytes
 * of uniform random data hold ~162 distinct values, text and most binary data
 * far fewer. Machine code and pointer-rich structures (70..150) go to the B
 * stream, text and sparse data to Z (see wan_batch.c).
 */
static enc_lit_kind lit_kind(const lh_wan_enc *e, const uint8_t *p)
{
	/* one byte per value, written and never read back in the loop: a bitmap
	 * updated in place made every sample wait for the previous one's store
	 * (text samples all land in the same word), ~0.4 us per page */
	uint8_t seen[256] = { 0 };
	for (size_t i = 0; i < PS; i += PS / 256)
		seen[p[i]] = 1;
	int distinct = 0;
	for (int v = 0; v < 256; v++)
		distinct += seen[v];
	if (distinct > ENC_RANDOM_DISTINCT)
		return LIT_R;
	/* with zstd off (a CPU-bound link), Z goes raw: keep the pages there */
	return distinct >= ENC_BINARY_DISTINCT && lh__level_now(e) != 0 ? LIT_B : LIT_Z;
}

static void count(lh_wan_enc *e, enc_stream *s, lh_wan_op op, const uint8_t *page, size_t enc_len)
{
	e->stats.pages[op]++;
	s->stats.pages[op]++;
	if (op == LH_WAN_OP_DELTA_PREV || op == LH_WAN_OP_DELTA_SIM) {
		e->stats.delta_bytes[op - LH_WAN_OP_DELTA_PREV] += enc_len;
		s->stats.delta_bytes[op - LH_WAN_OP_DELTA_PREV] += enc_len;
	}
	if (e->trace)
		e->trace(e->trace_opaque, s->id, op, page, enc_len);
}

void lh__enc_page_gone(lh_wan_enc *e, uint64_t key)
{
	if (key)
		lh_lastver_drop(&e->lv, key);
}

int lh__enc_page(lh_wan_enc *e, enc_stream *s, uint64_t key, const uint8_t *page, uint64_t addr)
{
	lh_pagestore *st = &e->st;
	uint32_t feat[LH_SIM_FEATURES], cand[SIM_CANDIDATES];
	uint32_t base = LH_STORE_NONE, prev = LH_STORE_NONE;
	size_t best = 0;
	int cur = 0, r;

	if ((r = lh__batch_page_room(e, s)) < 0)
		return r;
	if (all_zero(page)) {
		lh__batch_zero(e);
		lh__enc_page_gone(e, key);
		count(e, s, LH_WAN_OP_ZERO, page, 0);
		return 0;
	}

	XXH128_hash_t h = XXH3_128bits(page, PS);
	uint32_t slot = lh_store_find(st, h.low64, h.high64, page);
	if (slot != LH_STORE_NONE) {
		lh__batch_ref(e, slot);
		lh_store_touch(st, slot);
		if (key)
			lh_lastver_set(&e->lv, key, slot, st->meta[slot].gen);
		count(e, s, LH_WAN_OP_REF, page, 0);
		return 0;
	}

	/* a new page: the best delta base, if any beats the literal. The features
	 * come first so that their table entries load while the previous version
	 * is tried. */
	lh_sim_features(page, PS, feat);
	if (e->resemblance)
		lh_store_prefetch_similar(st, feat);
	if (key && e->delta_prev)
		prev = lh_lastver_get(&e->lv, st, key);
	if (prev != LH_STORE_NONE) {
		best = lh_delta_encode(lh_store_page(st, prev), page, PS, e->dbuf[cur], DELTA_LIMIT);
		if (best) {
			base = prev;
			cur ^= 1;
		}
	}
	if (e->resemblance && (!best || best > DELTA_GOOD)) {
		int n = lh_store_similar(st, feat, cand, SIM_CANDIDATES);
		for (int i = 0; i < n; i++) {
			if (cand[i] == prev)
				continue;
			size_t lim = best ? best : DELTA_LIMIT;
			size_t d = lh_delta_encode(lh_store_page(st, cand[i]), page, PS, e->dbuf[cur], lim);
			if (d && (!best || d < best)) {
				best = d;
				base = cand[i];
				cur ^= 1;
			}
		}
	}

	/* the new page gets a slot on both sides; the delta (if any) is already computed,
	 * so the victim may even be its base: the decoder applies before it stores */
	uint32_t dst = lh_store_victim(st);
	lh_store_put(st, dst, page, h.low64, h.high64, feat);
	if (base != LH_STORE_NONE) {
		lh__batch_delta(e, base, dst, e->dbuf[cur ^ 1], best);
		if (base != dst)
			lh_store_touch(st, base);
		count(e, s, base == prev ? LH_WAN_OP_DELTA_PREV : LH_WAN_OP_DELTA_SIM, page, best);
	} else {
		enc_lit_kind kind = lit_kind(e, page);
		/* RAM block offsets are guest-physical addresses for the main RAM block of x86 guests,
		 * which is where kernel structures live; elsewhere the transform is exact but gains less */
		int64_t pfn = -1;
		if (e->ptr_rel && kind != LIT_R && lh_ptr_count(page) >= ENC_PTR_MIN_WORDS) {
			pfn = (int64_t)(addr / PS);
			e->stats.ptr_rel_pages++;
			s->stats.ptr_rel_pages++;
		}
		lh__batch_literal(e, dst, page, kind, pfn);
		count(e, s, kind == LIT_R ? LH_WAN_OP_LITERAL_RAW : LH_WAN_OP_LITERAL, page, PS);
	}
	if (key)
		lh_lastver_set(&e->lv, key, dst, st->meta[dst].gen);
	return 0;
}
