/* SPDX-License-Identifier: MIT */
/* Destination role, WAN side: incoming migrations' messages and frames, in order, to their channels; ticks. */
#include <stdio.h>

#include "gateway/base/log.h"
#include "gateway/mig/dst.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_session.h"

/* The channel a codec stream belongs to, and which segment of it (0, or the current one). */
static struct dst_chan *chan_by_stream(struct gw *gw, uint32_t sid, unsigned *seg)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->role == &dst_role)
			for (unsigned i = 0; i < m->nch; i++) {
				struct dst_chan *dc = dst_ch(DM(m), i);
				if (dc->stream0 == sid || dc->c.stream_id == sid) {
					*seg = dc->stream0 == sid ? 0 : dc->c.segment;
					return dc;
				}
			}
	return NULL;
}

static struct dst_chan *chan_by_idx(struct dst_mig *dm, unsigned idx)
{
	for (unsigned i = 0; i < dm->m.nch; i++)
		if (dm->m.ch[i]->idx == idx)
			return dst_ch(dm, i);
	return NULL;
}

static void new_chan(struct gw *gw, const struct wan_chan_open *co)
{
	struct dst_mig *dm = dst_find(gw, co->mig);
	struct dst_chan *dc;

	if (co->segment & WAN_SEG_PRIO) {
		dst_prio_open(gw, dm, co);
		return;
	}
	if (!dm || !mig_live(&dm->m))
		return;
	struct mig *m = &dm->m;
	if (co->segment) {
		if (!(dc = chan_by_idx(dm, co->chan)))
			return;
		dc->c.stream_id = co->stream_id;
		dc->c.segment = co->segment;
		if ((co->segment & WAN_SEG_UNGATED) && dc->c.kind == LH_CHAN_MAIN)
			dm->ungated = 1;
		if (co->segment & WAN_SEG_UNGATED)
			log_warnx("migration in#%u (%s): the source gateway could not parse the main channel; it arrives as "
				  "plain bytes WITHOUT the integrity gate", m->id, m->route);
		return;
	}
	if (chan_by_idx(dm, co->chan) || !(dc = dst_chan_new(dm, dst_io_cb))) {
		dst_fail(dm, MFR_PROTOCOL, "protocol: CHANNEL_OPEN for an open channel, or too many channels", 1);
		return;
	}
	dc->c.idx = co->chan;
	dc->c.kind = co->kind <= LH_CHAN_OPAQUE ? (lh_channel_kind)co->kind : LH_CHAN_OPAQUE;
	dc->c.mf_id = co->mf_id;
	dc->c.stream_id = dc->stream0 = co->stream_id;
	chan_set_state(&dc->c, CS_WAIT, "opened by the source gateway");
	dc->credit_sent = WAN_WINDOW_KIB_BYTES;
	log_info("migration in#%u: channel %u is %s%s", m->id, dc->c.idx, lh_channel_name(dc->c.kind),
		 dc->c.kind == LH_CHAN_MULTIFD ? " (multifd)" : "");
	dst_connect_next(dm);
}

/* " before QEMU_VM_EOF" when main's end never arrived: the reason says the source did not finish. */
static const char *abort_when(const struct dst_mig *dm)
{
	for (unsigned i = 0; i < dm->m.nch; i++)
		if (dm->m.ch[i]->kind == LH_CHAN_MAIN && !DC(dm->m.ch[i])->eof_held && !dm->ungated)
			return " before QEMU_VM_EOF";
	return "";
}

static void chan_close(struct gw *gw, const struct wan_msg *wm)
{
	uint32_t mig = wm->u.cclose.mig, chan = wm->u.cclose.chan, how = wm->u.cclose.how;
	struct dst_mig *dm = dst_find(gw, mig);
	struct dst_chan *dc;
	char why[200];

	if (!dm || !mig_live(&dm->m))
		return;
	if (how) {
		snprintf(why, sizeof(why), "source side aborted the migration%s", abort_when(dm));
		dst_fail(dm, MFR_SOURCE_ABORT, why, 1);
		return;
	}
	if (!(dc = chan_by_idx(dm, chan)))
		return;
	if (dc->c.kind == LH_CHAN_MAIN && !dc->eof_held && !dm->ungated) {
		/* an older source gateway takes a close at a section boundary for a clean end */
		dst_fail(dm, MFR_SOURCE_ABORT, "source closed main before QEMU_VM_EOF", 1);
		return;
	}
	dc->c.fwd_eof = 1;
	if (dc->c.state == CS_OPEN)
		dst_chan_io(dc, EV_WRITE);
}

