/* SPDX-License-Identifier: MIT */
/*
 * Source role: a session lost after main's EOF left decides nothing (mig/OUTCOMES.md). The destination
 * gateway may have released the EOF and its QEMU may run the guest; resetting the source QEMU now would make
 * it resume the guest too. So the source gateway holds its connections (QEMU stays paused in completion,
 * waiting for its return path), the migration is in-doubt, and once a session is back it asks the
 * destination gateway what its QEMU answered (OUTCOME_QUERY / OUTCOME). Accepted: the source QEMU gets
 * SHUT 0 and completes; refused: its return path closes and it resumes the guest; pending: ask again;
 * unknown: it stays in-doubt until an operator decides (longhaulctl resolve). Never a guess.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/base/log.h"
#include "gateway/mig/indoubt.h"
#include "gateway/mig/l2.h"
#include "gateway/mig/route.h"
#include "gateway/mig/src.h"
#include "gateway/mig/src_hold.h"
#include "gateway/wan/wan_session.h"


/* The peer gateway answers OUTCOME_QUERY (its HELLO says so). */
static int peer_answers_queries(struct gw *gw)
{
	return wan_ready(gw) && (wan_peer_flags(gw) & WAN_HELLO_OUTCOMES);
}

int src_doubt_session_lost(struct src_mig *sm, const char *why)
{
	struct mig *m = &sm->m;
	struct chan *mc = mig_main_chan(m);

	if (!mig_live(m) || sm->state == SRC_INDOUBT)
		return 1;
	if (sm->state != SRC_VERIFYING || m->postcopy)
		return 0; /* the EOF never left: the destination resets its QEMU before it, nothing to hold; or
			   * postcopy: the caller's failure pauses it (QEMU enters postcopy-paused, never resumes) */
	if (mc && mc->rp.state == LH_RP_SHUT_SEEN && mc->rp.status == 0) {
		/* the destination QEMU's SHUT 0 already reached the source QEMU: it completes, B runs the guest */
		sm->result_seen = 1;
		m->confirmed = 1;
		snprintf(m->evidence, sizeof(m->evidence),
			 "the destination QEMU's SHUT 0 was relayed to the source QEMU before the session was lost");
		src_check_done(sm);
		return 1;
	}
	sm->doubt_since = ev_now(m->gw->loop);
	sm->doubt_asked = 0;
	sm->doubt_answer = -1;
	snprintf(sm->doubt_note, sizeof(sm->doubt_note), "%s: waiting for a session to ask the destination gateway",
		 why);
	log_warnx("migration out#%u (%s) uid %016" PRIx64 ": IN DOUBT: %s after main's EOF left; the source QEMU "
		  "is held paused until the destination gateway's record (or longhaulctl resolve) says where the "
		  "guest runs", m->id, m->route, m->uid, why);
	src_transition(sm, SRC_EV_SESSION_LOST, why);
	/* QEMU has sent its stream: read nothing more until decided, keep every connection open */
	for (unsigned i = 0; i < m->nch; i++)
		src_update_io(src_ch(sm, i));
	return 1;
}

static void ask(struct src_mig *sm)
{
	struct mig *m = &sm->m;
	uint8_t p[8];
	if (wan_send(m->gw, WAN_OUTCOME_QUERY, p, wan_enc_oquery(p, m->uid), NULL, 0) < 0)
		return;
	sm->doubt_asked = ev_now(m->gw->loop);
	sm->doubt_asks++;
	log_info("migration out#%u (%s) uid %016" PRIx64 ": asking the destination gateway for its QEMU's answer",
		 m->id, m->route, m->uid);
}

void src_doubt_tick(struct src_mig *sm)
{
	if (sm->state != SRC_INDOUBT)
		return;
	if (sm->doubt_answer == WAN_OUTCOME_UNKNOWN)
		return; /* the destination gateway has no record: only an operator can decide */
	if (!peer_answers_queries(sm->m.gw)) {
		if (wan_ready(sm->m.gw))
			snprintf(sm->doubt_note, sizeof(sm->doubt_note),
				 "the peer gateway is of a release that cannot be asked for outcomes: check the "
				 "destination QEMU, then longhaulctl resolve %s accepted|refused", sm->m.route);
		return;
	}
	if (ev_now(sm->m.gw->loop) - sm->doubt_asked >= DOUBT_ASK_EVERY_S)
		ask(sm);
}

void src_doubt_session_up(struct gw *gw)
{
	/* every stream's coming up calls this: one question per DOUBT_ASK_EVERY_S is enough */
	for (struct mig *m = gw->migs; m; m = m->next) {
		if (m->role != &src_role)
			continue;
		struct src_mig *sm = SM(m);
		if (sm->state == SRC_INDOUBT && sm->doubt_answer != WAN_OUTCOME_UNKNOWN && peer_answers_queries(gw) &&
		    ev_now(gw->loop) - sm->doubt_asked >= DOUBT_ASK_EVERY_S)
			ask(sm);
	}
}

