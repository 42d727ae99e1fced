/* SPDX-License-Identifier: MIT */
/* Routes: LAN listeners that accept QEMU's migration connections and hand them to migrations. */
#include "gateway/mig/route.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/base/log.h"
#include "gateway/mig/keep.h"
#include "gateway/mig/migration.h"
#include "gateway/wan/wan_session.h"

static void route_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct route *r = w->data;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], serv[NI_MAXSERV], peer[300];
	(void)loop;
	(void)revents;

	for (int i = 0; i < 16; i++) {
		int fd = accept4(r->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("route %s: accept", r->cfg.name);
			return;
		}
		if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
				NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			snprintf(host, sizeof(host), "?");
		snprintf(peer, sizeof(peer), "%s:%s", host, serv);
		/* before anything is read or allocated for it: the route's own list, else the gateway's */
		const struct lh_allow *al = r->cfg.allow.n ? &r->cfg.allow : &r->gw->cfg.lan_allow;
		if (al->n && !lh_allow_match(al, (struct sockaddr *)&ss))
			route_refuse(r, fd, peer, r->cfg.allow.n ? "not in the route's allow" : "not in [gateway] lan_allow");
		else
			mig_src_accept(r->gw, r, fd, host, peer);
		sl = sizeof(ss);
	}
}

struct route *route_add(struct gw *gw, const struct lh_route_cfg *rc, int dynamic, char *err, size_t errlen)
{
	struct route *r;
	int one = 1, fd;
	char buf[300];

	if (route_find(gw, rc->name)) {
		snprintf(err, errlen, "route %s exists", rc->name);
		return NULL;
	}
	fd = socket(rc->listen.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "route %s: socket: %s", rc->name, strerror(errno));
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&rc->listen.sa, rc->listen.salen) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "route %s: listen on %s: %s", rc->name,
			 lh_endpoint_fmt(&rc->listen, buf, sizeof(buf)), strerror(errno));
		close(fd);
		return NULL;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->gw = gw;
	r->cfg = *rc;
	r->dynamic = dynamic;
	r->fd = fd;
	/* a listen port of 0 picks one: remember the real one for the URI */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		r->cfg.listen.sa = ss;
		r->cfg.listen.salen = sl;
		r->cfg.listen.port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
								    : ((struct sockaddr_in *)&ss)->sin_port);
	}
	ev_io_init(&r->io, route_accept_cb, fd, EV_READ);
	r->io.data = r;
	ev_io_start(gw->loop, &r->io);
	r->next = gw->routes;
	gw->routes = r;
	log_info("route %s: %s -> %s%s", r->cfg.name, route_uri(r, buf, sizeof(buf)),
		 lh_endpoint_fmt(&r->cfg.to, buf + 150, 150), dynamic ? " (dynamic)" : "");
	cpipe_prepare_encoder(gw);
	return r;
}

void route_refuse(struct route *r, int fd, const char *peer, const char *why)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	ev_tstamp now = ev_now(r->gw->loop);

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	r->refused++;
	if (now - r->refuse_logged < 1.0) {
		r->refuse_unlogged++;
		snprintf(r->refuse_last, sizeof(r->refuse_last), "from %s: %s", peer, why);
		return;
	}
	log_warnx("route %s: refusing QEMU connection from %s: %s", r->cfg.name, peer, why);
	r->refuse_logged = now;
}

void routes_tick(struct gw *gw)
{
	ev_tstamp now = ev_now(gw->loop);
	char err[300];
	for (struct route *r = gw->routes, *next; r; r = next) {
		next = r->next;
		if (r->expired) {
			/* a one-shot route served its migration: it goes, and so does its state-file record */
			if (gw->keep && keep_del(gw->keep, KEEP_ROUTE, r->cfg.name, err, sizeof(err)) < 0)
				log_warnx("route %s: state file: %s: a restart would bring this route back", r->cfg.name, err);
			route_close(r, "one-shot route: its migration ended");
			continue;
		}
		if (!r->refuse_unlogged || now - r->refuse_logged < 1.0)
			continue;
		log_warnx("route %s: refused %lu more QEMU connections in the last %.0f s (the last %s)", r->cfg.name,
			  r->refuse_unlogged, now - r->refuse_logged, r->refuse_last);
		r->refuse_logged = now;
		r->refuse_unlogged = 0;
	}
}

void route_close(struct route *r, const char *reason)
{
	struct gw *gw = r->gw;
	for (struct route **pp = &gw->routes; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	log_info("route %s: closed: %s", r->cfg.name, reason);
	if (r->fd >= 0) {
		ev_io_stop(gw->loop, &r->io);
		close(r->fd);
	}
	mig_fail_route(gw, r, NULL); /* detach running migrations (NULL: they go on) */
	free(r);
}

struct route *route_find(struct gw *gw, const char *name)
{
	for (struct route *r = gw->routes; r; r = r->next)
		if (!strcmp(r->cfg.name, name))
			return r;
	return NULL;
}

static int same_route(const struct lh_route_cfg *a, const struct lh_route_cfg *b)
{
	return a->listen.salen == b->listen.salen && !memcmp(&a->listen.sa, &b->listen.sa, a->listen.salen) &&
	       !strcmp(a->to.host, b->to.host) && a->to.port == b->to.port;
}

void routes_reload(struct gw *gw, const struct lh_config *nc)
{
	char err[300];
	struct route *r, *next;

	for (r = gw->routes; r; r = next) {
		next = r->next;
		if (r->dynamic)
			continue;
		size_t i;
		for (i = 0; i < nc->n_routes; i++)
			if (!strcmp(nc->routes[i].name, r->cfg.name) && same_route(&nc->routes[i], &r->cfg))
				break;
		if (i == nc->n_routes)
			route_close(r, "removed or changed by reload");
		else
			r->cfg = nc->routes[i]; /* same listener and destination; identity (mac, ip, segment) may change */
	}
	for (size_t i = 0; i < nc->n_routes; i++)
		if (!route_find(gw, nc->routes[i].name) && !route_add(gw, &nc->routes[i], 0, err, sizeof(err)))
			log_warnx("reload: %s", err);
}

const char *route_uri(const struct route *r, char *buf, size_t len)
{
	char ep[300];
	snprintf(buf, len, "tcp:%s", lh_endpoint_fmt(&r->cfg.listen, ep, sizeof(ep)));
	return buf;
}

void routes_stop_accepting(struct gw *gw)
{
	for (struct route *r = gw->routes; r; r = r->next)
		if (r->fd >= 0) {
			ev_io_stop(gw->loop, &r->io);
			close(r->fd);
			r->fd = -1;
		}
}
