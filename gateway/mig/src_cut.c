/* SPDX-License-Identifier: MIT */
/* Source role: the cut at main's EOF (segments end for the integrity gate), waiting for multifd SYNCs. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "gateway/base/log.h"
#include "gateway/mig/src.h"
#include "gateway/mig/src_hold.h"
#include "gateway/pipe/codec_pipe.h"
#include "gateway/pipe/lan_streams.h"
#include "gateway/wan/wan_session.h"

#define CUT_WAIT_S 10.0            /* longest wait at main's EOF for the multifd channels' SYNC packets */

/*
 * Main's EOF byte: every channel's segment 0 ends here, so the receiver can
 * verify all of them before it releases the EOF (WAN-PROTOCOL.md, integrity gate).
 */
int src_cut_at_eof(struct src_chan *mc)
{
	struct src_mig *sm = SM(mc->c.m);
	struct mig *m = &sm->m;
	struct gw *gw = m->gw;
	lh_wan_stats st;
	char tag[100];

	mig_tag(m, tag, sizeof(tag));
	m->t_cut = ev_now(gw->loop);
	for (unsigned i = 0; i < m->nch; i++) {
		struct src_chan *sc = src_ch(sm, i);
		struct chan *c = &sc->c;
		if (sc == mc || (!c->stream_id && !c->prio) || c->seg_ended || c->fwd_eof)
			continue;
		/* take what the channel already sent: QEMU wrote it before main's EOF */
		for (int guard = 0; guard < 64; guard++) {
			if (sc->rlen) {
				long r = src_feed(sc, sc->rbuf, sc->rlen);
				if (r < 0)
					break;
				memmove(sc->rbuf, sc->rbuf + r, sc->rlen - (size_t)r);
				sc->rlen -= (size_t)r;
				c->fwd_bytes += (size_t)r;
				if (sc->rlen) {
					cpipe_drain(gw);
					continue;
				}
			}
			if (sc->credit_limit <= c->fwd_bytes) {
				log_warnx("%s: channel %u has no credit at the EOF cut; later bytes travel unverified "
					  "until its close", tag, c->idx);
				break;
			}
			ssize_t n = recv(c->fd, sc->rbuf, SRC_RBUF, MSG_DONTWAIT);
			if (n <= 0)
				break;
			sc->rlen = (size_t)n;
			m->lan_bytes += (size_t)n;
			gw->st.lan_rx_bytes += (size_t)n;
		}
		if (sc->rlen)
			log_warnx("%s: channel %u still had bytes at the EOF cut", tag, c->idx);
		if (c->prio) {
			if (prio_end(sc) < 0) {
				src_fail(sm, MFR_GATEWAY, "cannot end the priority lane's segment at the EOF cut", 1);
				return -1;
			}
			continue;
		}
		if (lstream_end(gw, c->stream_id, &st) == 0)
			src_add_stats(sm, &st);
		c->seg_ended = 1;
	}
	uint32_t seg0 = mc->c.stream_id;
	if (src_open_segment(mc, 1, LH_CHAN_OPAQUE) < 0 || lstream_end(gw, seg0, &st) < 0) {
		src_fail(sm, MFR_GATEWAY, "cannot cut the main stream at EOF (encoder error)", 1);
		return -1;
	}
	src_add_stats(sm, &st);
	src_transition(sm, SRC_EV_EOF_CUT, "main channel reached EOF: segments cut for verification");
	shold_keep(sm); /* from now on the destination may release the EOF: a crash of ours must not free QEMU */
	if (sm->ping_n)
		log_info("%s: WAN round trip of urgent messages while streaming (PING/PONG): %u samples, mean %.1f ms, "
			 "max %.1f ms", tag, sm->ping_n, sm->ping_sum / sm->ping_n, sm->ping_max);
	if (m->rq_n)
		log_info("%s: postcopy page requests: %u answered by the source QEMU on the preempt channel "
			 "(return-path bytes in -> first preempt bytes out) mean %.1f ms, max %.1f ms", tag, m->rq_n,
			 m->rq_sum * 1e3 / m->rq_n, m->rq_max * 1e3);
	return 0;
}

/*
 * Make the cut at main's EOF now (every channel is ready at once, or those it
 * waited for caught up, or CUT_WAIT_S passed), then send main's held EOF and
 * what followed it. how: why after a wait, NULL when it did not wait.
 */
int src_cut_release(struct src_mig *sm, const char *how)
{
	struct mig *m = &sm->m;
	struct gw *gw = m->gw;
	struct src_chan *mc = SC(mig_main_chan(m));

	sm->cut_wait = 0;
	if (!mc || !gw->sess)
		return 0;
	if (how)
		log_info("migration out#%u (%s): EOF cut after %.0f ms: %s", m->id, m->route,
			 (ev_now(gw->loop) - sm->cut_wait_since) * 1e3, how);
	if (src_cut_at_eof(mc) < 0)
		return -1;
	if (lstream_feed_all(gw, mc->c.stream_id, sm->cut_late.p + sm->cut_late.off, sm->cut_late.len) < 0) {
		src_fail(sm, MFR_GATEWAY, "cannot send main's stream end after the cut (encoder error)", 1);
		return -1;
	}
	bbuf_free(&sm->cut_late);
	if (mc->c.fwd_eof)
		src_fwd_finish(mc);
	cpipe_pump(gw);
	return 0;
}

/* While the cut waits: make it once every channel is ready (src_cut_ready), or after CUT_WAIT_S
 * anyway, naming what is not covered. */
int src_cut_tick(struct src_mig *sm)
{
	struct mig *m = &sm->m;

	if (src_cut_ready(sm)) /* a waited-for channel turned out not to be multifd */
		return src_cut_release(sm, "every multifd channel delivered its SYNC packets");
	if (ev_now(m->gw->loop) - sm->cut_wait_since <= CUT_WAIT_S)
		return 0;
	for (unsigned i = 0; i < m->nch; i++) {
		struct src_chan *sc = src_ch(sm, i);
		if (sc->c.state == CS_CLASSIFY)
			log_warnx("migration out#%u (%s): channel %u sent nothing %.0f s after main's EOF; cutting "
				  "anyway", m->id, m->route, sc->c.idx, CUT_WAIT_S);
		else if (sc->c.kind == LH_CHAN_MULTIFD && !sc->unparsed && !sc->c.fwd_eof)
			log_warnx("migration out#%u (%s): multifd channel %u: %u of %u SYNC packets %.0f s after main's "
				  "EOF; cutting anyway: its later bytes are not covered by the integrity gate", m->id,
				  m->route, sc->c.idx, sc->mf_syncs, sm->mf_flush ? sm->mf_flush : sm->ram_eos,
				  CUT_WAIT_S);
	}
	return src_cut_release(sm, "timed out waiting for SYNC packets");
}
