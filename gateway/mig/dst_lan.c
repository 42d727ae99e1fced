/* SPDX-License-Identifier: MIT */
/* Destination role, LAN side: ordered connects, per-channel output queues, credit, the return path read. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/base/log.h"
#include "gateway/base/resolve.h"
#include "gateway/mig/dst.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_session.h"

#define DST_RP_READ (64u << 10)

void dst_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dst_chan *dc = w->data;
	(void)loop;
	dst_chan_io(dc, revents);
	mig_settle(dc->c.m->gw);
}

/* Connect order (qemu-migration-format.md 4.1): main, then multifd by channel id, then the rest. */
static int connect_rank(const struct chan *c)
{
	switch (c->kind) {
	case LH_CHAN_MAIN: return 0;
	case LH_CHAN_MULTIFD: return 1 + c->mf_id;
	default: return 1000 + c->idx;
	}
}

/* Event mask from the channel's state (read wanted, bytes to write). */
static void update_io(struct dst_chan *dc)
{
	struct chan *c = &dc->c;
	int ev = 0;
	if (c->fd >= 0 && c->state == CS_CONNECTING) {
		ev = EV_WRITE;
	} else if (c->fd >= 0 && c->state != CS_WAIT && c->state != CS_CLOSED) {
		if (!c->rev_eof && !c->blocked)
			ev |= EV_READ;
		if (c->out.len || (c->fwd_eof && !c->shut_wr))
			ev |= EV_WRITE;
	}
	chan_watch(c, ev);
}

/* The destination's name answered (on the loop): connect the channel whose turn it is, or fail as before. */
static void dest_resolved(void *ctx, int rc, const struct sockaddr_storage *ss, socklen_t sl, const char *err)
{
	struct dst_mig *dm = ctx;
	struct gw *gw = dm->m.gw;
	char why[300], host[256];

	dm->dns_q = NULL;
	dm->connecting = 0;
	if (!mig_live(&dm->m))
		return;
	if (rc != 0) {
		struct lh_endpoint ep;
		snprintf(host, sizeof(host), "%s", dm->m.dest);
		if (lh_endpoint_parse(dm->m.dest, true, &ep, why, sizeof(why)) == 0)
			snprintf(host, sizeof(host), "%s", ep.host);
		log_debug("migration in#%u: %s: %s", dm->m.id, host, err);
		snprintf(why, sizeof(why), "cannot resolve destination %s", host);
		dst_fail(dm, MFR_CONNECT, why, 1);
	} else {
		dm->dest_ss = *ss;
		dm->dest_sl = sl;
		dst_connect_next(dm);
	}
	mig_settle(gw); /* an event that entered mig/: the teardown of a failure runs here */
}

/* The destination is a name: asked off the loop; 0 (the connect starts with the answer) or -1 (failed). */
static int dest_resolve(struct dst_mig *dm, const struct lh_endpoint *ep)
{
	struct gw *gw = dm->m.gw;
	char why[300];

	if (!gw->resolver || !(dm->dns_q = lh_resolve_start(gw->resolver, ep->host, ep->port, dest_resolved, dm))) {
		snprintf(why, sizeof(why), "cannot resolve destination %s", ep->host);
		dst_fail(dm, MFR_CONNECT, why, 1);
		return -1;
	}
	dm->connecting = 1; /* no other channel connects before the answer */
	return 0;
}

void dst_dns_cancel(struct dst_mig *dm)
{
	if (dm->dns_q)
		lh_resolve_cancel(dm->m.gw->resolver, dm->dns_q);
	dm->dns_q = NULL;
}

