/* SPDX-License-Identifier: MIT */
/* Destination gateway LAN side: ordered connects, per-channel output queues, integrity gate, return path. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/base/log.h"
#include "gateway/mig/mig_internal.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_session.h"

#define DST_RP_READ (64u << 10)
#define QEMU_VM_EOF 0x00 /* main's end-of-stream byte, the first of segment 1 (qemu-migration-format.md) */

/* The channel a codec stream belongs to, and which segment of it (0, or the current one). */
static struct chan *chan_by_stream(struct gw *gw, uint32_t sid, struct mig **mp, unsigned *seg)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->dir == MIG_IN)
			for (unsigned i = 0; i < m->nch; i++) {
				struct chan *c = m->ch[i];
				if (c->stream0 == sid || c->stream_id == sid) {
					*mp = m;
					*seg = c->stream0 == sid ? 0 : c->segment;
					return c;
				}
			}
	return NULL;
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

static void connect_next(struct mig *m)
{
	struct gw *gw = m->gw;
	struct chan *best = NULL;
	int main_up = 0, has_main = 0;
	char why[300];

	if (m->connecting || m->state == MS_FAILED)
		return;
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->kind == LH_CHAN_MAIN) {
			has_main = 1;
			main_up = m->ch[i]->state != CS_WAIT;
		}
	for (unsigned i = 0; i < m->nch; i++) {
		struct chan *c = m->ch[i];
		if (c->state != CS_WAIT)
			continue;
		/* multifd and preempt only after main: old destinations classify by order */
		if (c->kind != LH_CHAN_MAIN && c->kind != LH_CHAN_OPAQUE && !main_up)
			continue;
		if (c->kind == LH_CHAN_OPAQUE && has_main && !main_up)
			continue;
		if (!best || connect_rank(c) < connect_rank(best))
			best = c;
	}
	if (!best)
		return;
	struct lh_endpoint ep;
	if (lh_endpoint_parse(m->dest, true, &ep, why, sizeof(why)) < 0) {
		mig_fail(m, MFR_CONNECT, why, 1);
		return;
	}
	struct sockaddr_storage ss = ep.sa;
	socklen_t sl = ep.salen;
	if (!ep.numeric) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
		char port[8];
		snprintf(port, sizeof(port), "%u", ep.port);
		if (getaddrinfo(ep.host, port, &hints, &ai) != 0) {
			snprintf(why, sizeof(why), "cannot resolve destination %s", ep.host);
			mig_fail(m, MFR_CONNECT, why, 1);
			return;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sl = ai->ai_addrlen;
		freeaddrinfo(ai);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)) {
		snprintf(why, sizeof(why), "connect to destination %s: %s", m->dest, strerror(errno));
		if (fd >= 0)
			close(fd);
		mig_fail(m, MFR_CONNECT, why, 1);
		return;
	}
	best->fd = fd;
	chan_set_state(best, CS_CONNECTING, "its turn to connect");
	m->connecting = 1;
	chan_update_io(best);
	(void)gw;
}

static void send_credit(struct chan *c, int force)
{
	uint64_t win = (uint64_t)WAN_WINDOW_KIB_BYTES;
	uint64_t limit = c->fwd_bytes + win;
	uint8_t p[16];

	if (!force && limit - c->credit_sent < win / 4)
		return;
	c->credit_sent = limit;
	mig_send(c->m, WAN_CREDIT, p, wan_enc_credit(p, c->m->id, c->idx, limit), NULL, 0);
}

static void maybe_shutdown(struct chan *c)
{
	if (c->fwd_eof && !c->out.len && !c->held.len && !c->shut_wr && c->state == CS_OPEN) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr = 1;
	}
	if (c->shut_wr && c->rev_eof) {
		chan_close_fd(c, 0);
		mig_check_done(c->m);
	}
}

