/* SPDX-License-Identifier: MIT */
/*
 * What both migration roles are made of (mig_core.c): the parts of a migration and of a channel that both
 * roles have, byte queues, messages to the peer, the record of each transition, and the failure rule.
 * The source role (src.h) and the destination role (dst.h) embed these in their own types.
 *
 * Failure and teardown. A failure is a transition: mig_fail records why, moves the role's machine to
 * failed (postcopy-paused once POSTCOPY_RUN went by) and marks the migration for teardown; it never closes a
 * socket nor frees anything. The teardown (connections reset or lingered, open segments aborted, the peer
 * told) runs in one place, mig_settle, at the end of the event that entered mig/: the I/O callback, the
 * tick, each codec-pipe handler, each control call. So every caller may go on after a call that failed the
 * migration: its objects and sockets are still there, and the primitives that move bytes (chan_flush_out,
 * the roles' feeds and deliveries) do nothing for a migration that ended. Functions still return < 0 when
 * they failed it, so that their caller stops what it was doing; no caller re-checks the state for safety.
 */
#ifndef LH_GATEWAY_MIG_CORE_H
#define LH_GATEWAY_MIG_CORE_H

#include <ev.h>
#include <stdint.h>

#include "gateway/gw.h"
#include "gateway/base/json.h"
#include "gateway/mig/migration.h"
#include "gateway/mig/states.h"
#include "lh_rp.h"
#include "lh_stream.h"
#include "netstate/common.h"
#include <xxhash.h>

#define MIG_MAX_CHAN 64

/* A bounded byte queue (bounded by credit on the destination, by SRC limits on the source). */
struct bbuf {
	uint8_t *p;
	size_t off, len, cap;
};
int bbuf_add(struct bbuf *b, const void *d, size_t n);
void bbuf_eat(struct bbuf *b, size_t n);
void bbuf_free(struct bbuf *b);

struct mig;

/* What the generic code (list, tick, status) asks of a role; each role defines one (src_role.c, dst_role.c). */
struct mig_role {
	const char *dir;                    /* "out" / "in": status "direction", log tags */
	int idx;                            /* 0 source, 1 destination: metrics arrays */
	const struct mig_machine *machine;
	unsigned (*state)(const struct mig *m);
	/* the failure transition (mig_fail) and the deferred teardown mig_settle runs */
	void (*fail)(struct mig *m, enum mig_fail_reason code, const char *reason, int tell_peer);
	void (*teardown)(struct mig *m);
	void (*json)(const struct mig *m, struct lh_jbuf *b); /* role-specific status members */
	void (*free)(struct mig *m);
};

enum chan_state {
	CS_CLASSIFY,  /* source: waiting for the first bytes */
	CS_WAIT,      /* destination: waiting for its turn to connect */
	CS_CONNECTING,
	CS_OPEN,
	CS_CLOSED,    /* both directions finished */
};

/*
 * A channel, as both roles have it: one QEMU connection. "Forward" is the migration stream (source: read
 * from QEMU; destination: written to QEMU), "reverse" the return path.
 */
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
	int seg_ended;          /* the current segment ended (source: cut or closed; priority lane: END seen) */
	uint64_t fwd_bytes, rev_bytes;
	int fwd_eof;            /* source: QEMU closed its side; destination: CHANNEL_CLOSE seen */
	int rev_eof;            /* source: RETURN fin seen; destination: QEMU closed its side */
	int shut_wr;            /* we shut our write side */
	int blocked;            /* reading paused: no credit or no room (source), no urgent room (destination) */
	struct bbuf out;        /* bytes to write to QEMU (source: return path; destination: stream) */
	lh_rp_scanner rp;       /* main: the destination QEMU's return path, for its SHUT */
	/* priority lane (postcopy preempt): bytes as CHANNEL_DATA, each segment hashed */
	int prio;
	XXH3_state_t *prio_hash;
	uint64_t prio_bytes;    /* bytes of the current segment */
};

/* A migration, as both roles have it: identity, stats, verdict, the generic view of its state. */
struct mig {
	const struct mig_role *role;
	struct gw *gw;
	struct mig *next;
	uint32_t id;                     /* source: ours; destination: the peer's, unique only within a session */
	uint64_t session;                /* the WAN session it started on */
	uint64_t uid;                    /* unique across sessions and restarts, the same at both gateways (mig_uid) */
	const char *phase;               /* the role's state name (status "phase") */
	enum mig_end end;                /* what the role's state says of the guest */
	char route[64];
	char dest[300];
	char why[200];                   /* failed / paused: what went wrong */
	enum mig_fail_reason fail_code;  /* failed / paused: the class of why */
	int teardown_due, tell_peer;     /* failed: mig_settle tears it down (tell_peer: the peer learns why) */
	int postcopy;                    /* POSTCOPY_RUN went by: a failure pauses, never fails */
	const char *kept_phase;          /* the phase its state-file record says (kept.c), NULL: no record */
	ev_tstamp superseded_at;         /* paused: a later postcopy migration on its route began (0: not yet) */
	int confirmed;                   /* done: the destination QEMU's SHUT 0 was seen, not only a clean close */
	char evidence[200];              /* done: what the verdict rests on */
	struct chan *ch[MIG_MAX_CHAN];
	unsigned nch;
	struct chan *recovery_main;      /* a postcopy recovery's main channel (an opaque channel, RECV_BITMAP first) */
	ev_tstamp t_start, t_cut, t_end;
	uint64_t lan_bytes;     /* source: from QEMU; destination: to QEMU */
	uint64_t wan_bytes;     /* frame bytes of its streams */
	uint64_t raw_bytes;
	uint32_t vni;           /* the guest's segment (0 = none) and identity, from the route / MIGRATION_OPEN */
	struct ns_guest guest;
	struct gw_cutover *cut; /* the cutover once it ran */
	uint64_t progress_mark; /* bytes moved at progress_at (stall detection) */
	ev_tstamp progress_at;
	/* postcopy with a preempt channel, page-request round trips: destination: return-path read -> first
	 * preempt bytes after it (whole WAN round trip); source: return-path bytes in -> preempt bytes out */
	ev_tstamp rq_since;     /* 0 = nothing outstanding */
	unsigned rq_n;
	double rq_sum, rq_max;
};

