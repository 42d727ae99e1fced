/* SPDX-License-Identifier: MIT */
/* Destination role: the priority lane's receiver (WAN-PROTOCOL.md): CHANNEL_DATA, kept until its channel opens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/base/log.h"
#include "gateway/mig/dst.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_session.h"

#define PEND_MAX_CHANNELS 64       /* priority-lane channels waiting for their CHANNEL_OPEN */
#define PEND_KEEP_S 300.0          /* ... at most this long (their migration never opened: dropped) */

/*
 * Priority-lane bytes (CHANNEL_DATA, urgent space) overtake the bulk space,
 * so they can arrive before the MIGRATION_OPEN / CHANNEL_OPEN they belong to.
 * They wait here, per channel, in arrival (= urgent seq) order. The sender
 * never has more than the initial credit window in flight for a channel that
 * the receiver has not opened yet, so a channel holding more is a protocol
 * error.
 */
struct cdata_msg {
	struct cdata_msg *next;
	struct wan_cdata d;     /* d.data points into bytes[] */
	uint8_t bytes[];
};

struct cdata_pend {
	struct cdata_pend *next;
	uint32_t mig;
	uint16_t chan;
	size_t bytes;
	ev_tstamp since;
	struct cdata_msg *head, **tail;
	char overflow[200];  /* past the window before its CHANNEL_OPEN: its migration fails when it opens */
};

static void pend_free(struct cdata_pend *p)
{
	if (!p)
		return;
	for (struct cdata_msg *x = p->head, *n; x; x = n) {
		n = x->next;
		free(x);
	}
	free(p);
}

/* Unlinks and returns the waiting bytes of (mig, chan), or NULL. */
static struct cdata_pend *pend_take(struct gw *gw, uint32_t mig, uint16_t chan)
{
	for (struct cdata_pend **pp = &gw->cdata_pend, *p; (p = *pp); pp = &p->next)
		if (p->mig == mig && p->chan == chan) {
			*pp = p->next;
			return p;
		}
	return NULL;
}

static void pend_add(struct gw *gw, const struct wan_cdata *d)
{
	struct cdata_pend *p;
	unsigned n = 0;

	for (p = gw->cdata_pend; p; p = p->next, n++)
		if (p->mig == d->mig && p->chan == d->chan)
			break;
	if (!p) {
		if (n >= PEND_MAX_CHANNELS || !(p = calloc(1, sizeof(*p)))) {
			wan_session_fail(gw, "protocol: too many priority-lane channels ahead of their CHANNEL_OPEN");
			return;
		}
		p->mig = d->mig;
		p->chan = d->chan;
		p->since = ev_now(gw->loop);
		p->tail = &p->head;
		p->next = gw->cdata_pend;
		gw->cdata_pend = p;
	}
	if (p->overflow[0])
		return; /* what it sends until it opens is dropped: its migration fails then */
	if (p->bytes + d->len > WAN_WINDOW_KIB_BYTES) {
		/* only that migration pays: its bytes go, and it fails when (or if already) it exists */
		snprintf(p->overflow, sizeof(p->overflow), "protocol: channel %u sent %zu priority-lane bytes before its "
			 "CHANNEL_OPEN, beyond the credit window", d->chan, p->bytes + d->len);
		for (struct cdata_msg *x = p->head, *nx; x; x = nx) {
			nx = x->next;
			free(x);
		}
		p->head = NULL;
		p->tail = &p->head;
		p->bytes = 0;
		struct dst_mig *dm = dst_find(gw, d->mig);
		if (dm)
			dst_fail(dm, MFR_PROTOCOL, p->overflow, 1);
		return;
	}
	struct cdata_msg *x = malloc(sizeof(*x) + d->len);
	if (!x) {
		wan_session_fail(gw, "out of memory keeping priority-lane bytes");
		return;
	}
	x->next = NULL;
	x->d = *d;
	memcpy(x->bytes, d->data, d->len);
	x->d.data = x->bytes;
	*p->tail = x;
	p->tail = &x->next;
	p->bytes += d->len;
}

void dst_pend_drop_all(struct gw *gw)
{
	struct cdata_pend *p;
	while ((p = gw->cdata_pend)) {
		gw->cdata_pend = p->next;
		pend_free(p);
	}
}

void dst_pend_tick(struct gw *gw)
{
	ev_tstamp now = ev_now(gw->loop);
	for (struct cdata_pend **pp = &gw->cdata_pend, *p; (p = *pp);) {
		if (now - p->since > PEND_KEEP_S) {
			log_warnx("migration in#%u: channel %u: %zu priority-lane bytes never got a CHANNEL_OPEN; dropped",
				  p->mig, p->chan, p->bytes);
			*pp = p->next;
			pend_free(p);
			continue;
		}
		pp = &p->next;
	}
}

/*
 * One CHANNEL_DATA of a priority-lane channel, in urgent order: bytes (hashed
 * per segment as they pass), a segment END (length + XXH3-128 checked: the
 * integrity gate's evidence for this channel), or FIN.
 */