/* Where the guest runs is known now; the source QEMU learns it on its return path. */
static void settle(struct src_mig *sm, enum mig_outcome o, const char *evidence, int confirmed)
{
	struct mig *m = &sm->m;
	struct chan *mc = mig_main_chan(m);
	char why[300];

	if (o == OUTCOME_REFUSED) {
		snprintf(why, sizeof(why), "after the session loss: refused: %s", evidence);
		/* its return path closes without SHUT 0: the source QEMU fails the migration, resumes the guest */
		src_fail(sm, MFR_DEST_REFUSED, why, 0);
		return;
	}
	if (mc && mc->fd >= 0 && mc->rp.state != LH_RP_SHUT_SEEN) {
		/* be16 type SHUT, be16 len 4, be32 status 0: what the destination QEMU said, in its own words */
		static const uint8_t shut0[8] = { 0, LH_RP_MSG_SHUT, 0, 4, 0, 0, 0, 0 };
		if (!mig_rp_at_boundary(&mc->rp)) {
			snprintf(sm->doubt_note, sizeof(sm->doubt_note),
				 "accepted at the destination (%s), but the return path was cut inside a message: the source "
				 "QEMU cannot be told; decide with longhaulctl resolve after checking QEMU", evidence);
			log_warnx("migration out#%u (%s): %s", m->id, m->route, sm->doubt_note);
			sm->doubt_answer = WAN_OUTCOME_UNKNOWN;
			return;
		}
		if (bbuf_add(&mc->out, shut0, sizeof(shut0)) < 0) {
			snprintf(sm->doubt_note, sizeof(sm->doubt_note), "accepted, but out of memory telling QEMU");
			return;
		}
		lh_rp_feed(&mc->rp, shut0, sizeof(shut0));
	}
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->fd >= 0)
			src_linger(src_ch(sm, i)); /* SHUT 0 (main), then FIN; QEMU completes and closes */
	sm->result_seen = 1;
	m->confirmed = confirmed;
	snprintf(m->evidence, sizeof(m->evidence), "after the session loss: %s", evidence);
	snprintf(why, sizeof(why), "verdict done, %s after the session loss: %s",
		 confirmed ? "confirmed" : "UNCONFIRMED (an operator's decision)", evidence);
	if (src_transition(sm, SRC_EV_DONE, why) < 0)
		return;
	/* the destination QEMU accepted: the guest's MACs now live there */
	if (!m->cut)
		m->cut = gw_l2_cutover_start(m->gw, NS_ROLE_SOURCE, m->id, m->vni, &m->guest);
}

static struct src_mig *find_uid(struct gw *gw, uint64_t uid)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->role == &src_role && m->uid == uid)
			return SM(m);
	return NULL;
}

void src_doubt_rx_outcome(struct gw *gw, const struct wan_outcome *o)
{
	struct src_mig *sm = find_uid(gw, o->uid);
	char ev[300];

	if (!sm || sm->state != SRC_INDOUBT)
		return; /* decided already (an operator, or an earlier answer) */
	struct mig *m = &sm->m;
	sm->doubt_answer = o->outcome;
	log_info("migration out#%u (%s) uid %016" PRIx64 ": the destination gateway answers %s%s%s", m->id,
		 m->route, m->uid, wan_outcome_name(o->outcome), o->reason[0] ? ": " : "", o->reason);
	snprintf(ev, sizeof(ev), "the destination gateway's record: %s", o->reason[0] ? o->reason : wan_outcome_name(o->outcome));
	switch (o->outcome) {
	case WAN_OUTCOME_ACCEPTED:
		settle(sm, OUTCOME_ACCEPTED, ev, 1);
		break;
	case WAN_OUTCOME_REFUSED:
		settle(sm, OUTCOME_REFUSED, ev, 1);
		break;
	case WAN_OUTCOME_PENDING:
		snprintf(sm->doubt_note, sizeof(sm->doubt_note), "the destination QEMU has not answered yet; asking again");
		break;
	default:
		snprintf(sm->doubt_note, sizeof(sm->doubt_note),
			 "the destination gateway has no record of its QEMU's answer (it stopped before the answer came): "
			 "check the destination QEMU, then longhaulctl resolve %s accepted|refused", m->route);
		log_warnx("migration out#%u (%s): IN DOUBT: %s", m->id, m->route, sm->doubt_note);
		break;
	}
}

