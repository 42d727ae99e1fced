/* SPDX-License-Identifier: MIT */
/* Pointer-relative pages: guest kernel pointers into the direct map, made relative to the page's own
 * address before zstd sees them, and back after (FORMAT.md, "Pointer-relative pages"). */
#ifndef LH_PTRREL_H
#define LH_PTRREL_H

#include <stddef.h>
#include <stdint.h>

/* x86-64 Linux maps all guest-physical memory at PAGE_OFFSET, 0xffff888000000000 with 4-level paging
 * and no KASLR; the region is 2^46 bytes (64 TiB). A word inside it is taken for a pointer. */
#define LH_PTR_REGION_BASE 0xffff888000000000ull
#define LH_PTR_REGION_MASK ((1ull << 46) - 1)

/* How many 8-byte aligned words of the 4096-byte page lie inside the region. */
size_t lh_ptr_count(const uint8_t *page);

/* In place, every word inside the region: w := BASE + ((w - BASE - pfn * 4096) mod 2^46).
 * A bijection on the region that leaves every other word alone, so any pfn round-trips. */
void lh_ptr_to_rel(uint8_t *page, uint64_t pfn);

/* The inverse: w := BASE + ((w - BASE + pfn * 4096) mod 2^46). */
void lh_ptr_from_rel(uint8_t *page, uint64_t pfn);

#endif
