/* SPDX-License-Identifier: MIT */
/* The codec pipe: owns the session's WAN encoder and decoder, between the transport and the migrations. */
#ifndef LH_GATEWAY_CODEC_PIPE_H
#define LH_GATEWAY_CODEC_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/gw.h"
#include "gateway/wan/wan_proto.h"
#include "lh_wan.h"

/*
 * What the pipe tells the layer above (the migrations), through the table it
 * registered (cpipe_set_events). The pipe registers its own table with the
 * transport and hands on what is not the codec's.
 */
struct cpipe_events {
	void *ctx;
	/* One decoded codec frame (OPEN/DATA/END/ABORT of a stream), in the sender's order. */
	void (*frame)(void *ctx, const lh_wan_frame_info *info, const uint8_t *data, size_t n, size_t frame_len);
	/* Optional: an item of a decoded main stream (the pipe's one parser of it), before that frame goes to
	 * frame(); return 1 to stop watching the stream (lan_streams.h). */
	int (*rx_item)(void *ctx, uint32_t stream_id, const lh_event *ev);
	/* A protocol message about migrations, in order (bulk, urgent, or a CREDIT). */
	void (*msg)(void *ctx, const struct wan_msg *m);
	/* The session ended (reason): everything carried on it fails. */
	void (*session_lost)(void *ctx, const char *reason);
	/* A stream came up: say again what a lost link message said (credit). */
	void (*link_up)(void *ctx);
	/* Room appeared in the encoder or the transport: blocked producers may go on. */
	void (*room)(void *ctx);
	/* A PONG came back after ms. */
	void (*rtt)(void *ctx, double ms);
	/* Migrations are running (the transport's loss budget applies). */
	int (*busy)(void *ctx);
	/*
	 * Codec epochs (WAN-PROTOCOL.md "Codec epochs"), receiver: a WAN frame did not decode, our decoder started
	 * a new epoch, and the codec streams in stream_ids lost bytes: first those open at the error (their bytes
	 * went through the page store the bad frame may have damaged, and their END can no longer be checked),
	 * then, one by one, any stream a frame was dropped for before the sender's marker. Once per stream and
	 * reset. reason names the error. Streams not named here (ended before the error, or opened after the
	 * marker) are intact.
	 */
	void (*codec_lost)(void *ctx, const uint32_t *stream_ids, unsigned n, const char *reason);
	/*
	 * Sender: the peer's decoder failed (reason); right after this returns our encoder starts a new epoch and
	 * every codec stream open now is gone, unended: nothing of it will be verified at the peer.
	 */
	void (*codec_reset)(void *ctx, const char *reason);
};

/* Creates the pipe and registers it with the transport (before wan_start). 0 or -ENOMEM. */
int cpipe_init(struct gw *gw, const struct cpipe_events *ev);
/* The one teardown (after wan_stop). */
void cpipe_free(struct gw *gw, const char *reason);

/* The session's encoder, NULL without a session. */
lh_wan_enc *cpipe_encoder(struct gw *gw);
/* Closes the encoder's open batch into a frame now: and waits for its worker (flush), or not (close_batch). */
void cpipe_flush(struct gw *gw);
void cpipe_close_batch(struct gw *gw);
/* The encoder's session counters, NULL without a session. */
const lh_wan_stats *cpipe_enc_stats(struct gw *gw);
/* The encoder may take more stream bytes now (its frame queue is short and the replay buffer has room). */
int cpipe_can_feed(struct gw *gw);
/* Moves encoded frames into WAN messages as far as the streams and the replay buffer allow. */
void cpipe_pump(struct gw *gw);
/* Moves every encoded frame into WAN messages now, whatever the limits (ordering points, full encoder). */
void cpipe_drain(struct gw *gw);
/*
 * This gateway will encode (it has a route): start the encoder's session now, store committed
 * ([codec] store_commit), so the first migration does not pay for it. No-op without a session.
 */
void cpipe_prepare_encoder(struct gw *gw);
/* Codec epochs of the session (0 before any reset): our decoder's, the one it asked for and waits for the
 * sender's marker of (0: none), our encoder's. All 0 without a session. */
void cpipe_epochs(const struct gw *gw, uint32_t *rx, uint32_t *rx_want, uint32_t *tx);
/* Housekeeping (every 10 ms): the link pressure into the codec's auto level, frames out. */
void cpipe_tick(struct gw *gw);

#endif
