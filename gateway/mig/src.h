/* SPDX-License-Identifier: MIT */
/*
 * The source role: outgoing migrations, read from the source QEMU, encoded for the WAN. Files, each calling
 * only the ones below it (and mig_core):
 *
 *   src_rx.c     WAN messages about outgoing migrations (credit, return path, results), the role's tick
 *   src_doubt.c  a session lost after main's EOF left: hold, ask, settle, resolve
 *   src_lan.c    the source QEMU's connections: accept, classify, read within credit, what main carries, close
 *   src_cut.c    the cut at main's EOF (segments end for the integrity gate), waiting for multifd SYNCs
 *   src_seg.c    a channel's codec segments: open, feed, end, close towards the peer
 *   src_sync.c   multifd SYNC accounting for the cut
 *   src_prio.c   the priority lane's sender (postcopy preempt: CHANNEL_DATA in the urgent space)
 *   src_role.c   the object, its state machine (src_transition), failure and teardown, linger, verdict
 *   src_hold.c   its sockets kept by the fd holder from the cut to the verdict (base/FDHOLD.md)
 */
#ifndef LH_GATEWAY_MIG_SRC_H
#define LH_GATEWAY_MIG_SRC_H

#include "gateway/mig/mig_core.h"

#define SRC_RBUF (256u << 10)
#define CUT_LATE_MAX (64u << 20)   /* main's bytes after the EOF held while the cut waits (VMDESC, a few KiB) */

struct route;

struct src_chan {
	struct chan c;
	ev_tstamp t_accept;
	uint8_t *rbuf;
	size_t rlen;
	uint64_t credit_limit;
	int linger;             /* failed: return-path bytes still go to QEMU, then FIN (src_linger) */
	ev_tstamp linger_since;
	/*
	 * What the channel's stream carries, from the pipe's one parser of it (the encoder's, watched through
	 * src_watch_item / src_watch_gave_up while segment 0 is open; WAN-PROTOCOL.md, "Migrations and channels").
	 */
	struct pc_watch pc;     /* main: POSTCOPY_RUN */
	int stopped;            /* the watch stopped segment 0 (at main's EOF, or where the parser gave up) */
	int at_eof;             /* main: its QEMU_VM_EOF was found (segment 0 ends right before it) */
	int unparsed;           /* the parser gave up: main goes on without the integrity gate; multifd uncounted */
	/* multifd: SYNC packets read so far (the EOF cut waits for them, src_sync.c) */
	uint32_t mf_syncs;      /* SYNC packets read whole */
	uint32_t mf_sync_pages; /* pages still due in the SYNC packet being read (7.2 SYNCs carry pages) */
};

struct src_mig {
	struct mig m;
	enum src_state state;
	struct route *r;
	char from[64];          /* the first channel's address: the migration's later channels must come from it */
	int opened;             /* MIGRATION_OPEN sent */
	int result_seen;
	/* main's multifd sync points before its EOF, and the EOF cut waiting for the channels' SYNCs */
	uint32_t mf_flush, ram_eos;
	int cut_wait;
	ev_tstamp cut_wait_since;
	struct bbuf cut_late;   /* main's bytes from the EOF on, held while the cut waits */
	/* WAN PING round trips while it ran (PING rides the urgent queue: what an urgent message waits) */
	unsigned ping_n;
	double ping_sum, ping_max;
	/* in doubt (src_doubt.c) */
	ev_tstamp doubt_since;
	ev_tstamp doubt_asked;  /* last OUTCOME_QUERY */
	unsigned doubt_asks;
	int doubt_answer;       /* the last OUTCOME answer (enum wan_outcome_code), -1 none yet */
	char doubt_note[200];   /* what is known, for status */
	int held;               /* the fd holder keeps its sockets (src_hold.c) */
};

static inline struct src_chan *SC(struct chan *c) { return (struct src_chan *)c; }
static inline struct src_mig *SM(struct mig *m) { return (struct src_mig *)m; }
static inline struct src_chan *src_ch(struct src_mig *sm, unsigned i) { return SC(sm->m.ch[i]); }

