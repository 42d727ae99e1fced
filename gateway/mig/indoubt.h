/* SPDX-License-Identifier: MIT */
/* After the end of stream was released, a lost session decides nothing: the source holds, both sides ask. */
#ifndef LH_GATEWAY_INDOUBT_H
#define LH_GATEWAY_INDOUBT_H

#include "gateway/mig/mig_internal.h"

#define DOUBT_ASK_EVERY_S 1.0   /* a source asks again this often while the answer is pending or not come */
#define DOUBT_AWAIT_S 120.0     /* a destination without session waits this long for its QEMU's answer */

/*
 * The session was lost (why). Source: once main's EOF went to the WAN the destination may have released it;
 * the source QEMU's connections stay open (so it stays paused in completion) and the migration is
 * in-doubt until the destination gateway's record, or an operator, says where the guest runs: 1. 0: the
 * EOF never left, nothing to hold (the caller fails it). Destination: once the EOF was released, its QEMU
 * still answers: keep its connections, record the answer: 1. 0: not released (the caller fails it).
 */
int doubt_session_lost(struct mig *m, const char *why);
/* Source: a migration taken back from the fd holder after a restart starts in doubt. */
void doubt_adopted(struct mig *m);
/* Source, every tick: asks the destination gateway for the outcome of in-doubt migrations. */
void doubt_tick(struct mig *m);
/* A session came up: in-doubt migrations ask at once. */
void doubt_session_up(struct gw *gw);
/* OUTCOME_QUERY (destination) and OUTCOME (source) from the peer. */
void doubt_rx_query(struct gw *gw, uint64_t uid);
void doubt_rx_outcome(struct gw *gw, const struct wan_outcome *o);
/*
 * The operator decides an in-doubt migration (name: its route or its uid in hex): accepted hands the source
 * QEMU SHUT 0 (it completes, the guest's identity moves), refused closes the return path (the source QEMU
 * fails the migration and resumes the guest). 0, or -ENOENT / -EINVAL with err filled.
 */
int doubt_resolve(struct gw *gw, const char *name, enum mig_outcome o, const char *who, char *err, size_t errlen);
/* Status: the in-doubt part of a migration's JSON. */
void doubt_json(const struct mig *m, struct lh_jbuf *b);
/* Migrations in doubt now (metrics). */
unsigned doubt_count(const struct gw *gw);

#endif
