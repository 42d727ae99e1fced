/* SPDX-License-Identifier: MIT */
/* Page store slots, the exact-content index, the resemblance index and CLOCK eviction. */
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include "lh_errors.h"
#include "lh_wan.h"
#include "pagestore.h"
#if defined(__x86_64__) || defined(__SSE2__)
#include <emmintrin.h>
#endif

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

/* The store fills slot by slot: one fault per 2 MiB instead of per 4 KiB is a
 * visible share of encode and decode time. */
void *lh_big_zalloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, n, MADV_HUGEPAGE); /* a hint: failure is harmless */
	return p;
}

void lh_big_free(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

static size_t meta_bytes(const lh_pagestore *st) { return (size_t)st->nslots * sizeof(*st->meta); }
static size_t bucket_bytes(const lh_pagestore *st) { return ((size_t)st->bucket_mask + 1) * sizeof(uint32_t); }
static size_t ftab_bytes(const lh_pagestore *st)
{
	return ((size_t)st->fmask + 1) * LH_SIM_FEATURES * sizeof(uint32_t);
}

int lh_store_init(lh_pagestore *st, uint32_t nslots, bool with_index)
{
	memset(st, 0, sizeof(*st));
	st->nslots = nslots;
	st->data = lh_big_zalloc((size_t)nslots * LH_WAN_PAGE_SIZE);
	if (!st->data)
		goto nomem;
	if (!with_index)
		return 0;
	uint32_t nb = pow2_at_least(nslots);
	uint32_t nf = pow2_at_least(nslots); /* direct-mapped, the newest page wins */
	st->bucket_mask = nb - 1;
	st->fmask = nf - 1;
	st->meta = lh_big_zalloc(meta_bytes(st));
	st->bucket = lh_big_zalloc(bucket_bytes(st));
	st->ftab = lh_big_zalloc(ftab_bytes(st));
	if (!st->meta || !st->bucket || !st->ftab)
		goto nomem;
	memset(st->bucket, 0xFF, bucket_bytes(st));
	return 0;
nomem:
	lh_store_fini(st);
	return -LH_E_NOMEM;
}

void lh_store_fini(lh_pagestore *st)
{
	lh_big_free(st->data, (size_t)st->nslots * LH_WAN_PAGE_SIZE);
	lh_big_free(st->meta, meta_bytes(st));
	lh_big_free(st->bucket, bucket_bytes(st));
	lh_big_free(st->ftab, ftab_bytes(st));
	memset(st, 0, sizeof(*st));
}

void lh_big_commit(void *p, size_t n)
{
	if (!p)
		return;
#ifdef MADV_POPULATE_WRITE
	if (madvise(p, n, MADV_POPULATE_WRITE) == 0)
		return;
	/* Out of memory: leave the rest to be committed as it fills, as without
	 * STORE_COMMIT, rather than touch pages into the OOM killer's hands. */
	if (errno != EINVAL)
		return;
#endif
	/* kernels before 5.14: touch one byte per 4 KiB page (the memory is all-zero already) */
	for (size_t i = 0; i < n; i += 4096)
		((volatile uint8_t *)p)[i] = 0;
}

void lh_store_commit(lh_pagestore *st)
{
	lh_big_commit(st->data, (size_t)st->nslots * LH_WAN_PAGE_SIZE);
	if (st->meta) {
		lh_big_commit(st->meta, meta_bytes(st));
		lh_big_commit(st->ftab, ftab_bytes(st));
	}
}

uint32_t lh_store_find(const lh_pagestore *st, uint64_t hlo, uint64_t hhi, const uint8_t *page)
{
	for (uint32_t s = st->bucket[hlo & st->bucket_mask]; s != LH_STORE_NONE; s = st->meta[s].next) {
		const lh_slot_meta *m = &st->meta[s];
		/* the byte compare makes a hash collision harmless */
		if (m->hash_lo == hlo && m->hash_hi == hhi &&
		    !memcmp(lh_store_page(st, s), page, LH_WAN_PAGE_SIZE))
			return s;
	}
	return LH_STORE_NONE;
}

static void unlink_exact(lh_pagestore *st, uint32_t slot)
{
	uint32_t *pp = &st->bucket[st->meta[slot].hash_lo & st->bucket_mask];
	while (*pp != LH_STORE_NONE) {
		if (*pp == slot) {
			*pp = st->meta[slot].next;
			return;
		}
		pp = &st->meta[*pp].next;
	}
}

uint32_t lh_store_victim(lh_pagestore *st)
{
	for (;;) {
		uint32_t s = st->hand;
		st->hand = s + 1 == st->nslots ? 0 : s + 1;
		lh_slot_meta *m = &st->meta[s];
		if (m->ref) {
			m->ref = 0; /* second chance */
			continue;
		}
		if (m->gen)
			unlink_exact(st, s);
		/* stale feature-table entries are caught by the feature check in lh_store_similar */
		return s;
	}
}

void lh_store_write(uint8_t *dst, const uint8_t *page)
{
#if (defined(__x86_64__) || defined(__SSE2__)) && !defined(LH_NO_NT_STORE)
	/* Streaming stores: the store is written once and read rarely (a reference's
	 * byte compare, a delta base), so its 4 KiB should neither evict the zstd
	 * tables and the pages being compressed from the cache nor be read in first.
	 * This thread's own loads see them in program order; lh_store_fence() before
	 * returning to the caller orders them for any other thread. */
	for (size_t i = 0; i < LH_WAN_PAGE_SIZE; i += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)(page + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(page + i + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(page + i + 32));
		__m128i d = _mm_loadu_si128((const __m128i *)(page + i + 48));
		_mm_stream_si128((__m128i *)(dst + i), a);
		_mm_stream_si128((__m128i *)(dst + i + 16), b);
		_mm_stream_si128((__m128i *)(dst + i + 32), c);
		_mm_stream_si128((__m128i *)(dst + i + 48), d);
	}
#else
	memcpy(dst, page, LH_WAN_PAGE_SIZE);
#endif
}

void lh_store_fence(void)
{
#if (defined(__x86_64__) || defined(__SSE2__)) && !defined(LH_NO_NT_STORE)
	_mm_sfence();
#endif
}

void lh_store_put(lh_pagestore *st, uint32_t slot, const uint8_t *page, uint64_t hlo, uint64_t hhi,
		  const uint32_t feat[LH_SIM_FEATURES])
{
	lh_slot_meta *m = &st->meta[slot];
	lh_store_write(lh_store_page(st, slot), page);
	m->hash_lo = hlo;
	m->hash_hi = hhi;
	m->gen++;
	if (!m->gen)
		m->gen = 1;
	m->ref = 0;
	uint32_t *head = &st->bucket[hlo & st->bucket_mask];
	m->next = *head;
	*head = slot;
	for (int k = 0; k < LH_SIM_FEATURES; k++) {
		m->feat[k] = feat[k];
		if (feat[k])
			st->ftab[(size_t)k * (st->fmask + 1) + (feat[k] & st->fmask)] = slot + 1;
	}
}

int lh_store_similar(const lh_pagestore *st, const uint32_t feat[LH_SIM_FEATURES], uint32_t *out, int max)
{
	uint32_t cand[LH_SIM_FEATURES];
	int votes[LH_SIM_FEATURES], n = 0;

	for (int k = 0; k < LH_SIM_FEATURES; k++) {
		if (!feat[k])
			continue;
		uint32_t v = st->ftab[(size_t)k * (st->fmask + 1) + (feat[k] & st->fmask)];
		if (!v)
			continue;
		uint32_t s = v - 1;
		if (!st->meta[s].gen || st->meta[s].feat[k] != feat[k])
			continue; /* overwritten since */
		int i;
		for (i = 0; i < n && cand[i] != s; i++)
			;
		if (i == n) {
			cand[n] = s;
			votes[n++] = 0;
		}
		votes[i]++;
	}
	int got = 0;
	while (got < max && n > 0) {
		int b = 0;
		for (int i = 1; i < n; i++)
			if (votes[i] > votes[b])
				b = i;
		out[got++] = cand[b];
		cand[b] = cand[n - 1];
		votes[b] = votes[--n];
	}
	return got;
}
