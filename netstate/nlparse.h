/* SPDX-License-Identifier: MIT */
/* Parsers for rtnetlink replies the kernel sends us: links, FDB entries, errors/acks. */
#ifndef NETSTATE_NLPARSE_H
#define NETSTATE_NLPARSE_H

#include "netstate/common.h"

#include <linux/netlink.h>

struct ns_link_info {
	int ifindex;
	unsigned flags;    /* IFF_* */
	int master;        /* 0 = none */
	char name[16];
	char alias[128];
	char kind[16];     /* IFLA_INFO_KIND, "" if none */
	bool is_vxlan;     /* kind == "vxlan" and its data was present */
	uint32_t vni;
	struct ns_ip local;
	uint16_t port;     /* host order; 0 if not reported */
	int learning;      /* -1 if not reported */
};

struct ns_fdb_entry {
	int ifindex;
	uint8_t flags;     /* NTF_SELF / NTF_MASTER ... */
	uint16_t state;    /* NUD_* */
	bool has_mac;
	uint8_t mac[NS_MAC_LEN];
	struct ns_ip dst;  /* family 0 if none */
	int master;        /* NDA_MASTER, 0 if none */
	int vlan;          /* NDA_VLAN, -1 if none */
};

/*
 * Checks that a received datagram is a clean sequence of messages, each with
 * 16 <= nlmsg_len <= the bytes left. libmnl's mnl_nlmsg_ok() compares the
 * length as a signed int, so a length >= 2^31 would pass it and send
 * mnl_nlmsg_next() far outside the buffer; this runs before mnl_cb_run.
 */
bool ns_nl_datagram_ok(const void *buf, size_t len);

/*
 * Each parser takes one message that already passed mnl_nlmsg_ok() (so its
 * nlmsg_len fits the received buffer) and returns 0, -ENOMSG if the message
 * is of another type/family, or -EBADMSG if it is malformed.
 */
int ns_parse_link(const struct nlmsghdr *nlh, struct ns_link_info *out);
int ns_parse_fdb(const struct nlmsghdr *nlh, struct ns_fdb_entry *out);
/*
 * NLMSG_ERROR: *errcode gets the (non-positive) errno, 0 for an ack; msg gets
 * the extended-ack text if present ("" otherwise).
 */
int ns_parse_nlerr(const struct nlmsghdr *nlh, int *errcode, char *msg, size_t msglen);

#endif
