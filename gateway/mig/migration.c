/* SPDX-License-Identifier: MIT */
/* Migrations (both gateways): objects, state machine, failure teardown, WAN dispatch, stats for control. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/mig/indoubt.h"
#include "gateway/mig/l2.h"
#include "gateway/base/log.h"
#include "gateway/mig/mig_internal.h"
#include "gateway/mig/route.h"
#include "gateway/mig/src_hold.h"
#include "gateway/wan/wan_session.h"

#define MIG_KEEP_S 120.0   /* finished migrations stay listed this long */
#define MIG_STALL_S 300.0  /* no byte moved in either direction this long: fail (the source keeps the guest) */
#define CHAN_LINGER_S 10.0 /* a failed source channel waits this long for QEMU to close after our FIN */
#define LINGER_READ (64u << 10)

static const char *const state_names[] = {
	[MS_OPEN] = "streaming", [MS_CUT] = "verifying", [MS_RELEASED] = "released",
	[MS_DONE] = "done", [MS_FAILED] = "failed", [MS_INDOUBT] = "in-doubt",
};

const char *mig_state_name(enum mig_state s) { return state_names[s]; }

static const char *const fail_reason_names[MFR__COUNT] = {
	[MFR_NONE] = "", [MFR_DEST_REFUSED] = "dest-refused", [MFR_SOURCE_ABORT] = "source-abort",
	[MFR_INTEGRITY] = "integrity", [MFR_SESSION_LOST] = "session-lost", [MFR_PEER_RESET] = "peer-reset",
	[MFR_ROUTE_REMOVED] = "route-removed", [MFR_CONNECT] = "connect", [MFR_HYPERVISOR_IO] = "hypervisor-io",
	[MFR_PROTOCOL] = "protocol", [MFR_STALLED] = "stalled", [MFR_GATEWAY] = "gateway-error",
	[MFR_DRAINING] = "draining",
};
_Static_assert(MFR__COUNT <= GW_FAIL_REASONS, "gw_stats.migs_failed_by has no room for every reason");

const char *mig_fail_reason_name(enum mig_fail_reason r)
{
	return (unsigned)r < MFR__COUNT ? fail_reason_names[r] : "unknown";
}

int bbuf_add(struct bbuf *b, const void *d, size_t n)
{
	if (b->off && b->off + b->len + n > b->cap) {
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
	}
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 65536;
		while (nc < b->len + n)
			nc *= 2;
		uint8_t *p = realloc(b->p, nc);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = nc;
	}
	memcpy(b->p + b->off + b->len, d, n);
	b->len += n;
	return 0;
}

void bbuf_eat(struct bbuf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (!b->len)
		b->off = 0;
}

