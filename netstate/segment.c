/* SPDX-License-Identifier: MIT */
/* Ensure/remove a stretched segment: VXLAN device, bridge attachment, flood list. */
#include "netstate/segment.h"

#include "netstate/fdb.h"
#include "netstate/nlmsg.h"
#include "netstate/nlparse.h"
#include "netstate/nlsock.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <stdio.h>
#include <string.h>

static bool is_ours(const struct ns_link_info *li)
{
	return strncmp(li->alias, NS_SEGMENT_ALIAS_PREFIX, strlen(NS_SEGMENT_ALIAS_PREFIX)) == 0;
}

/* An existing device of ours must match the config; VXLAN identity cannot change live. */
static int check_existing(const struct ns_segment_cfg *c, const struct ns_link_info *li,
			  struct ns_err *err)
{
	char want[46], have[46];

	if (!is_ours(li))
		return ns_fail(err, -EEXIST,
			       "segment %s: device %s exists but was not created by longhaul "
			       "(alias `%s'); refusing to adopt it",
			       c->name, c->dev, li->alias);
	if (!li->is_vxlan)
		return ns_fail(err, -EINVAL, "segment %s: device %s is a `%s', not vxlan", c->name,
			       c->dev, li->kind);
	if (li->vni != c->vni)
		return ns_fail(err, -EINVAL, "segment %s: %s has vni %u, config says %u", c->name,
			       c->dev, li->vni, c->vni);
	if (!ns_ip_equal(&li->local, &c->local))
		return ns_fail(err, -EINVAL, "segment %s: %s has local %s, config says %s",
			       c->name, c->dev, ns_ip_fmt(&li->local, have, sizeof(have)),
			       ns_ip_fmt(&c->local, want, sizeof(want)));
	if (li->port && li->port != c->port)
		return ns_fail(err, -EINVAL, "segment %s: %s has port %u, config says %u", c->name,
			       c->dev, li->port, c->port);
	return 0;
}

static int create_vxlan(struct ns_nl *nl, const struct ns_segment_cfg *c,
			struct ns_link_info *li, struct ns_report *rep, struct ns_err *err)
{
	struct ns_vxlan_spec spec = {c->dev, c->vni, c->local, c->port};
	struct ns_link_change mark = {0};
	char buf[NS_NLMSG_BUF], what[64], alias[96];
	int r;

	snprintf(what, sizeof(what), "create vxlan %s", c->dev);
	r = ns_nl_request(nl, ns_nlmsg_newvxlan(buf, 0, &spec), NULL, NULL, err, what);
	if (r < 0)
		return r;
	/* The alias marks the device as ours; the kernel ignores IFLA_IFALIAS at creation. */
	snprintf(alias, sizeof(alias), NS_SEGMENT_ALIAS_PREFIX "%s vni %u", c->name, c->vni);
	if ((r = ns_nl_get_link(nl, c->dev, li, err)) < 0)
		return r;
	mark.alias = alias;
	snprintf(what, sizeof(what), "mark %s", c->dev);
	r = ns_nl_request(nl, ns_nlmsg_setlink(buf, 0, li->ifindex, &mark), NULL, NULL, err, what);
	if (r < 0) {
		/* Unmarked, a later run would refuse it: take it away again. */
		ns_nl_request(nl, ns_nlmsg_dellink(buf, 0, li->ifindex), NULL, NULL, NULL, "undo");
		return r;
	}
	ns_report_add(rep, NS_CHANGE_CREATED, "vxlan %s vni %u port %u learning off", c->dev,
		      c->vni, c->port);
	return 0;
}

struct flood_ctx {
	struct ns_ip have[64];
	unsigned n;
};

static int flood_cb(const struct ns_fdb_entry *e, void *data)
{
	static const uint8_t zero[NS_MAC_LEN];
	struct flood_ctx *f = data;

	if (!(e->flags & NTF_SELF) || memcmp(e->mac, zero, NS_MAC_LEN) != 0 || !e->dst.family)
		return 0;
	for (unsigned i = 0; i < f->n; i++)
		if (ns_ip_equal(&f->have[i], &e->dst))
			return 0; /* a restarted dump repeats entries */
	if (f->n < sizeof(f->have) / sizeof(f->have[0]))
		f->have[f->n++] = e->dst;
	return 0;
}

static bool has_ip(const struct ns_ip *list, unsigned n, const struct ns_ip *ip)
{
	for (unsigned i = 0; i < n; i++)
		if (ns_ip_equal(&list[i], ip))
			return true;
	return false;
}

static int sync_flood_list(struct ns_nl *nl, const struct ns_segment_cfg *c, int ifindex,
			   struct ns_report *rep, struct ns_err *err)
{
	struct flood_ctx f = {.n = 0};
	struct ns_fdb_spec s = {.ifindex = ifindex, .table = NS_FDB_SELF};
	char ip[46];
	int r;

