/* SPDX-License-Identifier: MIT */
/* The codec pipe: the session's WAN encoder and decoder, frames to and from the transport. */
#include "gateway/pipe/codec_pipe.h"

#include <errno.h>
#include <stdlib.h>

#include "gateway/base/log.h"
#include "gateway/wan/wan_session.h"

struct cpipe {
	struct gw *gw;
	struct cpipe_events ev;       /* the migrations' handlers */
	lh_wan_enc *enc;              /* both NULL without a session */
	lh_wan_dec *dec;
	uint8_t *decbuf;              /* one decoded frame (LH_WAN_FRAME_RAW_MAX) */
	uint64_t frames_pulled;
	uint64_t worker_frames_seen;  /* the encoder's worker_frames counted into frames_tx_worker */
	int want_encoder;             /* cpipe_prepare_encoder was called: this gateway sends migrations */
	int enc_begun;                /* 1: the encoder's store exists, its HELLO queued; -1: that failed */
	ev_async enc_ready;           /* the encoder's worker finished a frame: pump it out */
	struct wan_events wan_ev;     /* ours, registered with the transport */
};

lh_wan_enc *cpipe_encoder(struct gw *gw) { return gw->pipe ? gw->pipe->enc : NULL; }

/*
 * Codec features a peer of an older release cannot decode (pointer-relative pages, record-header
 * ops, ops inside Z): used only when the peer's HELLO says it takes them. Settable until the encoder's session
 * starts (its codec HELLO announces them); after that, a no-op. A migration that starts before any
 * stream is up encodes without them, which every peer decodes.
 */
static void codec_caps(struct cpipe *p, bool peer_takes_them)
{
	lh_wan_enc_set_param(p->enc, LH_WAN_P_PTR_REL, peer_takes_them);
	lh_wan_enc_set_param(p->enc, LH_WAN_P_REC_HDR, peer_takes_them);
	lh_wan_enc_set_param(p->enc, LH_WAN_P_OPS_Z, peer_takes_them);
}

/* On the encoder's worker thread: a frame is ready, the loop pulls it (enc_ready_cb). */
static void enc_ready(void *opaque)
{
	struct cpipe *p = opaque;
	ev_async_send(p->gw->loop, &p->enc_ready);
}

static void enc_ready_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)revents;
	cpipe_pump(w->data);
}

static void codec_free(struct cpipe *p)
{
	lh_wan_dec_free(p->dec);
	lh_wan_enc_free(p->enc);
	free(p->decbuf);
	p->dec = NULL;
	p->enc = NULL;
	p->decbuf = NULL;
	p->frames_pulled = p->worker_frames_seen = 0;
	p->enc_begun = 0;
}

/* transport: a new session, fresh codec state on both sides */
static int on_session_new(void *ctx, uint64_t id)
{
	struct cpipe *p = ctx;
	const struct lh_config *cfg = &p->gw->cfg;

	codec_free(p);
	p->enc = lh_wan_enc_create();
	p->dec = lh_wan_dec_create();
	p->decbuf = malloc(LH_WAN_FRAME_RAW_MAX);
	if (!p->enc || !p->dec || !p->decbuf)
		goto fail;
	if (lh_wan_enc_set_param(p->enc, LH_WAN_P_STORE_MB, cfg->codec.store_mb) < 0 ||
	    lh_wan_dec_set_param(p->dec, LH_WAN_P_STORE_MB, cfg->codec.store_mb) < 0)
		goto fail;
	if (cfg->codec.level != LH_CODEC_LEVEL_AUTO)
		lh_wan_enc_set_param(p->enc, LH_WAN_P_LEVEL, cfg->codec.level);
	lh_wan_enc_set_param(p->enc, LH_WAN_P_STORE_COMMIT, cfg->codec.store_commit);
	lh_wan_enc_set_param(p->enc, LH_WAN_P_THREADS, cfg->codec.threads);
	lh_wan_enc_set_ready(p->enc, enc_ready, p);
	lh_wan_dec_set_param(p->dec, LH_WAN_P_STORE_COMMIT, cfg->codec.store_commit);
	/* off until a peer's HELLO says its decoder takes them (on_link_up) */
	codec_caps(p, false);
	log_info("codec: session %016llx: encoder and decoder ready (store %u MiB)", (unsigned long long)id,
		 cfg->codec.store_mb);
	return 0;
fail:
	log_warnx("codec: cannot set up the session's codec: out of memory or bad codec parameters");
	codec_free(p);
	return -ENOMEM;
}

