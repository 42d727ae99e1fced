/* SPDX-License-Identifier: MIT */
/* Migrations and their channels, on both gateways: the layer's entry points (migration.c); mig/STATES.md. */
#ifndef LH_GATEWAY_MIGRATION_H
#define LH_GATEWAY_MIGRATION_H

#include <stdint.h>

#include "gateway/gw.h"
#include "gateway/base/json.h"
#include "gateway/wan/wan_proto.h"
#include "gateway/pipe/codec_pipe.h"
#include "lh_wan.h"

struct route;

/*
 * Why a migration failed. The numbers travel in MIGRATION_RESULT (WAN-PROTOCOL.md): never renumber, only
 * append. Each name is what status JSON ("reason_code") and the metrics label ("reason") show.
 */
enum mig_fail_reason {
	MFR_NONE = 0,
	MFR_DEST_REFUSED = 1,   /* the destination QEMU refused the stream: SHUT != 0, or closed main without SHUT 0 */
	MFR_SOURCE_ABORT = 2,   /* the source ended its stream before QEMU_VM_EOF: cancel, death, read error */
	MFR_INTEGRITY = 3,      /* a segment failed verification, or main broke the integrity gate's rules */
	MFR_SESSION_LOST = 4,   /* the WAN session ended (loss budget, decoder error, peer restart) */
	MFR_PEER_RESET = 5,     /* the peer gateway failed it without saying why (an older peer) */
	MFR_ROUTE_REMOVED = 6,
	MFR_CONNECT = 7,        /* the destination could not be resolved or connected */
	MFR_HYPERVISOR_IO = 8,  /* a read or write on a QEMU connection failed */
	MFR_PROTOCOL = 9,       /* the peer gateway or a hypervisor broke the protocol */
	MFR_STALLED = 10,       /* no byte moved for too long */
	MFR_GATEWAY = 11,       /* this gateway's own failure: out of memory, encoder error */
	MFR_DRAINING = 12,      /* the destination gateway is draining */
	MFR__COUNT
};
/* "dest-refused", "source-abort", ...; "" for MFR_NONE, "unknown" out of range. */
const char *mig_fail_reason_name(enum mig_fail_reason r);

/*
 * Registers the migrations with the codec pipe below them (frames, messages, session loss, room,
 * round trips); creates the pipe. Before wan_start. 0 or -ENOMEM.
 */
int mig_attach(struct gw *gw);
/* At start (after mig_attach, before wan_start): what the fd holder kept through a crash or restart comes back
 * as in-doubt migrations (base/FDHOLD.md). */
void mig_adopt_held(struct gw *gw);
/* The migration uid both gateways compute (mig/OUTCOMES.md): unique across sessions and restarts. */
uint64_t mig_uid(uint64_t session, uint32_t id, int source_is_client);
/* What the pipe hands up (the handlers mig_attach registers, also called directly by tests). */
void mig_rx_frame(struct gw *gw, const lh_wan_frame_info *info, const uint8_t *data, size_t n, size_t frame_len);
void mig_rx_msg(struct gw *gw, const struct wan_msg *m);
/* The WAN session ended: every migration fails (destination connections reset). */
void mig_session_lost(struct gw *gw, const char *reason);
/*
 * Codec epochs (mig/epoch.c, WAN-PROTOCOL.md "Codec epochs"). Destination: the codec streams in sids lost
 * bytes at a decoder error; their migrations fail (integrity) unless the EOF was released. Source: the peer's
 * decoder failed; migrations with a codec stream open fail (integrity) unless their EOF left.
 */
void mig_codec_lost(struct gw *gw, const uint32_t *sids, unsigned n, const char *reason);
void mig_codec_reset(struct gw *gw, const char *reason);
/* A PONG came back after ms: counted for every outgoing migration running now (logged at its EOF cut). */
void mig_link_rtt(struct gw *gw, double ms);
/* A stream came up: send every incoming channel's current credit again (a lost CREDIT is never resent). */
void mig_resend_credits(struct gw *gw);
/* Room appeared in the encoder or the replay buffer: resume blocked QEMU sockets. */
void mig_kick_sources(struct gw *gw);
/* Housekeeping (every 10 ms): credit updates, timeouts, reaping finished migrations. */
void mig_tick(struct gw *gw);

/* Source side: a QEMU connection accepted on a route's listener. */
void mig_src_accept(struct gw *gw, struct route *r, int fd, const char *host, const char *peer);

/* Frees every migration (exit; after wan_stop failed the running ones). */
void mig_free_all(struct gw *gw);

/* Control socket views. */
void mig_list_json(struct gw *gw, struct lh_jbuf *b);
unsigned mig_count_active(const struct gw *gw);
/*
 * The operator decides an in-doubt migration (name: its route, or its uid in hex): accepted (the guest runs at
 * the destination: the source QEMU gets SHUT 0 and completes) or refused (the source QEMU's return path closes:
 * it resumes the guest). who names the operator for the log and audit. 0, or -ENOENT / -EINVAL, err filled.
 */
int mig_resolve(struct gw *gw, const char *name, int accepted, const char *who, char *err, size_t errlen);
/* Migrations in doubt now: the session was lost after the EOF left, nothing decided yet. */
unsigned mig_count_in_doubt(const struct gw *gw);
/* Metrics: the name of state i of a role's machine (role 0 source, 1 destination; mig/STATES.md), NULL past
 * the last; how many migrations of that role are in it now. Entered counts: gw->st.mig_states_entered. */
const char *mig_state_name_at(int role, unsigned i);
unsigned mig_count_in_state(const struct gw *gw, int role, unsigned i);
/* Fails every migration of a route (route removed). */
void mig_fail_route(struct gw *gw, const struct route *r, const char *reason);

#endif
