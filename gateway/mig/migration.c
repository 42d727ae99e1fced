/* SPDX-License-Identifier: MIT */
/*
 * Migrations, the layer's entry points: what the codec pipe hands up (registered in mig_attach), the tick,
 * and the control plane's views. Each entry point hands the event to the role it concerns (src_*, dst_*)
 * and ends with mig_settle, the one place where failed migrations are torn down (mig_core.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "gateway/base/log.h"
#include "gateway/mig/dst.h"
#include "gateway/mig/l2.h"
#include "gateway/mig/route.h"
#include "gateway/mig/src.h"
#include "gateway/wan/wan_session.h"

#define MIG_KEEP_S 120.0   /* finished migrations stay listed this long */
#define MIG_STALL_S 300.0  /* no byte moved in either direction this long: fail (the source keeps the guest) */

void mig_rx_frame(struct gw *gw, const lh_wan_frame_info *info, const uint8_t *data, size_t n, size_t frame_len)
{
	dst_rx_frame(gw, info, data, n, frame_len);
	mig_settle(gw);
}

void mig_rx_msg(struct gw *gw, const struct wan_msg *wm)
{
	switch (wm->type) {
	case WAN_MIGRATION_OPEN: case WAN_CHANNEL_OPEN: case WAN_CHANNEL_CLOSE: case WAN_CHANNEL_DATA:
		dst_rx_msg(gw, wm);
		break;
	case WAN_OUTCOME_QUERY: /* a source gateway in doubt asks what our QEMU answered */
		dst_doubt_rx_query(gw, wm->u.oquery.uid);
		break;
	case WAN_OUTCOME:
		src_doubt_rx_outcome(gw, &wm->u.outcome);
		break;
	default: /* CREDIT, RETURN_DATA, CHANNEL_RESET, MIGRATION_RESULT: about our outgoing migrations */
		src_rx_msg(gw, wm);
		break;
	}
	mig_settle(gw);
}

void mig_session_lost(struct gw *gw, const char *reason)
{
	char why[240];
	snprintf(why, sizeof(why), "WAN session lost: %s", reason);
	src_session_lost(gw, why);
	dst_session_lost(gw, why);
	mig_settle(gw);
}

void mig_link_rtt(struct gw *gw, double ms)
{
	src_link_rtt(gw, ms);
}

void mig_resend_credits(struct gw *gw)
{
	dst_resend_credits(gw);
	mig_settle(gw);
}

void mig_kick_sources(struct gw *gw)
{
	src_kick(gw);
	mig_settle(gw);
}

/* Bytes moved in either direction so far (stall detection). */
static uint64_t moved(const struct mig *m)
{
	uint64_t n = m->lan_bytes + m->raw_bytes;
	for (unsigned i = 0; i < m->nch; i++)
		n += m->ch[i]->rev_bytes;
	return n;
}

void mig_tick(struct gw *gw)
{
	ev_tstamp now = ev_now(gw->loop);
	routes_tick(gw);
	for (struct mig **pp = &gw->migs, *m; (m = *pp);) {
		/* a paused postcopy migration stays until superseded: its guest waits at B for someone to recover it */
		ev_tstamp ended = m->end == MIG_PAUSED ? m->superseded_at : m->t_end;
		if (!mig_live(m) && !m->teardown_due && ended > 0 && now - ended > MIG_KEEP_S) {
			*pp = m->next;
			m->role->free(m);
			continue;
		}
		if (m->end == MIG_LIVE) {
			uint64_t b = moved(m);
			/* an outage within the budget is no stall: the transport decides when it is too long */
			if (b != m->progress_mark || !m->progress_at || !wan_ready(gw)) {
				m->progress_mark = b;
				m->progress_at = now;
			} else if (now - m->progress_at > MIG_STALL_S) {
				mig_fail(m, MFR_STALLED, "stalled: no byte moved for 300 s", 1);
			}
		}
		pp = &m->next;
	}
	src_tick_all(gw);
	dst_tick_all(gw);
	mig_settle(gw);
}

void mig_free_all(struct gw *gw)
{
	struct mig *m;
	dst_pend_drop_all(gw);
	while ((m = gw->migs)) {
		gw->migs = m->next;
		m->role->free(m);
	}
}