/* transport: the session goes; the migrations hear it first, while the encoder still exists */
static void on_session_closed(void *ctx, const char *reason)
{
	struct cpipe *p = ctx;
	p->ev.session_lost(p->ev.ctx, reason);
	/* the decoder before the transport's buffers: its look-ahead thread may read frames offered ahead */
	codec_free(p);
}

void cpipe_prepare_encoder(struct gw *gw)
{
	struct cpipe *p = gw->pipe;
	if (!p)
		return;
	p->want_encoder = 1;
	/*
	 * Without this the store is allocated at the first migration's first stream,
	 * and its memory zeroed by the kernel page by page while that migration runs:
	 * measured ~0.5 CPU-s for a 512 MiB guest on two shared cores, taken from the
	 * source QEMU. Called when a stream comes up and when a route is added. The
	 * decoder side commits at the HELLO this queues.
	 */
	if (!p->enc || p->enc_begun || !gw->cfg.codec.store_commit)
		return;
	ev_tstamp t0 = ev_time();
	int r = lh_wan_enc_begin(p->enc);
	if (r < 0) {
		const lh_wan_error *e = lh_wan_enc_error(p->enc);
		/* the first migration will fail on the same error, where it is reported */
		log_warnx("codec: cannot start the encoder's page store: %s: %s", lh_err_name(r), e->detail);
		p->enc_begun = -1; /* tried once */
		return;
	}
	p->enc_begun = 1;
	log_info("codec: encoder page store of %u MiB committed in %.0f ms", gw->cfg.codec.store_mb,
		 (ev_time() - t0) * 1e3);
	cpipe_pump(gw);
}

/* Pulls one frame into a WAN_FRAME message. 1 = queued, 0 = none, <0 error. */
static int pull_frame(struct gw *gw, struct cpipe *p)
{
	size_t sz = lh_wan_enc_next_size(p->enc);
	struct wan_out *o;
	uint8_t *d;

	if (!sz)
		return 0;
	if (!(o = wan_frame_new(gw, sz)))
		return -ENOMEM;
	d = wan_frame_payload(o);
	if (lh_wan_enc_pull(p->enc, d, sz) != (long)sz) {
		wan_frame_drop(o);
		return -EIO;
	}
	p->frames_pulled++;
	uint64_t wf = lh_wan_enc_stats(p->enc)->worker_frames; /* queued by the worker, pulled now or soon */
	gw->st.frames_tx_worker += wf - p->worker_frames_seen;
	p->worker_frames_seen = wf;
	if (gw->test_corrupt_frame && p->frames_pulled >= gw->test_corrupt_frame &&
	    lh_wan_frame_raw_len(d, sz) > 0 && sz > LH_WAN_FRAME_HDR + 8) {
		size_t at = LH_WAN_FRAME_HDR + (sz - LH_WAN_FRAME_HDR) / 2;
		d[at] ^= 0x5a;
		log_warnx("codec: TEST fault injection: corrupted byte %zu of WAN frame %llu", at,
			  (unsigned long long)p->frames_pulled);
		gw->test_corrupt_frame = 0;
	}
	return wan_frame_send(gw, o) < 0 ? -ENOMEM : 1;
}

static void pump(struct gw *gw, int force)
{
	struct cpipe *p = gw->pipe;
	if (!p || !p->enc || !gw->sess)
		return;
	while (force || wan_bulk_room(gw)) {
		int r = pull_frame(gw, p);
		if (r == 0)
			break;
		if (r < 0) {
			wan_session_fail(gw, "cannot queue an encoded frame (out of memory)");
			return;
		}
	}
}

void cpipe_pump(struct gw *gw) { pump(gw, 0); }
void cpipe_drain(struct gw *gw) { pump(gw, 1); }

int cpipe_can_feed(struct gw *gw)
{
	struct cpipe *p = gw->pipe;
	return p && p->enc && lh_wan_enc_pending(p->enc) < (2u << 20) && wan_replay_room(gw);
}

