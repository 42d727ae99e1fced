/* SPDX-License-Identifier: MIT */
/* Source role: the outgoing migration object, its state machine, failure and teardown, linger, verdict. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gateway/base/log.h"
#include "gateway/mig/l2.h"
#include "gateway/mig/route.h"
#include "gateway/mig/src.h"
#include "gateway/mig/src_hold.h"
#include "gateway/pipe/codec_pipe.h"
#include "gateway/pipe/lan_streams.h"
#include "gateway/wan/wan_session.h"

#define LINGER_READ (64u << 10)

int src_transition(struct src_mig *sm, enum src_event ev, const char *why)
{
	enum src_state from = sm->state;
	int to = mig_machine_next(&src_machine, from, ev);

	if (to < 0) {
		mig_transition_bug(&sm->m, from, ev, why);
		return -1;
	}
	sm->state = (enum src_state)to;
	if (src_machine.ends[to] != MIG_LIVE && src_machine.ends[to] != MIG_INDOUBT)
		shold_drop(sm); /* decided: the sockets may close (the teardown comes later, at mig_settle) */
	if (src_machine.ends[to] != MIG_LIVE && src_machine.ends[to] != MIG_INDOUBT && sm->r && sm->r->cur == &sm->m)
		sm->r->cur = NULL; /* new connections on the route start a new migration */
	if ((src_machine.ends[to] == MIG_DONE || src_machine.ends[to] == MIG_FAILED) && sm->r && sm->r->oneshot)
		sm->r->expired = 1; /* paused keeps it: the recovery goes through it */
	mig_transitioned(&sm->m, from, ev, (unsigned)to, why);
	return 0;
}

void src_fail(struct src_mig *sm, enum mig_fail_reason code, const char *reason, int tell_peer)
{
	struct mig *m = &sm->m;

	if (!mig_live(m))
		return;
	snprintf(m->why, sizeof(m->why), "%s", reason);
	m->fail_code = code;
	log_warnx("migration out#%u (%s): %s (%s): %s%s", m->id, m->route, m->postcopy ? "PAUSED" : "FAILED",
		  mig_fail_reason_name(code), reason,
		  m->postcopy ? " (postcopy: the guest runs at the destination; QEMU pauses, recover it through the "
				"route)" : " (no cutover: the guest stays at this site)");
	if (src_transition(sm, m->postcopy ? SRC_EV_PAUSE : SRC_EV_FAIL, reason) == 0)
		mig_teardown_later(m, tell_peer);
}

static void fail_cb(struct mig *m, enum mig_fail_reason code, const char *reason, int tell_peer)
{
	src_fail(SM(m), code, reason, tell_peer);
}

/* The channel carries the destination's return path, which must reach QEMU even now. */
static int keeps_return_path(const struct src_chan *sc)
{
	return sc->c.kind == LH_CHAN_MAIN && sc->c.fd >= 0 && (sc->c.out.len || sc->c.rev_bytes);
}

/*
 * The teardown of a failed (or paused) outgoing migration, at the end of the event that failed it: open
 * segments end as aborted, so the receiver never takes one for complete; the source QEMU's connections are
 * reset, except main when it carries a return path and the guest did not move to the destination yet
 * (src_linger); the peer learns it (CHANNEL_CLOSE how = 1).
 */
static void teardown(struct mig *m)
{
	struct src_mig *sm = SM(m);
	struct gw *gw = m->gw;
	uint8_t p[16];

	for (unsigned i = 0; i < m->nch; i++) {
		struct src_chan *sc = src_ch(sm, i);
		if (sc->c.stream_id && !sc->c.seg_ended && gw->sess)
			lstream_abort(gw, sc->c.stream_id);
		if (sc->linger)
			continue;
		/* paused postcopy: every socket must fail for the source QEMU to pause (postcopy-paused) rather than
		 * fail; a lingering main (FIN on its return path while its writes still succeed) makes QEMU fail the
		 * migration, and with it a guest whose RAM is half at the destination */
		if (keeps_return_path(sc) && sm->state != SRC_PAUSED) {
			src_linger(sc);
		} else {
			chan_close_fd(&sc->c, 1);
			bbuf_free(&sc->c.out);
		}
	}
	if (m->tell_peer && gw->sess)
		for (unsigned i = 0; i < m->nch; i++)
			if (m->ch[i]->stream_id)
				mig_send(m, WAN_CHANNEL_CLOSE, p, wan_enc_cclose(p, m->id, m->ch[i]->idx, 1), NULL, 0);
}

