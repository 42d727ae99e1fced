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

int lh_lastver_init(lh_lastver *lv, uint32_t nslots)
{
	uint32_t n = 2;
	while (n < nslots * 2u && n < (1u << 30))
		n <<= 1;
	lv->tab = lh_big_zalloc((size_t)n * sizeof(*lv->tab));
	lv->mask = n - 1;
	return lv->tab ? 0 : -LH_E_NOMEM;
}

void lh_lastver_fini(lh_lastver *lv)
{
	if (lv->tab)
		lh_big_free(lv->tab, ((size_t)lv->mask + 1) * sizeof(*lv->tab));
	lv->tab = NULL;
}

uint32_t lh_lastver_get(const lh_lastver *lv, const lh_pagestore *st, uint64_t key)
{
	const lh_lastver_entry *e = &lv->tab[set_of(lv, key)];
	for (int i = 0; i < 2; i++)
		if (e[i].key == key)
			return st->meta[e[i].slot].gen == e[i].gen ? e[i].slot : LH_STORE_NONE;
	return LH_STORE_NONE;
}

void lh_lastver_set(lh_lastver *lv, uint64_t key, uint32_t slot, uint32_t gen)
{
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
	lh_lastver_entry *e = &lv->tab[set_of(lv, key)];
	for (int i = 0; i < 2; i++)
		if (e[i].key == key)
			e[i].key = 0;
}
