/* SPDX-License-Identifier: MIT */
/* A WAN stream's I/O: non-blocking TCP + TLS 1.3 on libev, whole messages in and out (wan_link.c does the rest). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/base/log.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_tls.h"

static void link_watch(struct wan_link *l, int events)
{
	if (events == l->io_events)
		return;
	ev_io_stop(l->gw->loop, &l->io);
	ev_io_set(&l->io, l->fd, events);
	l->io_events = events;
	if (events)
		ev_io_start(l->gw->loop, &l->io);
}

void wan_link_io_close(struct wan_link *l)
{
	ev_io_stop(l->gw->loop, &l->io);
	if (l->ssl)
		SSL_free(l->ssl);
	if (l->fd >= 0)
		close(l->fd);
	l->ssl = NULL;
	l->fd = -1;
}

size_t wan_link_unsent(const struct wan_link *l)
{
	int unsent = 0;
	if (l->fd < 0 || ioctl(l->fd, SIOCOUTQNSD, &unsent) < 0 || unsent < 0)
		return 0;
	return (size_t)unsent;
}

double wan_link_ack_age(const struct wan_link *l)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	if (l->fd < 0 || getsockopt(l->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || len < sizeof(ti))
		return -1;
	return ti.tcpi_last_ack_recv / 1000.0;
}

/* Writes queued messages until the socket is full. 0, or -1 when the link was closed. */
static int link_write(struct wan_link *l)
{
	struct gw *gw = l->gw;
	char why[300];
	struct wan_out *o;

	while ((o = wan_link_cur(l))) {
		ERR_clear_error();
		int n = SSL_write(l->ssl, o->data + l->cur_off, (int)(o->len - l->cur_off));
		if (n <= 0) {
			int e = SSL_get_error(l->ssl, n);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				link_watch(l, EV_READ | EV_WRITE);
				return 0;
			}
			wan_tls_failure(l->ssl, n, why, sizeof(why));
			wan_link_close(l, why);
			return -1;
		}
		wan_link_wrote(l, (size_t)n);
		if (gw->test_kill_all && gw->st.wan_tx_bytes >= gw->test_kill_all_after && l->state == WL_UP) {
			gw->test_kill_all = 0;
			log_warnx("wan: TEST fault injection: killing all WAN streams after %llu bytes",
				  (unsigned long long)gw->st.wan_tx_bytes);
			wan_kill_all_links(gw, "test: LH_TEST_KILL_ALL_STREAMS");
			return -1;
		}
		if (gw->test_kill_stream == l->idx && l->written >= gw->test_kill_after && l->state == WL_UP) {
			gw->test_kill_stream = -1;
			log_warnx("wan: TEST fault injection: killing stream %d after %llu bytes", l->idx,
				  (unsigned long long)l->written);
			shutdown(l->fd, SHUT_RDWR);
			wan_link_close(l, "test: LH_TEST_KILL_STREAM");
			return -1;
		}
	}
	link_watch(l, EV_READ);
	if (l->state == WL_UP)
		wan_sess_link_writable(l);
	return 0;
}

