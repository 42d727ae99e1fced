/* SPDX-License-Identifier: MIT */
/* Learning guest (MAC, IP) bindings from ARP and IPv6 ND frames seen on the bridge. */
#ifndef NETSTATE_LEARN_H
#define NETSTATE_LEARN_H

#include "netstate/common.h"

enum ns_learn_source {
	NS_LEARN_ARP_REQUEST = 0,
	NS_LEARN_ARP_REPLY = 1,
	NS_LEARN_ND_SOLICIT = 2, /* NS: source address + source link-layer option */
	NS_LEARN_ND_ADVERT = 3,  /* NA: target address + target link-layer option */
};

struct ns_binding {
	uint8_t mac[NS_MAC_LEN];
	struct ns_ip ip;
	enum ns_learn_source source;
};

const char *ns_learn_source_name(enum ns_learn_source s);

/*
 * Parses one Ethernet frame (at most one 802.1Q tag). Returns 1 and fills
 * *out when the frame binds a unicast IP to a unicast MAC; 0 when it binds
 * nothing (other traffic, ARP probes from 0.0.0.0, DAD solicitations, ND
 * with hop limit != 255); -EBADMSG when it is ARP/ND but malformed.
 */
int ns_learn_parse(const uint8_t *frame, size_t len, struct ns_binding *out);

#define NS_LEARN_TABLE_MAX 256

struct ns_learn_table {
	struct ns_binding b[NS_LEARN_TABLE_MAX];
	unsigned n;
	unsigned dropped; /* new bindings that did not fit */
};

/* Returns 1 if new, 0 if already known, -ENOSPC when full. */
int ns_learn_table_add(struct ns_learn_table *t, const struct ns_binding *b);
/* Adds the IPs of every binding whose MAC belongs to g; returns how many were new. */
int ns_learn_fill_guest(const struct ns_learn_table *t, struct ns_guest *g);

/*
 * Promiscuous AF_PACKET socket on a bridge with a kernel filter for ARP,
 * NS and NA. Non-blocking: the daemon watches fd and calls ns_learn_read.
 */
struct ns_learn_sock {
	int fd;
	int ifindex;
};
int ns_learn_open(struct ns_learn_sock *s, const char *bridge, struct ns_err *err);
/* Reads every pending frame into t; returns new bindings or -errno. */
int ns_learn_read(struct ns_learn_sock *s, struct ns_learn_table *t);
void ns_learn_close(struct ns_learn_sock *s);

#endif