static unsigned state_of(const struct mig *m) { return SM((struct mig *)m)->state; }

/*
 * A paused postcopy migration: the guest runs at the destination, both QEMUs are in postcopy-paused, and
 * only the operator's recovery moves it on (README, "Postcopy recovery"): the exact QMP commands, through the
 * pair (the route's URI here, the route's destination at the other site). migrate-recover must go
 * out-of-band (exec-oob): the destination's main loop may be blocked on a missing page.
 */
static void recover_json(const struct src_mig *sm, struct lh_jbuf *b)
{
	char uri[300], cmd[600];
	lh_json_obj_begin(b, "recover");
	snprintf(cmd, sizeof(cmd), "{\"exec-oob\":\"migrate-recover\",\"arguments\":{\"uri\":\"tcp:%s\"}}",
		 sm->m.dest);
	lh_json_str(b, "at_destination", cmd);
	if (sm->r) {
		snprintf(cmd, sizeof(cmd), "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"%s\",\"resume\":true}}",
			 route_uri(sm->r, uri, sizeof(uri)));
		lh_json_str(b, "at_source", cmd);
	} else {
		lh_json_str(b, "at_source", "the route is gone: add it again, then migrate with resume=true to its URI");
	}
	lh_json_obj_end(b);
}

static void json(const struct mig *m, struct lh_jbuf *b)
{
	const struct src_mig *sm = (const struct src_mig *)m;
	if (sm->state == SRC_PAUSED)
		recover_json(sm, b);
	if (sm->state != SRC_INDOUBT)
		return;
	lh_json_obj_begin(b, "doubt");
	lh_json_double(b, "since_s", ev_now(m->gw->loop) - sm->doubt_since);
	lh_json_uint(b, "queries", sm->doubt_asks);
	lh_json_str(b, "answer", sm->doubt_answer < 0 ? "none" : wan_outcome_name(sm->doubt_answer));
	lh_json_str(b, "note", sm->doubt_note);
	lh_json_obj_end(b);
}

static void free_mig(struct mig *m)
{
	struct src_mig *sm = SM(m);
	for (unsigned i = 0; i < m->nch; i++) {
		struct src_chan *sc = src_ch(sm, i);
		chan_free(&sc->c);
		free(sc->rbuf);
		free(sc);
	}
	bbuf_free(&sm->cut_late);
	mig_release(m);
	free(sm);
}

const struct mig_role src_role = {
	.dir = "out", .idx = 0, .machine = &src_machine, .state = state_of, .fail = fail_cb, .teardown = teardown,
	.json = json, .free = free_mig,
};

struct src_mig *src_mig_new(struct gw *gw, struct route *r, const char *dest)
{
	struct src_mig *sm = calloc(1, sizeof(*sm));
	uint32_t id = ++gw->next_mig;
	if (!sm)
		return NULL;
	sm->r = r;
	sm->doubt_answer = -1;
	mig_init(&sm->m, &src_role, gw, id, mig_uid(wan_session_id(gw), id, wan_session_is_client(gw)), r->cfg.name,
		 dest);
	return sm;
}