/* Reads whole messages until the socket is empty. 0, or -1 when the link was closed. */
static int link_read(struct wan_link *l)
{
	struct gw *gw = l->gw;
	char why[300];
	size_t budget = 32u << 20;

	/*
	 * After the budget, stop at a TLS record boundary: without read-ahead,
	 * OpenSSL holds no more than the current record, so whatever is left sits
	 * in the socket and the (level-triggered) watcher brings us back after
	 * the other watchers had their turn.
	 */
	while (budget || SSL_pending(l->ssl) > 0 || l->hdr_got || l->body) {
		uint8_t *dst;
		size_t want;
		if (l->hdr_got < WAN_HDR_LEN) {
			dst = l->hdr + l->hdr_got;
			want = WAN_HDR_LEN - l->hdr_got;
		} else {
			dst = l->body + sizeof(struct rx_msg) + l->body_got;
			want = l->h.len - l->body_got;
		}
		int n = want ? SSL_read(l->ssl, dst, (int)want) : 0;
		if (want && n <= 0) {
			int e = SSL_get_error(l->ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return 0;
			if (e == SSL_ERROR_ZERO_RETURN)
				snprintf(why, sizeof(why), "peer closed the stream");
			else
				wan_tls_failure(l->ssl, n, why, sizeof(why));
			wan_link_close(l, why);
			return -1;
		}
		l->last_rx = ev_now(gw->loop);
		gw->st.wan_rx_bytes += (size_t)n;
		budget = budget > (size_t)n ? budget - (size_t)n : 0;
		if (l->hdr_got < WAN_HDR_LEN) {
			l->hdr_got += (size_t)n;
			if (l->hdr_got < WAN_HDR_LEN)
				continue;
			if (wan_link_rx_hdr(l, l->hdr, &l->h) < 0)
				return -1;
			l->body = malloc(sizeof(struct rx_msg) + l->h.len);
			if (!l->body) {
				wan_link_close(l, "out of memory receiving a message");
				return -1;
			}
			l->body_got = 0;
			if (l->h.len)
				continue;
		} else {
			l->body_got += (size_t)n;
			if (l->body_got < l->h.len)
				continue;
		}
		/* one whole message */
		struct rx_msg *m = (struct rx_msg *)l->body;
		m->h = l->h;
		l->body = NULL;
		l->hdr_got = 0;
		if (wan_link_rx(l, m) < 0)
			return -1;
	}
	return 0;
}

static void link_handshake(struct wan_link *l)
{
	char why[300], cn[128];
	ERR_clear_error();
	int r = SSL_do_handshake(l->ssl);
	if (r != 1) {
		int e = SSL_get_error(l->ssl, r);
		if (e == SSL_ERROR_WANT_READ) {
			link_watch(l, EV_READ);
			return;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			link_watch(l, EV_READ | EV_WRITE);
			return;
		}
		wan_tls_failure(l->ssl, r, why, sizeof(why));
		l->gw->st.tls_refused++;
		wan_link_refused(l, why);
		return;
	}
	if (!l->is_client) /* authenticated now: the buffers a stream needs (wan_sock_pre_auth until here) */
		wan_sock_tune(l->fd, &l->gw->cfg, l->idx, l->gw->notsent_lowat);
	wan_tls_peer_cn(l->ssl, cn, sizeof(cn));
	log_debug("wan: stream %d with %s: TLS up (%s, %s), peer %s", l->idx, l->peer,
		  SSL_get_version(l->ssl), SSL_get_cipher(l->ssl), cn);
	wan_link_secured(l);
	if (!l->is_client)
		link_watch(l, EV_READ);
}

static void wan_link_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wan_link *l = w->data;
	(void)loop;

	if (l->state == WL_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			char why[128];
			snprintf(why, sizeof(why), "connect: %s", strerror(err ? err : errno));
			wan_link_close(l, why);
			return;
		}
		wan_link_set_state(l, WL_HANDSHAKE, "connected");
	}
	if (l->state == WL_HANDSHAKE) {
		link_handshake(l);
		if (l->state != WL_HELLO)
			return;
	}
	if ((revents & EV_READ) && link_read(l) < 0)
		return;
	link_write(l);
}

void wan_kill_all_links(struct gw *gw, const char *reason)
{
	struct wan_session *s = gw->sess;
	if (!s)
		return;
	/* every socket first, so no message requeued by one close is written to a stream about to die */
	for (unsigned i = 0; i < s->nlinks; i++)
		if (s->links[i] && s->links[i]->fd >= 0)
			shutdown(s->links[i]->fd, SHUT_RDWR);
	for (unsigned i = 0; i < s->nlinks && gw->sess == s; i++)
		if (s->links[i])
			wan_link_close(s->links[i], reason);
}

void wan_link_kick(struct wan_link *l)
{
	if (l->state == WL_UP || l->state == WL_HELLO)
		link_write(l);
	else if (l->state == WL_HANDSHAKE)
		link_watch(l, EV_READ | EV_WRITE);
}

struct wan_link *wan_link_new(struct gw *gw, int fd, int is_client, int idx, int connecting)
{
	struct wan_link *l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return NULL;
	}
	wan_link_init(l, gw, is_client, idx, connecting ? WL_CONNECTING : WL_HANDSHAKE);
	l->fd = fd;
	if (is_client)
		wan_sock_tune(fd, &gw->cfg, idx, gw->notsent_lowat); /* before connect: its SYN sets the window scale */
	else
		wan_sock_pre_auth(fd);
	l->ssl = wan_tls_new(gw->ssl, fd, is_client, gw->cfg.wan.peer_name);
	if (!l->ssl) {
		close(fd);
		free(l);
		return NULL;
	}
	ev_io_init(&l->io, wan_link_io_cb, fd, 0);
	l->io.data = l;
	if (connecting)
		link_watch(l, EV_WRITE);
	else
		link_watch(l, EV_READ | EV_WRITE);
	return l;
}
