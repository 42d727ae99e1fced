/* SPDX-License-Identifier: MIT */
/* Last-version map (see lastver.h). */
#include <stdlib.h>
#include "lastver.h"
#include "lh_errors.h"

static inline uint32_t set_of(const lh_lastver *lv, uint64_t key)
{
	uint64_t h = key * 0x9E3779B97F4A7C15ull;
	return (uint32_t)(h >> 32) & lv->mask & ~1u;
}

static inline uint32_t seen_bit(const lh_lastver *lv, uint64_t key)
{
	return (uint32_t)((key * 0xC2B2AE3D27D4EB4Full) >> 32) & lv->seen_mask;
}

static inline int maybe_set(const lh_lastver *lv, uint64_t key)
{
	uint32_t b = seen_bit(lv, key);
	return (int)(lv->seen[b >> 6] >> (b & 63)) & 1;
}

static size_t seen_bytes(const lh_lastver *lv) { return ((size_t)lv->seen_mask + 1) / 8; }

int lh_lastver_init(lh_lastver *lv, uint32_t nslots)
{
	uint32_t n = 2;
	while (n < nslots * 2u && n < (1u << 30))
		n <<= 1;
	lv->tab = lh_big_zalloc((size_t)n * sizeof(*lv->tab));
	lv->mask = n - 1;
	/* 4 bits per slot, at least 64 */
	uint32_t bits = 64;
	while (bits < nslots * 4u && bits < (1u << 30))
		bits <<= 1;
	lv->seen_mask = bits - 1;
	lv->seen = lh_big_zalloc(seen_bytes(lv));
	return lv->tab && lv->seen ? 0 : -LH_E_NOMEM;
}

void lh_lastver_commit(lh_lastver *lv)
{
	lh_big_commit(lv->tab, ((size_t)lv->mask + 1) * sizeof(*lv->tab));
	lh_big_commit(lv->seen, seen_bytes(lv));
}

void lh_lastver_fini(lh_lastver *lv)
{
	if (lv->tab)
		lh_big_free(lv->tab, ((size_t)lv->mask + 1) * sizeof(*lv->tab));
	if (lv->seen)
		lh_big_free(lv->seen, seen_bytes(lv));
	lv->tab = NULL;
	lv->seen = NULL;
}

uint32_t lh_lastver_get(const lh_lastver *lv, const lh_pagestore *st, uint64_t key)
{
	if (!maybe_set(lv, key))
		return LH_STORE_NONE;
	const lh_lastver_entry *e = &lv->tab[set_of(lv, key)];
	for (int i = 0; i < 2; i++)
		if (e[i].key == key)
			return st->meta[e[i].slot].gen == e[i].gen ? e[i].slot : LH_STORE_NONE;
	return LH_STORE_NONE;
}

void lh_lastver_set(lh_lastver *lv, uint64_t key, uint32_t slot, uint32_t gen)
{
	uint32_t b = seen_bit(lv, key);
	lv->seen[b >> 6] |= 1ull << (b & 63);
	lh_lastver_entry *e = &lv->tab[set_of(lv, key)];
	if (e[0].key != key) {
		lh_lastver_entry t = e[0];
		if (e[1].key == key) {
			e[0] = e[1]; /* most recent first */
			e[1] = t;
		} else {
			e[1] = t; /* the older entry of a full set is forgotten */
			e[0].key = key;
		}
	}
	e[0].slot = slot;
	e[0].gen = gen;
}

void lh_lastver_drop(lh_lastver *lv, uint64_t key)
{
	if (!maybe_set(lv, key))
		return;
	lh_lastver_entry *e = &lv->tab[set_of(lv, key)];
	for (int i = 0; i < 2; i++)
		if (e[i].key == key)
			e[i].key = 0;
}
