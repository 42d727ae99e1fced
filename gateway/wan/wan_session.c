/* SPDX-License-Identifier: MIT */
/* WAN session: N streams, per-space sequence numbers, replay buffer, reorder window, acks, the tick. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "gateway/base/json.h"
#include "gateway/base/log.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_session.h"

static const char *const sess_state_names[] = { [WS_UP] = "up", [WS_DEGRADED] = "degraded", [WS_DOWN] = "down" };

static void sess_set_state(struct wan_session *s, enum wan_sess_state st, const char *why)
{
	if (s->state == st)
		return;
	log_info("wan: session %016llx %s -> %s: %s", (unsigned long long)s->id, sess_state_names[s->state],
		 sess_state_names[st], why);
	s->state = st;
}

unsigned wan_links_up(const struct gw *gw)
{
	unsigned n = 0;
	if (!gw->sess)
		return 0;
	for (unsigned i = 0; i < gw->sess->nlinks; i++)
		if (gw->sess->links[i] && gw->sess->links[i]->state == WL_UP)
			n++;
	return n;
}

int wan_ready(const struct gw *gw) { return wan_links_up(gw) > 0; }
double wan_down_for(const struct gw *gw)
{
	const struct wan_session *s = gw->sess;
	return s && s->state == WS_DOWN ? ev_now(gw->loop) - s->down_since : 0;
}
uint64_t wan_session_id(const struct gw *gw) { return gw->sess ? gw->sess->id : 0; }
int wan_session_is_client(const struct gw *gw) { return gw->sess && gw->sess->is_client; }
uint32_t wan_peer_flags(const struct gw *gw) { return gw->sess ? gw->sess->peer_flags : 0; }
uint32_t wan_session_version(const struct gw *gw) { return gw->sess ? gw->sess->version : 0; }
const char *wan_last_error(const struct gw *gw) { return gw->wan_last_error; }

uint64_t wan_peer_window(const struct gw *gw)
{
	uint32_t kib = gw->sess && gw->sess->peer_window_kib ? gw->sess->peer_window_kib : WAN_WINDOW_KIB;
	return (uint64_t)kib << 10;
}

static void update_state(struct wan_session *s)
{
	unsigned up = wan_links_up(s->gw);
	if (!up) {
		if (s->state != WS_DOWN)
			s->down_since = ev_now(s->gw->loop);
		sess_set_state(s, WS_DOWN, "no stream up");
	} else if (up < s->nlinks) {
		sess_set_state(s, WS_DEGRADED, "some streams down");
	} else {
		sess_set_state(s, WS_UP, "all streams up");
	}
}

void wan_set_events(struct gw *gw, const struct wan_events *ev)
{
	gw->wan_ev = ev;
}

static struct wan_session *sess_new(struct gw *gw, uint64_t id, int is_client)
{
	struct wan_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->gw = gw;
	s->id = id;
	s->is_client = is_client;
	s->state = WS_DOWN;
	s->pressure = 50;
	s->down_since = ev_now(gw->loop);
	s->nlinks = is_client ? gw->cfg.wan.streams : 0;
	s->replay_max = (size_t)(gw->cfg.wan.max_replay_mb ? gw->cfg.wan.max_replay_mb : 256) << 20;
	while (!s->incarnation && getrandom(&s->incarnation, sizeof(s->incarnation), 0) != sizeof(s->incarnation))
		;
	for (int i = 1; i < 3; i++) {
		s->tx[i].next_seq = 1;
		s->rx[i].next = 1;
		s->rx[i].ring = calloc(WAN_RING, sizeof(*s->rx[i].ring));
	}
	if (!s->rx[1].ring || !s->rx[2].ring) {
		log_warnx("wan: cannot create a session: out of memory");
		goto fail;
	}
	if (gw->wan_ev->session_new(gw->wan_ev->ctx, id) < 0)
		goto fail; /* logged by the layer above */
	log_info("wan: session %016llx created (%s)", (unsigned long long)id, is_client ? "client" : "server");
	return s;
