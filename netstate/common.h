/* SPDX-License-Identifier: MIT */
/* netstate common types: addresses, MACs, error buffer, change report. */
#ifndef NETSTATE_COMMON_H
#define NETSTATE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_MAC_LEN 6

/* An IPv4 or IPv6 address; for AF_INET only a[0..3] is used. */
struct ns_ip {
	int family; /* AF_INET or AF_INET6; 0 = unset */
	uint8_t a[16];
};

/*
 * Error from a netstate call: code is the negative errno that was returned
 * (the kernel's own for netlink failures); msg names the operation, the object
 * and, when the kernel sent an extended ack, its text. The library never
 * prints; the caller logs msg once.
 */
struct ns_err {
	int code;
	char msg[256];
};

enum ns_change_kind {
	NS_CHANGE_CREATED = 0,
	NS_CHANGE_UPDATED = 1,
	NS_CHANGE_REMOVED = 2,
	NS_CHANGE_UNCHANGED = 3,
};

struct ns_change {
	enum ns_change_kind kind;
	char what[112]; /* e.g. "fdb 00:00:00:00:00:00 dst 198.18.0.2 on lhvx42" */
};

#define NS_REPORT_MAX 64

/* What a call changed, in order. Items beyond NS_REPORT_MAX are counted only. */
struct ns_report {
	struct ns_change items[NS_REPORT_MAX];
	unsigned n;
	unsigned dropped;
};

/* A guest's L2 identity: its MACs and the IPs bound to each (from registration or learned). */
#define NS_GUEST_MAX_MACS 8
#define NS_GUEST_MAX_IPS 32

struct ns_guest_ip {
	struct ns_ip ip;
	uint8_t mac_index; /* into ns_guest.macs */
};

struct ns_guest {
	uint8_t macs[NS_GUEST_MAX_MACS][NS_MAC_LEN];
	unsigned n_macs;
	struct ns_guest_ip ips[NS_GUEST_MAX_IPS];
	unsigned n_ips;
};

/* Adds a MAC (duplicates ignored); -ENOSPC when full, -EINVAL for multicast/zero. */
int ns_guest_add_mac(struct ns_guest *g, const uint8_t mac[NS_MAC_LEN]);
/* Binds ip to mac (which must have been added); duplicates ignored; -ENOENT, -ENOSPC. */
int ns_guest_add_ip(struct ns_guest *g, const struct ns_ip *ip, const uint8_t mac[NS_MAC_LEN]);
int ns_guest_find_mac(const struct ns_guest *g, const uint8_t mac[NS_MAC_LEN]);

int ns_ip_parse(const char *s, struct ns_ip *out);
const char *ns_ip_fmt(const struct ns_ip *ip, char *buf, size_t len);
size_t ns_ip_len(const struct ns_ip *ip); /* 4, 16, or 0 */
bool ns_ip_equal(const struct ns_ip *x, const struct ns_ip *y);

int ns_mac_parse(const char *s, uint8_t mac[NS_MAC_LEN]);
const char *ns_mac_fmt(const uint8_t mac[NS_MAC_LEN], char buf[18]);

const char *ns_change_kind_name(enum ns_change_kind k);
void ns_report_init(struct ns_report *r);
void ns_report_add(struct ns_report *r, enum ns_change_kind k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Number of items that are not NS_CHANGE_UNCHANGED. */
unsigned ns_report_changes(const struct ns_report *r);

/* Sets err (if non-NULL) and returns code, so callers can `return ns_fail(...)`. */
int ns_fail(struct ns_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
