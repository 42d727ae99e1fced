/* SPDX-License-Identifier: MIT */
/* One-permutation min-hash features over the word shingles of a page, grouped into super-features (see similar.h). */
#include <string.h>
#include "similar.h"

_Static_assert(LH_SIM_RAW == 8, "a shingle's top 3 hash bits pick its bin");

static inline uint32_t load32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/*
 * The maxima, in 32-bit lanes so that the compiler vectorizes the loop
 * (8 shingles per AVX2 instruction): ~0.5 us per page, where one 64-bit
 * multiply per sampled shingle and feature took ~1.0-1.4 us (~9 % of the
 * zstd time of a first VM's encode).
 * Every variant computes the same integers: the encoder's output does not
 * depend on the CPU it runs on.
 */
#define SIM_BODY                                                                                     \
	uint32_t m[LH_SIM_RAW] = { 0 };                                                              \
	for (size_t i = 1; i < words; i++) {                                                         \
		uint32_t plo = load32(page + 8 * i - 8), phi = load32(page + 8 * i - 4);             \
		uint32_t lo = load32(page + 8 * i), hi = load32(page + 8 * i + 4);                   \
		uint32_t h = lo * 0x9E3779B1u + hi * 0x85EBCA77u + plo * 0xC2B2AE3Du + phi * 0x27D4EB2Fu; \
		h ^= h >> 15;                                                                        \
		h *= 0x2C1B3C6Du;                                                                    \
		h ^= h >> 12;                                                                        \
		/* a zero word says nothing about resemblance: value 0 never wins */                 \
		uint32_t bin = h >> 29, v = (lo | hi) ? (h << 3) | 1u : 0u;                          \
		for (uint32_t k = 0; k < LH_SIM_RAW; k++) {                                          \
			uint32_t c = bin == k ? v : 0u;                                              \
			m[k] = c > m[k] ? c : m[k];                                                  \
		}                                                                                    \
	}                                                                                            \
	for (int k = 0; k < LH_SIM_RAW; k++)                                                         \
		best[k] = m[k];

static void maxima_generic(const uint8_t *page, size_t words, uint32_t best[LH_SIM_RAW]) { SIM_BODY }

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
__attribute__((target("avx2"))) static void maxima_avx2(const uint8_t *page, size_t words,
							 uint32_t best[LH_SIM_RAW])
{
	SIM_BODY
}

static void maxima(const uint8_t *page, size_t words, uint32_t best[LH_SIM_RAW])
{
	static int have_avx2 = -1; /* the same answer for every thread: a benign race */
	if (have_avx2 < 0)
		have_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
	if (have_avx2)
		maxima_avx2(page, words, best);
	else
		maxima_generic(page, words, best);
}
#else
#define maxima maxima_generic
#endif

static inline uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 31);
}

void lh_sim_features(const uint8_t *page, size_t n, uint32_t f[LH_SIM_FEATURES])
{
	uint32_t best[LH_SIM_RAW];
	size_t words = n / 8;

	/* shingle i = aligned 8-byte words i-1 and i: far more specific to a page
	 * than one word (measured: blocks without overlap find ~15 % fewer similar
	 * pages). One hash per shingle puts it in a bin and gives its value; raw
	 * feature k is the largest value in bin k (one-permutation hashing: Li,
	 * Owen, Zhang, NIPS 2012). An edit changes feature k only when it touches
	 * the shingle that holds bin k's maximum, or makes a larger one. */
	maxima(page, words, best);
	/* a super-feature matches only when both its features match: common content
	 * (one frequent shingle) no longer makes unrelated pages look alike */
	for (int j = 0; j < LH_SIM_FEATURES; j++) {
		uint64_t h = mix(best[2 * j], best[2 * j + 1]);
		uint32_t v = (uint32_t)(h >> 32);
		f[j] = best[2 * j] && best[2 * j + 1] ? (v ? v : 1u) : 0u;
	}
}
