/* SPDX-License-Identifier: MIT */
/* Migration and channel objects shared by migration.c (common), lan_src.c and lan_dst.c. */
#ifndef LH_GATEWAY_MIG_INTERNAL_H
#define LH_GATEWAY_MIG_INTERNAL_H

#include <ev.h>
#include <stdint.h>

#include "gateway/gw.h"
#include "gateway/mig/migration.h"
#include "gateway/mig/outcome.h"
#include "lh_rp.h"
#include "lh_stream.h"
#include "netstate/common.h"
#include <xxhash.h>

#define MIG_MAX_CHAN 64
#define SRC_RBUF (256u << 10)

/* A bounded byte queue (bounded by credit on the destination, by SRC limits on the source). */
struct bbuf {
	uint8_t *p;
	size_t off, len, cap;
};
int bbuf_add(struct bbuf *b, const void *d, size_t n);
void bbuf_eat(struct bbuf *b, size_t n);
void bbuf_free(struct bbuf *b);

enum mig_dir { MIG_OUT = 0, MIG_IN = 1 };

enum mig_state {
	MS_OPEN,      /* channels streaming */
	MS_CUT,       /* source: main's EOF seen, segments cut; destination: waiting for the gate */
	MS_RELEASED,  /* destination: verified, EOF released to QEMU */
	MS_DONE,      /* every channel closed cleanly */
	MS_FAILED,
	MS_INDOUBT,   /* source: the session was lost after main's EOF left; QEMU held paused (indoubt.h) */
};
const char *mig_state_name(enum mig_state s);

enum chan_state {
	CS_CLASSIFY,  /* source: waiting for the first bytes */
	CS_WAIT,      /* destination: waiting for its turn to connect */
	CS_CONNECTING,
	CS_OPEN,
	CS_CLOSED,    /* both directions finished */
};

struct mig;

struct chan {
	struct mig *m;
	uint16_t idx;
	lh_channel_kind kind;
	uint8_t mf_id;
	enum chan_state state;
	int fd;
	ev_io io;
	int io_events;
	uint32_t stream_id;     /* codec stream of the current segment */
	uint16_t segment;
	uint64_t fwd_bytes;     /* source: read from QEMU; destination: written to QEMU */
	uint64_t rev_bytes;     /* return path bytes */
	int fwd_eof;            /* source: QEMU closed its side; destination: CHANNEL_CLOSE seen */
	int rev_eof;            /* source: RETURN fin seen; destination: QEMU closed its side */
	int shut_wr;            /* we shut our write side */
	int linger;             /* source, failed: return-path bytes still go to QEMU, then FIN (chan_linger) */
	ev_tstamp linger_since;
	struct bbuf out;        /* bytes to write to QEMU (source: return path; destination: stream) */
	/* source side */
	ev_tstamp t_accept;
	uint8_t *rbuf;
	size_t rlen;
	uint64_t credit_limit;
	int blocked;
	int seg_ended;          /* current segment ended at the cut; the next bytes open a new one */
	lh_parser *parser;      /* main: finds the EOF byte */
	lh_rp_scanner rp;       /* main, both sides: the destination QEMU's return path, for its SHUT */
	/* priority lane (postcopy preempt, both sides): bytes as CHANNEL_DATA, each segment hashed here */
	int prio;
	XXH3_state_t *prio_hash;
	uint64_t prio_bytes;    /* bytes of the current segment */
	/* source, multifd: SYNC packets read so far (the EOF cut waits for them, lan_src.c cut_ready) */
	lh_parser *mfparser;    /* NULL when not a multifd channel, or not followed (mf_lost) */
	uint32_t mf_syncs;      /* SYNC packets read whole */
	uint32_t mf_sync_pages; /* pages still due in the SYNC packet being read (7.2 SYNCs carry pages) */
	int mf_lost;
	uint64_t fed, covered;  /* main: bytes given to the parser / handed on in its events */
	struct bbuf pend;       /* main: bytes [covered, fed), still inside the parser (for a fallback) */
	/* destination side */
	uint32_t stream0;       /* codec stream of segment 0 */
	int seg0_ok;            /* segment 0 END verified */
	struct bbuf held;       /* main bytes from EOF on, until the gate opens */
	uint64_t credit_sent;
	lh_parser *rxparser;    /* main segment 0: OPEN_RETURN_PATH, EOF-in-segment-0 check */
	int saw_orp, checked_orp;
	int eof_held;           /* main: its gated segment 1 began with QEMU_VM_EOF (the gate's own evidence) */
};

