/* SPDX-License-Identifier: MIT */
/* WAN sockets: listener and accept (server), dialing a stream (client); start and stop. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/base/allow.h"
#include "gateway/base/log.h"
#include "gateway/base/resolve.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_admit.h"
#include "gateway/wan/wan_tls.h"
#include "gateway/wan/wan_session.h"

/* Refused at accept, before any TLS or buffer: a reset (no FIN handshake or TIME_WAIT kept for it). */
static void accept_refuse(struct gw *gw, int fd, const char *peer, const char *why)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	wan_refused_log(gw, peer, why);
}

/* Room for one more pending connection from src: the one wan_admit_victim picks is dropped, if any. */
static void accept_make_room(struct gw *gw, const struct ns_ip *src)
{
	struct wan_admit_ent e[WAN_ADMIT_GLOBAL];
	struct wan_link *by[WAN_ADMIT_GLOBAL];
	size_t n = 0;
	int v;

	for (struct wan_link *p = gw->pending; p && n < WAN_ADMIT_GLOBAL; p = p->next_pending) {
		e[n].src = p->src;
		e[n].t_open = p->t_open;
		by[n++] = p;
	}
	v = wan_admit_victim(e, n, src, wan_admit_per_src(gw->cfg.wan.streams), WAN_ADMIT_GLOBAL);
	if (v >= 0)
		wan_link_refused(by[v], ns_ip_equal(&by[v]->src, src)
						? "displaced by a newer connection from its address (too many pending)"
						: "displaced: too many pending connections, most from its address");
}

/*
 * accept ran out of descriptors (or kernel memory): the connection stays in the backlog and the listener
 * would be readable at once again, a busy loop. It rests WAN_ACCEPT_PAUSE s; closing streams frees some.
 */
static void accept_pause(struct gw *gw, int err)
{
	char why[160];

	ev_io_stop(gw->loop, &gw->wan_listen_io);
	ev_timer_set(&gw->wan_accept_pause, WAN_ACCEPT_PAUSE, 0);
	ev_timer_start(gw->loop, &gw->wan_accept_pause);
	snprintf(why, sizeof(why), "accept: %s (the listener rests %.0f ms)", strerror(err), WAN_ACCEPT_PAUSE * 1e3);
	wan_refused_log(gw, "the backlog", why);
}

static void accept_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct gw *gw = w->data;
	(void)revents;
	if (gw->wan_listen_fd >= 0)
		ev_io_start(loop, &gw->wan_listen_io);
}

/* One accepted connection: allowed? room made, a stream in handshake on the pending list. */
static void accept_one(struct gw *gw, int fd, const struct sockaddr_storage *ss, socklen_t sl)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV], peer[sizeof(((struct wan_link *)0)->peer)];
	struct ns_ip src = wan_admit_src((const struct sockaddr *)ss);

	if (getnameinfo((const struct sockaddr *)ss, sl, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(host, sizeof(host), "?");
	snprintf(peer, sizeof(peer), "%s:%s", host, serv);
	if (gw->cfg.wan.allow.n && !lh_allow_match(&gw->cfg.wan.allow, (const struct sockaddr *)ss)) {
		accept_refuse(gw, fd, peer, "not in [wan] allow");
		return;
	}
	accept_make_room(gw, &src);
	struct wan_link *l = wan_link_new(gw, fd, 0, -1, 0);
	if (!l) {
		wan_refused_log(gw, peer, "cannot set up an incoming stream (out of memory?)");
		return;
	}
	l->src = src;
	snprintf(l->peer, sizeof(l->peer), "%s", peer);
	l->next_pending = gw->pending;
	gw->pending = l;
	log_debug("wan: incoming stream from %s", l->peer);
}

static void wan_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct gw *gw = w->data;
	(void)loop;
	(void)revents;

	/* a batch, then the other watchers: a flood is refused in batches, without starving the streams */
	for (int i = 0; i < WAN_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(gw->wan_listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_pause(gw, errno);
			else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("%s: accept", __func__);
			return;
		}
		accept_one(gw, fd, &ss, sl);
	}
}

