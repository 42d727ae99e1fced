/* SPDX-License-Identifier: MIT */
/* The page store: slots of page data, mirrored on both gateways; the encoder's side also indexes it. */
#ifndef LH_PAGESTORE_H
#define LH_PAGESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "similar.h"

#define LH_STORE_NONE UINT32_MAX

typedef struct {
	uint64_t hash_lo, hash_hi;   /* XXH3-128 of the content */
	uint32_t gen;                /* bumped on every store into the slot; 0 = never used */
	uint32_t next;               /* exact-index chain */
	uint32_t feat[LH_SIM_FEATURES];
	uint8_t ref;                 /* CLOCK reference bit */
} lh_slot_meta;

typedef struct {
	uint32_t nslots;
	uint8_t *data;               /* nslots * LH_WAN_PAGE_SIZE */
	/* encoder only (NULL on the decoder) */
	lh_slot_meta *meta;
	uint32_t *bucket, bucket_mask; /* exact index: heads of chains by hash_lo */
	uint32_t *ftab, fmask;       /* LH_SIM_FEATURES direct-mapped tables: feature -> slot + 1 */
	uint32_t hand;               /* CLOCK hand */
} lh_pagestore;

/*
 * Zeroed memory committed when touched, in 2 MiB pages where the kernel
 * allows (MADV_HUGEPAGE). For the store and for every table or ring of a few
 * MiB that a session touches all over: on this VM a 4 KiB fault costs ~2 us,
 * and the encoder's tables and ring took ~6700 of them per session.
 * NULL when out of memory; free with lh_big_free and the same size.
 */
void *lh_big_zalloc(size_t n);
void lh_big_free(void *p, size_t n);
/* Commits (prefaults) n bytes from lh_big_zalloc: the kernel zeroes them now, not at first touch. */
void lh_big_commit(void *p, size_t n);

/* Allocates a store of nslots pages; with_index for the encoder. 0 or LH_E_NOMEM. */
int lh_store_init(lh_pagestore *st, uint32_t nslots, bool with_index);
void lh_store_fini(lh_pagestore *st);
/* Commits the store's data and index now (the kernel zeroes them here, not on first write). */
void lh_store_commit(lh_pagestore *st);

static inline uint8_t *lh_store_page(const lh_pagestore *st, uint32_t slot)
{
	return st->data + (size_t)slot * 4096u;
}

/* Slot holding exactly page (hash + byte compare), or LH_STORE_NONE. */
uint32_t lh_store_find(const lh_pagestore *st, uint64_t hlo, uint64_t hhi, const uint8_t *page);
/* Picks the slot for a new page (CLOCK: skips recently used slots once) and
 * drops its old content from the indexes. Deterministic. */
uint32_t lh_store_victim(lh_pagestore *st);
/* Copies a page into store memory (dst: a slot, 16-byte aligned), with
 * streaming stores: call lh_store_fence() before returning to the caller. */
void lh_store_write(uint8_t *dst, const uint8_t *page);
void lh_store_fence(void);
/* Stores page into slot (from lh_store_victim) and indexes it. */
void lh_store_put(lh_pagestore *st, uint32_t slot, const uint8_t *page, uint64_t hlo, uint64_t hhi,
		  const uint32_t feat[LH_SIM_FEATURES]);
static inline void lh_store_touch(lh_pagestore *st, uint32_t slot) { st->meta[slot].ref = 1; }
/* Starts loading the feature-table entries lh_store_similar will read (they miss the cache). */
static inline void lh_store_prefetch_similar(const lh_pagestore *st, const uint32_t feat[LH_SIM_FEATURES])
{
	for (int k = 0; k < LH_SIM_FEATURES; k++)
		__builtin_prefetch(&st->ftab[(size_t)k * (st->fmask + 1) + (feat[k] & st->fmask)]);
}
/* Up to max slots sharing features with feat, most shared first. Returns their number. */
int lh_store_similar(const lh_pagestore *st, const uint32_t feat[LH_SIM_FEATURES], uint32_t *out, int max);

#endif
