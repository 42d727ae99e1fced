/* SPDX-License-Identifier: MIT */
/*
 * Admission of incoming WAN connections before they are authenticated (WAN-PROTOCOL.md "Listener"): which
 * pending handshake makes room for a new one. No sockets here.
 */
#ifndef LH_GATEWAY_WAN_ADMIT_H
#define LH_GATEWAY_WAN_ADMIT_H

#include <stddef.h>
#include <sys/socket.h>

#include "netstate/common.h"

/*
 * Pending (unauthenticated) connections at most per source address: twice the most streams a peer may open
 * (WAN_MAX_LINKS), so a real peer's redials always fit beside its own stale attempts; and in all. The global
 * cap is above the per-source one, so no one source can fill it.
 */
#define WAN_ADMIT_PER_SRC_MIN 16u
#define WAN_ADMIT_GLOBAL 256u

/* One pending connection as the admission sees it: its source address and when it was accepted. */
struct wan_admit_ent {
	struct ns_ip src;
	double t_open;
};

/* The source address of sa (IPv4-mapped IPv6 as IPv4); family 0 when it is neither. */
struct ns_ip wan_admit_src(const struct sockaddr *sa);
/* Pending connections allowed per source address for a gateway of `streams` streams: max(2 x streams, 16). */
unsigned wan_admit_per_src(unsigned streams);
/*
 * A connection from src is about to join the n pending ones in e[]: the index of the one to drop first, or -1
 * (room for it). At the per-source cap, the oldest from src goes (a source only ever displaces itself, and a
 * peer's newest redial always gets in); at the global cap, the oldest of the source with the most pending.
 */
int wan_admit_victim(const struct wan_admit_ent *e, size_t n, const struct ns_ip *src, unsigned per_src,
		     unsigned global);

#endif
