/* SPDX-License-Identifier: MIT */
/* Source role, WAN side: what the peer says about outgoing migrations (credit, return path, verdict); ticks. */
#include <stdio.h>
#include <string.h>

#include "gateway/base/log.h"
#include "gateway/mig/src.h"
#include "gateway/mig/src_hold.h"
#include "gateway/pipe/codec_pipe.h"
#include "gateway/wan/wan_session.h"

#define SRC_RP_MAX (64u << 20)     /* return-path bytes queued towards one source QEMU */
#define SRC_SILENT_S 0.2           /* a channel silent this long after main exists is postcopy preempt */
#define CHAN_LINGER_S 10.0         /* a failed source channel waits this long for QEMU to close after our FIN */

/*
 * The destination QEMU's return path, as relayed to the source QEMU: its SHUT
 * with a failure status means it refused the stream, whatever the peer gateway
 * reports (an older one says ok on any clean close). The bytes are queued
 * already: the teardown hands them to QEMU before closing (src_linger). 1 when
 * the migration failed.
 */
static int rp_refused(struct src_chan *sc, const uint8_t *p, size_t n)
{
	struct chan *c = &sc->c;
	char why[120];

	if (c->rp.state != LH_RP_SCANNING || lh_rp_feed(&c->rp, p, n) != LH_RP_SHUT_SEEN || c->rp.status == 0)
		return 0;
	snprintf(why, sizeof(why), "destination QEMU refused the stream (SHUT %u)", c->rp.status);
	src_fail(SM(c->m), MFR_DEST_REFUSED, why, 1);
	return 1;
}

/* The destination gateway's verdict: done (confirmed or not; the cutover follows once every channel closed) or
 * failed, with its reason code when the peer sends one. */
static void result(struct src_mig *sm, const struct wan_result *r)
{
	struct mig *m = &sm->m;
	char why[300];

	sm->result_seen = 1;
	if (!r->ok) {
		enum mig_fail_reason code = r->code > MFR_NONE && r->code < MFR__COUNT ? (enum mig_fail_reason)r->code
										   : MFR_PEER_RESET;
		snprintf(why, sizeof(why), "destination side failed: %s", r->reason);
		src_fail(sm, code, why, 0);
		return;
	}
	m->confirmed = !!(r->flags & WAN_RESULT_CONFIRMED);
	snprintf(m->evidence, sizeof(m->evidence), "%s", r->reason);
	log_info("migration out#%u (%s): destination reports success, %s: %s", m->id, m->route,
		 m->confirmed ? "confirmed" : "UNCONFIRMED", r->reason);
	src_check_done(sm);
}

void src_rx_msg(struct gw *gw, const struct wan_msg *wm)
{
	uint32_t mig = wm->u.credit.mig; /* every payload starts with the migration id */
	struct src_mig *sm = src_find(gw, mig);
	struct src_chan *sc;

	if (!sm || !mig_live(&sm->m))
		return;
	struct mig *m = &sm->m;
	switch (wm->type) {
	case WAN_CREDIT:
		if (wm->u.credit.chan < m->nch) {
			sc = src_ch(sm, wm->u.credit.chan);
			if (wm->u.credit.limit > sc->credit_limit && !gw->test_ignore_credit)
				sc->credit_limit = wm->u.credit.limit;
			if (sc->c.blocked)
				src_chan_io(sc, 0);
		}
		break;
	case WAN_RETURN_DATA:
		if (wm->u.rdata.chan >= m->nch)
			return;
		sc = src_ch(sm, wm->u.rdata.chan);
		if (sc->c.fd < 0)
			return;
		if (sc->c.out.len > SRC_RP_MAX) {
			/* the source QEMU does not read its return path: stop before memory does */
			src_fail(sm, MFR_HYPERVISOR_IO, "source QEMU does not read the return path (64 MiB queued)", 1);
			return;
		}
		if (wm->u.rdata.len && bbuf_add(&sc->c.out, wm->u.rdata.data, wm->u.rdata.len) < 0) {
			src_fail(sm, MFR_GATEWAY, "out of memory queueing return-path bytes", 1);
			return;
		}
		if (wm->u.rdata.fin)
			sc->c.rev_eof = 1;
		if (sc->c.kind == LH_CHAN_MAIN && rp_refused(sc, wm->u.rdata.data, wm->u.rdata.len))
			return;
		if (sc->c.kind == LH_CHAN_MAIN)
			shold_note_rp(sm); /* where the return path stands now, for a restart */
		if (wm->u.rdata.len && sc->c.kind == LH_CHAN_MAIN && !m->rq_since)
			for (unsigned i = 0; i < m->nch; i++)
				if (m->ch[i]->kind == LH_CHAN_PREEMPT && m->ch[i]->state == CS_OPEN)
					m->rq_since = ev_time();
		src_chan_io(sc, EV_WRITE);
		break;
	case WAN_CHANNEL_RESET: {
		char why[300];
		snprintf(why, sizeof(why), "peer reset the migration: %s", wm->u.reset.reason);
		src_fail(sm, MFR_PEER_RESET, why, 0);
		break;
	}
	case WAN_MIGRATION_RESULT:
		result(sm, &wm->u.result);
		break;
	}
}