unsigned mig_count_active(const struct gw *gw)
{
	unsigned n = 0;
	for (const struct mig *m = gw->migs; m; m = m->next)
		n += mig_live(m);
	return n;
}

unsigned mig_count_in_doubt(const struct gw *gw)
{
	unsigned n = 0;
	for (const struct mig *m = gw->migs; m; m = m->next)
		n += m->end == MIG_INDOUBT;
	return n;
}

const char *mig_state_name_at(int role, unsigned i)
{
	const struct mig_machine *mm = role ? &dst_machine : &src_machine;
	return i < mm->nstates ? mm->states[i] : NULL;
}

unsigned mig_count_in_state(const struct gw *gw, int role, unsigned i)
{
	unsigned n = 0;
	for (const struct mig *m = gw->migs; m; m = m->next)
		n += m->role->idx == role && m->role->state(m) == i;
	return n;
}

void mig_fail_route(struct gw *gw, const struct route *r, const char *reason)
{
	src_route_removed(gw, r, reason);
	mig_settle(gw);
}

int mig_resolve(struct gw *gw, const char *name, int accepted, const char *who, char *err, size_t errlen)
{
	int r = src_doubt_resolve(gw, name, accepted, who, err, errlen);
	mig_settle(gw);
	return r;
}

/* Where each connection's bytes are: what an operator (or a test) needs to see a stalled channel. */
static void channels_json(struct mig *m, struct lh_jbuf *b)
{
	lh_json_arr_begin(b, "channel_detail");
	for (unsigned i = 0; i < m->nch; i++) {
		const struct chan *c = m->ch[i];
		lh_json_obj_begin(b, NULL);
		lh_json_str(b, "kind", lh_channel_name(c->kind));
		lh_json_str(b, "state", chan_state_name(c->state));
		lh_json_uint(b, "segment", c->segment);
		lh_json_uint(b, "bytes_forward", c->fwd_bytes);
		lh_json_uint(b, "bytes_return", c->rev_bytes);
		lh_json_uint(b, "queued_to_hypervisor", c->out.len);
		lh_json_bool(b, "forward_closed", c->fwd_eof);
		lh_json_bool(b, "return_closed", c->rev_eof);
		lh_json_bool(b, "reading_paused", c->blocked);
		lh_json_obj_end(b);
	}
	lh_json_arr_end(b);
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
		lh_json_str(b, "direction", m->role->dir);
		lh_json_str(b, "route", m->route);
		lh_json_str(b, "destination", m->dest);
		lh_json_str(b, "phase", m->phase);
		if (m->why[0])
			lh_json_str(b, "error", m->why);
		if (m->end != MIG_LIVE)
			lh_json_str(b, "verdict", m->phase);
		m->role->json(m, b);
		if (m->end == MIG_DONE) {
			lh_json_bool(b, "confirmed", m->confirmed);
			lh_json_str(b, "evidence", m->evidence);
		}
		if (m->end == MIG_FAILED || m->end == MIG_PAUSED)
			lh_json_str(b, "reason_code", mig_fail_reason_name(m->fail_code));
		lh_json_uint(b, "channels", m->nch);
		lh_json_arr_begin(b, "channel_kinds");
		for (unsigned i = 0; i < m->nch; i++)
			lh_json_str(b, NULL, lh_channel_name(m->ch[i]->kind));
		lh_json_arr_end(b);
		channels_json(m, b);
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

/* (the frame follows at once, and settles whatever this decided) */
static int pipe_rx_item(void *ctx, uint32_t sid, const lh_event *ev) { return dst_rx_item(ctx, sid, ev); }
static void pipe_msg(void *ctx, const struct wan_msg *m) { mig_rx_msg(ctx, m); }
static void pipe_session_lost(void *ctx, const char *reason) { mig_session_lost(ctx, reason); }
static void pipe_link_up(void *ctx)
{
	mig_resend_credits(ctx);
	src_doubt_session_up(ctx);
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
		.rx_item = pipe_rx_item,
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

void mig_adopt_held(struct gw *gw)
{
	src_doubt_adopt(gw);
	mig_settle(gw);
}
