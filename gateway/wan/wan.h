/* SPDX-License-Identifier: MIT */
/* WAN session internals shared by wan_link.c (one TLS stream) and wan_session.c (seq, replay, reorder). */
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
#define WAN_RING 16384                  /* reorder window / replay count per space */
#define WAN_ACK_EVERY 64
#define WAN_ACK_BYTES (2u << 20)
#define WAN_WINDOW_KIB (32u * 1024)     /* per-channel credit window */
#define WAN_WINDOW_KIB_BYTES ((uint64_t)WAN_WINDOW_KIB << 10)
#define WAN_LOSS_BUDGET 30.0            /* s without any stream before the session fails */
#define WAN_DEAD_AFTER 10.0             /* s without input before a stream is declared dead */
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
	ev_tstamp backoff[WAN_MAX_LINKS];
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
};

/* wan_link.c */
struct wan_link *wan_link_new(struct gw *gw, int fd, int is_client, int idx, int connecting);
void wan_link_close(struct wan_link *l, const char *reason);
void wan_link_queue(struct wan_link *l, struct wan_out *o, int urgent);
void wan_link_kick(struct wan_link *l);
struct wan_out *wan_out_new(int type, uint8_t space, uint64_t seq, const void *p1, size_t n1,
			    const void *p2, size_t n2);
void wan_out_put(struct wan_out *o);
void wan_link_send_hello(struct wan_link *l);
void wan_link_tick(struct wan_link *l, ev_tstamp now);
void wan_link_reap(struct gw *gw);
/* Test-only fault injection: every stream of the session dies at once (abrupt, both directions). */
void wan_kill_all_links(struct gw *gw, const char *reason);

/* wan_session.c, called by wan_link.c */
void wan_sess_link_hello(struct wan_link *l);            /* HELLO received and checked */
void wan_sess_link_lost(struct wan_link *l);             /* before the link is freed */
void wan_sess_link_msg(struct wan_link *l, struct rx_msg *m); /* takes ownership */
void wan_sess_link_writable(struct wan_link *l);
void wan_sess_fill_hello(struct gw *gw, struct wan_hello *h, int idx);

#endif
