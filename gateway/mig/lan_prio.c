/* SPDX-License-Identifier: MIT */
/* Priority lane (WAN-PROTOCOL.md): postcopy-preempt bytes as CHANNEL_DATA in the urgent space, both sides. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/base/log.h"
#include "gateway/mig/mig_internal.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_session.h"

#define PRIO_CHUNK (64u << 10)     /* priority-lane bytes per CHANNEL_DATA message */
#define PEND_MAX_CHANNELS 64       /* priority-lane channels waiting for their CHANNEL_OPEN */
#define PEND_KEEP_S 300.0          /* ... at most this long (their migration never opened: dropped) */

XXH3_state_t *prio_hash_new(void)
{
	XXH3_state_t *st = XXH3_createState();
	if (st)
		XXH3_128bits_reset(st);
	return st;
}

void prio_hash_digest(XXH3_state_t *st, uint8_t out[16])
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
	memcpy(out, c.digest, 16);
}

/* ---- source gateway ---- */

/*
 * Priority lane (WAN-PROTOCOL.md): a postcopy-preempt channel carries the
 * pages a stalled vCPU waits for, so its bytes go raw as CHANNEL_DATA in the
 * urgent space, ahead of every queued codec frame, and never wait for the
 * bulk order. Each segment is hashed here (XXH3-128) and ended by an END
 * message, so the receiver's integrity gate covers these bytes too.
 */
long prio_send(struct chan *c, const uint8_t *p, size_t n)
{
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
int prio_end(struct chan *c)
{
	struct mig *m = c->m;
	uint8_t p[WAN_CDATA_END_LEN], hash[16];

	if (c->seg_ended)
		return 0;
	prio_hash_digest(c->prio_hash, hash);
	c->seg_ended = 1;
	return mig_send(m, WAN_CHANNEL_DATA, p,
			wan_enc_cdata_end(p, m->id, c->idx, c->segment, c->prio_bytes, hash), NULL, 0);
}

/* ---- receiving gateway ---- */

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
};

static void pend_free(struct cdata_pend *p)
{
	for (struct cdata_msg *x = p->head, *n; x; x = n) {
		n = x->next;
		free(x);
	}
	free(p);
}

/* Unlinks and returns the waiting bytes of (mig, chan), or NULL. */
struct cdata_pend *prio_pend_take(struct gw *gw, uint32_t mig, uint16_t chan)
{
	for (struct cdata_pend **pp = &gw->cdata_pend, *p; (p = *pp); pp = &p->next)
		if (p->mig == mig && p->chan == chan) {
			*pp = p->next;
			return p;
		}
	return NULL;
}

void prio_pend_add(struct gw *gw, const struct wan_cdata *d)
{
	struct cdata_pend *p;
	unsigned n = 0;
	char why[200];

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
	if (p->bytes + d->len > WAN_WINDOW_KIB_BYTES) {
		snprintf(why, sizeof(why), "protocol: migration %u channel %u sent %zu priority-lane bytes before its "
			 "CHANNEL_OPEN, beyond the credit window", d->mig, d->chan, p->bytes + d->len);
		wan_session_fail(gw, why);
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

void prio_pend_apply(struct cdata_pend *p, struct mig *m, struct chan *c)
{
	if (!p)
		return;
	for (struct cdata_msg *x = p->head; x && c && m->state != MS_FAILED; x = x->next)
		prio_rx(m, c, &x->d);
	pend_free(p);
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
void prio_rx(struct mig *m, struct chan *c, const struct wan_cdata *d)
{
	uint8_t hash[16];
	char why[200];

	if (m->state == MS_FAILED || m->state == MS_DONE)
		return;
	if (!c->prio) {
		snprintf(why, sizeof(why), "protocol: CHANNEL_DATA for channel %u, which is not in the priority lane", c->idx);
		mig_fail(m, MFR_PROTOCOL, why, 1);
		return;
	}
	m->wan_bytes += WAN_HDR_LEN + WAN_CDATA_FIXED + d->len;
	if (d->segment != c->segment) {
		if (!c->seg_ended || d->segment != (uint16_t)(c->segment + 1)) {
			snprintf(why, sizeof(why), "protocol: channel %u: CHANNEL_DATA for segment %u while segment %u is %s",
				 c->idx, d->segment, c->segment, c->seg_ended ? "ended" : "open");
			mig_fail(m, MFR_PROTOCOL, why, 1);
			return;
		}
		c->segment = d->segment;
		c->seg_ended = 0;
		c->prio_bytes = 0;
		XXH3_128bits_reset(c->prio_hash);
	}
	if (d->flags & WAN_CDATA_END) {
		if (c->seg_ended) {
			mig_fail(m, MFR_PROTOCOL, "protocol: a second END for a priority-lane segment", 1);
			return;
		}
		prio_hash_digest(c->prio_hash, hash);
		if (d->seg_len != c->prio_bytes || memcmp(hash, d->hash, 16)) {
			snprintf(why, sizeof(why), "integrity gate: channel %u (priority lane) segment %u: %llu bytes, sender "
				 "says %llu, XXH3-128 %s", c->idx, c->segment, (unsigned long long)c->prio_bytes,
				 (unsigned long long)d->seg_len, memcmp(hash, d->hash, 16) ? "differs" : "matches");
			mig_fail(m, MFR_INTEGRITY, why, 1);
			return;
		}
		c->seg_ended = 1;
		if (c->segment == 0 && !c->seg0_ok) {
			c->seg0_ok = 1;
			log_debug("migration in#%u: channel %u (priority lane) segment 0 verified (%llu bytes)", m->id,
				  c->idx, (unsigned long long)c->prio_bytes);
			dst_gate_check(m);
		}
	} else if (d->len) {
		if (c->seg_ended) {
			mig_fail(m, MFR_PROTOCOL, "protocol: priority-lane bytes after their segment's END", 1);
			return;
		}
		XXH3_128bits_update(c->prio_hash, d->data, d->len);
		c->prio_bytes += d->len;
		if (dst_deliver(c, d->data, d->len) < 0)
			return;
	}
	if ((d->flags & WAN_CDATA_FIN) && !c->fwd_eof && m->state != MS_FAILED) {
		c->fwd_eof = 1;
		if (c->state == CS_OPEN)
			dst_chan_io(c, EV_WRITE);
	}
}
