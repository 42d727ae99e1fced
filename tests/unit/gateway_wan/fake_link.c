/* SPDX-License-Identifier: MIT */
/* The fake link (fake_link.h): the transport's stream I/O and clock, in memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_link.h"
#include "gateway/base/log.h"

struct fworld *FW;

/*-***** The clock: fake time, moved by fw_advance *****-*/

ev_tstamp ev_now(struct ev_loop *loop)
{
	(void)loop;
	return FW ? FW->now : 0;
}

ev_tstamp ev_time(void)
{
	return FW ? FW->now : 0;
}

/*-***** The stream I/O of gateway/wan/wan.h *****-*/

static struct fstream *link_stream(const struct wan_link *l, int *end)
{
	struct fstream *s = l->io.data;
	if (!s)
		return NULL;
	*end = s->e[0].l == l ? 0 : s->e[1].l == l ? 1 : -1;
	return *end < 0 ? NULL : s;
}

static void push_msg(struct fend *e, const void *p, size_t n)
{
	struct fmsg *m = malloc(sizeof(*m) + n);
	if (!m)
		abort();
	m->next = NULL;
	m->len = n;
	memcpy(m->data, p, n);
	if (e->tail)
		e->tail->next = m;
	else
		e->head = m;
	e->tail = m;
	e->n++;
}

void wan_link_kick(struct wan_link *l)
{
	int end;
	struct fstream *s = link_stream(l, &end);
	struct wan_out *o;

	if (!s || s->e[end].paused || (l->state != WL_UP && l->state != WL_HELLO))
		return;
	/* the whole queue is "written": it is in flight until the test delivers it */
	while ((o = wan_link_cur(l))) {
		push_msg(&s->e[end], o->data, o->len);
		wan_link_wrote(l, o->len - l->cur_off);
	}
	if (l->state == WL_UP)
		wan_sess_link_writable(l);
}

void wan_link_io_close(struct wan_link *l)
{
	int end;
	struct fstream *s = link_stream(l, &end);
	if (!s)
		return;
	s->e[end].l = NULL;
	s->e[end].closed = 1;
	l->io.data = NULL;
}

size_t wan_link_unsent(const struct wan_link *l)
{
	(void)l;
	return 0;
}

void wan_dial(struct gw *gw, unsigned idx)
{
	struct fworld *w = FW;
	struct gw *srv = &w->gw[1];
	if (w->dial_fail) {
		gw->sess->redial_at[idx] = ev_now(gw->loop) + 1.0;
		return;
	}
	struct fstream *s = calloc(1, sizeof(*s));
	struct wan_link *c = calloc(1, sizeof(*c)), *v = calloc(1, sizeof(*v));
	if (!s || !c || !v)
		abort();
	s->idx = (int)idx;
	s->next = w->streams;
	w->streams = s;
	wan_link_init(c, gw, 1, (int)idx, WL_HANDSHAKE);
	wan_link_init(v, srv, 0, -1, WL_HANDSHAKE);
	snprintf(v->peer, sizeof(v->peer), "fake:%u", idx);
	c->io.data = v->io.data = s;
	s->e[0].l = c;
	s->e[1].l = v;
	gw->sess->links[idx] = c;
	v->next_pending = srv->pending;
	srv->pending = v;
	/* the TLS handshake is instant: the client's HELLO goes in flight */
	wan_link_secured(v);
	wan_link_secured(c);
}

void wan_kill_all_links(struct gw *gw, const char *reason)
{
	struct wan_session *s = gw->sess;
	for (unsigned i = 0; s && i < s->nlinks && gw->sess == s; i++)
		if (s->links[i])
			wan_link_close(s->links[i], reason);
}

/*-***** Delivery *****-*/

