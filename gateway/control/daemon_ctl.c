/* SPDX-License-Identifier: MIT */
/* Control socket commands of longhauld (status, migrations, migrate-add/del, reload, drain) and reload. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "gateway/control/audit.h"
#include "gateway/control/control.h"
#include "gateway/control/daemon.h"
#include "gateway/mig/keep.h"
#include "gateway/mig/l2.h"
#include "gateway/base/log.h"
#include "gateway/mig/migration.h"
#include "gateway/mig/route.h"
#include "gateway/wan/wan_session.h"
#include "gateway/wan/wan_tls.h"

/*
 * One audit record for an operator action. by: the control request (its client's uid and pid, SO_PEERCRED, go
 * into the record), or NULL for what no client asked (a signal, a route restored from the state file).
 */
static void audit_action(struct gw *gw, const struct lh_json_req *by, const char *event, const char *route,
			 const char *detail)
{
	struct lh_jbuf *b;
	if (!gw->audit || !(b = lh_audit_begin(gw->audit, event)))
		return;
	if (by && by->peer_uid >= 0) {
		lh_json_int(b, "uid", by->peer_uid);
		lh_json_int(b, "pid", by->peer_pid);
	}
	if (route)
		lh_json_str(b, "route", route);
	if (detail)
		lh_json_str(b, "detail", detail);
	lh_audit_commit(gw->audit);
}

/*
 * The credentials re-read into a new context for the streams that come up from now on; a running stream's
 * SSL holds a reference to the context it was made with, so its session goes on. A context that does not
 * load leaves the running one in place: a half-renewed key must not take the pair down.
 */
static void reload_tls(struct gw *gw, const struct lh_config *nc)
{
	char why[400];
	SSL_CTX *ctx = wan_tls_ctx_new(nc, why, sizeof(why));

	if (!ctx) {
		log_warnx("reload: [wan] credentials not renewed, new streams keep the running ones: %s", why);
		return;
	}
	SSL_CTX_free(gw->ssl);
	gw->ssl = ctx;
	memcpy(gw->cfg.wan.cert, nc->wan.cert, sizeof(gw->cfg.wan.cert));
	memcpy(gw->cfg.wan.key, nc->wan.key, sizeof(gw->cfg.wan.key));
	memcpy(gw->cfg.wan.ca, nc->wan.ca, sizeof(gw->cfg.wan.ca));
	memcpy(gw->cfg.wan.crl, nc->wan.crl, sizeof(gw->cfg.wan.crl));
	log_info("reload: [wan] cert %s, key, ca%s re-read: new streams use them", nc->wan.cert,
		 nc->wan.crl[0] ? ", crl" : "");
	wan_tls_expiry_log(ctx);
}

int gw_reload(struct gw *gw, const struct lh_json_req *by, char *err, size_t errlen)
{
	struct lh_config nc;
	struct lh_config_errors errs;
	char diff[256];
	int r;

	/* logrotate renames the file, then sends SIGHUP: reopened whatever the config file says */
	if (gw->audit)
		lh_audit_reopen(gw->audit);
	memset(&errs, 0, sizeof(errs));
	r = lh_config_load(gw->config_path, &nc, &errs);
	if (r < 0) {
		snprintf(err, errlen, "%s: %u error(s), first: %s", gw->config_path, errs.n,
			 errs.n ? errs.msg[0] : strerror(-r));
		lh_config_free(&nc); /* whatever the error, nc holds only what lh_config_load allocated */
		return r;
	}
	if (lh_config_reload_check(&gw->cfg, &nc, diff, sizeof(diff)) > 0)
		log_warnx("reload: these options need a restart and keep their old value: %s", diff);
	routes_reload(gw, &nc);
	reload_tls(gw, &nc);
	log_set_level(nc.log_level);
	/* the reloadable options take effect, and show-config shows them (routes keep their own copies) */
	gw->cfg.log_level = nc.log_level;
	gw->cfg.lan_address = nc.lan_address;
	gw->cfg.lan_allow = nc.lan_allow;
	gw->cfg.wan.max_incoming = nc.wan.max_incoming;
	gw->cfg.wan.allow_dest = nc.wan.allow_dest;
	gw->cfg.wan.allow = nc.wan.allow; /* the next accept on [wan] listen uses it */
	struct lh_route_cfg *old_routes = gw->cfg.routes;
	size_t old_n = gw->cfg.n_routes;
	gw->cfg.routes = nc.routes;
	gw->cfg.n_routes = nc.n_routes;
	nc.routes = old_routes;
	nc.n_routes = old_n;
	lh_config_free(&nc);
	log_info("reload: routes re-read from %s", gw->config_path);
	audit_action(gw, by, "reload", NULL, gw->config_path);
	return 0;
}

