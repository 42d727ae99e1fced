/* SPDX-License-Identifier: MIT */
/* lhnetctl: drive netstate without the daemon (segment up/down, cutover, learn); JSON output. */
#include "netstate/cutover.h"
#include "netstate/learn.h"
#include "netstate/nlsock.h"
#include "netstate/segment.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void print_report(const struct ns_report *r)
{
	printf("\"changes\":[");
	for (unsigned i = 0; i < r->n; i++)
		printf("%s{\"kind\":\"%s\",\"what\":\"%s\"}", i ? "," : "",
		       ns_change_kind_name(r->items[i].kind), r->items[i].what);
	printf("],\"changed\":%u", ns_report_changes(r));
}

static int print_error(const struct ns_err *e)
{
	fprintf(stderr, "lhnetctl: %s\n", e->msg);
	printf("{\"ok\":false,\"errno\":%d,\"error\":\"%s\"}\n", -e->code, e->msg);
	return 1;
}

static int usage_error(const char *cmd, const char *what)
{
	fprintf(stderr, "lhnetctl %s: %s (see lhnetctl --help)\n", cmd, what);
	return 2;
}

static int segment_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"bridge", required_argument, 0, 'b'}, {"vni", required_argument, 0, 'v'},
		{"local", required_argument, 0, 'l'},  {"remote", required_argument, 0, 'r'},
		{"port", required_argument, 0, 'p'},   {"dev", required_argument, 0, 'd'},
		{"name", required_argument, 0, 'n'},   {0, 0, 0, 0},
	};
	static const char *keys[128] = {['b'] = "bridge", ['v'] = "vni", ['l'] = "local",
					 ['r'] = "remote", ['p'] = "port", ['d'] = "device"};
	struct ns_segment_cfg cfg;
	struct ns_report rep;
	struct ns_err err = {0};
	struct ns_nl *nl;
	bool up;
	int o, r;

	if (argc < 2 || (strcmp(argv[1], "up") && strcmp(argv[1], "down")))
		return usage_error("segment", "expected `up' or `down'");
	up = strcmp(argv[1], "up") == 0;
	ns_segment_cfg_init(&cfg, "cli");
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'n') {
			snprintf(cfg.name, sizeof(cfg.name), "%s", optarg);
			continue;
		}
		if (o == '?' || o < 0 || o >= 128 || !keys[o])
			return usage_error("segment", "bad option");
		if (ns_segment_cfg_set(&cfg, keys[o], optarg, &err) < 0)
			return print_error(&err);
	}
	if (!up && cfg.n_remotes == 0) /* down needs only enough to name the device */
		cfg.remotes[cfg.n_remotes++] = (struct ns_ip){.family = cfg.local.family, .a = {1}};
	if (ns_segment_cfg_check(&cfg, &err) < 0)
		return print_error(&err);
	if (ns_nl_open(&nl, &err) < 0)
		return print_error(&err);
	ns_report_init(&rep);
	r = up ? ns_segment_ensure(nl, &cfg, &rep, &err) : ns_segment_remove(nl, &cfg, &rep, &err);
	ns_nl_close(nl);
	if (r < 0) {
		fprintf(stderr, "lhnetctl: %s\n", err.msg);
		printf("{\"ok\":false,\"errno\":%d,\"error\":\"%s\",", -r, err.msg);
		print_report(&rep);
		printf("}\n");
		return 1;
	}
	printf("{\"ok\":true,\"dev\":\"%s\",", cfg.dev);
	print_report(&rep);
	printf("}\n");
	return 0;
}

