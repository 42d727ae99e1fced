/* SPDX-License-Identifier: MIT */
/* The codec pipe: the session's WAN encoder and decoder, frames to and from the transport. */
#include "gateway/pipe/codec_pipe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/base/log.h"
#include "gateway/pipe/lan_streams.h"
#include "gateway/wan/wan_session.h"

struct cpipe {
	struct gw *gw;
	struct cpipe_events ev;       /* the migrations' handlers */
	lh_wan_enc *enc;              /* both NULL without a session */
	lh_wan_dec *dec;
	uint8_t *decbuf;              /* one decoded frame (LH_WAN_FRAME_RAW_MAX) */
	struct lstream_rx *rxs;       /* the parsers of decoded main streams */
	uint64_t frames_pulled;
	uint64_t worker_frames_seen;  /* the encoder's worker_frames counted into frames_tx_worker */
	int want_encoder;             /* cpipe_prepare_encoder was called: this gateway sends migrations */
	int enc_begun;                /* 1: the encoder's store exists, its HELLO queued; -1: that failed */
	ev_async enc_ready;           /* the encoder's worker finished a frame: pump it out */
	struct wan_events wan_ev;     /* ours, registered with the transport */
	/* codec epochs (WAN-PROTOCOL.md "Codec epochs"), per session and direction */
	uint32_t rx_epoch;            /* our decoder's */
	uint32_t rx_want;             /* 0, or the epoch CODEC_RESET asked for: WAN_FRAMEs are dropped until its marker */
	uint64_t rx_bad_seq;
	ev_tstamp rx_reset_at;
	uint64_t rx_dropped, rx_dropped_bytes; /* in the current reset */
	char rx_reason[200];
	uint32_t *lost;               /* streams reported lost in the current reset (CPIPE_LOST_MAX) */
	uint32_t nlost;
	uint32_t tx_epoch;            /* our encoder's */
	/* LH_TEST_CORRUPT_FRAME_MIG: the codec streams of that migration (from their OPEN frames), DATA frames seen */
	uint32_t tmig_sids[64];
	unsigned tmig_n;
	uint64_t tmig_frames;
};

/*
 * Bounds of the codec epochs. A session that needs more resets than CPIPE_EPOCH_MAX in one direction has
 * something wrong beyond a bad frame: the next error fails the session (and a CODEC_RESET past it is a
 * protocol error). Between a decoder error and the sender's marker at most CPIPE_DROP_MAX frames are dropped
 * and at most CPIPE_RESET_WAIT_S pass (the sender answers within a round trip; the replay buffer holds at
 * most 16384 frames it sent before): more is a peer that never sends the marker, and fails the session.
 */
#define CPIPE_EPOCH_MAX 64
#define CPIPE_DROP_MAX 65536
#define CPIPE_RESET_WAIT_S 60.0
#define CPIPE_LOST_MAX 4096

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
	lstream_rx_clear(p->rxs);
	p->frames_pulled = p->worker_frames_seen = 0;
	p->enc_begun = 0;
	p->rx_epoch = p->rx_want = p->tx_epoch = p->nlost = 0;
	p->rx_dropped = p->rx_dropped_bytes = 0;
	p->tmig_n = 0;
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

/* Test-only (LH_TEST_CORRUPT_FRAME*): flips one byte in the middle of a frame's body. */
static void test_corrupt(uint8_t *d, size_t sz, uint64_t nr, const char *what)
{
	size_t at = LH_WAN_FRAME_HDR + (sz - LH_WAN_FRAME_HDR) / 2;
	d[at] ^= 0x5a;
	log_warnx("codec: TEST fault injection: corrupted byte %zu of WAN frame %llu%s", at, (unsigned long long)nr,
		  what);
}

/* LH_TEST_CORRUPT_FRAME_MIG=MIG:N[:AFTER]: the N-th DATA frame carrying migration MIG's bytes (its codec streams
 * have vm_id MIG, named in their OPEN frames), counted from the end of migration AFTER when given. */