void gw_drain(struct gw *gw, const struct lh_json_req *by, const char *why)
{
	if (gw->draining)
		return;
	gw->draining = 1;
	log_info("drain (%s): no new migrations; %u running", why, mig_count_active(gw));
	audit_action(gw, by, "drain", NULL, why);
	routes_stop_accepting(gw);
}

static int cmd_status(void *ctx, const struct lh_json_req *req, struct lh_jbuf *b)
{
	struct gw *gw = ctx;
	char sid[32];
	(void)req;
	snprintf(sid, sizeof(sid), "%016llx", (unsigned long long)wan_session_id(gw));
	lh_json_str(b, "name", gw->cfg.name);
	lh_json_bool(b, "draining", gw->draining);
	lh_json_obj_begin(b, "wan");
	lh_json_str(b, "session", sid);
	lh_json_uint(b, "streams_up", wan_links_up(gw));
	lh_json_uint(b, "streams", gw->cfg.wan.streams);
	lh_json_double(b, "down_s", wan_down_for(gw));
	lh_json_uint(b, "outage_budget_s", gw->cfg.wan.outage_budget_s);
	lh_json_uint(b, "tx_bytes", gw->st.wan_tx_bytes);
	lh_json_uint(b, "rx_bytes", gw->st.wan_rx_bytes);
	lh_json_uint(b, "frames_tx", gw->st.frames_tx);
	lh_json_uint(b, "frames_tx_worker", gw->st.frames_tx_worker);
	lh_json_uint(b, "frames_rx", gw->st.frames_rx);
	lh_json_uint(b, "frames_rx_ahead", gw->st.frames_rx_ahead);
	lh_json_uint(b, "resent", gw->st.resent);
	lh_json_uint(b, "streams_lost", gw->st.links_lost);
	lh_json_uint(b, "tls_refused", gw->st.tls_refused);
	lh_json_uint(b, "version", wan_session_version(gw));
	lh_json_str(b, "last_error", wan_last_error(gw));
	long long left;
	if (wan_tls_expiry_s(gw->ssl, WAN_CERT_OURS, &left) == 0)
		lh_json_int(b, "cert_expires_s", left);
	else
		lh_json_null(b, "cert_expires_s");
	wan_spaces_json(gw, b);
	lh_json_obj_end(b);
	uint32_t rx_epoch, rx_want, tx_epoch;
	cpipe_epochs(gw, &rx_epoch, &rx_want, &tx_epoch);
	lh_json_obj_begin(b, "codec");
	lh_json_uint(b, "rx_epoch", rx_epoch);
	lh_json_uint(b, "rx_epoch_awaited", rx_want);
	lh_json_uint(b, "tx_epoch", tx_epoch);
	lh_json_uint(b, "epoch_resets", gw->st.codec_resets_dec);
	lh_json_uint(b, "epoch_resets_peer", gw->st.codec_resets_enc);
	lh_json_uint(b, "frames_dropped", gw->st.codec_frames_dropped);
	lh_json_obj_end(b);
	lh_json_uint(b, "migrations_active", mig_count_active(gw));
	lh_json_uint(b, "migrations_ok", gw->st.migs_ok);
	lh_json_uint(b, "migrations_failed", gw->st.migs_failed);
	/* records the audit writer could not take (queue full) or write (disk full, I/O error); 0 without a log */
	lh_json_uint(b, "audit_lost", gw->audit ? lh_audit_lost(gw->audit) : 0);
	lh_json_arr_begin(b, "routes");
	for (struct route *r = gw->routes; r; r = r->next) {
		char uri[320], to[300];
		lh_json_obj_begin(b, NULL);
		lh_json_str(b, "name", r->cfg.name);
		lh_json_str(b, "uri", route_uri(r, uri, sizeof(uri)));
		lh_json_str(b, "to", lh_endpoint_fmt(&r->cfg.to, to, sizeof(to)));
		lh_json_bool(b, "dynamic", r->dynamic);
		lh_json_uint(b, "macs", r->cfg.n_macs);
		lh_json_uint(b, "ips", r->cfg.n_ips);
		const struct ns_segment_cfg *sc = lh_config_route_segment(&gw->cfg, &r->cfg);
		lh_json_str(b, "segment", sc ? sc->name : "");
		lh_json_uint(b, "migrations", r->migrations);
		lh_json_uint(b, "refused", r->refused);
		lh_json_bool(b, "oneshot", r->oneshot);
		lh_json_obj_end(b);
	}
	lh_json_arr_end(b);
	gw_l2_status_json(gw, b);
	return 0;
}

