/* SPDX-License-Identifier: MIT */
/* shaper.c: WAN link model for one direction: loss, tail drop, token-bucket pacing, delay and jitter. */
#include "shaper.h"

#include <errno.h>
#include <string.h>

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* xoshiro256** (Blackman & Vigna): fast, good enough for loss decisions. */
uint64_t wan_shaper_random(struct wan_shaper *s)
{
	uint64_t *r = s->rng;
	uint64_t result = rotl(r[1] * 5, 7) * 9;
	uint64_t t = r[1] << 17;

	r[2] ^= r[0];
	r[3] ^= r[1];
	r[1] ^= r[2];
	r[0] ^= r[3];
	r[2] ^= t;
	r[3] = rotl(r[3], 45);
	return result;
}

int wan_shaper_init(struct wan_shaper *s, const struct wan_params *p)
{
	uint64_t seed = p->seed;

	if (p->limit == 0 || !(p->loss >= 0.0 && p->loss <= 1.0))
		return -EINVAL;
	if (p->jitter_ns > p->delay_ns)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->p = *p;
	if (p->loss >= 1.0)
		s->loss_threshold = UINT32_MAX;
	else
		s->loss_threshold = (uint32_t)(p->loss * 4294967296.0 + 0.5);
	for (int i = 0; i < 4; i++)
		s->rng[i] = splitmix64(&seed);
	return 0;
}

static uint64_t bytes_to_ns(uint64_t bytes, uint64_t rate_bps)
{
	/* 128-bit intermediate: 9000 B at 1 kbit/s overflows nothing, but
	 * bytes * 8e9 could for large bursts. */
	return (uint64_t)((unsigned __int128)bytes * 8000000000ULL / rate_bps);
}

enum wan_verdict wan_shaper_admit(struct wan_shaper *s, uint64_t now_ns,
				  uint32_t len, uint64_t *depart_ns)
{
	uint64_t sent = now_ns, depart;

	/* Loss first, then the limit: the order tc-netem uses. */
	if (s->loss_threshold &&
	    (s->loss_threshold == UINT32_MAX ||
	     (uint32_t)(wan_shaper_random(s) >> 32) < s->loss_threshold))
		return WAN_DROP_LOSS;
	if (s->held >= s->p.limit)
		return WAN_DROP_LIMIT;

	if (s->p.rate_bps) {
		/* GCRA form of a token bucket: the frame may start once the
		 * bucket holds its tokens, i.e. at tat - burst; it ends
		 * serializing len*8/rate later. */
		uint64_t tx = bytes_to_ns(len, s->p.rate_bps);
		uint64_t tau = bytes_to_ns(s->p.burst_bytes, s->p.rate_bps);
		uint64_t start = now_ns;

		if (s->tat_ns > tau && s->tat_ns - tau > start)
			start = s->tat_ns - tau;
		s->tat_ns = (s->tat_ns > now_ns ? s->tat_ns : now_ns) + tx;
		sent = start + tx;
	}

	depart = sent + s->p.delay_ns;
	if (s->p.jitter_ns) {
		uint64_t span = 2 * s->p.jitter_ns + 1;
		uint64_t draw = wan_shaper_random(s) % span;

		depart = depart - s->p.jitter_ns + draw;
	}
	if (!s->p.allow_reorder && depart < s->last_depart_ns)
		depart = s->last_depart_ns;
	if (depart > s->last_depart_ns)
		s->last_depart_ns = depart;

	s->held++;
	*depart_ns = depart;
	return WAN_PASS;
}

void wan_shaper_release(struct wan_shaper *s)
{
	if (s->held)
		s->held--;
}

const char *wan_verdict_name(enum wan_verdict v)
{
	switch (v) {
	case WAN_PASS: return "pass";
	case WAN_DROP_LOSS: return "loss";
	case WAN_DROP_LIMIT: return "limit";
	}
	return "unknown";
}