fail:
	free(s->rx[1].ring);
	free(s->rx[2].ring);
	free(s);
	return NULL;
}

/* The one teardown of a session: the layer above hears it first (its migrations fail), streams close. */
static void sess_close(struct gw *gw, const char *reason)
{
	struct wan_session *s = gw->sess;
	struct wan_out *o;

	if (!s)
		return;
	log_info("wan: session %016llx closed: %s", (unsigned long long)s->id, reason);
	gw->sess_gen++;
	/* first: what the layer above took ahead (frame_ahead) still points into rx[].ring */
	gw->wan_ev->session_closed(gw->wan_ev->ctx, reason);
	gw->sess = NULL; /* wan_sess_link_lost must not requeue any more */
	for (unsigned i = 0; i < WAN_MAX_LINKS; i++)
		if (s->links[i])
			wan_link_close(s->links[i], "session closed");
	for (int i = 1; i < 3; i++) {
		while ((o = ptrq_pop(&s->tx[i].replay)))
			wan_out_put(o);
		ptrq_free(&s->tx[i].replay);
		for (unsigned k = 0; k < WAN_RING; k++)
			free(s->rx[i].ring[k]);
		free(s->rx[i].ring);
	}
	free(s);
}

void wan_session_fail(struct gw *gw, const char *reason)
{
	int client = lh_endpoint_set(&gw->cfg.wan.peer);
	sess_close(gw, reason);
	if (client && !gw->draining) {
		uint64_t id = 0;
		while (!id && getrandom(&id, sizeof(id), 0) != sizeof(id))
			;
		gw->sess = sess_new(gw, id ? id : 1, 1);
	}
}

/* Least-queued stream that is up, or NULL. */
static struct wan_link *pick_link(struct wan_session *s)
{
	struct wan_link *best = NULL;
	/* ties (all streams idle) rotate, so every stream carries its share */
	s->rr++;
	for (unsigned k = 0; k < s->nlinks; k++) {
		struct wan_link *l = s->links[(s->rr + k) % s->nlinks];
		if (l && l->state == WL_UP && (!best || l->queued < best->queued))
			best = l;
	}
	return best;
}

/*
 * The stream where an urgent message goes out soonest: it waits only for the
 * urgent messages queued there, the rest of the message being written and
 * what the kernel holds unsent (bulk queued behind them does not count:
 * urgent goes first).
 */
static struct wan_link *pick_link_urgent(struct wan_session *s)
{
	struct wan_link *best = NULL;
	size_t best_wait = 0;
	s->rr++;
	for (unsigned k = 0; k < s->nlinks; k++) {
		struct wan_link *l = s->links[(s->rr + k) % s->nlinks];
		if (!l || l->state != WL_UP)
			continue;
		/* what the kernel holds not yet sent goes first too (at most TCP_NOTSENT_LOWAT) */
		size_t wait = l->uqueued + (l->cur ? l->cur->len - l->cur_off : 0) + wan_link_unsent(l);
		if (!best || wait < best_wait) {
			best = l;
			best_wait = wait;
		}
	}
	return best;
}

static void assign(struct wan_session *s, struct wan_out *o)
{
	struct wan_link *l = o->space == WAN_SPACE_BULK ? pick_link(s) : pick_link_urgent(s);
	o->link = l ? l->idx : -1;
	if (l)
		wan_link_queue(l, o, o->space != WAN_SPACE_BULK);
}

/* Queues a sequenced message: replay buffer + a stream. */
static int sess_push(struct wan_session *s, struct wan_out *o)
{
	struct tx_space *t = &s->tx[o->space];
	if (ptrq_push(&t->replay, o) < 0) {
		wan_out_put(o);
		return -ENOMEM;
	}
	t->replay_bytes += o->len;
	assign(s, o);
	return 0;
}

