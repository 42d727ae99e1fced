/* SPDX-License-Identifier: MIT */
/* Pure rtnetlink message builders (link, VXLAN, FDB, IP neighbour); no sockets, unit-tested byte for byte. */
#ifndef NETSTATE_NLMSG_H
#define NETSTATE_NLMSG_H

#include "netstate/common.h"

#include <linux/netlink.h>

/* Every builder writes one message at the start of buf, which must hold this many bytes. */
#define NS_NLMSG_BUF 1024

struct ns_vxlan_spec {
	const char *name; /* device name, < IFNAMSIZ */
	uint32_t vni;     /* 1..16777215 */
	struct ns_ip local; /* local VTEP address (v4 or v6) */
	uint16_t port;    /* UDP destination port, host order */
};

/* Changes applied to an existing link by ns_nlmsg_setlink. */
struct ns_link_change {
	int master;        /* ifindex of the new master; 0 = leave as is */
	bool set_up;       /* set IFF_UP */
	const char *alias; /* new IFLA_IFALIAS; NULL = leave as is */
};

enum ns_fdb_op {
	NS_FDB_ADD = 0,     /* create, fail with EEXIST if the entry exists */
	NS_FDB_APPEND = 1,  /* add one more destination (all-zero MAC flood list) */
	NS_FDB_REPLACE = 2, /* create or move the entry in one step (no delete window) */
	NS_FDB_DEL = 3,
};

enum ns_fdb_table {
	NS_FDB_SELF = 0,   /* the VXLAN device's own table: MAC -> remote VTEP */
	NS_FDB_MASTER = 1, /* the bridge's table: MAC -> bridge port */
};

struct ns_fdb_spec {
	int ifindex;            /* the VXLAN device (bridge port) */
	enum ns_fdb_table table;
	uint8_t mac[NS_MAC_LEN];
	struct ns_ip dst;       /* remote VTEP for SELF entries; family 0 = none */
	bool dynamic;           /* MASTER only: an aging entry learning may overwrite */
};

/* RTM_GETLINK for one device by name (answered by one RTM_NEWLINK, then the ack). */
struct nlmsghdr *ns_nlmsg_getlink(void *buf, uint32_t seq, const char *ifname);
/* RTM_NEWLINK create|excl of a VXLAN device with learning off and no default remote. */
struct nlmsghdr *ns_nlmsg_newvxlan(void *buf, uint32_t seq, const struct ns_vxlan_spec *s);
struct nlmsghdr *ns_nlmsg_setlink(void *buf, uint32_t seq, int ifindex,
				  const struct ns_link_change *c);
struct nlmsghdr *ns_nlmsg_dellink(void *buf, uint32_t seq, int ifindex);
/* RTM_NEWNEIGH / RTM_DELNEIGH in family AF_BRIDGE. */
struct nlmsghdr *ns_nlmsg_fdb(void *buf, uint32_t seq, enum ns_fdb_op op,
			      const struct ns_fdb_spec *s);
/*
 * RTM_NEWNEIGH create|replace in family AF_INET/AF_INET6: ip -> mac on ifindex, NUD_STALE
 * (the kernel re-verifies it on first use, as it would have after accepting a GARP).
 */
struct nlmsghdr *ns_nlmsg_neigh_ip(void *buf, uint32_t seq, int ifindex, const struct ns_ip *ip,
				   const uint8_t mac[NS_MAC_LEN]);
/* RTM_GETNEIGH dump of every AF_BRIDGE FDB entry (caller filters by ifindex). */
struct nlmsghdr *ns_nlmsg_fdb_dump(void *buf, uint32_t seq);

const char *ns_fdb_op_name(enum ns_fdb_op op);

#endif
