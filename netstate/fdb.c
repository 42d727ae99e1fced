/* SPDX-License-Identifier: MIT */
/* FDB operations for guest MACs over libmnl: list, apply, point remote, make local. */
#include "netstate/fdb.h"

#include "netstate/nlsock.h"

#include <errno.h>
#include <linux/neighbour.h>
#include <stdio.h>
#include <string.h>

struct list_ctx {
	int ifindex;
	int (*cb)(const struct ns_fdb_entry *e, void *data);
	void *data;
	int cb_ret;
};

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct list_ctx *c = data;
	struct ns_fdb_entry e;
	int r = ns_parse_fdb(nlh, &e);

	if (r == -ENOMSG)
		return MNL_CB_OK;
	if (r < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (c->ifindex && e.ifindex != c->ifindex)
		return MNL_CB_OK;
	if (!e.has_mac)
		return MNL_CB_OK;
	r = c->cb(&e, c->data);
	if (r < 0) {
		c->cb_ret = r;
		errno = -r;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int ns_fdb_list(struct ns_nl *nl, int ifindex,
		int (*cb)(const struct ns_fdb_entry *e, void *data), void *data,
		struct ns_err *err)
{
	char buf[NS_NLMSG_BUF];
	int r = -EINTR;

	/* A dump interrupted by a concurrent FDB change is restarted (bounded); the
	 * callback must therefore tolerate seeing entries again. */
	for (int attempt = 0; attempt < 4 && r == -EINTR; attempt++) {
		struct list_ctx c = {ifindex, cb, data, 0};

		r = ns_nl_request(nl, ns_nlmsg_fdb_dump(buf, 0), list_cb, &c, err, "fdb dump");
		if (c.cb_ret < 0)
			return c.cb_ret;
	}
	return r;
}

int ns_fdb_apply(struct ns_nl *nl, enum ns_fdb_op op, const struct ns_fdb_spec *s,
		 const char *devname, struct ns_err *err)
{
	char buf[NS_NLMSG_BUF], what[128], mac[18], ip[64] = "";

	if (s->dst.family) {
		char a[46];

		snprintf(ip, sizeof(ip), " dst %s", ns_ip_fmt(&s->dst, a, sizeof(a)));
	}
	snprintf(what, sizeof(what), "fdb %s %s%s on %s %s", ns_fdb_op_name(op),
		 ns_mac_fmt(s->mac, mac), ip, devname, s->table == NS_FDB_SELF ? "self" : "master");
	return ns_nl_request(nl, ns_nlmsg_fdb(buf, 0, op, s), NULL, NULL, err, what);
}

/* What the tables currently say about one MAC. */
struct mac_state {
	const uint8_t *mac;
	int vxlan_ifindex;
	int bridge_ifindex;
	bool has_self;
	struct ns_ip self_dst;
	bool has_master;
	int master_port;
};

static int mac_state_cb(const struct ns_fdb_entry *e, void *data)
{
	struct mac_state *m = data;

	if (memcmp(e->mac, m->mac, NS_MAC_LEN) != 0)
		return 0;
	if ((e->flags & NTF_SELF) && e->ifindex == m->vxlan_ifindex) {
		m->has_self = true;
		m->self_dst = e->dst;
	} else if (!(e->flags & NTF_SELF) && e->master == m->bridge_ifindex) {
		/* Bridge entries carry NDA_MASTER; the kernel does not set NTF_MASTER in dumps. */
		m->has_master = true;
		m->master_port = e->ifindex;
	}
	return 0;
}

static int lookup_vxlan(struct ns_nl *nl, const char *dev, struct ns_link_info *li,
			struct ns_err *err)
{
	int r = ns_nl_get_link(nl, dev, li, err);

	if (r < 0)
		return r;
	if (!li->is_vxlan)
		return ns_fail(err, -EINVAL, "%s is not a VXLAN device", dev);
	if (!li->master)
		return ns_fail(err, -EINVAL, "%s is not attached to a bridge", dev);
	return 0;
}

static int read_mac_state(struct ns_nl *nl, const struct ns_link_info *li,
			  const uint8_t *mac, struct mac_state *m, struct ns_err *err)
{
	memset(m, 0, sizeof(*m));
	m->mac = mac;
	m->vxlan_ifindex = li->ifindex;
	m->bridge_ifindex = li->master;
	return ns_fdb_list(nl, 0, mac_state_cb, m, err);
}

int ns_fdb_point_remote(struct ns_nl *nl, const char *vxlan_dev, const uint8_t mac[NS_MAC_LEN],
			const struct ns_ip *vtep, struct ns_report *rep, struct ns_err *err)
{
	struct ns_link_info li;
	struct mac_state m;
	struct ns_fdb_spec s = {0};
	char ms[18], ips[46];
	int r;

	if ((r = lookup_vxlan(nl, vxlan_dev, &li, err)) < 0 ||
	    (r = read_mac_state(nl, &li, mac, &m, err)) < 0)
		return r;
	ns_mac_fmt(mac, ms);
	ns_ip_fmt(vtep, ips, sizeof(ips));
	s.ifindex = li.ifindex;
	memcpy(s.mac, mac, NS_MAC_LEN);

	s.table = NS_FDB_SELF;
	s.dst = *vtep;
	if (m.has_self && ns_ip_equal(&m.self_dst, vtep)) {
		ns_report_add(rep, NS_CHANGE_UNCHANGED, "fdb %s dst %s on %s self", ms, ips, vxlan_dev);
	} else {
		if ((r = ns_fdb_apply(nl, NS_FDB_REPLACE, &s, vxlan_dev, err)) < 0)
			return r;
		ns_report_add(rep, m.has_self ? NS_CHANGE_UPDATED : NS_CHANGE_CREATED,
			      "fdb %s dst %s on %s self", ms, ips, vxlan_dev);
	}

	s.table = NS_FDB_MASTER;
	s.dst.family = 0;
	s.dynamic = true;
	if (m.has_master && m.master_port == li.ifindex) {
		ns_report_add(rep, NS_CHANGE_UNCHANGED, "fdb %s on %s master", ms, vxlan_dev);
		return 0;
	}
	if ((r = ns_fdb_apply(nl, NS_FDB_REPLACE, &s, vxlan_dev, err)) < 0)
		return r;
	ns_report_add(rep, m.has_master ? NS_CHANGE_UPDATED : NS_CHANGE_CREATED,
		      "fdb %s on %s master", ms, vxlan_dev);
	return 0;
}

int ns_neigh_set(struct ns_nl *nl, const char *dev, const struct ns_ip *ip, const uint8_t mac[NS_MAC_LEN],
		 struct ns_report *rep, struct ns_err *err)
{
	char buf[NS_NLMSG_BUF], what[128], ms[18], ips[46];
	struct ns_link_info li;
	int r;

	if ((r = ns_nl_get_link(nl, dev, &li, err)) < 0)
		return r;
	snprintf(what, sizeof(what), "neigh replace %s lladdr %s on %s", ns_ip_fmt(ip, ips, sizeof(ips)),
		 ns_mac_fmt(mac, ms), dev);
	if ((r = ns_nl_request(nl, ns_nlmsg_neigh_ip(buf, 0, li.ifindex, ip, mac), NULL, NULL, err, what)) < 0)
		return r;
	ns_report_add(rep, NS_CHANGE_UPDATED, "neigh %s lladdr %s on %s stale", ips, ms, dev);
	return 0;
}

int ns_fdb_make_local(struct ns_nl *nl, const char *vxlan_dev, const uint8_t mac[NS_MAC_LEN],
		      struct ns_report *rep, struct ns_err *err)
{
	struct ns_link_info li;
	struct mac_state m;
	struct ns_fdb_spec s = {0};
	char ms[18], ips[46];
	int r;

	if ((r = lookup_vxlan(nl, vxlan_dev, &li, err)) < 0 ||
	    (r = read_mac_state(nl, &li, mac, &m, err)) < 0)
		return r;
	ns_mac_fmt(mac, ms);
	s.ifindex = li.ifindex;
	memcpy(s.mac, mac, NS_MAC_LEN);

	s.table = NS_FDB_SELF;
	if (m.has_self) {
		/* No NDA_DST: removes the MAC's entry with all its remotes at once. */
		r = ns_fdb_apply(nl, NS_FDB_DEL, &s, vxlan_dev, err);
		/* ENOENT: it vanished between dump and delete, which is the goal. */
		if (r < 0 && r != -ENOENT)
			return r;
		ns_report_add(rep, NS_CHANGE_REMOVED, "fdb %s dst %s on %s self", ms,
			      ns_ip_fmt(&m.self_dst, ips, sizeof(ips)), vxlan_dev);
	} else {
		ns_report_add(rep, NS_CHANGE_UNCHANGED, "fdb %s on %s self: no remote entry", ms,
			      vxlan_dev);
	}

	s.table = NS_FDB_MASTER;
	s.dst.family = 0;
	if (m.has_master && m.master_port == li.ifindex) {
		r = ns_fdb_apply(nl, NS_FDB_DEL, &s, vxlan_dev, err);
		if (r < 0 && r != -ENOENT)
			return r;
		ns_report_add(rep, NS_CHANGE_REMOVED, "fdb %s on %s master", ms, vxlan_dev);
	} else {
		ns_report_add(rep, NS_CHANGE_UNCHANGED, "fdb %s master: not on %s", ms, vxlan_dev);
	}
	return 0;
}