static int replay_room(const struct wan_session *s)
{
	const struct tx_space *t = &s->tx[WAN_SPACE_BULK];
	return t->replay_bytes < s->replay_max && t->replay.n < WAN_RING - 256;
}

int wan_replay_room(const struct gw *gw)
{
	return gw->sess && replay_room(gw->sess);
}

int wan_bulk_room(const struct gw *gw)
{
	struct wan_session *s = gw->sess;
	if (!s || !replay_room(s))
		return 0;
	/* the least-queued stream, as pick_link would choose (without moving its round-robin start) */
	for (unsigned k = 0; k < s->nlinks; k++) {
		struct wan_link *l = s->links[k];
		if (l && l->state == WL_UP && l->queued < WAN_LINK_QMAX)
			return 1;
	}
	return 0;
}

struct wan_out *wan_frame_new(struct gw *gw, size_t n)
{
	if (!gw->sess)
		return NULL;
	/* the sequence number is given at wan_frame_send: nothing may take one in between */
	return wan_out_new(WAN_FRAME, WAN_SPACE_BULK, 0, NULL, n, NULL, 0);
}

uint8_t *wan_frame_payload(struct wan_out *o)
{
	return o->data + WAN_HDR_LEN;
}

void wan_frame_drop(struct wan_out *o)
{
	wan_out_put(o);
}

int wan_frame_send(struct gw *gw, struct wan_out *o)
{
	struct wan_session *s = gw->sess;
	if (!s) {
		wan_out_put(o);
		return -ENOTCONN;
	}
	struct wan_hdr h = { .type = WAN_FRAME, .space = WAN_SPACE_BULK, .len = (uint32_t)(o->len - WAN_HDR_LEN) };
	h.seq = o->seq = s->tx[WAN_SPACE_BULK].next_seq++;
	wan_hdr_put(o->data, &h);
	gw->st.frames_tx++;
	return sess_push(s, o);
}

int wan_urgent_room(struct gw *gw)
{
	struct wan_session *s = gw->sess;
	const struct tx_space *t = s ? &s->tx[WAN_SPACE_URGENT] : NULL;
	return t && t->replay.n < WAN_RING / 2 && t->replay_bytes < (64u << 20);
}

int wan_send(struct gw *gw, int type, const void *p1, size_t n1, const void *p2, size_t n2)
{
	struct wan_session *s = gw->sess;
	int space = wan_type_space(type);
	struct wan_out *o;

	if (!s)
		return -ENOTCONN;
	if (space == WAN_SPACE_BULK)
		gw->wan_ev->before_bulk(gw->wan_ev->ctx); /* keep order with the frames produced so far */
	o = wan_out_new(type, (uint8_t)space, space ? s->tx[space].next_seq : 0, p1, n1, p2, n2);
	if (!o)
		return -ENOMEM;
	if (space == WAN_SPACE_LINK) {
		struct wan_link *l = pick_link(s);
		if (l)
			wan_link_queue(l, o, 1);
		wan_out_put(o);
		return 0;
	}
	s->tx[space].next_seq++;
	return sess_push(s, o);
}

/* Cumulative acknowledgement from the peer: forget what it has. */
static void sess_acked(struct wan_session *s, int space, uint64_t upto)
{
	struct tx_space *t = &s->tx[space];
	struct wan_out *o;
	if (upto >= t->next_seq)
		upto = t->next_seq - 1; /* never trust more than we sent */
	while ((o = ptrq_at(&t->replay, 0)) && o->seq <= upto) {
		ptrq_pop(&t->replay);
		t->replay_bytes -= o->len;
		wan_out_put(o);
	}
	if (upto > t->acked)
		t->acked = upto;
}

