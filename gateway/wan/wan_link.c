/* SPDX-License-Identifier: MIT */
/*
 * One WAN stream without its I/O: state, send queues (urgent and link messages before bulk, whole messages),
 * HELLO exchange and checks, keepalive. The bytes move in wan_io.c (TLS), or in a test's fake link.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/base/log.h"
#include "gateway/wan/wan.h"

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

void wan_link_set_state(struct wan_link *l, enum wan_link_state s, const char *why)
{
	if (l->state == s)
		return;
	log_debug("wan: stream %d (%s) %s -> %s: %s", l->idx, l->peer, link_state_names[l->state],
		  link_state_names[s], why);
	l->state = s;
}

void wan_refused_log(struct gw *gw, const char *peer, const char *why)
{
	char line[1200];
	if (lh_ratelog_note(&gw->wan_refusals, ev_now(gw->loop), peer, why, line, sizeof(line)))
		log_warnx("wan: incoming connection %s", line);
}

void wan_refused_flush(struct gw *gw)
{
	char line[1000];
	if (lh_ratelog_flush(&gw->wan_refusals, ev_now(gw->loop), line, sizeof(line)))
		log_warnx("wan: incoming connections: %s", line);
}

/*
 * A refused stream: the reason is kept for the status (wan_last_error) and logged as a warning once per
 * distinct reason (a peer refused for the same reason at every redial would flood the log), at debug after.
 * An incoming one not authenticated yet may be anyone, a flood of them too: at most a line a second.
 */
static void note_refusal(struct wan_link *l, const char *reason)
{
	struct gw *gw = l->gw;
	int again = strcmp(gw->wan_last_error, reason) == 0;

	snprintf(gw->wan_last_error, sizeof(gw->wan_last_error), "%s", reason);
	if (!l->is_client && l->state == WL_HANDSHAKE) {
		wan_refused_log(gw, l->peer, reason);
		return;
	}
	if (again)
		log_debug("wan: %s stream %d (%s) refused again: %s", l->is_client ? "outgoing" : "incoming", l->idx,
			  l->peer, reason);
	else
		log_warnx("wan: %s stream %d (%s) refused: %s", l->is_client ? "outgoing" : "incoming", l->idx,
			  l->peer, reason);
}

