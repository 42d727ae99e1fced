/* SPDX-License-Identifier: MIT */
/* longhauld configuration: INI file -> struct lh_config, driven by one option table (CONFIG.md). */
#ifndef LH_GATEWAY_CONFIG_H
#define LH_GATEWAY_CONFIG_H

#include "gateway/base/allow.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "netstate/common.h"
#include "netstate/segment.h"

struct lh_jbuf;

#define LH_CFG_NAME_MAX 64     /* gateway, route and segment names, incl. NUL */
#define LH_CFG_PATH_MAX 1024
#define LH_CFG_HOST_MAX 256
#define LH_CFG_MAX_ROUTES 1024
#define LH_CFG_MAX_SEGMENTS 64
#define LH_CFG_ROUTE_MAX_MACS NS_GUEST_MAX_MACS
#define LH_CFG_ROUTE_MAX_IPS NS_GUEST_MAX_IPS
#define LH_CODEC_LEVEL_AUTO (-1000)
#define LH_CFG_MAX_OPTIONS 64

/*
 * HOST:PORT. host is an IPv4 literal, a bracketed IPv6 literal "[2001:db8::1]:443"
 * or (where the option allows it) a DNS name. Numeric hosts also fill sa.
 */
struct lh_endpoint {
	char host[LH_CFG_HOST_MAX]; /* without brackets; "" = unset */
	uint16_t port;
	bool numeric;                 /* host is an IP literal; sa/salen valid */
	struct sockaddr_storage sa;
	socklen_t salen;
};

/*
 * Parses s; allow_name permits DNS names. Ports 0..65535: 0 (ephemeral) is accepted here
 * for control requests, the config file refuses it. 0 or -EINVAL with a message naming the value.
 */
int lh_endpoint_parse(const char *s, bool allow_name, struct lh_endpoint *ep, char *err,
		      size_t errlen);
/* "198.18.0.1:7000", "[2001:db8::1]:7000", "host.example:7000"; "" when unset. */
const char *lh_endpoint_fmt(const struct lh_endpoint *ep, char *buf, size_t len);
static inline bool lh_endpoint_set(const struct lh_endpoint *ep) { return ep->host[0] != 0; }
/* A numeric endpoint on every address (0.0.0.0 or ::): a route must name one address, or QEMU's URI names none
 * of ours and the listener may face the WAN. */
bool lh_endpoint_wildcard(const struct lh_endpoint *ep);

/* One `[route NAME]`: QEMU connects to listen here; the peer connects to `to` there. */
struct lh_route_cfg {
	char name[LH_CFG_NAME_MAX];
	struct lh_endpoint listen;   /* numeric ADDR:PORT, required */
	struct lh_endpoint to;       /* HOST:PORT as seen from the remote gateway, required */
	uint8_t macs[LH_CFG_ROUTE_MAX_MACS][NS_MAC_LEN]; /* guest identity for cutover */
	unsigned n_macs;
	struct ns_ip ips[LH_CFG_ROUTE_MAX_IPS];
	unsigned n_ips;
	char segment[32];  /* [segment NAME] the guest lives on; "" = the only one, if exactly one */
	struct lh_allow allow;  /* who may connect to listen; unset: [gateway] lan_allow */
	unsigned line; /* where the section starts (messages) */
};

struct lh_config {
	/* [gateway] */
	char name[LH_CFG_NAME_MAX];
	char control_path[108];             /* sun_path size */
	int log_level;                      /* enum lh_log_level */
	struct lh_endpoint metrics_listen;  /* unset = no metrics listener */
	char audit_path[LH_CFG_PATH_MAX];   /* "" = no audit log */
	char state_dir[LH_CFG_PATH_MAX];    /* what must outlive a restart (mig/OUTCOMES.md); "" = memory only */
	char user[LH_CFG_NAME_MAX];         /* drop to this user after start-up (base/priv.h); "" = stay root */
	struct ns_ip lan_address;           /* where hypervisors reach us: listen address of dynamic routes */
	struct lh_allow lan_allow;          /* who may connect to a route without its own allow; unset: anyone */
	/* [wan] */
	struct {
		struct lh_endpoint listen;  /* accept the peer here (numeric) */
		struct lh_allow allow;      /* who may connect to listen; unset: anyone (warned at start) */
		struct lh_endpoint peer;    /* or connect to it (name allowed); at least one of both */
		unsigned streams;           /* parallel TLS streams, 1..64, default 8 */
		char cert[LH_CFG_PATH_MAX], key[LH_CFG_PATH_MAX], ca[LH_CFG_PATH_MAX];
		char crl[LH_CFG_PATH_MAX];  /* PEM CRL of the CA; "" = no revocation check */
		char peer_name[LH_CFG_HOST_MAX]; /* expected name in the peer certificate */
		char congestion[16];        /* TCP_CONGESTION, default "bbr" */
		unsigned sndbuf, rcvbuf;    /* bytes per stream; 0 = auto from bdp_mbit x rtt_ms */
		unsigned rtt_ms;            /* hint, default 100 */
		unsigned bdp_mbit;          /* link rate hint, default 1000 */
		unsigned max_replay_mb;     /* replay buffer bound, default 256 */
		unsigned outage_budget_s;   /* s without any stream before the session fails, default 300 */
		unsigned max_incoming;      /* incoming migrations at once, default 16 */
		struct lh_allow allow_dest; /* where the peer may make us connect; unset: anywhere (warned) */
	} wan;
	/* [codec] */
	struct {
		unsigned store_mb; /* page store, default 1024 */
		int level;         /* zstd level, LH_CODEC_LEVEL_AUTO = auto */
		unsigned store_commit; /* 1 (default): commit store memory when the session starts */
		unsigned threads;  /* 2 (default): the encoder compresses on a worker thread; 1: in the loop */
	} codec;
	struct lh_route_cfg *routes;
	size_t n_routes;
	struct ns_segment_cfg *segments;
	size_t n_segments;
};

