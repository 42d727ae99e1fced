/* SPDX-License-Identifier: MIT */
/* Encoder's map from (VM, RAM block, page offset) to the store slot holding that page's last version. */
#ifndef LH_LASTVER_H
#define LH_LASTVER_H

#include <stdint.h>
#include "pagestore.h"

/*
 * Two-way set-associative and lossy: a full set forgets its older entry,
 * which only costs a delta opportunity, never correctness (every delta
 * names its base slot explicitly). An entry is valid while its slot's
 * generation is unchanged, so evicted slots need no clean-up here.
 */
typedef struct {
	uint64_t key;   /* 0 = empty */
	uint32_t slot;
	uint32_t gen;
} lh_lastver_entry;

typedef struct {
	lh_lastver_entry *tab;
	uint32_t mask;
	/* one bit per key hash, set by lh_lastver_set and never cleared: a clear
	 * bit means the key was never set, answered from a table small enough to
	 * stay in cache (most pages of a first pass, and QEMU's zero pages, have
	 * no last version; looking them up missed the cache every time) */
	uint64_t *seen;
	uint32_t seen_mask;
} lh_lastver;

int lh_lastver_init(lh_lastver *lv, uint32_t nslots);
void lh_lastver_fini(lh_lastver *lv);
/* Prefaults the tables (see lh_store_commit). */
void lh_lastver_commit(lh_lastver *lv);
/* Key of a page: VM incarnation, block index inside that VM, page index in the block. */
static inline uint64_t lh_lastver_key(uint32_t vm_seq, uint32_t block, uint64_t page_index)
{
	return (uint64_t)(vm_seq & 0xFFFF) << 48 ^ (uint64_t)(block & 0x3FF) << 38 ^
	       (page_index & ((1ull << 38) - 1)) ^ 1ull << 63;
}
/* Slot holding the last version, or LH_STORE_NONE. */
uint32_t lh_lastver_get(const lh_lastver *lv, const lh_pagestore *st, uint64_t key);
void lh_lastver_set(lh_lastver *lv, uint64_t key, uint32_t slot, uint32_t gen);
void lh_lastver_drop(lh_lastver *lv, uint64_t key);

#endif
