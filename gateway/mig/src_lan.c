/* SPDX-License-Identifier: MIT */
/* Source role, LAN side: the source QEMU's connections -> classification -> codec segments, within credit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/base/log.h"
#include "gateway/mig/l2.h"
#include "gateway/mig/route.h"
#include "gateway/mig/src.h"
#include "gateway/pipe/codec_pipe.h"
#include "gateway/wan/wan_session.h"

#define SRC_READ_BUDGET (2u << 20) /* bytes per channel per callback: fairness between channels */

static void src_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct src_chan *sc = w->data;
	(void)loop;
	if (sc->linger)
		src_linger_io(sc);
	else
		src_chan_io(sc, revents);
	mig_settle(sc->c.m->gw);
}

struct src_chan *src_chan_adopt(struct src_mig *sm, int fd)
{
	return src_chan_new(sm, fd, src_io_cb);
}

void mig_src_accept(struct gw *gw, struct route *r, int fd, const char *peer)
{
	struct src_mig *sm = r->cur ? SM(r->cur) : NULL;
	struct src_chan *sc;
	char dest[300];

	if (!wan_ready(gw) || gw->draining) {
		log_warnx("route %s: refusing QEMU connection from %s: %s", r->cfg.name, peer,
			  gw->draining ? "draining" : "WAN session is down");
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		return;
	}
	/* channels join the migration that streams on the route (postcopy's preempt channel may come late) */
	if (!sm || (sm->state != SRC_STREAMING && sm->state != SRC_POSTCOPY)) {
		sm = src_mig_new(gw, r, lh_endpoint_fmt(&r->cfg.to, dest, sizeof(dest)));
		if (!sm) {
			close(fd);
			return;
		}
		r->cur = &sm->m;
		r->migrations++;
	}
	if (!(sc = src_chan_new(sm, fd, src_io_cb))) {
		log_warnx("%s: too many channels, refusing %s", sm->m.route, peer);
		close(fd);
		return;
	}
	chan_set_state(&sc->c, CS_CLASSIFY, "accepted");
	sc->t_accept = ev_now(gw->loop);
	sc->rbuf = malloc(SRC_RBUF);
	sc->credit_limit = wan_peer_window(gw);
	if (!sc->rbuf) {
		src_fail(sm, MFR_GATEWAY, "out of memory", 1);
		mig_settle(gw);
		return;
	}
	log_debug("migration out#%u: channel %u from %s", sm->m.id, sc->c.idx, peer);
	src_update_io(sc);
}

/* Event callback of main's parser: everything before EOF goes into segment 0 as events. */
struct feed_ctx {
	struct src_chan *sc;
	int err;                /* an encoder error */
	int stopped;            /* the migration failed (or lost its session): the parser stops */
};