void dst_rx_msg(struct gw *gw, const struct wan_msg *wm)
{
	struct dst_mig *dm;

	switch (wm->type) {
	case WAN_MIGRATION_OPEN:
		if (dst_find(gw, wm->u.mopen.mig))
			return;
		if (gw->draining) {
			uint8_t p[300];
			size_t n = wan_enc_result(p, wm->u.mopen.mig, 0, "peer is draining", 0, MFR_DRAINING);
			wan_send(gw, WAN_MIGRATION_RESULT, p, n, NULL, 0); /* no migration object: this session's */
			return;
		}
		if ((dm = dst_mig_new(gw, wm->u.mopen.mig, wm->u.mopen.route, wm->u.mopen.dest))) {
			dm->m.vni = wm->u.mopen.vni;
			dm->m.guest = wm->u.mopen.guest;
			if (dst_live_count(gw) > gw->cfg.wan.max_incoming) {
				/* an authenticated peer is bounded too: each incoming migration holds queues and sockets */
				char why[120];
				snprintf(why, sizeof(why), "too many incoming migrations at once ([wan] max_incoming = %u)",
					 gw->cfg.wan.max_incoming);
				dst_fail(dm, MFR_GATEWAY, why, 1);
			}
		}
		break;
	case WAN_CHANNEL_OPEN:
		new_chan(gw, &wm->u.copen);
		break;
	case WAN_CHANNEL_CLOSE:
		chan_close(gw, wm);
		break;
	case WAN_CHANNEL_DATA:
		dst_prio_rx_msg(gw, dst_find(gw, wm->u.cdata.mig), &wm->u.cdata);
		break;
	}
}

/*
 * A postcopy recovery's main channel comes as an opaque channel that starts with QEMU_VM_COMMAND RECV_BITMAP
 * (0x08, be16 10; the source gateway carries it unmodified): the guest runs here already, so a failure from
 * now on pauses the destination QEMU again (its sockets reset), and is never a refusal.
 */
static void recovery_check(struct dst_mig *dm, struct dst_chan *dc, const uint8_t *data, size_t n)
{
	if (!mig_recovery_main(data, n) || dm->state != DST_STREAMING)
		return;
	dm->m.postcopy = 1;
	dm->m.recovery_main = &dc->c;
	log_info("migration in#%u (%s): channel %u is a postcopy recovery's main channel (RECV_BITMAP): the guest runs "
		 "here", dm->m.id, dm->m.route, dc->c.idx);
	dst_transition(dm, DST_EV_POSTCOPY_RUN, "postcopy recovery: the guest runs here");
	dst_connect_next(dm); /* its preempt partner may be waiting for it */
}

int dst_rx_item(struct gw *gw, uint32_t sid, const lh_event *ev)
{
	unsigned seg = 0;
	struct dst_chan *dc = chan_by_stream(gw, sid, &seg);
	if (!dc || dc->c.kind != LH_CHAN_MAIN || seg != 0)
		return 1;
	return dst_gate_item(dc, ev);
}

void dst_rx_frame(struct gw *gw, const lh_wan_frame_info *info, const uint8_t *data, size_t n, size_t frame_len)
{
	unsigned seg = 0;
	struct dst_chan *dc = chan_by_stream(gw, info->stream_id, &seg);
	char why[200];

	if (!dc || !mig_live(dc->c.m))
		return; /* a stream of a migration that already failed */
	struct dst_mig *dm = DM(dc->c.m);
	dm->m.wan_bytes += frame_len + WAN_HDR_LEN;
	switch (info->type) {
	case LH_WAN_FRAME_DATA:
		/* (stream_bytes counts this frame too: equal to n for the stream's first bytes) */
		if (dc->c.kind == LH_CHAN_OPAQUE && seg == 0 && info->stream_bytes == n)
			recovery_check(dm, dc, data, n);
		if (dc->c.kind == LH_CHAN_MAIN && seg > 0 && !(seg & WAN_SEG_UNGATED) && !dm->gate_open)
			dst_gate_hold(dc, seg, data, n);
		else
			dst_deliver(dc, data, n);
		break;
	case LH_WAN_FRAME_END:
		if (seg == 0 && !dc->seg0_ok) {
			dc->seg0_ok = 1;
			log_debug("migration in#%u: channel %u segment 0 verified (%llu bytes)", dm->m.id, dc->c.idx,
				  (unsigned long long)info->stream_bytes);
		}
		dst_gate_check(dm);
		break;
	case LH_WAN_FRAME_ABORT:
		snprintf(why, sizeof(why), "channel %u: source aborted its stream%s", dc->c.idx, abort_when(dm));
		dst_fail(dm, MFR_SOURCE_ABORT, why, 1);
		break;
	default:
		break;
	}
}

unsigned dst_live_count(struct gw *gw)
{
	unsigned n = 0;
	for (struct mig *m = gw->migs; m; m = m->next)
		n += m->role == &dst_role && mig_live(m);
	return n;
}

void dst_resend_credits(struct gw *gw)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->role == &dst_role && mig_live(m))
			for (unsigned i = 0; i < m->nch; i++)
				if (m->ch[i]->state != CS_CLOSED)
					dst_send_credit(dst_ch(DM(m), i), 1);
}

static void tick(struct dst_mig *dm)
{
	struct mig *m = &dm->m;

	dst_doubt_tick(dm);
	if (!mig_live(m))
		return;
	for (unsigned i = 0; i < m->nch; i++) {
		struct dst_chan *dc = dst_ch(dm, i);
		if (dc->c.state != CS_OPEN)
			continue;
		dst_send_credit(dc, 0);
		if (dc->c.blocked && wan_urgent_room(m->gw))
			dst_chan_io(dc, EV_READ);
	}
}

void dst_tick_all(struct gw *gw)
{
	dst_pend_tick(gw);
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->role == &dst_role)
			tick(DM(m));
}

void dst_session_lost(struct gw *gw, const char *why)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->role == &dst_role && !dst_doubt_session_lost(DM(m), why))
			dst_fail(DM(m), MFR_SESSION_LOST, why, 0);
	dst_pend_drop_all(gw);
}
