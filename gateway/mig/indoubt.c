/* SPDX-License-Identifier: MIT */
/*
 * After the end of stream was released, a lost WAN session decides nothing (mig/OUTCOMES.md).
 *
 * Source: once main's EOF went to the WAN, the destination gateway may have released it and its QEMU may run
 * the guest. Resetting the source QEMU now would make it resume the guest too. So the source gateway holds
 * its connections (QEMU stays paused in completion, waiting for its return path), marks the migration
 * in-doubt, and asks the destination gateway, as soon as a session is back, what its QEMU answered
 * (OUTCOME_QUERY / OUTCOME). Accepted: the source QEMU gets SHUT 0 and completes; refused: its return path
 * closes and it resumes the guest; pending: ask again; unknown: it stays in-doubt until an operator decides
 * (longhaulctl resolve). Never a guess.
 *
 * Destination: once the EOF was released, its QEMU still answers after the session is gone; its connections
 * stay, the answer is recorded (outcome.c) and given to the source when it asks.
 */
#include "gateway/mig/indoubt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/base/log.h"
#include "gateway/mig/l2.h"
#include "gateway/wan/wan_session.h"

static const char *const answer_names[] = {
	[WAN_OUTCOME_UNKNOWN] = "unknown", [WAN_OUTCOME_ACCEPTED] = "accepted", [WAN_OUTCOME_REFUSED] = "refused",
	[WAN_OUTCOME_PENDING] = "pending",
};

static struct chan *main_chan(const struct mig *m)
{
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->kind == LH_CHAN_MAIN)
			return m->ch[i];
	return NULL;
}

/* The return path relayed so far ends between two messages (a message can be appended safely). */
static int rp_at_boundary(const lh_rp_scanner *rp)
{
	return rp->state == LH_RP_SCANNING && rp->hlen == 0 && rp->body_left == 0;
}

/* The peer gateway answers OUTCOME_QUERY (its HELLO says so). */
static int peer_answers_queries(struct gw *gw)
{
	return wan_ready(gw) && (wan_peer_flags(gw) & WAN_HELLO_OUTCOMES);
}

static int src_hold(struct mig *m, const char *why)
{
	struct chan *mc = main_chan(m);

	if (m->state != MS_CUT)
		return 0; /* the EOF never left: the destination resets its QEMU before it, nothing to hold */
	if (mc && mc->rp.state == LH_RP_SHUT_SEEN && mc->rp.status == 0) {
		/* the destination QEMU's SHUT 0 already reached the source QEMU: it completes, B runs the guest */
		m->result_seen = 1;
		m->confirmed = 1;
		snprintf(m->evidence, sizeof(m->evidence),
			 "the destination QEMU's SHUT 0 was relayed to the source QEMU before the session was lost");
		mig_check_done(m);
		return 1;
	}
	m->doubt_since = ev_now(m->gw->loop);
	m->doubt_asked = 0;
	m->doubt_answer = -1;
	snprintf(m->doubt_note, sizeof(m->doubt_note), "%s: waiting for a session to ask the destination gateway",
		 why);
	log_warnx("migration out#%u (%s) uid %016" PRIx64 ": IN DOUBT: %s after main's EOF left; the source QEMU "
		  "is held paused until the destination gateway's record (or longhaulctl resolve) says where the "
		  "guest runs", m->id, m->route, m->uid, why);
	mig_set_state(m, MS_INDOUBT, why);
	/* QEMU has sent its stream: read nothing more until decided, keep every connection open */
	for (unsigned i = 0; i < m->nch; i++)
		chan_update_io(m->ch[i]);
	return 1;
}

/*
 * Destination without a session: what is queued for QEMU still goes out, the channels end (FIN, as the
 * source's close would have said), and the return path is still read: QEMU's SHUT is recorded.
 */
