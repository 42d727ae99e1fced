/* SPDX-License-Identifier: MIT */
/*
 * A fake link for the WAN transport: two gateways (a client and a server struct gw) in one process, their
 * streams carrying whole messages in memory, no sockets, no TLS. It implements the stream I/O of
 * gateway/wan/wan.h (wan_link_kick, wan_link_io_close, wan_link_unsent, wan_dial) and the clock (ev_now,
 * ev_time: fake time that moves only with fake_advance). A test decides when and in which order the
 * messages in flight arrive (delay, reordering across streams), duplicates or injects messages, pauses a
 * stream's writes (messages stay queued on it) and kills streams with what they carry.
 * A recorder (struct wan_events) checks what the transport hands up: every sequenced message carries a
 * counter (frames: 8 bytes of payload; CHANNEL_CLOSE / RETURN_DATA: their mig), which must arrive 1, 2, 3 ...
 */
#ifndef LH_TEST_FAKE_LINK_H
#define LH_TEST_FAKE_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/gw.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_session.h"

/* one message in flight on a stream, in one direction */
struct fmsg {
	struct fmsg *next;
	size_t len;
	uint8_t data[]; /* header + payload */
};

struct fend {
	struct wan_link *l;   /* NULL once this end was closed */
	int closed;           /* this end's link was closed: the other end sees the stream end after the data */
	int paused;           /* writes stall: messages stay queued on the link (a full socket) */
	struct fmsg *head, *tail; /* written by this end, not yet delivered to the other */
	size_t n;
};

/* e[0] the client's end, e[1] the server's */
struct fstream {
	struct fstream *next;
	int idx;
	struct fend e[2];
};

struct rec {
	int sessions_new, sessions_closed, link_ups, rooms, before_bulk, credits, rtts, other_msgs;
	char closed_reason[200];
	uint32_t last_hello_flags;
	int fail_session_new;  /* session_new refuses */
	int busy;
	int ahead_take;        /* frame_ahead answers this */
	uint64_t frames_ahead;
	/* what was handed up, per space: the counters in order */
	uint64_t rx_next[3];   /* next counter expected (1 at session start) */
	uint64_t rx_count[3];
	uint64_t last_frame_seq;
	int order_errors;      /* counters out of order (meaningless once forged messages were injected) */
	char first_error[200];
	uint64_t seq_last[3];  /* seq of the last message handed up, per space (from the receive position) */
	int seq_errors;        /* handed up out of seq order, or with a gap: never acceptable */
	/* sender side */
	uint64_t tx_next[3];   /* next counter to send */
	struct wan_out *pending_frame; /* before_bulk sends it */
};

struct fworld {
	struct gw gw[2];       /* 0 client, 1 server */
	struct rec rec[2];
	struct wan_events ev[2];
	struct fstream *streams;
	double now;
	int dial_fail;         /* wan_dial fails (peer unreachable) */
	int black_hole;        /* fw_pump delivers nothing: the path drops everything, both ways */
	uint64_t dials;        /* wan_dial calls */
	double ack_age;        /* what wan_link_ack_age says (fw_init: -1, unknown) */
	unsigned seed;
	uint64_t delivered;
	int forged;            /* forged sequenced messages or ACKs were injected: counters prove nothing */
};

extern struct fworld *FW;

/* A client and a server with nstreams streams; the client session exists (not yet dialed). */
void fw_init(struct fworld *w, unsigned nstreams);
void fw_free(struct fworld *w);
/* Time moves by dt; both gateways tick (acks, keepalive, redial, loss budget). */
void fw_advance(struct fworld *w, double dt);
/* Both gateways tick at the current time (dials the client's missing streams). */
void fw_tick(struct fworld *w);
/* Delivers one message in flight from end `from` of s; 0 when there was none. Propagates stream ends. */
int fw_deliver(struct fworld *w, struct fstream *s, int from);
/* Delivers everything in flight (streams taken in a random order per round when shuffle); messages that
 * the deliveries cause are delivered too. Returns messages delivered. */
uint64_t fw_pump(struct fworld *w, int shuffle);
/* The live stream with client slot idx, or NULL. */
struct fstream *fw_stream(struct fworld *w, int idx);
/* Closes both ends at once; what was in flight is lost. */
void fw_kill(struct fworld *w, struct fstream *s, const char *why);
/* A copy of the head message in flight from `from` is appended (a duplicate arriving later). */
int fw_dup_head(struct fstream *s, int from);
/* Appends raw bytes (header + payload) as a message in flight from `from`. */
void fw_inject(struct fstream *s, int from, const void *p, size_t n);
/* Builds a header (type, space, len, seq) + payload and injects it. */
void fw_inject_msg(struct fstream *s, int from, int type, int space, uint64_t seq, const void *p, size_t n);
/* Pauses or resumes the writes of end `end` (resuming kicks the link). */
void fw_pause(struct fstream *s, int end, int paused);
/* Messages in flight on all streams. */
size_t fw_in_flight(const struct fworld *w);

/* Sender helpers: the next counter of the space (frame / CHANNEL_CLOSE share bulk, RETURN_DATA urgent). */
int fw_send_frame(struct fworld *w, int side);
int fw_send_bulk_msg(struct fworld *w, int side);
int fw_send_urgent(struct fworld *w, int side);

/* Transport invariants of gw's session (replay bytes add up, ascending, ring bounded); 0 or -1 (printed). */
int fw_check_invariants(struct fworld *w, int side);

#endif
