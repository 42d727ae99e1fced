/* SPDX-License-Identifier: MIT */
/*
 * WAN transport internals: wan_session.c (seq, replay, reorder, ack, the tick), wan_link.c (one stream without
 * I/O: queues, HELLO, keepalive) and the stream I/O below them (wan_io.c and wan_dial.c: sockets and TLS; in
 * tests, a fake link: tests/unit/gateway_wan).
 */
#ifndef LH_GATEWAY_WAN_H
#define LH_GATEWAY_WAN_H

#include <ev.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/base/cpu_pressure.h"
#include "gateway/gw.h"
#include "gateway/wan/wan_proto.h"

#define WAN_MAX_LINKS 64
#define WAN_LINK_QMAX (4u << 20)        /* bytes queued per stream before it counts as full */
#ifndef WAN_RING                        /* (the transport's fuzzer builds with a small one, to reach its edges) */
#define WAN_RING 16384                  /* reorder window / replay count per space */
#endif
#define WAN_ACK_EVERY 64
#define WAN_ACK_BYTES (2u << 20)
#define WAN_WINDOW_KIB (32u * 1024)     /* per-channel credit window */
#define WAN_WINDOW_KIB_BYTES ((uint64_t)WAN_WINDOW_KIB << 10)
/*
 * Liveness (WAN-PROTOCOL.md "Outages"). Every stream that is up sends a PING every WAN_PROBE_EVERY s, so a
 * working path always carries input; a stream without input for WAN_DEAD_AFTER s is dead (a black-holed
 * path), and its unacknowledged messages go out again on the others; unless the peer's kernel acknowledged
 * our bytes in that time (the path works, the peer daemon is slow: a stalled loop, CPU starvation), which
 * buys it up to WAN_PEER_HUNG s. The kernel's TCP_USER_TIMEOUT backs this up. A client stream must be up
 * (connect + TLS + HELLO) within WAN_DIAL_DEADLINE s of its dial; a stream slot is dialed again WAN_REDIAL_S s
 * (+-25 % jitter) after it was lost or failed to come up.
 */
#define WAN_PROBE_EVERY 0.5
#define WAN_DEAD_AFTER 2.0
#define WAN_PEER_HUNG 10.0              /* s of silence from a peer daemon whose kernel still acknowledges */
#define WAN_USER_TIMEOUT_MS 3000u
#define WAN_DIAL_DEADLINE 3.0
#define WAN_REDIAL_S 1.0
#define WAN_ACCEPT_DEADLINE 3.0         /* s from accept to TLS + HELLO: an unauthenticated connection's life */
#define WAN_LISTEN_BACKLOG 1024         /* connections the kernel completes for us before we accept them */
#define WAN_ACCEPT_BATCH 64             /* accepted per wakeup of the listener */
#define WAN_ACCEPT_PAUSE 0.1            /* s the listener rests when accept runs out of descriptors */
#define WAN_PRE_AUTH_BUF (64u << 10)    /* socket buffers of an accepted stream until its peer is authenticated */
#define WAN_STALL_GRACE 1.0             /* a tick this late: the loop stalled, input may be waiting unread */
#define WAN_NOTSENT_LOWAT (128u << 10)  /* unsent bytes the kernel may hold per stream (wan_sock_tune) */
#define WAN_AHEAD_MAX 4                 /* frames offered ahead of the next one (events.frame_ahead) */

/* A sequenced or link message on its way out; shared by a replay buffer and a stream queue. */
struct wan_out {
	int refs;
	uint8_t space;
	uint64_t seq;
	int link;          /* stream it was queued on, -1 = none yet */
	size_t len;        /* header + payload */
	uint8_t data[];
};

struct ptrq {
	void **v;
	size_t head, n, cap;
};
int ptrq_push(struct ptrq *q, void *p);
int ptrq_push_front(struct ptrq *q, void *p);
void *ptrq_pop(struct ptrq *q);
void *ptrq_at(const struct ptrq *q, size_t i);
void ptrq_free(struct ptrq *q);

