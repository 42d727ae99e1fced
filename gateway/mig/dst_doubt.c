/* SPDX-License-Identifier: MIT */
/*
 * Destination role, after a lost session (mig/OUTCOMES.md): once the EOF was released, its QEMU still answers
 * after the session is gone; its connections stay, the answer is recorded (outcome.c) and given to the source
 * gateway when it asks (OUTCOME_QUERY).
 */
#include <inttypes.h>
#include <stdio.h>

#include "gateway/base/log.h"
#include "gateway/mig/dst.h"
#include "gateway/mig/indoubt.h"
#include "gateway/wan/wan_session.h"

/*
 * The session was lost (why). Once the EOF was released, QEMU still answers: what is queued for it still goes
 * out, the channels end (FIN, as the source's close would have said), and the return path is still read:
 * QEMU's SHUT is recorded. Accepted already: the guest runs here; the channels end the same way, so the
 * migration is done once QEMU closed them (no source's close will come). 1: kept; 0: not released (the
 * caller fails it).
 */
int dst_doubt_session_lost(struct dst_mig *dm, const char *why)
{
	struct mig *m = &dm->m;

	if (!mig_live(m))
		return 1;
	if (dm->state != DST_RELEASED && dm->state != DST_AWAITING && dm->state != DST_ACCEPTED)
		return 0;
	if (dm->state == DST_ACCEPTED) {
		log_info("migration in#%u (%s): %s after its QEMU accepted: the guest runs here; its channels end "
			 "without the source's close", m->id, m->route, why);
	} else {
		dm->doubt_since = ev_now(m->gw->loop);
		log_warnx("migration in#%u (%s) uid %016" PRIx64 ": %s after the EOF was released: waiting for the "
			  "destination QEMU's answer to record it (the source gateway will ask for it)", m->id,
			  m->route, m->uid, why);
	}
	if (dm->state == DST_RELEASED)
		dst_transition(dm, DST_EV_SESSION_LOST, why);
	for (unsigned i = 0; i < m->nch; i++) {
		struct dst_chan *dc = dst_ch(dm, i);
		dc->c.fwd_eof = 1; /* no CHANNEL_CLOSE will come: end after the queued bytes */
		if (dc->c.state == CS_OPEN)
			dst_chan_io(dc, EV_WRITE);
	}
	return 1;
}

void dst_doubt_tick(struct dst_mig *dm)
{
	/* a destination QEMU that never answers: its outcome stays unknown (nothing recorded) */
	if (dm->state == DST_AWAITING && ev_now(dm->m.gw->loop) - dm->doubt_since > DOUBT_AWAIT_S)
		dst_fail(dm, MFR_SESSION_LOST, "no answer from the destination QEMU after the session was lost", 0);
}

/* What this gateway knows of uid's outcome. */
static enum wan_outcome_code answer_for(struct gw *gw, uint64_t uid, const char **reason)
{
	enum mig_outcome o = outcome_lookup(gw->outcomes, uid);
	*reason = "";
	for (struct mig *m = gw->migs; m; m = m->next) {
		if (m->role != &dst_role || m->uid != uid)
			continue;
		struct dst_mig *dm = DM(m);
		int ended_badly = !mig_live(m) && m->end != MIG_DONE;
		if (dm->accepted) {
			*reason = m->evidence;
			return WAN_OUTCOME_ACCEPTED;
		}
		if (m->postcopy) {
			/* the guest runs here since POSTCOPY_RUN: neither SHUT 0 (the source would stop serving its
			 * pages) nor a refusal (it must not run at the source): postcopy recovery, or an operator */
			*reason = "postcopy: the guest runs at the destination; recover the migration, do not resume "
				  "the source";
			return WAN_OUTCOME_UNKNOWN;
		}
		if (ended_badly && o == OUTCOME_UNKNOWN && !dst_eof_released(dm)) {
			*reason = m->why; /* reset before the EOF: its QEMU cannot run the guest */
			return WAN_OUTCOME_REFUSED;
		}
		if (ended_badly)
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

void dst_doubt_rx_query(struct gw *gw, uint64_t uid)
{
	uint8_t p[300];
	const char *reason;
	enum wan_outcome_code a = answer_for(gw, uid, &reason);
	log_info("outcome query for uid %016" PRIx64 ": %s%s%s", uid, wan_outcome_name(a), reason[0] ? ": " : "", reason);
	wan_send(gw, WAN_OUTCOME, p, wan_enc_outcome(p, uid, (uint8_t)a, reason), NULL, 0);
}