/* Fills the common part of a new migration and links it first in gw->migs; logs and audits its start. */
void mig_init(struct mig *m, const struct mig_role *role, struct gw *gw, uint32_t id, uint64_t uid,
	      const char *route, const char *dest);
/* Frees what the common part owns (channels' common parts are freed by the role's free). */
void mig_release(struct mig *m);
/*
 * Records a transition the role's machine made (from -> to on ev): logs it once, counts the state entered
 * (metrics), writes a migration-state record to the audit trail, and at an end (done, failed, paused) the
 * migration-end record and the end counters.
 */
void mig_transitioned(struct mig *m, unsigned from, unsigned ev, unsigned to, const char *why);
/* An illegal transition (the table has no row): a bug, logged; the state stays. */
void mig_transition_bug(struct mig *m, unsigned from, unsigned ev, const char *why);
/* Running: neither done, failed nor paused (in-doubt is running: QEMU is held). */
static inline int mig_live(const struct mig *m) { return m->end == MIG_LIVE || m->end == MIG_INDOUBT; }
/*
 * A migration failed (either role): the reason and its code recorded, the transition to failed (or
 * postcopy-paused) made, the teardown queued for mig_settle (the header comment). tell_peer: the teardown
 * tells the peer gateway (destination: MIGRATION_RESULT ok = 0 with code, CHANNEL_RESET; source: CHANNEL_CLOSE
 * how = 1). No-op once it ended.
 */
void mig_fail(struct mig *m, enum mig_fail_reason code, const char *reason, int tell_peer);
/* Marks a failed migration for the teardown at the end of the event (the roles' fail functions). */
void mig_teardown_later(struct mig *m, int tell_peer);
/* The end of an event that entered mig/: tears down every migration that failed during it. */
void mig_settle(struct gw *gw);

/* A channel's common part: in m->ch[], its watcher calling cb. NULL when full. */
int chan_init(struct chan *c, struct mig *m, int fd, void (*cb)(struct ev_loop *, ev_io *, int));
void chan_free(struct chan *c);
/* The only way a channel changes state: logs the transition (debug). */
const char *chan_state_name(enum chan_state s);
void chan_set_state(struct chan *c, enum chan_state s, const char *why);
/* Sets the watcher to events ev (0: stopped). */
void chan_watch(struct chan *c, int ev);
/* Resets (SO_LINGER 0) or closes the channel's socket. */
void chan_close_fd(struct chan *c, int reset);
/* Writes c->out to the socket: bytes written (counted nowhere), or -errno (a write error). 0 once ended. */
long chan_flush_out(struct chan *c);
/* The return path relayed so far ends between two messages: one can be appended safely (in-doubt SHUT 0). */
static inline int mig_rp_at_boundary(const lh_rp_scanner *rp)
{
	return rp->state == LH_RP_SCANNING && rp->hlen == 0 && rp->body_left == 0;
}
/* The channel carrying QEMU's main stream, NULL when none. */
struct chan *mig_main_chan(const struct mig *m);
/* The channel the others follow: main, or a postcopy recovery's main (its preempt partner comes after it). */
struct chan *mig_lead_chan(const struct mig *m);

/*
 * A migration's message to the peer gateway, only on the session it started on: its number means another
 * migration on a later session (the peer's counter starts over). wan_send's returns, -ENOTCONN then.
 */
int mig_send(struct mig *m, int type, const void *p1, size_t n1, const void *p2, size_t n2);
/* Test-only, at a named point when asked to: LH_TEST_STOP_AT stops the process (SIGSTOP, once) until a SIGCONT;
 * LH_TEST_DIE_AT ends it there as in a crash. */
void mig_test_at(struct gw *gw, const char *point);
/* "migration out#3 (vm1)" */
void mig_tag(const struct mig *m, char *buf, size_t len);

/* The priority lane's per-segment hash: a fresh XXH3-128 state (NULL: out of memory); its digest as 16 bytes
 * (XXH128 canonical form, big-endian). */
XXH3_state_t *prio_hash_new(void);
void prio_hash_digest(XXH3_state_t *st, uint8_t out[16]);

/* POSTCOPY_RUN in main's stream (both roles' parsers): top level, or the last command of a PACKAGED blob. */
struct pc_watch {
	uint64_t blob_left;     /* PACKAGED blob bytes still to come */
	uint8_t tail[5];        /* the blob's last bytes */
	unsigned tlen;
};
/* Feeds one parser event; 1 when it completes a POSTCOPY_RUN command. */
int pc_watch_event(struct pc_watch *w, const lh_event *ev);
/* The first bytes of a postcopy recovery's main channel (qemu-migration-format.md 5.4: after migrate-recover
 * and migrate resume=true, it starts straight with QEMU_VM_COMMAND RECV_BITMAP, 0x08 be16 10, no QEVM header). */
int mig_recovery_main(const uint8_t *b, size_t n);

#endif
