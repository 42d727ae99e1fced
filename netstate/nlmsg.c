/* SPDX-License-Identifier: MIT */
/* Pure rtnetlink message builders (link, VXLAN, FDB) on libmnl. */
#include "netstate/nlmsg.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

static struct nlmsghdr *put_header(void *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, NS_NLMSG_BUF);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *nlh, int ifindex)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return ifi;
}

struct nlmsghdr *ns_nlmsg_getlink(void *buf, uint32_t seq, const char *ifname)
{
	struct nlmsghdr *nlh = put_header(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq);

	put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	return nlh;
}

struct nlmsghdr *ns_nlmsg_newvxlan(void *buf, uint32_t seq, const struct ns_vxlan_spec *s)
{
	struct nlmsghdr *nlh = put_header(buf, RTM_NEWLINK,
					  NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
	struct nlattr *linkinfo, *data;

	put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, s->name);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_str(nlh, IFLA_INFO_KIND, "vxlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, s->vni);
	if (s->local.family == AF_INET)
		mnl_attr_put(nlh, IFLA_VXLAN_LOCAL, 4, s->local.a);
	else if (s->local.family == AF_INET6)
		mnl_attr_put(nlh, IFLA_VXLAN_LOCAL6, 16, s->local.a);
	mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(s->port)); /* network order on the wire */
	/* Learning off: remote MACs are placed by longhaul, never guessed from traffic. */
	mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, 0);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nlh;
}

struct nlmsghdr *ns_nlmsg_setlink(void *buf, uint32_t seq, int ifindex,
				  const struct ns_link_change *c)
{
	struct nlmsghdr *nlh = put_header(buf, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
	struct ifinfomsg *ifi = put_ifinfo(nlh, ifindex);

	if (c->set_up) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	if (c->master > 0)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)c->master);
	if (c->alias)
		mnl_attr_put_str(nlh, IFLA_IFALIAS, c->alias);
	return nlh;
}

struct nlmsghdr *ns_nlmsg_dellink(void *buf, uint32_t seq, int ifindex)
{
	struct nlmsghdr *nlh = put_header(buf, RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq);

	put_ifinfo(nlh, ifindex);
	return nlh;
}

struct nlmsghdr *ns_nlmsg_fdb(void *buf, uint32_t seq, enum ns_fdb_op op,
			      const struct ns_fdb_spec *s)
{
	static const uint16_t flags[] = {
		[NS_FDB_ADD] = NLM_F_CREATE | NLM_F_EXCL,
		[NS_FDB_APPEND] = NLM_F_CREATE | NLM_F_APPEND,
		[NS_FDB_REPLACE] = NLM_F_CREATE | NLM_F_REPLACE,
		[NS_FDB_DEL] = 0,
	};
	uint16_t type = op == NS_FDB_DEL ? RTM_DELNEIGH : RTM_NEWNEIGH;
	struct nlmsghdr *nlh = put_header(buf, type, NLM_F_REQUEST | NLM_F_ACK | flags[op], seq);
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));

	ndm->ndm_family = AF_BRIDGE;
	ndm->ndm_ifindex = s->ifindex;
	if (s->table == NS_FDB_SELF) {
		/* VXLAN only accepts PERMANENT or REACHABLE; PERMANENT never ages out. */
		ndm->ndm_flags = NTF_SELF;
		ndm->ndm_state = NUD_PERMANENT;
	} else {
		ndm->ndm_flags = NTF_MASTER;
		ndm->ndm_state = s->dynamic ? NUD_REACHABLE : NUD_NOARP;
	}
	mnl_attr_put(nlh, NDA_LLADDR, NS_MAC_LEN, s->mac);
	if (s->dst.family)
		mnl_attr_put(nlh, NDA_DST, ns_ip_len(&s->dst), s->dst.a);
	return nlh;
}

struct nlmsghdr *ns_nlmsg_neigh_ip(void *buf, uint32_t seq, int ifindex, const struct ns_ip *ip,
				   const uint8_t mac[NS_MAC_LEN])
{
	struct nlmsghdr *nlh = put_header(buf, RTM_NEWNEIGH,
					  NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));

	ndm->ndm_family = (uint8_t)ip->family;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_STALE;
	mnl_attr_put(nlh, NDA_DST, ns_ip_len(ip), ip->a);
	mnl_attr_put(nlh, NDA_LLADDR, NS_MAC_LEN, mac);
	return nlh;
}

struct nlmsghdr *ns_nlmsg_fdb_dump(void *buf, uint32_t seq)
{
	struct nlmsghdr *nlh = put_header(buf, RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq);
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));

	ndm->ndm_family = AF_BRIDGE;
	return nlh;
}

const char *ns_fdb_op_name(enum ns_fdb_op op)
{
	switch (op) {
	case NS_FDB_ADD: return "add";
	case NS_FDB_APPEND: return "append";
	case NS_FDB_REPLACE: return "replace";
	case NS_FDB_DEL: return "del";
	}
	return "unknown";
}