/* src_role.c */
extern const struct mig_role src_role;
/* A new outgoing migration (route r), NULL when out of memory. */
struct src_mig *src_mig_new(struct gw *gw, struct route *r, const char *dest);
/* One taken back from the fd holder after a restart (uid as before; route r may be gone: NULL). */
struct src_mig *src_mig_adopted(struct gw *gw, struct route *r, const char *route, uint64_t uid, const char *dest);
struct src_chan *src_chan_new(struct src_mig *sm, int fd, void (*cb)(struct ev_loop *, ev_io *, int));
struct src_mig *src_find(struct gw *gw, uint32_t id);
/* The one way the source machine moves: 0, or -1 (illegal: logged as a bug, state unchanged). */
int src_transition(struct src_mig *sm, enum src_event ev, const char *why);
/* The failure transition (failed, or postcopy-paused after POSTCOPY_RUN); the teardown follows at mig_settle. */
void src_fail(struct src_mig *sm, enum mig_fail_reason code, const char *reason, int tell_peer);
/* The verdict once every channel closed: done when the destination gateway reported success. */
void src_check_done(struct src_mig *sm);
/* The return path's queued bytes go to QEMU, then FIN; reads (discarding) until it closes. */
void src_linger(struct src_chan *sc);
void src_linger_io(struct src_chan *sc);
/* Event mask from the channel's state (read wanted, bytes to write). */
void src_update_io(struct src_chan *sc);

/* src_prio.c: the priority lane's sender. Bytes out as CHANNEL_DATA (bytes taken or -lh_err); END of the
 * current segment (0 or -errno). */
long prio_send(struct src_chan *sc, const uint8_t *p, size_t n);
int prio_end(struct src_chan *sc);

/* src_sync.c: an item of a multifd channel's segment 0 (SYNC count); every multifd channel has its SYNCs. */
void src_mf_item(struct src_chan *sc, const lh_event *ev);
int src_cut_ready(struct src_mig *sm);

/* src_seg.c. Segment 0 of main and of a multifd channel is watched (src_watch_item, src_watch_gave_up). */
int src_open_segment(struct src_chan *sc, uint16_t seg, lh_channel_kind kind);
void src_add_stats(struct src_mig *sm, const lh_wan_stats *st);
/* Feeds n bytes of the channel into its current segment (a new one once that ended). Returns bytes taken. */
long src_feed(struct src_chan *sc, const uint8_t *p, size_t n);
/* After QEMU closed the channel and its last bytes were encoded: end the segment, tell the peer. */
void src_fwd_finish(struct src_chan *sc);

/* src_cut.c: the EOF cut (WAN-PROTOCOL.md, "multifd at the cut"): cut now; cut after waiting (main's held
 * bytes follow); the wait's timeout. 0, or -1 when the migration failed. */
int src_cut_at_eof(struct src_chan *mc);
int src_cut_release(struct src_mig *sm, const char *how);
int src_cut_tick(struct src_mig *sm);

/* src_lan.c */
void src_chan_io(struct src_chan *sc, int revents);
/* The watch of a channel's segment 0 (lh_wan_watch; ctx is the src_chan). */
int src_watch_item(void *ctx, const lh_event *ev);
int src_watch_gave_up(void *ctx, const lh_parse_error *err);
/* A silent channel of a migration with main: classify it as preempt now. */
void src_classify_silent(struct src_chan *sc);
/* A channel of a migration taken back from the fd holder: its kept socket, on the role's watcher. */
struct src_chan *src_chan_adopt(struct src_mig *sm, int fd);

/* src_doubt.c */
int src_doubt_session_lost(struct src_mig *sm, const char *why);
void src_doubt_tick(struct src_mig *sm);
void src_doubt_session_up(struct gw *gw);
void src_doubt_rx_outcome(struct gw *gw, const struct wan_outcome *o);
int src_doubt_resolve(struct gw *gw, const char *name, int accepted, const char *who, char *err, size_t errlen);
/* At start: what the fd holder kept through a crash or restart comes back in doubt. */
void src_doubt_adopt(struct gw *gw);

/* src_rx.c: what migration.c hands the source role */
void src_rx_msg(struct gw *gw, const struct wan_msg *m);
void src_tick_all(struct gw *gw);
void src_session_lost(struct gw *gw, const char *why);
void src_kick(struct gw *gw);
/* PONG round trips, counted for every outgoing migration streaming now (logged at its EOF cut). */
void src_link_rtt(struct gw *gw, double ms);
/* The route is removed: its migrations let go of it, and fail when reason is set. */
void src_route_removed(struct gw *gw, const struct route *r, const char *reason);

#endif
