/* SPDX-License-Identifier: MIT */
/* Unit test: rtnetlink messages built by netstate match hand-derived bytes (little-endian host). */
#include "check.h"
#include "netstate/nlmsg.h"
#include "netstate/nlparse.h"

#include <arpa/inet.h>
#include <sys/socket.h>

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* Layouts: nlmsghdr {u32 len, u16 type, u16 flags, u32 seq, u32 pid};
 * ndmsg {u8 family, u8 pad, u16 pad, s32 ifindex, u16 state, u8 flags, u8 type};
 * ifinfomsg {u8 family, u8 pad, u16 type, s32 index, u32 flags, u32 change};
 * nlattr {u16 len, u16 type} + payload padded to 4. */

static void test_fdb_replace_self_v4(void)
{
	static const uint8_t want[] = {
		0x30, 0, 0, 0, 0x1c, 0, 0x05, 0x05, 7, 0, 0, 0, 0, 0, 0, 0, /* len 48, RTM_NEWNEIGH, REQ|ACK|REPLACE|CREATE */
		7, 0, 0, 0, 5, 0, 0, 0, 0x80, 0, 0x02, 0,               /* AF_BRIDGE, if 5, NUD_PERMANENT, NTF_SELF */
		10, 0, 2, 0, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0,  /* NDA_LLADDR */
		8, 0, 1, 0, 198, 18, 0, 2,                              /* NDA_DST 198.18.0.2 */
	};
	uint8_t buf[NS_NLMSG_BUF];
	struct ns_fdb_spec s = {.ifindex = 5, .table = NS_FDB_SELF};
	struct nlmsghdr *nlh;

	memcpy(s.mac, guest_mac, 6);
	CHECK(ns_ip_parse("198.18.0.2", &s.dst) == 0);
	nlh = ns_nlmsg_fdb(buf, 7, NS_FDB_REPLACE, &s);
	CHECK_BYTES("fdb replace self", nlh, nlh->nlmsg_len, want);
}

static void test_neigh_ip_v4(void)
{
	static const uint8_t want[] = {
		0x30, 0, 0, 0, 0x1c, 0, 0x05, 0x05, 3, 0, 0, 0, 0, 0, 0, 0, /* len 48, RTM_NEWNEIGH, REQ|ACK|REPLACE|CREATE */
		2, 0, 0, 0, 6, 0, 0, 0, 0x04, 0, 0, 0,                   /* AF_INET, if 6, NUD_STALE */
		8, 0, 1, 0, 198, 18, 110, 20,                            /* NDA_DST 198.18.110.20 */
		10, 0, 2, 0, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0,  /* NDA_LLADDR */
	};
	static const uint8_t want6_head[] = {
		0x3c, 0, 0, 0, 0x1c, 0, 0x05, 0x05, 4, 0, 0, 0, 0, 0, 0, 0, /* len 60 */
		10, 0, 0, 0, 6, 0, 0, 0, 0x04, 0, 0, 0,                  /* AF_INET6 */
		20, 0, 1, 0, 0x20, 0x01, 0x0d, 0xb8,                     /* NDA_DST 2001:db8::20 */
	};
	uint8_t buf[NS_NLMSG_BUF];
	struct ns_ip ip;
	struct nlmsghdr *nlh;

	CHECK(ns_ip_parse("198.18.110.20", &ip) == 0);
	nlh = ns_nlmsg_neigh_ip(buf, 3, 6, &ip, guest_mac);
	CHECK_BYTES("neigh ip v4", nlh, nlh->nlmsg_len, want);
	CHECK(ns_ip_parse("2001:db8::20", &ip) == 0);
	nlh = ns_nlmsg_neigh_ip(buf, 4, 6, &ip, guest_mac);
	CHECK(nlh->nlmsg_len == 60);
	CHECK_BYTES("neigh ip v6 head", nlh, sizeof(want6_head), want6_head);
}

static void test_fdb_del_master(void)
{
	static const uint8_t want[] = {
		0x28, 0, 0, 0, 0x1d, 0, 0x05, 0, 1, 0, 0, 0, 0, 0, 0, 0, /* len 40, RTM_DELNEIGH, REQ|ACK */
		7, 0, 0, 0, 9, 0, 0, 0, 0x02, 0, 0x04, 0,              /* if 9, NUD_REACHABLE, NTF_MASTER */
		10, 0, 2, 0, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0,
	};
	uint8_t buf[NS_NLMSG_BUF];
	struct ns_fdb_spec s = {.ifindex = 9, .table = NS_FDB_MASTER, .dynamic = true};
	struct nlmsghdr *nlh;

	memcpy(s.mac, guest_mac, 6);
	nlh = ns_nlmsg_fdb(buf, 1, NS_FDB_DEL, &s);
	CHECK_BYTES("fdb del master", nlh, nlh->nlmsg_len, want);
}