enum wan_link_state { WL_CONNECTING, WL_HANDSHAKE, WL_HELLO, WL_UP, WL_DEAD };

struct wan_link {
	struct gw *gw;
	struct wan_link *next_pending; /* gw->pending list (server, before HELLO) */
	enum wan_link_state state;
	int is_client, idx, fd;
	SSL *ssl;
	ev_io io;
	int io_events;
	ev_tstamp last_rx, last_ping;
	ev_tstamp t_open;               /* created (dialed or accepted) */
	struct ns_ip src;               /* server: the address it came from (wan_admit.h) */
	/* receive: header, then payload straight into a message buffer */
	uint8_t hdr[WAN_HDR_LEN];
	size_t hdr_got, body_got;
	struct wan_hdr h;
	uint8_t *body;
	/* send: urgent/link messages before bulk, whole messages */
	struct ptrq q_urgent, q_bulk;
	struct wan_out *cur;
	size_t cur_off, queued;
	size_t uqueued;                 /* bytes in q_urgent: what an urgent message queued now waits behind */
	uint64_t written;
	struct wan_hello peer_hello;
	int hello_sent;
	uint32_t version;               /* WAN protocol this stream speaks (HELLO: the lower of both sides' highest) */
	char peer[64];
};

struct rx_msg {
	struct wan_hdr h;
	uint8_t data[];
};

struct tx_space {
	uint64_t next_seq;
	uint64_t acked;
	struct ptrq replay;   /* unacknowledged, ascending seq */
	size_t replay_bytes;
};

struct rx_space {
	uint64_t next;          /* next seq to apply */
	struct rx_msg **ring;   /* WAN_RING slots, by seq % WAN_RING */
	uint32_t since_ack;
	size_t bytes_since_ack;
	size_t held_bytes;      /* of the messages in ring[] (arrived past a gap), bounded by wan_rx_held_max */
};

enum wan_sess_state { WS_UP, WS_DEGRADED, WS_DOWN };

struct wan_session {
	struct gw *gw;
	uint64_t id;
	int is_client;
	enum wan_sess_state state;
	unsigned nlinks;                  /* slots; client: cfg streams, server: highest index + 1 */
	struct wan_link *links[WAN_MAX_LINKS];
	ev_tstamp redial_at[WAN_MAX_LINKS];
	ev_tstamp last_tick;            /* the previous wan_tick (a loop stall shows as a gap) */
	ev_tstamp down_since;
	struct tx_space tx[3];
	struct rx_space rx[3];
	uint64_t ahead;                   /* BULK seqs below this were offered ahead (or applied) */
	uint32_t peer_window_kib;
	unsigned rr;                      /* round-robin start for pick_link */
	double pressure;                  /* smoothed link pressure 0..100 (wan_link_pressure) */
	struct cpu_meter cpu;             /* CPU load, for the pressure */
	int hello_new;                    /* server: the HELLO being sent announces a new session */
	unsigned links_lost;              /* streams of this session that died after their HELLO */
	uint32_t peer_flags;              /* the peer's HELLO flags (wan_peer_flags) */
	size_t replay_max;
	ev_tstamp last_ack_tx;
	uint64_t ack_sent[3];
	uint32_t version;                 /* WAN protocol the session speaks, from its first stream's HELLO; 0 before */
	uint64_t incarnation;             /* random, this session object's (HELLO): the peer tells a restart by it */
	uint64_t peer_incarnation;        /* the peer's, from the first stream up; 0 = unknown (older peer) */
};

/*
 * The stream I/O: what wan_link.c and wan_session.c need from below. The daemon's is sockets and TLS
 * (wan_io.c, wan_dial.c); a test may provide its own (tests/unit/gateway_wan/fake_link.c), so nothing
 * above this line touches a socket.
 */
