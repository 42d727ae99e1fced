/* SPDX-License-Identifier: MIT */
/* Page deltas: runs of changed bytes against a base page (format in FORMAT.md). */
#ifndef LH_DELTA_H
#define LH_DELTA_H

#include <stddef.h>
#include <stdint.h>

/*
 * Encodes page against base (both n bytes) into out. Returns the delta size,
 * or 0 when it would exceed limit (the caller then sends something else;
 * out must hold limit + 32 bytes). Identical pages give size 0 as well: the
 * caller dedups those before asking for a delta.
 */
size_t lh_delta_encode(const uint8_t *base, const uint8_t *page, size_t n, uint8_t *out, size_t limit);

/*
 * dst := base with delta[0..len) applied (dst may equal base; it must not
 * otherwise overlap). 0, or a negative lh_err when the delta is malformed
 * (a run past the page, a truncated varint, an empty delta).
 */
int lh_delta_apply(const uint8_t *base, const uint8_t *delta, size_t len, uint8_t *dst, size_t n);

#endif