/* Every error found, each "file:line: message" (line 0 = whole file). */
#define LH_CFG_MAX_ERRORS 100
struct lh_config_errors {
	unsigned n;        /* total errors found (may exceed the stored ones) */
	char msg[LH_CFG_MAX_ERRORS][320];
};

/* Streaming parser state (wg's init/line/finish), public so it can live on the stack. */
struct lh_config_parser {
	struct lh_config *cfg;
	struct lh_config_errors *errs;
	char file[256];
	unsigned line;
	int section;                 /* internal section id */
	size_t index;                /* current route/segment */
	unsigned seen[LH_CFG_MAX_OPTIONS];         /* line of first assignment per scalar option, 0 = none */
	unsigned sec_seen[3];        /* line of [gateway], [wan], [codec] */
	unsigned seg_line[LH_CFG_MAX_SEGMENTS];
};

/* Defaults for every option, no routes; cfg must later be freed with lh_config_free. */
void lh_config_defaults(struct lh_config *cfg);
void lh_config_free(struct lh_config *cfg);

void lh_config_parse_init(struct lh_config_parser *p, struct lh_config *cfg,
			  struct lh_config_errors *errs, const char *filename);
/* One line, without its newline; len bytes (NULs inside are an error). */
void lh_config_parse_line(struct lh_config_parser *p, const char *line, size_t len);
/* Cross-field checks (required keys, duplicates, ...). 0 or -EINVAL if any error so far. */
int lh_config_parse_finish(struct lh_config_parser *p);

/* Whole file: defaults + every line + finish. 0, -EINVAL (see errs), or -errno opening it. */
int lh_config_load(const char *path, struct lh_config *cfg, struct lh_config_errors *errs);
/* [segment NAME] by name; the one a route's guest lives on (its `segment`, else the only one). */
const struct ns_segment_cfg *lh_config_segment(const struct lh_config *cfg, const char *name);
const struct ns_segment_cfg *lh_config_route_segment(const struct lh_config *cfg, const struct lh_route_cfg *r);
void lh_config_errors_print(const struct lh_config_errors *errs, FILE *out);

/* The option table, for listings: scalar option i (0..count-1) and its value in cfg as text. */
struct lh_config_opt_info {
	const char *section;  /* "gateway", "wan", "codec" */
	const char *key;
	bool reloadable;      /* takes effect on SIGHUP */
	bool is_number;       /* value is a decimal integer */
	char value[LH_CFG_PATH_MAX]; /* as written in the file; "" = unset */
};
size_t lh_config_option_count(void);
int lh_config_option(size_t i, const struct lh_config *cfg, struct lh_config_opt_info *info);

/*
 * SIGHUP: which non-reloadable options differ between the running and the new
 * config. Writes "a, b, c" into out; returns how many differ (0 = reload allowed).
 */
int lh_config_reload_check(const struct lh_config *old, const struct lh_config *new_cfg,
			   char *out, size_t outlen);
/* `show config`: {"gateway":{...},"wan":{...},"codec":{...},"routes":[...],"segments":[...]}
 * written as members of the currently open object (key "config"). */
void lh_config_to_json(const struct lh_config *cfg, struct lh_jbuf *b);
/* The same as an INI file that parses back to the same config. */
void lh_config_write_ini(const struct lh_config *cfg, FILE *out);

#endif
