/* SPDX-License-Identifier: MIT */
/*
 * Name resolution off the event loop: getaddrinfo runs on a worker thread, the answer comes back to the loop
 * through an ev_async, so that a slow or dead DNS server never stalls the daemon (the WAN peer, a migration's
 * destination). One request at a time on the worker; requests queue behind it.
 */
#ifndef LH_GATEWAY_RESOLVE_H
#define LH_GATEWAY_RESOLVE_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct lh_resolver;
struct lh_resolve_req;

/* The answer, on the loop: rc 0 with the first TCP address, or an EAI_* code and err (gai_strerror). */
typedef void (*lh_resolve_cb)(void *ctx, int rc, const struct sockaddr_storage *ss, socklen_t sl,
			      const char *err);

struct lh_resolver *lh_resolver_new(struct ev_loop *loop, char *err, size_t errlen);
/* Answers not yet delivered are dropped; a getaddrinfo still running finishes on its own (not waited for). */
void lh_resolver_free(struct lh_resolver *r, const char *reason);

/* Queues host:port; cb runs later on the loop, never from inside this call. NULL: out of memory. */
struct lh_resolve_req *lh_resolve_start(struct lh_resolver *r, const char *host, uint16_t port, lh_resolve_cb cb,
					void *ctx);
/* The caller goes away: cb is not called for q (q is freed when the worker is done with it). */
void lh_resolve_cancel(struct lh_resolver *r, struct lh_resolve_req *q);

#endif