int fw_deliver(struct fworld *w, struct fstream *s, int from)
{
	struct fend *src = &s->e[from], *dst = &s->e[!from];
	struct fmsg *m = src->head;

	if (!m) {
		/* nothing more in flight: a closed sender's stream end reaches the receiver */
		if (src->closed && dst->l)
			wan_link_close(dst->l, "peer closed the stream");
		return 0;
	}
	src->head = m->next;
	if (!src->head)
		src->tail = NULL;
	src->n--;
	struct wan_link *l = dst->l;
	if (l && m->len >= WAN_HDR_LEN && (l->state == WL_HELLO || l->state == WL_UP)) {
		struct wan_hdr h;
		struct gw *gw = l->gw;
		l->last_rx = ev_now(gw->loop);
		gw->st.wan_rx_bytes += m->len;
		w->delivered++;
		if (wan_link_rx_hdr(l, m->data, &h) == 0) {
			size_t n = m->len - WAN_HDR_LEN;
			if (h.len != n) {
				/* a short or long body is a broken test, not a transport finding */
				fprintf(stderr, "fake link: injected message len %u, body %zu\n", h.len, n);
				abort();
			}
			struct rx_msg *rm = malloc(sizeof(*rm) + n + 1);
			if (!rm)
				abort();
			rm->h = h;
			memcpy(rm->data, m->data + WAN_HDR_LEN, n);
			wan_link_rx(l, rm);
		}
	}
	free(m);
	return 1;
}

uint64_t fw_pump(struct fworld *w, int shuffle)
{
	uint64_t n = 0;
	int moved;
	do {
		moved = 0;
		struct fstream *v[WAN_MAX_LINKS * 4];
		size_t k = 0;
		for (struct fstream *s = w->streams; s && k < sizeof(v) / sizeof(v[0]); s = s->next)
			v[k++] = s;
		if (shuffle)
			for (size_t i = k; i > 1; i--) {
				size_t j = (size_t)rand_r(&w->seed) % i;
				struct fstream *t = v[i - 1];
				v[i - 1] = v[j];
				v[j] = t;
			}
		for (size_t i = 0; i < k; i++)
			for (int from = 0; from < 2; from++) {
				/* one message per stream and direction per round: streams interleave */
				int before = v[i]->e[!from].l != NULL;
				if (fw_deliver(w, v[i], from) || (before && !v[i]->e[!from].l))
					moved = 1, n++;
			}
	} while (moved);
	return n;
}

struct fstream *fw_stream(struct fworld *w, int idx)
{
	for (struct fstream *s = w->streams; s; s = s->next)
		if (s->idx == idx && s->e[0].l && s->e[1].l)
			return s;
	return NULL;
}

static void drop_in_flight(struct fend *e)
{
	struct fmsg *m;
	while ((m = e->head)) {
		e->head = m->next;
		free(m);
	}
	e->tail = NULL;
	e->n = 0;
}

void fw_kill(struct fworld *w, struct fstream *s, const char *why)
{
	(void)w;
	drop_in_flight(&s->e[0]);
	drop_in_flight(&s->e[1]);
	for (int k = 0; k < 2; k++)
		if (s->e[k].l)
			wan_link_close(s->e[k].l, why);
	/* what the closes requeued elsewhere must not have landed here */
	drop_in_flight(&s->e[0]);
	drop_in_flight(&s->e[1]);
}

int fw_dup_head(struct fstream *s, int from)
{
	struct fmsg *m = s->e[from].head;
	if (!m)
		return -1;
	push_msg(&s->e[from], m->data, m->len);
	return 0;
}

void fw_inject(struct fstream *s, int from, const void *p, size_t n)
{
	push_msg(&s->e[from], p, n);
}

void fw_inject_msg(struct fstream *s, int from, int type, int space, uint64_t seq, const void *p, size_t n)
{
	uint8_t *b = malloc(WAN_HDR_LEN + n + 1);
	struct wan_hdr h = { .type = (uint8_t)type, .space = (uint8_t)space, .len = (uint32_t)n, .seq = seq };
	if (!b)
		abort();
	wan_hdr_put(b, &h);
	if (n)
		memcpy(b + WAN_HDR_LEN, p, n);
	push_msg(&s->e[from], b, WAN_HDR_LEN + n);
	free(b);
}

void fw_pause(struct fstream *s, int end, int paused)
{
	s->e[end].paused = paused;
	if (!paused && s->e[end].l)
		wan_link_kick(s->e[end].l);
}

