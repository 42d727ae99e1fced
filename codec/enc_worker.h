/* SPDX-License-Identifier: MIT */
/* Jobs run in order on a background thread: the encoder's zstd worker (wan_batch.c). */
#ifndef LH_ENC_WORKER_H
#define LH_ENC_WORKER_H

typedef void (*lh_worker_fn)(void *arg, unsigned seq);
typedef struct lh_worker lh_worker;

/* Starts the thread; NULL when it cannot (the caller then runs its jobs itself). after (may be
 * NULL) is called on the thread once each job counts as done (lh_worker_done). */
lh_worker *lh_worker_start(lh_worker_fn fn, void (*after)(void *arg), void *arg);
/* Queues the next job: the thread calls fn(arg, seq) for seq = 0, 1, 2... in order. The caller
 * bounds how many are outstanding (it owns the jobs' data). */
void lh_worker_submit(lh_worker *w);
/* How many jobs have finished; what they wrote is visible to the caller once counted here. */
unsigned lh_worker_done(lh_worker *w);
/* Until at least count jobs have finished. */
void lh_worker_wait(lh_worker *w, unsigned count);
/* Waits for every queued job, ends the thread and frees w (NULL: nothing). */
void lh_worker_stop(lh_worker *w);

#endif
