/* SPDX-License-Identifier: MIT */
/* longhaulctl: operator CLI for longhauld's control socket (JSON lines, CONTROL.md), a table of subcommands. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "gateway/base/config.h"
#include "gateway/base/json.h"

#define DEFAULT_SOCKET "/run/longhaul/longhauld.sock"
#define REPLY_MAX (16u << 20)
#define REPLY_TIMEOUT_MS 10000

/* Exit codes (documented in CONTROL.md and `longhaulctl help`). */
enum ctl_exit {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* the daemon answered {"ok":false,...} */
	EXIT_USAGE = 2,   /* bad command line */
	EXIT_CONNECT = 3, /* no daemon, or an unreadable reply */
};

struct ctl {
	const char *socket_path;
	int fd;
	bool json; /* print the daemon's reply line as is */
	struct lh_jdoc doc;
	char *line; /* last raw reply, without newline */
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "longhaulctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see `longhaulctl help')\n");
	return EXIT_USAGE;
}

/*-*****  Talking to the daemon  *****-*/

static int ctl_connect(struct ctl *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (c->fd >= 0)
		return 0;
	if (strlen(c->socket_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "longhaulctl: socket path too long: %s\n", c->socket_path);
		return -ENAMETOOLONG;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->socket_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		fprintf(stderr, "longhaulctl: cannot reach longhauld at %s: %s\n", c->socket_path,
			strerror(e));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -e;
	}
	return 0;
}

/*
 * Sends one request and reads one reply line. Returns EXIT_OK when the reply
 * says ok, EXIT_REFUSED (message printed) when it does not, EXIT_CONNECT otherwise.
 */
static int ctl_call(struct ctl *c, struct lh_jbuf *req)
{
	char err[200];

	lh_jdoc_free(&c->doc);
	free(c->line);
	c->line = NULL;
	if (ctl_connect(c) < 0)
		return EXIT_CONNECT;
	lh_jbuf_append(req, "\n", 1);
	for (size_t off = 0; off < req->len;) {
		ssize_t w = send(c->fd, req->buf + off, req->len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			fprintf(stderr, "longhaulctl: send: %s\n", strerror(errno));
			return EXIT_CONNECT;
		}
		off += (size_t)w;
	}
	struct lh_jbuf in;
	lh_jbuf_init(&in);
	char chunk[65536];
	char *nl = NULL;
	while (!nl) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int pr = poll(&p, 1, REPLY_TIMEOUT_MS);
		if (pr < 0 && errno == EINTR)
			continue;
		ssize_t r = pr > 0 ? recv(c->fd, chunk, sizeof(chunk), 0) : -1;
		if (r <= 0 || in.len + (size_t)r > REPLY_MAX) {
			fprintf(stderr, "longhaulctl: no complete reply from longhauld: %s\n",
				pr == 0 ? "timed out" : r == 0 ? "connection closed" :
				r > 0 ? "reply too large" : strerror(errno));
			lh_jbuf_free(&in);
			return EXIT_CONNECT;
		}
		lh_jbuf_append(&in, chunk, (size_t)r);
		nl = memchr(in.buf, '\n', in.len);
	}
	*nl = 0;
	c->line = strdup(in.buf);
	lh_jbuf_free(&in);
	if (!c->line || lh_json_parse(&c->doc, c->line, strlen(c->line), 16, err, sizeof(err)) < 0 ||
	    c->doc.root->type != LH_JOBJ) {
		fprintf(stderr, "longhaulctl: unreadable reply from longhauld: %s\n",
			c->line ? err : "out of memory");
		return EXIT_CONNECT;
	}
	const struct lh_jv *ok = lh_jv_get(c->doc.root, "ok");
	if (!ok || ok->type != LH_JBOOL) {
		fprintf(stderr, "longhaulctl: reply without \"ok\": %s\n", c->line);
		return EXIT_CONNECT;
	}
	if (!ok->b) {
		if (c->json)
			printf("%s\n", c->line);
		fprintf(stderr, "longhaulctl: %s\n", lh_jv_str(c->doc.root, "error", "request failed"));
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}

