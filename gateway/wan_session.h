/* SPDX-License-Identifier: MIT */
/* The WAN session as the rest of longhauld sees it: start/stop, send messages, feed the encoder. */
#ifndef LH_GATEWAY_WAN_SESSION_H
#define LH_GATEWAY_WAN_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/gw.h"
#include "lh_wan.h"

/* Opens the [wan] listener and/or starts dialing the peer. 0 or -errno (logged). */
int wan_start(struct gw *gw);
/* Closes every stream and the session (its migrations fail with reason). */
void wan_stop(struct gw *gw, const char *reason);
/* Called from the housekeeping timer (every 10 ms). */
void wan_tick(struct gw *gw);

/* 1 when a session exists and at least one stream is up. */
int wan_ready(const struct gw *gw);
/* This gateway will encode (it has a route): start the encoder's session now, store committed
 * ([codec] store_commit), so the first migration does not pay for it. No-op without a session. */
void wan_prepare_encoder(struct gw *gw);
/* The session's encoder, NULL without a session. */
lh_wan_enc *wan_encoder(struct gw *gw);
/* The encoder may take more stream bytes now (its frame queue is short and the replay buffer has room). */
int wan_can_feed(struct gw *gw);
/* Return-path data may be queued (the urgent replay buffer is below its bound). */
int wan_urgent_room(struct gw *gw);
/* Moves encoded frames into WAN messages as far as the streams and the replay buffer allow. */
void wan_pump(struct gw *gw);
/* Moves every encoded frame into WAN messages now, whatever the limits (ordering points, full encoder). */
void wan_drain_encoder(struct gw *gw);
/*
 * Sends one message (p1+p2 is the payload) in its type's space. Bulk messages
 * are ordered after every frame the encoder has produced so far. 0, -ENOTCONN
 * without a session, -ENOMEM.
 */
int wan_send(struct gw *gw, int type, const void *p1, size_t n1, const void *p2, size_t n2);
/* Per-channel credit window the peer grants (bytes). */
uint64_t wan_peer_window(const struct gw *gw);
uint64_t wan_session_id(const struct gw *gw);
unsigned wan_links_up(const struct gw *gw);
/* Fails the session (decoder error, protocol error): every migration fails, streams close. */
void wan_session_fail(struct gw *gw, const char *reason);

#endif
