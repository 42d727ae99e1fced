/* SPDX-License-Identifier: MIT */
/*
 * The destination role: incoming migrations, decoded from the WAN, written to the destination QEMU. Files,
 * each calling only the ones below it (and mig_core):
 *
 *   dst_rx.c     WAN messages and frames of incoming migrations (open, channels, data, close), the role's tick
 *   dst_doubt.c  a session lost after the release: QEMU's answer awaited and recorded; OUTCOME_QUERY answers
 *   dst_prio.c   the priority lane's receiver (CHANNEL_DATA, kept until its CHANNEL_OPEN, verified per segment)
 *   dst_gate.c   the integrity gate: main's segment 0 checked, its end of stream held until every channel verified
 *   dst_lan.c    the destination QEMU's connections: ordered connects, output queues, credit, return path
 *   dst_role.c   the object, its state machine (dst_transition), failure and teardown, acceptance, verdict
 */
#ifndef LH_GATEWAY_MIG_DST_H
#define LH_GATEWAY_MIG_DST_H

#include "gateway/mig/mig_core.h"
#include "gateway/mig/outcome.h"

struct dst_chan {
	struct chan c;
	uint32_t stream0;       /* codec stream of segment 0 */
	int seg0_ok;            /* segment 0 END verified */
	struct bbuf held;       /* main bytes from EOF on, until the gate opens */
	uint64_t credit_sent;
	struct pc_watch pc;
	int saw_orp, checked_orp;
	int eof_held;           /* main: its gated segment 1 began with QEMU_VM_EOF (the gate's own evidence) */
};

struct dst_mig {
	struct mig m;
	enum dst_state state;
	int connecting;         /* a connect is in progress (or the destination's name is being resolved) */
	struct lh_resolve_req *dns_q;       /* the destination's name on the resolver (base/resolve.h), or NULL */
	struct sockaddr_storage dest_ss;    /* the destination's address once resolved: the later channels use it */
	socklen_t dest_sl;                  /* 0: not resolved (yet) */
	int gate_open;
	int ungated;            /* main arrives as plain bytes (WAN_SEG_UNGATED): no gate to open */
	int accepted;           /* QEMU accepted the stream (SHUT 0, or a clean close: unconfirmed) */
	int result_sent;
	int listen_seen;        /* main carried POSTCOPY_LISTEN: the source QEMU stopped the guest to switch */
	ev_tstamp doubt_since;  /* waiting for QEMU without a session since */
};

static inline struct dst_chan *DC(struct chan *c) { return (struct dst_chan *)c; }
static inline struct dst_mig *DM(struct mig *m) { return (struct dst_mig *)m; }
static inline struct dst_chan *dst_ch(struct dst_mig *dm, unsigned i) { return DC(dm->m.ch[i]); }

/* dst_role.c */
extern const struct mig_role dst_role;
struct dst_mig *dst_mig_new(struct gw *gw, uint32_t id, const char *route, const char *dest);
struct dst_chan *dst_chan_new(struct dst_mig *dm, void (*cb)(struct ev_loop *, ev_io *, int));
/* An incoming migration of the current session (the peer's numbers start over with each session). */
struct dst_mig *dst_find(struct gw *gw, uint32_t id);
/* The one way the destination machine moves: 0, or -1 (illegal: logged as a bug, state unchanged). */
int dst_transition(struct dst_mig *dm, enum dst_event ev, const char *why);
/* The failure transition (failed, or postcopy-paused after POSTCOPY_RUN); the teardown follows at mig_settle. */
void dst_fail(struct dst_mig *dm, enum mig_fail_reason code, const char *reason, int tell_peer);
/* QEMU's answer into the outcome store, durable before the caller relays it (OUTCOMES.md). */
void dst_record_outcome(struct dst_mig *dm, enum mig_outcome o, const char *evidence);
/* QEMU accepted the whole stream after the EOF was released: cutover. confirmed: the evidence is QEMU's
 * SHUT 0 on the return path; 0 for the weaker one (main closed cleanly, no return path to read). */
void dst_accepted(struct dst_mig *dm, const char *evidence, int confirmed);
/* Every channel closed: the verdict (done only when QEMU accepted the stream), the peer learns it. */
void dst_check_done(struct dst_mig *dm);
/* The end of main's stream went to the destination, or will: the gate opened, or there is none. */
static inline int dst_eof_released(const struct dst_mig *dm) { return dm->gate_open || dm->ungated; }

/* dst_lan.c */
void dst_chan_io(struct dst_chan *dc, int revents);
void dst_io_cb(struct ev_loop *loop, ev_io *w, int revents);
/* Starts the next connect to the destination in order (main, multifd by id, the rest). 0, or -1 failed. */
int dst_connect_next(struct dst_mig *dm);
/* The migration goes away: an answer for its destination's name is not waited for. */
void dst_dns_cancel(struct dst_mig *dm);
void dst_send_credit(struct dst_chan *dc, int force);
/* n more stream bytes for the channel fit in the credit we gave (WAN-PROTOCOL.md "Credit"); otherwise the
 * migration fails (protocol) and -1. */
int dst_credit_check(struct dst_chan *dc, size_t n);
/* Stream bytes for the destination QEMU: written at once when nothing is queued, else queued. 0, or -1 failed. */
int dst_deliver(struct dst_chan *dc, const uint8_t *data, size_t n);

/* dst_gate.c: main's segment 0 bytes through the receiver's parser; bytes of main's gated segment (held);
 * the gate's check (every channel's segment 0 verified, the EOF held): opens it. 0, or -1 failed. */
int dst_gate_item(struct dst_chan *dc, const lh_event *ev);
int dst_gate_hold(struct dst_chan *mc, unsigned seg, const uint8_t *data, size_t n);
void dst_gate_check(struct dst_mig *dm);

/* dst_prio.c: one CHANNEL_DATA (for a channel not open yet: kept); a priority-lane CHANNEL_OPEN; drops. */
void dst_prio_rx_msg(struct gw *gw, struct dst_mig *dm, const struct wan_cdata *d);
void dst_prio_open(struct gw *gw, struct dst_mig *dm, const struct wan_chan_open *co);
void dst_pend_tick(struct gw *gw);
void dst_pend_drop_all(struct gw *gw);

/* dst_doubt.c */
int dst_doubt_session_lost(struct dst_mig *dm, const char *why);
void dst_doubt_tick(struct dst_mig *dm);
void dst_doubt_rx_query(struct gw *gw, uint64_t uid);

/* dst_rx.c: what migration.c hands the destination role */
void dst_rx_msg(struct gw *gw, const struct wan_msg *m);
void dst_rx_frame(struct gw *gw, const lh_wan_frame_info *info, const uint8_t *data, size_t n, size_t frame_len);
/* An item of a decoded main stream (the pipe's parser), before its frame: 1 when no longer wanted. */
int dst_rx_item(struct gw *gw, uint32_t sid, const lh_event *ev);
/* Incoming migrations running now (in doubt included), against [wan] max_incoming. */
unsigned dst_live_count(struct gw *gw);
/* A stream came up: every incoming channel's current credit again (a lost CREDIT is never resent). */
void dst_resend_credits(struct gw *gw);
void dst_tick_all(struct gw *gw);
void dst_session_lost(struct gw *gw, const char *why);

#endif
