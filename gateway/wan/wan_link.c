/* SPDX-License-Identifier: MIT */
/* One WAN stream: non-blocking TCP + TLS 1.3 on libev, HELLO exchange, whole-message send and receive. */
#include <errno.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/base/log.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_tls.h"

static const char *const link_state_names[] = {
	[WL_CONNECTING] = "connecting", [WL_HANDSHAKE] = "handshake", [WL_HELLO] = "hello",
	[WL_UP] = "up", [WL_DEAD] = "dead",
};

int ptrq_push(struct ptrq *q, void *p)
{
	if (q->n == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 64;
		void **v = malloc(nc * sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < q->n; i++)
			v[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = v;
		q->cap = nc;
		q->head = 0;
	}
	q->v[(q->head + q->n++) % q->cap] = p;
	return 0;
}

int ptrq_push_front(struct ptrq *q, void *p)
{
	if (ptrq_push(q, p) < 0)
		return -ENOMEM;
	/* rotate the new tail to the head */
	q->n--;
	q->head = (q->head + q->cap - 1) % q->cap;
	q->v[q->head] = p;
	q->n++;
	return 0;
}

void *ptrq_pop(struct ptrq *q)
{
	void *p;
	if (!q->n)
		return NULL;
	p = q->v[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	return p;
}

void *ptrq_at(const struct ptrq *q, size_t i)
{
	return i < q->n ? q->v[(q->head + i) % q->cap] : NULL;
}

void ptrq_free(struct ptrq *q)
{
	free(q->v);
	memset(q, 0, sizeof(*q));
}

struct wan_out *wan_out_new(int type, uint8_t space, uint64_t seq, const void *p1, size_t n1,
			    const void *p2, size_t n2)
{
	struct wan_out *o = malloc(sizeof(*o) + WAN_HDR_LEN + n1 + n2);
	struct wan_hdr h = { .type = (uint8_t)type, .space = space, .len = (uint32_t)(n1 + n2), .seq = seq };
	if (!o)
		return NULL;
	o->refs = 1;
	o->space = space;
	o->seq = seq;
	o->link = -1;
	o->len = WAN_HDR_LEN + n1 + n2;
	wan_hdr_put(o->data, &h);
	if (n1 && p1) /* p1 NULL: the caller fills the payload */
		memcpy(o->data + WAN_HDR_LEN, p1, n1);
	if (n2)
		memcpy(o->data + WAN_HDR_LEN + n1, p2, n2);
	return o;
}

void wan_out_put(struct wan_out *o)
{
	if (o && --o->refs == 0)
		free(o);
}

static void link_set_state(struct wan_link *l, enum wan_link_state s, const char *why)
{
	if (l->state == s)
		return;
	log_debug("wan: stream %d (%s) %s -> %s: %s", l->idx, l->peer, link_state_names[l->state],
		  link_state_names[s], why);
	l->state = s;
}

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

void wan_link_close(struct wan_link *l, const char *reason)
{
	struct gw *gw = l->gw;
	struct wan_out *o;

	if (l->state == WL_DEAD)
		return;

	if (l->state == WL_UP)
		log_info("wan: stream %d (%s) closed: %s", l->idx, l->peer, reason);
	else if (l->state == WL_HELLO)
		log_warnx("wan: stream %d (%s) refused: %s", l->idx, l->peer, reason);
	else
		log_debug("wan: stream %d (%s) closed in %s: %s", l->idx, l->peer,
			  link_state_names[l->state], reason);
	link_set_state(l, WL_DEAD, reason);
	ev_io_stop(gw->loop, &l->io);
	/* requeue our unacknowledged messages on the other streams first */
	wan_sess_link_lost(l);
	for (struct wan_link **pp = &gw->pending; *pp; pp = &(*pp)->next_pending)
		if (*pp == l) {
			*pp = l->next_pending;
			break;
		}
	wan_out_put(l->cur);
	while ((o = ptrq_pop(&l->q_urgent)))
		wan_out_put(o);
	while ((o = ptrq_pop(&l->q_bulk)))
		wan_out_put(o);
	ptrq_free(&l->q_urgent);
	ptrq_free(&l->q_bulk);
	if (l->ssl)
		SSL_free(l->ssl);
	if (l->fd >= 0)
		close(l->fd);
	free(l->body);
	l->body = NULL;
	l->ssl = NULL;
	l->fd = -1;
	/* freed by wan_tick: callers up the stack may still look at l->state */
	l->next_pending = gw->dead_links;
	gw->dead_links = l;
}

void wan_link_queue(struct wan_link *l, struct wan_out *o, int urgent)
{
	o->refs++;
	if ((urgent ? ptrq_push(&l->q_urgent, o) : ptrq_push(&l->q_bulk, o)) < 0) {
		o->refs--;
		wan_link_close(l, "out of memory queueing a message");
		return;
	}
	l->queued += o->len;
	if (urgent)
		l->uqueued += o->len;
	wan_link_kick(l);
}

void wan_link_send_hello(struct wan_link *l)
{
	uint8_t p[64];
	struct wan_hello h;
	struct wan_out *o;

	wan_sess_fill_hello(l->gw, &h, l->idx);
	o = wan_out_new(WAN_HELLO, WAN_SPACE_LINK, 0, p, wan_enc_hello(p, &h), NULL, 0);
	if (!o) {
		wan_link_close(l, "out of memory");
		return;
	}
	l->hello_sent = 1;
	/* HELLO goes before anything queued */
	if (ptrq_push_front(&l->q_urgent, o) < 0) {
		wan_out_put(o);
		wan_link_close(l, "out of memory");
		return;
	}
	l->queued += o->len;
	l->uqueued += o->len;
	wan_link_kick(l);
}

/* Writes queued messages until the socket is full. 0, or -1 when the link was closed. */
static int link_write(struct wan_link *l)
{
	struct gw *gw = l->gw;
	char why[300];

	for (;;) {
		if (!l->cur) {
			l->cur = ptrq_pop(&l->q_urgent);
			if (l->cur)
				l->uqueued -= l->uqueued < l->cur->len ? l->uqueued : l->cur->len;
			if (!l->cur && l->state == WL_UP)
				l->cur = ptrq_pop(&l->q_bulk);
			l->cur_off = 0;
			if (!l->cur)
				break;
		}
		ERR_clear_error();
		int n = SSL_write(l->ssl, l->cur->data + l->cur_off, (int)(l->cur->len - l->cur_off));
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
		l->cur_off += (size_t)n;
		l->written += (size_t)n;
		gw->st.wan_tx_bytes += (size_t)n;
		if (l->cur_off == l->cur->len) {
			l->queued -= l->cur->len;
			wan_out_put(l->cur);
			l->cur = NULL;
		}
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

static int link_hello_rx(struct wan_link *l, struct rx_msg *m)
{
	char err[200];
	struct wan_msg wm;
	int r = -1;

	if (m->h.type != WAN_HELLO) {
		wan_link_close(l, "protocol: first message is not HELLO");
		goto out;
	}
	if (wan_msg_decode(WAN_HELLO, m->data, m->h.len, &wm, err, sizeof(err)) < 0) {
		wan_link_close(l, err);
		goto out;
	}
	if (wm.u.hello.version != WAN_PROTO_VERSION) {
		snprintf(err, sizeof(err), "peer speaks protocol version %u, we speak %u", wm.u.hello.version,
			 WAN_PROTO_VERSION);
		wan_link_close(l, err);
		goto out;
	}
	if (wm.u.hello.store_mb != l->gw->cfg.codec.store_mb) {
		snprintf(err, sizeof(err), "peer store_mb %u differs from ours (%u): [codec] store_mb must match",
			 wm.u.hello.store_mb, l->gw->cfg.codec.store_mb);
		wan_link_close(l, err);
		goto out;
	}
	if (wm.u.hello.stream_index >= WAN_MAX_LINKS || !wm.u.hello.session) {
		wan_link_close(l, "protocol: HELLO with a bad stream index or session id");
		goto out;
	}
	l->peer_hello = wm.u.hello;
	r = 0;
out:
	free(m);
	return r;
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
			if (wan_hdr_get(l->hdr, &l->h, why, sizeof(why)) < 0) {
				wan_link_close(l, why);
				return -1;
			}
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
		if (l->state == WL_HELLO) {
			if (link_hello_rx(l, m) < 0)
				return -1;
			wan_sess_link_hello(l);
			if (l->state == WL_DEAD)
				return -1;
		} else {
			wan_sess_link_msg(l, m);
			if (l->state == WL_DEAD)
				return -1;
		}
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
		log_warnx("wan: %s stream %d with %s refused: %s", l->is_client ? "outgoing" : "incoming",
			  l->idx, l->peer, why);
		wan_link_close(l, why);
		return;
	}
	wan_tls_peer_cn(l->ssl, cn, sizeof(cn));
	log_debug("wan: stream %d with %s: TLS up (%s, %s), peer %s", l->idx, l->peer,
		  SSL_get_version(l->ssl), SSL_get_cipher(l->ssl), cn);
	link_set_state(l, WL_HELLO, "handshake done");
	if (l->is_client)
		wan_link_send_hello(l);
	else
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
		link_set_state(l, WL_HANDSHAKE, "connected");
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

void wan_link_reap(struct gw *gw)
{
	struct wan_link *l;
	while ((l = gw->dead_links)) {
		gw->dead_links = l->next_pending;
		free(l);
	}
}

void wan_link_kick(struct wan_link *l)
{
	if (l->state == WL_UP || l->state == WL_HELLO)
		link_write(l);
	else if (l->state == WL_HANDSHAKE)
		link_watch(l, EV_READ | EV_WRITE);
}

void wan_link_tick(struct wan_link *l, ev_tstamp now)
{
	if (l->state != WL_UP)
		return;
	if (now - l->last_rx > WAN_DEAD_AFTER) {
		wan_link_close(l, "no input for 10 s (dead peer or path)");
		return;
	}
	if (now - l->last_ping > 2.0) {
		uint8_t p[8];
		struct wan_out *o = wan_out_new(WAN_PING, WAN_SPACE_LINK, 0, p, wan_enc_ping(p, (uint64_t)(ev_time() * 1e3)),
						NULL, 0);
		l->last_ping = now;
		if (o) {
			wan_link_queue(l, o, 1);
			wan_out_put(o);
		}
	}
}

struct wan_link *wan_link_new(struct gw *gw, int fd, int is_client, int idx, int connecting)
{
	struct wan_link *l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return NULL;
	}
	l->gw = gw;
	l->fd = fd;
	l->is_client = is_client;
	l->idx = idx;
	l->state = connecting ? WL_CONNECTING : WL_HANDSHAKE;
	l->last_rx = l->last_ping = ev_now(gw->loop);
	snprintf(l->peer, sizeof(l->peer), "%s", is_client ? gw->cfg.wan.peer_name : "incoming");
	wan_sock_tune(fd, &gw->cfg, idx, gw->notsent_lowat);
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
