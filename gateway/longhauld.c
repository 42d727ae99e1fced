/* SPDX-License-Identifier: MIT */
/* longhauld: the gateway daemon (args, --check, signals, the loop, housekeeping, wiring). */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/base/resolve.h"
#include "gateway/control/audit.h"
#include "gateway/mig/l2.h"
#include "gateway/control/daemon.h"
#include "gateway/base/fdhold.h"
#include "gateway/base/log.h"
#include "gateway/base/priv.h"
#include "gateway/mig/migration.h"
#include "gateway/mig/keep.h"
#include "gateway/mig/kept.h"
#include "gateway/mig/outcome.h"
#include "gateway/mig/route.h"
#include "gateway/pipe/codec_pipe.h"
#include "gateway/wan/wan.h"
#include "gateway/wan/wan_session.h"
#include "gateway/wan/wan_tls.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: longhauld --config FILE [--check] [-d]\n"
		   "  --config FILE  INI configuration (gateway/base/CONFIG.md)\n"
		   "  --check        validate the configuration, list every error, exit\n"
		   "  -d             stay in the foreground, log to stderr\n");
}

/* Test-only fault injection (WAN-PROTOCOL.md); loud when set. */
static void read_test_env(struct gw *gw)
{
	const char *v;
	gw->test_kill_stream = -1;
	if ((v = getenv("LH_TEST_CORRUPT_FRAME")) && *v) {
		gw->test_corrupt_frame = strtoull(v, NULL, 10);
		log_warnx("TEST-ONLY fault injection active: LH_TEST_CORRUPT_FRAME=%s", v);
	}
	if ((v = getenv("LH_TEST_CORRUPT_FRAME_MIG")) && *v) {
		char *end;
		gw->test_corrupt_mig = (uint32_t)strtoul(v, &end, 10);
		gw->test_corrupt_mig_n = *end == ':' ? strtoull(end + 1, &end, 10) : 0;
		gw->test_corrupt_after = *end == ':' ? (uint32_t)strtoul(end + 1, NULL, 10) : 0;
		log_warnx("TEST-ONLY fault injection active: LH_TEST_CORRUPT_FRAME_MIG=%s", v);
	}
	if ((v = getenv("LH_TEST_NO_CODEC_EPOCH")) && *v && strcmp(v, "0")) {
		gw->test_no_codec_epoch = 1;
		log_warnx("TEST-ONLY: LH_TEST_NO_CODEC_EPOCH=%s: no codec epochs (a decoder error fails the session, as with "
			  "an older peer)", v);
	}
	if ((v = getenv("LH_TEST_KILL_STREAM")) && *v) {
		char *end;
		gw->test_kill_stream = (int)strtol(v, &end, 10);
		gw->test_kill_after = *end == ':' ? strtoull(end + 1, NULL, 10) : 0;
		log_warnx("TEST-ONLY fault injection active: LH_TEST_KILL_STREAM=%s", v);
	}
	if ((v = getenv("LH_TEST_KILL_ALL_STREAMS")) && *v) {
		gw->test_kill_all = 1;
		gw->test_kill_all_after = strtoull(v, NULL, 10);
		log_warnx("TEST-ONLY fault injection active: LH_TEST_KILL_ALL_STREAMS=%s", v);
	}
	gw->notsent_lowat = WAN_NOTSENT_LOWAT;
	if ((v = getenv("LH_TEST_NOTSENT_LOWAT")) && *v) {
		gw->notsent_lowat = (unsigned)strtoul(v, NULL, 10);
		log_warnx("TEST-ONLY: LH_TEST_NOTSENT_LOWAT=%s", v);
	}
	if ((v = getenv("LH_TEST_DIE_AT")) && *v) {
		snprintf(gw->test_die_at, sizeof(gw->test_die_at), "%s", v);
		log_warnx("TEST-ONLY fault injection active: LH_TEST_DIE_AT=%s (this gateway dies there, as a crash)", v);
	}
	if ((v = getenv("LH_TEST_STOP_AT")) && *v) {
		snprintf(gw->test_stop_at, sizeof(gw->test_stop_at), "%s", v);
		log_warnx("TEST-ONLY fault injection active: LH_TEST_STOP_AT=%s (this gateway stops there, SIGSTOP, until "
			  "a SIGCONT)", v);
	}
	if ((v = getenv("LH_TEST_WAN_VERSION")) && *v) {
		char *end;
		gw->test_wan_version = (uint32_t)strtoul(v, &end, 10);
		gw->test_wan_version_min = *end == ':' ? (uint32_t)strtoul(end + 1, NULL, 10) : 0;
		uint32_t lo, hi;
		wan_version_range(gw, &lo, &hi);
		log_warnx("TEST-ONLY: LH_TEST_WAN_VERSION=%s: our HELLO claims WAN protocol %u..%u (we speak %u..%u)",
			  v, lo, hi, WAN_PROTO_VERSION_MIN, WAN_PROTO_VERSION);
	}
	if ((v = getenv("LH_TEST_IGNORE_CREDIT")) && *v && strcmp(v, "0")) {
		gw->test_ignore_credit = 1;
		log_warnx("TEST-ONLY: LH_TEST_IGNORE_CREDIT=%s: outgoing migrations ignore the peer's credit", v);
	}
	if ((v = getenv("LH_TEST_NO_PRIO")) && *v && strcmp(v, "0")) {
		gw->test_no_prio = 1;
		gw->notsent_lowat = 0;
		log_warnx("TEST-ONLY: LH_TEST_NO_PRIO=%s: no priority lane for postcopy preempt, no TCP_NOTSENT_LOWAT", v);
	}
}