static int dst_await(struct mig *m, const char *why)
{
	if (m->state != MS_RELEASED || m->accepted)
		return m->accepted; /* accepted: the guest runs here already; it ends when QEMU closes */
	m->doubt_since = ev_now(m->gw->loop);
	log_warnx("migration in#%u (%s) uid %016" PRIx64 ": %s after the EOF was released: waiting for the "
		  "destination QEMU's answer to record it (the source gateway will ask for it)", m->id, m->route,
		  m->uid, why);
	for (unsigned i = 0; i < m->nch; i++) {
		struct chan *c = m->ch[i];
		c->fwd_eof = 1; /* no CHANNEL_CLOSE will come: end after the queued bytes */
		if (c->state == CS_OPEN)
			dst_chan_io(c, EV_WRITE);
	}
	return 1;
}

void doubt_adopted(struct mig *m)
{
	m->doubt_since = ev_now(m->gw->loop);
	m->doubt_asked = 0;
	m->doubt_answer = -1;
	snprintf(m->doubt_note, sizeof(m->doubt_note),
		 "taken back from the fd holder after a restart of this gateway: asking the destination gateway");
	mig_set_state(m, MS_INDOUBT, "adopted from the fd holder after a restart");
	for (unsigned i = 0; i < m->nch; i++)
		chan_update_io(m->ch[i]);
}

int doubt_session_lost(struct mig *m, const char *why)
{
	if (m->state == MS_DONE || m->state == MS_FAILED || m->state == MS_INDOUBT)
		return 1;
	return m->dir == MIG_OUT ? src_hold(m, why) : dst_await(m, why);
}

static void ask(struct mig *m)
{
	uint8_t p[8];
	if (wan_send(m->gw, WAN_OUTCOME_QUERY, p, wan_enc_oquery(p, m->uid), NULL, 0) < 0)
		return;
	m->doubt_asked = ev_now(m->gw->loop);
	m->doubt_asks++;
	log_info("migration out#%u (%s) uid %016" PRIx64 ": asking the destination gateway for its QEMU's answer",
		 m->id, m->route, m->uid);
}

void doubt_tick(struct mig *m)
{
	ev_tstamp now = ev_now(m->gw->loop);

	if (m->dir == MIG_IN) {
		/* a destination QEMU that never answers: its outcome stays unknown (nothing recorded) */
		if (m->doubt_since && m->state == MS_RELEASED && !m->accepted && now - m->doubt_since > DOUBT_AWAIT_S)
			mig_fail(m, MFR_SESSION_LOST, "no answer from the destination QEMU after the session was lost",
				 0);
		return;
	}
	if (m->state != MS_INDOUBT)
		return;
	if (m->doubt_answer == WAN_OUTCOME_UNKNOWN)
		return; /* the destination gateway has no record: only an operator can decide */
	if (!peer_answers_queries(m->gw)) {
		if (wan_ready(m->gw))
			snprintf(m->doubt_note, sizeof(m->doubt_note),
				 "the peer gateway is of a release that cannot be asked for outcomes: check the "
				 "destination QEMU, then longhaulctl resolve %s accepted|refused", m->route);
		return;
	}
	if (now - m->doubt_asked >= DOUBT_ASK_EVERY_S)
		ask(m);
}

void doubt_session_up(struct gw *gw)
{
	/* every stream's coming up calls this: one question per DOUBT_ASK_EVERY_S is enough */
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->dir == MIG_OUT && m->state == MS_INDOUBT && m->doubt_answer != WAN_OUTCOME_UNKNOWN &&
		    peer_answers_queries(gw) && ev_now(gw->loop) - m->doubt_asked >= DOUBT_ASK_EVERY_S)
			ask(m);
}