void src_link_rtt(struct gw *gw, double ms)
{
	if (ms < 0 || ms > 60e3)
		return; /* not our clock's nonce */
	for (struct mig *m = gw->migs; m; m = m->next) {
		if (m->role != &src_role)
			continue;
		struct src_mig *sm = SM(m);
		if (sm->state == SRC_STREAMING || sm->state == SRC_POSTCOPY) {
			sm->ping_n++;
			sm->ping_sum += ms;
			sm->ping_max = ms > sm->ping_max ? ms : sm->ping_max;
		}
	}
}

static void tick(struct src_mig *sm)
{
	struct mig *m = &sm->m;
	struct gw *gw = m->gw;
	ev_tstamp now = ev_now(gw->loop);

	for (unsigned i = 0; i < m->nch; i++) {
		struct src_chan *sc = src_ch(sm, i);
		if (sc->linger && now - sc->linger_since > CHAN_LINGER_S) {
			log_debug("migration out#%u: channel %u: QEMU did not close %.0f s after the failure", m->id,
				  sc->c.idx, CHAN_LINGER_S);
			sc->linger = 0;
			chan_close_fd(&sc->c, 1);
		}
	}
	src_doubt_tick(sm);
	if (!mig_live(m) || sm->state == SRC_INDOUBT || !gw->sess)
		return;
	if (sm->state == SRC_VERIFYING)
		mig_test_at(gw, "eof-sent"); /* a tick after main's EOF went to the encoder and the WAN */
	/* an open batch waits at most one tick (10 ms); the worker's frames go out at the next
	 * pump once done (this one's, a LAN read's or a WAN write's), without stalling the loop */
	cpipe_close_batch(gw);
	int has_main = mig_lead_chan(m) != NULL; /* a silent channel after it is the preempt channel */
	if (sm->cut_wait && src_cut_tick(sm) < 0)
		return;
	for (unsigned i = 0; i < m->nch; i++) {
		struct src_chan *sc = src_ch(sm, i);
		if (sc->c.state == CS_CLASSIFY && has_main && now - sc->t_accept > SRC_SILENT_S)
			src_classify_silent(sc);
		else if (sc->c.blocked)
			src_chan_io(sc, 0);
	}
}

void src_tick_all(struct gw *gw)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->role == &src_role)
			tick(SM(m));
}

void src_session_lost(struct gw *gw, const char *why)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->role == &src_role && !src_doubt_session_lost(SM(m), why))
			src_fail(SM(m), MFR_SESSION_LOST, why, 0);
}

void src_kick(struct gw *gw)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->role == &src_role && mig_live(m))
			for (unsigned i = 0; i < m->nch; i++)
				if (m->ch[i]->blocked)
					src_chan_io(src_ch(SM(m), i), 0);
}

void src_route_removed(struct gw *gw, const struct route *r, const char *reason)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->role == &src_role && SM(m)->r == r) {
			SM(m)->r = NULL;
			if (reason)
				src_fail(SM(m), MFR_ROUTE_REMOVED, reason, 1);
		}
}
