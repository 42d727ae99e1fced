/* SPDX-License-Identifier: MIT */
/* longhauld's context: the one object every module receives (no globals). */
#ifndef LH_GATEWAY_GW_H
#define LH_GATEWAY_GW_H

#include <ev.h>
#include <openssl/ssl.h>
#include <stdint.h>

#include "gateway/base/config.h"
#include "gateway/base/ratelog.h"

struct wan_session;
struct wan_events;
struct cpipe;
struct wan_link;
struct route;
struct mig;
struct lh_control;
struct lh_metrics;
struct lh_metrics_http;
struct lh_metric;
struct lh_audit;
struct lh_jbuf;
struct gw_l2;
struct cdata_pend;
struct outcome_store;
struct keep;
struct fdhold;
struct lh_resolver;
struct wan_dns;

#define GW_FAIL_REASONS 16 /* room for enum mig_fail_reason */
#define GW_MIG_STATES 16   /* room for each migration role's states (mig/states.h) */

/* Session-wide counters (metrics, status). */
struct gw_stats {
	uint64_t wan_tx_bytes, wan_rx_bytes;     /* TLS payload bytes, headers included */
	uint64_t lan_rx_bytes, lan_tx_bytes;     /* QEMU bytes read (source) / written (destination) */
	uint64_t frames_tx, frames_rx, resent, dup_rx;
	uint64_t frames_rx_ahead;                /* of frames_rx: announced to the decoder's second thread */
	uint64_t frames_tx_worker;               /* of frames_tx: compressed on the encoder's worker thread */
	uint64_t links_up, links_lost, tls_refused;
	uint64_t migs_ok, migs_failed;
	uint64_t migs_failed_by[GW_FAIL_REASONS];   /* by enum mig_fail_reason (migration.h) */
	uint64_t mig_states_entered[2][GW_MIG_STATES]; /* [source, destination][state entered] (mig/states.h) */
	uint64_t cutovers, cutover_errors, announce_frames; /* L2 cutovers run, with a failed step, frames sent */
	/* codec epochs (WAN-PROTOCOL.md "Codec epochs"): our decoder reset after an error / our encoder on the
	 * peer's CODEC_RESET; WAN_FRAMEs dropped between a decoder error and the sender's CODEC_EPOCH */
	uint64_t codec_resets_dec, codec_resets_enc, codec_frames_dropped;
};

/*
 * Where the layers record events for the trail (the control plane's audit log): set by the control plane
 * when it opens the log, so that no lower layer calls up into it. begin returns the record's JSON
 * object to fill (NULL: nothing is recorded), commit writes it.
 */
struct gw_recorder {
	void *ctx;
	struct lh_jbuf *(*begin)(void *ctx, const char *event);
	void (*commit)(void *ctx);
};

struct gw {
	struct ev_loop *loop;
	struct lh_config cfg;
	const char *config_path;
	SSL_CTX *ssl;
	struct wan_session *sess;   /* NULL until the first stream is up */
	const struct wan_events *wan_ev; /* the codec pipe's handlers for the transport (wan_set_events) */
	struct cpipe *pipe;         /* the codec pipe: the session's encoder and decoder */
	int wan_listen_fd;          /* -1 when [wan] listen is unset */
	ev_io wan_listen_io;
	struct wan_link *pending;   /* accepted streams waiting for their HELLO (bounded: wan/wan_admit.h) */
	ev_tstamp wan_pending_tick;  /* the last tick that looked at the pending ones (a stall is not their fault) */
	ev_timer wan_accept_pause;  /* accept ran out of descriptors: the listener rests, then resumes */
	struct lh_ratelog wan_refusals; /* incoming connections refused, logged at most once a second */
	struct wan_link *dead_links; /* closed, freed by the next tick (callers may still hold them) */
	uint64_t sess_gen;          /* bumped when a session closes */
	struct route *routes;
	struct mig *migs;
	uint32_t next_mig;
	uint32_t next_stream;       /* codec stream ids (sender side) */
	ev_timer tick;              /* the one housekeeping timer, 10 ms */
	ev_timer cert_check;        /* daily: warn of the WAN certificates' expiry */
	ev_signal sig_hup, sig_term, sig_int;
	int draining;
	uint64_t ticks;
	struct gw_stats st;
	struct lh_control *ctl;
	struct lh_metrics *metrics;
	struct lh_metrics_http *metrics_http;
	struct lh_audit *audit;        /* NULL without [gateway] audit_log */
	struct gw_recorder rec;        /* begin NULL: no trail */
	struct outcome_store *outcomes; /* destination QEMUs' answers ([gateway] state_dir), NULL: none kept */
	struct keep *keep;              /* the state file: dynamic routes, postcopy migrations (mig/STATEFILE.md) */
	struct fdhold *fdhold;         /* the source sockets' holder (base/FDHOLD.md), NULL: none */
	struct lh_resolver *resolver;  /* names off the loop (base/resolve.h): the WAN peer, destinations */
	struct wan_dns *wan_dns;       /* [wan] peer as a name: its answer and last good address (wan_dial.c) */
	struct gw_l2 *l2;              /* NULL without [segment]s */
	struct cdata_pend *cdata_pend; /* priority-lane bytes that arrived before their channel's CHANNEL_OPEN */
	/* test-only fault injection (WAN-PROTOCOL.md), from the environment */
	uint64_t test_corrupt_frame;
	uint32_t test_corrupt_mig;     /* LH_TEST_CORRUPT_FRAME_MIG=MIG:N: the N-th DATA frame of migration MIG */
	uint64_t test_corrupt_mig_n;
	uint32_t test_corrupt_after;   /* MIG:N:AFTER: counted only once this gateway's migration out#AFTER ended */
	int test_no_codec_epoch;       /* LH_TEST_NO_CODEC_EPOCH: no WAN_HELLO_CODEC_EPOCH (an older peer's behaviour) */
	int test_kill_stream;
	uint64_t test_kill_after;
	int test_kill_all;             /* LH_TEST_KILL_ALL_STREAMS: once, after this many bytes on the WAN */
	uint64_t test_kill_all_after;
	int test_ignore_credit;        /* LH_TEST_IGNORE_CREDIT: send past the peer's credit (a hostile peer) */
	int test_no_prio;              /* LH_TEST_NO_PRIO: no priority lane, no TCP_NOTSENT_LOWAT (measurements) */
	char test_die_at[16];          /* LH_TEST_DIE_AT: "recorded" | "released" | "eof-sent": _exit there */
	char test_stop_at[16];         /* LH_TEST_STOP_AT: the same points: SIGSTOP there, once */
	unsigned notsent_lowat;        /* WAN_NOTSENT_LOWAT, LH_TEST_NOTSENT_LOWAT, 0 with LH_TEST_NO_PRIO; 0 = off */
	uint32_t test_wan_version;     /* LH_TEST_WAN_VERSION=MAX[:MIN]: WAN protocol range we claim; 0 = ours */
	uint32_t test_wan_version_min;
	char wan_last_error[200];      /* why the last stream was refused (TLS, HELLO); "" once a stream is up */
};

#endif