/* Requeues replay entries that sit on no live stream (stream lost, or none was up). */
static void requeue(struct wan_session *s, int from_link)
{
	for (int sp = 1; sp < 3; sp++) {
		struct tx_space *t = &s->tx[sp];
		for (size_t i = 0; i < t->replay.n; i++) {
			struct wan_out *o = ptrq_at(&t->replay, i);
			if (o->link == from_link) {
				/*
				 * With no stream up, assign() leaves it unassigned (link -1): the
				 * next stream that comes up takes every such message. Never leave
				 * one tagged with the dead stream: no one would ever resend it.
				 */
				if (from_link >= 0)
					s->gw->st.resent++;
				assign(s, o);
			}
		}
	}
}

void wan_sess_fill_hello(struct gw *gw, struct wan_hello *h, int idx)
{
	struct wan_session *s = gw->sess;
	memset(h, 0, sizeof(*h));
	wan_version_range(gw, &h->version_min, &h->version);
	h->session = s ? s->id : 0;
	h->stream_index = (uint16_t)idx;
	h->streams = (uint16_t)(s ? s->nlinks : 0);
	h->store_mb = gw->cfg.codec.store_mb;
	h->rx_next[WAN_SPACE_BULK] = s ? s->rx[WAN_SPACE_BULK].next : 1;
	h->rx_next[WAN_SPACE_URGENT] = s ? s->rx[WAN_SPACE_URGENT].next : 1;
	h->window_kib = WAN_WINDOW_KIB;
	h->flags = (s && s->hello_new ? WAN_HELLO_NEW_SESSION : 0) | WAN_HELLO_CODEC_TRANSFORMS | WAN_HELLO_OUTCOMES |
		   (gw->test_no_codec_epoch ? 0 : WAN_HELLO_CODEC_EPOCH);
	h->incarnation = s ? s->incarnation : 0;
}

static void link_up(struct wan_session *s, struct wan_link *l)
{
	struct gw *gw = s->gw;
	l->state = WL_UP;
	gw->st.links_up++;
	gw->wan_last_error[0] = 0;
	if (!s->version) {
		s->version = l->version;
		log_info("wan: session %016llx speaks WAN protocol %u", (unsigned long long)s->id, s->version);
	}
	log_info("wan: stream %d up (session %016llx, %u of %u up)", l->idx, (unsigned long long)s->id,
		 wan_links_up(gw), s->nlinks);
	s->peer_window_kib = l->peer_hello.window_kib;
	if (!s->peer_incarnation)
		s->peer_incarnation = l->peer_hello.incarnation;
	/* the peer's receive position is an acknowledgement */
	sess_acked(s, WAN_SPACE_BULK, l->peer_hello.rx_next[WAN_SPACE_BULK] - 1);
	sess_acked(s, WAN_SPACE_URGENT, l->peer_hello.rx_next[WAN_SPACE_URGENT] - 1);
	update_state(s);
	requeue(s, -1);
	s->peer_flags = l->peer_hello.flags & ~WAN_HELLO_NEW_SESSION;
	gw->wan_ev->link_up(gw->wan_ev->ctx, l->peer_hello.flags);
}

