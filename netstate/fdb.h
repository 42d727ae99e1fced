/* SPDX-License-Identifier: MIT */
/* FDB operations for guest MACs: point at a remote VTEP, make local, list, single changes. */
#ifndef NETSTATE_FDB_H
#define NETSTATE_FDB_H

#include "netstate/common.h"
#include "netstate/nlmsg.h"
#include "netstate/nlparse.h"

struct ns_nl;

/* Calls cb for every AF_BRIDGE FDB entry on ifindex (0 = all); cb returns 0 or stops with <0. */
int ns_fdb_list(struct ns_nl *nl, int ifindex,
		int (*cb)(const struct ns_fdb_entry *e, void *data), void *data,
		struct ns_err *err);

/* One FDB change; err->msg names it ("fdb replace 52:54:.. dst 198.18.. on lhvx42 self"). */
int ns_fdb_apply(struct ns_nl *nl, enum ns_fdb_op op, const struct ns_fdb_spec *s,
		 const char *devname, struct ns_err *err);

/*
 * Source side of a cutover: the guest MAC now lives behind vtep. Replaces (in
 * one step each, never delete-then-add) the VXLAN entry MAC -> vtep and the
 * bridge entry MAC -> VXLAN port (dynamic, so learning can correct it if the
 * guest ever transmits here again). Entries already right are left alone.
 */
int ns_fdb_point_remote(struct ns_nl *nl, const char *vxlan_dev, const uint8_t mac[NS_MAC_LEN],
			const struct ns_ip *vtep, struct ns_report *rep, struct ns_err *err);

/*
 * Destination side: the guest MAC is local now. Deletes the VXLAN entry for
 * MAC (any VTEP) and the bridge entry MAC -> VXLAN port, so the bridge learns
 * the guest's local port from its first frame. Absent entries are "unchanged".
 */
/*
 * Destination side, after ns_fdb_make_local: the kernel's neighbour entry for a
 * guest IP on the site bridge -> the guest MAC (STALE), so the host and an EVPN
 * speaker watching it know the guest at once; Linux itself ignores a GARP for
 * an IP it has no entry for (arp_accept=0), which is what blackholes EVPN sites.
 */
int ns_neigh_set(struct ns_nl *nl, const char *dev, const struct ns_ip *ip, const uint8_t mac[NS_MAC_LEN],
		 struct ns_report *rep, struct ns_err *err);
int ns_fdb_make_local(struct ns_nl *nl, const char *vxlan_dev, const uint8_t mac[NS_MAC_LEN],
		      struct ns_report *rep, struct ns_err *err);

#endif
