/* SPDX-License-Identifier: MIT */
/* shaper_test.c: unit tests of the emulator's link model (pacing, burst, limit, loss, jitter) and departure queue. */
#include "pktq.h"
#include "shaper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int failures;

#define CHECK(cond, ...)                                                          \
	do {                                                                      \
		if (!(cond)) {                                                    \
			failures++;                                               \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                             \
			fputc('\n', stderr);                                      \
		}                                                                 \
	} while (0)

#define MS 1000000ULL
#define US 1000ULL

static struct wan_params base(void)
{
	return (struct wan_params){ .limit = 1000000, .seed = 42 };
}

static void test_pacing(void)
{
	struct wan_params p = base();
	struct wan_shaper s;
	uint64_t d = 0;

	p.rate_bps = 100000000; /* 1500 B = 120 us at 100 Mbit/s */
	p.delay_ns = 10 * MS;
	CHECK(wan_shaper_init(&s, &p) == 0, "init");
	for (int k = 0; k < 1000; k++) {
		CHECK(wan_shaper_admit(&s, 0, 1500, &d) == WAN_PASS, "frame %d", k);
		CHECK(d == 10 * MS + (uint64_t)(k + 1) * 120 * US, "frame %d departs at %llu", k,
		      (unsigned long long)d);
	}
	/* An idle link does not bank credit without a burst. */
	CHECK(wan_shaper_admit(&s, 1000 * MS, 1500, &d) == WAN_PASS, "late frame");
	CHECK(d == 1000 * MS + 120 * US + 10 * MS, "late frame departs at %llu", (unsigned long long)d);
	printf("pacing: 1000 x 1500 B at 100 Mbit/s serialized 120 us apart\n");
}

static void test_burst(void)
{
	struct wan_params p = base();
	struct wan_shaper s;
	uint64_t d = 0, first = 0;
	int at_once = 0;

	p.rate_bps = 100000000;
	p.burst_bytes = 15000; /* ten frames of credit */
	CHECK(wan_shaper_init(&s, &p) == 0, "init");
	for (int k = 0; k < 100; k++) {
		wan_shaper_admit(&s, 0, 1500, &d);
		if (k == 0)
			first = d;
		if (d == first)
			at_once++;
	}
	CHECK(at_once == 11, "%d frames left in the initial burst, want 11", at_once);
	/* Long-run rate still holds: frame 100 leaves 90 slots in (10 were credit). */
	CHECK(d == 90 * 120 * US, "frame 100 departs at %llu", (unsigned long long)d);
	printf("burst: %d frames at once, then paced\n", at_once);
}

static void test_limit(void)
{
	struct wan_params p = base();
	struct wan_shaper s;
	uint64_t d;
	int pass = 0, drop = 0;

	p.limit = 10;
	p.delay_ns = 50 * MS;
	CHECK(wan_shaper_init(&s, &p) == 0, "init");
	for (int k = 0; k < 15; k++) {
		enum wan_verdict v = wan_shaper_admit(&s, 0, 1500, &d);

		pass += v == WAN_PASS;
		drop += v == WAN_DROP_LIMIT;
	}
	CHECK(pass == 10 && drop == 5, "pass %d drop %d", pass, drop);
	wan_shaper_release(&s);
	CHECK(wan_shaper_admit(&s, 0, 1500, &d) == WAN_PASS, "room after a release");
	CHECK(wan_shaper_admit(&s, 0, 1500, &d) == WAN_DROP_LIMIT, "full again");
	printf("limit: tail drop past %u frames\n", p.limit);
}

static int count_losses(double loss, uint64_t seed, int n)
{
	struct wan_params p = base();
	struct wan_shaper s;
	uint64_t d;
	int lost = 0;

	p.loss = loss;
	p.seed = seed;
	if (wan_shaper_init(&s, &p))
		return -1;
	for (int k = 0; k < n; k++) {
		if (wan_shaper_admit(&s, 0, 100, &d) == WAN_DROP_LOSS)
			lost++;
		else
			wan_shaper_release(&s);
	}
	return lost;
}