/* Request without arguments. */
static int ctl_simple(struct ctl *c, const char *cmd)
{
	struct lh_jbuf req;

	lh_jbuf_init(&req);
	lh_json_obj_begin(&req, NULL);
	lh_json_str(&req, "cmd", cmd);
	lh_json_obj_end(&req);
	int rc = ctl_call(c, &req);
	lh_jbuf_free(&req);
	return rc;
}

/*-*****  Formatting  *****-*/

static const char *fmt_bytes(double v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int u = 0;

	if (v < 0)
		return snprintf(buf, len, "-"), buf;
	while (v >= 1024 && u < 5)
		v /= 1024, u++;
	if (u == 0)
		snprintf(buf, len, "%.0f B", v);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

static const char *fmt_rate(double bytes_per_s, char *buf, size_t len)
{
	double bits = bytes_per_s * 8;

	if (bytes_per_s < 0)
		snprintf(buf, len, "-");
	else if (bits >= 1e9)
		snprintf(buf, len, "%.2f Gbit/s", bits / 1e9);
	else
		snprintf(buf, len, "%.1f Mbit/s", bits / 1e6);
	return buf;
}

static const char *fmt_duration(double s, char *buf, size_t len)
{
	if (s < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	unsigned long t = (unsigned long)s;
	snprintf(buf, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	return buf;
}

/* A value as text for a table cell: strings as is, numbers without noise, else "-". */
static const char *jv_text(const struct lh_jv *v, char *buf, size_t len)
{
	if (!v)
		snprintf(buf, len, "-");
	else if (v->type == LH_JSTR)
		snprintf(buf, len, "%s", v->str);
	else if (v->type == LH_JNUM && v->is_int)
		snprintf(buf, len, "%lld", (long long)v->i);
	else if (v->type == LH_JNUM)
		snprintf(buf, len, "%.2f", v->num);
	else if (v->type == LH_JBOOL)
		snprintf(buf, len, "%s", v->b ? "yes" : "no");
	else
		snprintf(buf, len, "-");
	return buf;
}

static const char *cell(const struct lh_jv *obj, const char *key, char *buf, size_t len)
{
	return jv_text(lh_jv_get(obj, key), buf, len);
}

/* Column-aligned table; columns whose bit is set in right_mask are right-aligned (numbers). */
#define CELL 64
static void print_table(const char *const *head, int ncols, char (*cells)[CELL], size_t nrows,
			unsigned right_mask)
{
	int width[16];

	for (int k = 0; k < ncols; k++) {
		width[k] = (int)strlen(head[k]);
		for (size_t i = 0; i < nrows; i++)
			if ((int)strlen(cells[i * ncols + k]) > width[k])
				width[k] = (int)strlen(cells[i * ncols + k]);
	}
	for (int k = 0; k + 1 < ncols; k++)
		printf("%-*s  ", width[k], head[k]);
	printf("%s\n", head[ncols - 1]);
	for (size_t i = 0; i < nrows; i++)
		for (int k = 0; k < ncols; k++) {
			const char *v = cells[i * ncols + k];
			if (k + 1 == ncols)
				printf("%s\n", v);
			else
				printf(right_mask & (1u << k) ? "%*s  " : "%-*s  ", width[k], v);
		}
}

#define MIG_COLS 10
static const char *const mig_head[MIG_COLS] = {
	"ID", "DIR", "ROUTE", "PHASE", "CH", "FROM-HV", "ON-WAN", "RATIO", "RATE", "ELAPSED"
};

/* The phase, with what a verdict rests on: "done (unconfirmed)" without QEMU's SHUT 0, "failed (dest-refused)". */
static void phase_cell(const struct lh_jv *m, char *out)
{
	char phase[CELL];
	const struct lh_jv *confirmed = lh_jv_get(m, "confirmed");
	const char *code = lh_jv_str(m, "reason_code", NULL);

	cell(m, "phase", phase, sizeof(phase));
	if (confirmed && confirmed->type == LH_JBOOL && !confirmed->b)
		snprintf(out, CELL, "%.*s (unconfirmed)", CELL - 20, phase);
	else if (code && code[0])
		snprintf(out, CELL, "%.*s (%.*s)", CELL / 2 - 4, phase, CELL / 2 - 4, code);
	else
		snprintf(out, CELL, "%s", phase);
}

static void mig_row(const struct lh_jv *m, char (*c)[CELL])
{
	char b[CELL];

	cell(m, "id", c[0], CELL);
	cell(m, "direction", c[1], CELL);
	cell(m, "route", c[2], CELL);
	phase_cell(m, c[3]);
	cell(m, "channels", c[4], CELL);
	snprintf(c[5], CELL, "%s", fmt_bytes(lh_jv_num(m, "bytes_hypervisor", -1), b, sizeof(b)));
	snprintf(c[6], CELL, "%s", fmt_bytes(lh_jv_num(m, "bytes_wan", -1), b, sizeof(b)));
	double ratio = lh_jv_num(m, "ratio", 0); /* hypervisor bytes per WAN byte; 0 = nothing sent yet */
	if (ratio > 0)
		snprintf(c[7], CELL, "%.1fx", ratio);
	else
		snprintf(c[7], CELL, "-");
	double mbit = lh_jv_num(m, "rate_mbit", -1);
	snprintf(c[8], CELL, "%s", fmt_rate(mbit < 0 ? -1 : mbit * 1e6 / 8, b, sizeof(b)));
	snprintf(c[9], CELL, "%s", fmt_duration(lh_jv_num(m, "elapsed_s", -1), b, sizeof(b)));
}

static void print_migrations(const struct lh_jv *root)
{
	const struct lh_jv *list = lh_jv_get(root, "migrations");
	size_t n = list && list->type == LH_JARR ? list->len : 0;

	if (n == 0) {
		printf("no migrations\n");
		return;
	}
	char (*cells)[CELL] = calloc(n * MIG_COLS, CELL);
	if (!cells)
		return;
	size_t i = 0;
	for (const struct lh_jv *m = list->child; m; m = m->next, i++)
		mig_row(m, cells + i * MIG_COLS);
	print_table(mig_head, MIG_COLS, cells, n, 0x3f0); /* CH..ELAPSED right-aligned */
	free(cells);
	/* why a migration failed is the first thing an operator asks */
	for (const struct lh_jv *m = list->child; m; m = m->next) {
		char id[CELL];
		const struct lh_jv *confirmed = lh_jv_get(m, "confirmed");
		if (lh_jv_str(m, "error", NULL))
			printf("migration %s (%s): %s\n", cell(m, "id", id, sizeof(id)),
			       lh_jv_str(m, "route", "-"), lh_jv_str(m, "error", ""));
		else if (lh_jv_get(m, "doubt")) /* in doubt: what is known, and what to do */
			printf("migration %s (%s): IN DOUBT for %.0f s (the source QEMU is held paused): %s\n",
			       cell(m, "id", id, sizeof(id)), lh_jv_str(m, "route", "-"),
			       lh_jv_num(lh_jv_get(m, "doubt"), "since_s", 0), lh_jv_str(lh_jv_get(m, "doubt"), "note", ""));
		if (lh_jv_get(m, "recover")) /* paused postcopy: the guest runs at the destination; how to go on */
			printf("migration %s (%s): postcopy-paused: the guest runs at the destination and waits for its "
			       "pages; recover through the pair, first at the destination QEMU (QMP):\n  %s\nthen at the "
			       "source QEMU (QMP):\n  %s\n", cell(m, "id", id, sizeof(id)), lh_jv_str(m, "route", "-"),
			       lh_jv_str(lh_jv_get(m, "recover"), "at_destination", "?"),
			       lh_jv_str(lh_jv_get(m, "recover"), "at_source", "?"));
		else if (confirmed && confirmed->type == LH_JBOOL && !confirmed->b) /* and why it is only likely */
			printf("migration %s (%s): unconfirmed: %s\n", cell(m, "id", id, sizeof(id)),
			       lh_jv_str(m, "route", "-"), lh_jv_str(m, "evidence", "no evidence given"));
	}
}

#define ROUTE_COLS 5
static const char *const route_head[ROUTE_COLS] = { "ROUTE", "URI", "TO", "DYNAMIC", "MIGRATIONS" };

/* The WAN outage so far, when there is one: what an operator must know before anything else. */
static void print_outage(double down_s, double budget_s)
{
	if (down_s > 0)
		printf("wan: down for %.0f s (budget %.0f s)\n", down_s, budget_s);
}

static void print_status(const struct lh_jv *r)
{
	char a[CELL], b[CELL], c[CELL];
	const struct lh_jv *wan = lh_jv_get(r, "wan"), *draining = lh_jv_get(r, "draining");

	printf("gateway     %s (%s)\n", cell(r, "name", a, sizeof(a)),
	       draining && draining->type == LH_JBOOL && draining->b ? "draining" : "running");
	printf("wan         session %s, %s/%s streams up", cell(wan, "session", a, sizeof(a)),
	       cell(wan, "streams_up", b, sizeof(b)), cell(wan, "streams", c, sizeof(c)));
	if (lh_jv_num(wan, "version", 0) > 0)
		printf(", protocol %s", cell(wan, "version", a, sizeof(a)));
	printf("\n");
	print_outage(lh_jv_num(wan, "down_s", 0), lh_jv_num(wan, "outage_budget_s", 0));
	const char *werr = lh_jv_str(wan, "last_error", "");
	if (werr[0])
		printf("wan refused %s\n", werr);
	printf("wan bytes   sent %s, received %s\n", fmt_bytes(lh_jv_num(wan, "tx_bytes", -1), a, sizeof(a)),
	       fmt_bytes(lh_jv_num(wan, "rx_bytes", -1), b, sizeof(b)));
	printf("wan faults  %s frames resent, ", cell(wan, "resent", a, sizeof(a)));
	printf("%s streams lost, %s peers refused\n", cell(wan, "streams_lost", b, sizeof(b)),
	       cell(wan, "tls_refused", c, sizeof(c)));
	printf("migrations  %s active, %s completed, %s failed\n", cell(r, "migrations_active", a, sizeof(a)),
	       cell(r, "migrations_ok", b, sizeof(b)), cell(r, "migrations_failed", c, sizeof(c)));
	const struct lh_jv *routes = lh_jv_get(r, "routes");
	size_t n = routes && routes->type == LH_JARR ? routes->len : 0;
	if (n == 0) {
		printf("routes      none\n");
		return;
	}
	char (*cells)[CELL] = calloc(n * ROUTE_COLS, CELL);
	if (!cells)
		return;
	size_t i = 0;
	for (const struct lh_jv *rt = routes->child; rt; rt = rt->next, i++) {
		cell(rt, "name", cells[i * ROUTE_COLS], CELL);
		cell(rt, "uri", cells[i * ROUTE_COLS + 1], CELL);
		cell(rt, "to", cells[i * ROUTE_COLS + 2], CELL);
		cell(rt, "dynamic", cells[i * ROUTE_COLS + 3], CELL);
		cell(rt, "migrations", cells[i * ROUTE_COLS + 4], CELL);
	}
	printf("\n");
	print_table(route_head, ROUTE_COLS, cells, n, 0x10);
	free(cells);
}

/* show-config: the "config" object back in the INI form of CONFIG.md. */
static void print_config_value(const char *key, const struct lh_jv *v)
{
	char buf[1100];

	if (v->type == LH_JNULL) {
		printf("# %s is not set\n", key);
	} else if (v->type == LH_JARR) {
		for (const struct lh_jv *e = v->child; e; e = e->next)
			printf("%s = %s\n", key, e->type == LH_JSTR ? e->str : "?");
	} else {
		printf("%s = %s\n", key, jv_text(v, buf, sizeof(buf)));
	}
}

static void print_config(const struct lh_jv *r)
{
	const struct lh_jv *cfg = lh_jv_get(r, "config");
	static const char *const plural[] = { "routes", "segments" };
	static const char *const singular[] = { "route", "segment" };
	static const char *const rename[][2] = { { "macs", "mac" }, { "ips", "ip" }, { "remotes", "remote" } };

	for (const struct lh_jv *sec = cfg ? cfg->child : NULL; sec; sec = sec->next) {
		int list = strcmp(sec->key, plural[0]) == 0 ? 0 : strcmp(sec->key, plural[1]) == 0 ? 1 : -1;
		if (list < 0 && sec->type == LH_JOBJ) {
			printf("[%s]\n", sec->key);
			for (const struct lh_jv *v = sec->child; v; v = v->next)
				print_config_value(v->key, v);
			printf("\n");
			continue;
		}
		for (const struct lh_jv *item = list >= 0 ? sec->child : NULL; item; item = item->next) {
			printf("[%s %s]\n", singular[list], lh_jv_str(item, "name", "?"));
			for (const struct lh_jv *v = item->child; v; v = v->next) {
				const char *key = v->key;
				if (strcmp(key, "name") == 0)
					continue;
				for (size_t k = 0; k < 3; k++)
					if (strcmp(key, rename[k][0]) == 0)
						key = rename[k][1];
				print_config_value(key, v);
			}
			printf("\n");
		}
	}
}

/*-*****  Subcommands  *****-*/

/* Leading --json flag only; anything else is an error. */
static int only_json_flag(struct ctl *c, int argc, char **argv, const char *cmd)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = true;
		else
			return usage_error("%s: unexpected argument `%s'", cmd, argv[i]);
	}
	return EXIT_OK;
}

static int cmd_status(struct ctl *c, int argc, char **argv)
{
	int rc = only_json_flag(c, argc, argv, "status");
	if (rc || (rc = ctl_simple(c, "status")))
		return rc;
	if (c->json)
		printf("%s\n", c->line);
	else
		print_status(c->doc.root);
	return EXIT_OK;
}

static int cmd_migrations(struct ctl *c, int argc, char **argv)
{
	int rc = only_json_flag(c, argc, argv, "migrations");
	if (rc || (rc = ctl_simple(c, "migrations")))
		return rc;
	if (c->json)
		printf("%s\n", c->line);
	else
		print_migrations(c->doc.root);
	return EXIT_OK;
}

static int cmd_show_config(struct ctl *c, int argc, char **argv)
{
	int rc = only_json_flag(c, argc, argv, "show-config");
	if (rc || (rc = ctl_simple(c, "show-config")))
		return rc;
	if (c->json)
		printf("%s\n", c->line);
	else
		print_config(c->doc.root);
	return EXIT_OK;
}

static int cmd_plain(struct ctl *c, int argc, char **argv)
{
	int rc = only_json_flag(c, argc, argv, argv[0]);
	if (rc || (rc = ctl_simple(c, argv[0])))
		return rc;
	if (c->json) {
		printf("%s\n", c->line);
	} else if (strcmp(argv[0], "reload") == 0) {
		printf("reloaded\n");
	} else {
		char a[32];
		printf("draining: %s migrations still active; no new ones are accepted\n",
		       cell(c->doc.root, "migrations_active", a, sizeof(a)));
	}
	return EXIT_OK;
}

static int cmd_migrate_add(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' }, { "to", required_argument, NULL, 't' },
		{ "listen", required_argument, NULL, 'l' }, { "mac", required_argument, NULL, 'm' },
		{ "ip", required_argument, NULL, 'i' }, { "json", no_argument, NULL, 'j' },
		{ "segment", required_argument, NULL, 's' }, { "from", required_argument, NULL, 'f' },
		{ "allow", required_argument, NULL, 'a' }, { 0 },
	};
	const char *name = NULL, *to = NULL, *listen = NULL, *segment = NULL, *macs[LH_REQ_MAX_ARRAY], *ips[LH_REQ_MAX_ARRAY];
	const char *from = NULL, *allow = NULL;
	size_t n_macs = 0, n_ips = 0;
	struct lh_endpoint ep;
	uint8_t mac[NS_MAC_LEN];
	struct ns_ip ip;
	char err[300];
	int o;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (o) {
		case 'n': name = optarg; break;
		case 't': to = optarg; break;
		case 'l': listen = optarg; break;
		case 's': segment = optarg; break;
		case 'f': from = optarg; break;
		case 'a': allow = optarg; break;
		case 'j': c->json = true; break;
		case 'm':
			if (ns_mac_parse(optarg, mac) < 0 || n_macs >= LH_CFG_ROUTE_MAX_MACS)
				return usage_error("--mac `%s': not a MAC address, or more than %d", optarg,
						   LH_CFG_ROUTE_MAX_MACS);
			macs[n_macs++] = optarg;
			break;
		case 'i':
			if (ns_ip_parse(optarg, &ip) < 0 || n_ips >= LH_CFG_ROUTE_MAX_IPS)
				return usage_error("--ip `%s': not an IP address, or more than %d", optarg,
						   LH_CFG_ROUTE_MAX_IPS);
			ips[n_ips++] = optarg;
			break;
		default:
			return usage_error("migrate add: bad option `%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("migrate add: unexpected argument `%s'", argv[optind]);
	if (!name || !to)
		return usage_error("migrate add needs --name NAME and --to HOST:PORT");
	if (lh_endpoint_parse(to, true, &ep, err, sizeof(err)) < 0)
		return usage_error("--to %s", err);
	if (listen && lh_endpoint_parse(listen, false, &ep, err, sizeof(err)) < 0)
		return usage_error("--listen %s", err);

	struct lh_jbuf req;
	lh_jbuf_init(&req);
	lh_json_obj_begin(&req, NULL);
	lh_json_str(&req, "cmd", "migrate-add");
	lh_json_obj_begin(&req, "args");
	lh_json_str(&req, "name", name);
	lh_json_str(&req, "to", to);
	if (listen)
		lh_json_str(&req, "listen", listen);
	if (segment)
		lh_json_str(&req, "segment", segment);
	if (from)
		lh_json_str(&req, "from", from);
	if (allow)
		lh_json_str(&req, "allow", allow);
	lh_json_arr_begin(&req, "macs");
	for (size_t i = 0; i < n_macs; i++)
		lh_json_str(&req, NULL, macs[i]);
	lh_json_arr_end(&req);
	lh_json_arr_begin(&req, "ips");
	for (size_t i = 0; i < n_ips; i++)
		lh_json_str(&req, NULL, ips[i]);
	lh_json_arr_end(&req);
	lh_json_obj_end(&req);
	lh_json_obj_end(&req);
	int rc = ctl_call(c, &req);
	lh_jbuf_free(&req);
	if (rc)
		return rc;
	const char *uri = lh_jv_str(c->doc.root, "uri", NULL);
	if (c->json) {
		printf("%s\n", c->line);
	} else if (uri) {
		printf("%s\n", uri); /* alone on stdout: `virsh migrate --migrateuri $(longhaulctl ...)` */
	} else {
		fprintf(stderr, "longhaulctl: reply has no \"uri\": %s\n", c->line);
		return EXIT_CONNECT;
	}
	return EXIT_OK;
}

static int cmd_migrate_del(struct ctl *c, int argc, char **argv)
{
	if (argc != 2)
		return usage_error("usage: migrate del NAME");
	struct lh_jbuf req;
	lh_jbuf_init(&req);
	lh_json_obj_begin(&req, NULL);
	lh_json_str(&req, "cmd", "migrate-del");
	lh_json_obj_begin(&req, "args");
	lh_json_str(&req, "name", argv[1]);
	lh_json_obj_end(&req);
	lh_json_obj_end(&req);
	int rc = ctl_call(c, &req);
	lh_jbuf_free(&req);
	if (rc == EXIT_OK)
		printf("route %s removed\n", argv[1]);
	return rc;
}

static int cmd_migrate(struct ctl *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return cmd_migrate_add(c, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "del") == 0)
		return cmd_migrate_del(c, argc - 1, argv + 1);
	return usage_error("usage: migrate add|del ...");
}

/* resolve NAME accepted|refused: the operator decides an in-doubt migration (CONTROL.md). */
static int cmd_resolve(struct ctl *c, int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[2], "accepted") && strcmp(argv[2], "refused")))
		return usage_error("usage: resolve NAME accepted|refused");
	struct lh_jbuf req;
	lh_jbuf_init(&req);
	lh_json_obj_begin(&req, NULL);
	lh_json_str(&req, "cmd", "resolve");
	lh_json_obj_begin(&req, "args");
	lh_json_str(&req, "name", argv[1]);
	lh_json_str(&req, "outcome", argv[2]);
	lh_json_obj_end(&req);
	lh_json_obj_end(&req);
	int rc = ctl_call(c, &req);
	lh_jbuf_free(&req);
	if (rc == EXIT_OK)
		printf("migration %s resolved: %s\n", argv[1], argv[2]);
	return rc;
}

static int cmd_watch(struct ctl *c, int argc, char **argv)
{
	long count = -1;
	double interval = 1.0;
	char *end;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			c->json = true;
		} else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			count = strtol(argv[++i], &end, 10);
			if (*end || count < 1)
				return usage_error("--count `%s': not a positive number", argv[i]);
		} else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			interval = strtod(argv[++i], &end);
			if (*end || !(interval >= 0.1 && interval <= 3600))
				return usage_error("--interval `%s': not in 0.1..3600 seconds", argv[i]);
		} else {
			return usage_error("watch: unexpected argument `%s'", argv[i]);
		}
	}
	for (long n = 0; count < 0 || n < count; n++) {
		if (n > 0) {
			struct timespec ts = { (time_t)interval, (long)((interval - (time_t)interval) * 1e9) };
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		int rc = ctl_simple(c, "migrations");
		if (rc)
			return rc;
		if (c->json) {
			printf("%s\n", c->line);
		} else {
			time_t now = time(NULL);
			struct tm tm;
			char stamp[32];
			strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
			printf("%s--- %s\n", n ? "\n" : "", stamp);
			print_outage(lh_jv_num(c->doc.root, "wan_down_s", 0), lh_jv_num(c->doc.root, "outage_budget_s", 0));
			print_migrations(c->doc.root);
		}
		fflush(stdout);
	}
	return EXIT_OK;
}