static int cmd_migrations(void *ctx, const struct lh_json_req *req, struct lh_jbuf *b)
{
	struct gw *gw = ctx;
	(void)req;
	/* an outage concerns every migration listed: watch shows it above them */
	lh_json_double(b, "wan_down_s", wan_down_for(gw));
	lh_json_uint(b, "outage_budget_s", gw->cfg.wan.outage_budget_s);
	mig_list_json(ctx, b);
	return 0;
}

static int restoring; /* routes read back from the state file: already recorded there */

/* A dynamic route's record in the state file: the migrate-add request that makes it again, on the same port. */
static void keep_route(struct gw *gw, const struct route *r)
{
	char buf[LH_CFG_HOST_MAX + 16], err[300];
	struct lh_jbuf line;

	if (!gw->keep || restoring)
		return;
	lh_jbuf_init(&line);
	lh_json_obj_begin(&line, NULL);
	lh_json_str(&line, "cmd", "migrate-add");
	lh_json_obj_begin(&line, "args");
	lh_json_str(&line, "name", r->cfg.name);
	lh_json_str(&line, "to", lh_endpoint_fmt(&r->cfg.to, buf, sizeof(buf)));
	lh_json_str(&line, "listen", lh_endpoint_fmt(&r->cfg.listen, buf, sizeof(buf))); /* the port it got */
	lh_json_arr_begin(&line, "macs");
	for (unsigned i = 0; i < r->cfg.n_macs; i++)
		lh_json_str(&line, NULL, ns_mac_fmt(r->cfg.macs[i], buf));
	lh_json_arr_end(&line);
	lh_json_arr_begin(&line, "ips");
	for (unsigned i = 0; i < r->cfg.n_ips; i++)
		lh_json_str(&line, NULL, ns_ip_fmt(&r->cfg.ips[i], buf, sizeof(buf)));
	lh_json_arr_end(&line);
	if (r->cfg.segment[0])
		lh_json_str(&line, "segment", r->cfg.segment);
	char al[LH_ALLOW_MAX * 48];
	if (r->cfg.allow.n)
		lh_json_str(&line, r->oneshot ? "from" : "allow", lh_allow_fmt(&r->cfg.allow, al, sizeof(al)));
	lh_json_obj_end(&line);
	lh_json_obj_end(&line);
	if (line.oom || keep_put(gw->keep, KEEP_ROUTE, r->cfg.name, line.buf, line.len, err, sizeof(err)) < 0)
		log_warnx("route %s: state file: %s: a restart would forget this route", r->cfg.name,
			  line.oom ? "out of memory" : err);
	lh_jbuf_free(&line);
}

