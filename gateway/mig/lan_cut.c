/* SPDX-License-Identifier: MIT */
/* Source gateway: the cut at main's EOF (segments end for the integrity gate), waiting for multifd SYNCs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "gateway/base/log.h"
#include "gateway/mig/mig_internal.h"
#include "gateway/mig/src_hold.h"
#include "gateway/wan/wan_session.h"

#define CUT_WAIT_S 10.0            /* longest wait at main's EOF for the multifd channels' SYNC packets */

/*
 * Multifd SYNC accounting for the EOF cut. QEMU writes each channel's SYNC
 * packet before the matching sync point on main (FLUSH, or RAM EOS in legacy
 * mode), and the last sync point comes before main's EOF; the channels send
 * nothing after their last SYNC until they close (qemu-migration-format.md
 * 4.4). Written first is not read first, though: the SYNC may still sit in
 * QEMU's socket buffer or on the LAN when main's EOF reaches us. Counting
 * SYNCs tells when a channel's segment 0 holds everything that precedes the
 * EOF.
 */
static int mf_event_cb(void *opaque, const lh_event *ev)
{
	struct chan *c = opaque;
	if (ev->type == LH_EV_MULTIFD_PACKET && (ev->u.mf_packet.flags & 1)) {
		/* a 7.2 SYNC may carry pages: it counts once they are read too (compressed payloads: at the header) */
		c->mf_sync_pages = (ev->u.mf_packet.flags & 0x3e) ? 0 : ev->u.mf_packet.normal_pages; /* compressed: 0 */
		if (!c->mf_sync_pages)
			c->mf_syncs++;
	} else if (ev->type == LH_EV_MULTIFD_PAGE && c->mf_sync_pages && --c->mf_sync_pages == 0) {
		c->mf_syncs++;
	}
	return 0;
}

void src_mf_follow(struct chan *c, const uint8_t *p, size_t n)
{
	if (lh_parser_feed(c->mfparser, p, n, mf_event_cb, c) < 0) {
		log_warnx("migration out#%u: multifd channel %u not followed (%s at offset %llu): the EOF cut cannot wait "
			  "for its SYNC packets", c->m->id, c->idx, lh_parser_error(c->mfparser)->detail,
			  (unsigned long long)lh_parser_error(c->mfparser)->offset);
		lh_parser_free(c->mfparser);
		c->mfparser = NULL;
		c->mf_lost = 1;
	}
}

/* Every multifd channel has read as many SYNC packets as main had sync points (or closed, or is not followed). */
int src_cut_ready(struct mig *m)
{
	uint32_t need = m->mf_flush ? m->mf_flush : m->ram_eos;
	for (unsigned i = 0; i < m->nch; i++) {
		struct chan *c = m->ch[i];
		/* A channel not classified yet may be multifd. QEMU connects those before main, but a
		 * busy gateway can read main's EOF before their first bytes (seen in CI: a store commit
		 * held the loop while all four channels connected). It is classified within
		 * SRC_SILENT_S (a silent one is postcopy's preempt channel). */
		if (c->state == CS_CLASSIFY)
			return 0;
		if (c->kind == LH_CHAN_MULTIFD && c->mfparser && !c->fwd_eof && c->mf_syncs < need)
			return 0;
	}
	return 1;
}

/*
 * Main's EOF byte: every channel's segment 0 ends here, so the receiver can
 * verify all of them before it releases the EOF (WAN-PROTOCOL.md, integrity gate).
 */
