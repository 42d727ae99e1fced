/* SPDX-License-Identifier: MIT */
/* Address allow lists: parse, match, format. */
#include "gateway/base/allow.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bytes_of(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* a and b agree on their first len bits */
static bool same_prefix(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

static int parse_one(const char *tok, struct lh_allow *out, char *err, size_t errlen)
{
	char addr[64];
	const char *slash = strchr(tok, '/');
	size_t alen = slash ? (size_t)(slash - tok) : strlen(tok);
	struct ns_ip ip;
	long len;

	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(err, errlen, "`%.60s' is not ADDR or ADDR/LEN", tok);
		return -EINVAL;
	}
	memcpy(addr, tok, alen);
	addr[alen] = 0;
	if (ns_ip_parse(addr, &ip) < 0) {
		snprintf(err, errlen, "`%s' is not an IP address", addr);
		return -EINVAL;
	}
	int max = bytes_of(ip.family) * 8;
	if (slash) {
		char *end;
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || len < 0 || len > max) {
			snprintf(err, errlen, "`%.60s': prefix length must be 0..%d", tok, max);
			return -EINVAL;
		}
	} else {
		len = max;
	}
	uint8_t host[16];
	memcpy(host, ip.a, 16);
	for (int bit = (int)len; bit < max; bit++)
		host[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	if (memcmp(host, ip.a, (size_t)bytes_of(ip.family))) {
		snprintf(err, errlen, "`%.60s' has host bits set under /%ld (a host is ADDR, a network ADDR/LEN with "
			 "the host bits 0)", tok, len);
		return -EINVAL;
	}
	if (out->n == LH_ALLOW_MAX) {
		snprintf(err, errlen, "more than %d entries", LH_ALLOW_MAX);
		return -EINVAL;
	}
	out->p[out->n].ip = ip;
	out->p[out->n].len = (uint8_t)len;
	out->n++;
	return 0;
}

int lh_allow_parse(const char *s, struct lh_allow *out, char *err, size_t errlen)
{
	char tok[80];
	memset(out, 0, sizeof(*out));
	while (*s) {
		s += strspn(s, ", \t");
		size_t n = strcspn(s, ", \t");
		if (!n)
			break;
		if (n >= sizeof(tok)) {
			snprintf(err, errlen, "`%.60s...' is not ADDR or ADDR/LEN", s);
			return -EINVAL;
		}
		memcpy(tok, s, n);
		tok[n] = 0;
		if (parse_one(tok, out, err, errlen) < 0)
			return -EINVAL;
		s += n;
	}
	if (!out->n) {
		snprintf(err, errlen, "an empty list (leave the key out to allow any address)");
		return -EINVAL;
	}
	return 0;
}

bool lh_allow_match(const struct lh_allow *a, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *addr;
	int family = sa->sa_family;

	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (!memcmp(addr, v4mapped, 12)) {
			family = AF_INET;
			addr += 12;
		}
	} else {
		return false;
	}
	for (unsigned i = 0; i < a->n; i++)
		if (a->p[i].ip.family == family && same_prefix(a->p[i].ip.a, addr, a->p[i].len))
			return true;
	return false;
}

const char *lh_allow_fmt(const struct lh_allow *a, char *buf, size_t len)
{
	size_t off = 0;
	char ip[64];
	buf[0] = 0;
	for (unsigned i = 0; i < a->n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%s/%u", i ? ", " : "", ns_ip_fmt(&a->p[i].ip, ip, sizeof(ip)),
				 a->p[i].len);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}
