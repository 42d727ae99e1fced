/* SPDX-License-Identifier: MIT */
/* Views of a parsed config from the option table: JSON (`show config`), INI, and the SIGHUP reload check. */
#include <stdlib.h>
#include <string.h>

#include "gateway/base/config.h"
#include "gateway/base/json.h"

static void route_json(const struct lh_route_cfg *r, struct lh_jbuf *b)
{
	char buf[LH_CFG_HOST_MAX + 16];

	lh_json_obj_begin(b, NULL);
	lh_json_str(b, "name", r->name);
	lh_json_str(b, "listen", lh_endpoint_fmt(&r->listen, buf, sizeof(buf)));
	lh_json_str(b, "to", lh_endpoint_fmt(&r->to, buf, sizeof(buf)));
	lh_json_arr_begin(b, "macs");
	for (unsigned i = 0; i < r->n_macs; i++)
		lh_json_str(b, NULL, ns_mac_fmt(r->macs[i], buf));
	lh_json_arr_end(b);
	lh_json_arr_begin(b, "ips");
	for (unsigned i = 0; i < r->n_ips; i++)
		lh_json_str(b, NULL, ns_ip_fmt(&r->ips[i], buf, sizeof(buf)));
	lh_json_arr_end(b);
	lh_json_str(b, "segment", r->segment);
	char al[LH_ALLOW_MAX * 48];
	if (r->allow.n)
		lh_json_str(b, "allow", lh_allow_fmt(&r->allow, al, sizeof(al)));
	else
		lh_json_null(b, "allow");
	lh_json_obj_end(b);
}

static void segment_json(const struct ns_segment_cfg *s, struct lh_jbuf *b)
{
	char buf[64];

	lh_json_obj_begin(b, NULL);
	lh_json_str(b, "name", s->name);
	lh_json_str(b, "bridge", s->bridge);
	lh_json_str(b, "device", s->dev);
	lh_json_uint(b, "vni", s->vni);
	lh_json_str(b, "local", ns_ip_fmt(&s->local, buf, sizeof(buf)));
	lh_json_uint(b, "port", s->port);
	lh_json_arr_begin(b, "remotes");
	for (unsigned i = 0; i < s->n_remotes; i++)
		lh_json_str(b, NULL, ns_ip_fmt(&s->remotes[i], buf, sizeof(buf)));
	lh_json_arr_end(b);
	char rounds[NS_ANNOUNCE_MAX_ROUNDS * 8];
	lh_json_str(b, "announce_rounds", ns_segment_rounds_fmt(s, rounds, sizeof(rounds)));
	lh_json_str(b, "gateway_ip", s->announce_gateway ? ns_ip_fmt(&s->gateway_ip, buf, sizeof(buf)) : "");
	lh_json_str(b, "gateway_mac", s->announce_gateway ? ns_mac_fmt(s->gateway_mac, buf) : "");
	lh_json_obj_end(b);
}

void lh_config_to_json(const struct lh_config *cfg, struct lh_jbuf *b)
{
	static const char *const sections[] = { "gateway", "wan", "codec" };
	struct lh_config_opt_info *info = malloc(sizeof(*info));

	if (!info) {
		b->oom = true;
		return;
	}
	lh_json_obj_begin(b, "config");
	for (size_t s = 0; s < 3; s++) {
		lh_json_obj_begin(b, sections[s]);
		for (size_t i = 0; i < lh_config_option_count(); i++) {
			lh_config_option(i, cfg, info);
			if (strcmp(info->section, sections[s]) != 0)
				continue;
			if (!info->value[0])
				lh_json_null(b, info->key);
			else if (info->is_number)
				lh_json_int(b, info->key, strtoll(info->value, NULL, 10));
			else
				lh_json_str(b, info->key, info->value);
		}
		lh_json_obj_end(b);
	}
	lh_json_arr_begin(b, "routes");
	for (size_t i = 0; i < cfg->n_routes; i++)
		route_json(&cfg->routes[i], b);
	lh_json_arr_end(b);
	lh_json_arr_begin(b, "segments");
	for (size_t i = 0; i < cfg->n_segments; i++)
		segment_json(&cfg->segments[i], b);
	lh_json_arr_end(b);
	lh_json_obj_end(b);
	free(info);
}