/* The end of main's stream (QEMU_VM_EOF) went to the destination, or will: the gate opened, or there is none. */
static int eof_released(const struct mig *m)
{
	return m->gate_open || m->ungated;
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
static int rp_watch(struct chan *c, const uint8_t *p, size_t n, char *why, size_t len)
{
	struct mig *m = c->m;
	char ev[160];

	if (n > 0) {
		if (c->rp.state != LH_RP_SCANNING || lh_rp_feed(&c->rp, p, n) == LH_RP_SCANNING)
			return 0;
		if (c->rp.state == LH_RP_LOST) {
			log_debug("migration in#%u: return path not followed past byte %llu: %s", m->id,
				  (unsigned long long)c->rp.offset, c->rp.reason);
		} else if (c->rp.status != 0) {
			snprintf(why, len, "destination QEMU refused the stream (SHUT %u)", c->rp.status);
			return 1;
		} else if (!eof_released(m)) {
			log_warnx("migration in#%u (%s): destination sent SHUT 0 before the EOF was released", m->id,
				  m->route);
		} else {
			snprintf(ev, sizeof(ev), "SHUT 0 on the return path after %llu messages",
				 (unsigned long long)c->rp.messages);
			mig_accepted(m, ev, 1);
		}
		return 0;
	}
	if (m->accepted)
		return 0;
	if (c->rp.state != LH_RP_LOST && (c->saw_orp || c->rp.offset)) {
		snprintf(why, len, "destination QEMU closed main %s without SHUT 0",
			 eof_released(m) ? "after the EOF was released" : "before the end of the stream");
		return 1;
	}
	if (!eof_released(m) || c->out.len || c->held.len) {
		snprintf(why, len, "destination QEMU closed main before reading the end of the stream");
		return 1;
	}
	mig_accepted(m, c->saw_orp ? "return path not followed; destination QEMU closed main cleanly after the EOF"
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

void dst_chan_io(struct chan *c, int revents)
{
	struct mig *m = c->m;
	struct gw *gw = m->gw;
	char why[200];

	if (m->state == MS_FAILED || c->fd < 0)
		return;
	if (c->state == CS_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			snprintf(why, sizeof(why), "channel %u (%s): connect to destination %s: %s", c->idx,
				 lh_channel_name(c->kind), m->dest, strerror(err ? err : errno));
			mig_fail(m, MFR_CONNECT, why, 1);
			return;
		}
		chan_set_state(c, CS_OPEN, "connected to the destination");
		m->connecting = 0;
		log_debug("migration in#%u: channel %u (%s) connected to %s", m->id, c->idx,
			  lh_channel_name(c->kind), m->dest);
		connect_next(m);
		if (m->state == MS_FAILED)
			return;
		revents |= EV_WRITE;
	}
	if (revents & EV_WRITE) {
		uint64_t before = c->fwd_bytes;
		if (chan_flush_out(c) < 0)
			return;
		if (c->fwd_bytes != before)
			send_credit(c, 0);
	}
	if (revents & EV_READ) {
		uint8_t buf[DST_RP_READ], hdr[16];
		/* return path: relay at once, message by message, ahead of bulk */
		c->blocked = 0;
		for (int i = 0; i < 16 && !c->rev_eof; i++) {
			if (!wan_urgent_room(gw)) {
				c->blocked = 1; /* dst_tick resumes once the peer acknowledged */
				break;
			}
			ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0) {
				snprintf(why, sizeof(why), "channel %u: destination QEMU: %s", c->idx, strerror(errno));
				mig_fail(m, MFR_HYPERVISOR_IO, why, 1);
				return;
			}
			c->rev_eof = n == 0;
			c->rev_bytes += (size_t)n;
			if (n > 0 && c->kind == LH_CHAN_MAIN && !m->rq_since && has_open_preempt(m))
				m->rq_since = ev_time(); /* in postcopy: page requests (and PONGs) */
			int refused = c->kind == LH_CHAN_MAIN && rp_watch(c, buf, (size_t)n, why, sizeof(why));
			if (refused)
				mig_record_outcome(m, OUTCOME_REFUSED, why); /* durable before the SHUT is relayed */
			/* relayed even when refused: the source QEMU learns the failure from this SHUT */
			mig_send(m, WAN_RETURN_DATA, hdr, wan_enc_rdata_hdr(hdr, m->id, c->idx, (uint8_t)c->rev_eof),
				 buf, (size_t)n);
			if (refused) {
				mig_fail(m, MFR_DEST_REFUSED, why, 1);
				return;
			}
			if (c->rev_eof)
				log_debug("migration in#%u: channel %u: destination closed", m->id, c->idx);
		}
	}
	maybe_shutdown(c);
	if (c->fd >= 0)
		chan_update_io(c);
}

/* Channels are numbered by the source in accept order; they open here in classification order. */
static struct chan *chan_by_idx(struct mig *m, unsigned idx)
{
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->idx == idx)
			return m->ch[i];
	return NULL;
}

