/* SPDX-License-Identifier: MIT */
/* Source gateway LAN side: QEMU connections -> classification -> codec streams, credit, return path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/mig/l2.h"
#include "gateway/base/log.h"
#include "gateway/mig/mig_internal.h"
#include "gateway/mig/src_hold.h"
#include "gateway/mig/route.h"
#include "gateway/wan/wan_session.h"

#define SRC_READ_BUDGET (2u << 20) /* bytes per channel per callback: fairness between channels */
#define SRC_RP_MAX (64u << 20)     /* return-path bytes queued towards one source QEMU */
#define SRC_SILENT_S 0.2           /* a channel silent this long after main exists is postcopy preempt */

static uint32_t next_stream_id(struct gw *gw)
{
	if (++gw->next_stream == 0)
		gw->next_stream = 1;
	return gw->next_stream;
}

void src_mig_tag(const struct mig *m, char *buf, size_t len)
{
	snprintf(buf, len, "migration out#%u (%s)", m->id, m->route);
}

void mig_src_accept(struct gw *gw, struct route *r, int fd, const char *peer)
{
	struct mig *m = r->cur;
	struct chan *c;
	char dest[300];

	if (!wan_ready(gw) || gw->draining) {
		log_warnx("route %s: refusing QEMU connection from %s: %s", r->cfg.name, peer,
			  gw->draining ? "draining" : "WAN session is down");
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		return;
	}
	if (!m || m->state != MS_OPEN) {
		m = mig_new(gw, MIG_OUT, ++gw->next_mig, r->cfg.name, lh_endpoint_fmt(&r->cfg.to, dest, sizeof(dest)));
		if (!m) {
			close(fd);
			return;
		}
		m->r = r;
		r->cur = m;
		r->migrations++;
	}
	if (!(c = chan_new(m, fd))) {
		log_warnx("%s: too many channels, refusing %s", m->route, peer);
		close(fd);
		return;
	}
	chan_set_state(c, CS_CLASSIFY, "accepted");
	c->t_accept = ev_now(gw->loop);
	c->rbuf = malloc(SRC_RBUF);
	c->credit_limit = wan_peer_window(gw);
	if (!c->rbuf) {
		mig_fail(m, MFR_GATEWAY, "out of memory", 1);
		return;
	}
	log_debug("migration out#%u: channel %u from %s", m->id, c->idx, peer);
	chan_update_io(c);
}

/* Event callback of main's parser: everything before EOF goes into segment 0 as events. */
struct feed_ctx {
	struct chan *c;
	int err;
};


int src_enc_feed_all(struct gw *gw, uint32_t sid, const uint8_t *p, size_t n)
{
	lh_wan_enc *e = cpipe_encoder(gw);
	while (n) {
		long r = lh_wan_enc_feed(e, sid, p, n);
		if (r < 0)
			return (int)r;
		p += r;
		n -= (size_t)r;
		if (n)
			cpipe_drain(gw); /* rare: only at the cut or a burst after it */
	}
	return 0;
}

static int main_event_cb(void *opaque, const lh_event *ev)
{
	struct feed_ctx *fx = opaque;
	struct chan *c = fx->c;
	struct gw *gw = c->m->gw;
	int r;

	struct mig *m = c->m;

	if (!c->segment) {
		/* multifd sync points: each FLUSH (8.1+ modern), else each RAM EOS (legacy), is one SYNC per channel */
		if (ev->type == LH_EV_RAM_MULTIFD_FLUSH)
			m->mf_flush++;
		else if (ev->type == LH_EV_RAM_EOS)
			m->ram_eos++;
	}
	if (!c->segment && !m->cut_wait && ev->type == LH_EV_EOF) {
		if (src_cut_ready(m)) {
			src_cut_at_eof(c);
		} else {
			m->cut_wait = 1;
			m->cut_wait_since = ev_now(gw->loop);
			log_info("migration out#%u (%s): main channel at EOF; the cut waits for the multifd channels' "
				 "SYNC packets (%u each)", m->id, m->route, m->mf_flush ? m->mf_flush : m->ram_eos);
		}
	}
	if (!gw->sess || m->state == MS_FAILED)
		return 1;
	if (m->cut_wait) {
		/* the EOF and what follows wait here until every channel's segment 0 is complete */
		if (m->cut_late.len + ev->raw_len > CUT_LATE_MAX || bbuf_add(&m->cut_late, ev->raw, ev->raw_len) < 0) {
			fx->err = -LH_E_NOMEM;
			return 1;
		}
		c->covered += ev->raw_len;
		return 0;
	}
	if (c->segment)
		r = src_enc_feed_all(gw, c->stream_id, ev->raw, ev->raw_len);
	else
		r = lh_wan_enc_event(cpipe_encoder(gw), c->stream_id, ev);
	if (r < 0) {
		fx->err = r;
		return 1;
	}
	c->covered += ev->raw_len;
	return 0;
}

