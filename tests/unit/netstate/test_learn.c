/* SPDX-License-Identifier: MIT */
/* Unit test: ARP / NS / NA frames parsed into (MAC, IP) bindings; probes and malformed frames. */
#include "check.h"
#include "netstate/announce.h"
#include "netstate/learn.h"

#include <errno.h>
#include <sys/socket.h>

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* An NS from fd00::20 for fd00::10 with a source link-layer option 02:00:00:00:00:02. */
static size_t build_ns(uint8_t *f, const uint8_t src[16], uint8_t hop, uint8_t optlen)
{
	static const uint8_t sll[6] = {2, 0, 0, 0, 0, 2};
	uint8_t *ip = f + 14, *icmp = ip + 40;

	memset(f, 0, 86);
	memcpy(f, (uint8_t[]){0x33, 0x33, 0xff, 0, 0, 0x10}, 6);
	memcpy(f + 6, sll, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	ip[0] = 0x60;
	ip[5] = 32;
	ip[6] = 58;
	ip[7] = hop;
	memcpy(ip + 8, src, 16);
	ip[24] = 0xff;
	ip[25] = 0x02;
	icmp[0] = 135;
	icmp[8] = 0xfd;
	icmp[23] = 0x10;
	icmp[24] = 1;
	icmp[25] = optlen;
	memcpy(icmp + 26, sll, 6);
	return 86;
}

static void test_arp(void)
{
	uint8_t f[NS_FRAME_MAX], tagged[NS_FRAME_MAX + 4];
	uint8_t ip4[4] = {198, 18, 1, 10}, zero[4] = {0};
	struct ns_binding b;
	size_t n;

	n = ns_build_garp(f, sizeof(f), NULL, mac, ip4, false);
	CHECK(ns_learn_parse(f, n, &b) == 1 && b.source == NS_LEARN_ARP_REQUEST);
	CHECK(b.ip.family == AF_INET && memcmp(b.ip.a, ip4, 4) == 0 && memcmp(b.mac, mac, 6) == 0);
	n = ns_build_garp(f, sizeof(f), NULL, mac, ip4, true);
	CHECK(ns_learn_parse(f, n, &b) == 1 && b.source == NS_LEARN_ARP_REPLY);
	/* 802.1Q-tagged copy */
	memcpy(tagged, f, 12);
	memcpy(tagged + 12, (uint8_t[]){0x81, 0x00, 0x00, 0x0a}, 4);
	memcpy(tagged + 16, f + 12, n - 12);
	CHECK(ns_learn_parse(tagged, n + 4, &b) == 1 && b.ip.a[3] == 10);
	/* ARP probe from 0.0.0.0 binds nothing */
	n = ns_build_garp(f, sizeof(f), NULL, mac, zero, false);
	CHECK(ns_learn_parse(f, n, &b) == 0);
	/* Truncated ARP body */
	n = ns_build_garp(f, sizeof(f), NULL, mac, ip4, false);
	CHECK(ns_learn_parse(f, 14 + 20, &b) == -EBADMSG);
	/* a sender hardware address other than the frame's source binds nothing (someone else's MAC to an IP) */
	n = ns_build_garp(f, sizeof(f), NULL, mac, ip4, true);
	f[6 + 5] ^= 1;
	CHECK(ns_learn_parse(f, n, &b) == 0);
	/* RARP is not a binding */
	n = ns_build_rarp(f, sizeof(f), mac);
	CHECK(ns_learn_parse(f, n, &b) == 0);
	CHECK(ns_learn_parse(f, 13, &b) == 0);
}

static void test_nd(void)
{
	uint8_t f[NS_FRAME_MAX];
	uint8_t ip6[16] = {0xfd, [15] = 0x10}, src[16] = {0xfd, [15] = 0x20}, unspec[16] = {0};
	struct ns_binding b;
	size_t n;

	n = ns_build_unsol_na(f, sizeof(f), mac, ip6);
	CHECK(ns_learn_parse(f, n, &b) == 1 && b.source == NS_LEARN_ND_ADVERT);
	CHECK(b.ip.family == AF_INET6 && memcmp(b.ip.a, ip6, 16) == 0 && memcmp(b.mac, mac, 6) == 0);
	/* NA whose option claims length 0: malformed */
	f[14 + 40 + 25] = 0;
	CHECK(ns_learn_parse(f, n, &b) == -EBADMSG);
	/* NA that is not from on-link (hop limit 254): ignored */
	n = ns_build_unsol_na(f, sizeof(f), mac, ip6);
	f[14 + 7] = 254;
	CHECK(ns_learn_parse(f, n, &b) == 0);
	/* IPv6 payload length beyond the frame */
	n = ns_build_unsol_na(f, sizeof(f), mac, ip6);
	CHECK(ns_learn_parse(f, n - 1, &b) == -EBADMSG);

	n = build_ns(f, src, 255, 1);
	CHECK(ns_learn_parse(f, n, &b) == 1 && b.source == NS_LEARN_ND_SOLICIT);
	CHECK(b.mac[5] == 2 && b.ip.a[15] == 0x20);
	/* a link-layer option other than the frame's source binds nothing */
	f[6 + 5] ^= 1;
	CHECK(ns_learn_parse(f, n, &b) == 0);
	n = ns_build_unsol_na(f, sizeof(f), mac, ip6);
	f[6 + 5] ^= 1;
	CHECK(ns_learn_parse(f, n, &b) == 0);
	n = build_ns(f, unspec, 255, 1);
	CHECK(ns_learn_parse(f, n, &b) == 0); /* DAD */
	n = build_ns(f, src, 255, 2);         /* option runs past the end */
	CHECK(ns_learn_parse(f, n, &b) == -EBADMSG);
}

static void test_table(void)
{
	static struct ns_learn_table t;
	struct ns_guest g = {0};
	struct ns_binding b = {.mac = {0x52, 0x54, 0, 0x12, 0x34, 0x56}};
	uint8_t other[6] = {2, 0, 0, 0, 0, 9};

	CHECK(ns_ip_parse("198.18.1.10", &b.ip) == 0);
	CHECK(ns_learn_table_add(&t, &b) == 1 && ns_learn_table_add(&t, &b) == 0);
	CHECK(ns_ip_parse("fd00::10", &b.ip) == 0 && ns_learn_table_add(&t, &b) == 1);
	memcpy(b.mac, other, 6);
	CHECK(ns_ip_parse("198.18.1.99", &b.ip) == 0 && ns_learn_table_add(&t, &b) == 1);
	CHECK(ns_guest_add_mac(&g, mac) == 0);
	CHECK(ns_learn_fill_guest(&t, &g) == 2 && g.n_ips == 2);
	CHECK(ns_learn_fill_guest(&t, &g) == 0);
	for (unsigned i = 0; i < NS_LEARN_TABLE_MAX; i++) {
		b.ip.a[15] = (uint8_t)i;
		b.ip.a[14] = (uint8_t)(i >> 8);
		b.ip.family = AF_INET6;
		ns_learn_table_add(&t, &b);
	}
	CHECK(t.n == NS_LEARN_TABLE_MAX && t.dropped > 0);
}

int main(void)
{
	test_arp();
	test_nd();
	test_table();
	CHECK_DONE();
}
