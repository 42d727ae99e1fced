/* SPDX-License-Identifier: MIT */
/* longhauld configuration: INI file -> struct lh_config, driven by one option table (CONFIG.md). */
#include "gateway/base/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/base/json.h"
#include "gateway/base/log.h"

#define CFG_MAX_LINE 4096

enum cfg_section {
	SEC_NONE = 0,    /* before the first section header */
	SEC_GATEWAY,
	SEC_WAN,
	SEC_CODEC,
	SEC_ROUTE,
	SEC_SEGMENT,
	SEC_SKIP,        /* unknown section: its keys are not reported again */
};
static const char *const section_names[] = { "", "gateway", "wan", "codec", "route", "segment", "" };

enum opt_type {
	OPT_NAME,      /* [A-Za-z0-9._-], 1..size-1 chars */
	OPT_PATH,      /* any non-empty string < size */
	OPT_WORD,      /* [a-z0-9_], e.g. congestion algorithm */
	OPT_UINT,      /* decimal in min..max */
	OPT_LOGLEVEL,  /* warn | info | debug */
	OPT_LEVEL,     /* "auto" or an integer in min..max */
	OPT_ADDR,      /* numeric ADDR:PORT */
	OPT_HOSTPORT,  /* HOST:PORT, DNS name allowed */
	OPT_IP,        /* IPv4 or IPv6 literal, no port (struct ns_ip) */
	OPT_ALLOW,     /* ADDR[/LEN] list (struct lh_allow) */
};

/*
 * The one definition of every scalar option: parsing, defaults, validation,
 * `show config` and the reload check all walk this table. Keep CONFIG.md in sync.
 */
struct cfg_option {
	enum cfg_section sec;
	const char *key;
	enum opt_type type;
	size_t off, size;
	const char *dflt;   /* parsed like a file value; NULL = unset */
	long long min, max;
	bool reloadable;
	bool required;
};