size_t fw_in_flight(const struct fworld *w)
{
	size_t n = 0;
	for (const struct fstream *s = w->streams; s; s = s->next)
		n += s->e[0].n + s->e[1].n;
	return n;
}

/*-***** The recorder: what the transport hands up *****-*/

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void order_error(struct rec *r, const char *fmt, unsigned long long a, unsigned long long b)
{
	if (!r->order_errors++)
		snprintf(r->first_error, sizeof(r->first_error), fmt, a, b);
}

/* Any sequenced message handed up: it is the one just before the receive position, right after the last. */
static void got_seq(struct rec *r, int space)
{
	struct fworld *w = FW;
	struct wan_session *s = w->gw[r == &w->rec[1]].sess;
	uint64_t seq = s ? s->rx[space].next - 1 : 0;
	if (!s || seq != r->seq_last[space] + 1) {
		if (!r->seq_errors++)
			snprintf(r->first_error, sizeof(r->first_error), "space %d: seq %llu handed up after %llu", space,
				 (unsigned long long)seq, (unsigned long long)r->seq_last[space]);
	}
	r->seq_last[space] = seq;
}

/* One of ours (frame, CHANNEL_CLOSE, RETURN_DATA): its counter is the next one. */
static void got(struct rec *r, int space, uint64_t counter)
{
	got_seq(r, space);
	if (FW->forged)
		;
	else if (counter != r->rx_next[space])
		order_error(r, space == WAN_SPACE_BULK ? "bulk: got %llu, expected %llu"
						       : "urgent: got %llu, expected %llu",
			    (unsigned long long)counter, (unsigned long long)r->rx_next[space]);
	else
		r->rx_next[space]++;
	r->rx_count[space]++;
}

static int ev_session_new(void *ctx, uint64_t id)
{
	struct rec *r = ctx;
	(void)id;
	if (r->fail_session_new)
		return -ENOMEM;
	r->sessions_new++;
	for (int i = 0; i < 3; i++) {
		r->rx_next[i] = r->tx_next[i] = 1;
		r->rx_count[i] = 0;
		r->seq_last[i] = 0;
	}
	r->last_frame_seq = 0;
	return 0;
}

static void ev_session_closed(void *ctx, const char *reason)
{
	struct rec *r = ctx;
	r->sessions_closed++;
	snprintf(r->closed_reason, sizeof(r->closed_reason), "%s", reason);
	if (r->pending_frame) {
		wan_frame_drop(r->pending_frame);
		r->pending_frame = NULL;
	}
}

static void ev_link_up(void *ctx, uint32_t flags)
{
	struct rec *r = ctx;
	r->link_ups++;
	r->last_hello_flags = flags;
}

static void ev_room(void *ctx)
{
	((struct rec *)ctx)->rooms++;
}

static void ev_before_bulk(void *ctx)
{
	struct rec *r = ctx;
	r->before_bulk++;
	if (r->pending_frame) {
		struct fworld *w = FW;
		struct wan_out *o = r->pending_frame;
		r->pending_frame = NULL;
		wan_frame_send(&w->gw[r == &w->rec[1]], o);
	}
}

static int ev_frame(void *ctx, const uint8_t *p, size_t n, uint64_t seq)
{
	struct rec *r = ctx;
	if (seq <= r->last_frame_seq)
		order_error(r, "frame seq %llu after %llu", (unsigned long long)seq,
			    (unsigned long long)r->last_frame_seq);
	r->last_frame_seq = seq;
	const struct wan_session *s = FW->gw[r == &FW->rec[1]].sess;
	if (!s || seq != s->rx[WAN_SPACE_BULK].next - 1)
		r->seq_errors++; /* the seq given with a frame is the one applied */
	got(r, WAN_SPACE_BULK, n >= 8 ? get64(p) : 0);
	return 0;
}

static int ev_frame_ahead(void *ctx, const uint8_t *p, size_t n)
{
	struct rec *r = ctx;
	(void)p;
	(void)n;
	if (r->ahead_take)
		r->frames_ahead++;
	return r->ahead_take;
}