int src_open_segment(struct chan *c, uint16_t seg, lh_channel_kind kind)
{
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
	if ((r = lh_wan_enc_open(cpipe_encoder(gw), co.stream_id, c->m->id, kind, label)) < 0)
		return r;
	c->stream_id = co.stream_id;
	c->segment = seg;
	c->seg_ended = 0;
	return 0;
}

void src_add_stats(struct mig *m, const lh_wan_stats *st)
{
	m->wan_bytes += st->bytes_out;
	m->raw_bytes += st->bytes_in;
}

/* Feeds n bytes of a non-main channel (or main after a parser-less fallback). Returns bytes taken. */
long src_feed_plain(struct chan *c, const uint8_t *p, size_t n)
{
	struct gw *gw = c->m->gw;
	if (c->prio)
		return prio_send(c, p, n);
	if (c->seg_ended && src_open_segment(c, (uint16_t)(c->segment + 1), LH_CHAN_OPAQUE) < 0)
		return -LH_E_NOMEM;
	long took = lh_wan_enc_feed(cpipe_encoder(gw), c->stream_id, p, n);
	if (took > 0 && c->mfparser && !c->segment)
		src_mf_follow(c, p, (size_t)took);
	return took;
}

/* Bytes of this channel may go on now: the encoder has room (bulk), or the urgent space has (priority lane). */
static int can_feed(struct chan *c)
{
	return c->prio ? wan_urgent_room(c->m->gw) : cpipe_can_feed(c->m->gw);
}

/*
 * Classifies a channel by its first bytes (qemu-migration-format.md 4.1).
 * force: the channel stayed silent; QEMU's postcopy-preempt channel sends
 * nothing until the first urgent page, yet the destination must see it
 * connected before that, so a silent channel that joins a migration with a
 * main channel is the preempt channel.
 */
static int classify(struct chan *c, int force)
{
	struct mig *m = c->m;
	struct gw *gw = m->gw;
	const uint8_t *b = c->rbuf;
	uint8_t mop[WAN_MOPEN_MAX];

	if (c->rlen < 4 && !c->fwd_eof && !force)
		return 0;
	if (c->rlen >= 4 && !memcmp(b, "QEVM", 4)) {
		c->kind = LH_CHAN_MAIN;
		for (unsigned i = 0; i < m->nch; i++)
			if (m->ch[i] != c && m->ch[i]->kind == LH_CHAN_MAIN) {
				mig_fail(m, MFR_PROTOCOL, "a second main channel arrived on the route", 1);
				return -1;
			}
	} else if (c->rlen >= 4 && b[0] == 0x11 && b[1] == 0x22 && b[2] == 0x33 && b[3] == 0x44) {
		if (c->rlen < 25 && !c->fwd_eof)
			return 0; /* QEMU writes the 64-byte init packet whole */
		c->kind = LH_CHAN_MULTIFD;
		c->mf_id = c->rlen >= 25 ? b[24] : 0xff;
	} else {
		int has_main = 0;
		for (unsigned i = 0; i < m->nch; i++)
			has_main |= m->ch[i]->kind == LH_CHAN_MAIN;
		c->kind = has_main ? LH_CHAN_PREEMPT : LH_CHAN_OPAQUE;
		c->prio = c->kind == LH_CHAN_PREEMPT && !gw->test_no_prio;
	}
	if (!m->opened) {
		/* MIGRATION_OPEN once per migration, before its first CHANNEL_OPEN */
		struct wan_mopen mo = { .mig = m->id };
		snprintf(mo.route, sizeof(mo.route), "%s", m->route);
		snprintf(mo.dest, sizeof(mo.dest), "%s", m->dest);
		if (m->r)
			gw_l2_identity(gw, &m->r->cfg, &m->vni, &m->guest);
		mo.vni = m->vni;
		mo.guest = m->guest;
		if (mig_send(m, WAN_MIGRATION_OPEN, mop, wan_enc_mopen(mop, &mo), NULL, 0) < 0)
			goto fail;
		m->opened = 1;
	}
	if (src_open_segment(c, 0, c->kind) < 0)
		goto fail;
	if (c->kind == LH_CHAN_MAIN) {
		c->parser = lh_parser_create();
		if (!c->parser)
			goto fail;
		lh_parser_set_param(c->parser, LH_P_CHANNEL, LH_CHAN_MAIN);
	} else if (c->kind == LH_CHAN_MULTIFD) {
		if (!(c->mfparser = lh_parser_create()))
			goto fail;
		lh_parser_set_param(c->mfparser, LH_P_CHANNEL, LH_CHAN_MULTIFD);
	}
	chan_set_state(c, CS_OPEN, "classified");
	if (c->kind == LH_CHAN_MULTIFD)
		log_info("migration out#%u: channel %u is multifd channel %u", m->id, c->idx, c->mf_id);
	else
		log_info("migration out#%u: channel %u is %s%s", m->id, c->idx, lh_channel_name(c->kind),
			 c->prio ? " (priority lane)" : "");
	return 1;
fail:
	mig_fail(m, MFR_GATEWAY, "cannot open the channel's codec stream", 1);
	return -1;
}