struct mig {
	struct gw *gw;
	struct mig *next;
	enum mig_dir dir;
	uint32_t id;                     /* MIG_OUT: ours; MIG_IN: the peer's, unique only within a session */
	uint64_t session;                /* the WAN session it started on */
	uint64_t uid;                    /* unique across sessions and restarts, the same at both gateways (mig_uid) */
	enum mig_state state;
	char route[64];
	char dest[300];
	char why[200];                   /* MS_FAILED: what went wrong */
	enum mig_fail_reason fail_code;  /* MS_FAILED: the class of why */
	int confirmed;                   /* MS_DONE: the destination QEMU's SHUT 0 was seen, not only a clean close */
	char evidence[200];              /* MS_DONE: what the verdict rests on */
	struct route *r;
	struct chan *ch[MIG_MAX_CHAN];
	unsigned nch;
	int connecting;         /* destination: a connect is in progress */
	int gate_open;
	int ungated;            /* destination: main arrives as plain bytes (WAN_SEG_UNGATED): no gate to open */
	int opened;             /* source: MIGRATION_OPEN sent */
	int result_sent, result_seen;
	ev_tstamp t_start, t_cut, t_end;
	uint64_t lan_bytes;     /* source: from QEMU; destination: to QEMU */
	uint64_t wan_bytes;     /* frame bytes of its streams (source: encoder stats) */
	uint64_t raw_bytes;
	uint32_t vni;           /* the guest's segment (0 = none) and identity, from the route / MIGRATION_OPEN */
	struct ns_guest guest;
	int accepted;           /* destination: QEMU accepted the stream (SHUT 0, or a clean close: unconfirmed) */
	struct gw_cutover *cut; /* the cutover once it ran */
	/* after a session loss that could not decide it (indoubt.c) */
	ev_tstamp doubt_since;  /* source: in-doubt since; destination: waiting for QEMU without a session since */
	ev_tstamp doubt_asked;  /* source: last OUTCOME_QUERY */
	unsigned doubt_asks;
	int doubt_answer;       /* source: the last OUTCOME answer (enum wan_outcome_code), -1 none yet */
	char doubt_note[200];   /* source: what is known, for status */
	int held;               /* source: the fd holder keeps its sockets (src_hold.c) */
	uint64_t progress_mark;  /* bytes moved at progress_at (stall detection) */
	/* postcopy with a preempt channel, page-request round trips: destination: return-path read -> first
	 * preempt bytes after it (whole WAN round trip); source: return-path bytes in -> preempt bytes out */
	ev_tstamp rq_since;     /* 0 = nothing outstanding */
	unsigned rq_n;
	double rq_sum, rq_max;
	/* source: main's multifd sync points before its EOF, and the EOF cut waiting for the channels' SYNCs */
	uint32_t mf_flush, ram_eos;
	int cut_wait;
	ev_tstamp cut_wait_since;
	struct bbuf cut_late;   /* main's bytes from the EOF on, held while the cut waits */
	/* source: WAN PING round trips while it ran (PING rides the urgent queue: what an urgent message waits) */
	unsigned ping_n;
	double ping_sum, ping_max;
	ev_tstamp progress_at;
};

struct mig *mig_new(struct gw *gw, enum mig_dir dir, uint32_t id, const char *route, const char *dest);
void mig_set_state(struct mig *m, enum mig_state s, const char *why);
/*
 * The one teardown for a migration that failed: resets its QEMU connections (the source QEMU's main
 * connection, when it carries a return path, gets what the destination said and a FIN instead), tells the
 * peer (destination: MIGRATION_RESULT ok=0 with the reason code). code classifies reason.
 */
void mig_fail(struct mig *m, enum mig_fail_reason code, const char *reason, int tell_peer);
struct chan *chan_new(struct mig *m, int fd);
/* The only way a channel changes state: logs the transition (debug). */
void chan_set_state(struct chan *c, enum chan_state s, const char *why);
/* Event mask from the channel's state (read wanted, bytes to write). */
void chan_update_io(struct chan *c);
/* Resets (SO_LINGER 0) or closes the channel's socket. */
void chan_close_fd(struct chan *c, int reset);
struct mig *mig_find(struct gw *gw, enum mig_dir dir, uint32_t id);
/* Destination: QEMU accepted the whole stream after the EOF was released: cutover. confirmed: the evidence
 * is QEMU's SHUT 0 on the return path; 0 for the weaker one (main closed cleanly, no return path to read). */