int dst_connect_next(struct dst_mig *dm)
{
	struct mig *m = &dm->m;
	struct chan *best = NULL, *mc = mig_lead_chan(m);
	int main_up = mc && mc->state != CS_WAIT;
	char why[300];

	if (dm->connecting || !mig_live(m))
		return 0;
	for (unsigned i = 0; i < m->nch; i++) {
		struct chan *c = m->ch[i];
		if (c->state != CS_WAIT)
			continue;
		/* multifd and preempt only after main: old destinations classify by order */
		if (c->kind != LH_CHAN_MAIN && c->kind != LH_CHAN_OPAQUE && !main_up)
			continue;
		if (c->kind == LH_CHAN_OPAQUE && mc && !main_up)
			continue;
		if (!best || connect_rank(c) < connect_rank(best))
			best = c;
	}
	if (!best)
		return 0;
	struct lh_endpoint ep;
	if (lh_endpoint_parse(m->dest, true, &ep, why, sizeof(why)) < 0) {
		dst_fail(dm, MFR_CONNECT, why, 1);
		return -1;
	}
	struct sockaddr_storage ss = ep.sa;
	socklen_t sl = ep.salen;
	if (!ep.numeric && !dm->dest_sl)
		return dest_resolve(dm, &ep); /* a name: never getaddrinfo on the loop */
	if (!ep.numeric) {
		ss = dm->dest_ss;
		sl = dm->dest_sl;
	}
	if (m->gw->cfg.wan.allow_dest.n && !lh_allow_match(&m->gw->cfg.wan.allow_dest, (struct sockaddr *)&ss)) {
		/* the peer names where we connect: only where this site's config lets it */
		snprintf(why, sizeof(why), "destination %s is not in [wan] allow_dest", m->dest);
		dst_fail(dm, MFR_CONNECT, why, 1);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)) {
		snprintf(why, sizeof(why), "connect to destination %s: %s", m->dest, strerror(errno));
		if (fd >= 0)
			close(fd);
		dst_fail(dm, MFR_CONNECT, why, 1);
		return -1;
	}
	best->fd = fd;
	chan_set_state(best, CS_CONNECTING, "its turn to connect");
	dm->connecting = 1;
	update_io(DC(best));
	return 0;
}

void dst_send_credit(struct dst_chan *dc, int force)
{
	uint64_t win = (uint64_t)WAN_WINDOW_KIB_BYTES;
	uint64_t limit = dc->c.fwd_bytes + win;
	uint8_t p[16];

	if (!mig_live(dc->c.m) || (!force && limit - dc->credit_sent < win / 4))
		return;
	dc->credit_sent = limit;
	mig_send(dc->c.m, WAN_CREDIT, p, wan_enc_credit(p, dc->c.m->id, dc->c.idx, limit), NULL, 0);
}

static void maybe_shutdown(struct dst_chan *dc)
{
	struct chan *c = &dc->c;
	if (c->fwd_eof && !c->out.len && !dc->held.len && !c->shut_wr && c->state == CS_OPEN) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr = 1;
	}
	if (c->shut_wr && c->rev_eof) {
		chan_close_fd(c, 0);
		dst_check_done(DM(c->m));
	}
}

/*
 * The destination QEMU's verdict, from main's return path (n bytes; n = 0: it
 * closed main). Accepted: SHUT 0 after the EOF was released (QEMU sends it once
 * the guest started): confirmed. Refused: SHUT != 0; or, with a return path it
 * follows, closing main without SHUT 0. Without a return path (capability off,
 * or RECV_BITMAP, which the scanner cannot follow) only the weaker evidence is
 * left: main closed cleanly after every released byte was written; QEMU also
 * closes after a failed load, hence unconfirmed. 1 (why filled) when refused.
 */
