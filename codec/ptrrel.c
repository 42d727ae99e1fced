/* SPDX-License-Identifier: MIT */
/*
 * Pointer-relative pages.
 *
 * Two guests booted from one image hold the same kernel structures (slab
 * objects, list heads, struct pages) at different guest-physical addresses,
 * so the same structure differs in every pointer it holds. An object's
 * pointers to itself and to its neighbours are direct-map addresses close to
 * the page's own, PAGE_OFFSET + its guest-physical address. Subtracting that
 * address turns them into small offsets that repeat from page to page and
 * from guest to guest, which zstd then finds. Measured on the second VM's
 * kernel pages in the WAN benchmark: ~20 % smaller after zstd -1.
 *
 * The transform is exact for any input: it is a rotation inside the region
 * and never moves a word into or out of it, whatever rotation the encoder
 * picks (the decoder takes it from the op).
 *
 * KASLR: a kernel whose decompressor ran (booted by a bootloader, not PVH)
 * moves PAGE_OFFSET by a random multiple of 1 GiB (CONFIG_RANDOMIZE_MEMORY,
 * PUD-aligned), per guest and per boot. Rotating by the page's guest-physical
 * address alone would then leave that random step in every pointer, different
 * in each guest, and the second VM's kernel pages would no longer look like
 * the first's. lh_ptr_rotation reads the step from the page: each pointer
 * minus the page's own offset in the region, rounded to 1 GiB, votes for a
 * step (an object's pointers reach less than 512 MiB away), and the majority
 * (Boyer-Moore, checked) wins. Without KASLR every vote is 0 and the rotation is pfn.
 * A guest with 5-level paging (PAGE_OFFSET 0xff11000000000000) gains nothing.
 */
#include <string.h>
#include "ptrrel.h"

#define PAGE 4096u

/* guest words are little-endian (x86-64), whatever the host is */
static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

static inline void store64(uint8_t *p, uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	memcpy(p, &w, 8);
}

size_t lh_ptr_count(const uint8_t *page)
{
	size_t n = 0;
	for (size_t i = 0; i < PAGE; i += 8)
		n += load64(page + i) - LH_PTR_REGION_BASE <= LH_PTR_REGION_MASK;
	return n;
}

#define GIB_SHIFT 30

static inline uint64_t gib_step(uint64_t off, uint64_t own)
{
	return ((off - own + (1ull << (GIB_SHIFT - 1))) & LH_PTR_REGION_MASK) >> GIB_SHIFT;
}

uint64_t lh_ptr_rotation(const uint8_t *page, uint64_t pfn)
{
	const uint64_t own = pfn * PAGE;
	uint64_t cand = 0, votes = 0, words = 0, for_cand = 0;
	for (size_t i = 0; i < PAGE; i += 8) {
		uint64_t off = load64(page + i) - LH_PTR_REGION_BASE;
		if (off > LH_PTR_REGION_MASK)
			continue;
		uint64_t step = gib_step(off, own);
		if (votes == 0)
			cand = step;
		votes += step == cand ? 1 : (uint64_t)-1;
	}
	/* only a true majority counts: machine code that happens to hold region-like words has none */
	for (size_t i = 0; cand && i < PAGE; i += 8) {
		uint64_t off = load64(page + i) - LH_PTR_REGION_BASE;
		if (off <= LH_PTR_REGION_MASK) {
			words++;
			for_cand += gib_step(off, own) == cand;
		}
	}
	if (2 * for_cand <= words)
		cand = 0;
	/* a rotation by pages: its multiples of 2^46 / 4096 are no rotation at all */
	return (pfn + (cand << (GIB_SHIFT - 12))) & (LH_PTR_REGION_MASK >> 12);
}

static void rotate(uint8_t *page, uint64_t by)
{
	for (size_t i = 0; i < PAGE; i += 8) {
		uint64_t off = load64(page + i) - LH_PTR_REGION_BASE;
		if (off <= LH_PTR_REGION_MASK)
			store64(page + i, LH_PTR_REGION_BASE + ((off + by) & LH_PTR_REGION_MASK));
	}
}

void lh_ptr_to_rel(uint8_t *page, uint64_t pfn) { rotate(page, 0 - pfn * PAGE); }

void lh_ptr_from_rel(uint8_t *page, uint64_t pfn) { rotate(page, pfn * PAGE); }
