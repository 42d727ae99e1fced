/* SPDX-License-Identifier: MIT */
/* Destination role: the incoming migration object, its state machine, failure and teardown, acceptance, verdict. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gateway/base/log.h"
#include "gateway/mig/dst.h"
#include "gateway/mig/l2.h"
#include "gateway/wan/wan_session.h"

int dst_transition(struct dst_mig *dm, enum dst_event ev, const char *why)
{
	enum dst_state from = dm->state;
	int to = mig_machine_next(&dst_machine, from, ev);

	if (to < 0) {
		mig_transition_bug(&dm->m, from, ev, why);
		return -1;
	}
	dm->state = (enum dst_state)to;
	mig_transitioned(&dm->m, from, ev, (unsigned)to, why);
	return 0;
}

void dst_record_outcome(struct dst_mig *dm, enum mig_outcome o, const char *evidence)
{
	struct mig *m = &dm->m;
	char err[300];
	if (!m->gw->outcomes)
		return;
	if (outcome_record(m->gw->outcomes, m->uid, o, m->route, evidence, time(NULL), err, sizeof(err)) < 0)
		/* kept in memory: answered while this daemon runs, unknown after a restart */
		log_warnx("migration in#%u (%s): cannot record the outcome durably: %s", m->id, m->route, err);
	else
		log_info("migration in#%u (%s) uid %016llx: outcome %s recorded", m->id, m->route,
			 (unsigned long long)m->uid, outcome_name(o));
	if (o == OUTCOME_ACCEPTED)
		mig_test_at(m->gw, "recorded"); /* before the answer is relayed to the source */
}

void dst_fail(struct dst_mig *dm, enum mig_fail_reason code, const char *reason, int tell_peer)
{
	struct mig *m = &dm->m;

	if (!mig_live(m))
		return;
	snprintf(m->why, sizeof(m->why), "%s", reason);
	m->fail_code = code;
	/* after the source began its switch to postcopy, before POSTCOPY_RUN arrived here: ours cannot pause (QEMU
	 * pauses an incoming postcopy only once it ran the guest); the source QEMU runs the guest again if its switch
	 * had not completed, else it holds it paused: only the source gateway knows which (README, "WAN outages") */
	const char *where = m->postcopy ? " (postcopy: destination connections reset; the guest runs here, QEMU pauses)"
			    : dm->listen_seen ? " (destination connections reset; the source QEMU had begun switching to "
						"postcopy (POSTCOPY_LISTEN went by, POSTCOPY_RUN did not): the guest does not "
						"run here; the source gateway's verdict says whether it runs at the source "
						"(failed) or nowhere (postcopy-paused))"
					      : " (destination connections reset; source keeps the guest)";
	if (!m->postcopy && dm->listen_seen)
		snprintf(m->why, sizeof(m->why), "%.110s; the source had begun switching to postcopy: see its verdict",
			 reason);
	log_warnx("migration in#%u (%s): %s (%s): %s%s", m->id, m->route, m->postcopy ? "PAUSED" : "FAILED",
		  mig_fail_reason_name(code), reason, where);
	/* the guest cannot run at this destination: its QEMU's connections are reset before the EOF, or it refused.
	 * Not after POSTCOPY_RUN: the guest runs here then, whatever happens to the stream. */
	if (!m->postcopy && (!dst_eof_released(dm) || code == MFR_DEST_REFUSED) &&
	    outcome_lookup(m->gw->outcomes, m->uid) != OUTCOME_REFUSED)
		dst_record_outcome(dm, OUTCOME_REFUSED, reason);
	if (dst_transition(dm, m->postcopy ? DST_EV_PAUSE : DST_EV_FAIL, reason) == 0)
		mig_teardown_later(m, tell_peer);
}

static void fail_cb(struct mig *m, enum mig_fail_reason code, const char *reason, int tell_peer)
{
	dst_fail(DM(m), code, reason, tell_peer);
}

/*
 * The teardown of a failed (or paused) incoming migration, at the end of the event that failed it: every
 * connection to the destination QEMU is reset (before the EOF, so it fails the load), and the peer learns
 * it: MIGRATION_RESULT ok = 0 with the reason code first, then CHANNEL_RESET for older source gateways.
 */