void wan_sess_link_hello(struct wan_link *l)
{
	struct gw *gw = l->gw;
	struct wan_hello *h = &l->peer_hello;
	struct wan_session *s;
	int created = 0;

	if (l->is_client) {
		s = gw->sess;
		if (!s || h->session != s->id) {
			wan_link_close(l, "peer answered with another session id");
			return;
		}
		if (s->version && l->version != s->version) {
			char why[120];
			snprintf(why, sizeof(why), "stream speaks WAN protocol %u, its session %u", l->version, s->version);
			wan_link_close(l, why);
			return;
		}
		/*
		 * NEW_SESSION comes on the first stream the peer attached, and the
		 * streams' HELLOs reach us in any order: at session start, frames may
		 * already have moved on a stream whose HELLO came first (the encoder
		 * sends its codec HELLO as soon as a stream is up). So NEW with moved
		 * state means lost state only once a stream of ours has died, which
		 * a restart or a session failure at the peer always causes.
		 */
		if ((h->flags & WAN_HELLO_NEW_SESSION) && s->links_lost &&
		    (s->tx[1].next_seq > 1 || s->rx[1].next > 1 || s->tx[2].next_seq > 1 || s->rx[2].next > 1)) {
			/* the peer lost our session's state: both codecs must start fresh */
			wan_session_fail(gw, "peer lost the session state (restart or session failure)");
			return;
		}
		/*
		 * The same, told for sure: the peer answers from another session object than before (its HELLO
		 * with NEW_SESSION may have been lost with the stream that carried it, and the next answer has
		 * no NEW: without this, both sides would go on with sequence spaces that do not match).
		 */
		if (h->incarnation && s->peer_incarnation && h->incarnation != s->peer_incarnation) {
			wan_session_fail(gw, "peer lost the session state (it answers from a new session)");
			return;
		}
		link_up(s, l);
		return;
	}
	/* server: attach to the session the client names */
	if (gw->sess && gw->sess->is_client) {
		wan_link_close(l, "we dial this peer ([wan] peer is set); refusing its session");
		return;
	}
	if (gw->sess && gw->sess->id != h->session)
		sess_close(gw, "peer started a new session");
	if (!gw->sess) {
		if (gw->draining) {
			wan_link_close(l, "draining: no new session");
			return;
		}
		if (!(gw->sess = sess_new(gw, h->session, 0))) {
			wan_link_close(l, "cannot create a session");
			return;
		}
		created = 1;
	}
	s = gw->sess;
	if (s->version && l->version != s->version) {
		char why[120];
		snprintf(why, sizeof(why), "stream speaks WAN protocol %u, its session %u", l->version, s->version);
		wan_link_close(l, why);
		return;
	}
	for (struct wan_link **pp = &gw->pending; *pp; pp = &(*pp)->next_pending)
		if (*pp == l) {
			*pp = l->next_pending;
			break;
		}
	if (s->links[h->stream_index])
		wan_link_close(s->links[h->stream_index], "replaced by a new stream with the same index");
	l->idx = h->stream_index;
	s->links[l->idx] = l;
	if ((unsigned)l->idx + 1 > s->nlinks)
		s->nlinks = (unsigned)l->idx + 1;
	if (h->streams > s->nlinks && h->streams <= WAN_MAX_LINKS)
		s->nlinks = h->streams;
	s->hello_new = created;
	wan_link_send_hello(l);
	s->hello_new = 0;
	if (l->state == WL_DEAD)
		return; /* the write failed: the stream is already closed and accounted for */
	link_up(s, l);
}

void wan_sess_link_lost(struct wan_link *l)
{
	struct gw *gw = l->gw;
	struct wan_session *s = gw->sess;

	if (!s || l->idx < 0 || l->idx >= WAN_MAX_LINKS || s->links[l->idx] != l)
		return;
	s->links[l->idx] = NULL;
	if (l->peer_hello.session)
		s->links_lost++;
	if (l->state == WL_DEAD && l->hello_sent)
		gw->st.links_lost++;
	/* about every second, jittered so that the streams of both gateways do not dial in lockstep after an
	 * outage: a session within its outage budget resumes within about a second of the path's return */
	s->redial_at[l->idx] = ev_now(gw->loop) + wan_redial_delay();
	update_state(s);
	requeue(s, l->idx);
}

void wan_sess_link_writable(struct wan_link *l)
{
	l->gw->wan_ev->room(l->gw->wan_ev->ctx);
}

static void send_ack(struct wan_session *s)
{
	uint8_t p[16];
	uint64_t b = s->rx[WAN_SPACE_BULK].next - 1, u = s->rx[WAN_SPACE_URGENT].next - 1;
	s->rx[1].since_ack = s->rx[2].since_ack = 0;
	s->rx[1].bytes_since_ack = s->rx[2].bytes_since_ack = 0;
	s->ack_sent[1] = b;
	s->ack_sent[2] = u;
	s->last_ack_tx = ev_now(s->gw->loop);
	wan_send(s->gw, WAN_ACK, p, wan_enc_ack(p, b, u), NULL, 0);
}