static void test_loss(void)
{
	int n = 1000000, lost = count_losses(0.01, 7, n);

	/* Binomial sd ~ 99.5: +-500 is 5 sd. */
	CHECK(lost > 9500 && lost < 10500, "lost %d of %d at 1%%", lost, n);
	CHECK(count_losses(0.01, 7, n) == lost, "same seed, same losses");
	CHECK(count_losses(0.01, 8, n) != lost, "other seed, other losses");
	CHECK(count_losses(0, 7, 100000) == 0, "no loss at 0");
	CHECK(count_losses(1.0, 7, 1000) == 1000, "all lost at 100%%");
	printf("loss: %d of %d lost at 1%% (%.3f%%)\n", lost, n, 100.0 * lost / n);
}

static void test_jitter(bool reorder)
{
	struct wan_params p = base();
	struct wan_shaper s;
	uint64_t d, prev = 0, sum = 0;
	int n = 100000, out_of_order = 0, outside = 0;

	p.delay_ns = 10 * MS;
	p.jitter_ns = 5 * MS;
	p.allow_reorder = reorder;
	CHECK(wan_shaper_init(&s, &p) == 0, "init");
	for (int k = 0; k < n; k++) {
		uint64_t now = (uint64_t)k * 100 * US;

		wan_shaper_admit(&s, now, 1500, &d);
		wan_shaper_release(&s);
		out_of_order += d < prev;
		prev = d;
		sum += d - now;
		/* Without reordering a frame may wait for its predecessor, so
		 * only the lower bound is strict. */
		outside += d < now + 5 * MS || (reorder && d > now + 15 * MS);
	}
	if (reorder) {
		CHECK(out_of_order > n / 10, "only %d frames reordered", out_of_order);
		CHECK(sum / (uint64_t)n > 9900 * US && sum / (uint64_t)n < 10100 * US,
		      "mean delay %llu ns", (unsigned long long)(sum / (uint64_t)n));
	} else {
		CHECK(out_of_order == 0, "%d frames reordered", out_of_order);
	}
	CHECK(outside == 0, "%d frames outside delay +- jitter", outside);
	printf("jitter (%s): mean delay %.3f ms, %d frames out of order\n",
	       reorder ? "reorder allowed" : "in order", (double)sum / n / 1e6, out_of_order);
}

static void test_bad_params(void)
{
	struct wan_params p = base();
	struct wan_shaper s;

	p.limit = 0;
	CHECK(wan_shaper_init(&s, &p) == -EINVAL, "limit 0 rejected");
	p = base();
	p.delay_ns = MS;
	p.jitter_ns = 2 * MS;
	CHECK(wan_shaper_init(&s, &p) == -EINVAL, "jitter > delay rejected");
	p = base();
	p.loss = 1.5;
	CHECK(wan_shaper_init(&s, &p) == -EINVAL, "loss > 1 rejected");
}

static void test_pktq(void)
{
	struct pktq q;
	struct pkt out;
	uint64_t prev_depart = 0, prev_seq = 0;
	int n = 10000;

	CHECK(pktq_init(&q, (uint32_t)n, 64) == 0, "init");
	srand(1);
	for (int k = 0; k < n; k++) {
		uint8_t *b = pktq_get_buf(&q);

		CHECK(b != NULL, "buffer %d", k);
		b[0] = (uint8_t)k;
		pktq_push(&q, b, 64, (uint64_t)(rand() % 100));
	}
	CHECK(pktq_get_buf(&q) == NULL, "pool exhausted");
	for (int k = 0; k < n; k++) {
		CHECK(pktq_pop(&q, &out) == 0, "pop %d", k);
		CHECK(out.depart_ns > prev_depart || (out.depart_ns == prev_depart && (k == 0 || out.seq > prev_seq)),
		      "pop %d out of order", k);
		prev_depart = out.depart_ns;
		prev_seq = out.seq;
		pktq_put_buf(&q, out.data);
	}
	CHECK(pktq_pop(&q, &out) == -ENOENT, "empty");
	CHECK(q.nfree == (uint32_t)n, "all buffers back");
	pktq_destroy(&q);
	printf("pktq: %d frames popped in (departure, arrival) order\n", n);
}

int main(void)
{
	test_pacing();
	test_burst();
	test_limit();
	test_loss();
	test_jitter(false);
	test_jitter(true);
	test_bad_params();
	test_pktq();
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