void bbuf_free(struct bbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Audit trail record for a migration event (start, end); no-op without an audit log. */
static void mig_audit(struct mig *m, const char *event)
{
	struct lh_jbuf *b;
	const struct gw_recorder *rec = &m->gw->rec;
	if (!rec->begin || !(b = rec->begin(rec->ctx, event)))
		return;
	lh_json_uint(b, "migration", m->id);
	lh_json_str(b, "direction", m->dir == MIG_OUT ? "out" : "in");
	lh_json_str(b, "route", m->route);
	lh_json_str(b, "destination", m->dest);
	if (m->state == MS_DONE || m->state == MS_FAILED) {
		lh_json_str(b, "result", m->state == MS_DONE ? "ok" : "failed");
		if (m->state == MS_DONE)
			lh_json_bool(b, "confirmed", m->confirmed);
		if (m->why[0])
			lh_json_str(b, "error", m->why);
		if (m->state == MS_FAILED)
			lh_json_str(b, "reason_code", mig_fail_reason_name(m->fail_code));
		lh_json_uint(b, "bytes_hypervisor", m->lan_bytes);
		lh_json_uint(b, "bytes_wan", m->wan_bytes);
		lh_json_double(b, "elapsed_s", m->t_end - m->t_start);
	}
	rec->commit(rec->ctx);
}

/*
 * A migration's uid: XXH3-64 of (session id, migration number, whether the source gateway is the session's
 * client). Both gateways compute the same value without a word on the wire; session ids are random and new
 * after every restart, so a uid is unique across sessions and restarts (64 bits, at random). Never 0.
 */
uint64_t mig_uid(uint64_t session, uint32_t id, int source_is_client)
{
	uint8_t k[13];
	for (int i = 0; i < 8; i++)
		k[i] = (uint8_t)(session >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		k[8 + i] = (uint8_t)(id >> (24 - 8 * i));
	k[12] = (uint8_t)!!source_is_client;
	uint64_t u = XXH3_64bits(k, sizeof(k));
	return u ? u : 1;
}

int mig_send(struct mig *m, int type, const void *p1, size_t n1, const void *p2, size_t n2)
{
	if (m->session && m->session != wan_session_id(m->gw))
		return -ENOTCONN;
	return wan_send(m->gw, type, p1, n1, p2, n2);
}

void mig_test_die_at(struct gw *gw, const char *point)
{
	if (!gw->test_die_at[0] || strcmp(gw->test_die_at, point))
		return;
	log_warnx("TEST fault injection: LH_TEST_DIE_AT=%s: exiting now, as a crash would", point);
	_exit(86); /* no teardown: the kernel closes every socket, as after a crash */
}

void mig_record_outcome(struct mig *m, enum mig_outcome o, const char *evidence)
{
	char err[300];
	if (m->dir != MIG_IN || !m->gw->outcomes)
		return;
	if (outcome_record(m->gw->outcomes, m->uid, o, m->route, evidence, time(NULL), err, sizeof(err)) < 0)
		/* kept in memory: answered while this daemon runs, unknown after a restart */
		log_warnx("migration in#%u (%s): cannot record the outcome durably: %s", m->id, m->route, err);
	else
		log_info("migration in#%u (%s) uid %016llx: outcome %s recorded", m->id, m->route,
			 (unsigned long long)m->uid, outcome_name(o));
	if (o == OUTCOME_ACCEPTED)
		mig_test_die_at(m->gw, "recorded"); /* before the answer is relayed to the source */
}

struct mig *mig_new(struct gw *gw, enum mig_dir dir, uint32_t id, const char *route, const char *dest)
{
	struct mig *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->gw = gw;
	m->dir = dir;
	m->id = id;
	m->session = wan_session_id(gw);
	m->uid = mig_uid(m->session, id, dir == MIG_OUT ? wan_session_is_client(gw) : !wan_session_is_client(gw));
	m->state = MS_OPEN;
	snprintf(m->route, sizeof(m->route), "%s", route);
	snprintf(m->dest, sizeof(m->dest), "%s", dest);
	m->t_start = ev_now(gw->loop);
	m->next = gw->migs;
	gw->migs = m;
	log_info("migration %s#%u (%s): started, destination %s", dir == MIG_OUT ? "out" : "in", id, route,
		 dest);
	mig_audit(m, "migration-start");
	return m;
}

void mig_set_state(struct mig *m, enum mig_state s, const char *why)
{
	if (m->state == s)
		return;
	log_info("migration %s#%u (%s): %s -> %s: %s", m->dir == MIG_OUT ? "out" : "in", m->id, m->route,
		 state_names[m->state], state_names[s], why);
	m->state = s;
	if (s == MS_DONE || s == MS_FAILED) {
		shold_drop(m); /* decided: the sockets may close now */
		m->t_end = ev_now(m->gw->loop);
		if (s == MS_DONE)
			m->gw->st.migs_ok++;
		else {
			m->gw->st.migs_failed++;
			m->gw->st.migs_failed_by[m->fail_code]++;
		}
		if (m->r && m->r->cur == m)
			m->r->cur = NULL;
		mig_audit(m, "migration-end");
	}
}

static void chan_linger_io(struct chan *c);

static void chan_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct chan *c = w->data;
	(void)loop;
	if (c->linger)
		chan_linger_io(c);
	else if (c->m->dir == MIG_OUT)
		src_chan_io(c, revents);
	else
		dst_chan_io(c, revents);
}

static const char *const chan_state_names[] = {
	[CS_CLASSIFY] = "classify", [CS_WAIT] = "wait", [CS_CONNECTING] = "connecting", [CS_OPEN] = "open",
	[CS_CLOSED] = "closed",
};

void chan_set_state(struct chan *c, enum chan_state s, const char *why)
{
	if (c->state == s)
		return;
	log_debug("migration %s#%u: channel %u (%s) %s -> %s: %s", c->m->dir == MIG_OUT ? "out" : "in", c->m->id,
		  c->idx, lh_channel_name(c->kind), chan_state_names[c->state], chan_state_names[s], why);
	c->state = s;
}

struct chan *chan_new(struct mig *m, int fd)
{
	struct chan *c;
	if (m->nch == MIG_MAX_CHAN || !(c = calloc(1, sizeof(*c))))
		return NULL;
	c->m = m;
	c->idx = (uint16_t)m->nch;
	c->fd = fd;
	c->kind = LH_CHAN_AUTO;
	ev_io_init(&c->io, chan_io_cb, fd, 0);
	c->io.data = c;
	m->ch[m->nch++] = c;
	return c;
}

void chan_update_io(struct chan *c)
{
	int ev = 0;
	if (c->fd >= 0 && c->linger) {
		ev = EV_READ | (c->out.len ? EV_WRITE : 0);
	} else if (c->fd >= 0 && c->state != CS_WAIT && c->state != CS_CLOSED) {
		if (c->state == CS_CONNECTING)
			ev = EV_WRITE;
		else {
			/* in doubt, QEMU has sent its stream: nothing more is read until it is decided */
			int want_read = c->m->dir == MIG_OUT ? !c->fwd_eof && c->m->state != MS_INDOUBT : !c->rev_eof;
			want_read = want_read && !c->blocked;
			if (want_read)
				ev |= EV_READ;
			if (c->out.len || (c->m->dir == MIG_IN && c->fwd_eof && !c->shut_wr) ||
			    (c->m->dir == MIG_OUT && c->rev_eof && !c->shut_wr))
				ev |= EV_WRITE;
		}
	}
	if (ev == c->io_events)
		return;
	ev_io_stop(c->m->gw->loop, &c->io);
	c->io_events = ev;
	if (ev) {
		ev_io_set(&c->io, c->fd, ev);
		ev_io_start(c->m->gw->loop, &c->io);
	}
}

void chan_close_fd(struct chan *c, int reset)
{
	if (c->fd < 0)
		return;
	ev_io_stop(c->m->gw->loop, &c->io);
	c->io_events = 0;
	if (reset) {
		/* RST, not FIN: QEMU sees an error, never a clean end of stream */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
	c->linger = 0;
	chan_set_state(c, CS_CLOSED, reset ? "reset" : "closed");
}

/*
 * A failed migration's source main channel that carries a return path: what
 * the destination QEMU said (its SHUT with the failure status) still goes to
 * the source QEMU, which learns the outcome from it and keeps the guest. A
 * reset could discard those bytes in either kernel, so: write them, FIN, and
 * read (discarding) until QEMU closes, since close() with unread bytes would
 * reset after all. At most CHAN_LINGER_S, then reset (mig_tick).
 */
static void chan_linger_io(struct chan *c)
{
	uint8_t sink[LINGER_READ];

	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out.off, c->out.len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			log_debug("migration out#%u: channel %u: return path to QEMU after the failure: %s", c->m->id,
				  c->idx, strerror(errno));
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
		chan_close_fd(c, n < 0); /* QEMU closed (or failed): done */
		bbuf_free(&c->out);
		return;
	}
	chan_update_io(c);
}

void chan_linger(struct chan *c)
{
	log_info("migration out#%u (%s): channel %u: handing the source QEMU the return path's last %zu bytes "
		 "before closing", c->m->id, c->m->route, c->idx, c->out.len);
	c->linger = 1;
	c->linger_since = ev_now(c->m->gw->loop);
	c->blocked = 0;
	chan_linger_io(c);
}

int chan_flush_out(struct chan *c)
{
	struct mig *m = c->m;
	while (c->out.len && c->fd >= 0 && c->state == CS_OPEN) {
		ssize_t n = send(c->fd, c->out.p + c->out.off, c->out.len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			char why[160];
			snprintf(why, sizeof(why), "channel %u: write to QEMU: %s", c->idx, strerror(errno));
			mig_fail(m, MFR_HYPERVISOR_IO, why, 1);
			return -1;
		}
		bbuf_eat(&c->out, (size_t)n);
		if (m->dir == MIG_IN) {
			c->fwd_bytes += (size_t)n;
			m->lan_bytes += (size_t)n;
			m->gw->st.lan_tx_bytes += (size_t)n;
		} else {
			c->rev_bytes += (size_t)n;
		}
	}
	/* the end of stream is in the destination QEMU's socket, its answer not yet here */
	if (m->dir == MIG_IN && c->kind == LH_CHAN_MAIN && m->gate_open && !c->out.len && !m->accepted)
		mig_test_die_at(m->gw, "released");
	return 0;
}

/* Source: the channel carries the destination's return path, which must reach QEMU even now. */
static int keeps_return_path(const struct chan *c)
{
	return c->m->dir == MIG_OUT && c->kind == LH_CHAN_MAIN && c->fd >= 0 && (c->out.len || c->rev_bytes);
}

void mig_fail(struct mig *m, enum mig_fail_reason code, const char *reason, int tell_peer)
{
	struct gw *gw = m->gw;
	if (m->state == MS_FAILED || m->state == MS_DONE)
		return;
	snprintf(m->why, sizeof(m->why), "%s", reason);
	m->fail_code = code;
	log_warnx("migration %s#%u (%s): FAILED (%s): %s%s", m->dir == MIG_OUT ? "out" : "in", m->id, m->route,
		  mig_fail_reason_name(code), reason,
		  m->dir == MIG_IN ? " (destination connections reset; source keeps the guest)"
				   : " (no cutover: the guest stays at this site)");
	shold_drop(m); /* before the resets below: a socket the holder still keeps would not reset */
	/* the guest cannot run at this destination: its QEMU's connections are reset before the EOF, or it refused */
	if (m->dir == MIG_IN && (!(m->gate_open || m->ungated) || code == MFR_DEST_REFUSED) &&
	    outcome_lookup(gw->outcomes, m->uid) != OUTCOME_REFUSED)
		mig_record_outcome(m, OUTCOME_REFUSED, reason);
	for (unsigned i = 0; i < m->nch; i++) {
		struct chan *c = m->ch[i];
		/* an open segment ends as aborted, so the receiver never takes it for complete */
		if (m->dir == MIG_OUT && c->stream_id && !c->seg_ended && gw->sess)
			lh_wan_enc_abort(cpipe_encoder(gw), c->stream_id, NULL);
		if (keeps_return_path(c)) {
			chan_linger(c);
		} else {
			chan_close_fd(c, 1);
			bbuf_free(&c->out);
		}
		bbuf_free(&c->held);
	}
	if (tell_peer && gw->sess) {
		uint8_t p[300];
		if (m->dir == MIG_IN) {
			/* the result first: it carries the reason code (CHANNEL_RESET is for older source gateways) */
			mig_send(m, WAN_MIGRATION_RESULT, p, wan_enc_result(p, m->id, 0, reason, 0, (uint8_t)code), NULL,
				 0);
			mig_send(m, WAN_CHANNEL_RESET, p, wan_enc_reset(p, m->id, WAN_CHAN_ALL, reason), NULL, 0);
			m->result_sent = 1;
		} else {
			for (unsigned i = 0; i < m->nch; i++)
				if (m->ch[i]->stream_id)
					mig_send(m, WAN_CHANNEL_CLOSE, p, wan_enc_cclose(p, m->id, m->ch[i]->idx, 1),
						 NULL, 0);
		}
	}
	mig_set_state(m, MS_FAILED, reason);
}

/*
 * An incoming migration's id is the peer's counter, which starts over when the
 * peer restarts: a finished in#1 of an earlier session must not swallow the new
 * session's MIGRATION_OPEN for its own #1 (that migration would hang).
 */
struct mig *mig_find(struct gw *gw, enum mig_dir dir, uint32_t id)
{
	uint64_t sess = dir == MIG_IN ? wan_session_id(gw) : 0;
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->dir == dir && m->id == id && (dir == MIG_OUT || m->session == sess))
			return m;
	return NULL;
}