static void prio_rx(struct dst_chan *dc, const struct wan_cdata *d)
{
	struct chan *c = &dc->c;
	struct dst_mig *dm = DM(c->m);
	struct mig *m = &dm->m;
	uint8_t hash[16];
	char why[200];

	if (!mig_live(m))
		return;
	if (!c->prio) {
		snprintf(why, sizeof(why), "protocol: CHANNEL_DATA for channel %u, which is not in the priority lane", c->idx);
		dst_fail(dm, MFR_PROTOCOL, why, 1);
		return;
	}
	m->wan_bytes += WAN_HDR_LEN + WAN_CDATA_FIXED + d->len;
	if (d->segment != c->segment) {
		if (!c->seg_ended || d->segment != (uint16_t)(c->segment + 1)) {
			snprintf(why, sizeof(why), "protocol: channel %u: CHANNEL_DATA for segment %u while segment %u is %s",
				 c->idx, d->segment, c->segment, c->seg_ended ? "ended" : "open");
			dst_fail(dm, MFR_PROTOCOL, why, 1);
			return;
		}
		c->segment = d->segment;
		c->seg_ended = 0;
		c->prio_bytes = 0;
		XXH3_128bits_reset(c->prio_hash);
	}
	if (d->flags & WAN_CDATA_END) {
		if (c->seg_ended) {
			dst_fail(dm, MFR_PROTOCOL, "protocol: a second END for a priority-lane segment", 1);
			return;
		}
		prio_hash_digest(c->prio_hash, hash);
		if (d->seg_len != c->prio_bytes || memcmp(hash, d->hash, 16)) {
			snprintf(why, sizeof(why), "integrity gate: channel %u (priority lane) segment %u: %llu bytes, sender "
				 "says %llu, XXH3-128 %s", c->idx, c->segment, (unsigned long long)c->prio_bytes,
				 (unsigned long long)d->seg_len, memcmp(hash, d->hash, 16) ? "differs" : "matches");
			dst_fail(dm, MFR_INTEGRITY, why, 1);
			return;
		}
		c->seg_ended = 1;
		if (c->segment == 0 && !dc->seg0_ok) {
			dc->seg0_ok = 1;
			log_debug("migration in#%u: channel %u (priority lane) segment 0 verified (%llu bytes)", m->id,
				  c->idx, (unsigned long long)c->prio_bytes);
			dst_gate_check(dm);
		}
	} else if (d->len) {
		if (c->seg_ended) {
			dst_fail(dm, MFR_PROTOCOL, "protocol: priority-lane bytes after their segment's END", 1);
			return;
		}
		XXH3_128bits_update(c->prio_hash, d->data, d->len);
		c->prio_bytes += d->len;
		if (dst_deliver(dc, d->data, d->len) < 0)
			return;
	}
	if ((d->flags & WAN_CDATA_FIN) && !c->fwd_eof) {
		c->fwd_eof = 1;
		if (c->state == CS_OPEN)
			dst_chan_io(dc, EV_WRITE);
	}
}

/* Channels are numbered by the source in accept order; they open here in classification order. */
static struct dst_chan *chan_by_idx(struct dst_mig *dm, unsigned idx)
{
	for (unsigned i = 0; i < dm->m.nch; i++)
		if (dm->m.ch[i]->idx == idx)
			return dst_ch(dm, i);
	return NULL;
}

void dst_prio_rx_msg(struct gw *gw, struct dst_mig *dm, const struct wan_cdata *d)
{
	struct dst_chan *dc = dm ? chan_by_idx(dm, d->chan) : NULL;

	if (dm && !mig_live(&dm->m))
		return;
	if (!dc)
		pend_add(gw, d);
	else
		prio_rx(dc, d);
}

void dst_prio_open(struct gw *gw, struct dst_mig *dm, const struct wan_chan_open *co)
{
	struct cdata_pend *pend = pend_take(gw, co->mig, co->chan);
	struct dst_chan *dc;

	if (!dm || !mig_live(&dm->m)) {
		pend_free(pend);
		return;
	}
	if (pend && pend->overflow[0]) {
		dst_fail(dm, MFR_PROTOCOL, pend->overflow, 1);
		pend_free(pend);
		return;
	}
	if ((co->segment & ~WAN_SEG_PRIO) || chan_by_idx(dm, co->chan) || !(dc = dst_chan_new(dm, dst_io_cb)) ||
	    !(dc->c.prio_hash = prio_hash_new())) {
		pend_free(pend);
		dst_fail(dm, MFR_PROTOCOL, "protocol: priority-lane CHANNEL_OPEN not for segment 0 of a new channel, "
			 "or too many channels", 1);
		return;
	}
	dc->c.prio = 1;
	dc->c.idx = co->chan;
	dc->c.kind = co->kind <= LH_CHAN_OPAQUE ? (lh_channel_kind)co->kind : LH_CHAN_OPAQUE;
	dc->c.mf_id = co->mf_id;
	chan_set_state(&dc->c, CS_WAIT, "opened by the source gateway");
	dc->credit_sent = WAN_WINDOW_KIB_BYTES;
	log_info("migration in#%u: channel %u is %s (priority lane%s)", dm->m.id, dc->c.idx, lh_channel_name(dc->c.kind),
		 pend ? ", bytes arrived ahead of it" : "");
	dst_connect_next(dm);
	/* what overtook the CHANNEL_OPEN, in its order */
	for (struct cdata_msg *x = pend ? pend->head : NULL; x; x = x->next)
		prio_rx(dc, &x->d);
	pend_free(pend);
}