#define F(field) offsetof(struct lh_config, field), sizeof(((struct lh_config *)0)->field)
static const struct cfg_option options[] = {
	{ SEC_GATEWAY, "name", OPT_NAME, F(name), "longhaul", 0, 0, false, false },
	{ SEC_GATEWAY, "control_socket", OPT_PATH, F(control_path), "/run/longhaul/longhauld.sock", 0, 0, false, false },
	{ SEC_GATEWAY, "log_level", OPT_LOGLEVEL, F(log_level), "info", 0, 0, true, false },
	{ SEC_GATEWAY, "metrics_listen", OPT_ADDR, F(metrics_listen), NULL, 0, 0, false, false },
	{ SEC_GATEWAY, "audit_log", OPT_PATH, F(audit_path), NULL, 0, 0, false, false },
	{ SEC_GATEWAY, "state_dir", OPT_PATH, F(state_dir), "/var/lib/longhaul", 0, 0, false, false },
	{ SEC_GATEWAY, "lan_address", OPT_IP, F(lan_address), NULL, 0, 0, true, false },
	{ SEC_GATEWAY, "lan_allow", OPT_ALLOW, F(lan_allow), NULL, 0, 0, true, false },
	{ SEC_GATEWAY, "user", OPT_NAME, F(user), NULL, 0, 0, false, false },
	{ SEC_WAN, "listen", OPT_ADDR, F(wan.listen), NULL, 0, 0, false, false },
	{ SEC_WAN, "allow", OPT_ALLOW, F(wan.allow), NULL, 0, 0, true, false },
	{ SEC_WAN, "peer", OPT_HOSTPORT, F(wan.peer), NULL, 0, 0, false, false },
	{ SEC_WAN, "streams", OPT_UINT, F(wan.streams), "8", 1, 64, false, false },
	{ SEC_WAN, "cert", OPT_PATH, F(wan.cert), NULL, 0, 0, true, true },
	{ SEC_WAN, "key", OPT_PATH, F(wan.key), NULL, 0, 0, true, true },
	{ SEC_WAN, "ca", OPT_PATH, F(wan.ca), NULL, 0, 0, true, true },
	{ SEC_WAN, "crl", OPT_PATH, F(wan.crl), NULL, 0, 0, true, false },
	{ SEC_WAN, "peer_name", OPT_NAME, F(wan.peer_name), NULL, 0, 0, false, true },
	{ SEC_WAN, "congestion", OPT_WORD, F(wan.congestion), "bbr", 0, 0, false, false },
	{ SEC_WAN, "sndbuf", OPT_UINT, F(wan.sndbuf), "0", 0, 1u << 30, false, false },
	{ SEC_WAN, "rcvbuf", OPT_UINT, F(wan.rcvbuf), "0", 0, 1u << 30, false, false },
	{ SEC_WAN, "rtt_ms", OPT_UINT, F(wan.rtt_ms), "100", 1, 10000, false, false },
	{ SEC_WAN, "bdp_mbit", OPT_UINT, F(wan.bdp_mbit), "1000", 1, 400000, false, false },
	{ SEC_WAN, "max_replay_mb", OPT_UINT, F(wan.max_replay_mb), "256", 1, 65536, false, false },
	{ SEC_WAN, "outage_budget_s", OPT_UINT, F(wan.outage_budget_s), "300", 1, 3600, false, false },
	{ SEC_WAN, "max_incoming", OPT_UINT, F(wan.max_incoming), "16", 1, 1024, true, false },
	{ SEC_WAN, "allow_dest", OPT_ALLOW, F(wan.allow_dest), NULL, 0, 0, true, false },
	{ SEC_CODEC, "store_mb", OPT_UINT, F(codec.store_mb), "1024", 16, 1048576, false, false },
	{ SEC_CODEC, "level", OPT_LEVEL, F(codec.level), "auto", -7, 22, false, false },
	{ SEC_CODEC, "store_commit", OPT_UINT, F(codec.store_commit), "1", 0, 1, false, false },
	{ SEC_CODEC, "threads", OPT_UINT, F(codec.threads), "2", 1, 2, false, false },
};
#undef F
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))
_Static_assert(N_OPTIONS <= LH_CFG_MAX_OPTIONS, "raise LH_CFG_MAX_OPTIONS");

/*-*****  Addresses  *****-*/

static bool valid_dns_name(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  (c == '-' && label > 0);
		if (!ok || ++label > 63)
			return false;
	}
	return label > 0 || n > 1;
}

int lh_endpoint_parse(const char *s, bool allow_name, struct lh_endpoint *ep, char *err,
		      size_t errlen)
{
	char host[LH_CFG_HOST_MAX];
	const char *port_s;
	bool bracket = s[0] == '[';

	memset(ep, 0, sizeof(*ep));
	if (bracket) {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host)) {
			snprintf(err, errlen, "`%s' is not [IPv6]:PORT", s);
			return -EINVAL;
		}
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = 0;
		port_s = close + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon) {
			snprintf(err, errlen, "`%s' has no :PORT", s);
			return -EINVAL;
		}
		if (memchr(s, ':', (size_t)(colon - s))) {
			snprintf(err, errlen, "`%s': write IPv6 addresses as [ADDR]:PORT", s);
			return -EINVAL;
		}
		if ((size_t)(colon - s) >= sizeof(host)) {
			snprintf(err, errlen, "`%.60s...': host name too long", s);
			return -EINVAL;
		}
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = 0;
		port_s = colon + 1;
	}
	char *end;
	errno = 0;
	unsigned long port = strtoul(port_s, &end, 10);
	if (*port_s < '0' || *port_s > '9' || *end || errno || port > 65535) {
		snprintf(err, errlen, "`%s': port `%s' is not in 0..65535", s, port_s);
		return -EINVAL;
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)&ep->sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ep->sa;
	if (bracket ? inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1
		    : inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		ep->numeric = true;
		if (bracket) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons((uint16_t)port);
			ep->salen = sizeof(*sin6);
		} else {
			sin->sin_family = AF_INET;
			sin->sin_port = htons((uint16_t)port);
			ep->salen = sizeof(*sin);
		}
	} else if (bracket || !allow_name) {
		snprintf(err, errlen, "`%s': `%s' is not an IP%s address", s, host, bracket ? "v6" : "");
		return -EINVAL;
	} else if (!valid_dns_name(host)) {
		snprintf(err, errlen, "`%s': `%s' is neither an IP address nor a host name", s, host);
		return -EINVAL;
	}
	snprintf(ep->host, sizeof(ep->host), "%s", host);
	ep->port = (uint16_t)port;
	return 0;
}