/* Applies one in-order sequenced message. Returns -1 when the session went away. */
static int apply(struct gw *gw, struct rx_msg *m)
{
	const struct wan_events *ev = gw->wan_ev;
	char err[200];
	struct wan_msg wm;

	if (m->h.type == WAN_FRAME) {
		gw->st.frames_rx++;
		return ev->frame(ev->ctx, m->data, m->h.len, m->h.seq);
	}
	if (wan_msg_decode(m->h.type, m->data, m->h.len, &wm, err, sizeof(err)) < 0) {
		wan_session_fail(gw, err);
		return -1;
	}
	ev->msg(ev->ctx, &wm);
	return 0;
}

/*
 * With a backlog (the frame after the next one is here already), the frames
 * that are next in order are offered to the layer above for work ahead (the
 * decoder's look-ahead thread decompresses them on a second core while the
 * loop decodes the one before). A frame that comes alone is only applied.
 * They stay in the ring, unchanged, until apply() hands them on.
 */
static void offer_ahead(struct gw *gw, struct wan_session *s, struct rx_space *r)
{
	struct rx_msg *after = r->ring[(r->next + 1) % WAN_RING];
	if (!after || after->h.type != WAN_FRAME)
		return;
	if (s->ahead < r->next)
		s->ahead = r->next;
	for (int k = 0; k <= WAN_AHEAD_MAX && s->ahead < r->next + WAN_RING; k++) {
		struct rx_msg *m = r->ring[s->ahead % WAN_RING];
		if (!m)
			return;
		if (m->h.type == WAN_FRAME && gw->wan_ev->frame_ahead(gw->wan_ev->ctx, m->data, m->h.len) != 1)
			return; /* a bad one is reported in its turn; a refused one is applied in line */
		gw->st.frames_rx_ahead += m->h.type == WAN_FRAME;
		s->ahead++;
	}
}

static void sequenced(struct gw *gw, struct wan_link *l, struct rx_msg *m)
{
	struct wan_session *s = gw->sess;
	struct rx_space *r = &s->rx[m->h.space];
	char err[160];

	if (m->h.seq < r->next || r->ring[m->h.seq % WAN_RING]) {
		gw->st.dup_rx++;
		free(m);
		return;
	}
	if (m->h.seq >= r->next + WAN_RING) {
		snprintf(err, sizeof(err), "protocol: seq %llu beyond the reorder window (next %llu)",
			 (unsigned long long)m->h.seq, (unsigned long long)r->next);
		free(m);
		wan_link_close(l, err);
		return;
	}
	/* a sender holds at most its replay buffer unacknowledged: a peer that sends past a gap for more than
	 * twice ours (at least 1 GiB) is not one we keep memory for */
	size_t held_max = s->replay_max * 2 > ((size_t)1 << 30) ? s->replay_max * 2 : (size_t)1 << 30;
	if (m->h.seq != r->next && r->held_bytes + m->h.len > held_max) {
		snprintf(err, sizeof(err), "protocol: %zu bytes held past a gap at seq %llu, more than %zu MiB",
			 r->held_bytes + m->h.len, (unsigned long long)r->next, held_max >> 20);
		free(m);
		wan_link_close(l, err);
		return;
	}
	r->ring[m->h.seq % WAN_RING] = m;
	r->held_bytes += m->h.len;
	while ((m = r->ring[r->next % WAN_RING])) {
		if (m->h.type == WAN_FRAME)
			offer_ahead(gw, s, r);
		r->ring[r->next % WAN_RING] = NULL;
		r->held_bytes -= m->h.len;
		r->next++;
		r->since_ack++;
		r->bytes_since_ack += m->h.len;
		uint64_t gen = gw->sess_gen;
		int rc = apply(gw, m);
		free(m);
		if (rc < 0 || gen != gw->sess_gen)
			return;
	}
	if (r->since_ack >= WAN_ACK_EVERY || r->bytes_since_ack >= WAN_ACK_BYTES)
		send_ack(s);
}