/* Destination: what this gateway knows of uid's outcome. */
static enum wan_outcome_code answer_for(struct gw *gw, uint64_t uid, const char **reason)
{
	enum mig_outcome o = outcome_lookup(gw->outcomes, uid);
	*reason = "";
	for (struct mig *m = gw->migs; m; m = m->next) {
		if (m->dir != MIG_IN || m->uid != uid)
			continue;
		if (m->accepted) {
			*reason = m->evidence;
			return WAN_OUTCOME_ACCEPTED;
		}
		if (m->state == MS_FAILED && o == OUTCOME_UNKNOWN && !(m->gate_open || m->ungated)) {
			*reason = m->why; /* reset before the EOF: its QEMU cannot run the guest */
			return WAN_OUTCOME_REFUSED;
		}
		if (m->state == MS_FAILED)
			*reason = m->why;
		else if (o == OUTCOME_UNKNOWN)
			return WAN_OUTCOME_PENDING; /* streaming, verifying, or released and not answered yet */
	}
	if (o != OUTCOME_UNKNOWN)
		*reason = outcome_reason(gw->outcomes, uid);
	if (o == OUTCOME_ACCEPTED)
		return WAN_OUTCOME_ACCEPTED;
	if (o == OUTCOME_REFUSED)
		return WAN_OUTCOME_REFUSED;
	return WAN_OUTCOME_UNKNOWN;
}

void doubt_rx_query(struct gw *gw, uint64_t uid)
{
	uint8_t p[300];
	const char *reason;
	enum wan_outcome_code a = answer_for(gw, uid, &reason);
	log_info("outcome query for uid %016" PRIx64 ": %s%s%s", uid, answer_names[a], reason[0] ? ": " : "", reason);
	wan_send(gw, WAN_OUTCOME, p, wan_enc_outcome(p, uid, (uint8_t)a, reason), NULL, 0);
}

/* Source: where the guest runs is known now; the source QEMU learns it on its return path. */
static void src_settle(struct mig *m, enum mig_outcome o, const char *evidence, int confirmed)
{
	char why[300];
	struct chan *mc = main_chan(m);

	if (o == OUTCOME_REFUSED) {
		snprintf(why, sizeof(why), "after the session loss: refused: %s", evidence);
		/* its return path closes without SHUT 0: the source QEMU fails the migration, resumes the guest */
		mig_fail(m, MFR_DEST_REFUSED, why, 0);
		return;
	}
	if (mc && mc->fd >= 0 && mc->rp.state != LH_RP_SHUT_SEEN) {
		/* be16 type SHUT, be16 len 4, be32 status 0: what the destination QEMU said, in its own words */
		static const uint8_t shut0[8] = { 0, LH_RP_MSG_SHUT, 0, 4, 0, 0, 0, 0 };
		if (!rp_at_boundary(&mc->rp)) {
			snprintf(m->doubt_note, sizeof(m->doubt_note),
				 "accepted at the destination (%s), but the return path was cut inside a message: the source "
				 "QEMU cannot be told; decide with longhaulctl resolve after checking QEMU", evidence);
			log_warnx("migration out#%u (%s): %s", m->id, m->route, m->doubt_note);
			m->doubt_answer = WAN_OUTCOME_UNKNOWN;
			return;
		}
		if (bbuf_add(&mc->out, shut0, sizeof(shut0)) < 0) {
			snprintf(m->doubt_note, sizeof(m->doubt_note), "accepted, but out of memory telling QEMU");
			return;
		}
		lh_rp_feed(&mc->rp, shut0, sizeof(shut0));
	}
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->fd >= 0)
			chan_linger(m->ch[i]); /* SHUT 0 (main), then FIN; QEMU completes and closes */
	m->result_seen = 1;
	m->confirmed = confirmed;
	snprintf(m->evidence, sizeof(m->evidence), "after the session loss: %s", evidence);
	snprintf(why, sizeof(why), "verdict done, %s after the session loss: %s",
		 confirmed ? "confirmed" : "UNCONFIRMED (an operator's decision)", evidence);
	mig_set_state(m, MS_DONE, why);
	/* the destination QEMU accepted: the guest's MACs now live there */
	if (!m->cut)
		m->cut = gw_l2_cutover_start(m->gw, NS_ROLE_SOURCE, m->id, m->vni, &m->guest);
}

static struct mig *find_uid(struct gw *gw, uint64_t uid)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->dir == MIG_OUT && m->uid == uid)
			return m;
	return NULL;
}

