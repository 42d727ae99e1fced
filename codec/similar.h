/* SPDX-License-Identifier: MIT */
/* Resemblance features of a page: pages that differ in a few bytes share most of them. */
#ifndef LH_SIMILAR_H
#define LH_SIMILAR_H

#include <stddef.h>
#include <stdint.h>

#define LH_SIM_RAW 8      /* min-hash features (bins of one permutation) */
#define LH_SIM_FEATURES 4 /* super-features, 2 features each */

/*
 * Each shingle s of the page (two consecutive aligned 8-byte words whose
 * second word is not zero) is hashed once; the hash puts it in one of
 * LH_SIM_RAW bins and gives it a value. Raw feature k is the largest value in
 * bin k (one-permutation min-hash). An edit changes feature k only when it
 * touches the shingle that held the maximum, or creates a new maximum, so a page with a
 * few edited words keeps most features of the page it came from, wherever
 * that page sits in guest memory. Repeats (zero runs, padding) count once.
 * Super-feature j combines raw features 2j and 2j+1; it is what the store
 * indexes. A value of 0 means "no feature" (an all-zero page has none).
 */
void lh_sim_features(const uint8_t *page, size_t n, uint32_t f[LH_SIM_FEATURES]);
/* The same, never vectorized: tests check that every variant gives the same features. */
void lh__sim_features_portable(const uint8_t *page, size_t n, uint32_t f[LH_SIM_FEATURES]);

#endif
