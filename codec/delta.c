/* SPDX-License-Identifier: MIT */
/* Page deltas: (skip, length, new bytes) runs, compared a word at a time. */
#include <string.h>
#include "delta.h"
#include "frame.h"
#include "lh_errors.h"

/* Equal bytes inside a changed run cost less than a new (skip, len) pair. */
#define MERGE_GAP 4

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* First index >= i where the pages differ, or n. */
static size_t next_diff(const uint8_t *a, const uint8_t *b, size_t i, size_t n)
{
	while (i + 8 <= n) {
		uint64_t x = load64(a + i) ^ load64(b + i);
		if (x)
			return i + (size_t)(__builtin_ctzll(x) >> 3);
		i += 8;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* End of the changed run that starts at i: stops at MERGE_GAP equal bytes. */
static size_t run_end(const uint8_t *a, const uint8_t *b, size_t i, size_t n)
{
	size_t end = i + 1, j = i + 1;
	while (j < n) {
		if (a[j] != b[j]) {
			end = ++j;
			continue;
		}
		/* an equal byte: skip ahead over equal bytes and decide */
		size_t k = next_diff(a, b, j, n);
		if (k - end >= MERGE_GAP || k == n)
			break;
		j = k;
	}
	return end;
}

/*
 * Can a delta within limit exist at all? 64 sampled words: a delta under a
 * quarter page needs most words equal, or at worst (one changed byte per
 * word, each its own run of 3 bytes) a third of them; fewer than 4 of 64
 * equal words rules that out without walking a page of differences byte by
 * byte (a resemblance candidate that shares features but not positions).
 */
static int hopeless(const uint8_t *base, const uint8_t *page, size_t n, size_t limit)
{
	if (n != 4096 || limit > n / 4)
		return 0;
	int equal = 0;
	for (size_t i = 0; i < n; i += 64)
		equal += load64(base + i) == load64(page + i);
	return equal < 4;
}

size_t lh_delta_encode(const uint8_t *base, const uint8_t *page, size_t n, uint8_t *out, size_t limit)
{
	uint8_t *o = out;
	size_t last = 0, i = 0;

	if (hopeless(base, page, n, limit))
		return 0;

	for (;;) {
		i = next_diff(base, page, i, n);
		if (i >= n)
			break;
		size_t end = run_end(base, page, i, n);
		size_t len = end - i;
		if ((size_t)(o - out) + len + 20 > limit)
			return 0;
		o = lh_varint_put(o, i - last);
		o = lh_varint_put(o, len);
		memcpy(o, page + i, len);
		o += len;
		last = i = end;
	}
	return (size_t)(o - out);
}

int lh_delta_apply(const uint8_t *base, const uint8_t *delta, size_t len, uint8_t *dst, size_t n)
{
	size_t pos = 0, at = 0;

	if (len == 0)
		return -LH_E_CORRUPT;
	if (dst != base)
		memcpy(dst, base, n);
	while (at < len) {
		uint64_t skip, run;
		size_t k = lh_varint_get(delta + at, len - at, &skip);
		if (!k)
			return -LH_E_CORRUPT;
		at += k;
		k = lh_varint_get(delta + at, len - at, &run);
		if (!k)
			return -LH_E_CORRUPT;
		at += k;
		if (run == 0 || skip > n - pos || run > n - pos - skip || run > len - at)
			return -LH_E_CORRUPT;
		pos += skip;
		memcpy(dst + pos, delta + at, run);
		pos += run;
		at += run;
	}
	return 0;
}
