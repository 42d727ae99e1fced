/* SPDX-License-Identifier: MIT */
/* Cutover of a guest's L2 identity: FDB moves exactly once, then announcement rounds. */
#ifndef NETSTATE_CUTOVER_H
#define NETSTATE_CUTOVER_H

#include "netstate/announce.h"
#include "netstate/common.h"

struct ns_nl;

enum ns_role {
	NS_ROLE_SOURCE = 0,      /* the guest left this site */
	NS_ROLE_DESTINATION = 1, /* the guest now runs at this site */
};

enum ns_cutover_state {
	NS_CUTOVER_IDLE = 0,       /* configured, nothing done */
	NS_CUTOVER_ANNOUNCING = 1, /* FDB moved (or failed, see fdb_error); rounds pending */
	NS_CUTOVER_DONE = 2,       /* FDB moved and every round sent */
	NS_CUTOVER_CLOSED = 3,     /* torn down */
};

struct ns_cutover_cfg {
	enum ns_role role;
	char bridge[16];     /* site bridge (announcements leave through it) */
	char vxlan_dev[16];  /* the segment's VXLAN device on that bridge */
	struct ns_ip remote_vtep; /* SOURCE: destination VTEP; DESTINATION: source VTEP (informational) */
	struct ns_announce_plan plan; /* guest identity, rounds, optional gateway GARP */
};

struct ns_cutover {
	struct ns_cutover_cfg cfg;
	enum ns_cutover_state state;
	struct ns_report report;   /* FDB changes made */
	int fdb_error;             /* 0 or -errno of the first failed FDB step */
	struct ns_err fdb_err;     /* its message, for the log and the control socket */
	int neigh_error;           /* DESTINATION: 0 or -errno of the first failed neighbour entry */
	struct ns_err neigh_err;   /* (reported, never returned: the FDB and the rounds are what move traffic) */
	struct ns_packet_tx tx;
	struct ns_announcer ann;   /* DESTINATION only */
};

const char *ns_role_name(enum ns_role r);
const char *ns_cutover_state_name(enum ns_cutover_state s);

void ns_cutover_init(struct ns_cutover *c, const struct ns_cutover_cfg *cfg);
/*
 * Runs the cutover once; later calls return -EALREADY and change nothing, so
 * no MAC ever moves twice. SOURCE: every guest MAC -> remote VTEP. DESTINATION:
 * every guest MAC made local, every guest IP's neighbour entry on the bridge
 * set to its MAC (ns_neigh_set; failures in neigh_error), then the first
 * announcement round is due at now_ns. A failed FDB step is recorded in fdb_error/fdb_err and returned,
 * but the announcements still go out: the migration has completed and the
 * guest must be reachable by every means left. Only a failure to open the
 * packet socket or an invalid plan leaves no rounds (state DONE).
 */
int ns_cutover_start(struct ns_cutover *c, struct ns_nl *nl, uint64_t now_ns, struct ns_err *err);
/* CLOCK_MONOTONIC ns at which ns_cutover_send_due should run next; UINT64_MAX if never. */
uint64_t ns_cutover_next_due(const struct ns_cutover *c);
/* Sends the due round; moves to DONE after the last one. Returns frames sent. */
int ns_cutover_send_due(struct ns_cutover *c, uint64_t now_ns);
/* Releases the packet socket; pending rounds are abandoned (reason for the caller's log). */
void ns_cutover_teardown(struct ns_cutover *c, const char *reason);

#endif