static int cmd_migrate_add(void *ctx, const struct lh_json_req *req, struct lh_jbuf *b)
{
	struct gw *gw = ctx;
	struct lh_route_cfg rc;
	const char *name, *to, *listen = NULL;
	char err[300], uri[320];
	struct route *r;

	memset(&rc, 0, sizeof(rc));
	if (lh_req_str(req, "name", &name) < 0 || lh_req_str(req, "to", &to) < 0)
		return lh_jbuf_fail(b, -EINVAL, "migrate-add needs name and to");
	if (lh_req_str(req, "listen", &listen) == -EINVAL)
		return lh_jbuf_fail(b, -EINVAL, "listen must be a string ADDR:PORT");
	char dflt[80], ipbuf[64];
	if (!listen) {
		/* a wildcard listener would give QEMU a URI that names no address of ours */
		if (!gw->cfg.lan_address.family)
			return lh_jbuf_fail(b, -EINVAL, "no listen given and no [gateway] lan_address configured");
		ns_ip_fmt(&gw->cfg.lan_address, ipbuf, sizeof(ipbuf));
		snprintf(dflt, sizeof(dflt), gw->cfg.lan_address.family == AF_INET6 ? "[%s]:0" : "%s:0", ipbuf);
		listen = dflt;
	}
	if (!name[0] || strlen(name) >= sizeof(rc.name))
		return lh_jbuf_fail(b, -EINVAL, "route name must be 1..%zu bytes", sizeof(rc.name) - 1);
	snprintf(rc.name, sizeof(rc.name), "%s", name);
	if (lh_endpoint_parse(to, true, &rc.to, err, sizeof(err)) < 0)
		return lh_jbuf_fail(b, -EINVAL, "to: %s", err);
	if (lh_endpoint_parse(listen, false, &rc.listen, err, sizeof(err)) < 0)
		return lh_jbuf_fail(b, -EINVAL, "listen: %s", err);
	if (lh_endpoint_wildcard(&rc.listen))
		return lh_jbuf_fail(b, -EINVAL, "listen: %s is every address: name the one the hypervisors reach (QEMU's "
				    "URI must name it, and the WAN side must not reach it)", listen);
	/* the guest's identity for the cutover (netstate) */
	const char *list[LH_CFG_ROUTE_MAX_MACS > LH_CFG_ROUTE_MAX_IPS ? LH_CFG_ROUTE_MAX_MACS : LH_CFG_ROUTE_MAX_IPS];
	int n = lh_req_strs(req, "macs", list, LH_CFG_ROUTE_MAX_MACS);
	if (n == -EINVAL)
		return lh_jbuf_fail(b, -EINVAL, "macs: an array of at most %d MAC addresses", LH_CFG_ROUTE_MAX_MACS);
	for (int i = 0; i < n; i++, rc.n_macs++)
		if (ns_mac_parse(list[i], rc.macs[i]) < 0)
			return lh_jbuf_fail(b, -EINVAL, "macs: `%s' is not a MAC address", list[i]);
	n = lh_req_strs(req, "ips", list, LH_CFG_ROUTE_MAX_IPS);
	if (n == -EINVAL)
		return lh_jbuf_fail(b, -EINVAL, "ips: an array of at most %d IP addresses", LH_CFG_ROUTE_MAX_IPS);
	for (int i = 0; i < n; i++, rc.n_ips++)
		if (ns_ip_parse(list[i], &rc.ips[i]) < 0)
			return lh_jbuf_fail(b, -EINVAL, "ips: `%s' is not an IP address", list[i]);
	const char *seg = NULL;
	if (lh_req_str(req, "segment", &seg) == -EINVAL)
		return lh_jbuf_fail(b, -EINVAL, "segment must be a string");
	if (seg && !lh_config_segment(&gw->cfg, seg))
		return lh_jbuf_fail(b, -ENOENT, "segment %s is not configured", seg);
	if (seg)
		snprintf(rc.segment, sizeof(rc.segment), "%s", seg);
	/* who may connect: allow (a list, as [route] allow), or from (one host: a one-shot route) */
	const char *allow = NULL, *from = NULL;
	if (lh_req_str(req, "allow", &allow) == -EINVAL || lh_req_str(req, "from", &from) == -EINVAL)
		return lh_jbuf_fail(b, -EINVAL, "allow and from must be strings");
	if (allow && from)
		return lh_jbuf_fail(b, -EINVAL, "give allow or from, not both");
	if ((allow || from) && lh_allow_parse(allow ? allow : from, &rc.allow, err, sizeof(err)) < 0)
		return lh_jbuf_fail(b, -EINVAL, "%s: %s", allow ? "allow" : "from", err);
	if (from && (rc.allow.n != 1 || rc.allow.p[0].len != (rc.allow.p[0].ip.family == AF_INET ? 32 : 128)))
		return lh_jbuf_fail(b, -EINVAL, "from: one host address, not `%s'", from);
	if (gw->draining)
		return lh_jbuf_fail(b, -EBUSY, "draining");
	if (!(r = route_add(gw, &rc, 1, err, sizeof(err))))
		return lh_jbuf_fail(b, -EEXIST, "%s", err);
	r->oneshot = from != NULL;
	keep_route(gw, r);
	lh_json_str(b, "name", r->cfg.name);
	lh_json_str(b, "uri", route_uri(r, uri, sizeof(uri)));
	audit_action(gw, restoring ? NULL : req, restoring ? "route-restore" : "route-add", r->cfg.name, to);
	return 0;
}

