/* SPDX-License-Identifier: MIT */
/* Parsing and checking of `[segment NAME]` configuration values. */
#include "netstate/segment.h"

#include <errno.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ns_segment_cfg_init(struct ns_segment_cfg *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
	c->port = NS_VXLAN_DEFAULT_PORT;
	struct ns_announce_plan plan;
	ns_announce_plan_init(&plan);
	memcpy(c->rounds_ms, plan.rounds_ms, sizeof(c->rounds_ms));
	c->n_rounds = plan.n_rounds;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == 0 && *out <= max;
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 16 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

int ns_segment_cfg_set(struct ns_segment_cfg *c, const char *key, const char *value,
		       struct ns_err *err)
{
	unsigned long v;

	if (strcmp(key, "bridge") == 0 || strcmp(key, "device") == 0) {
		char *dst = key[0] == 'b' ? c->bridge : c->dev;

		if (!valid_ifname(value))
			return ns_fail(err, -EINVAL, "segment %s: %s: bad interface name `%s'",
				       c->name, key, value);
		snprintf(dst, 16, "%s", value);
		return 0;
	}
	if (strcmp(key, "vni") == 0) {
		if (!parse_uint(value, 16777215, &v) || v == 0)
			return ns_fail(err, -EINVAL, "segment %s: vni: `%s' is not in 1..16777215",
				       c->name, value);
		c->vni = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "port") == 0) {
		if (!parse_uint(value, 65535, &v) || v == 0)
			return ns_fail(err, -EINVAL, "segment %s: port: `%s' is not in 1..65535",
				       c->name, value);
		c->port = (uint16_t)v;
		return 0;
	}
	if (strcmp(key, "local") == 0) {
		if (ns_ip_parse(value, &c->local) < 0)
			return ns_fail(err, -EINVAL, "segment %s: local: `%s' is not an IP address",
				       c->name, value);
		return 0;
	}
	if (strcmp(key, "remote") == 0) {
		struct ns_ip ip;

		if (ns_ip_parse(value, &ip) < 0)
			return ns_fail(err, -EINVAL, "segment %s: remote: `%s' is not an IP address",
				       c->name, value);
		for (unsigned i = 0; i < c->n_remotes; i++)
			if (ns_ip_equal(&c->remotes[i], &ip))
				return ns_fail(err, -EINVAL, "segment %s: remote `%s' given twice",
					       c->name, value);
		if (c->n_remotes >= NS_SEGMENT_MAX_REMOTES)
			return ns_fail(err, -EINVAL, "segment %s: more than %d remotes", c->name,
				       NS_SEGMENT_MAX_REMOTES);
		c->remotes[c->n_remotes++] = ip;
		return 0;
	}
	if (strcmp(key, "announce_rounds") == 0) {
		struct ns_announce_plan plan;
		struct ns_err e = { 0 };

		memset(&plan, 0, sizeof(plan)); /* rounds past n_rounds compare equal */
		if (ns_rounds_parse(value, &plan, &e) < 0)
			return ns_fail(err, -EINVAL, "segment %s: announce_%s", c->name, e.msg);
		memcpy(c->rounds_ms, plan.rounds_ms, sizeof(c->rounds_ms));
		c->n_rounds = plan.n_rounds;
		return 0;
	}
	if (strcmp(key, "gateway_ip") == 0) {
		if (ns_ip_parse(value, &c->gateway_ip) < 0 || c->gateway_ip.family != AF_INET)
			return ns_fail(err, -EINVAL, "segment %s: gateway_ip: `%s' is not an IPv4 address",
				       c->name, value);
		return 0;
	}
	if (strcmp(key, "gateway_mac") == 0) {
		if (ns_mac_parse(value, c->gateway_mac) < 0 || (c->gateway_mac[0] & 1) ||
		    !memcmp(c->gateway_mac, "\0\0\0\0\0\0", NS_MAC_LEN))
			return ns_fail(err, -EINVAL, "segment %s: gateway_mac: `%s' is not a unicast MAC address",
				       c->name, value);
		return 0;
	}
	return ns_fail(err, -EINVAL, "segment %s: unknown key `%s' (bridge, vni, local, remote, port, device, "
		       "announce_rounds, gateway_ip, gateway_mac)", c->name, key);
}

int ns_segment_cfg_check(struct ns_segment_cfg *c, struct ns_err *err)
{
	if (!c->bridge[0])
		return ns_fail(err, -EINVAL, "segment %s: bridge is not set", c->name);
	if (!c->vni)
		return ns_fail(err, -EINVAL, "segment %s: vni is not set", c->name);
	if (!c->local.family)
		return ns_fail(err, -EINVAL, "segment %s: local is not set", c->name);
	if (!c->n_remotes)
		return ns_fail(err, -EINVAL, "segment %s: no remote VTEP", c->name);
	for (unsigned i = 0; i < c->n_remotes; i++) {
		if (c->remotes[i].family != c->local.family)
			return ns_fail(err, -EINVAL,
				       "segment %s: remote #%u is not the same IP family as local",
				       c->name, i + 1);
		if (ns_ip_equal(&c->remotes[i], &c->local))
			return ns_fail(err, -EINVAL, "segment %s: remote #%u equals local",
				       c->name, i + 1);
	}
	bool gw_mac = memcmp(c->gateway_mac, "\0\0\0\0\0\0", NS_MAC_LEN) != 0;
	if (gw_mac != (c->gateway_ip.family != 0))
		return ns_fail(err, -EINVAL, "segment %s: gateway_ip and gateway_mac go together",
			       c->name);
	c->announce_gateway = gw_mac;
	if (!c->dev[0])
		snprintf(c->dev, sizeof(c->dev), "lhvx%u", c->vni);
	return 0;
}

const char *ns_segment_rounds_fmt(const struct ns_segment_cfg *c, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < c->n_rounds && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%u", i ? "," : "", c->rounds_ms[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

void ns_segment_plan(const struct ns_segment_cfg *c, const struct ns_guest *g,
		     struct ns_announce_plan *out)
{
	ns_announce_plan_init(out);
	out->guest = *g;
	if (c->n_rounds) {
		memcpy(out->rounds_ms, c->rounds_ms, sizeof(out->rounds_ms));
		out->n_rounds = c->n_rounds;
	}
	out->gateway = c->announce_gateway;
	out->gateway_ip = c->gateway_ip;
	memcpy(out->gateway_mac, c->gateway_mac, NS_MAC_LEN);
}