static void test_flood_append_v6(void)
{
	static const uint8_t want[] = {
		0x3c, 0, 0, 0, 0x1c, 0, 0x05, 0x0c, 2, 0, 0, 0, 0, 0, 0, 0, /* len 60, REQ|ACK|CREATE|APPEND */
		7, 0, 0, 0, 4, 0, 0, 0, 0x80, 0, 0x02, 0,
		10, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,                        /* all-zero MAC */
		20, 0, 1, 0, 0x20, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, /* 2001:200::2 */
	};
	uint8_t buf[NS_NLMSG_BUF];
	struct ns_fdb_spec s = {.ifindex = 4, .table = NS_FDB_SELF};
	struct nlmsghdr *nlh;

	CHECK(ns_ip_parse("2001:200::2", &s.dst) == 0);
	nlh = ns_nlmsg_fdb(buf, 2, NS_FDB_APPEND, &s);
	CHECK_BYTES("flood append v6", nlh, nlh->nlmsg_len, want);
}

static void test_newvxlan(void)
{
	static const uint8_t want[] = {
		96, 0, 0, 0, 0x10, 0, 0x05, 0x06, 3, 0, 0, 0, 0, 0, 0, 0, /* RTM_NEWLINK, REQ|ACK|EXCL|CREATE */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,          /* ifinfomsg */
		11, 0, 3, 0, 'l', 'h', 'v', 'x', '4', '2', 0, 0,         /* IFLA_IFNAME "lhvx42\0" */
		52, 0, 18, 0x80,                                         /* IFLA_LINKINFO | NLA_F_NESTED */
		9, 0, 1, 0, 'v', 'x', 'l', 'a', 'n', 0, 0, 0,            /* IFLA_INFO_KIND */
		36, 0, 2, 0x80,                                          /* IFLA_INFO_DATA | NLA_F_NESTED */
		8, 0, 1, 0, 42, 0, 0, 0,                                 /* IFLA_VXLAN_ID 42 */
		8, 0, 4, 0, 198, 18, 0, 1,                               /* IFLA_VXLAN_LOCAL */
		6, 0, 15, 0, 0x12, 0xb5, 0, 0,                           /* IFLA_VXLAN_PORT 4789, big-endian */
		5, 0, 7, 0, 0, 0, 0, 0,                                  /* IFLA_VXLAN_LEARNING 0 */
	};
	uint8_t buf[NS_NLMSG_BUF];
	struct ns_vxlan_spec s = {.name = "lhvx42", .vni = 42, .port = 4789};
	struct nlmsghdr *nlh;

	CHECK(ns_ip_parse("198.18.0.1", &s.local) == 0);
	nlh = ns_nlmsg_newvxlan(buf, 3, &s);
	CHECK_BYTES("new vxlan", nlh, nlh->nlmsg_len, want);
}

static void test_setlink_getlink_dellink_dump(void)
{
	static const uint8_t want_set[] = {
		48, 0, 0, 0, 0x10, 0, 0x05, 0, 4, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,          /* index 7, IFF_UP in flags and change */
		8, 0, 10, 0, 3, 0, 0, 0,                                 /* IFLA_MASTER 3 */
		5, 0, 20, 0, 'x', 0, 0, 0,                               /* IFLA_IFALIAS "x" */
	};
	static const uint8_t want_get[] = {
		40, 0, 0, 0, 0x12, 0, 0x05, 0, 5, 0, 0, 0, 0, 0, 0, 0,  /* RTM_GETLINK */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		8, 0, 3, 0, 'b', 'r', '0', 0,
	};
	static const uint8_t want_del[] = {
		32, 0, 0, 0, 0x11, 0, 0x05, 0, 6, 0, 0, 0, 0, 0, 0, 0,  /* RTM_DELLINK */
		0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	static const uint8_t want_dump[] = {
		28, 0, 0, 0, 0x1e, 0, 0x01, 0x03, 8, 0, 0, 0, 0, 0, 0, 0, /* RTM_GETNEIGH, REQ|DUMP */
		7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	uint8_t buf[NS_NLMSG_BUF];
	struct ns_link_change c = {.master = 3, .set_up = true, .alias = "x"};
	struct nlmsghdr *nlh;

	nlh = ns_nlmsg_setlink(buf, 4, 7, &c);
	CHECK_BYTES("setlink", nlh, nlh->nlmsg_len, want_set);
	nlh = ns_nlmsg_getlink(buf, 5, "br0");
	CHECK_BYTES("getlink", nlh, nlh->nlmsg_len, want_get);
	nlh = ns_nlmsg_dellink(buf, 6, 7);
	CHECK_BYTES("dellink", nlh, nlh->nlmsg_len, want_del);
	nlh = ns_nlmsg_fdb_dump(buf, 8);
	CHECK_BYTES("fdb dump", nlh, nlh->nlmsg_len, want_dump);
}

int main(void)
{
	test_fdb_replace_self_v4();
	test_fdb_del_master();
	test_neigh_ip_v4();
	test_flood_append_v6();
	test_newvxlan();
	test_setlink_getlink_dellink_dump();
	CHECK_DONE();
}