static void ev_msg(void *ctx, const struct wan_msg *m)
{
	struct rec *r = ctx;
	switch (m->type) {
	case WAN_CREDIT: r->credits++; break;
	case WAN_CHANNEL_CLOSE: got(r, WAN_SPACE_BULK, m->u.cclose.mig); break;
	case WAN_RETURN_DATA: got(r, WAN_SPACE_URGENT, m->u.rdata.mig); break;
	default:
		r->other_msgs++;
		got_seq(r, wan_type_space(m->type)); /* forged: in order all the same */
		break;
	}
}

static void ev_rtt(void *ctx, double ms)
{
	(void)ms;
	((struct rec *)ctx)->rtts++;
}

static int ev_busy(void *ctx)
{
	return ((struct rec *)ctx)->busy;
}

/*-***** The world *****-*/

void fw_init(struct fworld *w, unsigned nstreams)
{
	memset(w, 0, sizeof(*w));
	FW = w;
	w->now = 1000.0;
	w->seed = 1;
	for (int k = 0; k < 2; k++) {
		struct gw *gw = &w->gw[k];
		gw->test_kill_stream = -1;
		gw->wan_listen_fd = -1;
		gw->cfg.wan.streams = nstreams;
		gw->cfg.codec.store_mb = 256;
		gw->cfg.wan.max_replay_mb = 256;
		gw->cfg.wan.outage_budget_s = 30;
		snprintf(gw->cfg.wan.peer_name, sizeof(gw->cfg.wan.peer_name), "%s", k ? "gw-a" : "gw-b");
		w->ev[k] = (struct wan_events){
			.ctx = &w->rec[k], .session_new = ev_session_new, .session_closed = ev_session_closed,
			.link_up = ev_link_up, .room = ev_room, .before_bulk = ev_before_bulk, .frame = ev_frame,
			.frame_ahead = ev_frame_ahead, .msg = ev_msg, .rtt = ev_rtt, .busy = ev_busy,
		};
		wan_set_events(gw, &w->ev[k]);
	}
	snprintf(w->gw[0].cfg.wan.peer.host, sizeof(w->gw[0].cfg.wan.peer.host), "fake-server");
	snprintf(w->gw[1].cfg.wan.listen.host, sizeof(w->gw[1].cfg.wan.listen.host), "fake-listen");
	wan_session_fail(&w->gw[0], "start"); /* what wan_start does for a client */
}

void fw_free(struct fworld *w)
{
	for (int k = 0; k < 2; k++) {
		struct gw *gw = &w->gw[k];
		gw->draining = 1;
		wan_session_fail(gw, "test over");
		while (gw->pending)
			wan_link_close(gw->pending, "test over");
		wan_link_reap(gw);
	}
	struct fstream *s;
	while ((s = w->streams)) {
		w->streams = s->next;
		drop_in_flight(&s->e[0]);
		drop_in_flight(&s->e[1]);
		free(s);
	}
	FW = NULL;
}

static void reap_streams(struct fworld *w)
{
	/* a stream whose ends are both closed and carries nothing goes */
	for (struct fstream **pp = &w->streams; *pp;) {
		struct fstream *s = *pp;
		if (!s->e[0].l && !s->e[1].l && !s->e[0].n && !s->e[1].n) {
			*pp = s->next;
			free(s);
		} else {
			pp = &s->next;
		}
	}
}

void fw_tick(struct fworld *w)
{
	for (int k = 0; k < 2; k++) {
		w->gw[k].ticks++;
		wan_tick(&w->gw[k]);
	}
	reap_streams(w);
}

void fw_advance(struct fworld *w, double dt)
{
	w->now += dt;
	fw_tick(w);
}

/*-***** Sending and invariants *****-*/