static int rp_watch(struct dst_chan *dc, const uint8_t *p, size_t n, char *why, size_t len)
{
	struct chan *c = &dc->c;
	struct dst_mig *dm = DM(c->m);
	char ev[160];

	if (n > 0) {
		if (c->rp.state != LH_RP_SCANNING || lh_rp_feed(&c->rp, p, n) == LH_RP_SCANNING)
			return 0;
		if (c->rp.state == LH_RP_LOST) {
			log_debug("migration in#%u: return path not followed past byte %llu: %s", dm->m.id,
				  (unsigned long long)c->rp.offset, c->rp.reason);
		} else if (c->rp.status != 0) {
			snprintf(why, len, "destination QEMU refused the stream (SHUT %u)", c->rp.status);
			return 1;
		} else if (!dst_eof_released(dm)) {
			log_warnx("migration in#%u (%s): destination sent SHUT 0 before the EOF was released", dm->m.id,
				  dm->m.route);
		} else {
			snprintf(ev, sizeof(ev), "SHUT 0 on the return path after %llu messages",
				 (unsigned long long)c->rp.messages);
			dst_accepted(dm, ev, 1);
		}
		return 0;
	}
	if (dm->accepted)
		return 0;
	if (c->rp.state != LH_RP_LOST && (dc->saw_orp || c->rp.offset)) {
		snprintf(why, len, "destination QEMU closed main %s without SHUT 0",
			 dst_eof_released(dm) ? "after the EOF was released" : "before the end of the stream");
		return 1;
	}
	if (!dst_eof_released(dm) || c->out.len || dc->held.len) {
		snprintf(why, len, "destination QEMU closed main before reading the end of the stream");
		return 1;
	}
	dst_accepted(dm, dc->saw_orp ? "return path not followed; destination QEMU closed main cleanly after the EOF"
				     : "no return path; destination QEMU closed main cleanly after the EOF", 0);
	return 0;
}

static int has_open_preempt(const struct mig *m)
{
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->kind == LH_CHAN_PREEMPT && m->ch[i]->state == CS_OPEN)
			return 1;
	return 0;
}

/* The output queue to QEMU. 0, or -1 failed. */
static int flush(struct dst_chan *dc)
{
	struct chan *c = &dc->c;
	struct dst_mig *dm = DM(c->m);
	char why[160];
	long w = chan_flush_out(c);

	if (w < 0) {
		snprintf(why, sizeof(why), "channel %u: write to QEMU: %s", c->idx, strerror((int)-w));
		dst_fail(dm, MFR_HYPERVISOR_IO, why, 1);
		return -1;
	}
	c->fwd_bytes += (uint64_t)w;
	dm->m.lan_bytes += (uint64_t)w;
	dm->m.gw->st.lan_tx_bytes += (uint64_t)w;
	/* the end of stream is in the destination QEMU's socket, its answer not yet here */
	if (c->kind == LH_CHAN_MAIN && dm->gate_open && !c->out.len && !dm->accepted)
		mig_test_at(dm->m.gw, "released");
	return 0;
}

void dst_chan_io(struct dst_chan *dc, int revents)
{
	struct chan *c = &dc->c;
	struct dst_mig *dm = DM(c->m);
	struct mig *m = &dm->m;
	struct gw *gw = m->gw;
	char why[200];

	if (!mig_live(m) || c->fd < 0)
		return;
	if (c->state == CS_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			snprintf(why, sizeof(why), "channel %u (%s): connect to destination %s: %s", c->idx,
				 lh_channel_name(c->kind), m->dest, strerror(err ? err : errno));
			dst_fail(dm, MFR_CONNECT, why, 1);
			return;
		}
		chan_set_state(c, CS_OPEN, "connected to the destination");
		dm->connecting = 0;
		log_debug("migration in#%u: channel %u (%s) connected to %s", m->id, c->idx,
			  lh_channel_name(c->kind), m->dest);
		if (dst_connect_next(dm) < 0)
			return;
		revents |= EV_WRITE;
	}
	if (revents & EV_WRITE) {
		uint64_t before = c->fwd_bytes;
		if (flush(dc) < 0)
			return;
		if (c->fwd_bytes != before)
			dst_send_credit(dc, 0);
	}
	if (revents & EV_READ) {
		uint8_t buf[DST_RP_READ], hdr[16];
		/* return path: relay at once, message by message, ahead of bulk */
		c->blocked = 0;
		for (int i = 0; i < 16 && !c->rev_eof; i++) {
			if (!wan_urgent_room(gw)) {
				c->blocked = 1; /* the tick resumes once the peer acknowledged */
				break;
			}
			ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0) {
				snprintf(why, sizeof(why), "channel %u: destination QEMU: %s", c->idx, strerror(errno));
				dst_fail(dm, MFR_HYPERVISOR_IO, why, 1);
				return;
			}
			c->rev_eof = n == 0;
			c->rev_bytes += (size_t)n;
			if (n > 0 && c->kind == LH_CHAN_MAIN && !m->rq_since && has_open_preempt(m))
				m->rq_since = ev_time(); /* in postcopy: page requests (and PONGs) */
			int refused = c->kind == LH_CHAN_MAIN && rp_watch(dc, buf, (size_t)n, why, sizeof(why));
			if (refused)
				dst_record_outcome(dm, OUTCOME_REFUSED, why); /* durable before the SHUT is relayed */
			/* relayed even when refused: the source QEMU learns the failure from this SHUT */
			mig_send(m, WAN_RETURN_DATA, hdr, wan_enc_rdata_hdr(hdr, m->id, c->idx, (uint8_t)c->rev_eof),
				 buf, (size_t)n);
			if (refused) {
				dst_fail(dm, MFR_DEST_REFUSED, why, 1);
				return;
			}
			if (c->rev_eof)
				log_debug("migration in#%u: channel %u: destination closed", m->id, c->idx);
		}
	}
	maybe_shutdown(dc);
	if (c->fd >= 0)
		update_io(dc);
}