/* transport: a stream came up */
static void on_link_up(void *ctx, uint32_t hello_flags)
{
	struct cpipe *p = ctx;
	/* before the encoder starts: it announces what it uses in its codec HELLO, once */
	codec_caps(p, hello_flags & WAN_HELLO_CODEC_TRANSFORMS);
	if (p->want_encoder)
		cpipe_prepare_encoder(p->gw); /* once per session */
	cpipe_pump(p->gw);
	p->ev.link_up(p->ev.ctx);
	p->ev.room(p->ev.ctx);
}

static void on_room(void *ctx)
{
	struct cpipe *p = ctx;
	cpipe_pump(p->gw);
	p->ev.room(p->ev.ctx);
}

static void on_before_bulk(void *ctx)
{
	cpipe_drain(((struct cpipe *)ctx)->gw);
}

/* transport: the next frame in order; a frame that does not decode fails the session (the mirrored
 * page store can no longer be trusted) */
static int on_frame(void *ctx, const uint8_t *data, size_t n, uint64_t seq)
{
	struct cpipe *p = ctx;
	struct gw *gw = p->gw;
	lh_wan_frame_info info;
	char err[200];

	long fs = lh_wan_frame_size(data, n);
	if (fs != (long)n) {
		snprintf(err, sizeof(err), "WAN_FRAME seq %llu: payload %zu bytes is not one codec frame (%ld)",
			 (unsigned long long)seq, n, fs);
		wan_session_fail(gw, err);
		return -1;
	}
	long r = lh_wan_dec_frame(p->dec, data, n, p->decbuf, LH_WAN_FRAME_RAW_MAX, &info);
	if (r < 0) {
		const lh_wan_error *e = lh_wan_dec_error(p->dec);
		snprintf(err, sizeof(err), "decoder: %s on stream %u at frame %llu: %s", lh_err_name((int)r),
			 e->stream_id, (unsigned long long)e->where, e->detail);
		wan_session_fail(gw, err);
		return -1;
	}
	p->ev.frame(p->ev.ctx, &info, p->decbuf, (size_t)r, n);
	return 0;
}

/* transport: a frame beyond the next one, for the decoder's look-ahead thread */
static int on_frame_ahead(void *ctx, const uint8_t *data, size_t n)
{
	struct cpipe *p = ctx;
	return lh_wan_frame_size(data, n) == (long)n && lh_wan_dec_announce(p->dec, data, n) == 1;
}

static void on_msg(void *ctx, const struct wan_msg *m)
{
	struct cpipe *p = ctx;
	p->ev.msg(p->ev.ctx, m);
}

static void on_rtt(void *ctx, double ms)
{
	struct cpipe *p = ctx;
	p->ev.rtt(p->ev.ctx, ms);
}

static int on_busy(void *ctx)
{
	struct cpipe *p = ctx;
	return p->ev.busy(p->ev.ctx);
}

static const struct wan_events cpipe_wan_events = {
	.session_new = on_session_new,
	.session_closed = on_session_closed,
	.link_up = on_link_up,
	.room = on_room,
	.before_bulk = on_before_bulk,
	.frame = on_frame,
	.frame_ahead = on_frame_ahead,
	.msg = on_msg,
	.rtt = on_rtt,
	.busy = on_busy,
};

int cpipe_init(struct gw *gw, const struct cpipe_events *ev)
{
	struct cpipe *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->gw = gw;
	p->ev = *ev;
	ev_async_init(&p->enc_ready, enc_ready_cb);
	p->enc_ready.data = gw;
	ev_async_start(gw->loop, &p->enc_ready);
	gw->pipe = p;
	p->wan_ev = cpipe_wan_events;
	p->wan_ev.ctx = p;
	wan_set_events(gw, &p->wan_ev);
	return 0;
}

void cpipe_free(struct gw *gw, const char *reason)
{
	struct cpipe *p = gw->pipe;
	if (!p)
		return;
	log_debug("codec: pipe closed: %s", reason);
	ev_async_stop(gw->loop, &p->enc_ready);
	codec_free(p);
	gw->pipe = NULL;
	free(p);
}

void cpipe_tick(struct gw *gw)
{
	struct cpipe *p = gw->pipe;
	if (!p || !p->enc)
		return;
	/* the codec's auto level follows the streams' load, as often as the transport measures it */
	if (gw->ticks % 10 == 0)
		lh_wan_enc_set_param(p->enc, LH_WAN_P_LINK_PRESSURE, (int64_t)(wan_link_pressure(gw) + 0.5));
	cpipe_pump(gw);
}