void lh_config_write_ini(const struct lh_config *cfg, FILE *out)
{
	struct lh_config_opt_info *info = malloc(sizeof(*info));
	const char *cur = "";
	char buf[LH_CFG_HOST_MAX + 16];

	if (!info)
		return;
	for (size_t i = 0; i < lh_config_option_count(); i++) {
		lh_config_option(i, cfg, info);
		if (strcmp(cur, info->section) != 0) {
			fprintf(out, "%s[%s]\n", *cur ? "\n" : "", info->section);
			cur = info->section;
		}
		if (info->value[0])
			fprintf(out, "%s = %s\n", info->key, info->value);
		else
			fprintf(out, "# %s is not set\n", info->key);
	}
	free(info);
	for (size_t i = 0; i < cfg->n_routes; i++) {
		const struct lh_route_cfg *r = &cfg->routes[i];
		fprintf(out, "\n[route %s]\nlisten = %s\n", r->name,
			lh_endpoint_fmt(&r->listen, buf, sizeof(buf)));
		fprintf(out, "to = %s\n", lh_endpoint_fmt(&r->to, buf, sizeof(buf)));
		for (unsigned m = 0; m < r->n_macs; m++)
			fprintf(out, "mac = %s\n", ns_mac_fmt(r->macs[m], buf));
		for (unsigned m = 0; m < r->n_ips; m++)
			fprintf(out, "ip = %s\n", ns_ip_fmt(&r->ips[m], buf, sizeof(buf)));
		if (r->segment[0])
			fprintf(out, "segment = %s\n", r->segment);
		if (r->allow.n) {
			char al[LH_ALLOW_MAX * 48];
			fprintf(out, "allow = %s\n", lh_allow_fmt(&r->allow, al, sizeof(al)));
		}
	}
	for (size_t i = 0; i < cfg->n_segments; i++) {
		const struct ns_segment_cfg *s = &cfg->segments[i];
		fprintf(out, "\n[segment %s]\nbridge = %s\n", s->name, s->bridge);
		if (s->dev[0])
			fprintf(out, "device = %s\n", s->dev);
		fprintf(out, "vni = %u\nlocal = %s\nport = %u\n", s->vni,
			ns_ip_fmt(&s->local, buf, sizeof(buf)), s->port);
		for (unsigned m = 0; m < s->n_remotes; m++)
			fprintf(out, "remote = %s\n", ns_ip_fmt(&s->remotes[m], buf, sizeof(buf)));
		char rounds[NS_ANNOUNCE_MAX_ROUNDS * 8];
		fprintf(out, "announce_rounds = %s\n", ns_segment_rounds_fmt(s, rounds, sizeof(rounds)));
		if (s->announce_gateway) {
			fprintf(out, "gateway_ip = %s\n", ns_ip_fmt(&s->gateway_ip, buf, sizeof(buf)));
			fprintf(out, "gateway_mac = %s\n", ns_mac_fmt(s->gateway_mac, buf));
		}
	}
}

static void list_add(char *out, size_t outlen, const char *what)
{
	size_t used = strlen(out);
	if (used < outlen)
		snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", what);
}

static bool segment_equal(const struct ns_segment_cfg *a, const struct ns_segment_cfg *b)
{
	if (strcmp(a->name, b->name) || strcmp(a->bridge, b->bridge) || strcmp(a->dev, b->dev) ||
	    a->vni != b->vni || a->port != b->port || !ns_ip_equal(&a->local, &b->local) ||
	    a->n_remotes != b->n_remotes || a->n_rounds != b->n_rounds ||
	    memcmp(a->rounds_ms, b->rounds_ms, sizeof(a->rounds_ms)) ||
	    a->announce_gateway != b->announce_gateway || !ns_ip_equal(&a->gateway_ip, &b->gateway_ip) ||
	    memcmp(a->gateway_mac, b->gateway_mac, NS_MAC_LEN))
		return false;
	for (unsigned i = 0; i < a->n_remotes; i++)
		if (!ns_ip_equal(&a->remotes[i], &b->remotes[i]))
			return false;
	return true;
}

int lh_config_reload_check(const struct lh_config *old, const struct lh_config *new_cfg,
			   char *out, size_t outlen)
{
	struct lh_config_opt_info *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char what[128];
	int n = 0;

	if (outlen)
		out[0] = 0;
	if (!a || !b) {
		free(a);
		free(b);
		list_add(out, outlen, "(out of memory)");
		return 1;
	}
	for (size_t i = 0; i < lh_config_option_count(); i++) {
		lh_config_option(i, old, a);
		lh_config_option(i, new_cfg, b);
		if (a->reloadable || strcmp(a->value, b->value) == 0)
			continue;
		snprintf(what, sizeof(what), "%s.%s", a->section, a->key);
		list_add(out, outlen, what);
		n++;
	}
	free(a);
	free(b);
	bool seg_same = old->n_segments == new_cfg->n_segments;
	for (size_t i = 0; seg_same && i < old->n_segments; i++)
		seg_same = segment_equal(&old->segments[i], &new_cfg->segments[i]);
	if (!seg_same) {
		list_add(out, outlen, "[segment] sections");
		n++;
	}
	return n;
}
