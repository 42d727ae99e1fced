/* SPDX-License-Identifier: MIT */
/* WAN sockets: listener and accept (server), dialing a stream (client); start and stop. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/base/log.h"
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
	} else {
		/* a DNS name: resolved per dial (the resolver may block briefly; numeric peers never do) */
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
		char port[8];
		snprintf(port, sizeof(port), "%u", ep->port);
		if (getaddrinfo(ep->host, port, &hints, &ai) != 0) {
			log_warnx("wan: cannot resolve peer %s", ep->host);
			gw->sess->redial_at[idx] = ev_now(gw->loop) + wan_redial_delay();
			return;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sl = ai->ai_addrlen;
		freeaddrinfo(ai);
	}
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
	while (gw->pending)
		wan_link_close(gw->pending, reason);
	if (gw->wan_listen_fd >= 0) {
		ev_io_stop(gw->loop, &gw->wan_listen_io);
		close(gw->wan_listen_fd);
		gw->wan_listen_fd = -1;
	}
	wan_link_reap(gw);
}
