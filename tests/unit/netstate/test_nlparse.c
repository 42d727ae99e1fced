/* SPDX-License-Identifier: MIT */
/* Unit test: parsing of kernel link, FDB and error/extended-ack messages, including malformed ones. */
#include "check.h"
#include "netstate/nlmsg.h"
#include "netstate/nlparse.h"

#include <errno.h>
#include <linux/neighbour.h>
#include <sys/socket.h>

static const struct nlmsghdr *as_nlh(const void *p)
{
	return p;
}

static void test_fdb_master_entry(void)
{
	/* What a bridge dump sends for a dynamic entry: no NTF_SELF, NDA_MASTER = bridge. */
	static const uint8_t msg[] = {
		56, 0, 0, 0, 0x1c, 0, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0,
		7, 0, 0, 0, 5, 0, 0, 0, 0x02, 0, 0, 0,
		10, 0, 2, 0, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0, 0,
		8, 0, 9, 0, 3, 0, 0, 0,                     /* NDA_MASTER 3 */
		6, 0, 5, 0, 10, 0, 0, 0,                    /* NDA_VLAN 10 */
	};
	struct ns_fdb_entry e;

	CHECK(ns_parse_fdb(as_nlh(msg), &e) == 0);
	CHECK(e.ifindex == 5 && e.master == 3 && e.vlan == 10 && e.has_mac && e.state == NUD_REACHABLE);
	CHECK(e.mac[5] == 0x56 && e.dst.family == 0 && !(e.flags & NTF_SELF));
}

static void test_fdb_self_roundtrip_and_bad(void)
{
	uint8_t buf[NS_NLMSG_BUF];
	struct ns_fdb_spec s = {.ifindex = 4, .table = NS_FDB_SELF, .mac = {2, 0, 0, 0, 0, 1}};
	struct ns_fdb_entry e;
	struct nlmsghdr *nlh;
	char ip[46];

	CHECK(ns_ip_parse("198.18.0.9", &s.dst) == 0);
	nlh = ns_nlmsg_fdb(buf, 1, NS_FDB_ADD, &s);
	CHECK(ns_parse_fdb(nlh, &e) == 0);
	CHECK(e.flags == NTF_SELF && e.ifindex == 4 && e.dst.family == AF_INET);
	CHECK(strcmp(ns_ip_fmt(&e.dst, ip, sizeof(ip)), "198.18.0.9") == 0);
	/* NDA_DST (at 16+12+12) shrunk to 1 byte of payload: neither v4 nor v6 */
	((uint8_t *)nlh)[40] = 5;
	CHECK(ns_parse_fdb(nlh, &e) == -EBADMSG);
	/* NDA_DST claiming more bytes than the message has: the walk stops, no address */
	((uint8_t *)nlh)[40] = 12;
	CHECK(ns_parse_fdb(nlh, &e) == 0 && e.dst.family == 0);
	/* Too short for an ndmsg */
	nlh->nlmsg_len = 20;
	CHECK(ns_parse_fdb(nlh, &e) == -EBADMSG);
	/* Other family */
	nlh = ns_nlmsg_fdb(buf, 1, NS_FDB_ADD, &s);
	((uint8_t *)nlh)[16] = AF_INET;
	CHECK(ns_parse_fdb(nlh, &e) == -ENOMSG);
}

static void test_link_vxlan(void)
{
	uint8_t buf[NS_NLMSG_BUF];
	struct ns_vxlan_spec s = {.name = "lhvx42", .vni = 42, .port = 4789};
	struct ns_link_info li;
	struct nlmsghdr *nlh;

	CHECK(ns_ip_parse("198.18.0.1", &s.local) == 0);
	nlh = ns_nlmsg_newvxlan(buf, 1, &s);
	CHECK(ns_parse_link(nlh, &li) == 0);
	CHECK(strcmp(li.name, "lhvx42") == 0 && strcmp(li.kind, "vxlan") == 0 && li.is_vxlan);
	CHECK(li.vni == 42 && li.port == 4789 && li.learning == 0 && li.local.family == AF_INET);
	CHECK(li.local.a[0] == 198 && li.local.a[3] == 1 && li.master == 0);
}