int fw_send_frame(struct fworld *w, int side)
{
	struct gw *gw = &w->gw[side];
	struct rec *r = &w->rec[side];
	struct wan_out *o = wan_frame_new(gw, 8 + 24);
	if (!o)
		return -ENOTCONN;
	uint8_t *p = wan_frame_payload(o);
	memset(p, 0xa5, 8 + 24);
	put64(p, r->tx_next[WAN_SPACE_BULK]);
	int rc = wan_frame_send(gw, o);
	if (rc == 0)
		r->tx_next[WAN_SPACE_BULK]++;
	return rc;
}

int fw_send_bulk_msg(struct fworld *w, int side)
{
	struct rec *r = &w->rec[side];
	uint8_t p[16];
	/* before_bulk may send a pending frame first: it takes the counter before this message */
	if (r->pending_frame)
		r->tx_next[WAN_SPACE_BULK]++;
	size_t n = wan_enc_cclose(p, (uint32_t)r->tx_next[WAN_SPACE_BULK], 1, 0);
	int rc = wan_send(&w->gw[side], WAN_CHANNEL_CLOSE, p, n, NULL, 0);
	if (rc == 0)
		r->tx_next[WAN_SPACE_BULK]++;
	return rc;
}

int fw_send_urgent(struct fworld *w, int side)
{
	struct rec *r = &w->rec[side];
	uint8_t p[16];
	size_t n = wan_enc_rdata_hdr(p, (uint32_t)r->tx_next[WAN_SPACE_URGENT], 1, 0);
	int rc = wan_send(&w->gw[side], WAN_RETURN_DATA, p, n, "bytes", 5);
	if (rc == 0)
		r->tx_next[WAN_SPACE_URGENT]++;
	return rc;
}

#define INV(cond, ...)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "invariant (%s) broken: ", side ? "server" : "client");    \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

int fw_check_invariants(struct fworld *w, int side)
{
	struct gw *gw = &w->gw[side];
	struct wan_session *s = gw->sess;
	if (!s)
		return 0;
	unsigned up = 0;
	for (unsigned i = 0; i < WAN_MAX_LINKS; i++) {
		struct wan_link *l = s->links[i];
		INV(!l || (unsigned)l->idx == i, "link at slot %u has index %d", i, l->idx);
		INV(!l || l->state != WL_DEAD, "dead link in slot %u", i);
		INV(!l || i < s->nlinks, "link at slot %u beyond nlinks %u", i, s->nlinks);
		up += l && l->state == WL_UP;
	}
	for (int sp = 1; sp < 3; sp++) {
		const struct tx_space *t = &s->tx[sp];
		size_t bytes = 0;
		uint64_t prev = t->acked;
		INV(t->replay.n <= WAN_RING, "space %d: %zu in the replay buffer", sp, t->replay.n);
		for (size_t i = 0; i < t->replay.n; i++) {
			const struct wan_out *o = ptrq_at(&t->replay, i);
			bytes += o->len;
			INV(o->seq > prev, "space %d: replay seq %llu after %llu", sp, (unsigned long long)o->seq,
			    (unsigned long long)prev);
			INV(o->seq < t->next_seq, "space %d: replay seq %llu not sent yet", sp, (unsigned long long)o->seq);
			prev = o->seq;
			INV(o->link < 0 || (o->link < WAN_MAX_LINKS && s->links[o->link] && s->links[o->link]->state == WL_UP),
			    "space %d: seq %llu assigned to stream %d, which is not up", sp, (unsigned long long)o->seq,
			    o->link);
			INV(o->link >= 0 || !up, "space %d: seq %llu unassigned while %u streams are up", sp,
			    (unsigned long long)o->seq, up);
		}
		INV(bytes == t->replay_bytes, "space %d: replay_bytes %zu, entries add up to %zu", sp, t->replay_bytes,
		    bytes);
		const struct rx_space *r = &s->rx[sp];
		for (unsigned k = 0; k < WAN_RING; k++) {
			const struct rx_msg *m = r->ring[k];
			if (!m)
				continue;
			INV(m->h.seq > r->next && m->h.seq < r->next + WAN_RING && m->h.seq % WAN_RING == k,
			    "space %d: ring slot %u holds seq %llu (next %llu)", sp, k, (unsigned long long)m->h.seq,
			    (unsigned long long)r->next);
		}
	}
	return 0;
}