void doubt_rx_outcome(struct gw *gw, const struct wan_outcome *o)
{
	struct mig *m = find_uid(gw, o->uid);
	char ev[300];

	if (!m || m->state != MS_INDOUBT)
		return; /* decided already (an operator, or an earlier answer) */
	m->doubt_answer = o->outcome;
	log_info("migration out#%u (%s) uid %016" PRIx64 ": the destination gateway answers %s%s%s", m->id,
		 m->route, m->uid, answer_names[o->outcome], o->reason[0] ? ": " : "", o->reason);
	snprintf(ev, sizeof(ev), "the destination gateway's record: %s", o->reason[0] ? o->reason : answer_names[o->outcome]);
	switch (o->outcome) {
	case WAN_OUTCOME_ACCEPTED:
		src_settle(m, OUTCOME_ACCEPTED, ev, 1);
		break;
	case WAN_OUTCOME_REFUSED:
		src_settle(m, OUTCOME_REFUSED, ev, 1);
		break;
	case WAN_OUTCOME_PENDING:
		snprintf(m->doubt_note, sizeof(m->doubt_note), "the destination QEMU has not answered yet; asking again");
		break;
	default:
		snprintf(m->doubt_note, sizeof(m->doubt_note),
			 "the destination gateway has no record of its QEMU's answer (it stopped before the answer came): "
			 "check the destination QEMU, then longhaulctl resolve %s accepted|refused", m->route);
		log_warnx("migration out#%u (%s): IN DOUBT: %s", m->id, m->route, m->doubt_note);
		break;
	}
}

int doubt_resolve(struct gw *gw, const char *name, enum mig_outcome o, const char *who, char *err, size_t errlen)
{
	char ev[300];
	struct mig *m = NULL;
	uint64_t uid = 0;
	char *end;

	if (strlen(name) == 16 && (uid = strtoull(name, &end, 16)) && !*end)
		m = find_uid(gw, uid);
	for (struct mig *x = gw->migs; !m && x; x = x->next)
		if (x->dir == MIG_OUT && x->state == MS_INDOUBT && !strcmp(x->route, name))
			m = x;
	if (!m || m->state != MS_INDOUBT) {
		snprintf(err, errlen, "no in-doubt migration %s", name);
		return -ENOENT;
	}
	if (o != OUTCOME_ACCEPTED && o != OUTCOME_REFUSED) {
		snprintf(err, errlen, "an outcome is accepted or refused");
		return -EINVAL;
	}
	log_warnx("migration out#%u (%s) uid %016" PRIx64 ": resolved %s by the operator (%s)", m->id, m->route,
		  m->uid, outcome_name(o), who);
	snprintf(ev, sizeof(ev), "resolved %s by the operator (%s)", outcome_name(o), who);
	src_settle(m, o, ev, 0);
	if (m->state == MS_INDOUBT) {
		snprintf(err, errlen, "%s", m->doubt_note);
		return -EINVAL;
	}
	return 0;
}

void doubt_json(const struct mig *m, struct lh_jbuf *b)
{
	if (m->state != MS_INDOUBT)
		return;
	lh_json_obj_begin(b, "doubt");
	lh_json_double(b, "since_s", ev_now(m->gw->loop) - m->doubt_since);
	lh_json_uint(b, "queries", m->doubt_asks);
	lh_json_str(b, "answer", m->doubt_answer < 0 ? "none" : answer_names[m->doubt_answer]);
	lh_json_str(b, "note", m->doubt_note);
	lh_json_obj_end(b);
}

unsigned doubt_count(const struct gw *gw)
{
	unsigned n = 0;
	for (const struct mig *m = gw->migs; m; m = m->next)
		n += m->state == MS_INDOUBT;
	return n;
}

int mig_resolve(struct gw *gw, const char *name, int accepted, const char *who, char *err, size_t errlen)
{
	return doubt_resolve(gw, name, accepted ? OUTCOME_ACCEPTED : OUTCOME_REFUSED, who, err, errlen);
}

unsigned mig_count_in_doubt(const struct gw *gw)
{
	return doubt_count(gw);
}
