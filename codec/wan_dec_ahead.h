/* SPDX-License-Identifier: MIT */
/* The decoder's look-ahead: frames announced before they are decoded, worked on by one background thread. */
#ifndef LH_WAN_DEC_AHEAD_H
#define LH_WAN_DEC_AHEAD_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lh_wan.h"
#include "wan_dec_internal.h"

/* Frames announced and not yet decoded, at most. Their sections must stay in the
 * zstd rings until they are decoded (wan_dec_sections.c sizes the rings for it). */
#define LH_DEC_AHEAD LH_WAN_DEC_AHEAD_MAX

/* Who decompresses a queued frame's B section: the thread, when it has no Z
 * section to do and gets there before the decoder claims it. */
enum { LH_AHEAD_B_OPEN, LH_AHEAD_B_THREAD, LH_AHEAD_B_DECODER };

/* What the thread did with a frame; the decoder reads it once the item is done. */
typedef struct {
	bool body_ok;           /* its body check matched */
	bool z_done;            /* its Z section went through the Z stream; code and err say how */
	uint32_t stream_id;     /* with z_done: the frame's stream and sections, for the B stage */
	lh_dec_sections ds;
	int code;
	const uint8_t *z;       /* the Z section, decompressed (NULL: not zstd) */
	int b_code;             /* the thread took its B section too (b_owner THREAD): how it went */
	const uint8_t *b;
	lh_wan_error err, b_err;
} lh_ahead_result;

typedef struct {
	const uint8_t *frame;
	size_t len;
	unsigned seq;           /* its place in the order of announced frames */
	atomic_int b_owner;     /* LH_AHEAD_B_*: changed under the queue's mutex only */
	lh_ahead_result res;
	atomic_bool done;       /* the thread is finished with its Z section */
	atomic_bool b_done;     /* the thread is finished with its B section (b_owner THREAD) */
} lh_ahead_item;

typedef struct lh_ahead lh_ahead;
typedef void (*lh_ahead_fn)(void *ctx, lh_ahead_item *it);

/* Starts the thread, which calls z_fn on each item in order and, when it has
 * nothing else to do, b_fn on items whose B sections are next in the B order
 * and not claimed by the decoder. NULL when no thread can be started. */
lh_ahead *lh_ahead_create(lh_ahead_fn z_fn, lh_ahead_fn b_fn, void *ctx);
/* Queues a frame; -LH_E_LIMIT when LH_DEC_AHEAD are queued already. */
int lh_ahead_push(lh_ahead *a, const void *frame, size_t len);
/* The oldest queued frame, or NULL when none is queued. */
lh_ahead_item *lh_ahead_peek(lh_ahead *a);
/* Claims the head's B section for the decoder; false when the thread has it. */
bool lh_ahead_claim_b(lh_ahead *a, lh_ahead_item *it);
/* Returns once the thread is done with the item's Z section. */
void lh_ahead_wait(lh_ahead *a, lh_ahead_item *it);
/* Returns once the thread is done with the item's B section (it claimed it). */
void lh_ahead_wait_b(lh_ahead *a, lh_ahead_item *it);
/* The decoder did the B section of the frame with this seq (or it had none). */
void lh_ahead_b_passed(lh_ahead *a, unsigned seq);
/* Frames queued and not popped. */
unsigned lh_ahead_queued(const lh_ahead *a);
/* Drops the head, which the thread is done with (both sections). */
void lh_ahead_pop(lh_ahead *a);
/* Lets the thread finish the item it works on, ends it and frees a. NULL is fine. */
void lh_ahead_free(lh_ahead *a);

#endif