void wan_link_refused(struct wan_link *l, const char *reason)
{
	if (l->state != WL_HELLO && l->state != WL_DEAD)
		note_refusal(l, reason); /* wan_link_close notes a refusal in HELLO */
	wan_link_close(l, reason);
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
		note_refusal(l, reason);
	else
		log_debug("wan: stream %d (%s) closed in %s: %s", l->idx, l->peer,
			  link_state_names[l->state], reason);
	wan_link_set_state(l, WL_DEAD, reason);
	wan_link_io_close(l);
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
	free(l->body);
	l->body = NULL;
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

struct wan_out *wan_link_cur(struct wan_link *l)
{
	if (!l->cur) {
		l->cur = ptrq_pop(&l->q_urgent);
		if (l->cur)
			l->uqueued -= l->uqueued < l->cur->len ? l->uqueued : l->cur->len;
		if (!l->cur && l->state == WL_UP)
			l->cur = ptrq_pop(&l->q_bulk);
		l->cur_off = 0;
	}
	return l->cur;
}

void wan_link_wrote(struct wan_link *l, size_t n)
{
	l->cur_off += n;
	l->written += n;
	l->gw->st.wan_tx_bytes += n;
	if (l->cur_off == l->cur->len) {
		l->queued -= l->cur->len;
		wan_out_put(l->cur);
		l->cur = NULL;
	}
}

void wan_version_range(const struct gw *gw, uint32_t *lo, uint32_t *hi)
{
	*hi = gw->test_wan_version ? gw->test_wan_version : WAN_PROTO_VERSION;
	*lo = gw->test_wan_version_min ? gw->test_wan_version_min
				      : (*hi < WAN_PROTO_VERSION_MIN ? *hi : WAN_PROTO_VERSION_MIN);
}

/*
 * The peer's HELLO, before the session sees it. Versions: each side sends the range it speaks; the ranges
 * must overlap (else both refuse, naming both), and the stream speaks the lower of the two highest.
 */
static int link_hello_rx(struct wan_link *l, struct rx_msg *m)
{
	char err[200];
	struct wan_msg wm;
	uint32_t lo, hi;
	int r = -1;

	if (m->h.type != WAN_HELLO) {
		wan_link_close(l, "protocol: first message is not HELLO");
		goto out;
	}
	if (wan_msg_decode(WAN_HELLO, m->data, m->h.len, &wm, err, sizeof(err)) < 0) {
		wan_link_close(l, err);
		goto out;
	}
	wan_version_range(l->gw, &lo, &hi);
	if (wm.u.hello.version < lo || wm.u.hello.version_min > hi) {
		char peer[32];
		if (wm.u.hello.version_min == wm.u.hello.version)
			snprintf(peer, sizeof(peer), "%u", wm.u.hello.version);
		else
			snprintf(peer, sizeof(peer), "%u..%u", wm.u.hello.version_min, wm.u.hello.version);
		snprintf(err, sizeof(err), "peer speaks WAN protocol %s, we speak %u..%u", peer, lo, hi);
		/* the server answers first, so the client learns both ranges and says why as well */
		if (!l->is_client)
			wan_link_send_hello(l);
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
	l->version = wm.u.hello.version < hi ? wm.u.hello.version : hi; /* both sides pick the same */
	r = 0;
out:
	free(m);
	return r;
}

int wan_link_rx_hdr(struct wan_link *l, const uint8_t raw[WAN_HDR_LEN], struct wan_hdr *h)
{
	char why[200];
	if (wan_hdr_get(raw, h, why, sizeof(why)) < 0) {
		wan_link_close(l, why);
		return -1;
	}
	return 0;
}

int wan_link_rx(struct wan_link *l, struct rx_msg *m)
{
	if (l->state == WL_HELLO) {
		if (link_hello_rx(l, m) < 0)
			return -1;
		wan_sess_link_hello(l);
	} else {
		wan_sess_link_msg(l, m);
	}
	return l->state == WL_DEAD ? -1 : 0;
}

void wan_link_secured(struct wan_link *l)
{
	wan_link_set_state(l, WL_HELLO, "handshake done");
	if (l->is_client)
		wan_link_send_hello(l);
}

void wan_link_reap(struct gw *gw)
{
	struct wan_link *l;
	while ((l = gw->dead_links)) {
		gw->dead_links = l->next_pending;
		free(l);
	}
}

void wan_link_tick(struct wan_link *l, ev_tstamp now)
{
	if (l->state == WL_DEAD)
		return;
	if (l->state != WL_UP) {
		/* a black-holed SYN would otherwise wait for the kernel's retries (over a minute) */
		if (l->is_client && now - l->t_open > WAN_DIAL_DEADLINE)
			wan_link_close(l, "not up within 3 s of its dial (connect + TLS + HELLO)");
		return;
	}
	if (now - l->last_rx > WAN_DEAD_AFTER) {
		double ack = wan_link_ack_age(l);
		if (ack < 0 || ack > WAN_DEAD_AFTER) {
			wan_link_close(l, "no input for 2 s (dead peer or black-holed path)");
			return;
		}
		if (now - l->last_rx > WAN_PEER_HUNG) {
			wan_link_close(l, "no input for 10 s although the peer's kernel acknowledges (peer daemon hung)");
			return;
		}
	}
	if (now - l->last_ping >= WAN_PROBE_EVERY) {
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

void wan_link_init(struct wan_link *l, struct gw *gw, int is_client, int idx, enum wan_link_state st)
{
	l->gw = gw;
	l->fd = -1;
	l->is_client = is_client;
	l->idx = idx;
	l->state = st;
	l->last_rx = l->last_ping = l->t_open = ev_now(gw->loop);
	snprintf(l->peer, sizeof(l->peer), "%s", is_client ? gw->cfg.wan.peer_name : "incoming");
}
