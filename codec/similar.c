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
 * The maxima, in 32-bit lanes (one multiply-xorshift hash per shingle): the
 * AVX2 version below takes 8 shingles per instruction, ~0.5 us per page.
 * Every variant computes the same integers: the encoder's output does not
 * depend on the CPU it runs on.
 */
/* shingles from..words-1 (shingle i = words i-1 and i) */
static void maxima_generic_from(const uint8_t *page, size_t from, size_t words, uint32_t best[LH_SIM_RAW])
{
	uint32_t m[LH_SIM_RAW] = { 0 };
	for (size_t i = from; i < words; i++) {
		uint32_t plo = load32(page + 8 * i - 8), phi = load32(page + 8 * i - 4);
		uint32_t lo = load32(page + 8 * i), hi = load32(page + 8 * i + 4);
		uint32_t h = lo * 0x9E3779B1u + hi * 0x85EBCA77u + plo * 0xC2B2AE3Du + phi * 0x27D4EB2Fu;
		h ^= h >> 15;
		h *= 0x2C1B3C6Du;
		h ^= h >> 12;
		/* a zero word says nothing about resemblance: value 0 never wins */
		uint32_t bin = h >> 29, v = (lo | hi) ? (h << 3) | 1u : 0u;
		m[bin] = v > m[bin] ? v : m[bin];
	}
	for (int k = 0; k < LH_SIM_RAW; k++)
		best[k] = m[k];
}

static void maxima_generic(const uint8_t *page, size_t words, uint32_t best[LH_SIM_RAW])
{
	maxima_generic_from(page, 1, words, best);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

/* Words w..w+7 of the page as two vectors of 32-bit halves: lo and hi halves of the same words in the
 * same lanes (the lane order is scrambled, the same way for every call, which a maximum ignores). */
__attribute__((target("avx2"))) static inline void halves(const uint8_t *p, __m256i *lo, __m256i *hi)
{
	__m256 a = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)p));
	__m256 b = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(p + 32)));
	*lo = _mm256_castps_si256(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
	*hi = _mm256_castps_si256(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}

/*
 * maxima_generic_from by hand, 8 shingles per step: compilers vectorize the plain loop
 * differently (clang does, GCC 12 does not, which made a GCC build's encoder
 * ~30 % slower). Same integers as maxima_generic (tests/unit/codec_wan).
 */
__attribute__((target("avx2"))) static void maxima_avx2(const uint8_t *page, size_t words,
							 uint32_t best[LH_SIM_RAW])
{
	const __m256i c1 = _mm256_set1_epi32((int)0x9E3779B1u), c2 = _mm256_set1_epi32((int)0x85EBCA77u);
	const __m256i c3 = _mm256_set1_epi32((int)0xC2B2AE3Du), c4 = _mm256_set1_epi32((int)0x27D4EB2Fu);
	const __m256i c5 = _mm256_set1_epi32((int)0x2C1B3C6Du), one = _mm256_set1_epi32(1);
	const __m256i zero = _mm256_setzero_si256();
	__m256i m[LH_SIM_RAW];
	size_t i = 1;
	for (int k = 0; k < LH_SIM_RAW; k++)
		m[k] = zero;
	for (; i + 8 <= words; i += 8) {
		__m256i lo, hi, plo, phi;
		halves(page + 8 * i, &lo, &hi);
		halves(page + 8 * i - 8, &plo, &phi);
		__m256i h = _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(lo, c1), _mm256_mullo_epi32(hi, c2)),
					     _mm256_add_epi32(_mm256_mullo_epi32(plo, c3), _mm256_mullo_epi32(phi, c4)));
		h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 15));
		h = _mm256_mullo_epi32(h, c5);
		h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 12));
		__m256i bin = _mm256_srli_epi32(h, 29);
		__m256i nz = _mm256_cmpeq_epi32(_mm256_or_si256(lo, hi), zero);
		__m256i v = _mm256_andnot_si256(nz, _mm256_or_si256(_mm256_slli_epi32(h, 3), one));
		for (int k = 0; k < LH_SIM_RAW; k++) {
			__m256i c = _mm256_and_si256(_mm256_cmpeq_epi32(bin, _mm256_set1_epi32(k)), v);
			m[k] = _mm256_max_epu32(m[k], c);
		}
	}
	for (int k = 0; k < LH_SIM_RAW; k++) {
		__m128i x = _mm_max_epu32(_mm256_castsi256_si128(m[k]), _mm256_extracti128_si256(m[k], 1));
		x = _mm_max_epu32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
		x = _mm_max_epu32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
		best[k] = (uint32_t)_mm_cvtsi128_si32(x);
	}
	/* the last shingles one by one, on top of the maxima so far */
	if (i < words) {
		uint32_t rest[LH_SIM_RAW];
		maxima_generic_from(page, i, words, rest);
		for (int k = 0; k < LH_SIM_RAW; k++)
			best[k] = rest[k] > best[k] ? rest[k] : best[k];
	}
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

/* a super-feature matches only when both its features match: common content
 * (one frequent shingle) no longer makes unrelated pages look alike */
static void super_features(const uint32_t best[LH_SIM_RAW], uint32_t f[LH_SIM_FEATURES])
{
	for (int j = 0; j < LH_SIM_FEATURES; j++) {
		uint64_t h = mix(best[2 * j], best[2 * j + 1]);
		uint32_t v = (uint32_t)(h >> 32);
		f[j] = best[2 * j] && best[2 * j + 1] ? (v ? v : 1u) : 0u;
	}
}

void lh_sim_features(const uint8_t *page, size_t n, uint32_t f[LH_SIM_FEATURES])
{
	uint32_t best[LH_SIM_RAW];

	/* shingle i = aligned 8-byte words i-1 and i: far more specific to a page
	 * than one word (measured: blocks without overlap find ~15 % fewer similar
	 * pages). One hash per shingle puts it in a bin and gives its value; raw
	 * feature k is the largest value in bin k (one-permutation hashing: Li,
	 * Owen, Zhang, NIPS 2012). An edit changes feature k only when it touches
	 * the shingle that holds bin k's maximum, or makes a larger one. */
	maxima(page, n / 8, best);
	super_features(best, f);
}

void lh__sim_features_portable(const uint8_t *page, size_t n, uint32_t f[LH_SIM_FEATURES])
{
	uint32_t best[LH_SIM_RAW];
	maxima_generic(page, n / 8, best);
	super_features(best, f);
}