/*
 * Main's parser gave up (a stream it cannot follow): the bytes it already
 * handed on stay in their segment, which ends here; the rest of the channel
 * travels as plain bytes in a new segment. Before the EOF cut that segment is
 * marked ungated: nobody can find the EOF in it, so holding it back would
 * stall the migration. The migration then runs without an integrity gate.
 */
static int parser_fallback(struct chan *c, int err)
{
	struct mig *m = c->m;
	struct gw *gw = m->gw;
	const lh_parse_error *pe = lh_parser_error(c->parser);
	uint16_t seg = (uint16_t)((c->segment & ~WAN_SEG_UNGATED) + 1);
	lh_wan_stats st;

	log_warnx("migration out#%u (%s): main channel: parser gave up at offset %llu (%s: %s); the rest travels as "
		  "plain bytes%s", m->id, m->route, (unsigned long long)pe->offset, lh_err_name(err), pe->detail,
		  c->segment ? "" : ", WITHOUT the integrity gate");
	if (lh_wan_enc_end(cpipe_encoder(gw), c->stream_id, &st) == 0)
		src_add_stats(m, &st);
	if (!c->segment)
		seg |= WAN_SEG_UNGATED;
	if (src_open_segment(c, seg, LH_CHAN_OPAQUE) < 0 ||
	    src_enc_feed_all(gw, c->stream_id, c->pend.p + c->pend.off, c->pend.len) < 0) {
		mig_fail(m, MFR_GATEWAY, "cannot continue the main channel as plain bytes", 1);
		return -1;
	}
	c->covered += c->pend.len;
	bbuf_free(&c->pend);
	lh_parser_free(c->parser);
	c->parser = NULL;
	return 0;
}

/* Pushes buffered bytes into the encoder within the channel's credit. 0, or -1 when failed. */
static int push(struct chan *c)
{
	struct mig *m = c->m;
	struct gw *gw = m->gw;
	size_t avail = c->credit_limit > c->fwd_bytes ? (size_t)(c->credit_limit - c->fwd_bytes) : 0;
	size_t n = c->rlen < avail ? c->rlen : avail;
	long took;
	char why[240];

	if (!n)
		return 0;
	if (c->parser) {
		struct feed_ctx fx = { .c = c };
		uint64_t before = c->covered, old_fed = c->fed;
		int r = lh_parser_feed(c->parser, c->rbuf, n, main_event_cb, &fx);
		if (m->state == MS_FAILED || !gw->sess)
			return -1;
		c->fed += n;
		/* keep the bytes the parser holds but has not handed on: [covered, fed) */
		int kept;
		if (c->covered >= old_fed) {
			bbuf_eat(&c->pend, c->pend.len);
			kept = bbuf_add(&c->pend, c->rbuf + (c->covered - old_fed), (size_t)(c->fed - c->covered));
		} else {
			bbuf_eat(&c->pend, (size_t)(c->covered - before));
			kept = bbuf_add(&c->pend, c->rbuf, n);
		}
		if (kept < 0) {
			mig_fail(m, MFR_GATEWAY, "out of memory keeping the parser's look-ahead", 1);
			return -1;
		}
		if (r < 0 && fx.err >= 0) {
			if (parser_fallback(c, r) < 0)
				return -1;
			r = 0;
		}
		if (r < 0 || fx.err < 0) {
			const lh_parse_error *pe = lh_parser_error(c->parser);
			snprintf(why, sizeof(why), "main channel: %s at offset %llu: %s",
				 lh_err_name(fx.err < 0 ? fx.err : r), (unsigned long long)pe->offset, pe->detail);
			mig_fail(m, MFR_GATEWAY, why, 1);
			return -1;
		}
		took = (long)n;
	} else {
		took = src_feed_plain(c, c->rbuf, n);
		if (took < 0) {
			snprintf(why, sizeof(why), "channel %u: encoder: %s", c->idx, lh_err_name((int)took));
			mig_fail(m, MFR_GATEWAY, why, 1);
			return -1;
		}
	}
	memmove(c->rbuf, c->rbuf + took, c->rlen - (size_t)took);
	c->rlen -= (size_t)took;
	c->fwd_bytes += (size_t)took;
	return 0;
}