static void test_corrupt_mig(struct gw *gw, struct cpipe *p, uint8_t *d, size_t sz)
{
	lh_wan_frame_info pk;
	char what[96];

	if (lh_wan_frame_peek(d, sz, &pk) < 0)
		return;
	if (pk.type == LH_WAN_FRAME_OPEN && pk.vm_id == gw->test_corrupt_mig) {
		p->tmig_sids[p->tmig_n++ % 64] = pk.stream_id;
		return;
	}
	if (pk.type != LH_WAN_FRAME_DATA || lh_wan_frame_raw_len(d, sz) <= 0 || sz <= LH_WAN_FRAME_HDR + 8 ||
	    gw->test_corrupt_after)
		return;
	for (unsigned i = 0; i < p->tmig_n && i < 64; i++)
		if (p->tmig_sids[i] == pk.stream_id) {
			if (++p->tmig_frames == gw->test_corrupt_mig_n) {
				snprintf(what, sizeof(what), " (DATA frame %llu of migration %u, codec stream %u)",
					 (unsigned long long)p->tmig_frames, gw->test_corrupt_mig, pk.stream_id);
				test_corrupt(d, sz, p->frames_pulled, what);
				gw->test_corrupt_mig_n = 0;
			}
			return;
		}
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
		test_corrupt(d, sz, p->frames_pulled, "");
		gw->test_corrupt_frame = 0;
	}
	if (gw->test_corrupt_mig_n)
		test_corrupt_mig(gw, p, d, sz);
	return wan_frame_send(gw, o) < 0 ? -ENOMEM : 1;
}