static void dst_new_chan(struct gw *gw, const struct wan_chan_open *co)
{
	struct mig *m = mig_find(gw, MIG_IN, co->mig);
	struct cdata_pend *pend = (co->segment & WAN_SEG_PRIO) ? prio_pend_take(gw, co->mig, co->chan) : NULL;
	struct chan *c;

	if (!m || m->state == MS_FAILED) {
		prio_pend_apply(pend, NULL, NULL);
		return;
	}
	if (co->segment & WAN_SEG_PRIO) {
		if ((co->segment & ~WAN_SEG_PRIO) || chan_by_idx(m, co->chan) || !(c = chan_new(m, -1)) ||
		    !(c->prio_hash = prio_hash_new())) {
			prio_pend_apply(pend, NULL, NULL);
			mig_fail(m, MFR_PROTOCOL, "protocol: priority-lane CHANNEL_OPEN not for segment 0 of a new channel, "
				 "or too many channels", 1);
			return;
		}
		c->prio = 1;
		c->idx = co->chan;
		c->kind = co->kind <= LH_CHAN_OPAQUE ? (lh_channel_kind)co->kind : LH_CHAN_OPAQUE;
		c->mf_id = co->mf_id;
		chan_set_state(c, CS_WAIT, "opened by the source gateway");
		c->credit_sent = WAN_WINDOW_KIB_BYTES;
		log_info("migration in#%u: channel %u is %s (priority lane%s)", m->id, c->idx, lh_channel_name(c->kind),
			 pend ? ", bytes arrived ahead of it" : "");
		connect_next(m);
		prio_pend_apply(pend, m, c); /* what overtook the CHANNEL_OPEN, in its order */
		return;
	}
	if (co->segment) {
		if (!(c = chan_by_idx(m, co->chan)))
			return;
		c->stream_id = co->stream_id;
		c->segment = co->segment;
		if ((co->segment & WAN_SEG_UNGATED) && c->kind == LH_CHAN_MAIN)
			m->ungated = 1;
		if (co->segment & WAN_SEG_UNGATED)
			log_warnx("migration in#%u (%s): the source gateway could not parse the main channel; it arrives as "
				  "plain bytes WITHOUT the integrity gate", m->id, m->route);
		return;
	}
	if (chan_by_idx(m, co->chan) || !(c = chan_new(m, -1))) {
		mig_fail(m, MFR_PROTOCOL, "protocol: CHANNEL_OPEN for an open channel, or too many channels", 1);
		return;
	}
	c->idx = co->chan;
	c->kind = co->kind <= LH_CHAN_OPAQUE ? (lh_channel_kind)co->kind : LH_CHAN_OPAQUE;
	c->mf_id = co->mf_id;
	c->stream_id = c->stream0 = co->stream_id;
	chan_set_state(c, CS_WAIT, "opened by the source gateway");
	c->credit_sent = WAN_WINDOW_KIB_BYTES;
	if (c->kind == LH_CHAN_MAIN && (c->rxparser = lh_parser_create()))
		lh_parser_set_param(c->rxparser, LH_P_CHANNEL, LH_CHAN_MAIN);
	log_info("migration in#%u: channel %u is %s%s", m->id, c->idx, lh_channel_name(c->kind),
		 c->kind == LH_CHAN_MULTIFD ? " (multifd)" : "");
	connect_next(m);
}

/* " before QEMU_VM_EOF" when main's end never arrived: the reason says the source did not finish. */
static const char *abort_when(const struct mig *m)
{
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->kind == LH_CHAN_MAIN && !m->ch[i]->eof_held && !m->ungated)
			return " before QEMU_VM_EOF";
	return "";
}

