/* SPDX-License-Identifier: MIT */
/* The codec's helper threads: the decoder's look-ahead (wan_dec_ahead.c), the encoder's zstd worker (enc_worker.c). */
#ifndef LH_BG_THREAD_H
#define LH_BG_THREAD_H

#include <pthread.h>

/* pthread_create for a thread that takes no signals: the application's handlers run on its own
 * threads (lhcodec's SIGBUS handler, longhauld's libev signal watchers). 0 or an errno. */
int lh_bg_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
