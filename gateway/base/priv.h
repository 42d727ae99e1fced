/* SPDX-License-Identifier: MIT */
/* Dropping root after start-up ([gateway] user): what the daemon keeps, and what it hands over first. */
#ifndef LH_GATEWAY_PRIV_H
#define LH_GATEWAY_PRIV_H

#include <stddef.h>
#include <sys/types.h>

/* The capabilities kept after the drop: netlink changes (VXLAN, FDB, SO_SNDBUFFORCE, TCP congestion control)
 * and raw frames (ARP/ND learning, GARP/NA/RARP announcements). */
#define LH_PRIV_KEPT "cap_net_admin,cap_net_raw"

/* The user's uid and primary gid; 0, or -ENOENT with the reason in err. */
int lh_priv_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen);
/*
 * Becomes user (its uid, primary gid and supplementary groups, so a key readable by e.g. ssl-cert stays
 * readable) keeping only LH_PRIV_KEPT, permitted and effective, nothing inheritable or ambient. Everything
 * that needs root (binding, the control socket, the state directory) must be done before. 0, or -errno with
 * the step that failed in err.
 */
int lh_priv_drop(const char *user, char *err, size_t errlen);

#endif