static int cmd_migrate_del(void *ctx, const struct lh_json_req *req, struct lh_jbuf *b)
{
	struct gw *gw = ctx;
	char err[300];
	const char *name;
	struct route *r;
	if (lh_req_str(req, "name", &name) < 0)
		return lh_jbuf_fail(b, -EINVAL, "migrate-del needs name");
	if (!(r = route_find(gw, name)))
		return lh_jbuf_fail(b, -ENOENT, "no route %s", name);
	audit_action(gw, req, "route-del", name, NULL);
	if (r->dynamic && gw->keep && keep_del(gw->keep, KEEP_ROUTE, name, err, sizeof(err)) < 0)
		log_warnx("route %s: state file: %s: a restart would bring this route back", name, err);
	route_close(r, "removed through the control socket");
	return 0;
}

/* resolve {name, outcome: "accepted" | "refused"}: an operator decides an in-doubt migration. */
static int cmd_resolve(void *ctx, const struct lh_json_req *req, struct lh_jbuf *b)
{
	struct gw *gw = ctx;
	const char *name, *outcome;
	char who[64], err[300], detail[96];
	if (lh_req_str(req, "name", &name) < 0 || lh_req_str(req, "outcome", &outcome) < 0)
		return lh_jbuf_fail(b, -EINVAL, "resolve needs name and outcome");
	if (strcmp(outcome, "accepted") && strcmp(outcome, "refused"))
		return lh_jbuf_fail(b, -EINVAL, "outcome must be accepted or refused, not %s", outcome);
	snprintf(who, sizeof(who), "control socket, uid %ld pid %ld", req->peer_uid, req->peer_pid);
	int r = mig_resolve(gw, name, !strcmp(outcome, "accepted"), who, err, sizeof(err));
	if (r < 0)
		return lh_jbuf_fail(b, r, "%s", err);
	snprintf(detail, sizeof(detail), "%s (%s)", outcome, who);
	audit_action(gw, req, "resolve", name, detail);
	lh_json_str(b, "resolved", outcome);
	return 0;
}

