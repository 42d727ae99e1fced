/* SPDX-License-Identifier: MIT */
/* The decoder's look-ahead queue and its thread (wan_dec_ahead.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bg_thread.h"
#include "wan_dec_ahead.h"

/*
 * A single-producer, single-consumer queue: the decoding thread pushes and
 * pops, the helper works the items in between, in order. The decoder waits
 * for an item about once a frame (a few hundred microseconds of work), and
 * sleeping on a condition variable at each handover costs a futex wake-up;
 * waking an idle virtual CPU costs far more. So both sides first spin on the
 * item's state for a few frames' time, and only then sleep.
 *
 * B sections form one zstd stream too, decoded in frame order. Whoever gets
 * to a frame's B section first claims it (under mu): the decoder when its
 * turn comes, or the thread, when it has no Z section left to do and every
 * earlier B section is done (b_next). While Z is the slower stage the decoder
 * does B; while the ops are, the thread takes it over.
 */
#define SPIN_HEAD_NS 5000000L   /* the decoder, waiting for the head item */
#define SPIN_IDLE_NS 2000000L   /* the thread, waiting for the next item: a frame's ops take ~1 ms */

struct lh_ahead {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	lh_ahead_fn z_fn, b_fn;
	void *ctx;
	lh_ahead_item items[LH_DEC_AHEAD];
	atomic_uint tail;       /* items pushed (the decoder writes it) */
	atomic_uint head;       /* items popped (the decoder writes it, under mu) */
	atomic_uint b_next;     /* seq of the next B section in the B stream's order */
	atomic_bool stop;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Waits until ready(a, arg): spins for up to spin_ns, then sleeps on cv. */
static void wait_until(lh_ahead *a, bool (*ready)(lh_ahead *, const void *), const void *arg, long spin_ns)
{
	long until = 0;
	for (unsigned i = 0;; i++) {
		if (ready(a, arg))
			return;
		if ((i & 63) == 0) {
			long t = now_ns();
			if (!until)
				until = t + spin_ns;
			else if (t > until)
				break;
		}
		cpu_relax();
	}
	pthread_mutex_lock(&a->mu);
	while (!ready(a, arg))
		pthread_cond_wait(&a->cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
}

/* After a store the other side may sleep on: a side that saw the old value
 * under the mutex is inside pthread_cond_wait before we can broadcast. */
static void wake(lh_ahead *a)
{
	pthread_mutex_lock(&a->mu);
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* The queued item whose B section is next, if the thread has done its Z section
 * and nobody claimed it: with mu held, or as a hint without (then only atomics
 * are read). head <= j < next <= tail: slot j holds item j. */
static lh_ahead_item *b_candidate(lh_ahead *a, unsigned next)
{
	unsigned j = atomic_load_explicit(&a->b_next, memory_order_acquire);
	unsigned head = atomic_load_explicit(&a->head, memory_order_acquire);
	if (j - head >= next - head) /* j outside [head, next), in the counters' modular order */
		return NULL;
	lh_ahead_item *it = &a->items[j % LH_DEC_AHEAD];
	return atomic_load_explicit(&it->b_owner, memory_order_relaxed) == LH_AHEAD_B_OPEN ? it : NULL;
}

static bool have_work(lh_ahead *a, const void *arg)
{
	const unsigned *next = arg;
	return atomic_load_explicit(&a->tail, memory_order_acquire) != *next ||
	       atomic_load_explicit(&a->stop, memory_order_acquire) || b_candidate(a, *next);
}

static void *ahead_main(void *p)
{
	lh_ahead *a = p;
	for (unsigned next = 0;;) {
		wait_until(a, have_work, &next, SPIN_IDLE_NS);
		if (atomic_load_explicit(&a->stop, memory_order_acquire))
			return NULL; /* what is still queued will not be decoded */
		if (atomic_load_explicit(&a->tail, memory_order_acquire) != next) { /* Z first: it is the long pole */
			lh_ahead_item *it = &a->items[next++ % LH_DEC_AHEAD];
			a->z_fn(a->ctx, it);
			atomic_store_explicit(&it->done, true, memory_order_release);
			wake(a);
			continue;
		}
		pthread_mutex_lock(&a->mu);
		lh_ahead_item *it = b_candidate(a, next);
		if (it)
			atomic_store_explicit(&it->b_owner, LH_AHEAD_B_THREAD, memory_order_relaxed);
		pthread_mutex_unlock(&a->mu);
		if (!it)
			continue;
		unsigned seq = it->seq;
		a->b_fn(a->ctx, it);
		/* b_next first: once b_done is seen the decoder may pop the item and reuse its slot */
		atomic_store_explicit(&a->b_next, seq + 1, memory_order_release);
		atomic_store_explicit(&it->b_done, true, memory_order_release);
		wake(a);
	}
}

lh_ahead *lh_ahead_create(lh_ahead_fn z_fn, lh_ahead_fn b_fn, void *ctx)
{
	lh_ahead *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->z_fn = z_fn;
	a->b_fn = b_fn;
	a->ctx = ctx;
	atomic_init(&a->tail, 0);
	atomic_init(&a->head, 0);
	atomic_init(&a->b_next, 0);
	atomic_init(&a->stop, false);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if (lh_bg_thread_start(&a->thread, ahead_main, a) != 0) {
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		free(a);
		return NULL;
	}
	return a;
}

unsigned lh_ahead_queued(const lh_ahead *a)
{
	return a ? atomic_load_explicit(&a->tail, memory_order_relaxed) - atomic_load_explicit(&a->head, memory_order_relaxed)
		 : 0;
}

int lh_ahead_push(lh_ahead *a, const void *frame, size_t len)
{
	unsigned t = atomic_load_explicit(&a->tail, memory_order_relaxed);
	if (t - atomic_load_explicit(&a->head, memory_order_relaxed) == LH_DEC_AHEAD)
		return -LH_E_LIMIT;
	lh_ahead_item *it = &a->items[t % LH_DEC_AHEAD];
	it->frame = frame;
	it->len = len;
	it->seq = t;
	memset(&it->res, 0, sizeof(it->res));
	atomic_store_explicit(&it->b_owner, LH_AHEAD_B_OPEN, memory_order_relaxed); /* published by the tail's release */
	atomic_store_explicit(&it->done, false, memory_order_relaxed); /* published by the tail's release */
	atomic_store_explicit(&it->b_done, false, memory_order_relaxed);
	atomic_store_explicit(&a->tail, t + 1, memory_order_release);
	wake(a);
	return 0;
}

static bool item_done(lh_ahead *a, const void *arg)
{
	(void)a;
	return atomic_load_explicit(&((const lh_ahead_item *)arg)->done, memory_order_acquire);
}

static bool item_b_done(lh_ahead *a, const void *arg)
{
	(void)a;
	return atomic_load_explicit(&((const lh_ahead_item *)arg)->b_done, memory_order_acquire);
}

lh_ahead_item *lh_ahead_peek(lh_ahead *a)
{
	return lh_ahead_queued(a) ? &a->items[atomic_load_explicit(&a->head, memory_order_relaxed) % LH_DEC_AHEAD]
				  : NULL;
}

bool lh_ahead_claim_b(lh_ahead *a, lh_ahead_item *it)
{
	pthread_mutex_lock(&a->mu);
	if (atomic_load_explicit(&it->b_owner, memory_order_relaxed) == LH_AHEAD_B_OPEN)
		atomic_store_explicit(&it->b_owner, LH_AHEAD_B_DECODER, memory_order_relaxed);
	bool mine = atomic_load_explicit(&it->b_owner, memory_order_relaxed) == LH_AHEAD_B_DECODER;
	pthread_mutex_unlock(&a->mu);
	return mine;
}

void lh_ahead_wait(lh_ahead *a, lh_ahead_item *it)
{
	wait_until(a, item_done, it, SPIN_HEAD_NS);
}

void lh_ahead_wait_b(lh_ahead *a, lh_ahead_item *it)
{
	wait_until(a, item_b_done, it, SPIN_HEAD_NS);
}

void lh_ahead_b_passed(lh_ahead *a, unsigned seq)
{
	atomic_store_explicit(&a->b_next, seq + 1, memory_order_release);
	wake(a);
}

void lh_ahead_pop(lh_ahead *a)
{
	pthread_mutex_lock(&a->mu); /* b_candidate reads head under mu */
	atomic_store_explicit(&a->head, atomic_load_explicit(&a->head, memory_order_relaxed) + 1, memory_order_release);
	pthread_mutex_unlock(&a->mu);
}

void lh_ahead_free(lh_ahead *a)
{
	if (!a)
		return;
	atomic_store_explicit(&a->stop, true, memory_order_release);
	wake(a);
	pthread_join(a->thread, NULL); /* after the item it works on, if any: one Z section */
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