static void gw_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct gw *gw = w->data;
	(void)revents;
	gw->ticks++;
	wan_tick(gw);
	cpipe_tick(gw);
	mig_tick(gw);
	if (gw->draining && !mig_count_active(gw)) {
		log_info("drain complete: no migration running, exiting");
		ev_break(loop, EVBREAK_ALL);
	}
}

/* Daily: a certificate that expires unnoticed takes the WAN down with it. */
static void gw_cert_check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct gw *gw = w->data;
	(void)loop;
	(void)revents;
	wan_tls_expiry_log(gw->ssl);
}

static void gw_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct gw *gw = w->data;
	char err[400];
	(void)revents;
	switch (w->signum) {
	case SIGHUP:
		if (gw_reload(gw, NULL, err, sizeof(err)) < 0)
			log_warnx("reload refused, keeping the running config: %s", err);
		break;
	case SIGTERM:
		gw_drain(gw, NULL, "SIGTERM");
		break;
	default:
		log_info("SIGINT: leaving now (%u migrations fail)", mig_count_active(gw));
		ev_break(loop, EVBREAK_ALL);
		break;
	}
}

/*
 * What must outlive a restart ([gateway] state_dir): the destination QEMUs' answers. A store that cannot
 * be read stops the start: this gateway would answer "unknown" for migrations whose answer it recorded.
 */
static int open_state(struct gw *gw)
{
	const char *dir = gw->cfg.state_dir;
	char err[4400];

	if (!dir[0]) {
		log_warnx("no [gateway] state_dir: destination answers are not kept across a restart");
		return 0;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_warnx("[gateway] state_dir %s: cannot create it: %s", dir, strerror(errno));
		return -1;
	}
	if (!(gw->outcomes = outcome_open(dir, err, sizeof(err)))) {
		log_warnx("[gateway] state_dir: outcome store: %s", err);
		return -1;
	}
	if (!(gw->keep = keep_open(dir, err, sizeof(err)))) {
		log_warnx("[gateway] state_dir: state file: %s", err);
		return -1;
	}
	log_info("state in %s: %zu recorded outcomes, %zu routes added at run time, %zu postcopy migrations", dir,
		 outcome_count(gw->outcomes), keep_count(gw->keep, KEEP_ROUTE), keep_count(gw->keep, KEEP_POSTCOPY));
	/* the holder: longhaul-holder beside this binary */
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 32);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		snprintf(slash ? slash + 1 : exe, sizeof(exe) - (size_t)(slash ? slash + 1 - exe : 0), "longhaul-holder");
	}
	if (n <= 0 || !(gw->fdhold = fdhold_open(dir, exe, err, sizeof(err))))
		log_warnx("fd holder: %s: the source QEMU's sockets are not kept if this daemon crashes after a "
			  "migration's end of stream left", n <= 0 ? "cannot find this binary" : err);
	return 0;
}

