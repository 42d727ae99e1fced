/* SPDX-License-Identifier: MIT */
/* Jobs run in order on a background thread (enc_worker.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include "bg_thread.h"
#include "enc_worker.h"

/*
 * The encoder hands over one DATA frame's compression per job (a few
 * milliseconds of zstd for a 1 MiB frame), so a condition variable per
 * handover costs little next to the work; no spinning.
 */
struct lh_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned submitted;     /* under mu */
	bool quit;              /* under mu */
	atomic_uint done;       /* written by the thread, under mu; read without it */
	lh_worker_fn fn;
	void (*after)(void *arg);
	void *arg;
};

static void *worker_main(void *p)
{
	lh_worker *w = p;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		unsigned seq = atomic_load_explicit(&w->done, memory_order_relaxed);
		if (seq == w->submitted) {
			if (w->quit)
				break;
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		pthread_mutex_unlock(&w->mu);
		w->fn(w->arg, seq);
		pthread_mutex_lock(&w->mu);
		atomic_store_explicit(&w->done, seq + 1, memory_order_release);
		pthread_cond_broadcast(&w->cv);
		if (w->after) {
			pthread_mutex_unlock(&w->mu);
			w->after(w->arg);
			pthread_mutex_lock(&w->mu);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

lh_worker *lh_worker_start(lh_worker_fn fn, void (*after)(void *arg), void *arg)
{
	lh_worker *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->fn = fn;
	w->after = after;
	w->arg = arg;
	atomic_init(&w->done, 0);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (lh_bg_thread_start(&w->thread, worker_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

void lh_worker_submit(lh_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->submitted++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

unsigned lh_worker_done(lh_worker *w) { return atomic_load_explicit(&w->done, memory_order_acquire); }

void lh_worker_wait(lh_worker *w, unsigned count)
{
	if ((int)(lh_worker_done(w) - count) >= 0)
		return;
	pthread_mutex_lock(&w->mu);
	while ((int)(atomic_load_explicit(&w->done, memory_order_relaxed) - count) < 0)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void lh_worker_stop(lh_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
