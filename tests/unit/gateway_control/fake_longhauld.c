/* SPDX-License-Identifier: MIT */
/* A stand-in longhauld for longhaulctl tests: the real control server (control.c) with canned handlers. */
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/base/config.h"
#include "gateway/control/control.h"
#include "gateway/base/log.h"

struct fake {
	struct lh_config cfg;
	int migrations_calls;
	bool draining;
};

/* Shapes as gateway/control/daemon_ctl.c and migration.c (mig_list_json) produce them; see CONTROL.md. */
static int fake_status(void *ctx, const struct lh_json_req *req, struct lh_jbuf *r)
{
	struct fake *f = ctx;
	lh_json_str(r, "name", f->cfg.name);
	lh_json_bool(r, "draining", f->draining);
	lh_json_obj_begin(r, "wan");
	lh_json_str(r, "session", "00000000c0ffee01");
	lh_json_uint(r, "streams_up", 7);
	lh_json_uint(r, "streams", f->cfg.wan.streams);
	lh_json_uint(r, "tx_bytes", 3221225472ull);
	lh_json_uint(r, "rx_bytes", 1048576);
	lh_json_uint(r, "frames_tx", 100);
	lh_json_uint(r, "frames_rx", 90);
	lh_json_uint(r, "resent", 4);
	lh_json_uint(r, "streams_lost", 1);
	lh_json_uint(r, "tls_refused", 0);
	lh_json_obj_end(r);
	lh_json_uint(r, "migrations_active", 1);
	lh_json_uint(r, "migrations_ok", 12);
	lh_json_uint(r, "migrations_failed", 1);
	lh_json_arr_begin(r, "routes");
	for (size_t i = 0; i < f->cfg.n_routes; i++) {
		char to[300], uri[300];
		lh_json_obj_begin(r, NULL);
		lh_json_str(r, "name", f->cfg.routes[i].name);
		snprintf(uri, sizeof(uri), "tcp:%s", lh_endpoint_fmt(&f->cfg.routes[i].listen, to, sizeof(to)));
		lh_json_str(r, "uri", uri);
		lh_json_str(r, "to", lh_endpoint_fmt(&f->cfg.routes[i].to, to, sizeof(to)));
		lh_json_bool(r, "dynamic", false);
		lh_json_uint(r, "migrations", 3);
		lh_json_obj_end(r);
	}
	lh_json_arr_end(r);
	return 0;
}

static void fake_mig(struct lh_jbuf *r, unsigned id, const char *dir, const char *route,
		     const char *phase, const char *error, unsigned nch, uint64_t lan, uint64_t wan,
		     double rate_mbit, double elapsed)
{
	static const char *const kinds[] = { "main", "multifd", "multifd" };
	lh_json_obj_begin(r, NULL);
	lh_json_uint(r, "id", id);
	lh_json_str(r, "direction", dir);
	lh_json_str(r, "route", route);
	lh_json_str(r, "destination", "198.19.0.10:4444");
	lh_json_str(r, "phase", phase);
	if (error)
		lh_json_str(r, "error", error);
	if (!strcmp(phase, "failed")) {
		lh_json_str(r, "verdict", phase);
		lh_json_str(r, "reason_code", "integrity");
	} else if (!strcmp(phase, "done")) { /* the weaker evidence: no return path */
		lh_json_str(r, "verdict", phase);
		lh_json_bool(r, "confirmed", false);
		lh_json_str(r, "evidence", "no return path; destination QEMU closed main cleanly after the EOF");
	}
	lh_json_uint(r, "channels", nch);
	lh_json_arr_begin(r, "channel_kinds");
	for (unsigned i = 0; i < nch && i < 3; i++)
		lh_json_str(r, NULL, kinds[i]);
	lh_json_arr_end(r);
	lh_json_uint(r, "bytes_hypervisor", lan);
	lh_json_uint(r, "bytes_wan", wan);
	lh_json_double(r, "ratio", wan ? (double)lan / (double)wan : 0.0);
	lh_json_double(r, "rate_mbit", rate_mbit);
	lh_json_double(r, "elapsed_s", elapsed);
	lh_json_obj_end(r);
}

static int fake_migrations(void *ctx, const struct lh_json_req *req, struct lh_jbuf *r)
{
	struct fake *f = ctx;
	f->migrations_calls++;
	lh_json_arr_begin(r, "migrations");
	fake_mig(r, 7, "out", "vm1", "streaming", NULL, 3, 1610612736ull, 201326592ull,
		 930.0 + f->migrations_calls, 12.9);
	fake_mig(r, 2, "out", "db", "failed", "checksum mismatch on channel 0; destination reset", 1,
		 512, 0, 0, 3725);
	fake_mig(r, 3, "in", "web", "done", NULL, 1, 4096, 1024, 0.5, 61);
	lh_json_arr_end(r);
	return 0;
}

