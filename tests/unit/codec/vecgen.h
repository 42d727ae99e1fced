/* SPDX-License-Identifier: MIT */
/* Synthetic QEMU migration streams written from the format reference, for what captures cannot reach. */
#ifndef LH_TEST_VECGEN_H
#define LH_TEST_VECGEN_H

#include <stddef.h>
#include <stdint.h>
#include "lh_stream.h"

typedef struct {
	uint8_t *data;
	size_t len, cap;
} vbuf;

void vb_free(vbuf *b);
void vb_bytes(vbuf *b, const void *p, size_t n);
void vb_u8(vbuf *b, uint8_t v);
void vb_be16(vbuf *b, uint16_t v);
void vb_be32(vbuf *b, uint32_t v);
void vb_be64(vbuf *b, uint64_t v);
void vb_str8(vbuf *b, const char *s);

typedef struct {
	const char *name;
	lh_channel_kind channel; /* what to tell the parser (AUTO for most) */
	int expect_eof;          /* the parser must report EOF */
	int expect_tail;         /* the parser must end in tail (opaque) mode */
	void (*build)(vbuf *b);
} vector_def;

extern const vector_def lh_test_vectors[];
extern const size_t lh_test_vector_count;

#endif