const char *lh_endpoint_fmt(const struct lh_endpoint *ep, char *buf, size_t len)
{
	if (!ep->host[0])
		snprintf(buf, len, "%s", "");
	else if (strchr(ep->host, ':'))
		snprintf(buf, len, "[%s]:%u", ep->host, ep->port);
	else
		snprintf(buf, len, "%s:%u", ep->host, ep->port);
	return buf;
}

/*-*****  Values  *****-*/

/* In the file every port is explicit: 0 (ephemeral) only makes sense for control-socket requests. */
static int cfg_endpoint(const char *v, bool allow_name, struct lh_endpoint *ep, char *err,
			size_t errlen)
{
	int rc = lh_endpoint_parse(v, allow_name, ep, err, errlen);
	if (rc == 0 && ep->port == 0) {
		snprintf(err, errlen, "`%s': port 0 is not allowed in the config file", v);
		memset(ep, 0, sizeof(*ep));
		return -EINVAL;
	}
	return rc;
}

static bool valid_chars(const char *s, bool name)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
			  (name && ((c >= 'A' && c <= 'Z') || c == '.' || c == '-'));
		if (!ok)
			return false;
	}
	return true;
}

static bool parse_ll(const char *s, long long *out)
{
	char *end;
	if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9')))
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && *end == 0;
}