static int fake_migrate_add(void *ctx, const struct lh_json_req *req, struct lh_jbuf *r)
{
	const char *name, *to, *listen = "0.0.0.0:0", *macs[LH_REQ_MAX_ARRAY];
	struct lh_endpoint ep;
	char err[256];

	if (lh_req_str(req, "name", &name) < 0 || lh_req_str(req, "to", &to) < 0)
		return lh_jbuf_fail(r, -EINVAL, "migrate-add needs name and to");
	if (strcmp(name, "taken") == 0)
		return lh_jbuf_fail(r, -EEXIST, "route \"taken\" already exists");
	if (lh_endpoint_parse(to, true, &ep, err, sizeof(err)) < 0)
		return lh_jbuf_fail(r, -EINVAL, "to: %s", err);
	lh_req_str(req, "listen", &listen);
	if (lh_endpoint_parse(listen, false, &ep, err, sizeof(err)) < 0)
		return lh_jbuf_fail(r, -EINVAL, "listen: %s", err);
	if (ep.port == 0) /* as the daemon does: the kernel picks the port */
		listen = "198.18.1.1:40001";
	int n_macs = lh_req_strs(req, "macs", macs, LH_REQ_MAX_ARRAY);
	int n_ips = lh_req_strs(req, "ips", macs, LH_REQ_MAX_ARRAY);
	char uri[300];
	snprintf(uri, sizeof(uri), "tcp:%s", listen);
	lh_json_str(r, "name", name);
	lh_json_str(r, "uri", uri);
	lh_json_int(r, "macs", n_macs);
	lh_json_int(r, "ips", n_ips);
	return 0;
}

static int fake_migrate_del(void *ctx, const struct lh_json_req *req, struct lh_jbuf *r)
{
	const char *name;
	if (lh_req_str(req, "name", &name) < 0)
		return lh_jbuf_fail(r, -EINVAL, "migrate-del needs name");
	if (strcmp(name, "vm1") != 0)
		return lh_jbuf_fail(r, -ENOENT, "no route \"%s\"", name);
	return 0;
}

static int fake_reload(void *ctx, const struct lh_json_req *req, struct lh_jbuf *r)
{
	return 0;
}

static int fake_drain(void *ctx, const struct lh_json_req *req, struct lh_jbuf *r)
{
	struct fake *f = ctx;
	f->draining = true;
	lh_json_uint(r, "migrations_active", 1);
	return 0;
}

static int fake_show_config(void *ctx, const struct lh_json_req *req, struct lh_jbuf *r)
{
	struct fake *f = ctx;
	lh_config_to_json(&f->cfg, r);
	return 0;
}

static int fake_garbage(void *ctx, const struct lh_json_req *req, struct lh_jbuf *r)
{
	return 0;
}

static const struct lh_control_cmd table[] = {
	{ "status", fake_status, "canned status" },
	{ "migrations", fake_migrations, "canned migrations" },
	{ "migrate-add", fake_migrate_add, "echo a route" },
	{ "migrate-del", fake_migrate_del, "only vm1 exists" },
	{ "reload", fake_reload, "route count" },
	{ "drain", fake_drain, "drain" },
	{ "show-config", fake_show_config, "the config given on the command line" },
	{ "garbage", fake_garbage, "unused" },
};

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void lifetime_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	fprintf(stderr, "fake_longhauld: lifetime over\n");
	ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
	struct fake f = { 0 };
	struct lh_config_errors errs;
	char err[256];

	if (argc != 3) {
		fprintf(stderr, "usage: fake_longhauld SOCKET CONFIG\n");
		return 2;
	}
	log_init("fake_longhauld", LH_LOG_WARN, 1);
	if (lh_config_load(argv[2], &f.cfg, &errs) < 0) {
		lh_config_errors_print(&errs, stderr);
		return 1;
	}
	struct ev_loop *loop = ev_default_loop(0);
	struct lh_control *c = lh_control_open(loop, argv[1], table, sizeof(table) / sizeof(table[0]),
					       &f, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "fake_longhauld: %s\n", err);
		return 1;
	}
	ev_signal sig;
	ev_timer life;
	ev_signal_init(&sig, stop_cb, SIGTERM);
	ev_signal_start(loop, &sig);
	ev_timer_init(&life, lifetime_cb, 60., 0.); /* stops by itself if the test dies */
	ev_timer_start(loop, &life);
	printf("ready\n");
	fflush(stdout);
	ev_run(loop, 0);
	lh_control_close(c, "fake done");
	lh_config_free(&f.cfg);
	return 0;
}