/*
 * QEMU closed its side (or failed): end the channel's stream. Main closed before
 * its QEMU_VM_EOF is an abort (source cancelled or died), even at a section
 * boundary: the destination must never see an end of stream, and nobody cuts
 * over.
 */
static void fwd_end(struct chan *c, int err)
{
	struct mig *m = c->m;
	char why[160];

	if (err) {
		snprintf(why, sizeof(why), "channel %u: read from QEMU: %s", c->idx, strerror(err));
		mig_fail(m, MFR_SOURCE_ABORT, why, 1);
		return;
	}
	c->fwd_eof = 1;
	if (c->parser && lh_parser_finish(c->parser, main_event_cb, &(struct feed_ctx){ .c = c }) < 0 &&
	    !c->segment) {
		mig_fail(m, MFR_SOURCE_ABORT, "source closed main inside an item, before QEMU_VM_EOF (truncated stream)",
			 1);
		return;
	}
	if (c->parser && !lh_parser_saw_eof(c->parser)) {
		mig_fail(m, MFR_SOURCE_ABORT, "source closed main before QEMU_VM_EOF", 1);
		return;
	}
	if (m->state == MS_FAILED)
		return;
	if (m->cut_wait) {
		if (c->kind == LH_CHAN_MAIN)
			return; /* ends when the cut is made (src_cut_release) */
		if (src_cut_ready(m))
			src_cut_release(m, "a multifd channel closed");
		if (m->state == MS_FAILED)
			return;
	}
	src_fwd_finish(c);
}

/* After QEMU closed the channel and its last bytes were encoded: end the segment, tell the peer. */
void src_fwd_finish(struct chan *c)
{
	struct mig *m = c->m;
	struct gw *gw = m->gw;
	uint8_t p[16];
	lh_wan_stats st;

	if (c->prio) {
		/* the close travels in the lane too, after the last bytes (CHANNEL_CLOSE is bulk-ordered) */
		uint8_t h[WAN_CDATA_FIXED];
		if (prio_end(c) < 0 || mig_send(m, WAN_CHANNEL_DATA, h,
						 wan_enc_cdata_hdr(h, m->id, c->idx, c->segment, WAN_CDATA_FIN),
						 NULL, 0) < 0) {
			mig_fail(m, MFR_GATEWAY, "cannot end the priority lane", 1);
			return;
		}
	} else {
		if (!c->seg_ended && c->stream_id && lh_wan_enc_end(cpipe_encoder(gw), c->stream_id, &st) == 0)
			src_add_stats(m, &st);
		c->seg_ended = 1;
		mig_send(m, WAN_CHANNEL_CLOSE, p, wan_enc_cclose(p, m->id, c->idx, 0), NULL, 0);
	}
	log_debug("migration out#%u: channel %u: QEMU closed after %llu bytes", m->id, c->idx,
		  (unsigned long long)c->fwd_bytes);
	if (c->rev_eof) {
		chan_close_fd(c, 0);
		mig_check_done(m);
	}
}

