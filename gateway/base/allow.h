/* SPDX-License-Identifier: MIT */
/* Address allow lists ([gateway] lan_allow, [route] allow): who may connect to a listener of ours. */
#ifndef LH_GATEWAY_ALLOW_H
#define LH_GATEWAY_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netstate/common.h"

#define LH_ALLOW_MAX 16

struct lh_allow {
	unsigned n;                 /* 0: unset */
	struct {
		struct ns_ip ip;    /* host bits cleared */
		uint8_t len;        /* prefix length: 0..32 (IPv4), 0..128 (IPv6) */
	} p[LH_ALLOW_MAX];
};

/*
 * "ADDR[/LEN], ADDR[/LEN] ..." (commas and/or blanks; a bare ADDR is one host). Host bits set under the prefix
 * are refused (198.18.1.5/24 is a typo for a host or for 198.18.1.0/24). 0, or -EINVAL with what is wrong in err.
 */
int lh_allow_parse(const char *s, struct lh_allow *out, char *err, size_t errlen);
/* Whether the address (AF_INET or AF_INET6, IPv4-mapped IPv6 taken as IPv4) is in the list. */
bool lh_allow_match(const struct lh_allow *a, const struct sockaddr *sa);
/* The list as lh_allow_parse reads it ("" when unset). */
const char *lh_allow_fmt(const struct lh_allow *a, char *buf, size_t len);

#endif
