/* SPDX-License-Identifier: MIT */
/* Parsers for rtnetlink replies: links (with VXLAN data), FDB entries, errors with extended ack. */
#include "netstate/nlparse.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

/* Attribute tables: tb[type] = attr, sized for the largest type we read. */
#define TB_MAX 64

struct tb_ctx {
	const struct nlattr **tb;
	int max;
};

static int collect_cb(const struct nlattr *attr, void *data)
{
	struct tb_ctx *c = data;
	int type = mnl_attr_get_type(attr);

	if (type <= c->max)
		c->tb[type] = attr;
	return MNL_CB_OK;
}

static int collect(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb, int max)
{
	struct tb_ctx c = {tb, max};

	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	if (mnl_nlmsg_get_payload_len(nlh) < hdrlen)
		return -EBADMSG;
	return mnl_attr_parse(nlh, (unsigned)hdrlen, collect_cb, &c) < 0 ? -EBADMSG : 0;
}

static int collect_nested(const struct nlattr *nest, const struct nlattr **tb, int max)
{
	struct tb_ctx c = {tb, max};

	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	return mnl_attr_parse_nested(nest, collect_cb, &c) < 0 ? -EBADMSG : 0;
}

/* Copies a string attribute that may or may not carry its NUL. */
static void copy_str(const struct nlattr *a, char *dst, size_t dstlen)
{
	size_t n = mnl_attr_get_payload_len(a);
	const char *s = mnl_attr_get_payload(a);
	const char *nul = memchr(s, 0, n);

	if (nul)
		n = (size_t)(nul - s);
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

static bool len_is(const struct nlattr *a, size_t n)
{
	return a && mnl_attr_get_payload_len(a) == n;
}

static int parse_vxlan_data(const struct nlattr *data, struct ns_link_info *out)
{
	const struct nlattr *tb[TB_MAX + 1];

	if (collect_nested(data, tb, TB_MAX) < 0)
		return -EBADMSG;
	if (!len_is(tb[IFLA_VXLAN_ID], 4))
		return -EBADMSG;
	out->is_vxlan = true;
	out->vni = mnl_attr_get_u32(tb[IFLA_VXLAN_ID]);
	if (len_is(tb[IFLA_VXLAN_LOCAL], 4)) {
		out->local.family = AF_INET;
		memcpy(out->local.a, mnl_attr_get_payload(tb[IFLA_VXLAN_LOCAL]), 4);
	} else if (len_is(tb[IFLA_VXLAN_LOCAL6], 16)) {
		out->local.family = AF_INET6;
		memcpy(out->local.a, mnl_attr_get_payload(tb[IFLA_VXLAN_LOCAL6]), 16);
	}
	if (len_is(tb[IFLA_VXLAN_PORT], 2))
		out->port = ntohs(mnl_attr_get_u16(tb[IFLA_VXLAN_PORT]));
	if (len_is(tb[IFLA_VXLAN_LEARNING], 1))
		out->learning = mnl_attr_get_u8(tb[IFLA_VXLAN_LEARNING]);
	return 0;
}

bool ns_nl_datagram_ok(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		uint32_t n;

		if (len < sizeof(struct nlmsghdr))
			return false;
		memcpy(&n, p, sizeof(n));
		if (n < sizeof(struct nlmsghdr) || n > len)
			return false;
		n = MNL_ALIGN(n);
		if (n >= len)
			return true;
		p += n;
		len -= n;
	}
	return true;
}

