/* SPDX-License-Identifier: MIT */
/* longhauld's daemon-level actions, shared by main (signals) and the control socket commands. */
#ifndef LH_GATEWAY_DAEMON_H
#define LH_GATEWAY_DAEMON_H

#include <stddef.h>

#include "gateway/gw.h"

struct lh_json_req;

/*
 * SIGHUP / "reload": re-reads the config, replaces the static routes, reopens the audit log. by: the control
 * request (audited with its uid, pid), NULL for the signal. 0 or -errno (err says why).
 */
int gw_reload(struct gw *gw, const struct lh_json_req *by, char *err, size_t errlen);
/* SIGTERM / "drain": stop accepting, let running migrations finish, then leave the loop. */
void gw_drain(struct gw *gw, const struct lh_json_req *by, const char *why);
/* Opens the control socket with the daemon's command table. 0 or -1 (logged). */
int daemon_ctl_open(struct gw *gw);
void daemon_ctl_close(struct gw *gw, const char *reason);
/* At start: the routes added at run time before the restart, from the state file (mig/STATEFILE.md). */
void daemon_restore_routes(struct gw *gw);
/* Prometheus listener when [gateway] metrics_listen is set. 0 or -1 (logged). */
int daemon_metrics_open(struct gw *gw);
void daemon_metrics_close(struct gw *gw, const char *reason);

#endif
