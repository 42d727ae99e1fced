/* SPDX-License-Identifier: MIT */
/*
 * The resolver (gateway/base/resolve.c): answers come back on the loop, never from inside lh_resolve_start;
 * a name that does not resolve gives an EAI code and a message; a cancelled request's callback never runs;
 * freeing the resolver with requests out does not wait for them.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gateway/base/log.h"
#include "gateway/base/resolve.h"

struct answer {
	int done, rc;
	int family;
	uint16_t port;
	char err[128];
};

static int pending;

static void got(void *ctx, int rc, const struct sockaddr_storage *ss, socklen_t sl, const char *err)
{
	struct answer *a = ctx;
	(void)sl;
	a->done = 1;
	a->rc = rc;
	if (rc == 0) {
		a->family = ss->ss_family;
		a->port = ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
						   : ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else
		snprintf(a->err, sizeof(a->err), "%s", err ? err : "");
	pending--;
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int on_loop;

int main(void)
{
	struct ev_loop *loop = ev_loop_new(0);
	char err[200];
	struct answer local = { 0 }, bad = { 0 }, cancelled = { 0 }, numeric = { 0 };
	ev_timer guard;

	log_init("test_resolve", LH_LOG_WARN, 1);
	struct lh_resolver *r = lh_resolver_new(loop, err, sizeof(err));
	CHECK(r != NULL);
	CHECK(lh_resolve_start(r, "localhost", 4444, got, &local) != NULL);
	CHECK(lh_resolve_start(r, "no-such-host.invalid", 1, got, &bad) != NULL);
	struct lh_resolve_req *q = lh_resolve_start(r, "localhost", 5555, got, &cancelled);
	CHECK(lh_resolve_start(r, "198.18.0.7", 7000, got, &numeric) != NULL);
	lh_resolve_cancel(r, q);
	pending = 3;
	CHECK(!local.done && !bad.done); /* never from inside the call */
	ev_timer_init(&guard, timeout_cb, 20.0, 0);
	ev_timer_start(loop, &guard);
	while (pending > 0 && ev_run(loop, EVRUN_ONCE))
		on_loop++;
	CHECK(pending == 0);
	CHECK(local.done && local.rc == 0 && (local.family == AF_INET || local.family == AF_INET6) && local.port == 4444);
	CHECK(bad.done && bad.rc != 0 && bad.err[0]);
	printf("no-such-host.invalid: rc %d (%s)\n", bad.rc, bad.err);
	CHECK(numeric.done && numeric.rc == 0 && numeric.family == AF_INET && numeric.port == 7000);
	/* the cancelled one may have been answered by now: its callback must not have run */
	ev_run(loop, EVRUN_NOWAIT);
	CHECK(!cancelled.done);
	/* requests still out at free: not waited for, callbacks never run */
	struct answer late = { 0 };
	lh_resolve_start(r, "localhost", 1, got, &late);
	lh_resolver_free(r, "test done");
	ev_timer_stop(loop, &guard);
	ev_run(loop, EVRUN_NOWAIT);
	CHECK(!late.done);
	ev_loop_destroy(loop);
	return check_report("test_resolve");
}