static void sleep_until(uint64_t t_ns)
{
	struct timespec ts = {(time_t)(t_ns / 1000000000u), (long)(t_ns % 1000000000u)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int cutover_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"role", required_argument, 0, 'R'},	    {"bridge", required_argument, 0, 'b'},
		{"dev", required_argument, 0, 'd'},	    {"mac", required_argument, 0, 'm'},
		{"ip", required_argument, 0, 'i'},	    {"remote-vtep", required_argument, 0, 'v'},
		{"rounds", required_argument, 0, 'r'},	    {"gateway-ip", required_argument, 0, 'g'},
		{"gateway-mac", required_argument, 0, 'G'}, {0, 0, 0, 0},
	};
	struct ns_cutover_cfg cfg = {.role = -1};
	struct ns_cutover c;
	struct ns_err err = {0};
	struct ns_nl *nl;
	uint8_t last_mac[NS_MAC_LEN];
	bool have_gw_mac = false;
	uint64_t start;
	int o, r;

	ns_announce_plan_init(&cfg.plan);
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		struct ns_ip ip;

		switch (o) {
		case 'R':
			if (strcmp(optarg, "source") == 0)
				cfg.role = NS_ROLE_SOURCE;
			else if (strcmp(optarg, "destination") == 0)
				cfg.role = NS_ROLE_DESTINATION;
			else
				return usage_error("cutover", "--role is source or destination");
			break;
		case 'b':
		case 'd':
			if (strlen(optarg) == 0 || strlen(optarg) >= 16)
				return usage_error("cutover", "bad interface name");
			snprintf(o == 'b' ? cfg.bridge : cfg.vxlan_dev, 16, "%s", optarg);
			break;
		case 'm':
			if (ns_mac_parse(optarg, last_mac) < 0 ||
			    ns_guest_add_mac(&cfg.plan.guest, last_mac) < 0)
				return usage_error("cutover", "bad or too many --mac");
			break;
		case 'i':
			/* An --ip belongs to the --mac given before it. */
			if (!cfg.plan.guest.n_macs)
				return usage_error("cutover", "--ip must follow its --mac");
			if (ns_ip_parse(optarg, &ip) < 0 || ns_guest_add_ip(&cfg.plan.guest, &ip, last_mac) < 0)
				return usage_error("cutover", "bad or too many --ip");
			break;
		case 'v':
			if (ns_ip_parse(optarg, &cfg.remote_vtep) < 0)
				return usage_error("cutover", "bad --remote-vtep");
			break;
		case 'r':
			if (ns_rounds_parse(optarg, &cfg.plan, &err) < 0)
				return print_error(&err);
			break;
		case 'g':
			if (ns_ip_parse(optarg, &cfg.plan.gateway_ip) < 0 ||
			    cfg.plan.gateway_ip.family != AF_INET)
				return usage_error("cutover", "--gateway-ip must be IPv4");
			cfg.plan.gateway = true;
			break;
		case 'G':
			if (ns_mac_parse(optarg, cfg.plan.gateway_mac) < 0)
				return usage_error("cutover", "bad --gateway-mac");
			have_gw_mac = true;
			break;
		default:
			return usage_error("cutover", "bad option");
		}
	}
	if ((int)cfg.role < 0 || !cfg.bridge[0] || !cfg.vxlan_dev[0] || !cfg.plan.guest.n_macs ||
	    !cfg.remote_vtep.family)
		return usage_error("cutover", "need --role --bridge --dev --mac --remote-vtep");
	if (cfg.plan.gateway != have_gw_mac)
		return usage_error("cutover", "--gateway-ip and --gateway-mac go together");
	if (ns_nl_open(&nl, &err) < 0)
		return print_error(&err);
	ns_cutover_init(&c, &cfg);
	start = ns_now_ns();
	r = ns_cutover_start(&c, nl, start, &err);
	ns_nl_close(nl);
	if (r < 0 && c.state == NS_CUTOVER_IDLE)
		return print_error(&err);
	if (r < 0)
		fprintf(stderr, "lhnetctl: %s (announcing anyway)\n", err.msg);
	printf("{\"ok\":%s,\"role\":\"%s\",\"fdb_errno\":%d,\"fdb_error\":\"%s\",\"rounds\":[",
	       r < 0 ? "false" : "true", ns_role_name(cfg.role), -c.fdb_error, c.fdb_err.msg);
	for (unsigned k = 0; ns_cutover_next_due(&c) != UINT64_MAX; k++) {
		uint64_t due = ns_cutover_next_due(&c), now;
		int n;

		sleep_until(due);
		now = ns_now_ns();
		n = ns_cutover_send_due(&c, now);
		printf("%s{\"at_ms\":%.1f,\"frames\":%d}", k ? "," : "", (double)(now - start) / 1e6, n);
	}
	printf("],\"frames_sent\":%u,\"send_errors\":%u,", c.ann.frames_sent, c.ann.send_errors);
	print_report(&c.report);
	printf("}\n");
	ns_cutover_teardown(&c, "finished");
	return r < 0 ? 1 : 0;
}

static int learn_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"bridge", required_argument, 0, 'b'}, {"seconds", required_argument, 0, 's'},
		{0, 0, 0, 0},
	};
	static struct ns_learn_table t;
	struct ns_learn_sock s;
	struct ns_err err = {0};
	const char *bridge = NULL;
	long seconds = 5;
	uint64_t end;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'b')
			bridge = optarg;
		else if (o == 's' && (seconds = strtol(optarg, NULL, 10)) > 0 && seconds <= 3600)
			continue;
		else
			return usage_error("learn", "usage: learn --bridge BR --seconds 1..3600");
	}
	if (!bridge)
		return usage_error("learn", "--bridge is required");
	if (ns_learn_open(&s, bridge, &err) < 0)
		return print_error(&err);
	end = ns_now_ns() + (uint64_t)seconds * 1000000000u;
	for (uint64_t now = ns_now_ns(); now < end; now = ns_now_ns()) {
		struct pollfd p = {s.fd, POLLIN, 0};
		int ms = (int)((end - now) / 1000000u) + 1;

		if (poll(&p, 1, ms) > 0 && ns_learn_read(&s, &t) < 0)
			break;
	}
	ns_learn_close(&s);
	printf("{\"ok\":true,\"bridge\":\"%s\",\"dropped\":%u,\"bindings\":[", bridge, t.dropped);
	for (unsigned i = 0; i < t.n; i++) {
		char mac[18], ip[46];

		printf("%s{\"mac\":\"%s\",\"ip\":\"%s\",\"source\":\"%s\"}", i ? "," : "",
		       ns_mac_fmt(t.b[i].mac, mac), ns_ip_fmt(&t.b[i].ip, ip, sizeof(ip)),
		       ns_learn_source_name(t.b[i].source));
	}
	printf("]}\n");
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"segment", segment_main,
	 "segment up|down --bridge BR --vni N --local IP --remote IP [--remote IP]... "
	 "[--port 4789] [--dev NAME] [--name SEG]"},
	{"cutover", cutover_main,
	 "cutover --role source|destination --bridge BR --dev VXLANDEV --mac MAC [--ip IP]... "
	 "--remote-vtep IP [--rounds 0,50,200,450,800] [--gateway-ip IP --gateway-mac MAC]"},
	{"learn", learn_main, "learn --bridge BR --seconds N"},
};

int main(int argc, char **argv)
{
	if (argc >= 2) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "usage:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "  lhnetctl %s\n", commands[i].help);
	return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
