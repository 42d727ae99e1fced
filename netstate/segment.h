/* SPDX-License-Identifier: MIT */
/* Stretched L2 segment: a VXLAN device on the site bridge with a head-end replication flood list. */
#ifndef NETSTATE_SEGMENT_H
#define NETSTATE_SEGMENT_H

#include "netstate/announce.h"
#include "netstate/common.h"

struct ns_nl;

#define NS_SEGMENT_MAX_REMOTES 16
#define NS_VXLAN_DEFAULT_PORT 4789
/* Marker in IFLA_IFALIAS of devices longhaul created; only those are ever removed or edited. */
#define NS_SEGMENT_ALIAS_PREFIX "longhaul segment "

/* One `[segment NAME]` section. */
struct ns_segment_cfg {
	char name[32];
	char bridge[16];       /* existing site bridge */
	char dev[16];          /* VXLAN device; "" = "lhvx<vni>" (filled by ns_segment_cfg_check) */
	uint32_t vni;          /* 1..16777215 */
	struct ns_ip local;    /* local VTEP address */
	uint16_t port;         /* UDP port, default 4789 */
	struct ns_ip remotes[NS_SEGMENT_MAX_REMOTES];
	unsigned n_remotes;
	/* cutover policy for guests on this segment (announce.h) */
	unsigned rounds_ms[NS_ANNOUNCE_MAX_ROUNDS]; /* default 0, 50, 200, 450, 800 */
	unsigned n_rounds;
	bool announce_gateway;        /* gateway_ip and gateway_mac both set */
	struct ns_ip gateway_ip;      /* the segment's IPv4 default gateway */
	uint8_t gateway_mac[NS_MAC_LEN];
};

void ns_segment_cfg_init(struct ns_segment_cfg *c, const char *name);
/*
 * Applies one `key = value` line of a [segment NAME] section. Keys: bridge,
 * vni, local, port, remote (repeatable), device, and the cutover policy:
 * announce_rounds ("0,50,200,450,800"), gateway_ip + gateway_mac (a GARP for
 * the default gateway towards the guest). Returns 0 or -EINVAL with a
 * message naming the key and value.
 */
int ns_segment_cfg_set(struct ns_segment_cfg *c, const char *key, const char *value,
		       struct ns_err *err);
/* Checks completeness (bridge, vni, local, >= 1 remote, same families, gateway_ip and
 * gateway_mac both or neither) and fills defaults. */
int ns_segment_cfg_check(struct ns_segment_cfg *c, struct ns_err *err);
/* "0,50,200" of rounds_ms (buf >= 16 * 6). */
const char *ns_segment_rounds_fmt(const struct ns_segment_cfg *c, char *buf, size_t len);
/* The announcement plan of a guest on this segment: its identity, rounds and gateway GARP. */
void ns_segment_plan(const struct ns_segment_cfg *c, const struct ns_guest *g,
		     struct ns_announce_plan *out);

/*
 * Makes the segment exist: VXLAN device (learning off, no default remote)
 * created if missing, enslaved to the bridge, up, and its flood list (one
 * all-zero-MAC FDB entry per remote VTEP) equal to the configured remotes.
 * Idempotent: a second call reports only NS_CHANGE_UNCHANGED items. Refuses
 * (-EEXIST) a same-named device longhaul did not create, and (-EINVAL) one of
 * ours whose VNI/local/port differ from the config. Every step is appended
 * to rep, also when a later step fails.
 */
int ns_segment_ensure(struct ns_nl *nl, const struct ns_segment_cfg *c, struct ns_report *rep,
		      struct ns_err *err);
/* Deletes the VXLAN device if longhaul created it (which drops its FDB); -EPERM otherwise. */
int ns_segment_remove(struct ns_nl *nl, const struct ns_segment_cfg *c, struct ns_report *rep,
		      struct ns_err *err);

#endif