/* Sets one option from text; 0 or -EINVAL with a message (without the key) in err. */
static int opt_set(const struct cfg_option *o, struct lh_config *cfg, const char *v, char *err,
		   size_t errlen)
{
	char *field = (char *)cfg + o->off;
	long long n;

	switch (o->type) {
	case OPT_NAME:
	case OPT_WORD:
		if (!valid_chars(v, o->type == OPT_NAME) || strlen(v) >= o->size) {
			snprintf(err, errlen, "`%s' is not a valid %s (%s, at most %zu characters)", v,
				 o->type == OPT_NAME ? "name" : "word",
				 o->type == OPT_NAME ? "A-Z a-z 0-9 . _ -" : "a-z 0-9 _", o->size - 1);
			return -EINVAL;
		}
		/* fallthrough */
	case OPT_PATH:
		if (strlen(v) >= o->size) {
			snprintf(err, errlen, "`%.60s...' is longer than %zu characters", v, o->size - 1);
			return -EINVAL;
		}
		snprintf(field, o->size, "%s", v);
		return 0;
	case OPT_UINT:
		if (!parse_ll(v, &n) || n < o->min || n > o->max) {
			snprintf(err, errlen, "`%s' is not in %lld..%lld", v, o->min, o->max);
			return -EINVAL;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	case OPT_LEVEL:
		if (strcmp(v, "auto") == 0) {
			*(int *)field = LH_CODEC_LEVEL_AUTO;
			return 0;
		}
		if (!parse_ll(v, &n) || n < o->min || n > o->max) {
			snprintf(err, errlen, "`%s' is neither auto nor in %lld..%lld", v, o->min, o->max);
			return -EINVAL;
		}
		*(int *)field = (int)n;
		return 0;
	case OPT_LOGLEVEL:
		if ((n = log_level_parse(v)) < 0) {
			snprintf(err, errlen, "`%s' is not one of warn, info, debug", v);
			return -EINVAL;
		}
		*(int *)field = (int)n;
		return 0;
	case OPT_ADDR:
	case OPT_HOSTPORT:
		return cfg_endpoint(v, o->type == OPT_HOSTPORT, (struct lh_endpoint *)field, err, errlen);
	case OPT_IP:
		if (ns_ip_parse(v, (struct ns_ip *)field) < 0) {
			snprintf(err, errlen, "`%s' is not an IP address", v);
			return -EINVAL;
		}
		return 0;
	case OPT_ALLOW:
		return lh_allow_parse(v, (struct lh_allow *)field, err, errlen);
	}
	return -EINVAL;
}

/* Text form of an option's value ("" = unset), as it would be written in the file. */
static const char *opt_format(const struct cfg_option *o, const struct lh_config *cfg, char *buf,
			      size_t len)
{
	const char *field = (const char *)cfg + o->off;

	switch (o->type) {
	case OPT_NAME: case OPT_PATH: case OPT_WORD:
		snprintf(buf, len, "%s", field);
		break;
	case OPT_UINT:
		snprintf(buf, len, "%u", *(const unsigned *)field);
		break;
	case OPT_LEVEL:
		if (*(const int *)field == LH_CODEC_LEVEL_AUTO)
			snprintf(buf, len, "auto");
		else
			snprintf(buf, len, "%d", *(const int *)field);
		break;
	case OPT_LOGLEVEL:
		snprintf(buf, len, "%s", log_level_name(*(const int *)field));
		break;
	case OPT_ADDR: case OPT_HOSTPORT:
		lh_endpoint_fmt((const struct lh_endpoint *)field, buf, len);
		break;
	case OPT_IP:
		if (((const struct ns_ip *)field)->family)
			ns_ip_fmt((const struct ns_ip *)field, buf, len);
		else
			buf[0] = 0;
		break;
	case OPT_ALLOW:
		lh_allow_fmt((const struct lh_allow *)field, buf, len);
		break;
	}
	return buf;
}

void lh_config_defaults(struct lh_config *cfg)
{
	char err[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].dflt && opt_set(&options[i], cfg, options[i].dflt, err, sizeof(err)) < 0)
			fatalx("config: default of %s.%s: %s", section_names[options[i].sec],
			       options[i].key, err);
}

void lh_config_free(struct lh_config *cfg)
{
	free(cfg->routes);
	free(cfg->segments);
	cfg->routes = NULL;
	cfg->segments = NULL;
	cfg->n_routes = cfg->n_segments = 0;
}

/*-*****  Parser  *****-*/

