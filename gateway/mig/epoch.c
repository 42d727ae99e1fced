/* SPDX-License-Identifier: MIT */
/*
 * Codec epochs (WAN-PROTOCOL.md "Codec epochs"): what a decoder error costs the migrations.
 *
 * One bad WAN frame leaves the mirrored page store unknown. The codec pipe starts a new codec epoch at both
 * gateways instead of ending the session, and tells us which codec streams lost bytes. A stream that was open
 * at the error shares the page store with the bad frame; it cannot be verified any more (its END is gone), so
 * its migration fails as an integrity failure: the destination QEMU is reset before the end of stream and the
 * source keeps the guest. Streams that ended (verified) before the error, and streams opened after the
 * sender's marker, are intact: migrations with none of their streams lost go on, and new ones start normally.
 *
 * Past the end of stream nothing is reset as if nothing happened (as for a lost session, src_doubt.c and dst_doubt.c): a
 * destination whose gate released the EOF lets its QEMU decide; a source whose EOF left waits for the
 * destination gateway's verdict (which fails it, with the reason, unless the EOF was released there).
 */
#include <stdio.h>

#include "gateway/base/log.h"
#include "gateway/mig/dst.h"
#include "gateway/mig/src.h"

/* Destination: the codec streams in sids lost bytes (the pipe's codec_lost). */
void mig_codec_lost(struct gw *gw, const uint32_t *sids, unsigned n, const char *reason)
{
	char why[400];

	for (unsigned k = 0; k < n; k++) {
		if (!sids[k])
			continue;
		for (struct mig *m = gw->migs; m; m = m->next) {
			if (m->role != &dst_role || !mig_live(m))
				continue;
			struct dst_mig *dm = DM(m);
			for (unsigned i = 0; i < m->nch; i++) {
				struct dst_chan *dc = dst_ch(dm, i);
				if (dc->c.prio || (dc->stream0 != sids[k] && dc->c.stream_id != sids[k]))
					continue;
				if (dst_eof_released(dm)) {
					/* the end of stream went to QEMU already: it decides, as after a lost session */
					log_warnx("migration in#%u (%s): channel %u (%s): codec stream %u lost bytes after the "
						  "EOF was released (%s); not reset: the destination QEMU's answer decides",
						  m->id, m->route, dc->c.idx, lh_channel_name(dc->c.kind), sids[k], reason);
					break;
				}
				/* the reason leads with what ties this migration to the bad frame (why is cut at 200) */
				snprintf(why, sizeof(why), "channel %u (%s): its codec stream %u was open and shares the "
					 "page store with a bad frame: %s", dc->c.idx, lh_channel_name(dc->c.kind), sids[k],
					 reason);
				mig_fail(m, MFR_INTEGRITY, why, 1);
				break;
			}
		}
	}
	mig_settle(gw);
}

/* Source: the peer's decoder failed; our encoder starts a new epoch when this returns (the pipe's codec_reset). */
void mig_codec_reset(struct gw *gw, const char *reason)
{
	char why[400];

	for (struct mig *m = gw->migs; m; m = m->next) {
		if (m->role != &src_role)
			continue;
		struct src_mig *sm = SM(m);
		if (sm->state != SRC_STREAMING && sm->state != SRC_POSTCOPY && sm->state != SRC_VERIFYING)
			continue;
		struct chan *open = NULL;
		for (unsigned i = 0; i < m->nch && !open; i++)
			if (!m->ch[i]->prio && m->ch[i]->stream_id && !m->ch[i]->seg_ended)
				open = m->ch[i];
		if (!open)
			continue; /* every segment ended before: verified at the peer, or its verdict comes */
		if (sm->state != SRC_VERIFYING) {
			/* the EOF never left: the destination never gets it, the source keeps the guest (postcopy:
			 * mig_fail pauses it) */
			snprintf(why, sizeof(why), "channel %u (%s): its codec stream %u was open when the peer's decoder "
				 "failed: %s", open->idx, lh_channel_name(open->kind), open->stream_id, reason);
			mig_fail(m, MFR_INTEGRITY, why, 1);
			continue;
		}
		/*
		 * The EOF left (verifying): the destination gateway may have released it. Its open segments end with
		 * the old epoch, unverified; the destination gateway's verdict decides (it fails the migration unless
		 * its gate had opened).
		 */
		for (unsigned i = 0; i < m->nch; i++)
			if (!m->ch[i]->prio && m->ch[i]->stream_id)
				m->ch[i]->seg_ended = 1;
		log_warnx("migration out#%u (%s): codec epoch reset after main's EOF left (%s): its open segments end "
			  "unverified; the destination gateway's verdict decides", m->id, m->route, reason);
	}
	mig_settle(gw);
}
