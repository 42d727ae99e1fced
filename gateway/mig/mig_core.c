/* SPDX-License-Identifier: MIT */
/* The common parts of both migration roles: objects, byte queues, peer messages, transitions, deferred teardown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/base/log.h"
#include "gateway/mig/kept.h"
#include "gateway/mig/l2.h"
#include "gateway/mig/mig_core.h"
#include "gateway/wan/wan_session.h"

static const char *const fail_reason_names[MFR__COUNT] = {
	[MFR_NONE] = "", [MFR_DEST_REFUSED] = "dest-refused", [MFR_SOURCE_ABORT] = "source-abort",
	[MFR_INTEGRITY] = "integrity", [MFR_SESSION_LOST] = "session-lost", [MFR_PEER_RESET] = "peer-reset",
	[MFR_ROUTE_REMOVED] = "route-removed", [MFR_CONNECT] = "connect", [MFR_HYPERVISOR_IO] = "hypervisor-io",
	[MFR_PROTOCOL] = "protocol", [MFR_STALLED] = "stalled", [MFR_GATEWAY] = "gateway-error",
	[MFR_DRAINING] = "draining",
};
_Static_assert(MFR__COUNT <= GW_FAIL_REASONS, "gw_stats.migs_failed_by has no room for every reason");
_Static_assert(SRC__COUNT <= GW_MIG_STATES && DST__COUNT <= GW_MIG_STATES,
	       "gw_stats.mig_states_entered has no room for every state");

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

void mig_tag(const struct mig *m, char *buf, size_t len)
{
	snprintf(buf, len, "migration %s#%u (%s)", m->role->dir, m->id, m->route);
}

/* Audit trail record for a migration event; no-op without an audit log. NULL when nothing is recorded. */
static struct lh_jbuf *audit_begin(struct mig *m, const char *event)
{
	struct lh_jbuf *b;
	const struct gw_recorder *rec = &m->gw->rec;
	if (!rec->begin || !(b = rec->begin(rec->ctx, event)))
		return NULL;
	lh_json_uint(b, "migration", m->id);
	lh_json_str(b, "direction", m->role->dir);
	lh_json_str(b, "route", m->route);
	lh_json_str(b, "destination", m->dest);
	return b;
}

static void audit_commit(struct mig *m)
{
	m->gw->rec.commit(m->gw->rec.ctx);
}

/* The migration-end record: where the guest runs, why, what moved. */
static void audit_end(struct mig *m)
{
	struct lh_jbuf *b = audit_begin(m, "migration-end");
	if (!b)
		return;
	lh_json_str(b, "result", m->end == MIG_DONE ? "ok" : m->end == MIG_PAUSED ? "postcopy-paused" : "failed");
	if (m->end == MIG_DONE)
		lh_json_bool(b, "confirmed", m->confirmed);
	if (m->why[0])
		lh_json_str(b, "error", m->why);
	if (m->end != MIG_DONE)
		lh_json_str(b, "reason_code", mig_fail_reason_name(m->fail_code));
	lh_json_uint(b, "bytes_hypervisor", m->lan_bytes);
	lh_json_uint(b, "bytes_wan", m->wan_bytes);
	lh_json_double(b, "elapsed_s", m->t_end - m->t_start);
	audit_commit(m);
}

void mig_init(struct mig *m, const struct mig_role *role, struct gw *gw, uint32_t id, uint64_t uid,
	      const char *route, const char *dest)
{
	struct lh_jbuf *b;
	m->role = role;
	m->gw = gw;
	m->id = id;
	m->session = wan_session_id(gw);
	m->uid = uid;
	m->phase = role->machine->states[0];
	m->end = MIG_LIVE;
	snprintf(m->route, sizeof(m->route), "%s", route);
	snprintf(m->dest, sizeof(m->dest), "%s", dest);
	m->t_start = ev_now(gw->loop);
	m->next = gw->migs;
	gw->migs = m;
	gw->st.mig_states_entered[role->idx][0]++;
	log_info("migration %s#%u (%s): started, destination %s", role->dir, id, route, dest);
	if ((b = audit_begin(m, "migration-start")))
		audit_commit(m);
}

void mig_release(struct mig *m)
{
	gw_cutover_free(m->cut, "migration record reaped");
}