int ns_parse_link(const struct nlmsghdr *nlh, struct ns_link_info *out)
{
	const struct nlattr *tb[TB_MAX + 1], *li[IFLA_INFO_MAX + 1];
	const struct ifinfomsg *ifi;

	memset(out, 0, sizeof(*out));
	out->learning = -1;
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return -ENOMSG;
	if (collect(nlh, sizeof(*ifi), tb, TB_MAX) < 0)
		return -EBADMSG;
	ifi = mnl_nlmsg_get_payload(nlh);
	out->ifindex = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	if (!tb[IFLA_IFNAME] || mnl_attr_get_payload_len(tb[IFLA_IFNAME]) == 0)
		return -EBADMSG;
	copy_str(tb[IFLA_IFNAME], out->name, sizeof(out->name));
	if (tb[IFLA_IFALIAS])
		copy_str(tb[IFLA_IFALIAS], out->alias, sizeof(out->alias));
	if (len_is(tb[IFLA_MASTER], 4))
		out->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (!tb[IFLA_LINKINFO])
		return 0;
	if (collect_nested(tb[IFLA_LINKINFO], li, IFLA_INFO_MAX) < 0)
		return -EBADMSG;
	if (li[IFLA_INFO_KIND])
		copy_str(li[IFLA_INFO_KIND], out->kind, sizeof(out->kind));
	if (strcmp(out->kind, "vxlan") == 0 && li[IFLA_INFO_DATA])
		return parse_vxlan_data(li[IFLA_INFO_DATA], out);
	return 0;
}

int ns_parse_fdb(const struct nlmsghdr *nlh, struct ns_fdb_entry *out)
{
	const struct nlattr *tb[TB_MAX + 1];
	const struct ndmsg *ndm;

	memset(out, 0, sizeof(*out));
	out->vlan = -1;
	if (nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH)
		return -ENOMSG;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm))
		return -EBADMSG;
	ndm = mnl_nlmsg_get_payload(nlh);
	if (ndm->ndm_family != AF_BRIDGE)
		return -ENOMSG;
	if (collect(nlh, sizeof(*ndm), tb, TB_MAX) < 0)
		return -EBADMSG;
	out->ifindex = ndm->ndm_ifindex;
	out->flags = ndm->ndm_flags;
	out->state = ndm->ndm_state;
	if (len_is(tb[NDA_LLADDR], NS_MAC_LEN)) {
		out->has_mac = true;
		memcpy(out->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), NS_MAC_LEN);
	}
	if (len_is(tb[NDA_DST], 4)) {
		out->dst.family = AF_INET;
		memcpy(out->dst.a, mnl_attr_get_payload(tb[NDA_DST]), 4);
	} else if (len_is(tb[NDA_DST], 16)) {
		out->dst.family = AF_INET6;
		memcpy(out->dst.a, mnl_attr_get_payload(tb[NDA_DST]), 16);
	} else if (tb[NDA_DST]) {
		return -EBADMSG;
	}
	if (len_is(tb[NDA_MASTER], 4))
		out->master = (int)mnl_attr_get_u32(tb[NDA_MASTER]);
	if (len_is(tb[NDA_VLAN], 2))
		out->vlan = mnl_attr_get_u16(tb[NDA_VLAN]);
	return 0;
}

int ns_parse_nlerr(const struct nlmsghdr *nlh, int *errcode, char *msg, size_t msglen)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	const struct nlmsgerr *e;
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off;

	if (msglen)
		msg[0] = 0;
	if (nlh->nlmsg_type != NLMSG_ERROR)
		return -ENOMSG;
	if (plen < sizeof(*e))
		return -EBADMSG;
	e = mnl_nlmsg_get_payload(nlh);
	if (e->error > 0 || e->error < -4095)
		return -EBADMSG;
	*errcode = e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return 0;
	/*
	 * Layout: int error, then the request's header (NLM_F_CAPPED) or the
	 * whole request (its nlmsg_len), then the extended-ack attributes.
	 */
	if (nlh->nlmsg_flags & NLM_F_CAPPED)
		off = sizeof(*e);
	else if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
		return -EBADMSG;
	else
		off = MNL_ALIGN(sizeof(e->error) + e->msg.nlmsg_len);
	if (off > plen)
		return -EBADMSG;
	if (collect(nlh, off, tb, NLMSGERR_ATTR_MAX) < 0)
		return -EBADMSG;
	if (tb[NLMSGERR_ATTR_MSG] && msglen)
		copy_str(tb[NLMSGERR_ATTR_MSG], msg, msglen);
	return 0;
}
