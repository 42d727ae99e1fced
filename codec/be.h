/* SPDX-License-Identifier: MIT */
/* Big-endian load/store helpers (the QEMU stream is big-endian throughout). */
#ifndef LH_BE_H
#define LH_BE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t lh_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t lh_be32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}
static inline uint64_t lh_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}
static inline uint8_t *lh_put8(uint8_t *p, uint8_t v) { *p = v; return p + 1; }
static inline uint8_t *lh_put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; return p + 2; }
static inline uint8_t *lh_put32(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
	return p + 4;
}
static inline uint8_t *lh_put64(uint8_t *p, uint64_t v)
{
	v = __builtin_bswap64(v);
	memcpy(p, &v, 8);
	return p + 8;
}

#endif