void dst_rx_msg(struct gw *gw, const struct wan_msg *wm)
{
	struct mig *m;
	char why[200];
	switch (wm->type) {
	case WAN_MIGRATION_OPEN:
		if (mig_find(gw, MIG_IN, wm->u.mopen.mig))
			return;
		if (gw->draining) {
			uint8_t p[300];
			size_t n = wan_enc_result(p, wm->u.mopen.mig, 0, "peer is draining", 0, MFR_DRAINING);
			wan_send(gw, WAN_MIGRATION_RESULT, p, n, NULL, 0); /* no migration object: this session's */
			return;
		}
		if ((m = mig_new(gw, MIG_IN, wm->u.mopen.mig, wm->u.mopen.route, wm->u.mopen.dest))) {
			m->vni = wm->u.mopen.vni;
			m->guest = wm->u.mopen.guest;
		}
		break;
	case WAN_CHANNEL_OPEN:
		dst_new_chan(gw, &wm->u.copen);
		break;
	case WAN_CHANNEL_CLOSE:
		m = mig_find(gw, MIG_IN, wm->u.cclose.mig);
		if (!m || m->state == MS_FAILED)
			return;
		if (wm->u.cclose.how) {
			snprintf(why, sizeof(why), "source side aborted the migration%s", abort_when(m));
			mig_fail(m, MFR_SOURCE_ABORT, why, 1);
			return;
		}
		struct chan *c = chan_by_idx(m, wm->u.cclose.chan);
		if (!c)
			return;
		if (c->kind == LH_CHAN_MAIN && !c->eof_held && !m->ungated) {
			/* an older source gateway takes a close at a section boundary for a clean end */
			mig_fail(m, MFR_SOURCE_ABORT, "source closed main before QEMU_VM_EOF", 1);
			return;
		}
		c->fwd_eof = 1;
		if (c->state == CS_OPEN)
			dst_chan_io(c, EV_WRITE);
		break;
	case WAN_CHANNEL_DATA: {
		const struct wan_cdata *d = &wm->u.cdata;
		m = mig_find(gw, MIG_IN, d->mig);
		if (m && (m->state == MS_FAILED || m->state == MS_DONE))
			return;
		struct chan *pc = m ? chan_by_idx(m, d->chan) : NULL;
		if (!pc)
			prio_pend_add(gw, d);
		else
			prio_rx(m, pc, d);
		break;
	}
	}
}

struct rxp_ctx {
	struct chan *c;
	int eof;
};

static int rxparser_cb(void *opaque, const lh_event *ev)
{
	struct rxp_ctx *x = opaque;
	struct chan *c = x->c;
	if (ev->type == LH_EV_COMMAND && ev->u.command.cmd == LH_CMD_OPEN_RETURN_PATH)
		c->saw_orp = 1;
	if (ev->type == LH_EV_SECTION_HEADER && !c->checked_orp) {
		c->checked_orp = 1;
		if (!c->saw_orp)
			log_warnx("migration in#%u (%s): no OPEN_RETURN_PATH on the main channel: QEMU's return-path "
				  "capability is off, so the source cannot learn of a failed verification; turn it on",
				  c->m->id, c->m->route);
	}
	if (ev->type == LH_EV_EOF)
		x->eof = 1;
	return 0;
}

void dst_gate_check(struct mig *m)
{
	struct chan *mc = NULL;
	uint64_t held;
	for (unsigned i = 0; i < m->nch; i++) {
		if (!m->ch[i]->seg0_ok)
			return;
		if (m->ch[i]->kind == LH_CHAN_MAIN)
			mc = m->ch[i];
	}
	/* main's segment 1 must have begun with the EOF byte: segment 0's END alone is no end of stream */
	if (!mc || mc->segment == 0 || (mc->segment & WAN_SEG_UNGATED) || !mc->eof_held || m->gate_open)
		return;
	m->gate_open = 1;
	held = mc->held.len;
	if (held && bbuf_add(&mc->out, mc->held.p + mc->held.off, mc->held.len) < 0) {
		mig_fail(m, MFR_GATEWAY, "out of memory releasing the gate", 1);
		return;
	}
	bbuf_free(&mc->held);
	log_info("migration in#%u (%s): integrity gate: %u channels verified (length + XXH3-128), releasing EOF "
		 "(%llu bytes held)", m->id, m->route, m->nch, (unsigned long long)held);
	mig_set_state(m, MS_RELEASED, "all channels verified");
	if (m->rq_n)
		log_info("migration in#%u (%s): postcopy page requests: %u answered on the preempt channel, round trip "
			 "(return-path read -> first preempt bytes) mean %.1f ms, max %.1f ms", m->id, m->route, m->rq_n,
			 m->rq_sum * 1e3 / m->rq_n, m->rq_max * 1e3);
	dst_chan_io(mc, EV_WRITE);
}