void mig_transitioned(struct mig *m, unsigned from, unsigned ev, unsigned to, const char *why)
{
	const struct mig_machine *mm = m->role->machine;
	struct gw_stats *st = &m->gw->st;
	struct lh_jbuf *b;

	m->phase = mm->states[to];
	m->end = mm->ends[to];
	kept_note(m); /* a postcopy migration's record, durable before anything goes on */
	log_info("migration %s#%u (%s): %s -> %s (%s): %s", m->role->dir, m->id, m->route, mm->states[from],
		 mm->states[to], mm->events[ev], why);
	st->mig_states_entered[m->role->idx][to]++;
	if ((b = audit_begin(m, "migration-state"))) {
		char uid[17];
		snprintf(uid, sizeof(uid), "%016llx", (unsigned long long)m->uid);
		lh_json_str(b, "uid", uid);
		lh_json_str(b, "from", mm->states[from]);
		lh_json_str(b, "on", mm->events[ev]);
		lh_json_str(b, "to", mm->states[to]);
		lh_json_str(b, "why", why);
		if (m->end == MIG_FAILED || m->end == MIG_PAUSED)
			lh_json_str(b, "reason_code", mig_fail_reason_name(m->fail_code));
		audit_commit(m);
	}
	if (m->end == MIG_LIVE || m->end == MIG_INDOUBT)
		return;
	if (m->gw->test_corrupt_after == m->id && !strcmp(m->role->dir, "out")) {
		m->gw->test_corrupt_after = 0;
		log_warnx("TEST fault injection: migration out#%u ended: LH_TEST_CORRUPT_FRAME_MIG counts migration %u's "
			  "DATA frames from now", m->id, m->gw->test_corrupt_mig);
	}
	m->t_end = ev_now(m->gw->loop);
	if (m->end == MIG_DONE) {
		st->migs_ok++;
	} else if (m->end == MIG_FAILED) {
		st->migs_failed++;
		st->migs_failed_by[m->fail_code]++;
	}
	audit_end(m);
}

void mig_transition_bug(struct mig *m, unsigned from, unsigned ev, const char *why)
{
	const struct mig_machine *mm = m->role->machine;
	log_warnx("BUG: migration %s#%u (%s): illegal transition: %s on %s (%s); the state stays", m->role->dir, m->id,
		  m->route, mm->events[ev], mm->states[from], why);
}

void mig_teardown_later(struct mig *m, int tell_peer)
{
	m->teardown_due = 1;
	m->tell_peer = tell_peer;
}

void mig_settle(struct gw *gw)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->teardown_due) {
			m->teardown_due = 0;
			m->role->teardown(m);
		}
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

void mig_fail(struct mig *m, enum mig_fail_reason code, const char *reason, int tell_peer)
{
	m->role->fail(m, code, reason, tell_peer);
}

int mig_send(struct mig *m, int type, const void *p1, size_t n1, const void *p2, size_t n2)
{
	if (m->session && m->session != wan_session_id(m->gw))
		return -ENOTCONN;
	return wan_send(m->gw, type, p1, n1, p2, n2);
}

void mig_test_at(struct gw *gw, const char *point)
{
	if (gw->test_stop_at[0] && !strcmp(gw->test_stop_at, point)) {
		gw->test_stop_at[0] = 0; /* once: a point can be passed more than once */
		log_warnx("TEST fault injection: LH_TEST_STOP_AT=%s: stopping (SIGSTOP) until a SIGCONT", point);
		raise(SIGSTOP);
		log_warnx("TEST fault injection: LH_TEST_STOP_AT=%s: continued", point);
	}
	if (!gw->test_die_at[0] || strcmp(gw->test_die_at, point))
		return;
	log_warnx("TEST fault injection: LH_TEST_DIE_AT=%s: exiting now, as a crash would", point);
	_exit(86); /* no teardown: the kernel closes every socket, as after a crash */
}

static const char *const chan_state_names[] = {
	[CS_CLASSIFY] = "classify", [CS_WAIT] = "wait", [CS_CONNECTING] = "connecting", [CS_OPEN] = "open",
	[CS_CLOSED] = "closed",
};

const char *chan_state_name(enum chan_state s)
{
	return chan_state_names[s];
}