int dst_credit_check(struct dst_chan *dc, size_t n)
{
	const struct chan *c = &dc->c;
	uint64_t got = c->fwd_bytes + c->out.len + dc->held.len + n;
	char why[200];

	if (got <= dc->credit_sent)
		return 0;
	/* a peer that ignores the credit would grow this channel's queue without bound: only its migration fails */
	snprintf(why, sizeof(why), "protocol: channel %u: the source gateway sent %llu stream bytes, past the %llu its "
		 "credit allowed (%llu written to the destination)", c->idx, (unsigned long long)got,
		 (unsigned long long)dc->credit_sent, (unsigned long long)c->fwd_bytes);
	dst_fail(DM(c->m), MFR_PROTOCOL, why, 1);
	return -1;
}

int dst_deliver(struct dst_chan *dc, const uint8_t *data, size_t n)
{
	struct chan *c = &dc->c;
	struct dst_mig *dm = DM(c->m);
	struct mig *m = &dm->m;
	struct gw *gw = m->gw;

	if (!mig_live(m))
		return -1; /* its teardown resets the connections: nothing more goes to QEMU */
	if (dst_credit_check(dc, n) < 0)
		return -1;
	if (c->kind == LH_CHAN_PREEMPT && m->rq_since > 0) {
		/* the first preempt bytes after a return-path message: one page-request round trip */
		double dt = ev_time() - m->rq_since;
		m->rq_n++;
		m->rq_sum += dt;
		if (dt > m->rq_max)
			m->rq_max = dt;
		m->rq_since = 0;
	}
	if (!c->out.len && c->state == CS_OPEN && c->fd >= 0) {
		/* nothing queued: write straight from the decoder's buffer, queue only the rest */
		ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		size_t done = w > 0 ? (size_t)w : 0;
		c->fwd_bytes += done;
		m->lan_bytes += done;
		gw->st.lan_tx_bytes += done;
		if (done < n && bbuf_add(&c->out, data + done, n - done) < 0) {
			dst_fail(dm, MFR_GATEWAY, "out of memory queueing decoded bytes", 1);
			return -1;
		}
		if (done)
			dst_send_credit(dc, 0);
	} else if (bbuf_add(&c->out, data, n) < 0) {
		dst_fail(dm, MFR_GATEWAY, "out of memory queueing decoded bytes", 1);
		return -1;
	}
	m->raw_bytes += n;
	if (c->state == CS_OPEN)
		dst_chan_io(dc, EV_WRITE);
	return 0;
}
