/* SPDX-License-Identifier: MIT */
/*
 * LAN streams through the codec pipe: the one parser of each stream a QEMU
 * writes or reads. Outgoing, it is the encoder's own parser, which the role
 * that owns the stream watches (lh_wan_watch: every item, and the one
 * fallback when the parser cannot follow). Incoming, the pipe parses each
 * decoded main stream once and shows the role its items before the bytes.
 */
#ifndef LH_GATEWAY_LAN_STREAMS_H
#define LH_GATEWAY_LAN_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/gw.h"
#include "lh_wan.h"

/* Outgoing: a codec stream of the session's encoder (sid unique in the session). w may be NULL (nobody
 * watches; a stream the parser cannot follow then goes on as plain bytes). 0 or a negative lh_err. */
int lstream_open(struct gw *gw, uint32_t sid, uint32_t vm, lh_channel_kind kind, const char *label,
		 const lh_wan_watch *w);
/* Bytes taken (less than n when the encoder is full), or a negative lh_err. */
long lstream_feed(struct gw *gw, uint32_t sid, const uint8_t *p, size_t n);
/* All n bytes, moving frames out to make room when needed. 0 or a negative lh_err. */
int lstream_feed_all(struct gw *gw, uint32_t sid, const uint8_t *p, size_t n);
/* A stream its watch stopped: the bytes from the stop on (valid until its end). 0 or a negative lh_err. */
int lstream_rest(struct gw *gw, uint32_t sid, const uint8_t **p, size_t *n);
/* The stream ended cleanly (END: length + hash), or was cut short (ABORT). st may be NULL. */
int lstream_end(struct gw *gw, uint32_t sid, lh_wan_stats *st);
void lstream_abort(struct gw *gw, uint32_t sid);

/* Incoming: a parser per decoded main stream (codec OPEN of kind main), freed at its END or ABORT. */
struct lstream_rx;
/* An item of a decoded main stream, before its frame is handed on; return 1 to stop watching that stream. */
typedef int (*lstream_item_fn)(void *ctx, uint32_t sid, const lh_event *ev);
struct lstream_rx *lstream_rx_new(void);
/* Every stream forgotten (a new session or codec epoch). */
void lstream_rx_clear(struct lstream_rx *rx);
void lstream_rx_free(struct lstream_rx *rx, const char *reason);
/* One decoded frame (info from the decoder, data its output): items of a watched stream go to fn. */
void lstream_rx_frame(struct lstream_rx *rx, const lh_wan_frame_info *info, const uint8_t *data, size_t n,
		      lstream_item_fn fn, void *ctx);

#endif