void mig_accepted(struct mig *m, const char *evidence, int confirmed);
/* Destination: QEMU's answer into the outcome store, durable before the caller relays it (OUTCOMES.md). */
void mig_record_outcome(struct mig *m, enum mig_outcome o, const char *evidence);
/* Every channel closed: the verdict (destination: done only when QEMU accepted the stream), result, reap. */
void mig_check_done(struct mig *m);
/*
 * A migration's message to the peer gateway, only on the session it started on: its number means another
 * migration on a later session (the peer's counter starts over). wan_send's returns, -ENOTCONN then.
 */
int mig_send(struct mig *m, int type, const void *p1, size_t n1, const void *p2, size_t n2);
/* Test-only (LH_TEST_DIE_AT): the process ends at this point as in a crash, when asked to. */
void mig_test_die_at(struct gw *gw, const char *point);
/* Source: the return path's queued bytes go to QEMU, then FIN; reads (discarding) until it closes. */
void chan_linger(struct chan *c);
/* Writes c->out to the socket; 0, or -1 after a failure (migration failed). */
int chan_flush_out(struct chan *c);

/* lan_src.c / lan_dst.c */
void src_chan_io(struct chan *c, int revents);
void dst_chan_io(struct chan *c, int revents);
void src_rx_msg(struct gw *gw, const struct wan_msg *m);
void dst_rx_msg(struct gw *gw, const struct wan_msg *m);
void src_tick(struct mig *m);
void dst_tick(struct mig *m);
/* lan_src.c, for lan_cut.c: codec segments of a channel, plain bytes into them, the end of a closed channel */
#define CUT_LATE_MAX (64u << 20)   /* main's bytes after the EOF held while the cut waits (VMDESC, a few KiB) */
void src_mig_tag(const struct mig *m, char *buf, size_t len);
int src_enc_feed_all(struct gw *gw, uint32_t sid, const uint8_t *p, size_t n);
int src_open_segment(struct chan *c, uint16_t seg, lh_channel_kind kind);
void src_add_stats(struct mig *m, const lh_wan_stats *st);
long src_feed_plain(struct chan *c, const uint8_t *p, size_t n);
void src_fwd_finish(struct chan *c);
/* lan_cut.c: the EOF cut (WAN-PROTOCOL.md, "multifd at the cut"). Follow a multifd channel's bytes (SYNC count);
 * every multifd channel has its SYNCs; cut now; cut after waiting (main's held bytes follow); the wait's timeout
 * (0, or -1 when the migration failed). */
void src_mf_follow(struct chan *c, const uint8_t *p, size_t n);
int src_cut_ready(struct mig *m);
void src_cut_at_eof(struct chan *mc);
void src_cut_release(struct mig *m, const char *how);
int src_cut_tick(struct mig *m);
/* lan_dst.c, for lan_prio.c: bytes for the destination QEMU (0, or -1: failed); the integrity gate check */
int dst_deliver(struct chan *c, const uint8_t *data, size_t n);
void dst_gate_check(struct mig *m);

/* lan_prio.c: the priority lane (postcopy preempt). Source: bytes out as CHANNEL_DATA (bytes taken or -lh_err),
 * END of the current segment (0 or -errno). */
long prio_send(struct chan *c, const uint8_t *p, size_t n);
int prio_end(struct chan *c);
/* Receiver: one CHANNEL_DATA for an open channel; one for a channel not open yet (kept); the kept ones of
 * (mig, chan), unlinked (NULL: none); applying them to c (NULL: just dropped) and freeing them. */
struct cdata_pend;
void prio_rx(struct mig *m, struct chan *c, const struct wan_cdata *d);
void prio_pend_add(struct gw *gw, const struct wan_cdata *d);
struct cdata_pend *prio_pend_take(struct gw *gw, uint32_t mig, uint16_t chan);
void prio_pend_apply(struct cdata_pend *p, struct mig *m, struct chan *c);
/* Priority-lane bytes waiting for their channel: dropped after a while, or all at once (session lost). */
void dst_pend_tick(struct gw *gw);
void dst_pend_drop_all(struct gw *gw);
/* A fresh XXH3-128 state for a priority-lane segment; NULL when out of memory. */
XXH3_state_t *prio_hash_new(void);
/* The digest of a priority-lane segment as 16 bytes (XXH128 canonical form, big-endian). */
void prio_hash_digest(XXH3_state_t *st, uint8_t out[16]);

#endif
