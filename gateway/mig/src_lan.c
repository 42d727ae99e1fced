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
#include "gateway/pipe/lan_streams.h"
#include "gateway/wan/wan_session.h"

#define SRC_READ_BUDGET (2u << 20) /* bytes per channel per callback: fairness between channels */

static void src_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct src_chan *sc = w->data;
	struct gw *gw = sc->c.m->gw; /* sc may be gone after src_chan_io (drop_unannounced) */
	(void)loop;
	if (sc->linger)
		src_linger_io(sc);
	else
		src_chan_io(sc, revents);
	mig_settle(gw);
}

struct src_chan *src_chan_adopt(struct src_mig *sm, int fd)
{
	return src_chan_new(sm, fd, src_io_cb);
}

void mig_src_accept(struct gw *gw, struct route *r, int fd, const char *host, const char *peer)
{
	struct src_mig *sm = r->cur ? SM(r->cur) : NULL;
	struct src_chan *sc;
	char dest[300];

	if (!wan_ready(gw) || gw->draining) {
		route_refuse(r, fd, peer, gw->draining ? "draining" : "WAN session is down");
		return;
	}
	if (sm && (sm->state == SRC_VERIFYING || sm->state == SRC_INDOUBT)) {
		/* its end of stream left: no channel joins it any more, and the guest cannot start another one yet */
		char why[160];
		snprintf(why, sizeof(why), "migration out#%u is finishing (%s)", sm->m.id, sm->m.phase);
		route_refuse(r, fd, peer, why);
		return;
	}
	/* channels join the migration that streams on the route (postcopy's preempt channel may come late) */
	if (sm && (sm->state == SRC_STREAMING || sm->state == SRC_POSTCOPY) && strcmp(sm->from, host)) {
		/* one QEMU opens all of a migration's connections: another address is not part of it */
		char why[160];
		snprintf(why, sizeof(why), "migration out#%u's channels come from %s", sm->m.id, sm->from);
		route_refuse(r, fd, peer, why);
		return;
	}
	if (!sm || (sm->state != SRC_STREAMING && sm->state != SRC_POSTCOPY)) {
		sm = src_mig_new(gw, r, lh_endpoint_fmt(&r->cfg.to, dest, sizeof(dest)));
		if (!sm) {
			close(fd);
			return;
		}
		snprintf(sm->from, sizeof(sm->from), "%s", host);
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
	sc->credit_limit = gw->test_ignore_credit ? UINT64_MAX : wan_peer_window(gw);
	if (!sc->rbuf) {
		src_fail(sm, MFR_GATEWAY, "out of memory", 1);
		mig_settle(gw);
		return;
	}
	log_debug("migration out#%u: channel %u from %s", sm->m.id, sc->c.idx, peer);
	src_update_io(sc);
}

/*
 * What main's segment 0 carries, item by item, from the stream's one parser
 * (the encoder's), before each item is encoded: multifd sync points,
 * POSTCOPY_RUN, and the EOF byte, where segment 0 stops (main_stopped makes
 * the cut). Called inside the encoder: it must not call it.
 */
static int main_item(struct src_chan *sc, const lh_event *ev)
{
	struct src_mig *sm = SM(sc->c.m);

	/* multifd sync points: each FLUSH (8.1+ modern), else each RAM EOS (legacy), is one SYNC per channel */
	if (ev->type == LH_EV_RAM_MULTIFD_FLUSH)
		sm->mf_flush++;
	else if (ev->type == LH_EV_RAM_EOS)
		sm->ram_eos++;
	if (pc_watch_event(&sc->pc, ev) && sm->state == SRC_STREAMING) {
		sm->m.postcopy = 1;
		src_transition(sm, SRC_EV_POSTCOPY_RUN, "main carried POSTCOPY_RUN: the guest runs at the destination "
			       "from now on");
	}
	if (ev->type == LH_EV_EOF) {
		sc->at_eof = 1;
		sc->stopped = 1;
		return 1;
	}
	return 0;
}

int src_watch_item(void *ctx, const lh_event *ev)
{
	struct src_chan *sc = ctx;
	if (sc->c.kind == LH_CHAN_MAIN)
		return main_item(sc, ev);
	src_mf_item(sc, ev);
	return 0;
}

/*
 * The stream's parser gave up (a stream it cannot follow; the encoder's one
 * fallback). Main stops there: what follows travels as plain bytes in a new
 * segment, which before the EOF cut is marked ungated (nobody can find the EOF
 * in it, so holding it back would stall the migration: the migration then runs
 * without the integrity gate). A multifd channel goes on as plain bytes in the
 * same segment; the EOF cut no longer waits for its SYNCs.
 */
int src_watch_gave_up(void *ctx, const lh_parse_error *pe)
{
	struct src_chan *sc = ctx;
	struct mig *m = sc->c.m;

	sc->unparsed = 1;
	if (sc->c.kind != LH_CHAN_MAIN) {
		log_warnx("migration out#%u: multifd channel %u not followed (%s at offset %llu): the rest travels as "
			  "plain bytes, and the EOF cut cannot wait for its SYNC packets", m->id, sc->c.idx, pe->detail,
			  (unsigned long long)pe->offset);
		return 0;
	}
	log_warnx("migration out#%u (%s): main channel: parser gave up at offset %llu (%s: %s); the rest travels as "
		  "plain bytes%s", m->id, m->route, (unsigned long long)pe->offset, lh_err_name(pe->code), pe->detail,
		  sc->c.segment ? "" : ", WITHOUT the integrity gate");
	sc->stopped = 1;
	return 1;
}

/* Main's bytes from its EOF on wait for the cut (CUT_LATE_MAX). 0, or -1 when failed. */
static int hold_late(struct src_mig *sm, const uint8_t *p, size_t n)
{
	if (sm->cut_late.len + n > CUT_LATE_MAX || bbuf_add(&sm->cut_late, p, n) < 0) {
		src_fail(sm, MFR_GATEWAY, "main's stream end after the EOF is larger than the gateway holds", 1);
		return -1;
	}
	return 0;
}

/*
 * Main's segment 0 stopped (src_watch_item, src_watch_gave_up): at the EOF,
 * the cut is made now when every channel is ready, or waits (src_cut_tick);
 * where the parser gave up, the rest goes on in a plain segment. 0, or -1
 * when the migration failed.
 */
static int main_stopped(struct src_chan *sc)
{
	struct chan *c = &sc->c;
	struct src_mig *sm = SM(c->m);
	struct mig *m = &sm->m;
	struct gw *gw = m->gw;
	const uint8_t *rest;
	size_t n;
	lh_wan_stats st;

	sc->stopped = 0;
	if (lstream_rest(gw, c->stream_id, &rest, &n) < 0) {
		src_fail(sm, MFR_GATEWAY, "main channel: the encoder lost the bytes after its stop", 1);
		return -1;
	}
	if (!sc->at_eof) {
		uint16_t seg = (uint16_t)((c->segment & ~WAN_SEG_UNGATED) + 1);
		uint32_t old = c->stream_id;
		if (!c->segment)
			seg |= WAN_SEG_UNGATED;
		/* the rest first into a new segment (it lives in the old stream until that ends) */
		if (src_open_segment(sc, seg, LH_CHAN_OPAQUE) < 0 || lstream_feed_all(gw, c->stream_id, rest, n) < 0 ||
		    lstream_end(gw, old, &st) < 0) {
			src_fail(sm, MFR_GATEWAY, "cannot continue the main channel as plain bytes", 1);
			return -1;
		}
		src_add_stats(sm, &st);
		return 0;
	}
	if (hold_late(sm, rest, n) < 0)
		return -1;
	if (src_cut_ready(sm))
		return src_cut_release(sm, NULL);
	sm->cut_wait = 1;
	sm->cut_wait_since = ev_now(gw->loop);
	log_info("migration out#%u (%s): main channel at EOF; the cut waits for the multifd channels' SYNC packets (%u "
		 "each)", m->id, m->route, sm->mf_flush ? sm->mf_flush : sm->ram_eos);
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
/*
 * A connection that is not part of the migration it joined (it came from the migration's address, so only its
 * bytes tell): reset and forgotten before the peer heard of it, the migration unharmed. Only the newest
 * channel can go (a later one's index is on the wire already); otherwise the migration fails as before.
 * Always -1: the caller must not touch sc any more.
 */
static int drop_unannounced(struct src_chan *sc, const char *why)
{
	struct chan *c = &sc->c;
	struct mig *m = c->m;
	struct src_mig *sm = SM(m);
	struct gw *gw = m->gw;

	if (c->idx != m->nch - 1 || !sm->r) {
		src_fail(sm, MFR_PROTOCOL, why, 1);
		return -1;
	}
	ev_io_stop(gw->loop, &c->io);
	c->io_events = 0;
	int fd = c->fd;
	c->fd = -1;
	m->ch[--m->nch] = NULL;
	m->lan_bytes -= sc->rlen; /* none of its bytes were the migration's */
	route_refuse(sm->r, fd, sm->from, why);
	chan_free(c);
	free(sc->rbuf);
	free(sc);
	return -1;
}

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
	int recovery = sc->rlen >= 4 && mig_recovery_main(b, sc->rlen) && !mig_lead_chan(m);
	if (recovery) {
		/*
		 * Carried as plain bytes, unmodified, as its own opaque channel (RECV_BITMAP, POSTCOPY_RESUME, then
		 * pages; the return path's raw bitmaps and RESUME_ACK back): the RAM-block table of the stream it
		 * resumes belongs to the session it broke with, which a restart of either gateway has forgotten.
		 */
		c->kind = LH_CHAN_OPAQUE;
		m->recovery_main = c;
	} else if (sc->rlen >= 4 && !memcmp(b, "QEVM", 4)) {
		if (mig_lead_chan(m))
			return drop_unannounced(sc, "a second stream header (QEVM) on a migration that has its main "
					       "channel: not one of its connections");
		c->kind = LH_CHAN_MAIN;
	} else if (sc->rlen >= 4 && b[0] == 0x11 && b[1] == 0x22 && b[2] == 0x33 && b[3] == 0x44) {
		if (sc->rlen < 25 && !c->fwd_eof)
			return 0; /* QEMU writes the 64-byte init packet whole */
		c->kind = LH_CHAN_MULTIFD;
		c->mf_id = sc->rlen >= 25 ? b[24] : 0xff;
	} else {
		/* silent or header-less after main (or a recovery's main): the postcopy preempt channel */
		c->kind = mig_lead_chan(m) ? LH_CHAN_PREEMPT : LH_CHAN_OPAQUE;
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
	if (recovery) {
		/* the guest runs at the destination: a failure from here pauses QEMU again, never fails it */
		log_info("migration out#%u (%s): channel %u is a postcopy recovery's main channel (RECV_BITMAP, no QEVM "
			 "header): carried as plain bytes, unmodified", m->id, m->route, c->idx);
		m->postcopy = 1;
		src_transition(sm, SRC_EV_POSTCOPY_RUN, "a postcopy recovery main channel (RECV_BITMAP, no QEVM "
			       "header): the guest runs at the destination");
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
	if (sm->cut_wait && c->kind == LH_CHAN_MAIN) {
		/* after main's EOF, before the cut */
		if (hold_late(sm, sc->rbuf, n) < 0)
			return -1;
		took = (long)n;
	} else if ((took = src_feed(sc, sc->rbuf, n)) < 0) {
		snprintf(why, sizeof(why), "channel %u: encoder: %s", c->idx, lh_err_name((int)took));
		src_fail(sm, MFR_GATEWAY, why, 1);
		return -1;
	}
	memmove(sc->rbuf, sc->rbuf + took, sc->rlen - (size_t)took);
	sc->rlen -= (size_t)took;
	c->fwd_bytes += (size_t)took;
	if (sc->stopped && main_stopped(sc) < 0)
		return -1;
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
	if (c->kind == LH_CHAN_MAIN && !sc->at_eof && !sc->unparsed) {
		/* at a section boundary or inside an item: either way no end of stream reaches the destination */
		src_fail(sm, MFR_SOURCE_ABORT, "source closed main before QEMU_VM_EOF", 1);
		return -1;
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
		cpipe_flush(gw); /* light traffic (commands, return-path replies): no batching delay */
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