void wan_sess_link_msg(struct wan_link *l, struct rx_msg *m)
{
	struct gw *gw = l->gw;
	struct wan_session *s = gw->sess;
	struct wan_msg wm;
	char err[200];

	if (!s || s->links[l->idx] != l) {
		free(m);
		wan_link_close(l, "message on a stream outside the session");
		return;
	}
	if (m->h.space != WAN_SPACE_LINK) {
		sequenced(gw, l, m);
		return;
	}
	if (wan_msg_decode(m->h.type, m->data, m->h.len, &wm, err, sizeof(err)) < 0) {
		free(m);
		wan_link_close(l, err);
		return;
	}
	free(m);
	switch (wm.type) {
	case WAN_ACK:
		sess_acked(s, WAN_SPACE_BULK, wm.u.ack.seq[WAN_SPACE_BULK]);
		sess_acked(s, WAN_SPACE_URGENT, wm.u.ack.seq[WAN_SPACE_URGENT]);
		gw->wan_ev->room(gw->wan_ev->ctx);
		break;
	case WAN_CREDIT:
		gw->wan_ev->msg(gw->wan_ev->ctx, &wm);
		break;
	case WAN_PING: {
		uint8_t p[8];
		struct wan_out *o = wan_out_new(WAN_PONG, WAN_SPACE_LINK, 0, p, wan_enc_ping(p, wm.u.ping.nonce),
						NULL, 0);
		if (o) {
			wan_link_queue(l, o, 1);
			wan_out_put(o);
		}
		break;
	}
	case WAN_PONG:
		/* our nonce is the send time in ms: a round trip through both streams' queues, urgent first */
		gw->wan_ev->rtt(gw->wan_ev->ctx, ev_time() * 1e3 - (double)wm.u.ping.nonce);
		break;
	default:
		wan_link_close(l, "protocol: HELLO after the stream is up");
		break;
	}
}

/*
 * Pending incoming connections past WAN_ACCEPT_DEADLINE are closed: a silent client would hold its slot forever.
 * After a stall of our own loop, the stall does not count against them (the peer's handshake sat unread).
 */
static void pending_deadline(struct gw *gw, ev_tstamp now)
{
	ev_tstamp gap = gw->wan_pending_tick ? now - gw->wan_pending_tick : 0;

	gw->wan_pending_tick = now;
	for (struct wan_link *l = gw->pending, *n; l; l = n) {
		n = l->next_pending;
		if (gap > WAN_STALL_GRACE)
			l->t_open += gap;
		else if (now - l->t_open > WAN_ACCEPT_DEADLINE)
			wan_link_refused(l, "not authenticated within 3 s of its accept (TLS + HELLO)");
	}
}