void src_chan_io(struct chan *c, int revents)
{
	struct mig *m = c->m;
	struct gw *gw = m->gw;
	size_t budget = SRC_READ_BUDGET, got = 0;

	if (m->state == MS_FAILED || m->state == MS_DONE || c->fd < 0)
		return;
	if (revents & EV_WRITE) {
		if (chan_flush_out(c) < 0)
			return;
		if (!c->out.len && c->rev_eof && !c->shut_wr) {
			shutdown(c->fd, SHUT_WR);
			c->shut_wr = 1;
			if (c->fwd_eof) {
				chan_close_fd(c, 0);
				mig_check_done(m);
				return;
			}
		}
	}
	c->blocked = 0;
	while (!c->fwd_eof && budget) {
		if (c->state == CS_OPEN && c->rlen) {
			if (!can_feed(c) || c->credit_limit <= c->fwd_bytes) {
				c->blocked = 1;
				break;
			}
			if (push(c) < 0)
				return;
			if (c->rlen) {
				c->blocked = 1;
				break;
			}
		}
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, SRC_RBUF - c->rlen, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			fwd_end(c, errno);
			return;
		}
		if (n == 0) {
			if (c->state == CS_CLASSIFY && classify(c, 0) < 0)
				return;
			while (c->rlen && c->state == CS_OPEN) {
				/* flush what is left within credit; the rest waits for CREDIT */
				size_t before = c->rlen;
				if (push(c) < 0)
					return;
				if (c->rlen == before) {
					c->blocked = 1;
					chan_update_io(c);
					return; /* fwd_end once the credit arrives */
				}
			}
			fwd_end(c, 0);
			break;
		}
		if (c->kind == LH_CHAN_PREEMPT && m->rq_since > 0) {
			/* the source QEMU's answer to the last return-path bytes we handed it */
			double dt = ev_time() - m->rq_since;
			m->rq_n++;
			m->rq_sum += dt;
			m->rq_max = dt > m->rq_max ? dt : m->rq_max;
			m->rq_since = 0;
		}
		got += (size_t)n;
		c->rlen += (size_t)n;
		m->lan_bytes += (size_t)n;
		gw->st.lan_rx_bytes += (size_t)n;
		budget = budget > (size_t)n ? budget - (size_t)n : 0;
		if (c->state == CS_CLASSIFY) {
			int r = classify(c, 0);
			if (r < 0)
				return;
		}
	}
	if (m->state == MS_FAILED)
		return;
	if (c->state == CS_OPEN && c->rlen && !c->blocked && can_feed(c))
		push(c);
	if (m->state == MS_FAILED)
		return;
	if (m->cut_wait && c->kind == LH_CHAN_MULTIFD && src_cut_ready(m)) {
		src_cut_release(m, "every multifd channel delivered its SYNC packets");
		if (m->state == MS_FAILED)
			return;
	}
	if (got && got < 16384 && gw->sess)
		lh_wan_enc_flush(cpipe_encoder(gw)); /* light traffic (commands, return-path replies): no batching delay */
	cpipe_pump(gw);
	/* budget spent: the socket stays readable (level-triggered), other channels run first */
	chan_update_io(c);
}

/*
 * The destination QEMU's return path, as relayed to the source QEMU: its SHUT
 * with a failure status means it refused the stream, whatever the peer gateway
 * reports (an older one says ok on any clean close). The bytes are queued
 * already: the failure hands them to QEMU before closing (mig_fail). 1 when
 * the migration failed.
 */
static int src_rp_refused(struct chan *c, const uint8_t *p, size_t n)
{
	char why[120];

	if (c->rp.state != LH_RP_SCANNING || lh_rp_feed(&c->rp, p, n) != LH_RP_SHUT_SEEN || c->rp.status == 0)
		return 0;
	snprintf(why, sizeof(why), "destination QEMU refused the stream (SHUT %u)", c->rp.status);
	mig_fail(c->m, MFR_DEST_REFUSED, why, 1);
	return 1;
}

/* The destination gateway's verdict: done (confirmed or not; the cutover follows once every channel closed) or
 * failed, with its reason code when the peer sends one. */
static void src_result(struct mig *m, const struct wan_result *r)
{
	char why[300];

	m->result_seen = 1;
	if (!r->ok) {
		enum mig_fail_reason code = r->code > MFR_NONE && r->code < MFR__COUNT ? (enum mig_fail_reason)r->code
										   : MFR_PEER_RESET;
		snprintf(why, sizeof(why), "destination side failed: %s", r->reason);
		mig_fail(m, code, why, 0);
		return;
	}
	m->confirmed = !!(r->flags & WAN_RESULT_CONFIRMED);
	snprintf(m->evidence, sizeof(m->evidence), "%s", r->reason);
	log_info("migration out#%u (%s): destination reports success, %s: %s", m->id, m->route,
		 m->confirmed ? "confirmed" : "UNCONFIRMED", r->reason);
	mig_check_done(m);
}

