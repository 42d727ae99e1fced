/* SPDX-License-Identifier: MIT */
/* The codec's helper threads (bg_thread.h). */
#include <signal.h>
#include "bg_thread.h"

int lh_bg_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits the mask */
	int rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
