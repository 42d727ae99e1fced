/* SPDX-License-Identifier: MIT */
/* netstate common helpers: address/MAC text forms, errors, change reports. */
#include "netstate/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int ns_ip_parse(const char *s, struct ns_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

const char *ns_ip_fmt(const struct ns_ip *ip, char *buf, size_t len)
{
	if (!ip->family || !inet_ntop(ip->family, ip->a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

size_t ns_ip_len(const struct ns_ip *ip)
{
	return ip->family == AF_INET ? 4 : ip->family == AF_INET6 ? 16 : 0;
}

bool ns_ip_equal(const struct ns_ip *x, const struct ns_ip *y)
{
	return x->family == y->family && memcmp(x->a, y->a, ns_ip_len(x)) == 0;
}

int ns_mac_parse(const char *s, uint8_t mac[NS_MAC_LEN])
{
	unsigned v[NS_MAC_LEN];
	char tail;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < NS_MAC_LEN; i++) {
		if (s[i * 3] == ' ' || s[i * 3] == '+' || s[i * 3] == '-')
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

const char *ns_mac_fmt(const uint8_t mac[NS_MAC_LEN], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}

const char *ns_change_kind_name(enum ns_change_kind k)
{
	switch (k) {
	case NS_CHANGE_CREATED: return "created";
	case NS_CHANGE_UPDATED: return "updated";
	case NS_CHANGE_REMOVED: return "removed";
	case NS_CHANGE_UNCHANGED: return "unchanged";
	}
	return "unknown";
}

void ns_report_init(struct ns_report *r)
{
	memset(r, 0, sizeof(*r));
}

void ns_report_add(struct ns_report *r, enum ns_change_kind k, const char *fmt, ...)
{
	va_list ap;

	if (!r)
		return;
	if (r->n >= NS_REPORT_MAX) {
		r->dropped++;
		return;
	}
	r->items[r->n].kind = k;
	va_start(ap, fmt);
	vsnprintf(r->items[r->n].what, sizeof(r->items[r->n].what), fmt, ap);
	va_end(ap);
	r->n++;
}

unsigned ns_report_changes(const struct ns_report *r)
{
	unsigned c = r->dropped;

	for (unsigned i = 0; i < r->n; i++)
		c += r->items[i].kind != NS_CHANGE_UNCHANGED;
	return c;
}

int ns_fail(struct ns_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

int ns_guest_find_mac(const struct ns_guest *g, const uint8_t mac[NS_MAC_LEN])
{
	for (unsigned i = 0; i < g->n_macs; i++)
		if (memcmp(g->macs[i], mac, NS_MAC_LEN) == 0)
			return (int)i;
	return -ENOENT;
}

int ns_guest_add_mac(struct ns_guest *g, const uint8_t mac[NS_MAC_LEN])
{
	static const uint8_t zero[NS_MAC_LEN];

	if ((mac[0] & 1) || memcmp(mac, zero, NS_MAC_LEN) == 0)
		return -EINVAL;
	if (ns_guest_find_mac(g, mac) >= 0)
		return 0;
	if (g->n_macs >= NS_GUEST_MAX_MACS)
		return -ENOSPC;
	memcpy(g->macs[g->n_macs++], mac, NS_MAC_LEN);
	return 0;
}

int ns_guest_add_ip(struct ns_guest *g, const struct ns_ip *ip, const uint8_t mac[NS_MAC_LEN])
{
	int mi = ns_guest_find_mac(g, mac);

	if (mi < 0)
		return -ENOENT;
	if (!ip->family)
		return -EINVAL;
	for (unsigned i = 0; i < g->n_ips; i++)
		if (ns_ip_equal(&g->ips[i].ip, ip) && g->ips[i].mac_index == mi)
			return 0;
	if (g->n_ips >= NS_GUEST_MAX_IPS)
		return -ENOSPC;
	g->ips[g->n_ips].ip = *ip;
	g->ips[g->n_ips].mac_index = (uint8_t)mi;
	g->n_ips++;
	return 0;
}