static void cfg_error(struct lh_config_parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cfg_error(struct lh_config_parser *p, unsigned line, const char *fmt, ...)
{
	struct lh_config_errors *e = p->errs;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a long file name may cut the message short; the line number stays */
	if (e->n < LH_CFG_MAX_ERRORS &&
	    snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s:%u: %s", p->file, line, msg) < 0)
		e->msg[e->n][0] = 0;
	e->n++;
}

void lh_config_parse_init(struct lh_config_parser *p, struct lh_config *cfg,
			  struct lh_config_errors *errs, const char *filename)
{
	memset(p, 0, sizeof(*p));
	memset(errs, 0, sizeof(*errs));
	lh_config_defaults(cfg);
	p->cfg = cfg;
	p->errs = errs;
	snprintf(p->file, sizeof(p->file), "%s", filename ? filename : "<config>");
	p->section = SEC_NONE;
}

static bool valid_section_name(const char *s, size_t max)
{
	return strlen(s) < max && valid_chars(s, true);
}

static void cfg_section(struct lh_config_parser *p, char *hdr)
{
	struct lh_config *cfg = p->cfg;
	char *arg = strpbrk(hdr, " \t");

	if (arg) {
		*arg++ = 0;
		arg += strspn(arg, " \t");
	}
	p->section = SEC_SKIP;
	for (int s = SEC_GATEWAY; s <= SEC_CODEC; s++) {
		if (strcmp(hdr, section_names[s]) != 0)
			continue;
		if (arg && *arg) {
			cfg_error(p, p->line, "section [%s] takes no name", hdr);
		} else if (p->sec_seen[s - SEC_GATEWAY]) {
			cfg_error(p, p->line, "section [%s] already given at line %u", hdr,
				  p->sec_seen[s - SEC_GATEWAY]);
		} else {
			p->sec_seen[s - SEC_GATEWAY] = p->line;
			p->section = s;
		}
		return;
	}
	bool route = strcmp(hdr, "route") == 0, seg = strcmp(hdr, "segment") == 0;
	if (!route && !seg) {
		cfg_error(p, p->line, "unknown section [%s] (gateway, wan, codec, route NAME, segment NAME)",
			  hdr);
		return;
	}
	size_t max = route ? LH_CFG_NAME_MAX : sizeof(((struct ns_segment_cfg *)0)->name);
	if (!arg || !valid_section_name(arg, max)) {
		cfg_error(p, p->line, "[%s NAME]: `%s' is not a valid name (A-Z a-z 0-9 . _ -, at most %zu)",
			  hdr, arg ? arg : "", max - 1);
		return;
	}
	if (route) {
		for (size_t i = 0; i < cfg->n_routes; i++)
			if (strcmp(cfg->routes[i].name, arg) == 0) {
				cfg_error(p, p->line, "route %s already defined at line %u", arg,
					  cfg->routes[i].line);
				return;
			}
		if (cfg->n_routes >= LH_CFG_MAX_ROUTES) {
			cfg_error(p, p->line, "more than %d routes", LH_CFG_MAX_ROUTES);
			return;
		}
		struct lh_route_cfg *r = realloc(cfg->routes, (cfg->n_routes + 1) * sizeof(*r));
		if (!r) {
			cfg_error(p, p->line, "out of memory");
			return;
		}
		cfg->routes = r;
		r += cfg->n_routes;
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", arg);
		r->line = p->line;
		p->index = cfg->n_routes++;
		p->section = SEC_ROUTE;
		return;
	}
	for (size_t i = 0; i < cfg->n_segments; i++)
		if (strcmp(cfg->segments[i].name, arg) == 0) {
			cfg_error(p, p->line, "segment %s already defined at line %u", arg, p->seg_line[i]);
			return;
		}
	if (cfg->n_segments >= LH_CFG_MAX_SEGMENTS) {
		cfg_error(p, p->line, "more than %d segments", LH_CFG_MAX_SEGMENTS);
		return;
	}
	struct ns_segment_cfg *sg = realloc(cfg->segments, (cfg->n_segments + 1) * sizeof(*sg));
	if (!sg) {
		cfg_error(p, p->line, "out of memory");
		return;
	}
	cfg->segments = sg;
	ns_segment_cfg_init(&sg[cfg->n_segments], arg);
	p->seg_line[cfg->n_segments] = p->line;
	p->index = cfg->n_segments++;
	p->section = SEC_SEGMENT;
}

static void cfg_route_key(struct lh_config_parser *p, const char *key, const char *val)
{
	struct lh_route_cfg *r = &p->cfg->routes[p->index];
	char err[256];

	if (strcmp(key, "listen") == 0 || strcmp(key, "to") == 0) {
		struct lh_endpoint *ep = key[0] == 'l' ? &r->listen : &r->to;
		if (lh_endpoint_set(ep))
			cfg_error(p, p->line, "route %s: %s given twice", r->name, key);
		else if (cfg_endpoint(val, key[0] == 't', ep, err, sizeof(err)) < 0)
			cfg_error(p, p->line, "route %s: %s: %s", r->name, key, err);
	} else if (strcmp(key, "mac") == 0) {
		uint8_t mac[NS_MAC_LEN];
		if (ns_mac_parse(val, mac) < 0 || (mac[0] & 1) || !memcmp(mac, "\0\0\0\0\0\0", 6))
			cfg_error(p, p->line, "route %s: mac: `%s' is not a unicast MAC address", r->name, val);
		else if (r->n_macs >= LH_CFG_ROUTE_MAX_MACS)
			cfg_error(p, p->line, "route %s: more than %d macs", r->name, LH_CFG_ROUTE_MAX_MACS);
		else
			memcpy(r->macs[r->n_macs++], mac, NS_MAC_LEN);
	} else if (strcmp(key, "ip") == 0) {
		struct ns_ip ip;
		if (ns_ip_parse(val, &ip) < 0)
			cfg_error(p, p->line, "route %s: ip: `%s' is not an IP address", r->name, val);
		else if (r->n_ips >= LH_CFG_ROUTE_MAX_IPS)
			cfg_error(p, p->line, "route %s: more than %d ips", r->name, LH_CFG_ROUTE_MAX_IPS);
		else
			r->ips[r->n_ips++] = ip;
	} else if (strcmp(key, "allow") == 0) {
		if (r->allow.n)
			cfg_error(p, p->line, "route %s: allow given twice (list every address on one line)", r->name);
		else if (lh_allow_parse(val, &r->allow, err, sizeof(err)) < 0)
			cfg_error(p, p->line, "route %s: allow: %s", r->name, err);
	} else if (strcmp(key, "segment") == 0) {
		if (r->segment[0])
			cfg_error(p, p->line, "route %s: segment given twice", r->name);
		else if (strlen(val) >= sizeof(r->segment))
			cfg_error(p, p->line, "route %s: segment: name longer than %zu", r->name, sizeof(r->segment) - 1);
		else
			snprintf(r->segment, sizeof(r->segment), "%s", val);
	} else {
		cfg_error(p, p->line, "route %s: unknown key `%s' (listen, to, mac, ip, segment, allow)", r->name, key);
	}
}

static void cfg_key(struct lh_config_parser *p, const char *key, const char *val)
{
	char err[256];

	if (p->section == SEC_SKIP)
		return;
	if (p->section == SEC_NONE) {
		cfg_error(p, p->line, "`%s' outside of any section", key);
		return;
	}
	if (!*val) {
		cfg_error(p, p->line, "%s: empty value", key);
		return;
	}
	if (p->section == SEC_ROUTE) {
		cfg_route_key(p, key, val);
		return;
	}
	if (p->section == SEC_SEGMENT) {
		struct ns_err e = { 0 };
		if (ns_segment_cfg_set(&p->cfg->segments[p->index], key, val, &e) < 0)
			cfg_error(p, p->line, "%s", e.msg);
		return;
	}
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct cfg_option *o = &options[i];
		if ((int)o->sec != p->section || strcmp(o->key, key) != 0)
			continue;
		if (p->seen[i])
			cfg_error(p, p->line, "%s.%s already set at line %u", section_names[o->sec], key,
				  p->seen[i]);
		else if (opt_set(o, p->cfg, val, err, sizeof(err)) < 0)
			cfg_error(p, p->line, "%s.%s: %s", section_names[o->sec], key, err);
		else
			p->seen[i] = p->line;
		return;
	}
	cfg_error(p, p->line, "unknown key `%s' in [%s]", key, section_names[p->section]);
}

void lh_config_parse_line(struct lh_config_parser *p, const char *line, size_t len)
{
	char buf[CFG_MAX_LINE + 1];

	p->line++;
	if (len > CFG_MAX_LINE) {
		cfg_error(p, p->line, "line longer than %d characters", CFG_MAX_LINE);
		return;
	}
	if (memchr(line, 0, len)) {
		cfg_error(p, p->line, "NUL byte in line");
		return;
	}
	memcpy(buf, line, len);
	buf[len] = 0;
	char *s = buf + strspn(buf, " \t\r");
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	if (!*s || *s == '#' || *s == ';')
		return;
	if (*s == '[') {
		if (e[-1] != ']') {
			cfg_error(p, p->line, "section header without closing ]");
			p->section = SEC_SKIP;
			return;
		}
		e[-1] = 0;
		s++;
		s += strspn(s, " \t");
		for (char *t = s + strlen(s); t > s && (t[-1] == ' ' || t[-1] == '\t');)
			*--t = 0;
		cfg_section(p, s);
		return;
	}
	char *eq = strchr(s, '=');
	if (!eq) {
		cfg_error(p, p->line, "expected `key = value' or `[section]'");
		return;
	}
	char *k_end = eq;
	while (k_end > s && (k_end[-1] == ' ' || k_end[-1] == '\t'))
		k_end--;
	*k_end = 0;
	char *val = eq + 1;
	val += strspn(val, " \t");
	if (!valid_chars(s, false)) {
		cfg_error(p, p->line, "`%s' is not a key (a-z 0-9 _)", s);
		return;
	}
	cfg_key(p, s, val);
}

/*-*****  Whole-config checks  *****-*/

bool lh_endpoint_wildcard(const struct lh_endpoint *ep)
{
	static const uint8_t any6[16];
	if (!lh_endpoint_set(ep) || !ep->numeric)
		return false;
	if (ep->sa.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&ep->sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	return ep->sa.ss_family == AF_INET6 && !memcmp(&((const struct sockaddr_in6 *)&ep->sa)->sin6_addr, any6, 16);
}

static bool endpoint_same(const struct lh_endpoint *a, const struct lh_endpoint *b)
{
	return lh_endpoint_set(a) && lh_endpoint_set(b) && a->port == b->port &&
	       strcmp(a->host, b->host) == 0;
}

int lh_config_parse_finish(struct lh_config_parser *p)
{
	struct lh_config *cfg = p->cfg;
	char a[300];

	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].required && !p->seen[i])
			cfg_error(p, p->sec_seen[options[i].sec - SEC_GATEWAY], "%s.%s is required",
				  section_names[options[i].sec], options[i].key);
	if (!lh_endpoint_set(&cfg->wan.listen) && !lh_endpoint_set(&cfg->wan.peer))
		cfg_error(p, p->sec_seen[SEC_WAN - SEC_GATEWAY],
			  "[wan] needs listen (accept the peer) and/or peer (connect to it)");
	for (size_t i = 0; i < cfg->n_routes; i++) {
		const struct lh_route_cfg *r = &cfg->routes[i];
		if (!lh_endpoint_set(&r->listen))
			cfg_error(p, r->line, "route %s: listen is required", r->name);
		if (!lh_endpoint_set(&r->to))
			cfg_error(p, r->line, "route %s: to is required", r->name);
		if (lh_endpoint_wildcard(&r->listen))
			cfg_error(p, r->line, "route %s: listen %s is every address: name the one the hypervisors reach "
				  "(QEMU's URI must name it, and the WAN side must not reach it)", r->name,
				  lh_endpoint_fmt(&r->listen, a, sizeof(a)));
		for (size_t j = 0; j < i; j++)
			if (endpoint_same(&r->listen, &cfg->routes[j].listen))
				cfg_error(p, r->line, "route %s: listen %s is also route %s's", r->name,
					  lh_endpoint_fmt(&r->listen, a, sizeof(a)), cfg->routes[j].name);
		if (endpoint_same(&r->listen, &cfg->wan.listen) ||
		    endpoint_same(&r->listen, &cfg->metrics_listen))
			cfg_error(p, r->line, "route %s: listen %s is already used by [wan] or metrics",
				  r->name, lh_endpoint_fmt(&r->listen, a, sizeof(a)));
		if (r->segment[0] && !lh_config_segment(cfg, r->segment))
			cfg_error(p, r->line, "route %s: segment %s is not defined", r->name, r->segment);
	}
	if (endpoint_same(&cfg->wan.listen, &cfg->metrics_listen))
		cfg_error(p, p->sec_seen[0], "metrics_listen equals wan.listen");
	for (size_t i = 0; i < cfg->n_segments; i++) {
		struct ns_err e = { 0 };
		if (ns_segment_cfg_check(&cfg->segments[i], &e) < 0)
			cfg_error(p, p->seg_line[i], "%s", e.msg);
		/* the peer names a migration's segment by VNI (WAN-PROTOCOL.md, MIGRATION_OPEN) */
		for (size_t j = 0; j < i; j++)
			if (cfg->segments[j].vni && cfg->segments[j].vni == cfg->segments[i].vni)
				cfg_error(p, p->seg_line[i], "segment %s: vni %u is also segment %s's",
					  cfg->segments[i].name, cfg->segments[i].vni, cfg->segments[j].name);
	}
	return p->errs->n ? -EINVAL : 0;
}