static int has_main(const struct mig *m)
{
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->kind == LH_CHAN_MAIN)
			return 1;
	return 0;
}

/* Destination, every channel closed: done only if QEMU accepted the stream; the peer learns the verdict. */
static void dst_verdict(struct mig *m)
{
	uint8_t p[300];
	char why[300];

	if (!m->accepted && has_main(m)) {
		mig_fail(m, MFR_DEST_REFUSED, "every channel closed, but the destination QEMU never accepted the stream",
			 1);
		return;
	}
	if (!m->accepted)
		snprintf(m->evidence, sizeof(m->evidence), "every channel closed cleanly (no QEMU main channel)");
	if (m->gw->sess && !m->result_sent)
		mig_send(m, WAN_MIGRATION_RESULT, p,
			 wan_enc_result(p, m->id, 1, m->evidence, m->confirmed ? WAN_RESULT_CONFIRMED : 0, MFR_NONE),
			 NULL, 0);
	m->result_sent = 1;
	snprintf(why, sizeof(why), "verdict done, %s: %s", m->confirmed ? "confirmed" : "UNCONFIRMED", m->evidence);
	mig_set_state(m, MS_DONE, why);
}

void mig_check_done(struct mig *m)
{
	char why[300];

	if (m->state == MS_DONE || m->state == MS_FAILED)
		return;
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->state != CS_CLOSED)
			return;
	if (m->dir == MIG_IN) {
		dst_verdict(m);
	} else if (m->result_seen) {
		snprintf(why, sizeof(why), "verdict done, %s by the destination gateway: %s",
			 m->confirmed ? "confirmed" : "UNCONFIRMED", m->evidence[0] ? m->evidence : "(no evidence given)");
		mig_set_state(m, MS_DONE, why);
		/* the source QEMU completed and the destination accepted: the guest's MACs now live there */
		if (!m->cut)
			m->cut = gw_l2_cutover_start(m->gw, NS_ROLE_SOURCE, m->id, m->vni, &m->guest);
	}
}

