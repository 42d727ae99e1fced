/* SPDX-License-Identifier: MIT */
/* Parser of ARP / ND frames into (MAC, IP) bindings, and the binding table. */
#include "netstate/learn.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

const char *ns_learn_source_name(enum ns_learn_source s)
{
	switch (s) {
	case NS_LEARN_ARP_REQUEST: return "arp-request";
	case NS_LEARN_ARP_REPLY: return "arp-reply";
	case NS_LEARN_ND_SOLICIT: return "nd-solicit";
	case NS_LEARN_ND_ADVERT: return "nd-advert";
	}
	return "unknown";
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool unicast_mac(const uint8_t *m)
{
	static const uint8_t zero[NS_MAC_LEN];

	return !(m[0] & 1) && memcmp(m, zero, NS_MAC_LEN) != 0;
}

static bool unicast_v4(const uint8_t *a)
{
	return a[0] != 0 && a[0] < 224 && !(a[0] == 255);
}

static bool unicast_v6(const uint8_t *a)
{
	static const uint8_t zero[16];

	return a[0] != 0xff && memcmp(a, zero, 16) != 0;
}

/* ARP (RFC 826): 28 bytes for Ethernet/IPv4; the sender fields are the binding, only when the sender hardware
 * address is the frame's Ethernet source (a host on the segment could otherwise bind another's MAC to its IP). */
static int parse_arp(const uint8_t *eth_src, const uint8_t *p, size_t len, struct ns_binding *out)
{
	uint16_t op;

	if (len < 28)
		return -EBADMSG;
	if (get16(p) != 1 || get16(p + 2) != 0x0800 || p[4] != 6 || p[5] != 4)
		return 0; /* not Ethernet/IPv4 ARP */
	op = get16(p + 6);
	if (op != 1 && op != 2)
		return 0;
	if (!unicast_mac(p + 8) || !unicast_v4(p + 14))
		return 0; /* probes (sender 0.0.0.0) bind nothing */
	if (memcmp(p + 8, eth_src, NS_MAC_LEN))
		return 0; /* sender hardware address is not the frame's source: not trusted to bind */
	memcpy(out->mac, p + 8, NS_MAC_LEN);
	memset(&out->ip, 0, sizeof(out->ip));
	out->ip.family = AF_INET;
	memcpy(out->ip.a, p + 14, 4);
	out->source = op == 1 ? NS_LEARN_ARP_REQUEST : NS_LEARN_ARP_REPLY;
	return 1;
}

/*
 * Finds the link-layer address option `want` (1 = source, 2 = target) in ND
 * options (RFC 4861 4.6): type u8, length u8 in units of 8 bytes (0 invalid).
 * Returns 1 found, 0 absent, -EBADMSG malformed.
 */
static int find_lladdr_opt(const uint8_t *opt, size_t len, uint8_t want, const uint8_t **mac)
{
	while (len > 0) {
		size_t olen;

		if (len < 2)
			return -EBADMSG;
		olen = (size_t)opt[1] * 8;
		if (olen == 0 || olen > len)
			return -EBADMSG;
		if (opt[0] == want && olen >= 8) {
			*mac = opt + 2;
			return 1;
		}
		opt += olen;
		len -= olen;
	}
	return 0;
}

/* IPv6 header (40 bytes) then ICMPv6 NS (135) or NA (136) without extension headers. */
static int parse_nd(const uint8_t *eth_src, const uint8_t *p, size_t len, struct ns_binding *out)
{
	const uint8_t *icmp, *mac = eth_src, *ip;
	size_t plen;
	int r;

	if (len < 40)
		return -EBADMSG;
	if ((p[0] >> 4) != 6)
		return -EBADMSG;
	if (p[6] != 58)
		return 0; /* not ICMPv6 (or behind extension headers: ND never is) */
	plen = get16(p + 4);
	if (plen > len - 40)
		return -EBADMSG;
	icmp = p + 40;
	if (plen < 1 || (icmp[0] != 135 && icmp[0] != 136))
		return 0;
	if (plen < 24 || icmp[1] != 0)
		return -EBADMSG;
	if (p[7] != 255)
		return 0; /* RFC 4861: ND from off-link is forged; ignore */
	if (icmp[0] == 135) {
		ip = p + 8; /* NS binds the sender's source address */
		if (!unicast_v6(ip))
			return 0; /* DAD probe from :: */
		r = find_lladdr_opt(icmp + 24, plen - 24, 1, &mac);
		out->source = NS_LEARN_ND_SOLICIT;
	} else {
		ip = icmp + 8; /* NA binds its target address */
		r = find_lladdr_opt(icmp + 24, plen - 24, 2, &mac);
		out->source = NS_LEARN_ND_ADVERT;
	}
	if (r < 0)
		return r;
	if (!unicast_v6(ip) || !unicast_mac(mac))
		return 0;
	if (memcmp(mac, eth_src, NS_MAC_LEN))
		return 0; /* the link-layer option is not the frame's source: not trusted to bind */
	memcpy(out->mac, mac, NS_MAC_LEN);
	memset(&out->ip, 0, sizeof(out->ip));
	out->ip.family = AF_INET6;
	memcpy(out->ip.a, ip, 16);
	return 1;
}

int ns_learn_parse(const uint8_t *frame, size_t len, struct ns_binding *out)
{
	size_t off = 12;
	uint16_t type;

	if (len < 14)
		return 0;
	type = get16(frame + off);
	if (type == 0x8100) {
		if (len < 18)
			return 0;
		off += 4;
		type = get16(frame + off);
	}
	off += 2;
	if (type == 0x0806)
		return parse_arp(frame + 6, frame + off, len - off, out);
	if (type == 0x86dd)
		return parse_nd(frame + 6, frame + off, len - off, out);
	return 0;
}

int ns_learn_table_add(struct ns_learn_table *t, const struct ns_binding *b)
{
	for (unsigned i = 0; i < t->n; i++)
		if (memcmp(t->b[i].mac, b->mac, NS_MAC_LEN) == 0 && ns_ip_equal(&t->b[i].ip, &b->ip))
			return 0;
	if (t->n >= NS_LEARN_TABLE_MAX) {
		t->dropped++;
		return -ENOSPC;
	}
	t->b[t->n++] = *b;
	return 1;
}

int ns_learn_fill_guest(const struct ns_learn_table *t, struct ns_guest *g)
{
	int added = 0;

	for (unsigned i = 0; i < t->n; i++) {
		unsigned before = g->n_ips;

		if (ns_guest_find_mac(g, t->b[i].mac) < 0)
			continue;
		if (ns_guest_add_ip(g, &t->b[i].ip, t->b[i].mac) == 0 && g->n_ips > before)
			added++;
	}
	return added;
}