int src_doubt_resolve(struct gw *gw, const char *name, int accepted, const char *who, char *err, size_t errlen)
{
	enum mig_outcome o = accepted ? OUTCOME_ACCEPTED : OUTCOME_REFUSED;
	struct src_mig *sm = NULL;
	char ev[300];
	uint64_t uid = 0;
	char *end;

	if (strlen(name) == 16 && (uid = strtoull(name, &end, 16)) && !*end)
		sm = find_uid(gw, uid);
	for (struct mig *x = gw->migs; !sm && x; x = x->next)
		if (x->role == &src_role && SM(x)->state == SRC_INDOUBT && !strcmp(x->route, name))
			sm = SM(x);
	if (!sm || sm->state != SRC_INDOUBT) {
		snprintf(err, errlen, "no in-doubt migration %s", name);
		return -ENOENT;
	}
	log_warnx("migration out#%u (%s) uid %016" PRIx64 ": resolved %s by the operator (%s)", sm->m.id,
		  sm->m.route, sm->m.uid, outcome_name(o), who);
	snprintf(ev, sizeof(ev), "resolved %s by the operator (%s)", outcome_name(o), who);
	settle(sm, o, ev, 0);
	if (sm->state == SRC_INDOUBT) {
		snprintf(err, errlen, "%s", sm->doubt_note);
		return -EINVAL;
	}
	return 0;
}

/* One entry the fd holder kept: an in-doubt migration again, its channels on the kept sockets. */
static void adopt_one(void *ctx, const struct fdhold_entry *e)
{
	struct gw *gw = ctx;
	struct shold_note note;
	struct src_mig *sm;
	char dest[300];
	unsigned used = 0;

	if (shold_parse_note(e->blob, e->blob_len, &note) < 0) {
		log_warnx("fd holder: entry %s uid %016" PRIx64 ": a note this release cannot read: letting go of its "
			  "%u sockets", e->name, e->uid, e->nfds);
		for (unsigned i = 0; i < e->nfds; i++)
			close(e->fds[i]);
		fdhold_drop(gw->fdhold, e->uid);
		return;
	}
	struct route *r = route_find(gw, e->name);
	snprintf(dest, sizeof(dest), "(taken back after a restart)");
	if (!(sm = src_mig_adopted(gw, r, e->name, e->uid, dest))) {
		for (unsigned i = 0; i < e->nfds; i++)
			close(e->fds[i]); /* the holder still keeps its copies */
		return;
	}
	struct mig *m = &sm->m;
	for (unsigned i = 0; i < note.nch; i++) {
		int fd = note.held[i] && used < e->nfds ? e->fds[used++] : -1;
		struct src_chan *sc = src_chan_adopt(sm, fd);
		if (!sc) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		sc->c.kind = note.kind[i];
		sc->c.fwd_eof = 1; /* QEMU sent its stream before the restart; nothing more is read */
		lh_rp_init(&sc->c.rp);
		chan_set_state(&sc->c, fd >= 0 ? CS_OPEN : CS_CLOSED, "taken back from the fd holder");
	}
	for (; used < e->nfds; used++)
		close(e->fds[used]);
	struct chan *mc = mig_main_chan(m);
	if (mc) {
		/* where the return path stood: SHUT 0 can be appended only between two messages */
		mc->rp.messages = note.rp_messages;
		mc->rp.offset = note.rp_messages ? 1 : 0;
		if (note.rp_state == SHOLD_RP_SHUT) {
			mc->rp.state = LH_RP_SHUT_SEEN;
			mc->rp.status = note.shut_status;
		} else if (note.rp_state != SHOLD_RP_BOUNDARY) {
			mc->rp.state = LH_RP_LOST;
			mc->rp.reason = "cut inside a message before the restart";
		}
	}
	sm->held = 1;
	sm->doubt_since = ev_now(gw->loop);
	sm->doubt_asked = 0;
	sm->doubt_answer = -1;
	snprintf(sm->doubt_note, sizeof(sm->doubt_note),
		 "taken back from the fd holder after a restart of this gateway: asking the destination gateway");
	/* the way it went before the restart: its EOF had left, then this gateway lost the session */
	src_transition(sm, SRC_EV_EOF_CUT, "its EOF had left before this gateway restarted");
	src_transition(sm, SRC_EV_SESSION_LOST, "taken back from the fd holder after a restart");
	for (unsigned i = 0; i < m->nch; i++)
		src_update_io(src_ch(sm, i));
	log_warnx("migration out#%u (%s) uid %016" PRIx64 ": adopted from the fd holder after a restart (%u sockets): "
		  "in doubt until the destination gateway's record or an operator decides", m->id, m->route, m->uid,
		  e->nfds);
}

void src_doubt_adopt(struct gw *gw)
{
	char err[200];
	if (!gw->fdhold)
		return;
	if (fdhold_list(gw->fdhold, adopt_one, gw, err, sizeof(err)) < 0)
		log_warnx("fd holder: cannot take back what it keeps: %s", err);
}