void wan_tick(struct gw *gw)
{
	struct wan_session *s = gw->sess;
	ev_tstamp now = ev_now(gw->loop);

	wan_link_reap(gw);
	pending_deadline(gw, now);
	wan_refused_flush(gw);
	if (!s)
		return;
	if (s->last_tick && now - s->last_tick > WAN_STALL_GRACE) {
		/* our loop stalled (a long callback, CPU starvation): input may sit unread in the sockets, so the
		 * silence says nothing about the path */
		log_info("wan: event loop stalled %.1f s; stream liveness counts from now", now - s->last_tick);
		for (unsigned i = 0; i < s->nlinks; i++)
			if (s->links[i])
				s->links[i]->last_rx = now;
	}
	s->last_tick = now;
	for (unsigned i = 0; i < s->nlinks && gw->sess == s; i++) {
		if (s->links[i])
			wan_link_tick(s->links[i], now);
		else if (s->is_client && !gw->draining && now >= s->redial_at[i])
			wan_dial(gw, i);
	}
	if (gw->sess != s)
		return;
	if (s->state == WS_DOWN && (s->tx[1].replay.n || gw->wan_ev->busy(gw->wan_ev->ctx)) &&
	    now - s->down_since > gw->cfg.wan.outage_budget_s) {
		char why[96];
		snprintf(why, sizeof(why), "WAN loss beyond budget (no stream for %u s, [wan] outage_budget_s)",
			 gw->cfg.wan.outage_budget_s);
		wan_session_fail(gw, why);
		return;
	}
	/*
	 * Link pressure (for the codec's auto level), every 100 ms, from how full
	 * the streams' send queues are and how much CPU there is to spare
	 * (cpu_pressure.h). Smoothed so the level does not flap.
	 */
	if (gw->ticks % 10 == 0) {
		size_t q = 0;
		unsigned up = 0;
		for (unsigned i = 0; i < s->nlinks; i++)
			if (s->links[i] && s->links[i]->state == WL_UP) {
				q += s->links[i]->queued;
				up++;
			}
		double fill = up ? (double)q / ((double)up * WAN_LINK_QMAX) : 1.0;
		struct cpu_load load;
		cpu_meter_sample(&s->cpu, now, &load);
		s->pressure = 0.7 * s->pressure + 0.3 * cpu_pressure_target(fill, &load, s->pressure);
	}
	/* acknowledge what was applied but not yet acknowledged, at least every 20 ms */
	if ((s->rx[1].next - 1 != s->ack_sent[1] || s->rx[2].next - 1 != s->ack_sent[2]) &&
	    now - s->last_ack_tx >= 0.02) {
		uint8_t p[16];
		uint64_t b = s->rx[1].next - 1, u = s->rx[2].next - 1;
		s->ack_sent[1] = b;
		s->ack_sent[2] = u;
		s->last_ack_tx = now;
		s->rx[1].since_ack = s->rx[2].since_ack = 0;
		s->rx[1].bytes_since_ack = s->rx[2].bytes_since_ack = 0;
		wan_send(gw, WAN_ACK, p, wan_enc_ack(p, b, u), NULL, 0);
	}
}

double wan_redial_delay(void)
{
	return WAN_REDIAL_S * (0.75 + arc4random_uniform(501) / 1000.0);
}

double wan_link_pressure(const struct gw *gw)
{
	return gw->sess ? gw->sess->pressure : 50;
}

void wan_spaces_json(const struct gw *gw, struct lh_jbuf *b)
{
	static const char *const names[] = { [WAN_SPACE_BULK] = "bulk", [WAN_SPACE_URGENT] = "urgent" };
	const struct wan_session *s = gw->sess;

	lh_json_obj_begin(b, "spaces");
	for (int sp = WAN_SPACE_BULK; s && sp <= WAN_SPACE_URGENT; sp++) {
		const struct tx_space *t = &s->tx[sp];
		const struct rx_space *r = &s->rx[sp];
		unsigned held = 0;
		for (unsigned i = 0; r->ring && i < WAN_RING; i++)
			held += r->ring[i] != NULL;
		lh_json_obj_begin(b, names[sp]);
		lh_json_uint(b, "tx_next_seq", t->next_seq);
		lh_json_uint(b, "tx_unacked", t->replay.n);
		lh_json_uint(b, "tx_unacked_bytes", t->replay_bytes);
		lh_json_uint(b, "rx_next_seq", r->next);
		lh_json_uint(b, "rx_held", held); /* arrived past a gap: waiting for rx_next_seq */
		lh_json_uint(b, "rx_held_bytes", r->held_bytes);
		lh_json_obj_end(b);
	}
	lh_json_obj_end(b);
}
