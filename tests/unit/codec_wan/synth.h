/* SPDX-License-Identifier: MIT */
/* Synthetic QEMU precopy streams for codec tests: one image, per-VM layout and edits, re-sent pages. */
#ifndef LH_TEST_SYNTH_H
#define LH_TEST_SYNTH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t image_seed;   /* page contents of the "image" (shared by VMs booted from it) */
	uint64_t vm_seed;      /* this VM: physical layout, its own edits, its random pages */
	uint32_t pages;        /* guest RAM pages (4 KiB) in block pc.ram */
	uint32_t rounds;       /* precopy rounds after the first full pass */
	double dirty_frac;     /* pages re-sent per round */
	uint32_t edit_bytes;   /* bytes changed in a re-sent page */
	double zero_frac;      /* zero pages */
	double random_frac;    /* incompressible pages */
	double binary_frac;    /* binary pages (bytes from a 100-value alphabet, like machine code; 0 by default) */
	double vm_edit_frac;   /* image pages this VM changed a little before migration */
	double pointer_frac;   /* kernel-like pages: objects whose list heads point into the direct map at
	                          their own address, so their bytes depend on where the page is (0 by default) */
	uint32_t device_bytes; /* opaque device state after the RAM */
} synth_cfg;

void synth_default(synth_cfg *c);
/* Builds a whole main-channel stream; returns its size, *out is malloc'd (NULL on failure). */
size_t synth_stream(const synth_cfg *c, uint8_t **out);

static inline uint64_t synth_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

#endif
