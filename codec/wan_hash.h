/* SPDX-License-Identifier: MIT */
/* XXH3 for the WAN codec, through libxxhash's run-time CPU dispatch on x86-64 (same hashes, AVX2 when present). */
#ifndef LH_WAN_HASH_H
#define LH_WAN_HASH_H

#include <xxhash.h>
/*
 * Hashing is a visible share of both directions: the decoder hashes every
 * output byte (END check) and every frame body, the encoder every input
 * byte and every new page. libxxhash's plain entry points run the SSE2
 * kernel; its *_dispatch entry points pick AVX2 / AVX-512 at run time. The
 * header maps XXH3_64bits, XXH3_128bits and their _update to them.
 */
#if defined(__x86_64__) && !defined(LH_NO_XXH_DISPATCH)
#include <xxh_x86dispatch.h>
#endif

#endif
