/* SPDX-License-Identifier: MIT */
/* Source role: the priority lane's sender (WAN-PROTOCOL.md): postcopy-preempt bytes as CHANNEL_DATA, urgent. */
#include <errno.h>

#include "gateway/mig/src.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_session.h"

#define PRIO_CHUNK (64u << 10)     /* priority-lane bytes per CHANNEL_DATA message */

/*
 * Priority lane (WAN-PROTOCOL.md): a postcopy-preempt channel carries the
 * pages a stalled vCPU waits for, so its bytes go raw as CHANNEL_DATA in the
 * urgent space, ahead of every queued codec frame, and never wait for the
 * bulk order. Each segment is hashed here (XXH3-128) and ended by an END
 * message, so the receiver's integrity gate covers these bytes too.
 */
long prio_send(struct src_chan *sc, const uint8_t *p, size_t n)
{
	struct chan *c = &sc->c;
	struct mig *m = c->m;
	uint8_t h[WAN_CDATA_FIXED];
	size_t done = 0;
	int r;

	if (c->seg_ended) {
		XXH3_128bits_reset(c->prio_hash);
		c->prio_bytes = 0;
		c->segment++;
		c->seg_ended = 0;
	}
	while (done < n) {
		size_t k = n - done < PRIO_CHUNK ? n - done : PRIO_CHUNK;
		wan_enc_cdata_hdr(h, m->id, c->idx, c->segment, 0);
		if ((r = mig_send(m, WAN_CHANNEL_DATA, h, sizeof(h), p + done, k)) < 0)
			return r == -ENOMEM ? -LH_E_NOMEM : -LH_E_STATE; /* -ENOTCONN: the session went away */
		XXH3_128bits_update(c->prio_hash, p + done, k);
		c->prio_bytes += k;
		m->wan_bytes += WAN_HDR_LEN + sizeof(h) + k;
		m->raw_bytes += k;
		done += k;
	}
	return (long)done;
}

/* Ends the priority lane's current segment: its length and XXH3-128 for the receiver to check. */
int prio_end(struct src_chan *sc)
{
	struct chan *c = &sc->c;
	struct mig *m = c->m;
	uint8_t p[WAN_CDATA_END_LEN], hash[16];

	if (c->seg_ended)
		return 0;
	prio_hash_digest(c->prio_hash, hash);
	c->seg_ended = 1;
	return mig_send(m, WAN_CHANNEL_DATA, p,
			wan_enc_cdata_end(p, m->id, c->idx, c->segment, c->prio_bytes, hash), NULL, 0);
}
