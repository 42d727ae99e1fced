/* SPDX-License-Identifier: MIT */
/* pktq.h: frames waiting on the emulated delay line, ordered by departure time, with their buffer pool. */
#ifndef LH_WANEM_PKTQ_H
#define LH_WANEM_PKTQ_H

#include <stddef.h>
#include <stdint.h>

struct pkt {
	uint64_t depart_ns;
	uint64_t seq; /* arrival order: breaks departure ties, so FIFO */
	uint8_t *data;
	uint32_t len;
};

/*
 * A min-heap of frames keyed by (depart_ns, seq) plus a free list of
 * fixed-size buffers. With monotonic departure times (no reordering) a push
 * costs one comparison, so the heap is a FIFO in practice; with reordering
 * allowed it still hands frames out in departure order.
 */
struct pktq {
	struct pkt *heap;
	uint32_t count, capacity;
	uint8_t **free_bufs;
	uint32_t nfree;
	uint8_t *arena;
	size_t buf_size;
	uint64_t next_seq;
};

/* Allocates `nbufs` buffers of `buf_size` bytes; returns 0 or -ENOMEM. */
int pktq_init(struct pktq *q, uint32_t nbufs, size_t buf_size);
void pktq_destroy(struct pktq *q);

/* Takes a free buffer (NULL when none is left). */
uint8_t *pktq_get_buf(struct pktq *q);
void pktq_put_buf(struct pktq *q, uint8_t *buf);

/* Queues a frame held in a buffer from pktq_get_buf(). */
void pktq_push(struct pktq *q, uint8_t *data, uint32_t len, uint64_t depart_ns);

/* The frame that departs first, or NULL if empty. */
const struct pkt *pktq_peek(const struct pktq *q);

/* Removes the first frame into *out (its buffer stays the caller's until
 * pktq_put_buf). Returns 0, or -ENOENT when empty. */
int pktq_pop(struct pktq *q, struct pkt *out);

#endif