void mig_accepted(struct mig *m, const char *evidence, int confirmed)
{
	if (m->accepted || m->dir != MIG_IN || !(m->gate_open || m->ungated) || m->state == MS_FAILED)
		return;
	m->accepted = 1;
	m->confirmed = confirmed;
	snprintf(m->evidence, sizeof(m->evidence), "%s", evidence);
	mig_record_outcome(m, OUTCOME_ACCEPTED, evidence);
	log_info("migration in#%u (%s): destination accepted the migration (%s)%s", m->id, m->route, evidence,
		 confirmed ? "" : "; UNCONFIRMED: no return path says so");
	/* the guest runs here from now on: announce it at once, not when the source has closed too (1 RTT later) */
	m->cut = gw_l2_cutover_start(m->gw, NS_ROLE_DESTINATION, m->id, m->vni, &m->guest);
}

void mig_rx_msg(struct gw *gw, const struct wan_msg *wm)
{
	switch (wm->type) {
	case WAN_MIGRATION_OPEN: case WAN_CHANNEL_OPEN: case WAN_CHANNEL_CLOSE: case WAN_CHANNEL_DATA:
		dst_rx_msg(gw, wm);
		break;
	case WAN_OUTCOME_QUERY: /* a source gateway in doubt asks what our QEMU answered */
		doubt_rx_query(gw, wm->u.oquery.uid);
		break;
	case WAN_OUTCOME:
		doubt_rx_outcome(gw, &wm->u.outcome);
		break;
	default: /* CREDIT, RETURN_DATA, CHANNEL_RESET, MIGRATION_RESULT: about our outgoing migrations */
		src_rx_msg(gw, wm);
		break;
	}
}