static void test_link_plain(void)
{
	/* RTM_NEWLINK: bridge "br0" (name without NUL), master absent, alias with NUL. */
	static const uint8_t msg[] = {
		68, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 1, 0, 3, 0, 0, 0, 0x43, 0x10, 0, 0, 0, 0, 0, 0,
		7, 0, 3, 0, 'b', 'r', '0', 0,
		9, 0, 20, 0, 's', 'i', 't', 'e', 0, 0, 0, 0,
		16, 0, 18, 0x80, 11, 0, 1, 0, 'b', 'r', 'i', 'd', 'g', 'e', 0, 0,
	};
	static const uint8_t noname[] = {
		32, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 1, 0, 3, 0, 0, 0, 0x43, 0x10, 0, 0, 0, 0, 0, 0,
	};
	struct ns_link_info li;

	CHECK(ns_parse_link(as_nlh(msg), &li) == 0);
	CHECK(li.ifindex == 3 && (li.flags & 1) && strcmp(li.name, "br0") == 0);
	CHECK(strcmp(li.alias, "site") == 0 && strcmp(li.kind, "bridge") == 0 && !li.is_vxlan);
	CHECK(ns_parse_link(as_nlh(noname), &li) == -EBADMSG);
}

static void test_nlerr(void)
{
	/* Capped error with extended ack: EEXIST and the kernel's text. */
	static const uint8_t capped[] = {
		52, 0, 0, 0, 2, 0, 0x00, 0x03, 1, 0, 0, 0, 0, 0, 0, 0, /* NLMSG_ERROR, CAPPED|ACK_TLVS */
		0xef, 0xff, 0xff, 0xff,                               /* error -17 */
		40, 0, 0, 0, 0x1c, 0, 0x05, 0x02, 1, 0, 0, 0, 0, 0, 0, 0, /* request header */
		16, 0, 1, 0, 'F', 'i', 'l', 'e', ' ', 'e', 'x', 'i', 's', 't', 's', 0,
	};
	/* Not capped, but the echoed request claims 4000 bytes: must not read past the message. */
	static const uint8_t lying[] = {
		36, 0, 0, 0, 2, 0, 0x00, 0x02, 1, 0, 0, 0, 0, 0, 0, 0,
		0xfe, 0xff, 0xff, 0xff,
		0xa0, 0x0f, 0, 0, 0x1c, 0, 0x05, 0x02, 1, 0, 0, 0, 0, 0, 0, 0,
	};
	static const uint8_t ack[] = {
		36, 0, 0, 0, 2, 0, 0x00, 0x01, 1, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0,
		40, 0, 0, 0, 0x1c, 0, 0x05, 0x02, 1, 0, 0, 0, 0, 0, 0, 0,
	};
	char msg[64];
	int code = 1;

	CHECK(ns_parse_nlerr(as_nlh(capped), &code, msg, sizeof(msg)) == 0);
	CHECK(code == -EEXIST && strcmp(msg, "File exists") == 0);
	CHECK(ns_parse_nlerr(as_nlh(lying), &code, msg, sizeof(msg)) == -EBADMSG);
	CHECK(ns_parse_nlerr(as_nlh(ack), &code, msg, sizeof(msg)) == 0 && code == 0 && !msg[0]);
}

static void test_datagram_bounds(void)
{
	/* A 16-byte NOOP followed by a header claiming 0x89898989 bytes: libmnl's signed
	 * length check would accept it (fuzzer finding); the datagram check must not. */
	static const uint8_t huge[] = {
		16, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
		0x89, 0x89, 0x89, 0x89, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
	};
	static const uint8_t good[] = {
		16, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
		20, 0, 0, 0, 3, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};

	CHECK(!ns_nl_datagram_ok(huge, sizeof(huge)));
	CHECK(ns_nl_datagram_ok(good, sizeof(good)));
	CHECK(!ns_nl_datagram_ok(good, sizeof(good) - 1));
	CHECK(!ns_nl_datagram_ok(good, 10));
}

int main(void)
{
	test_datagram_bounds();
	test_fdb_master_entry();
	test_fdb_self_roundtrip_and_bad();
	test_link_vxlan();
	test_link_plain();
	test_nlerr();
	CHECK_DONE();
}
