/* SPDX-License-Identifier: MIT */
/* The site's L2 side of longhauld: segments made to exist, guest IPs learned, cutovers run (netstate). */
#ifndef LH_GATEWAY_L2_H
#define LH_GATEWAY_L2_H
#include <stdint.h>

#include "gateway/gw.h"
#include "gateway/base/json.h"
#include "netstate/common.h"
#include "netstate/cutover.h"

struct gw_cutover;

/*
 * Startup: every [segment] made to exist (ns_segment_ensure, changes logged), an
 * ARP/ND learner on each segment's bridge. Failures are logged with the kernel's
 * error and kept for `status`; they never stop the daemon. Always returns 0.
 */
int gw_l2_open(struct gw *gw);
void gw_l2_close(struct gw *gw, const char *reason);
/*
 * The identity of a route's guest, for MIGRATION_OPEN: registered MACs and IPs
 * (IPs bound to the first MAC) plus IPs learned on the segment's bridge for
 * those MACs. *vni = the segment's, 0 when the route has no segment or no MAC.
 */
void gw_l2_identity(struct gw *gw, const struct lh_route_cfg *rc, uint32_t *vni, struct ns_guest *g);
/*
 * Cutover of a completed migration's guest: SOURCE points its MACs at the peer
 * VTEP; DESTINATION makes them local and announces them in rounds. Runs at most
 * once per migration (later calls return NULL); never fails the migration: what
 * went wrong is logged and shown in the migration's "cutover" object.
 * NULL also when the VNI names no local segment (logged).
 */
struct gw_cutover *gw_l2_cutover_start(struct gw *gw, enum ns_role role, uint32_t mig_id, uint32_t vni,
				      const struct ns_guest *g);
/* The one teardown: stops pending rounds (reason logged at debug when rounds were left). */
void gw_cutover_free(struct gw_cutover *c, const char *reason);
/* {"role":..,"state":..,"fdb_changes":N,"rounds_sent":N,"frames_sent":N,"error":".."} as member `key`. */
void gw_cutover_json(const struct gw_cutover *c, const char *key, struct lh_jbuf *b);
/* `status`: "segments":[{name, vni, state, changes, error, learned}] */
void gw_l2_status_json(struct gw *gw, struct lh_jbuf *b);

#endif