static int main_event_cb(void *opaque, const lh_event *ev)
{
	struct feed_ctx *fx = opaque;
	struct src_chan *sc = fx->sc;
	struct chan *c = &sc->c;
	struct src_mig *sm = SM(c->m);
	struct mig *m = &sm->m;
	struct gw *gw = m->gw;
	int r;

	if (!gw->sess || !mig_live(m)) {
		fx->stopped = 1;
		return 1;
	}
	if (!c->segment) {
		/* multifd sync points: each FLUSH (8.1+ modern), else each RAM EOS (legacy), is one SYNC per channel */
		if (ev->type == LH_EV_RAM_MULTIFD_FLUSH)
			sm->mf_flush++;
		else if (ev->type == LH_EV_RAM_EOS)
			sm->ram_eos++;
		if (pc_watch_event(&sc->pc, ev) && sm->state == SRC_STREAMING) {
			m->postcopy = 1;
			src_transition(sm, SRC_EV_POSTCOPY_RUN, "main carried POSTCOPY_RUN: the guest runs at the "
				       "destination from now on");
		}
	}
	if (!c->segment && !sm->cut_wait && ev->type == LH_EV_EOF) {
		if (src_cut_ready(sm)) {
			if (src_cut_at_eof(sc) < 0) {
				fx->stopped = 1;
				return 1;
			}
		} else {
			sm->cut_wait = 1;
			sm->cut_wait_since = ev_now(gw->loop);
			log_info("migration out#%u (%s): main channel at EOF; the cut waits for the multifd channels' "
				 "SYNC packets (%u each)", m->id, m->route, sm->mf_flush ? sm->mf_flush : sm->ram_eos);
		}
	}
	if (sm->cut_wait) {
		/* the EOF and what follows wait here until every channel's segment 0 is complete */
		if (sm->cut_late.len + ev->raw_len > CUT_LATE_MAX || bbuf_add(&sm->cut_late, ev->raw, ev->raw_len) < 0) {
			fx->err = -LH_E_NOMEM;
			return 1;
		}
		sc->covered += ev->raw_len;
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
	sc->covered += ev->raw_len;
	return 0;
}

/* Bytes of this channel may go on now: the encoder has room (bulk), or the urgent space has (priority lane). */
static int can_feed(struct src_chan *sc)
{
	return sc->c.prio ? wan_urgent_room(sc->c.m->gw) : cpipe_can_feed(sc->c.m->gw);
}

/*
 * Classifies a channel by its first bytes (qemu-migration-format.md 4.1).
 * force: the channel stayed silent; QEMU's postcopy-preempt channel sends
 * nothing until the first urgent page, yet the destination must see it
 * connected before that, so a silent channel that joins a migration with a
 * main channel is the preempt channel. 1 classified, 0 not yet, -1 failed.
 */
static int classify(struct src_chan *sc, int force)
{
	struct chan *c = &sc->c;
	struct src_mig *sm = SM(c->m);
	struct mig *m = &sm->m;
	struct gw *gw = m->gw;
	const uint8_t *b = sc->rbuf;
	uint8_t mop[WAN_MOPEN_MAX];

	if (sc->rlen < 4 && !c->fwd_eof && !force)
		return 0;
	if (sc->rlen >= 4 && !memcmp(b, "QEVM", 4)) {
		c->kind = LH_CHAN_MAIN;
		for (unsigned i = 0; i < m->nch; i++)
			if (m->ch[i] != c && m->ch[i]->kind == LH_CHAN_MAIN) {
				src_fail(sm, MFR_PROTOCOL, "a second main channel arrived on the route", 1);
				return -1;
			}
	} else if (sc->rlen >= 4 && b[0] == 0x11 && b[1] == 0x22 && b[2] == 0x33 && b[3] == 0x44) {
		if (sc->rlen < 25 && !c->fwd_eof)
			return 0; /* QEMU writes the 64-byte init packet whole */
		c->kind = LH_CHAN_MULTIFD;
		c->mf_id = sc->rlen >= 25 ? b[24] : 0xff;
	} else {
		c->kind = mig_main_chan(m) ? LH_CHAN_PREEMPT : LH_CHAN_OPAQUE;
		c->prio = c->kind == LH_CHAN_PREEMPT && !gw->test_no_prio;
	}
	if (!sm->opened) {
		/* MIGRATION_OPEN once per migration, before its first CHANNEL_OPEN */
		struct wan_mopen mo = { .mig = m->id };
		snprintf(mo.route, sizeof(mo.route), "%s", m->route);
		snprintf(mo.dest, sizeof(mo.dest), "%s", m->dest);
		if (sm->r)
			gw_l2_identity(gw, &sm->r->cfg, &m->vni, &m->guest);
		mo.vni = m->vni;
		mo.guest = m->guest;
		if (mig_send(m, WAN_MIGRATION_OPEN, mop, wan_enc_mopen(mop, &mo), NULL, 0) < 0)
			goto fail;
		sm->opened = 1;
	}
	if (src_open_segment(sc, 0, c->kind) < 0)
		goto fail;
	if (c->kind == LH_CHAN_MAIN) {
		sc->parser = lh_parser_create();
		if (!sc->parser)
			goto fail;
		lh_parser_set_param(sc->parser, LH_P_CHANNEL, LH_CHAN_MAIN);
	} else if (c->kind == LH_CHAN_MULTIFD) {
		if (!(sc->mfparser = lh_parser_create()))
			goto fail;
		lh_parser_set_param(sc->mfparser, LH_P_CHANNEL, LH_CHAN_MULTIFD);
	}
	chan_set_state(c, CS_OPEN, "classified");
	if (c->kind == LH_CHAN_MULTIFD)
		log_info("migration out#%u: channel %u is multifd channel %u", m->id, c->idx, c->mf_id);
	else
		log_info("migration out#%u: channel %u is %s%s", m->id, c->idx, lh_channel_name(c->kind),
			 c->prio ? " (priority lane)" : "");
	return 1;
fail:
	src_fail(sm, MFR_GATEWAY, "cannot open the channel's codec stream", 1);
	return -1;
}

/*
 * Main's parser gave up (a stream it cannot follow): the bytes it already
 * handed on stay in their segment, which ends here; the rest of the channel
 * travels as plain bytes in a new segment. Before the EOF cut that segment is
 * marked ungated: nobody can find the EOF in it, so holding it back would
 * stall the migration. The migration then runs without an integrity gate.
 */
static int parser_fallback(struct src_chan *sc, int err)
{
	struct chan *c = &sc->c;
	struct src_mig *sm = SM(c->m);
	struct gw *gw = sm->m.gw;
	const lh_parse_error *pe = lh_parser_error(sc->parser);
	uint16_t seg = (uint16_t)((c->segment & ~WAN_SEG_UNGATED) + 1);
	lh_wan_stats st;

	log_warnx("migration out#%u (%s): main channel: parser gave up at offset %llu (%s: %s); the rest travels as "
		  "plain bytes%s", sm->m.id, sm->m.route, (unsigned long long)pe->offset, lh_err_name(err), pe->detail,
		  c->segment ? "" : ", WITHOUT the integrity gate");
	if (lh_wan_enc_end(cpipe_encoder(gw), c->stream_id, &st) == 0)
		src_add_stats(sm, &st);
	if (!c->segment)
		seg |= WAN_SEG_UNGATED;
	if (src_open_segment(sc, seg, LH_CHAN_OPAQUE) < 0 ||
	    src_enc_feed_all(gw, c->stream_id, sc->pend.p + sc->pend.off, sc->pend.len) < 0) {
		src_fail(sm, MFR_GATEWAY, "cannot continue the main channel as plain bytes", 1);
		return -1;
	}
	sc->covered += sc->pend.len;
	bbuf_free(&sc->pend);
	lh_parser_free(sc->parser);
	sc->parser = NULL;
	return 0;
}

/* Pushes buffered bytes into the encoder within the channel's credit. 0, or -1 when failed. */
static int push(struct src_chan *sc)
{
	struct chan *c = &sc->c;
	struct src_mig *sm = SM(c->m);
	size_t avail = sc->credit_limit > c->fwd_bytes ? (size_t)(sc->credit_limit - c->fwd_bytes) : 0;
	size_t n = sc->rlen < avail ? sc->rlen : avail;
	long took;
	char why[240];

	if (!n)
		return 0;
	if (sc->parser) {
		struct feed_ctx fx = { .sc = sc };
		uint64_t before = sc->covered, old_fed = sc->fed;
		int r = lh_parser_feed(sc->parser, sc->rbuf, n, main_event_cb, &fx);
		if (fx.stopped)
			return -1;
		sc->fed += n;
		/* keep the bytes the parser holds but has not handed on: [covered, fed) */
		int kept;
		if (sc->covered >= old_fed) {
			bbuf_eat(&sc->pend, sc->pend.len);
			kept = bbuf_add(&sc->pend, sc->rbuf + (sc->covered - old_fed), (size_t)(sc->fed - sc->covered));
		} else {
			bbuf_eat(&sc->pend, (size_t)(sc->covered - before));
			kept = bbuf_add(&sc->pend, sc->rbuf, n);
		}
		if (kept < 0) {
			src_fail(sm, MFR_GATEWAY, "out of memory keeping the parser's look-ahead", 1);
			return -1;
		}
		if (r < 0 && fx.err >= 0) {
			if (parser_fallback(sc, r) < 0)
				return -1;
			r = 0;
		}
		if (r < 0 || fx.err < 0) {
			const lh_parse_error *pe = lh_parser_error(sc->parser);
			snprintf(why, sizeof(why), "main channel: %s at offset %llu: %s",
				 lh_err_name(fx.err < 0 ? fx.err : r), (unsigned long long)pe->offset, pe->detail);
			src_fail(sm, MFR_GATEWAY, why, 1);
			return -1;
		}
		took = (long)n;
	} else {
		took = src_feed_plain(sc, sc->rbuf, n);
		if (took < 0) {
			snprintf(why, sizeof(why), "channel %u: encoder: %s", c->idx, lh_err_name((int)took));
			src_fail(sm, MFR_GATEWAY, why, 1);
			return -1;
		}
	}
	memmove(sc->rbuf, sc->rbuf + took, sc->rlen - (size_t)took);
	sc->rlen -= (size_t)took;
	c->fwd_bytes += (size_t)took;
	return 0;
}

/*
 * QEMU closed its side (or failed): end the channel's stream. Main closed before
 * its QEMU_VM_EOF is an abort (source cancelled or died), even at a section
 * boundary: the destination must never see an end of stream, and nobody cuts
 * over. 0, or -1 when the migration failed.
 */
static int fwd_end(struct src_chan *sc, int err)
{
	struct chan *c = &sc->c;
	struct src_mig *sm = SM(c->m);
	char why[160];

	if (err) {
		snprintf(why, sizeof(why), "channel %u: read from QEMU: %s", c->idx, strerror(err));
		src_fail(sm, MFR_SOURCE_ABORT, why, 1);
		return -1;
	}
	c->fwd_eof = 1;
	if (sc->parser) {
		struct feed_ctx fx = { .sc = sc };
		int r = lh_parser_finish(sc->parser, main_event_cb, &fx);
		if (fx.stopped)
			return -1;
		if (r < 0 && !c->segment) {
			src_fail(sm, MFR_SOURCE_ABORT,
				 "source closed main inside an item, before QEMU_VM_EOF (truncated stream)", 1);
			return -1;
		}
		if (!lh_parser_saw_eof(sc->parser)) {
			src_fail(sm, MFR_SOURCE_ABORT, "source closed main before QEMU_VM_EOF", 1);
			return -1;
		}
	}
	if (sm->cut_wait) {
		if (c->kind == LH_CHAN_MAIN)
			return 0; /* ends when the cut is made (src_cut_release) */
		if (src_cut_ready(sm) && src_cut_release(sm, "a multifd channel closed") < 0)
			return -1;
	}
	src_fwd_finish(sc);
	return 0;
}

void src_chan_io(struct src_chan *sc, int revents)
{
	struct chan *c = &sc->c;
	struct src_mig *sm = SM(c->m);
	struct mig *m = &sm->m;
	struct gw *gw = m->gw;
	size_t budget = SRC_READ_BUDGET, got = 0;
	char why[160];

	if (!mig_live(m) || c->fd < 0)
		return;
	if (revents & EV_WRITE) {
		long w = chan_flush_out(c);
		if (w < 0) {
			snprintf(why, sizeof(why), "channel %u: write to QEMU: %s", c->idx, strerror((int)-w));
			src_fail(sm, MFR_HYPERVISOR_IO, why, 1);
			return;
		}
		c->rev_bytes += (uint64_t)w;
		if (!c->out.len && c->rev_eof && !c->shut_wr) {
			shutdown(c->fd, SHUT_WR);
			c->shut_wr = 1;
			if (c->fwd_eof) {
				chan_close_fd(c, 0);
				src_check_done(sm);
				return;
			}
		}
	}
	c->blocked = 0;
	while (!c->fwd_eof && budget) {
		if (c->state == CS_OPEN && sc->rlen) {
			if (!can_feed(sc) || sc->credit_limit <= c->fwd_bytes) {
				c->blocked = 1;
				break;
			}
			if (push(sc) < 0)
				return;
			if (sc->rlen) {
				c->blocked = 1;
				break;
			}
		}
		ssize_t n = recv(c->fd, sc->rbuf + sc->rlen, SRC_RBUF - sc->rlen, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			fwd_end(sc, errno);
			return;
		}
		if (n == 0) {
			if (c->state == CS_CLASSIFY && classify(sc, 0) < 0)
				return;
			while (sc->rlen && c->state == CS_OPEN) {
				/* flush what is left within credit; the rest waits for CREDIT */
				size_t before = sc->rlen;
				if (push(sc) < 0)
					return;
				if (sc->rlen == before) {
					c->blocked = 1;
					src_update_io(sc);
					return; /* fwd_end once the credit arrives */
				}
			}
			if (fwd_end(sc, 0) < 0)
				return;
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
		sc->rlen += (size_t)n;
		m->lan_bytes += (size_t)n;
		gw->st.lan_rx_bytes += (size_t)n;
		budget = budget > (size_t)n ? budget - (size_t)n : 0;
		if (c->state == CS_CLASSIFY && classify(sc, 0) < 0)
			return;
	}
	if (c->state == CS_OPEN && sc->rlen && !c->blocked && can_feed(sc) && push(sc) < 0)
		return;
	if (sm->cut_wait && c->kind == LH_CHAN_MULTIFD && src_cut_ready(sm) &&
	    src_cut_release(sm, "every multifd channel delivered its SYNC packets") < 0)
		return;
	if (got && got < 16384 && gw->sess)
		lh_wan_enc_flush(cpipe_encoder(gw)); /* light traffic (commands, return-path replies): no batching delay */
	cpipe_pump(gw);
	/* budget spent: the socket stays readable (level-triggered), other channels run first */
	src_update_io(sc);
}

void src_classify_silent(struct src_chan *sc)
{
	if (!mig_live(sc->c.m) || classify(sc, 1) < 0)
		return;
	src_chan_io(sc, 0);
}
