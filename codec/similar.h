/* SPDX-License-Identifier: MIT */
/* Resemblance features of a page: pages that differ in a few bytes share most of them. */
#ifndef LH_SIMILAR_H
#define LH_SIMILAR_H

#include <stddef.h>
#include <stdint.h>

#define LH_SIM_RAW 6      /* min-hash features */
#define LH_SIM_FEATURES 3 /* super-features, 2 features each */

/*
 * Raw feature k is the largest value of h_k(s) over the page's shingles s
 * (two consecutive aligned 8-byte words; only the content-defined quarter
 * whose shingle hash has its top two bits clear), for independent hash functions h_k
 * (a min-hash sketch). An edit changes feature k only when it touches the
 * shingle that held the maximum, or creates a new maximum, so a page with a
 * few edited words keeps most features of the page it came from, wherever
 * that page sits in guest memory. Repeats (zero runs, padding) count once.
 * Super-feature j combines raw features 2j and 2j+1; it is what the store
 * indexes. A value of 0 means "no feature" (an all-zero page has none).
 */
void lh_sim_features(const uint8_t *page, size_t n, uint32_t f[LH_SIM_FEATURES]);

#endif
