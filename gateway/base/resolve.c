/* SPDX-License-Identifier: MIT */
/* Name resolution on a worker thread; answers handed back to the loop by ev_async (resolve.h). */
#include "gateway/base/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/base/log.h"

enum resolve_state {
	RESOLVE_QUEUED = 0, /* waiting for the worker */
	RESOLVE_RUNNING,    /* in getaddrinfo */
	RESOLVE_DONE,       /* answered, waiting for the loop */
};

struct lh_resolve_req {
	struct lh_resolve_req *next;
	enum resolve_state state;
	int cancelled; /* loop side only */
	char host[256];
	char port[8];
	lh_resolve_cb cb;
	void *ctx;
	int rc;
	struct sockaddr_storage ss;
	socklen_t sl;
};

enum resolver_state {
	RESOLVER_RUNNING = 0,
	RESOLVER_STOPPING, /* freed by the loop: the worker frees what is left and ends */
};

struct lh_resolver {
	struct ev_loop *loop;
	ev_async answered;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	enum resolver_state state;
	struct lh_resolve_req *todo, **todo_tail, *done;
};

static void resolve_free_list(struct lh_resolve_req *q)
{
	while (q) {
		struct lh_resolve_req *n = q->next;
		free(q);
		q = n;
	}
}

static void resolve_run(struct lh_resolve_req *q)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;

	q->rc = getaddrinfo(q->host, q->port, &hints, &ai);
	if (q->rc != 0)
		return;
	memcpy(&q->ss, ai->ai_addr, ai->ai_addrlen);
	q->sl = ai->ai_addrlen;
	freeaddrinfo(ai);
}

/* The worker owns the resolver once the loop let it go (RESOLVER_STOPPING): it frees it on the way out. */
static void *resolve_worker(void *arg)
{
	struct lh_resolver *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->todo && r->state == RESOLVER_RUNNING)
			pthread_cond_wait(&r->wake, &r->mu);
		if (r->state != RESOLVER_RUNNING)
			break;
		struct lh_resolve_req *q = r->todo;
		r->todo = q->next;
		if (!r->todo)
			r->todo_tail = &r->todo;
		q->state = RESOLVE_RUNNING;
		pthread_mutex_unlock(&r->mu);
		resolve_run(q);
		pthread_mutex_lock(&r->mu);
		q->state = RESOLVE_DONE;
		q->next = r->done;
		r->done = q;
		if (r->state == RESOLVER_RUNNING)
			ev_async_send(r->loop, &r->answered);
	}
	resolve_free_list(r->todo);
	resolve_free_list(r->done);
	pthread_mutex_unlock(&r->mu);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->mu);
	free(r);
	return NULL;
}

static void resolve_answered_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct lh_resolver *r = w->data;
	(void)loop;
	(void)revents;

	pthread_mutex_lock(&r->mu);
	struct lh_resolve_req *q = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->mu);
	while (q) {
		struct lh_resolve_req *n = q->next;
		if (!q->cancelled)
			q->cb(q->ctx, q->rc, q->rc ? NULL : &q->ss, q->sl, q->rc ? gai_strerror(q->rc) : NULL);
		free(q);
		q = n;
	}
}

struct lh_resolver *lh_resolver_new(struct ev_loop *loop, char *err, size_t errlen)
{
	struct lh_resolver *r = calloc(1, sizeof(*r));
	sigset_t all, old;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->loop = loop;
	r->todo_tail = &r->todo;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->wake, NULL);
	ev_async_init(&r->answered, resolve_answered_cb);
	r->answered.data = r;
	/* the worker must not take the daemon's signals */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&r->thread, NULL, resolve_worker, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, errlen, "resolver thread: %s", strerror(rc));
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->mu);
		free(r);
		return NULL;
	}
	pthread_detach(r->thread);
	ev_async_start(loop, &r->answered);
	return r;
}

void lh_resolver_free(struct lh_resolver *r, const char *reason)
{
	if (!r)
		return;
	log_debug("resolver: stopping: %s", reason);
	ev_async_stop(r->loop, &r->answered);
	pthread_mutex_lock(&r->mu);
	r->state = RESOLVER_STOPPING; /* from here the worker owns r */
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->mu);
}

struct lh_resolve_req *lh_resolve_start(struct lh_resolver *r, const char *host, uint16_t port, lh_resolve_cb cb,
					void *ctx)
{
	struct lh_resolve_req *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	snprintf(q->host, sizeof(q->host), "%s", host);
	snprintf(q->port, sizeof(q->port), "%u", port);
	q->cb = cb;
	q->ctx = ctx;
	pthread_mutex_lock(&r->mu);
	*r->todo_tail = q;
	r->todo_tail = &q->next;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->mu);
	return q;
}

void lh_resolve_cancel(struct lh_resolver *r, struct lh_resolve_req *q)
{
	(void)r;
	if (q)
		q->cancelled = 1; /* read only by the loop (resolve_answered_cb), which frees q */
}