struct src_mig *src_mig_adopted(struct gw *gw, struct route *r, const char *route, uint64_t uid, const char *dest)
{
	struct src_mig *sm = calloc(1, sizeof(*sm));
	if (!sm)
		return NULL;
	sm->r = r;
	sm->doubt_answer = -1;
	mig_init(&sm->m, &src_role, gw, ++gw->next_mig, uid, route, dest);
	sm->m.session = 0; /* none of ours: nothing is sent for it but OUTCOME_QUERY */
	return sm;
}

struct src_chan *src_chan_new(struct src_mig *sm, int fd, void (*cb)(struct ev_loop *, ev_io *, int))
{
	struct src_chan *sc = calloc(1, sizeof(*sc));
	if (!sc || chan_init(&sc->c, &sm->m, fd, cb) < 0) {
		free(sc);
		return NULL;
	}
	return sc;
}

struct src_mig *src_find(struct gw *gw, uint32_t id)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->role == &src_role && m->id == id)
			return SM(m);
	return NULL;
}

void src_update_io(struct src_chan *sc)
{
	struct chan *c = &sc->c;
	int ev = 0;
	if (c->fd >= 0 && sc->linger) {
		ev = EV_READ | (c->out.len ? EV_WRITE : 0);
	} else if (c->fd >= 0 && c->state != CS_CLOSED) {
		/* in doubt, QEMU has sent its stream: nothing more is read until it is decided */
		if (!c->fwd_eof && SM(c->m)->state != SRC_INDOUBT && !c->blocked)
			ev |= EV_READ;
		if (c->out.len || (c->rev_eof && !c->shut_wr))
			ev |= EV_WRITE;
	}
	chan_watch(c, ev);
}

/*
 * A failed migration's source main channel that carries a return path: what
 * the destination QEMU said (its SHUT with the failure status) still goes to
 * the source QEMU, which learns the outcome from it and keeps the guest. A
 * reset could discard those bytes in either kernel, so: write them, FIN, and
 * read (discarding) until QEMU closes, since close() with unread bytes would
 * reset after all. At most CHAN_LINGER_S, then reset (src_rx.c, the tick).
 */
void src_linger_io(struct src_chan *sc)
{
	struct chan *c = &sc->c;
	uint8_t sink[LINGER_READ];

	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out.off, c->out.len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			log_debug("migration out#%u: channel %u: return path to QEMU after the failure: %s", c->m->id,
				  c->idx, strerror(errno));
			sc->linger = 0;
			chan_close_fd(c, 1);
			bbuf_free(&c->out);
			return;
		}
		bbuf_eat(&c->out, (size_t)n);
		c->rev_bytes += (size_t)n;
	}
	if (!c->out.len && !c->shut_wr) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr = 1;
	}
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		sc->linger = 0;
		chan_close_fd(c, n < 0); /* QEMU closed (or failed): done */
		bbuf_free(&c->out);
		return;
	}
	src_update_io(sc);
}

void src_linger(struct src_chan *sc)
{
	log_info("migration out#%u (%s): channel %u: handing the source QEMU the return path's last %zu bytes "
		 "before closing", sc->c.m->id, sc->c.m->route, sc->c.idx, sc->c.out.len);
	sc->linger = 1;
	sc->linger_since = ev_now(sc->c.m->gw->loop);
	sc->c.blocked = 0;
	src_linger_io(sc);
}

void src_check_done(struct src_mig *sm)
{
	struct mig *m = &sm->m;
	char why[300];

	if (!mig_live(m) || !sm->result_seen)
		return;
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->state != CS_CLOSED)
			return;
	snprintf(why, sizeof(why), "verdict done, %s by the destination gateway: %s",
		 m->confirmed ? "confirmed" : "UNCONFIRMED", m->evidence[0] ? m->evidence : "(no evidence given)");
	if (src_transition(sm, SRC_EV_DONE, why) < 0)
		return;
	/* the source QEMU completed and the destination accepted: the guest's MACs now live there */
	if (!m->cut)
		m->cut = gw_l2_cutover_start(m->gw, NS_ROLE_SOURCE, m->id, m->vni, &m->guest);
}
