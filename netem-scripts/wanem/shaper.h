/* SPDX-License-Identifier: MIT */
/* shaper.h: one direction of an emulated WAN link (rate, delay, jitter, loss, queue limit); pure logic, no I/O. */
#ifndef LH_WANEM_SHAPER_H
#define LH_WANEM_SHAPER_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Link model, applied to every frame entering one direction at time `now`:
 *   1. loss:  dropped with probability loss (independent, seeded PRNG);
 *   2. limit: tail-dropped if `limit` frames are already held (queued for the
 *      serializer or in flight on the delay line), as tc-netem counts them;
 *   3. rate:  a token bucket of depth `burst_bytes` refilled at `rate_bps`
 *      paces frames onto the wire; a frame finishes serializing at
 *      max(now, bucket-empty time) + len*8/rate (len = whole L2 frame, like
 *      netem counts skb->len);
 *   4. delay: the frame then travels `delay_ns` +- uniform `jitter_ns`.
 *      Unless allow_reorder, a frame never departs before the previous one
 *      (jitter stretches gaps instead of swapping frames).
 * All times are CLOCK_MONOTONIC nanoseconds.
 */
struct wan_params {
	uint64_t rate_bps;    /* 0: unlimited */
	uint64_t delay_ns;    /* one-way propagation delay */
	uint64_t jitter_ns;   /* uniform in [-jitter, +jitter] */
	double loss;          /* probability 0..1 */
	uint32_t limit;       /* frames held at most (>= 1) */
	uint32_t burst_bytes; /* token bucket depth; 0 = pure serializer */
	bool allow_reorder;
	uint64_t seed;
};

enum wan_verdict {
	WAN_PASS = 0,
	WAN_DROP_LOSS,  /* random loss */
	WAN_DROP_LIMIT, /* tail drop: queue full */
};

struct wan_shaper {
	struct wan_params p;
	uint32_t loss_threshold; /* loss * 2^32, compared with a 32-bit draw */
	uint64_t rng[4];         /* xoshiro256** state */
	uint64_t tat_ns;         /* token bucket: theoretical arrival time (GCRA) */
	uint64_t last_depart_ns;
	uint32_t held;           /* frames admitted and not yet released */
};

/* Checks the parameters; returns 0 or -EINVAL. */
int wan_shaper_init(struct wan_shaper *s, const struct wan_params *p);

/* Decides the fate of one frame of `len` bytes arriving at `now_ns`. On
 * WAN_PASS, *depart_ns is when it must leave and the frame counts as held
 * until wan_shaper_release(). */
enum wan_verdict wan_shaper_admit(struct wan_shaper *s, uint64_t now_ns,
				  uint32_t len, uint64_t *depart_ns);

/* A frame admitted earlier has left (sent or failed to send). */
void wan_shaper_release(struct wan_shaper *s);

/* Next value of the shaper's PRNG (exposed for tests). */
uint64_t wan_shaper_random(struct wan_shaper *s);

const char *wan_verdict_name(enum wan_verdict v);

#endif