void mig_session_lost(struct gw *gw, const char *reason)
{
	char why[240];
	snprintf(why, sizeof(why), "WAN session lost: %s", reason);
	for (struct mig *m = gw->migs; m; m = m->next)
		if (!doubt_session_lost(m, why))
			mig_fail(m, MFR_SESSION_LOST, why, 0);
	dst_pend_drop_all(gw);
}

void mig_kick_sources(struct gw *gw)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->dir == MIG_OUT && m->state != MS_FAILED && m->state != MS_DONE)
			for (unsigned i = 0; i < m->nch; i++)
				if (m->ch[i]->blocked)
					src_chan_io(m->ch[i], 0);
}

static void mig_free(struct mig *m)
{
	gw_cutover_free(m->cut, "migration record reaped");
	bbuf_free(&m->cut_late);
	for (unsigned i = 0; i < m->nch; i++) {
		struct chan *c = m->ch[i];
		chan_close_fd(c, 0);
		bbuf_free(&c->out);
		bbuf_free(&c->held);
		free(c->rbuf);
		bbuf_free(&c->pend);
		lh_parser_free(c->parser);
		lh_parser_free(c->rxparser);
		lh_parser_free(c->mfparser);
		XXH3_freeState(c->prio_hash);
		free(c);
	}
	free(m);
}