/* Stream bytes for the destination QEMU: written at once when nothing is queued, else queued. 0, or -1 failed. */
int dst_deliver(struct chan *c, const uint8_t *data, size_t n)
{
	struct mig *m = c->m;
	struct gw *gw = m->gw;

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
			mig_fail(m, MFR_GATEWAY, "out of memory queueing decoded bytes", 1);
			return -1;
		}
		if (done)
			send_credit(c, 0);
	} else if (bbuf_add(&c->out, data, n) < 0) {
		mig_fail(m, MFR_GATEWAY, "out of memory queueing decoded bytes", 1);
		return -1;
	}
	m->raw_bytes += n;
	if (c->state == CS_OPEN)
		dst_chan_io(c, EV_WRITE);
	return 0;
}

void mig_rx_frame(struct gw *gw, const lh_wan_frame_info *info, const uint8_t *data, size_t n, size_t frame_len)
{
	struct mig *m = NULL;
	unsigned seg = 0;
	struct chan *c = chan_by_stream(gw, info->stream_id, &m, &seg);
	char why[200];

	if (!c || m->state == MS_FAILED)
		return; /* a stream of a migration that already failed */
	m->wan_bytes += frame_len + WAN_HDR_LEN;
	switch (info->type) {
	case LH_WAN_FRAME_DATA:
		if (c->kind == LH_CHAN_MAIN && seg == 0 && c->rxparser) {
			struct rxp_ctx x = { .c = c };
			if (lh_parser_feed(c->rxparser, data, n, rxparser_cb, &x) < 0) {
				log_debug("migration in#%u: receiver parser gave up: %s", m->id,
					  lh_parser_error(c->rxparser)->detail);
				lh_parser_free(c->rxparser);
				c->rxparser = NULL;
			} else if (x.eof) {
				mig_fail(m, MFR_INTEGRITY,
					 "integrity gate: EOF inside main's verified segment (sender did not cut)", 1);
				return;
			}
		}
		if (c->kind == LH_CHAN_MAIN && seg > 0 && !(seg & WAN_SEG_UNGATED) && !m->gate_open) {
			if (n && !c->eof_held && data[0] != QEMU_VM_EOF) {
				snprintf(why, sizeof(why), "integrity gate: main's segment %u begins with 0x%02x, not "
					 "QEMU_VM_EOF", seg, data[0]);
				mig_fail(m, MFR_INTEGRITY, why, 1);
				return;
			}
			if (bbuf_add(&c->held, data, n) < 0) {
				mig_fail(m, MFR_GATEWAY, "out of memory holding the stream end", 1);
				return;
			}
			m->raw_bytes += n;
			if (n && !c->eof_held) {
				c->eof_held = 1;
				dst_gate_check(m); /* segment 0's ENDs may all be in: the EOF was the last piece */
			}
		} else if (dst_deliver(c, data, n) < 0) {
			return;
		}
		break;
	case LH_WAN_FRAME_END:
		if (seg == 0 && !c->seg0_ok) {
			c->seg0_ok = 1;
			log_debug("migration in#%u: channel %u segment 0 verified (%llu bytes)", m->id, c->idx,
				  (unsigned long long)info->stream_bytes);
		}
		dst_gate_check(m);
		break;
	case LH_WAN_FRAME_ABORT:
		snprintf(why, sizeof(why), "channel %u: source aborted its stream%s", c->idx, abort_when(m));
		mig_fail(m, MFR_SOURCE_ABORT, why, 1);
		break;
	default:
		break;
	}
}

void mig_resend_credits(struct gw *gw)
{
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->dir == MIG_IN && m->state != MS_FAILED && m->state != MS_DONE)
			for (unsigned i = 0; i < m->nch; i++)
				if (m->ch[i]->state != CS_CLOSED)
					send_credit(m->ch[i], 1);
}

void dst_tick(struct mig *m)
{
	if (m->state == MS_FAILED || m->state == MS_DONE)
		return;
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->state == CS_OPEN) {
			send_credit(m->ch[i], 0);
			if (m->ch[i]->blocked && wan_urgent_room(m->gw))
				dst_chan_io(m->ch[i], EV_READ);
			if (m->state == MS_FAILED)
				return;
		}
}
