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

#include "gateway/base/log.h"
#include "gateway/base/resolve.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_session.h"

static void wan_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct gw *gw = w->data;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	(void)loop;
	(void)revents;

	for (int i = 0; i < 16; i++) {
		int fd = accept4(gw->wan_listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("%s: accept", __func__);
			return;
		}
		unsigned npend = 0;
		for (struct wan_link *p = gw->pending; p; p = p->next_pending)
			npend++;
		if (npend >= 2 * WAN_MAX_LINKS) {
			log_warnx("wan: too many streams in handshake, refusing one");
			close(fd);
			continue;
		}
		struct wan_link *l = wan_link_new(gw, fd, 0, -1, 0);
		if (!l) {
			log_warnx("wan: cannot set up an incoming stream");
			continue;
		}
		if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
				NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			snprintf(l->peer, sizeof(l->peer), "%s:%s", host, serv);
		l->next_pending = gw->pending;
		gw->pending = l;
		log_debug("wan: incoming stream from %s", l->peer);
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
	if (bind(fd, (const struct sockaddr *)&ep->sa, ep->salen) < 0 || listen(fd, 64) < 0) {
		int e = errno;
		log_warn("wan: listen on %s", lh_endpoint_fmt(ep, buf, sizeof(buf)));
		close(fd);
		return -e;
	}
	gw->wan_listen_fd = fd;
	ev_io_init(&gw->wan_listen_io, wan_accept_cb, fd, EV_READ);
	gw->wan_listen_io.data = gw;
	ev_io_start(gw->loop, &gw->wan_listen_io);
	log_info("wan: listening on %s for peer %s", lh_endpoint_fmt(ep, buf, sizeof(buf)),
		 gw->cfg.wan.peer_name);
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
		close(gw->wan_listen_fd);
		gw->wan_listen_fd = -1;
	}
	wan_link_reap(gw);
}