void src_rx_msg(struct gw *gw, const struct wan_msg *wm)
{
	uint32_t mig = wm->u.credit.mig; /* every payload starts with the migration id */
	struct mig *m = mig_find(gw, MIG_OUT, mig);
	struct chan *c = NULL;

	if (!m || m->state == MS_FAILED)
		return;
	switch (wm->type) {
	case WAN_CREDIT:
		if (wm->u.credit.chan < m->nch) {
			c = m->ch[wm->u.credit.chan];
			if (wm->u.credit.limit > c->credit_limit)
				c->credit_limit = wm->u.credit.limit;
			if (c->blocked)
				src_chan_io(c, 0);
		}
		break;
	case WAN_RETURN_DATA:
		if (wm->u.rdata.chan >= m->nch)
			return;
		c = m->ch[wm->u.rdata.chan];
		if (c->fd < 0)
			return;
		if (c->out.len > SRC_RP_MAX) {
			/* the source QEMU does not read its return path: stop before memory does */
			mig_fail(m, MFR_HYPERVISOR_IO, "source QEMU does not read the return path (64 MiB queued)", 1);
			return;
		}
		if (wm->u.rdata.len && bbuf_add(&c->out, wm->u.rdata.data, wm->u.rdata.len) < 0) {
			mig_fail(m, MFR_GATEWAY, "out of memory queueing return-path bytes", 1);
			return;
		}
		if (wm->u.rdata.fin)
			c->rev_eof = 1;
		if (c->kind == LH_CHAN_MAIN && src_rp_refused(c, wm->u.rdata.data, wm->u.rdata.len))
			return;
		if (c->kind == LH_CHAN_MAIN)
			shold_note_rp(m);
		if (wm->u.rdata.len && c->kind == LH_CHAN_MAIN && !m->rq_since)
			for (unsigned i = 0; i < m->nch; i++)
				if (m->ch[i]->kind == LH_CHAN_PREEMPT && m->ch[i]->state == CS_OPEN)
					m->rq_since = ev_time();
		src_chan_io(c, EV_WRITE);
		break;
	case WAN_CHANNEL_RESET: {
		char why[300];
		snprintf(why, sizeof(why), "peer reset the migration: %s", wm->u.reset.reason);
		mig_fail(m, MFR_PEER_RESET, why, 0);
		break;
	}
	case WAN_MIGRATION_RESULT:
		src_result(m, &wm->u.result);
		break;
	}
}

void mig_link_rtt(struct gw *gw, double ms)
{
	if (ms < 0 || ms > 60e3)
		return; /* not our clock's nonce */
	for (struct mig *m = gw->migs; m; m = m->next)
		if (m->dir == MIG_OUT && m->state == MS_OPEN) {
			m->ping_n++;
			m->ping_sum += ms;
			m->ping_max = ms > m->ping_max ? ms : m->ping_max;
		}
}

void src_tick(struct mig *m)
{
	struct gw *gw = m->gw;
	if (m->state == MS_FAILED || m->state == MS_DONE || m->state == MS_INDOUBT || !gw->sess)
		return;
	if (m->state == MS_CUT)
		mig_test_die_at(gw, "eof-sent"); /* a tick after main's EOF went to the encoder and the WAN */
	/* an open batch waits at most one tick (10 ms); the worker's frames go out at the next
	 * pump once done (this one's, a LAN read's or a WAN write's), without stalling the loop */
	lh_wan_enc_close_batch(cpipe_encoder(gw));
	int has_main = 0;
	for (unsigned i = 0; i < m->nch; i++)
		has_main |= m->ch[i]->kind == LH_CHAN_MAIN;
	if (m->cut_wait && (src_cut_tick(m) < 0 || m->state == MS_FAILED))
		return;
	for (unsigned i = 0; i < m->nch && m->state != MS_FAILED; i++) {
		struct chan *c = m->ch[i];
		if (c->state == CS_CLASSIFY && has_main && ev_now(gw->loop) - c->t_accept > SRC_SILENT_S) {
			if (classify(c, 1) < 0)
				return;
			src_chan_io(c, 0);
		} else if (c->blocked) {
			src_chan_io(c, 0);
		}
	}
}