	if ((r = ns_fdb_list(nl, ifindex, flood_cb, &f, err)) < 0)
		return r;
	for (unsigned i = 0; i < c->n_remotes; i++) {
		ns_ip_fmt(&c->remotes[i], ip, sizeof(ip));
		if (has_ip(f.have, f.n, &c->remotes[i])) {
			ns_report_add(rep, NS_CHANGE_UNCHANGED, "flood %s on %s", ip, c->dev);
			continue;
		}
		s.dst = c->remotes[i];
		if ((r = ns_fdb_apply(nl, NS_FDB_APPEND, &s, c->dev, err)) < 0)
			return r;
		ns_report_add(rep, NS_CHANGE_CREATED, "flood %s on %s", ip, c->dev);
	}
	for (unsigned i = 0; i < f.n; i++) {
		if (has_ip(c->remotes, c->n_remotes, &f.have[i]))
			continue;
		s.dst = f.have[i];
		if ((r = ns_fdb_apply(nl, NS_FDB_DEL, &s, c->dev, err)) < 0)
			return r;
		ns_report_add(rep, NS_CHANGE_REMOVED, "flood %s on %s",
			      ns_ip_fmt(&f.have[i], ip, sizeof(ip)), c->dev);
	}
	return 0;
}

int ns_segment_ensure(struct ns_nl *nl, const struct ns_segment_cfg *c, struct ns_report *rep,
		      struct ns_err *err)
{
	struct ns_link_info br, li;
	struct ns_link_change ch = {0};
	char buf[NS_NLMSG_BUF], what[64];
	int r;

	if ((r = ns_nl_get_link(nl, c->bridge, &br, err)) < 0)
		return r;
	if (strcmp(br.kind, "bridge") != 0)
		return ns_fail(err, -EINVAL, "segment %s: %s is not a bridge", c->name, c->bridge);

	r = ns_nl_get_link(nl, c->dev, &li, err);
	if (r == -ENODEV)
		r = create_vxlan(nl, c, &li, rep, err);
	else if (r == 0 && (r = check_existing(c, &li, err)) == 0)
		ns_report_add(rep, NS_CHANGE_UNCHANGED, "vxlan %s vni %u", c->dev, c->vni);
	if (r < 0)
		return r;

	if (li.master != br.ifindex) {
		ch.master = br.ifindex;
		snprintf(what, sizeof(what), "attach %s to %s", c->dev, c->bridge);
		r = ns_nl_request(nl, ns_nlmsg_setlink(buf, 0, li.ifindex, &ch), NULL, NULL, err,
				  what);
		if (r < 0)
			return r;
		ns_report_add(rep, NS_CHANGE_UPDATED, "%s master %s", c->dev, c->bridge);
	} else {
		ns_report_add(rep, NS_CHANGE_UNCHANGED, "%s master %s", c->dev, c->bridge);
	}
	if (!(li.flags & IFF_UP)) {
		memset(&ch, 0, sizeof(ch));
		ch.set_up = true;
		snprintf(what, sizeof(what), "set %s up", c->dev);
		r = ns_nl_request(nl, ns_nlmsg_setlink(buf, 0, li.ifindex, &ch), NULL, NULL, err,
				  what);
		if (r < 0)
			return r;
		ns_report_add(rep, NS_CHANGE_UPDATED, "%s up", c->dev);
	} else {
		ns_report_add(rep, NS_CHANGE_UNCHANGED, "%s up", c->dev);
	}
	return sync_flood_list(nl, c, li.ifindex, rep, err);
}

int ns_segment_remove(struct ns_nl *nl, const struct ns_segment_cfg *c, struct ns_report *rep,
		      struct ns_err *err)
{
	struct ns_link_info li;
	char buf[NS_NLMSG_BUF], what[64];
	int r = ns_nl_get_link(nl, c->dev, &li, err);

	if (r == -ENODEV) {
		ns_report_add(rep, NS_CHANGE_UNCHANGED, "vxlan %s: absent", c->dev);
		return 0;
	}
	if (r < 0)
		return r;
	if (!is_ours(&li))
		return ns_fail(err, -EPERM,
			       "segment %s: %s was not created by longhaul; leaving it", c->name,
			       c->dev);
	snprintf(what, sizeof(what), "delete vxlan %s", c->dev);
	if ((r = ns_nl_request(nl, ns_nlmsg_dellink(buf, 0, li.ifindex), NULL, NULL, err, what)) < 0)
		return r;
	ns_report_add(rep, NS_CHANGE_REMOVED, "vxlan %s (with its fdb)", c->dev);
	return 0;
}