/* Messages were queued on l: write what can be written now (wan_link_cur, wan_link_wrote). */
void wan_link_kick(struct wan_link *l);
/* l is being closed (wan_link_close): release its socket and TLS state; the peer sees the stream end. */
void wan_link_io_close(struct wan_link *l);
/* Bytes of l the kernel holds not yet sent (they go before anything queued now). */
size_t wan_link_unsent(const struct wan_link *l);
/* Seconds since the peer's TCP last acknowledged anything on l (its kernel, not its daemon), or -1 unknown. */
double wan_link_ack_age(const struct wan_link *l);
/* Client: start a stream for slot idx of gw->sess (sets gw->sess->links[idx], or a later redial_at[idx]). */
void wan_dial(struct gw *gw, unsigned idx);
/* When a stream slot is dialed again after a loss or a failed dial: WAN_REDIAL_S, jittered. */
double wan_redial_delay(void);
/* Test-only fault injection: every stream of the session dies at once (abrupt, both directions). */
void wan_kill_all_links(struct gw *gw, const char *reason);
/* wan_io.c: a stream over a connected (or connecting) TCP socket; NULL (fd closed) on failure. */
struct wan_link *wan_link_new(struct gw *gw, int fd, int is_client, int idx, int connecting);

/* wan_link.c: one stream, for the I/O below and the session above */
void wan_link_init(struct wan_link *l, struct gw *gw, int is_client, int idx, enum wan_link_state st);
void wan_link_set_state(struct wan_link *l, enum wan_link_state s, const char *why);
/* The TLS handshake is done: the HELLO exchange starts (the client sends its HELLO). */
void wan_link_secured(struct wan_link *l);
/* The message being written, else the next one (urgent and link messages first, bulk once up); NULL: none. */
struct wan_out *wan_link_cur(struct wan_link *l);
/* n more bytes of wan_link_cur(l) were written. */
void wan_link_wrote(struct wan_link *l, size_t n);
/* A message header arrived: 0, or -1 when it is bad (the stream is closed with the field named). */
int wan_link_rx_hdr(struct wan_link *l, const uint8_t raw[WAN_HDR_LEN], struct wan_hdr *h);
/* A whole message arrived (m->h set; m is taken): 0, or -1 when the stream was closed. */
int wan_link_rx(struct wan_link *l, struct rx_msg *m);
/*
 * A stream was refused (TLS or HELLO): kept for the status; logged once per distinct reason, or for an
 * incoming one before its TLS handshake completed, at most a line a second (wan_refused_log).
 */
void wan_link_refused(struct wan_link *l, const char *reason);
void wan_link_close(struct wan_link *l, const char *reason);
/* An incoming connection refused before it was authenticated: at most a log line a second, with a count. */
void wan_refused_log(struct gw *gw, const char *peer, const char *why);
/* The count of refusals held back, once their second is over (the tick). */
void wan_refused_flush(struct gw *gw);
void wan_link_queue(struct wan_link *l, struct wan_out *o, int urgent);
struct wan_out *wan_out_new(int type, uint8_t space, uint64_t seq, const void *p1, size_t n1,
			    const void *p2, size_t n2);
void wan_out_put(struct wan_out *o);
void wan_link_send_hello(struct wan_link *l);
void wan_link_tick(struct wan_link *l, ev_tstamp now);
void wan_link_reap(struct gw *gw);
/* The WAN protocol versions this gateway speaks (WAN_PROTO_VERSION_MIN..WAN_PROTO_VERSION, or the test override). */
void wan_version_range(const struct gw *gw, uint32_t *lo, uint32_t *hi);

/* wan_session.c, called by wan_link.c */
void wan_sess_link_hello(struct wan_link *l);            /* HELLO received and checked */
void wan_sess_link_lost(struct wan_link *l);             /* before the link is freed */
void wan_sess_link_msg(struct wan_link *l, struct rx_msg *m); /* takes ownership */
void wan_sess_link_writable(struct wan_link *l);
void wan_sess_fill_hello(struct gw *gw, struct wan_hello *h, int idx);

#endif