void mig_tick(struct gw *gw)
{
	ev_tstamp now = ev_now(gw->loop);
	dst_pend_tick(gw);
	for (struct mig **pp = &gw->migs, *m; (m = *pp);) {
		if ((m->state == MS_DONE || m->state == MS_FAILED) && now - m->t_end > MIG_KEEP_S) {
			*pp = m->next;
			mig_free(m);
			continue;
		}
		if (m->state != MS_DONE && m->state != MS_FAILED && m->state != MS_INDOUBT) {
			uint64_t moved = m->lan_bytes + m->raw_bytes;
			for (unsigned i = 0; i < m->nch; i++)
				moved += m->ch[i]->rev_bytes;
			if (moved != m->progress_mark || !m->progress_at) {
				m->progress_mark = moved;
				m->progress_at = now;
			} else if (now - m->progress_at > MIG_STALL_S) {
				mig_fail(m, MFR_STALLED, "stalled: no byte moved for 300 s", 1);
			}
		}
		for (unsigned i = 0; i < m->nch; i++)
			if (m->ch[i]->linger && now - m->ch[i]->linger_since > CHAN_LINGER_S) {
				log_debug("migration out#%u: channel %u: QEMU did not close %.0f s after the failure",
					  m->id, m->ch[i]->idx, CHAN_LINGER_S);
				chan_close_fd(m->ch[i], 1);
			}
		doubt_tick(m);
		if (m->dir == MIG_OUT)
			src_tick(m);
		else
			dst_tick(m);
		pp = &m->next;
	}
}

void mig_free_all(struct gw *gw)
{
	struct mig *m;
	dst_pend_drop_all(gw);
	while ((m = gw->migs)) {
		gw->migs = m->next;
		mig_free(m);
	}
}

unsigned mig_count_active(const struct gw *gw)
{
	unsigned n = 0;
	for (const struct mig *m = gw->migs; m; m = m->next)
		if (m->state != MS_DONE && m->state != MS_FAILED)
			n++;
	return n;
}

void mig_fail_route(struct gw *gw, const struct route *r, const char *reason)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->r == r) {
			m->r = NULL;
			if (reason)
				mig_fail(m, MFR_ROUTE_REMOVED, reason, 1);
		}
}