static void pump(struct gw *gw, int force)
{
	struct cpipe *p = gw->pipe;
	if (!p || !p->enc || !gw->sess)
		return;
	/* the worker's finished frames first: pull_frame sizes each by lh_wan_enc_next_size, which sees only
	 * queued ones (a stream that went quiet after a burst would keep its last frames until its next bytes) */
	if (lh_wan_enc_collect(p->enc) < 0) {
		wan_session_fail(gw, "the encoder failed compressing a frame");
		return;
	}
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

void cpipe_flush(struct gw *gw)
{
	if (gw->pipe && gw->pipe->enc)
		lh_wan_enc_flush(gw->pipe->enc);
}

void cpipe_close_batch(struct gw *gw)
{
	if (gw->pipe && gw->pipe->enc)
		lh_wan_enc_close_batch(gw->pipe->enc);
}

const lh_wan_stats *cpipe_enc_stats(struct gw *gw)
{
	return gw->pipe && gw->pipe->enc ? lh_wan_enc_stats(gw->pipe->enc) : NULL;
}

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

/* The epochs' limit is reached, or the peer cannot take them: a codec error fails the session, as before. */
static int codec_epochs_usable(struct cpipe *p)
{
	return !p->gw->test_no_codec_epoch && (wan_peer_flags(p->gw) & WAN_HELLO_CODEC_EPOCH) &&
	       p->rx_epoch < CPIPE_EPOCH_MAX;
}

static int lost_has(const struct cpipe *p, uint32_t sid)
{
	for (uint32_t i = 0; i < p->nlost; i++)
		if (p->lost[i] == sid)
			return 1;
	return 0;
}

/*
 * A WAN frame at bulk seq did not decode (err): the mirrored store can no longer be trusted. With a peer that
 * takes codec epochs, the session goes on: our decoder starts a new epoch, every frame up to the sender's
 * marker is dropped, the sender is asked for the new epoch, and the migrations hear which streams are lost.
 * Otherwise the session fails, and with it every migration on it. 0, or -1 when the session failed.
 */
static int codec_error(struct cpipe *p, uint64_t seq, const char *err)
{
	struct gw *gw = p->gw;
	const lh_wan_error *e = lh_wan_dec_error(p->dec);
	uint32_t bad_sid = e->stream_id, epoch = p->rx_epoch + 1;
	uint8_t msg[300];
	char why[300];

	if (!codec_epochs_usable(p)) {
		if (p->rx_epoch >= CPIPE_EPOCH_MAX) {
			snprintf(why, sizeof(why), "%s (and %u codec epochs in this session: no more resets)", err,
				 p->rx_epoch);
			wan_session_fail(gw, why);
		} else {
			wan_session_fail(gw, err);
		}
		return -1;
	}
	/* who shares the store with the bad frame: every stream open at the error, and the bad frame's own */
	uint32_t n = lh_wan_dec_stream_ids(p->dec, p->lost, CPIPE_LOST_MAX);
	if (bad_sid && n < CPIPE_LOST_MAX) {
		p->nlost = n;
		if (!lost_has(p, bad_sid))
			p->lost[n++] = bad_sid;
	}
	p->nlost = n;
	if (lh_wan_dec_reset(p->dec, epoch) < 0) {
		snprintf(why, sizeof(why), "%s (and the decoder cannot start a new epoch: out of memory)", err);
		wan_session_fail(gw, why);
		return -1;
	}
	lstream_rx_clear(p->rxs); /* the streams open at the error are lost: their parsers with them */
	p->rx_want = epoch;
	p->rx_bad_seq = seq;
	p->rx_reset_at = ev_now(gw->loop);
	p->rx_dropped = p->rx_dropped_bytes = 0;
	snprintf(p->rx_reason, sizeof(p->rx_reason), "codec epoch %u: WAN frame seq %llu did not decode (%s)", epoch,
		 (unsigned long long)seq, err);
	if (wan_send(gw, WAN_CODEC_RESET, msg, wan_enc_codec_reset(msg, epoch, seq, err), NULL, 0) < 0) {
		wan_session_fail(gw, "cannot send CODEC_RESET (out of memory)");
		return -1;
	}
	gw->st.codec_resets_dec++;
	log_warnx("codec: %s: decoder reset to epoch %u, WAN frames dropped until the peer's CODEC_EPOCH %u; the "
		  "session goes on. %u codec stream(s) were open at the error: they share the page store with the bad "
		  "frame, their bytes are lost", p->rx_reason, epoch, epoch, n);
	p->ev.codec_lost(p->ev.ctx, p->lost, n, p->rx_reason);
	return 0;
}

/* Between a decoder error and the sender's marker: the frame is dropped; its stream, if new, is lost too. */
static int drop_frame(struct cpipe *p, const uint8_t *data, size_t n)
{
	struct gw *gw = p->gw;
	lh_wan_frame_info pk;
	char why[200];

	gw->st.codec_frames_dropped++;
	p->rx_dropped++;
	p->rx_dropped_bytes += n;
	if (p->rx_dropped > CPIPE_DROP_MAX) {
		snprintf(why, sizeof(why), "protocol: %llu WAN frames after CODEC_RESET %u and no CODEC_EPOCH",
			 (unsigned long long)p->rx_dropped, p->rx_want);
		wan_session_fail(gw, why);
		return -1;
	}
	if (lh_wan_frame_peek(data, n, &pk) < 0 || !pk.stream_id || lost_has(p, pk.stream_id))
		return 0;
	if (p->nlost < CPIPE_LOST_MAX)
		p->lost[p->nlost++] = pk.stream_id;
	log_info("codec: epoch %u: a frame of codec stream %u dropped before the peer's marker: that stream is lost "
		 "too", p->rx_want, pk.stream_id);
	p->ev.codec_lost(p->ev.ctx, &pk.stream_id, 1, p->rx_reason);
	return 0;
}

/* transport: the next frame in order. A frame that does not decode costs what shares the store with it
 * (codec_error); between that and the sender's marker frames are dropped. */
static int on_frame(void *ctx, const uint8_t *data, size_t n, uint64_t seq)
{
	struct cpipe *p = ctx;
	lh_wan_frame_info info;
	char err[200];

	if (p->rx_want)
		return drop_frame(p, data, n);
	long fs = lh_wan_frame_size(data, n);
	if (fs != (long)n) {
		snprintf(err, sizeof(err), "WAN_FRAME seq %llu: payload %zu bytes is not one codec frame (%ld)",
			 (unsigned long long)seq, n, fs);
		wan_session_fail(p->gw, err);
		return -1;
	}
	long r = lh_wan_dec_frame(p->dec, data, n, p->decbuf, LH_WAN_FRAME_RAW_MAX, &info);
	if (r < 0) {
		const lh_wan_error *e = lh_wan_dec_error(p->dec);
		snprintf(err, sizeof(err), "decoder: %s on stream %u at frame %llu: %s", lh_err_name((int)r),
			 e->stream_id, (unsigned long long)e->where, e->detail);
		return codec_error(p, seq, err);
	}
	if (p->ev.rx_item)
		lstream_rx_frame(p->rxs, &info, p->decbuf, (size_t)r, p->ev.rx_item, p->ev.ctx);
	p->ev.frame(p->ev.ctx, &info, p->decbuf, (size_t)r, n);
	return 0;
}

/* transport: a frame beyond the next one, for the decoder's look-ahead thread */
static int on_frame_ahead(void *ctx, const uint8_t *data, size_t n)
{
	struct cpipe *p = ctx;
	return !p->rx_want && lh_wan_frame_size(data, n) == (long)n && lh_wan_dec_announce(p->dec, data, n) == 1;
}

/* CODEC_EPOCH (bulk): every WAN_FRAME after it is of that epoch, starting with its codec HELLO. */
static void rx_epoch_marker(struct cpipe *p, uint32_t epoch)
{
	struct gw *gw = p->gw;
	char err[160];

	if (gw->test_no_codec_epoch || !p->rx_want || epoch != p->rx_want) {
		if (p->rx_want)
			snprintf(err, sizeof(err), "protocol: CODEC_EPOCH %u, but epoch %u was asked for", epoch,
				 p->rx_want);
		else
			snprintf(err, sizeof(err), "protocol: CODEC_EPOCH %u, but no codec reset was asked for", epoch);
		wan_session_fail(gw, err);
		return;
	}
	log_info("codec: epoch %u begins: %llu WAN frames (%.1f MB) dropped in %.0f ms since the decoder error at seq "
		 "%llu; %u codec stream(s) lost", epoch, (unsigned long long)p->rx_dropped, p->rx_dropped_bytes / 1e6,
		 (ev_now(gw->loop) - p->rx_reset_at) * 1e3, (unsigned long long)p->rx_bad_seq, p->nlost);
	p->rx_epoch = epoch;
	p->rx_want = 0;
	p->nlost = 0;
}

/*
 * CODEC_RESET (urgent): the peer's decoder failed at our frame bad_seq and starts epoch N. The migrations
 * with a codec stream open hear it first (the old encoder still exists: their segments abort in the old
 * epoch, which the peer drops); then the encoder starts epoch N and the marker goes before its HELLO.
 */
static void tx_codec_reset(struct cpipe *p, const struct wan_codec_reset *cr)
{
	struct gw *gw = p->gw;
	uint8_t msg[8];
	char why[400];

	if (!p->enc)
		return;
	if (gw->test_no_codec_epoch || cr->epoch != p->tx_epoch + 1 || cr->epoch > CPIPE_EPOCH_MAX) {
		snprintf(why, sizeof(why), "protocol: CODEC_RESET for codec epoch %u; our encoder is in epoch %u%s",
			 cr->epoch, p->tx_epoch, gw->test_no_codec_epoch ? " and takes no resets" :
			 cr->epoch > CPIPE_EPOCH_MAX ? " and the session's resets are used up" : "");
		wan_session_fail(gw, why);
		return;
	}
	snprintf(why, sizeof(why), "codec epoch %u: the peer could not decode our WAN frame seq %llu (%s)", cr->epoch,
		 (unsigned long long)cr->bad_seq, cr->reason);
	log_warnx("codec: %s: encoder reset; codec streams open now are lost, the session goes on", why);
	p->ev.codec_reset(p->ev.ctx, why);
	if (!gw->sess || !p->enc)
		return; /* the session went while the migrations failed */
	if (lh_wan_enc_reset(p->enc, cr->epoch) < 0) {
		wan_session_fail(gw, "cannot start a new codec epoch: out of memory");
		return;
	}
	p->tx_epoch = cr->epoch;
	p->enc_begun = 0;
	p->tmig_n = 0;
	gw->st.codec_resets_enc++;
	/* the marker first: the fresh encoder has queued nothing yet (its HELLO comes at begin or the next open) */
	if (wan_send(gw, WAN_CODEC_EPOCH, msg, wan_enc_codec_epoch(msg, cr->epoch), NULL, 0) < 0) {
		wan_session_fail(gw, "cannot send CODEC_EPOCH (out of memory)");
		return;
	}
	if (p->want_encoder)
		cpipe_prepare_encoder(gw);
	cpipe_pump(gw);
	p->ev.room(p->ev.ctx);
}

static void on_msg(void *ctx, const struct wan_msg *m)
{
	struct cpipe *p = ctx;
	if (m->type == WAN_CODEC_EPOCH)
		rx_epoch_marker(p, m->u.cepoch.epoch);
	else if (m->type == WAN_CODEC_RESET)
		tx_codec_reset(p, &m->u.creset);
	else
		p->ev.msg(p->ev.ctx, m);
}

void cpipe_epochs(const struct gw *gw, uint32_t *rx, uint32_t *rx_want, uint32_t *tx)
{
	const struct cpipe *p = gw->pipe;
	int on = p && p->enc;
	*rx = on ? p->rx_epoch : 0;
	*rx_want = on ? p->rx_want : 0;
	*tx = on ? p->tx_epoch : 0;
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
	if (!p || !(p->lost = calloc(CPIPE_LOST_MAX, sizeof(*p->lost))) || !(p->rxs = lstream_rx_new())) {
		if (p)
			free(p->lost);
		free(p);
		return -ENOMEM;
	}
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
	lstream_rx_free(p->rxs, reason);
	free(p->lost);
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
	if (p->rx_want && ev_now(gw->loop) - p->rx_reset_at > CPIPE_RESET_WAIT_S) {
		char why[160];
		snprintf(why, sizeof(why), "protocol: no CODEC_EPOCH %u %.0f s after CODEC_RESET", p->rx_want,
			 CPIPE_RESET_WAIT_S);
		wan_session_fail(gw, why);
		return;
	}
	cpipe_pump(gw);
}