static int cmd_help(struct ctl *c, int argc, char **argv);

struct ctl_cmd {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
	const char *usage;
};

static const struct ctl_cmd commands[] = {
	{ "status", cmd_status, "status [--json]                  gateway, WAN session and counters" },
	{ "migrations", cmd_migrations, "migrations [--json]              one line per migration" },
	{ "migrate", cmd_migrate,
	  "migrate add --name NAME --to HOST:PORT [--listen ADDR:PORT] [--mac MAC]... [--ip IP]...\n"
	  "                [--segment NAME] [--from IP | --allow LIST] [--json]\n"
	  "                                   add a route; prints the tcp: URI for QEMU (--from: only that\n"
	  "                                   hypervisor, and the route goes once its migration ended)\n"
	  "  migrate del NAME                 remove a dynamic route" },
	{ "reload", cmd_plain, "reload [--json]                  re-read the config file (like SIGHUP)" },
	{ "drain", cmd_plain, "drain [--json]                   finish running migrations, accept no new ones" },
	{ "resolve", cmd_resolve,
	  "resolve NAME accepted|refused   decide an in-doubt migration (route name or uid): accepted = the\n"
	  "                                   guest runs at the destination, refused = it resumes at the source" },
	{ "watch", cmd_watch, "watch [--count N] [--interval S] [--json]  migrations every S s (default 1)" },
	{ "show-config", cmd_show_config, "show-config [--json]             the running configuration" },
	{ "help", cmd_help, "help                             this text" },
};

static int cmd_help(struct ctl *c, int argc, char **argv)
{
	printf("usage: longhaulctl [-s SOCKET] COMMAND [ARGS]\n"
	       "  -s SOCKET  control socket (default %s)\n\ncommands:\n", DEFAULT_SOCKET);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %s\n", commands[i].usage);
	printf("\nexit status: 0 ok, 1 the daemon refused the request, 2 usage error,\n"
	       "             3 cannot reach the daemon or unreadable reply\n");
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct ctl c = { .socket_path = DEFAULT_SOCKET, .fd = -1 };
	int i = 1;

	signal(SIGPIPE, SIG_IGN);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if ((strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0) && i + 1 < argc)
			c.socket_path = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return cmd_help(&c, 0, NULL);
		else
			return usage_error("unknown option `%s'", argv[i]);
	}
	if (i >= argc)
		return usage_error("no command");
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(argv[i], commands[k].name) != 0)
			continue;
		int rc = commands[k].fn(&c, argc - i, argv + i);
		lh_jdoc_free(&c.doc);
		free(c.line);
		if (c.fd >= 0)
			close(c.fd);
		return rc;
	}
	return usage_error("unknown command `%s'", argv[i]);
}