void mig_list_json(struct gw *gw, struct lh_jbuf *b)
{
	ev_tstamp now = ev_now(gw->loop);
	lh_json_arr_begin(b, "migrations");
	for (struct mig *m = gw->migs; m; m = m->next) {
		double el = (m->t_end ? m->t_end : now) - m->t_start;
		lh_json_obj_begin(b, NULL);
		char uid[17];
		snprintf(uid, sizeof(uid), "%016llx", (unsigned long long)m->uid);
		lh_json_uint(b, "id", m->id);
		lh_json_str(b, "uid", uid);
		lh_json_str(b, "direction", m->dir == MIG_OUT ? "out" : "in");
		lh_json_str(b, "route", m->route);
		lh_json_str(b, "destination", m->dest);
		lh_json_str(b, "phase", state_names[m->state]);
		if (m->why[0])
			lh_json_str(b, "error", m->why);
		if (m->state == MS_DONE || m->state == MS_FAILED || m->state == MS_INDOUBT)
			lh_json_str(b, "verdict", state_names[m->state]);
		doubt_json(m, b);
		if (m->state == MS_DONE) {
			lh_json_bool(b, "confirmed", m->confirmed);
			lh_json_str(b, "evidence", m->evidence);
		}
		if (m->state == MS_FAILED)
			lh_json_str(b, "reason_code", mig_fail_reason_name(m->fail_code));
		lh_json_uint(b, "channels", m->nch);
		lh_json_arr_begin(b, "channel_kinds");
		for (unsigned i = 0; i < m->nch; i++)
			lh_json_str(b, NULL, lh_channel_name(m->ch[i]->kind));
		lh_json_arr_end(b);
		lh_json_uint(b, "bytes_hypervisor", m->lan_bytes);
		lh_json_uint(b, "bytes_wan", m->wan_bytes);
		lh_json_double(b, "ratio", m->wan_bytes ? (double)m->lan_bytes / (double)m->wan_bytes : 0.0);
		lh_json_double(b, "rate_mbit", el > 0 ? (double)m->lan_bytes * 8 / 1e6 / el : 0.0);
		lh_json_double(b, "elapsed_s", el);
		gw_cutover_json(m->cut, "cutover", b);
		lh_json_obj_end(b);
	}
	lh_json_arr_end(b);
}

static void pipe_frame(void *ctx, const lh_wan_frame_info *info, const uint8_t *data, size_t n, size_t frame_len)
{
	mig_rx_frame(ctx, info, data, n, frame_len);
}

static void pipe_msg(void *ctx, const struct wan_msg *m) { mig_rx_msg(ctx, m); }
static void pipe_session_lost(void *ctx, const char *reason) { mig_session_lost(ctx, reason); }
static void pipe_link_up(void *ctx)
{
	mig_resend_credits(ctx);
	doubt_session_up(ctx);
}
static void pipe_room(void *ctx) { mig_kick_sources(ctx); }
static void pipe_rtt(void *ctx, double ms) { mig_link_rtt(ctx, ms); }
static int pipe_busy(void *ctx) { return mig_count_active(ctx) > 0; }
static void pipe_codec_lost(void *ctx, const uint32_t *sids, unsigned n, const char *reason)
{
	mig_codec_lost(ctx, sids, n, reason);
}
static void pipe_codec_reset(void *ctx, const char *reason) { mig_codec_reset(ctx, reason); }

int mig_attach(struct gw *gw)
{
	const struct cpipe_events ev = {
		.ctx = gw,
		.frame = pipe_frame,
		.msg = pipe_msg,
		.session_lost = pipe_session_lost,
		.link_up = pipe_link_up,
		.room = pipe_room,
		.rtt = pipe_rtt,
		.busy = pipe_busy,
		.codec_lost = pipe_codec_lost,
		.codec_reset = pipe_codec_reset,
	};
	return cpipe_init(gw, &ev);
}
