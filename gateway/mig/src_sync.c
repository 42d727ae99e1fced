/* SPDX-License-Identifier: MIT */
/* Source role: multifd SYNC accounting, so that the EOF cut knows when every channel's segment 0 is whole. */
#include "gateway/mig/src.h"

/*
 * Multifd SYNC accounting for the EOF cut. QEMU writes each channel's SYNC
 * packet before the matching sync point on main (FLUSH, or RAM EOS in legacy
 * mode), and the last sync point comes before main's EOF; the channels send
 * nothing after their last SYNC until they close (qemu-migration-format.md
 * 4.4). Written first is not read first, though: the SYNC may still sit in
 * QEMU's socket buffer or on the LAN when main's EOF reaches us. Counting
 * SYNCs tells when a channel's segment 0 holds everything that precedes the
 * EOF. The SYNCs are counted from the items of the channel's one parser (the
 * encoder's, which the role watches: src_watch_item).
 */
void src_mf_item(struct src_chan *sc, const lh_event *ev)
{
	if (ev->type == LH_EV_MULTIFD_PACKET && (ev->u.mf_packet.flags & 1)) {
		/* a 7.2 SYNC may carry pages: it counts once they are read too (compressed payloads: at the header) */
		sc->mf_sync_pages = (ev->u.mf_packet.flags & 0x3e) ? 0 : ev->u.mf_packet.normal_pages; /* compressed: 0 */
		if (!sc->mf_sync_pages)
			sc->mf_syncs++;
	} else if (ev->type == LH_EV_MULTIFD_PAGE && sc->mf_sync_pages && --sc->mf_sync_pages == 0) {
		sc->mf_syncs++;
	}
}

/* Every multifd channel has read as many SYNC packets as main had sync points (or closed, or is not followed). */
int src_cut_ready(struct src_mig *sm)
{
	uint32_t need = sm->mf_flush ? sm->mf_flush : sm->ram_eos;
	for (unsigned i = 0; i < sm->m.nch; i++) {
		struct src_chan *sc = src_ch(sm, i);
		/* A channel not classified yet may be multifd. QEMU connects those before main, but a
		 * busy gateway can read main's EOF before their first bytes (seen in CI: a store commit
		 * held the loop while all four channels connected). It is classified within
		 * SRC_SILENT_S (a silent one is postcopy's preempt channel). */
		if (sc->c.state == CS_CLASSIFY)
			return 0;
		if (sc->c.kind == LH_CHAN_MULTIFD && !sc->unparsed && !sc->c.fwd_eof && sc->mf_syncs < need)
			return 0;
	}
	return 1;
}