/*
 * [gateway] user: everything that needs root is done (listeners bound, control socket made, segments set up,
 * the fd holder started); the state directory becomes the user's, so the outcome store and the state file stay
 * writable; then only CAP_NET_ADMIN and CAP_NET_RAW remain (base/priv.h). A failure stops the start: running
 * as root when the operator asked otherwise is not a fallback.
 */
static int drop_root(struct gw *gw)
{
	static const char *const files[] = { "", "/" OUTCOME_FILE, "/" KEEP_FILE };
	char err[300], path[LH_CFG_PATH_MAX + 32];
	uid_t uid;
	gid_t gid;

	if (lh_priv_lookup(gw->cfg.user, &uid, &gid, err, sizeof(err)) < 0) {
		log_warnx("[gateway] user: %s", err);
		return -1;
	}
	for (size_t i = 0; gw->cfg.state_dir[0] && i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", gw->cfg.state_dir, files[i]);
		if (chown(path, uid, gid) < 0 && errno != ENOENT) {
			log_warnx("[gateway] user: chown %s to %s: %s", path, gw->cfg.user, strerror(errno));
			return -1;
		}
	}
	if (lh_priv_drop(gw->cfg.user, err, sizeof(err)) < 0) {
		log_warnx("[gateway] user: %s", err);
		return -1;
	}
	log_info("running as %s (uid %u), keeping %s", gw->cfg.user, (unsigned)uid, LH_PRIV_KEPT);
	return 0;
}

static int check_config(const char *path, struct lh_config *cfg)
{
	struct lh_config_errors errs;
	memset(&errs, 0, sizeof(errs));
	int r = lh_config_load(path, cfg, &errs);
	if (r == -EINVAL) {
		lh_config_errors_print(&errs, stderr);
		lh_config_free(cfg);
		return -1;
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
		return -1;
	}
	if (!cfg->wan.cert[0] || !cfg->wan.key[0] || !cfg->wan.ca[0] || !cfg->wan.peer_name[0]) {
		fprintf(stderr, "%s: [wan] cert, key, ca and peer_name are required\n", path);
		lh_config_free(cfg);
		return -1;
	}
	return 0;
}