void chan_set_state(struct chan *c, enum chan_state s, const char *why)
{
	if (c->state == s)
		return;
	log_debug("migration %s#%u: channel %u (%s) %s -> %s: %s", c->m->role->dir, c->m->id, c->idx,
		  lh_channel_name(c->kind), chan_state_names[c->state], chan_state_names[s], why);
	c->state = s;
}

int chan_init(struct chan *c, struct mig *m, int fd, void (*cb)(struct ev_loop *, ev_io *, int))
{
	if (m->nch == MIG_MAX_CHAN)
		return -ENOSPC;
	c->m = m;
	c->idx = (uint16_t)m->nch;
	c->fd = fd;
	c->kind = LH_CHAN_AUTO;
	ev_io_init(&c->io, cb, fd, 0);
	c->io.data = c;
	m->ch[m->nch++] = c;
	return 0;
}

void chan_free(struct chan *c)
{
	chan_close_fd(c, 0);
	bbuf_free(&c->out);
	XXH3_freeState(c->prio_hash);
}

void chan_watch(struct chan *c, int ev)
{
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
	chan_set_state(c, CS_CLOSED, reset ? "reset" : "closed");
}

long chan_flush_out(struct chan *c)
{
	long done = 0;
	if (!mig_live(c->m))
		return 0; /* its teardown resets the socket */
	while (c->out.len && c->fd >= 0 && c->state == CS_OPEN) {
		ssize_t n = send(c->fd, c->out.p + c->out.off, c->out.len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
		bbuf_eat(&c->out, (size_t)n);
		done += n;
	}
	return done;
}

struct chan *mig_main_chan(const struct mig *m)
{
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->kind == LH_CHAN_MAIN)
			return m->ch[i];
	return NULL;
}

struct chan *mig_lead_chan(const struct mig *m)
{
	struct chan *mc = mig_main_chan(m);
	return mc ? mc : m->recovery_main;
}

XXH3_state_t *prio_hash_new(void)
{
	XXH3_state_t *st = XXH3_createState();
	if (st)
		XXH3_128bits_reset(st);
	return st;
}

void prio_hash_digest(XXH3_state_t *st, uint8_t out[16])
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
	memcpy(out, c.digest, 16);
}

/*
 * QEMU sends POSTCOPY_RUN inside the PACKAGED blob that ends the precopy phase (postcopy_start: LISTEN, the
 * device state, PING, RUN), which the parser passes on as opaque bytes: the blob's last 5 bytes are then the
 * command (0x08, be16 5, be16 0). A top-level one counts too.
 */
int pc_watch_event(struct pc_watch *w, const lh_event *ev)
{
	static const uint8_t run[5] = { 0x08, 0x00, LH_CMD_POSTCOPY_RUN, 0x00, 0x00 };

	if (ev->type == LH_EV_COMMAND) {
		if (ev->u.command.cmd == LH_CMD_POSTCOPY_RUN)
			return 1;
		if (ev->u.command.cmd == LH_CMD_PACKAGED) {
			w->blob_left = ev->u.command.blob_len;
			w->tlen = 0;
		}
		return 0;
	}
	if (ev->type != LH_EV_OPAQUE || ev->u.opaque.kind != LH_OPAQUE_PACKAGED || !w->blob_left)
		return 0;
	size_t take = ev->raw_len < w->blob_left ? ev->raw_len : (size_t)w->blob_left;
	const uint8_t *p = ev->raw;
	w->blob_left -= take;
	if (take > sizeof(w->tail)) { /* only the last bytes matter */
		p += take - sizeof(w->tail);
		take = sizeof(w->tail);
		w->tlen = 0;
	}
	for (size_t i = 0; i < take; i++) {
		if (w->tlen == sizeof(w->tail)) {
			memmove(w->tail, w->tail + 1, sizeof(w->tail) - 1);
			w->tlen--;
		}
		w->tail[w->tlen++] = p[i];
	}
	return !w->blob_left && w->tlen == sizeof(run) && !memcmp(w->tail, run, sizeof(run));
}

int mig_recovery_main(const uint8_t *b, size_t n)
{
	return n >= 3 && b[0] == 0x08 && b[1] == 0x00 && b[2] == LH_CMD_RECV_BITMAP;
}
