/* SPDX-License-Identifier: MIT */
/* Routes: a LAN listener at the source gateway + the destination host:port as seen from the peer. */
#ifndef LH_GATEWAY_ROUTE_H
#define LH_GATEWAY_ROUTE_H

#include <ev.h>
#include <stddef.h>

#include "gateway/base/config.h"
#include "gateway/gw.h"

struct mig;

struct route {
	struct gw *gw;
	struct route *next;
	struct lh_route_cfg cfg;
	int dynamic;          /* added through the control socket (kept across reloads) */
	int oneshot;          /* migrate-add with from: closed once its migration ended done or failed */
	int expired;          /* oneshot, its migration ended: routes_tick closes it */
	int fd;
	ev_io io;
	struct mig *cur;      /* migration new channels join */
	unsigned long migrations;
	unsigned long refused;          /* connections refused (not from an allowed address, ...) */
	ev_tstamp refuse_logged;        /* refusals are logged at most once a second */
	unsigned long refuse_unlogged;  /* refused since the last line */
	char refuse_last[240];          /* the last of those: from where, why */
};

/* Binds and listens; NULL with the reason in err. */
struct route *route_add(struct gw *gw, const struct lh_route_cfg *rc, int dynamic, char *err, size_t errlen);
/* The one teardown: stops listening; running migrations of the route go on. */
void route_close(struct route *r, const char *reason);
struct route *route_find(struct gw *gw, const char *name);
/* SIGHUP: routes from new_cfg replace the static ones (unchanged ones keep their listener). */
void routes_reload(struct gw *gw, const struct lh_config *new_cfg);
/* "tcp:ADDR:PORT" for QEMU. */
const char *route_uri(const struct route *r, char *buf, size_t len);
/* Refuses a connection on the route (reset, not a clean close: QEMU fails at once): counted, logged at most
 * once a second with the count of the others, so a flood cannot fill the log. */
void route_refuse(struct route *r, int fd, const char *peer, const char *why);
/* Once a second at most: the refusals not logged yet, as one line per route (from the migrations' tick). */
void routes_tick(struct gw *gw);
/* Stops accepting on every route (drain). */
void routes_stop_accepting(struct gw *gw);

#endif
