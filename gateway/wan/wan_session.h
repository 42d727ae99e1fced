/* SPDX-License-Identifier: MIT */
/* The WAN transport as the layer above sees it: start/stop, send messages, its handler table. */
#ifndef LH_GATEWAY_WAN_SESSION_H
#define LH_GATEWAY_WAN_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/gw.h"
#include "gateway/wan/wan_proto.h"

/*
 * What the transport tells the layer above (the codec pipe), through the table it registered
 * (wan_set_events). The transport knows nothing of the codec or of migrations: WAN_FRAME
 * payloads are opaque to it, other sequenced messages and CREDIT are handed on decoded.
 */
struct wan_events {
	void *ctx;
	/* A new session starts (fresh sequence spaces on both sides). 0, or -errno: the session is not created. */
	int (*session_new)(void *ctx, uint64_t id);
	/* The session goes (reason): called before its streams and buffers are freed. */
	void (*session_closed)(void *ctx, const char *reason);
	/* A stream came up; hello_flags are the peer's HELLO flags (WAN_HELLO_*). */
	void (*link_up)(void *ctx, uint32_t hello_flags);
	/* Acknowledgements or a writable stream made room: more may be sent now. */
	void (*room)(void *ctx);
	/* Bulk order: a bulk message is about to take the next bulk sequence number; frames the layer
	 * above has produced so far must go first (wan_frame_send), whatever the limits. */
	void (*before_bulk)(void *ctx);
	/* The next WAN_FRAME in bulk order. 0, or -1 when the handler failed the session. */
	int (*frame)(void *ctx, const uint8_t *p, size_t n, uint64_t seq);
	/* A WAN_FRAME received beyond the next one (still in the reorder window, unchanged until frame()
	 * gets it): 1 taken for work ahead, 0 stop offering. The payload lives until session_closed returns. */
	int (*frame_ahead)(void *ctx, const uint8_t *p, size_t n);
	/* Any other sequenced message in order (bulk or urgent), or a CREDIT. */
	void (*msg)(void *ctx, const struct wan_msg *m);
	/* A PONG came back after ms. */
	void (*rtt)(void *ctx, double ms);
	/* Work depends on the session (the loss budget applies even with nothing to resend). */
	int (*busy)(void *ctx);
};
/* The layer above registers its handlers (before wan_start). */
void wan_set_events(struct gw *gw, const struct wan_events *ev);

/* Opens the [wan] listener and/or starts dialing the peer. 0 or -errno (logged). */
int wan_start(struct gw *gw);
/* Closes every stream and the session (its migrations fail with reason). */
void wan_stop(struct gw *gw, const char *reason);
/* Called from the housekeeping timer (every 10 ms). */
void wan_tick(struct gw *gw);

/* 1 when a session exists and at least one stream is up. */
int wan_ready(const struct gw *gw);
/* A bulk message may be queued now: the replay buffer has room and the least-queued stream is below its limit. */
int wan_bulk_room(const struct gw *gw);
/* The replay buffer alone has room for more bulk messages (what a producer may buffer ahead of the streams). */
int wan_replay_room(const struct gw *gw);
/* Return-path data may be queued (the urgent replay buffer is below its bound). */
int wan_urgent_room(struct gw *gw);
/*
 * A WAN_FRAME message of n payload bytes to be filled in place (wan_frame_payload) and sent with
 * wan_frame_send, which gives it the next bulk sequence number. NULL without a session or memory.
 */
struct wan_out *wan_frame_new(struct gw *gw, size_t n);
uint8_t *wan_frame_payload(struct wan_out *o);
/* Queues it (it is consumed). 0, -ENOTCONN, -ENOMEM. */
int wan_frame_send(struct gw *gw, struct wan_out *o);
/* Drops one that will not be sent. */
void wan_frame_drop(struct wan_out *o);
/*
 * Sends one message (p1+p2 is the payload) in its type's space. Bulk messages
 * are ordered after every frame produced so far (events.before_bulk). 0, -ENOTCONN
 * without a session, -ENOMEM.
 */
int wan_send(struct gw *gw, int type, const void *p1, size_t n1, const void *p2, size_t n2);
/* Per-channel credit window the peer grants (bytes). */
uint64_t wan_peer_window(const struct gw *gw);
uint64_t wan_session_id(const struct gw *gw);
/* 1 when this gateway dialed the session (the client), 0 when it accepted it or there is none. */
int wan_session_is_client(const struct gw *gw);
/* The peer's HELLO flags on the last stream that came up (WAN_HELLO_*, without NEW_SESSION); 0 without one. */
uint32_t wan_peer_flags(const struct gw *gw);
/* The WAN protocol version the session speaks (the lower of both sides' highest; gate newer message fields
 * on it), 0 before its first stream is up. */
uint32_t wan_session_version(const struct gw *gw);
/* Why the last stream was refused (TLS, HELLO: certificate, version, store_mb ...); "" once a stream is up. */
const char *wan_last_error(const struct gw *gw);
unsigned wan_links_up(const struct gw *gw);
/* Seconds the session has had no stream up (the outage so far; [wan] outage_budget_s applies), 0 when up or
 * without a session. */
double wan_down_for(const struct gw *gw);
/* The streams' smoothed load 0..100 (send queues and spare CPU, base/cpu_pressure.h), every 100 ms. */
double wan_link_pressure(const struct gw *gw);
/* Where each ordered space stands (status "wan.spaces", CONTROL.md): what is unacknowledged, what waits for a gap. */
struct lh_jbuf;
void wan_spaces_json(const struct gw *gw, struct lh_jbuf *b);
/* Fails the session (decoder error, protocol error): every migration fails, streams close. */
void wan_session_fail(struct gw *gw, const char *reason);

#endif
