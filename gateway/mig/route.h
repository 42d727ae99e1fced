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
	int fd;
	ev_io io;
	struct mig *cur;      /* migration new channels join */
	unsigned long migrations;
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
/* Stops accepting on every route (drain). */
void routes_stop_accepting(struct gw *gw);

#endif