void src_cut_at_eof(struct chan *mc)
{
	struct mig *m = mc->m;
	struct gw *gw = m->gw;
	lh_wan_stats st;
	char tag[100];

	src_mig_tag(m, tag, sizeof(tag));
	m->t_cut = ev_now(gw->loop);
	for (unsigned i = 0; i < m->nch; i++) {
		struct chan *c = m->ch[i];
		if (c == mc || (!c->stream_id && !c->prio) || c->seg_ended || c->fwd_eof)
			continue;
		/* take what the channel already sent: QEMU wrote it before main's EOF */
		for (int guard = 0; guard < 64; guard++) {
			if (c->rlen) {
				long r = src_feed_plain(c, c->rbuf, c->rlen);
				if (r < 0)
					break;
				memmove(c->rbuf, c->rbuf + r, c->rlen - (size_t)r);
				c->rlen -= (size_t)r;
				c->fwd_bytes += (size_t)r;
				if (c->rlen) {
					cpipe_drain(gw);
					continue;
				}
			}
			if (c->credit_limit <= c->fwd_bytes) {
				log_warnx("%s: channel %u has no credit at the EOF cut; later bytes travel unverified "
					  "until its close", tag, c->idx);
				break;
			}
			ssize_t n = recv(c->fd, c->rbuf, SRC_RBUF, MSG_DONTWAIT);
			if (n <= 0)
				break;
			c->rlen = (size_t)n;
			m->lan_bytes += (size_t)n;
			gw->st.lan_rx_bytes += (size_t)n;
		}
		if (c->rlen)
			log_warnx("%s: channel %u still had bytes at the EOF cut", tag, c->idx);
		if (c->prio) {
			if (prio_end(c) < 0) {
				mig_fail(m, MFR_GATEWAY, "cannot end the priority lane's segment at the EOF cut", 1);
				return;
			}
			continue;
		}
		if (lh_wan_enc_end(cpipe_encoder(gw), c->stream_id, &st) == 0)
			src_add_stats(m, &st);
		c->seg_ended = 1;
	}
	uint32_t seg0 = mc->stream_id;
	if (src_open_segment(mc, 1, LH_CHAN_OPAQUE) < 0 || lh_wan_enc_end(cpipe_encoder(gw), seg0, &st) < 0) {
		mig_fail(m, MFR_GATEWAY, "cannot cut the main stream at EOF (encoder error)", 1);
		return;
	}
	src_add_stats(m, &st);
	mig_set_state(m, MS_CUT, "main channel reached EOF: segments cut for verification");
	shold_keep(m); /* from now on the destination may release the EOF: a crash of ours must not free QEMU */
	if (m->ping_n)
		log_info("%s: WAN round trip of urgent messages while streaming (PING/PONG): %u samples, mean %.1f ms, "
			 "max %.1f ms", tag, m->ping_n, m->ping_sum / m->ping_n, m->ping_max);
	if (m->rq_n)
		log_info("%s: postcopy page requests: %u answered by the source QEMU on the preempt channel "
			 "(return-path bytes in -> first preempt bytes out) mean %.1f ms, max %.1f ms", tag, m->rq_n,
			 m->rq_sum * 1e3 / m->rq_n, m->rq_max * 1e3);
}

/*
 * The cut was waiting for the multifd channels: make it now (they caught up,
 * or CUT_WAIT_S passed), then send main's held EOF and what followed it.
 */
void src_cut_release(struct mig *m, const char *how)
{
	struct gw *gw = m->gw;
	struct chan *mc = NULL;

	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->kind == LH_CHAN_MAIN)
			mc = m->ch[i];
	m->cut_wait = 0;
	if (!mc || !gw->sess)
		return;
	log_info("migration out#%u (%s): EOF cut after %.0f ms: %s", m->id, m->route,
		 (ev_now(gw->loop) - m->cut_wait_since) * 1e3, how);
	src_cut_at_eof(mc);
	if (m->state == MS_FAILED)
		return;
	if (src_enc_feed_all(gw, mc->stream_id, m->cut_late.p + m->cut_late.off, m->cut_late.len) < 0) {
		mig_fail(m, MFR_GATEWAY, "cannot send main's stream end after the cut (encoder error)", 1);
		return;
	}
	bbuf_free(&m->cut_late);
	if (mc->fwd_eof)
		src_fwd_finish(mc);
	cpipe_pump(gw);
}

/* While the cut waits: make it once every channel is ready (src_cut_ready), or after CUT_WAIT_S
 * anyway, naming what is not covered. 0, or -1 failed. */
int src_cut_tick(struct mig *m)
{
	if (src_cut_ready(m)) { /* a waited-for channel turned out not to be multifd */
		src_cut_release(m, "every multifd channel delivered its SYNC packets");
		return m->state == MS_FAILED ? -1 : 0;
	}
	if (ev_now(m->gw->loop) - m->cut_wait_since <= CUT_WAIT_S)
		return 0;
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->state == CS_CLASSIFY)
			log_warnx("migration out#%u (%s): channel %u sent nothing %.0f s after main's EOF; cutting "
				  "anyway", m->id, m->route, m->ch[i]->idx, CUT_WAIT_S);
		else if (m->ch[i]->kind == LH_CHAN_MULTIFD && m->ch[i]->mfparser && !m->ch[i]->fwd_eof)
			log_warnx("migration out#%u (%s): multifd channel %u: %u of %u SYNC packets %.0f s after main's "
				  "EOF; cutting anyway: its later bytes are not covered by the integrity gate", m->id,
				  m->route, m->ch[i]->idx, m->ch[i]->mf_syncs, m->mf_flush ? m->mf_flush : m->ram_eos,
				  CUT_WAIT_S);
	src_cut_release(m, "timed out waiting for SYNC packets");
	return m->state == MS_FAILED ? -1 : 0;
}
