/* SPDX-License-Identifier: MIT */
/* Source role: a channel's codec segments (WAN-PROTOCOL.md, "Migrations and channels"): open, feed, end. */
#include <errno.h>
#include <stdio.h>

#include "gateway/base/log.h"
#include "gateway/mig/src.h"
#include "gateway/pipe/lan_streams.h"
#include "gateway/wan/wan_session.h"

static uint32_t next_stream_id(struct gw *gw)
{
	if (++gw->next_stream == 0)
		gw->next_stream = 1;
	return gw->next_stream;
}

int src_open_segment(struct src_chan *sc, uint16_t seg, lh_channel_kind kind)
{
	struct chan *c = &sc->c;
	struct gw *gw = c->m->gw;
	struct wan_chan_open co = { .mig = c->m->id, .chan = c->idx, .kind = (uint8_t)kind, .mf_id = c->mf_id,
				    .segment = seg };
	uint8_t p[32];
	char label[64];
	int r;

	if (c->prio) {
		/* priority lane: no codec stream; the segment numbers travel in CHANNEL_DATA */
		co.segment |= WAN_SEG_PRIO;
		if ((r = mig_send(c->m, WAN_CHANNEL_OPEN, p, wan_enc_copen(p, &co), NULL, 0)) < 0)
			return r;
		if (!c->prio_hash && !(c->prio_hash = prio_hash_new()))
			return -ENOMEM;
		c->segment = seg;
		c->seg_ended = 0;
		return 0;
	}
	co.stream_id = next_stream_id(gw);
	if ((r = mig_send(c->m, WAN_CHANNEL_OPEN, p, wan_enc_copen(p, &co), NULL, 0)) < 0)
		return r;
	snprintf(label, sizeof(label), "mig %u chan %u seg %u", c->m->id, c->idx, seg);
	/* segment 0 of main and of multifd: the role follows what they carry through the stream's one parser */
	const lh_wan_watch watch = { src_watch_item, src_watch_gave_up, sc };
	int watched = seg == 0 && (kind == LH_CHAN_MAIN || kind == LH_CHAN_MULTIFD);
	if ((r = lstream_open(gw, co.stream_id, c->m->id, kind, label, watched ? &watch : NULL)) < 0)
		return r;
	sc->stopped = 0;
	c->stream_id = co.stream_id;
	c->segment = seg;
	c->seg_ended = 0;
	return 0;
}

void src_add_stats(struct src_mig *sm, const lh_wan_stats *st)
{
	sm->m.wan_bytes += st->bytes_out;
	sm->m.raw_bytes += st->bytes_in;
}

long src_feed(struct src_chan *sc, const uint8_t *p, size_t n)
{
	struct chan *c = &sc->c;
	if (c->prio)
		return prio_send(sc, p, n);
	if (c->seg_ended && src_open_segment(sc, (uint16_t)(c->segment + 1), LH_CHAN_OPAQUE) < 0)
		return -LH_E_NOMEM;
	return lstream_feed(c->m->gw, c->stream_id, p, n);
}

void src_fwd_finish(struct src_chan *sc)
{
	struct chan *c = &sc->c;
	struct src_mig *sm = SM(c->m);
	struct mig *m = &sm->m;
	struct gw *gw = m->gw;
	uint8_t p[16];
	lh_wan_stats st;

	if (c->prio) {
		/* the close travels in the lane too, after the last bytes (CHANNEL_CLOSE is bulk-ordered) */
		uint8_t h[WAN_CDATA_FIXED];
		if (prio_end(sc) < 0 || mig_send(m, WAN_CHANNEL_DATA, h,
						  wan_enc_cdata_hdr(h, m->id, c->idx, c->segment, WAN_CDATA_FIN),
						  NULL, 0) < 0) {
			src_fail(sm, MFR_GATEWAY, "cannot end the priority lane", 1);
			return;
		}
	} else {
		if (!c->seg_ended && c->stream_id && lstream_end(gw, c->stream_id, &st) == 0)
			src_add_stats(sm, &st);
		c->seg_ended = 1;
		mig_send(m, WAN_CHANNEL_CLOSE, p, wan_enc_cclose(p, m->id, c->idx, 0), NULL, 0);
	}
	log_debug("migration out#%u: channel %u: QEMU closed after %llu bytes", m->id, c->idx,
		  (unsigned long long)c->fwd_bytes);
	if (c->rev_eof) {
		chan_close_fd(c, 0);
		src_check_done(sm);
	}
}
