/* SPDX-License-Identifier: MIT */
/* Builders for GARP (request/reply), unsolicited IPv6 NA and RARP Ethernet frames. */
#include "netstate/announce.h"

#include <string.h>

static const uint8_t bcast[NS_MAC_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

#define ETH_HLEN_NS 14
#define ETH_ZLEN_NS 60 /* minimum frame without FCS */
#define ARP_LEN 28

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_eth(uint8_t *p, const uint8_t dst[NS_MAC_LEN], const uint8_t src[NS_MAC_LEN],
		    uint16_t ethertype)
{
	memcpy(p, dst, NS_MAC_LEN);
	memcpy(p + 6, src, NS_MAC_LEN);
	put16(p + 12, ethertype);
}

/*
 * ARP/RARP body (RFC 826/903), 28 bytes:
 *   htype=1 (Ethernet) | ptype=0x0800 | hlen=6 | plen=4 | op
 *   sha[6] | spa[4] | tha[6] | tpa[4]
 */
static void put_arp(uint8_t *p, uint16_t op, const uint8_t sha[NS_MAC_LEN], const uint8_t spa[4],
		    const uint8_t tha[NS_MAC_LEN], const uint8_t tpa[4])
{
	put16(p, 1);
	put16(p + 2, 0x0800);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, op);
	memcpy(p + 8, sha, 6);
	memcpy(p + 14, spa, 4);
	memcpy(p + 18, tha, 6);
	memcpy(p + 24, tpa, 4);
}

size_t ns_build_garp(uint8_t *buf, size_t len, const uint8_t eth_dst[NS_MAC_LEN],
		     const uint8_t mac[NS_MAC_LEN], const uint8_t ip[4], bool reply)
{
	static const uint8_t zero[NS_MAC_LEN];

	if (len < ETH_ZLEN_NS)
		return 0;
	memset(buf, 0, ETH_ZLEN_NS);
	put_eth(buf, eth_dst ? eth_dst : bcast, mac, 0x0806);
	/*
	 * Request form (RFC 5227 announcement): tha zero, tpa = spa. Reply form:
	 * tha = sha, tpa = spa; some switches and hosts only act on one of them.
	 * For a unicast (gateway -> guest) frame the target MAC is the receiver.
	 */
	if (reply)
		put_arp(buf + ETH_HLEN_NS, 2, mac, ip, eth_dst ? eth_dst : mac, ip);
	else
		put_arp(buf + ETH_HLEN_NS, 1, mac, ip, zero, ip);
	return ETH_ZLEN_NS;
}

size_t ns_build_rarp(uint8_t *buf, size_t len, const uint8_t mac[NS_MAC_LEN])
{
	static const uint8_t zero_ip[4];

	if (len < ETH_ZLEN_NS)
		return 0;
	memset(buf, 0, ETH_ZLEN_NS);
	/* Ethertype 0x8035, op 3 (request reverse), sha = tha = MAC, IPs zero: QEMU's form. */
	put_eth(buf, bcast, mac, 0x8035);
	put_arp(buf + ETH_HLEN_NS, 3, mac, zero_ip, mac, zero_ip);
	return ETH_ZLEN_NS;
}

uint16_t ns_icmp6_checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg,
			   size_t len)
{
	uint32_t sum = 0;

	/* Pseudo-header: src, dst, 32-bit upper-layer length, 3 zero bytes, next header 58. */
	for (int i = 0; i < 16; i += 2)
		sum += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
	sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + 58;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(msg[i] << 8 | msg[i + 1]);
	if (len & 1)
		sum += (uint32_t)msg[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t ns_build_unsol_na(uint8_t *buf, size_t len, const uint8_t mac[NS_MAC_LEN],
			 const uint8_t ip6[16])
{
	static const uint8_t all_nodes_mac[NS_MAC_LEN] = {0x33, 0x33, 0, 0, 0, 1};
	static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};
	uint8_t *ip = buf + ETH_HLEN_NS, *icmp = ip + 40;
	uint16_t csum;

	if (len < NS_FRAME_MAX)
		return 0;
	memset(buf, 0, NS_FRAME_MAX);
	put_eth(buf, all_nodes_mac, mac, 0x86dd);
	/* IPv6: version 6, payload 32, next header 58 (ICMPv6), hop limit 255 (RFC 4861 7.1.2). */
	ip[0] = 0x60;
	put16(ip + 4, 32);
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, ip6, 16); /* source: the announced address itself */
	memcpy(ip + 24, all_nodes, 16);
	/*
	 * NA (RFC 4861 4.4): type 136, code 0, checksum, flags R|S|O + 29 reserved
	 * bits, target[16], option 2 (target link-layer address), length 1 (8 bytes).
	 * Unsolicited: S clear; O set so neighbours replace a cached MAC.
	 */
	icmp[0] = 136;
	icmp[4] = 0x20;
	memcpy(icmp + 8, ip6, 16);
	icmp[24] = 2;
	icmp[25] = 1;
	memcpy(icmp + 26, mac, NS_MAC_LEN);
	csum = ns_icmp6_checksum(ip + 8, ip + 24, icmp, 32);
	put16(icmp + 2, csum);
	return NS_FRAME_MAX;
}