static int cmd_reload(void *ctx, const struct lh_json_req *req, struct lh_jbuf *b)
{
	char err[400];
	if (gw_reload(ctx, req, err, sizeof(err)) < 0)
		return lh_jbuf_fail(b, -EINVAL, "%s", err);
	return 0;
}

static int cmd_drain(void *ctx, const struct lh_json_req *req, struct lh_jbuf *b)
{
	struct gw *gw = ctx;
	gw_drain(gw, req, "control socket");
	lh_json_uint(b, "migrations_active", mig_count_active(gw));
	return 0;
}

static int cmd_show_config(void *ctx, const struct lh_json_req *req, struct lh_jbuf *b)
{
	struct gw *gw = ctx;
	(void)req;
	lh_config_to_json(&gw->cfg, b);
	return 0;
}

static const struct lh_control_cmd daemon_cmds[] = {
	{ "status", cmd_status, "gateway, WAN session and routes" },
	{ "migrations", cmd_migrations, "migrations with phase, channels, bytes, ratio, rate, elapsed" },
	{ "migrate-add", cmd_migrate_add, "add a route: name, to HOST:PORT, [listen ADDR:PORT], [macs], [ips], [segment]; returns uri" },
	{ "migrate-del", cmd_migrate_del, "remove a route by name" },
	{ "reload", cmd_reload, "re-read the config file (routes, WAN credentials)" },
	{ "resolve", cmd_resolve, "decide an in-doubt migration: name (route or uid), outcome accepted|refused" },
	{ "drain", cmd_drain, "stop accepting migrations, exit when the running ones end" },
	{ "show-config", cmd_show_config, "the running configuration (file routes; dynamic ones in status)" },
};

static struct lh_jbuf *recorder_begin(void *ctx, const char *event)
{
	return lh_audit_begin(ctx, event);
}

static void recorder_commit(void *ctx)
{
	lh_audit_commit(ctx);
}

int daemon_ctl_open(struct gw *gw)
{
	char err[300];
	if (gw->cfg.audit_path[0] && !(gw->audit = lh_audit_open(gw->cfg.audit_path, err, sizeof(err))))
		log_warnx("audit log %s: %s", gw->cfg.audit_path, err);
	if (gw->audit)
		gw->rec = (struct gw_recorder){ .ctx = gw->audit, .begin = recorder_begin, .commit = recorder_commit };
	if (!gw->cfg.control_path[0])
		return 0;
	gw->ctl = lh_control_open(gw->loop, gw->cfg.control_path, daemon_cmds,
				  sizeof(daemon_cmds) / sizeof(daemon_cmds[0]), gw, err, sizeof(err));
	if (!gw->ctl) {
		log_warnx("control socket %s: %s", gw->cfg.control_path, err);
		return -1;
	}
	return 0;
}

void daemon_ctl_close(struct gw *gw, const char *reason)
{
	lh_control_close(gw->ctl, reason);
	gw->ctl = NULL;
}

static void restore_route(void *ctx, const struct lh_json_req *req)
{
	struct gw *gw = ctx;
	struct lh_jbuf reply;
	const char *name = "?";

	lh_req_str(req, "name", &name);
	lh_jbuf_init(&reply);
	/* the same checks as the control socket's: a record that no longer fits the config is named, not added */
	if (cmd_migrate_add(gw, req, &reply) < 0)
		log_warnx("route %s: not restored from the state file: %.*s", name, (int)reply.len, reply.buf);
	lh_jbuf_free(&reply);
}

void daemon_restore_routes(struct gw *gw)
{
	if (!gw->keep)
		return;
	restoring = 1;
	keep_each(gw->keep, KEEP_ROUTE, restore_route, gw);
	restoring = 0;
}