/*
 * Descriptors up to the hard limit: the soft one (often 1024) is the first thing a connection flood exhausts,
 * and every migration channel, WAN stream and held socket needs one (the WAN listener still rests when out).
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("setrlimit RLIMIT_NOFILE %llu", (unsigned long long)rl.rlim_max);
			return;
		}
		log_debug("descriptors: limit raised from %llu to %llu", (unsigned long long)was,
			  (unsigned long long)rl.rlim_cur);
		return;
	}
	log_debug("descriptors: limit %llu (the hard limit)", (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct gw gw;
	const char *path = NULL;
	int check = 0, fg = 0, c;
	char err[400];

	memset(&gw, 0, sizeof(gw));
	while ((c = getopt_long(argc, argv, "c:ndh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n': check = 1; break;
		case 'd': fg = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init("longhauld", LH_LOG_INFO, 1);
	if (check_config(path, &gw.cfg) < 0)
		return 1;
	if (!check) /* before the TLS files are read: a key permission warning goes where the daemon logs */
		log_init("longhauld", gw.cfg.log_level, fg);
	gw.ssl = wan_tls_ctx_new(&gw.cfg, err, sizeof(err));
	if (!gw.ssl) {
		fprintf(stderr, "%s: [wan] TLS: %s\n", path, err);
		lh_config_free(&gw.cfg);
		return 1;
	}
	if (check) {
		uid_t uid;
		gid_t gid;
		if (gw.cfg.user[0] && lh_priv_lookup(gw.cfg.user, &uid, &gid, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: [gateway] user: %s\n", path, err);
			SSL_CTX_free(gw.ssl);
			lh_config_free(&gw.cfg);
			return 1;
		}
		wan_tls_expiry_log(gw.ssl);
		printf("%s: OK (%zu routes, %u WAN streams)\n", path, gw.cfg.n_routes, gw.cfg.wan.streams);
		SSL_CTX_free(gw.ssl);
		lh_config_free(&gw.cfg);
		return 0;
	}
	wan_tls_expiry_log(gw.ssl); /* where the daemon logs: syslog unless -d */
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	/* WAN messages are up to ~1 MiB each: keep them on the heap instead of an
	 * mmap + page faults + munmap per message */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	gw.config_path = path;
	gw.loop = EV_DEFAULT;
	read_test_env(&gw);
	/* the layers, bottom up: the migrations register with the codec pipe, the pipe with the transport */
	if (mig_attach(&gw) < 0)
		fatalx("out of memory");

	for (size_t i = 0; i < gw.cfg.n_routes; i++)
		if (!route_add(&gw, &gw.cfg.routes[i], 0, err, sizeof(err)))
			fatalx("%s", err);
	if (open_state(&gw) < 0)
		return 1;
	if (!gw.cfg.wan.allow_dest.n)
		log_warnx("[wan] allow_dest is not set: the peer gateway may make this one connect to any address "
			  "(set the networks of this site's destination hypervisors)");
	daemon_restore_routes(&gw); /* routes added at run time, on the ports QEMUs were given */
	kept_restore(&gw);          /* postcopy migrations the restart cut off: paused, to recover */
	mig_adopt_held(&gw); /* sockets kept through a crash or restart: in doubt, until the peer or an operator says */
	gw_l2_open(&gw); /* before the WAN: a migration may arrive with the first stream */
	if (!(gw.resolver = lh_resolver_new(gw.loop, err, sizeof(err))))
		fatalx("%s", err);
	if (wan_start(&gw) < 0)
		fatalx("cannot start the WAN side");
	daemon_ctl_open(&gw);
	daemon_metrics_open(&gw);

	ev_timer_init(&gw.tick, gw_tick_cb, 0.01, 0.01);
	gw.tick.data = &gw;
	ev_timer_start(gw.loop, &gw.tick);
	ev_timer_init(&gw.cert_check, gw_cert_check_cb, 86400., 86400.);
	gw.cert_check.data = &gw;
	ev_timer_start(gw.loop, &gw.cert_check);
	ev_signal_init(&gw.sig_hup, gw_signal_cb, SIGHUP);
	ev_signal_init(&gw.sig_term, gw_signal_cb, SIGTERM);
	ev_signal_init(&gw.sig_int, gw_signal_cb, SIGINT);
	gw.sig_hup.data = gw.sig_term.data = gw.sig_int.data = &gw;
	ev_signal_start(gw.loop, &gw.sig_hup);
	ev_signal_start(gw.loop, &gw.sig_term);
	ev_signal_start(gw.loop, &gw.sig_int);
	if (gw.cfg.user[0] && drop_root(&gw) < 0)
		return 1;
	log_info("longhauld %s started (%zu routes)", gw.cfg.name, gw.cfg.n_routes);

	ev_run(gw.loop, 0);

	daemon_ctl_close(&gw, "exiting");
	daemon_metrics_close(&gw, "exiting");
	while (gw.routes)
		route_close(gw.routes, "exiting");
	wan_stop(&gw, "daemon exiting");
	mig_free_all(&gw);
	lh_resolver_free(gw.resolver, "exiting"); /* after the WAN and the migrations cancelled their requests */
	cpipe_free(&gw, "exiting");
	gw_l2_close(&gw, "exiting");
	if (gw.audit)
		lh_audit_close(gw.audit, "exiting"); /* after the last migration-end record */
	outcome_close(gw.outcomes, "exiting");
	keep_close(gw.keep, "exiting");
	fdhold_close(gw.fdhold, "exiting"); /* what it keeps stays kept: a restart takes it back */
	SSL_CTX_free(gw.ssl);
	lh_config_free(&gw.cfg);
	log_info("longhauld stopped");
	return 0;
}