static void teardown(struct mig *m)
{
	struct dst_mig *dm = DM(m);
	struct gw *gw = m->gw;
	uint8_t p[300];

	dst_dns_cancel(dm);
	for (unsigned i = 0; i < m->nch; i++) {
		struct dst_chan *dc = dst_ch(dm, i);
		chan_close_fd(&dc->c, 1);
		bbuf_free(&dc->c.out);
		bbuf_free(&dc->held);
	}
	if (m->tell_peer && gw->sess) {
		mig_send(m, WAN_MIGRATION_RESULT, p, wan_enc_result(p, m->id, 0, m->why, 0, (uint8_t)m->fail_code), NULL,
			 0);
		mig_send(m, WAN_CHANNEL_RESET, p, wan_enc_reset(p, m->id, WAN_CHAN_ALL, m->why), NULL, 0);
		dm->result_sent = 1;
	}
}

static unsigned state_of(const struct mig *m) { return DM((struct mig *)m)->state; }

static void json(const struct mig *m, struct lh_jbuf *b)
{
	(void)m;
	(void)b;
}

static void free_mig(struct mig *m)
{
	struct dst_mig *dm = DM(m);
	dst_dns_cancel(dm);
	for (unsigned i = 0; i < m->nch; i++) {
		struct dst_chan *dc = dst_ch(dm, i);
		chan_free(&dc->c);
		bbuf_free(&dc->held);
		free(dc);
	}
	mig_release(m);
	free(dm);
}

const struct mig_role dst_role = {
	.dir = "in", .idx = 1, .machine = &dst_machine, .state = state_of, .fail = fail_cb, .teardown = teardown,
	.json = json, .free = free_mig,
};

struct dst_mig *dst_mig_new(struct gw *gw, uint32_t id, const char *route, const char *dest)
{
	struct dst_mig *dm = calloc(1, sizeof(*dm));
	if (!dm)
		return NULL;
	mig_init(&dm->m, &dst_role, gw, id, mig_uid(wan_session_id(gw), id, !wan_session_is_client(gw)), route, dest);
	return dm;
}

struct dst_chan *dst_chan_new(struct dst_mig *dm, void (*cb)(struct ev_loop *, ev_io *, int))
{
	struct dst_chan *dc = calloc(1, sizeof(*dc));
	if (!dc || chan_init(&dc->c, &dm->m, -1, cb) < 0) {
		free(dc);
		return NULL;
	}
	return dc;
}

/*
 * An incoming migration's id is the peer's counter, which starts over when the
 * peer restarts: a finished in#1 of an earlier session must not swallow the new
 * session's MIGRATION_OPEN for its own #1 (that migration would hang).
 */
struct dst_mig *dst_find(struct gw *gw, uint32_t id)
{
	uint64_t sess = wan_session_id(gw);
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->role == &dst_role && m->id == id && m->session == sess)
			return DM(m);
	return NULL;
}

void dst_accepted(struct dst_mig *dm, const char *evidence, int confirmed)
{
	struct mig *m = &dm->m;

	if (dm->accepted || !dst_eof_released(dm) || !mig_live(m))
		return;
	if (dst_transition(dm, DST_EV_ACCEPTED, evidence) < 0)
		return;
	dm->accepted = 1;
	m->confirmed = confirmed;
	snprintf(m->evidence, sizeof(m->evidence), "%s", evidence);
	dst_record_outcome(dm, OUTCOME_ACCEPTED, evidence);
	log_info("migration in#%u (%s): destination accepted the migration (%s)%s", m->id, m->route, evidence,
		 confirmed ? "" : "; UNCONFIRMED: no return path says so");
	/* the guest runs here from now on: announce it at once, not when the source has closed too (1 RTT later) */
	m->cut = gw_l2_cutover_start(m->gw, NS_ROLE_DESTINATION, m->id, m->vni, &m->guest);
}

void dst_check_done(struct dst_mig *dm)
{
	struct mig *m = &dm->m;
	uint8_t p[300];
	char why[300];

	if (!mig_live(m))
		return;
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->state != CS_CLOSED)
			return;
	if (!dm->accepted && mig_main_chan(m)) {
		dst_fail(dm, MFR_DEST_REFUSED, "every channel closed, but the destination QEMU never accepted the stream",
			 1);
		return;
	}
	if (!dm->accepted)
		snprintf(m->evidence, sizeof(m->evidence), "every channel closed cleanly (no QEMU main channel)");
	if (m->gw->sess && !dm->result_sent)
		mig_send(m, WAN_MIGRATION_RESULT, p,
			 wan_enc_result(p, m->id, 1, m->evidence, m->confirmed ? WAN_RESULT_CONFIRMED : 0, MFR_NONE),
			 NULL, 0);
	dm->result_sent = 1;
	snprintf(why, sizeof(why), "verdict done, %s: %s", m->confirmed ? "confirmed" : "UNCONFIRMED", m->evidence);
	dst_transition(dm, DST_EV_DONE, why);
}