static int listen_on(struct gw *gw)
{
	const struct lh_endpoint *ep = &gw->cfg.wan.listen;
	int one = 1;
	char buf[300];
	int fd = socket(ep->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	wan_sock_listen_tune(fd, &gw->cfg); /* before listen: the window scale of every accepted stream */
	/* a deep backlog (the kernel caps it at net.core.somaxconn): while it is full, the peer's SYNs are dropped */
	if (bind(fd, (const struct sockaddr *)&ep->sa, ep->salen) < 0 || listen(fd, WAN_LISTEN_BACKLOG) < 0) {
		int e = errno;
		log_warn("wan: listen on %s", lh_endpoint_fmt(ep, buf, sizeof(buf)));
		close(fd);
		return -e;
	}
	gw->wan_listen_fd = fd;
	ev_io_init(&gw->wan_listen_io, wan_accept_cb, fd, EV_READ);
	gw->wan_listen_io.data = gw;
	ev_io_start(gw->loop, &gw->wan_listen_io);
	ev_timer_init(&gw->wan_accept_pause, accept_resume_cb, WAN_ACCEPT_PAUSE, 0);
	gw->wan_accept_pause.data = gw;
	log_info("wan: listening on %s for peer %s", lh_endpoint_fmt(ep, buf, sizeof(buf)),
		 gw->cfg.wan.peer_name);
	if (!gw->cfg.wan.allow.n)
		log_warnx("wan: [wan] allow is unset: any address may open connections to %s (set it to the peer "
			  "gateway's address)", lh_endpoint_fmt(ep, buf, sizeof(buf)));
	return 0;
}

/*
 * [wan] peer as a DNS name: resolved on the resolver's thread (the loop never waits for DNS). One answer serves
 * the streams dialed together; the last good address is kept, so that a DNS failure during a WAN outage does
 * not keep the pair apart when the peer is still where it was.
 */
#define WAN_DNS_FRESH_S 5.0  /* an answer this young is dialed without asking again */
#define WAN_DNS_POLL_S 0.05  /* a stream slot waiting for the answer looks again after this */

enum wan_dns_state {
	WAN_DNS_IDLE = 0, /* no request out */
	WAN_DNS_ASKING,   /* a request on the resolver */
};

struct wan_dns {
	enum wan_dns_state state;
	struct lh_resolve_req *q;
	ev_tstamp answer_at;       /* when use was set; 0: nothing to dial */
	struct sockaddr_storage use, last_good;
	socklen_t use_len, last_good_len;
	int failing;               /* the last answer was a failure (logged once per run of them) */
};

static void wan_dns_delay_slots(struct gw *gw)
{
	if (!gw->sess)
		return;
	for (unsigned i = 0; i < WAN_MAX_LINKS; i++)
		gw->sess->redial_at[i] = ev_now(gw->loop) + wan_redial_delay();
}

static void wan_dns_answer(void *ctx, int rc, const struct sockaddr_storage *ss, socklen_t sl, const char *err)
{
	struct gw *gw = ctx;
	struct wan_dns *d = gw->wan_dns;
	const char *host = gw->cfg.wan.peer.host;
	char addr[NI_MAXHOST] = "?";

	d->state = WAN_DNS_IDLE;
	d->q = NULL;
	if (rc == 0) {
		d->use = d->last_good = *ss;
		d->use_len = d->last_good_len = sl;
		d->answer_at = ev_now(gw->loop);
		if (d->failing)
			log_info("wan: peer %s resolves again", host);
		d->failing = 0;
		return;
	}
	if (d->last_good_len) {
		getnameinfo((struct sockaddr *)&d->last_good, d->last_good_len, addr, sizeof(addr), NULL, 0,
			    NI_NUMERICHOST);
		d->use = d->last_good;
		d->use_len = d->last_good_len;
		d->answer_at = ev_now(gw->loop);
		if (!d->failing)
			log_warnx("wan: cannot resolve peer %s (%s): dialing its last good address %s", host, err, addr);
	} else {
		d->answer_at = 0;
		if (!d->failing)
			log_warnx("wan: cannot resolve peer %s (%s)", host, err);
		wan_dns_delay_slots(gw);
	}
	d->failing = 1;
}

/* The peer's address for slot idx: 1 with ss filled, or 0 (asked; the slot looks again later). */
static int wan_dns_address(struct gw *gw, unsigned idx, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct wan_dns *d = gw->wan_dns;
	ev_tstamp now = ev_now(gw->loop);

	if (!d && !(d = gw->wan_dns = calloc(1, sizeof(*d)))) {
		gw->sess->redial_at[idx] = now + wan_redial_delay();
		return 0;
	}
	if (d->answer_at && now - d->answer_at < WAN_DNS_FRESH_S) {
		*ss = d->use;
		*sl = d->use_len;
		return 1;
	}
	if (d->state == WAN_DNS_IDLE) {
		if (!gw->resolver || !(d->q = lh_resolve_start(gw->resolver, gw->cfg.wan.peer.host,
							       gw->cfg.wan.peer.port, wan_dns_answer, gw))) {
			log_warnx("wan: cannot ask for peer %s: no resolver", gw->cfg.wan.peer.host);
			gw->sess->redial_at[idx] = now + wan_redial_delay();
			return 0;
		}
		d->state = WAN_DNS_ASKING;
	}
	gw->sess->redial_at[idx] = now + WAN_DNS_POLL_S;
	return 0;
}

static void wan_dns_free(struct gw *gw, const char *reason)
{
	struct wan_dns *d = gw->wan_dns;
	if (!d)
		return;
	if (d->state == WAN_DNS_ASKING) {
		log_debug("wan: peer resolution dropped: %s", reason);
		lh_resolve_cancel(gw->resolver, d->q);
	}
	free(d);
	gw->wan_dns = NULL;
}

/* Starts a non-blocking connect for stream slot idx of the client session. */
void wan_dial(struct gw *gw, unsigned idx)
{
	const struct lh_endpoint *ep = &gw->cfg.wan.peer;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	if (ep->numeric) {
		ss = ep->sa;
		sl = ep->salen;
	} else if (!wan_dns_address(gw, idx, &ss, &sl))
		return; /* a DNS name: resolved off the loop; the slot dials when the answer is there */
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("wan: socket");
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		log_debug("wan: connect stream %u: %s", idx, strerror(errno));
		close(fd);
		gw->sess->redial_at[idx] = ev_now(gw->loop) + wan_redial_delay();
		return;
	}
	struct wan_link *l = wan_link_new(gw, fd, 1, (int)idx, 1);
	if (!l) {
		gw->sess->redial_at[idx] = ev_now(gw->loop) + wan_redial_delay();
		return;
	}
	gw->sess->links[idx] = l;
}

int wan_start(struct gw *gw)
{
	int r;
	gw->wan_listen_fd = -1;
	if (lh_endpoint_set(&gw->cfg.wan.listen) && (r = listen_on(gw)) < 0)
		return r;
	if (lh_endpoint_set(&gw->cfg.wan.peer)) {
		char buf[300];
		wan_session_fail(gw, "start"); /* creates the client session */
		if (!gw->sess)
			return -ENOMEM;
		log_info("wan: dialing %s (%u streams, peer name %s)",
			 lh_endpoint_fmt(&gw->cfg.wan.peer, buf, sizeof(buf)), gw->cfg.wan.streams,
			 gw->cfg.wan.peer_name);
	}
	return 0;
}

void wan_stop(struct gw *gw, const char *reason)
{
	gw->draining = 1;
	wan_session_fail(gw, reason);
	wan_dns_free(gw, reason);
	while (gw->pending)
		wan_link_close(gw->pending, reason);
	if (gw->wan_listen_fd >= 0) {
		ev_io_stop(gw->loop, &gw->wan_listen_io);
		ev_timer_stop(gw->loop, &gw->wan_accept_pause);
		close(gw->wan_listen_fd);
		gw->wan_listen_fd = -1;
	}
	wan_link_reap(gw);
}