/* Key files must be readable now, not at the first WAN connection. */
static void cfg_check_files(struct lh_config_parser *p)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct cfg_option *o = &options[i];
		const char *path = (const char *)p->cfg + o->off;
		if (o->sec != SEC_WAN || o->type != OPT_PATH || !p->seen[i] || !*path)
			continue;
		if (access(path, R_OK) < 0)
			cfg_error(p, p->seen[i], "%s.%s: %s: %s", section_names[o->sec], o->key, path,
				  strerror(errno));
	}
}

const struct ns_segment_cfg *lh_config_segment(const struct lh_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_segments; i++)
		if (strcmp(cfg->segments[i].name, name) == 0)
			return &cfg->segments[i];
	return NULL;
}

const struct ns_segment_cfg *lh_config_route_segment(const struct lh_config *cfg, const struct lh_route_cfg *r)
{
	if (r->segment[0])
		return lh_config_segment(cfg, r->segment);
	return cfg->n_segments == 1 ? &cfg->segments[0] : NULL;
}

int lh_config_load(const char *path, struct lh_config *cfg, struct lh_config_errors *errs)
{
	struct lh_config_parser p;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	lh_config_parse_init(&p, cfg, errs, path);
	FILE *f = fopen(path, "re");
	if (!f) {
		int rc = -errno;
		cfg_error(&p, 0, "%s", strerror(errno));
		return rc;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		lh_config_parse_line(&p, line, (size_t)n);
	}
	int rd_err = ferror(f) ? errno : 0;
	free(line);
	fclose(f);
	if (rd_err) { /* e.g. a directory given as the file: say why, and not what its lines lack */
		cfg_error(&p, p.line, "read error: %s", strerror(rd_err));
		return -EINVAL;
	}
	lh_config_parse_finish(&p);
	cfg_check_files(&p);
	return errs->n ? -EINVAL : 0;
}

void lh_config_errors_print(const struct lh_config_errors *errs, FILE *out)
{
	unsigned shown = errs->n < LH_CFG_MAX_ERRORS ? errs->n : LH_CFG_MAX_ERRORS;

	for (unsigned i = 0; i < shown; i++)
		fprintf(out, "%s\n", errs->msg[i]);
	if (errs->n > shown)
		fprintf(out, "... and %u more errors\n", errs->n - shown);
}

/*-*****  Option table access (show config, reload check)  *****-*/

size_t lh_config_option_count(void)
{
	return N_OPTIONS;
}

int lh_config_option(size_t i, const struct lh_config *cfg, struct lh_config_opt_info *info)
{
	if (i >= N_OPTIONS)
		return -ENOENT;
	const struct cfg_option *o = &options[i];
	info->section = section_names[o->sec];
	info->key = o->key;
	info->reloadable = o->reloadable;
	info->is_number = o->type == OPT_UINT ||
			  (o->type == OPT_LEVEL && cfg->codec.level != LH_CODEC_LEVEL_AUTO);
	opt_format(o, cfg, info->value, sizeof(info->value));
	return 0;
}
