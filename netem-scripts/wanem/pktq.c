/* SPDX-License-Identifier: MIT */
/* pktq.c: departure-ordered heap of frames and the fixed buffer pool behind it. */
#include "pktq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pktq_init(struct pktq *q, uint32_t nbufs, size_t buf_size)
{
	memset(q, 0, sizeof(*q));
	q->buf_size = buf_size;
	q->capacity = nbufs;
	q->heap = calloc(nbufs, sizeof(*q->heap));
	q->free_bufs = calloc(nbufs, sizeof(*q->free_bufs));
	q->arena = malloc((size_t)nbufs * buf_size);
	if (!q->heap || !q->free_bufs || !q->arena) {
		pktq_destroy(q);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nbufs; i++)
		q->free_bufs[i] = q->arena + (size_t)i * buf_size;
	q->nfree = nbufs;
	return 0;
}

void pktq_destroy(struct pktq *q)
{
	free(q->heap);
	free(q->free_bufs);
	free(q->arena);
	memset(q, 0, sizeof(*q));
}

uint8_t *pktq_get_buf(struct pktq *q)
{
	return q->nfree ? q->free_bufs[--q->nfree] : NULL;
}

void pktq_put_buf(struct pktq *q, uint8_t *buf)
{
	q->free_bufs[q->nfree++] = buf;
}

static int earlier(const struct pkt *a, const struct pkt *b)
{
	if (a->depart_ns != b->depart_ns)
		return a->depart_ns < b->depart_ns;
	return a->seq < b->seq;
}

void pktq_push(struct pktq *q, uint8_t *data, uint32_t len, uint64_t depart_ns)
{
	struct pkt p = { .depart_ns = depart_ns, .seq = q->next_seq++, .data = data, .len = len };
	uint32_t i = q->count++;

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!earlier(&p, &q->heap[parent]))
			break;
		q->heap[i] = q->heap[parent];
		i = parent;
	}
	q->heap[i] = p;
}

const struct pkt *pktq_peek(const struct pktq *q)
{
	return q->count ? &q->heap[0] : NULL;
}

int pktq_pop(struct pktq *q, struct pkt *out)
{
	struct pkt last;
	uint32_t i = 0, n;

	if (!q->count)
		return -ENOENT;
	*out = q->heap[0];
	n = --q->count;
	if (!n)
		return 0;
	last = q->heap[n];
	for (;;) {
		uint32_t child = 2 * i + 1;

		if (child >= n)
			break;
		if (child + 1 < n && earlier(&q->heap[child + 1], &q->heap[child]))
			child++;
		if (!earlier(&q->heap[child], &last))
			break;
		q->heap[i] = q->heap[child];
		i = child;
	}
	q->heap[i] = last;
	return 0;
}
