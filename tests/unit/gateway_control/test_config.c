/* SPDX-License-Identifier: MIT */
/* Config parser: good files, defaults, every error class, all errors in one run, views, reload check. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gateway/base/config.h"
#include "gateway/base/json.h"
#include "gateway/base/log.h"

static char tmpdir[] = "/tmp/lh-cfgtest-XXXXXX";
static char certpath[300];

/* Parses text through the streaming API, as the fuzzer does (no file checks). */
static int parse_text(const char *text, struct lh_config *cfg, struct lh_config_errors *errs)
{
	struct lh_config_parser p;

	lh_config_parse_init(&p, cfg, errs, "t.conf");
	const char *s = text;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		lh_config_parse_line(&p, s, n);
		s += n + (nl ? 1 : 0);
	}
	return lh_config_parse_finish(&p);
}

static bool has_error(const struct lh_config_errors *e, const char *needle)
{
	for (unsigned i = 0; i < e->n && i < LH_CFG_MAX_ERRORS; i++)
		if (strstr(e->msg[i], needle))
			return true;
	return false;
}

static void dump_errors(const struct lh_config_errors *e)
{
	lh_config_errors_print(e, stderr);
}

#define WAN_OK "[wan]\nlisten = 198.18.0.1:7000\ncert = c\nkey = k\nca = a\npeer_name = site-b\n"

static void test_defaults(void)
{
	struct lh_config cfg;
	struct lh_config_errors errs;

	CHECK(parse_text(WAN_OK, &cfg, &errs) == 0);
	if (errs.n)
		dump_errors(&errs);
	CHECK_STR(cfg.name, "longhaul");
	CHECK_STR(cfg.control_path, "/run/longhaul/longhauld.sock");
	CHECK(cfg.log_level == LH_LOG_INFO);
	CHECK(!lh_endpoint_set(&cfg.metrics_listen));
	CHECK(cfg.audit_path[0] == 0);
	CHECK(cfg.wan.streams == 8);
	CHECK_STR(cfg.wan.congestion, "bbr");
	CHECK(cfg.wan.sndbuf == 0 && cfg.wan.rcvbuf == 0);
	CHECK(cfg.wan.rtt_ms == 100 && cfg.wan.bdp_mbit == 1000);
	CHECK(cfg.wan.max_replay_mb == 256);
	CHECK(cfg.wan.outage_budget_s == 300);
	CHECK(cfg.codec.store_mb == 1024);
	CHECK(cfg.codec.level == LH_CODEC_LEVEL_AUTO);
	CHECK(cfg.codec.store_commit == 1);
	CHECK(cfg.codec.threads == 2);
	CHECK(cfg.n_routes == 0 && cfg.n_segments == 0);
	CHECK(cfg.wan.listen.numeric && cfg.wan.listen.port == 7000);
	lh_config_free(&cfg);
}

static const char full_cfg[] =
	"# site A\n"
	"[gateway]\n"
	"  name = site-a  \n"
	"control_socket = /tmp/x.sock\n"
	"log_level = debug\r\n"
	"metrics_listen = [::1]:9100\n"
	"audit_log = /var/log/longhaul/audit.jsonl\n"
	"\n"
	"[wan]\n"
	"peer = gw-b.example.net:7000\n"
	"listen = [2001:db8::1]:7000\n"
	"streams = 16\n"
	"cert = c\nkey = k\nca = a\npeer_name = gw-b.example.net\n"
	"congestion = cubic\n"
	"sndbuf = 33554432\nrcvbuf = 0\nrtt_ms = 120\nbdp_mbit = 10000\nmax_replay_mb = 512\noutage_budget_s = 5\n"
	"[codec]\nstore_mb = 2048\nlevel = -3\n"
	"; routes\n"
	"[route vm1]\n"
	"listen = 198.18.1.1:4444\n"
	"to = 198.19.0.10:4444\n"
	"mac = 52:54:00:12:34:56\n"
	"mac = 52:54:00:12:34:57\n"
	"ip = 198.18.5.5\n"
	"ip = 2001:db8::55\n"
	"[route vm2]\nlisten = [2001:db8::2]:4445\nto = dest.example:4445\n"
	"[segment lan]\nbridge = br0\nvni = 42\nlocal = 198.18.0.1\nremote = 198.19.0.1\n";

static void test_full(void)
{
	struct lh_config cfg, again;
	struct lh_config_errors errs;
	char buf[300];

	CHECK(parse_text(full_cfg, &cfg, &errs) == 0);
	if (errs.n)
		dump_errors(&errs);
	CHECK_STR(cfg.name, "site-a");
	CHECK(cfg.log_level == LH_LOG_DEBUG);
	CHECK_STR(lh_endpoint_fmt(&cfg.metrics_listen, buf, sizeof(buf)), "[::1]:9100");
	CHECK(cfg.metrics_listen.numeric && cfg.metrics_listen.sa.ss_family == AF_INET6);
	CHECK(!cfg.wan.peer.numeric);
	CHECK_STR(lh_endpoint_fmt(&cfg.wan.peer, buf, sizeof(buf)), "gw-b.example.net:7000");
	CHECK(cfg.wan.streams == 16 && cfg.wan.sndbuf == 33554432 && cfg.wan.max_replay_mb == 512);
	CHECK(cfg.wan.outage_budget_s == 5);
	CHECK(cfg.codec.store_mb == 2048 && cfg.codec.level == -3);
	CHECK(cfg.n_routes == 2);
	if (cfg.n_routes == 2) {
		CHECK_STR(cfg.routes[0].name, "vm1");
		CHECK(cfg.routes[0].n_macs == 2 && cfg.routes[0].n_ips == 2);
		CHECK(cfg.routes[0].macs[1][5] == 0x57);
		CHECK(cfg.routes[0].line == 28);
		CHECK_STR(lh_endpoint_fmt(&cfg.routes[1].to, buf, sizeof(buf)), "dest.example:4445");
	}
	CHECK(cfg.n_segments == 1 && cfg.segments[0].vni == 42);
	CHECK_STR(cfg.segments[0].dev, "lhvx42");

	/* the INI view parses back to the same config */
	char *ini = NULL;
	size_t inilen = 0;
	FILE *f = open_memstream(&ini, &inilen);
	lh_config_write_ini(&cfg, f);
	fclose(f);
	CHECK(parse_text(ini, &again, &errs) == 0);
	if (errs.n) {
		dump_errors(&errs);
		fprintf(stderr, "%s", ini);
	}
	CHECK(lh_config_reload_check(&cfg, &again, buf, sizeof(buf)) == 0);
	CHECK(again.n_routes == 2 && again.routes[0].n_ips == 2);
	free(ini);

	/* JSON view */
	struct lh_jbuf jb;
	lh_jbuf_init(&jb);
	lh_json_obj_begin(&jb, NULL);
	lh_config_to_json(&cfg, &jb);
	lh_json_obj_end(&jb);
	CHECK(!jb.oom);
	CHECK_HAS(jb.buf, "\"streams\":16");
	CHECK_HAS(jb.buf, "\"outage_budget_s\":5");
	CHECK_HAS(jb.buf, "\"level\":-3");
	CHECK_HAS(jb.buf, "\"log_level\":\"debug\"");
	CHECK_HAS(jb.buf, "\"macs\":[\"52:54:00:12:34:56\",\"52:54:00:12:34:57\"]");
	CHECK_HAS(jb.buf, "\"remotes\":[\"198.19.0.1\"]");
	struct lh_jdoc doc;
	char err[200];
	CHECK(lh_json_parse(&doc, jb.buf, jb.len, 8, err, sizeof(err)) == 0);
	lh_jdoc_free(&doc);
	lh_jbuf_free(&jb);

	/* reload check: routes and log_level may change, streams and segments may not */
	again.log_level = LH_LOG_WARN;
	again.n_routes = 1;
	CHECK(lh_config_reload_check(&cfg, &again, buf, sizeof(buf)) == 0);
	/* credentials are re-read by a reload (a new TLS context for new streams): not a restart option */
	snprintf(again.wan.cert, sizeof(again.wan.cert), "/renewed.pem");
	snprintf(again.wan.crl, sizeof(again.wan.crl), "/ca.crl");
	CHECK(lh_config_reload_check(&cfg, &again, buf, sizeof(buf)) == 0);
	again.wan.streams = 4;
	again.segments[0].vni = 43;
	CHECK(lh_config_reload_check(&cfg, &again, buf, sizeof(buf)) == 2);
	CHECK_HAS(buf, "wan.streams");
	CHECK_HAS(buf, "[segment]");
	again.n_routes = 2;
	lh_config_free(&again);
	lh_config_free(&cfg);
}

struct bad_case {
	const char *text;
	const char *error; /* substring of the expected message, incl. "t.conf:LINE:" */
};

static const struct bad_case bad[] = {
	{ "key = 1\n" WAN_OK, "t.conf:1: `key' outside of any section" },
	{ WAN_OK "[bogus]\nx = 1\n", "t.conf:7: unknown section [bogus]" },
	{ WAN_OK "[wan\n", "t.conf:7: section header without closing ]" },
	{ WAN_OK "[wan]\n", "t.conf:7: section [wan] already given at line 1" },
	{ WAN_OK "[gateway x]\n", "section [gateway] takes no name" },
	{ WAN_OK "colour = red\n", "t.conf:7: unknown key `colour' in [wan]" },
	{ WAN_OK "just words\n", "t.conf:7: expected `key = value'" },
	{ WAN_OK "Bad-Key = 1\n", "is not a key" },
	{ WAN_OK "streams =\n", "t.conf:7: streams: empty value" },
	{ WAN_OK "streams = 0\n", "t.conf:7: wan.streams: `0' is not in 1..64" },
	{ WAN_OK "streams = 65\n", "wan.streams: `65' is not in 1..64" },
	{ WAN_OK "streams = 8x\n", "wan.streams: `8x' is not in 1..64" },
	{ WAN_OK "streams = 99999999999999999999\n", "is not in 1..64" },
	{ WAN_OK "outage_budget_s = 0\n", "t.conf:7: wan.outage_budget_s: `0' is not in 1..3600" },
	{ WAN_OK "outage_budget_s = 3601\n", "wan.outage_budget_s: `3601' is not in 1..3600" },
	{ WAN_OK "cert = again\n", "t.conf:7: wan.cert already set at line 3" },
	{ WAN_OK "peer = 198.18.0.2\n", "has no :PORT" },
	{ WAN_OK "peer = 198.18.0.2:0\n", "port 0 is not allowed in the config file" },
	{ WAN_OK "peer = 198.18.0.2:65536\n", "port `65536' is not in 0..65535" },
	{ WAN_OK "[route r]\nlisten = 198.18.0.9:0\n", "route r: listen: `198.18.0.9:0': port 0 is not allowed" },
	{ WAN_OK "peer = 2001:db8::1:7000\n", "write IPv6 addresses as [ADDR]:PORT" },
	{ WAN_OK "peer = [2001:db8::zz]:7000\n", "is not an IPv6 address" },
	{ WAN_OK "peer = bad_host!:7000\n", "neither an IP address nor a host name" },
	{ WAN_OK "congestion = BBR\n", "wan.congestion: `BBR' is not a valid word" },
	{ "[wan]\npeer_name = a b\n", "wan.peer_name: `a b' is not a valid name" },
	{ WAN_OK "[codec]\nlevel = 23\n", "t.conf:8: codec.level: `23' is neither auto nor in -7..22" },
	{ WAN_OK "[codec]\nstore_mb = 1\n", "codec.store_mb: `1' is not in 16..1048576" },
	{ WAN_OK "[codec]\nstore_commit = 2\n", "codec.store_commit: `2' is not in 0..1" },
	{ WAN_OK "[codec]\nthreads = 0\n", "codec.threads: `0' is not in 1..2" },
	{ WAN_OK "[gateway]\nlog_level = loud\n", "`loud' is not one of warn, info, debug" },
	{ WAN_OK "[gateway]\nmetrics_listen = localhost:9100\n", "`localhost' is not an IP address" },
	{ "[wan]\ncert = c\nkey = k\nca = a\npeer_name = p\n", "t.conf:1: [wan] needs listen" },
	{ "[wan]\nlisten = 198.18.0.1:1\n", "wan.cert is required" },
	{ "", "t.conf:0: wan.cert is required" },
	{ WAN_OK "[route]\n", "[route NAME]: `' is not a valid name" },
	{ WAN_OK "[route a/b]\n", "`a/b' is not a valid name" },
	{ WAN_OK "[route r]\nto = h:1\n", "t.conf:7: route r: listen is required" },
	{ WAN_OK "[route r]\nlisten = 198.18.0.9:1\n", "route r: to is required" },
	{ WAN_OK "[route r]\nlisten = 198.18.0.9:1\nto = h:1\n[route r]\n", "t.conf:10: route r already defined at line 7" },
	{ WAN_OK "[route r]\nlisten = gw:1\n", "route r: listen: `gw:1': `gw' is not an IP address" },
	{ WAN_OK "[route r]\nlisten = 198.18.0.9:1\nlisten = 198.18.0.9:2\n", "t.conf:9: route r: listen given twice" },
	{ WAN_OK "[route r]\nmac = 01:00:5e:00:00:01\n", "mac: `01:00:5e:00:00:01' is not a unicast MAC" },
	{ WAN_OK "[route r]\nmac = 52:54:00\n", "is not a unicast MAC" },
	{ WAN_OK "[route r]\nip = 300.1.1.1\n", "ip: `300.1.1.1' is not an IP address" },
	{ WAN_OK "[route r]\nport = 1\n", "route r: unknown key `port' (listen, to, mac, ip, segment, allow)" },
	{ WAN_OK "[route r]\nallow = 198.18.1.5/24\n", "route r: allow: `198.18.1.5/24' has host bits set under /24" },
	{ WAN_OK "[route r]\nallow = 198.18.1.0/33\n", "prefix length must be 0..32" },
	{ WAN_OK "[route r]\nallow = gw-a\n", "`gw-a' is not an IP address" },
	{ WAN_OK "[route r]\nallow = 198.18.1.0/24\nallow = 198.18.2.1\n", "allow given twice" },
	{ WAN_OK "[gateway]\nlan_allow = ,\n", "an empty list" },
	{ WAN_OK "[route a]\nlisten = 198.18.0.9:1\nto = h:1\n[route b]\nlisten = 198.18.0.9:1\nto = h:2\n",
	  "t.conf:10: route b: listen 198.18.0.9:1 is also route a's" },
	{ WAN_OK "[route a]\nlisten = 198.18.0.1:7000\nto = h:1\n", "is already used by [wan] or metrics" },
	{ WAN_OK "[route a]\nlisten = 0.0.0.0:7001\nto = h:1\n", "t.conf:7: route a: listen 0.0.0.0:7001 is every address" },
	{ WAN_OK "[route a]\nlisten = [::]:7001\nto = h:1\n", "route a: listen [::]:7001 is every address" },
	{ WAN_OK "[segment s]\nvni = 0\n", "t.conf:8: segment s: vni: `0' is not in 1..16777215" },
	{ WAN_OK "[segment s]\nbridge = br0\n", "t.conf:7: segment s: vni is not set" },
	{ WAN_OK "[segment s]\nbridge = br0\nvni = 1\nlocal = 198.18.0.1\nremote = 198.18.0.2\n[segment s]\n",
	  "segment s already defined at line 7" },
	{ WAN_OK "[segment averyveryveryverylongsegmentname]\n", "at most 31" },
#define SEG_OK "bridge = br0\nvni = 7\nlocal = 198.18.0.1\nremote = 198.18.0.2\n"
	{ WAN_OK "[segment s]\n" SEG_OK "announce_rounds = 0,50,20\n", "segment s: announce_rounds: `0,50,20': offsets must not decrease" },
	{ WAN_OK "[segment s]\n" SEG_OK "gateway_ip = 2001:db8::1\n", "gateway_ip: `2001:db8::1' is not an IPv4 address" },
	{ WAN_OK "[segment s]\n" SEG_OK "gateway_ip = 198.18.0.254\n", "t.conf:7: segment s: gateway_ip and gateway_mac go together" },
	{ WAN_OK "[segment s]\n" SEG_OK "gateway_mac = ff:ff:ff:ff:ff:ff\n", "gateway_mac: `ff:ff:ff:ff:ff:ff' is not a unicast MAC" },
	{ WAN_OK "[segment s]\n" SEG_OK "[segment t]\n" SEG_OK, "t.conf:12: segment t: vni 7 is also segment s's" },
	{ WAN_OK "[route r]\nlisten = 198.18.0.9:1\nto = h:1\nsegment = lan\n", "t.conf:7: route r: segment lan is not defined" },
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lh_config cfg;
		struct lh_config_errors errs;
		int rc = parse_text(bad[i].text, &cfg, &errs);
		if (rc != -EINVAL || !has_error(&errs, bad[i].error)) {
			fprintf(stderr, "bad case %zu: rc %d, wanted `%s', got:\n", i, rc, bad[i].error);
			dump_errors(&errs);
			check_failures++;
		}
		lh_config_free(&cfg);
	}
	/* a NUL byte and an overlong line */
	struct lh_config cfg;
	struct lh_config_errors errs;
	struct lh_config_parser p;
	lh_config_parse_init(&p, &cfg, &errs, "t.conf");
	lh_config_parse_line(&p, "[wan]\0x", 7);
	char *longline = malloc(5000);
	memset(longline, 'a', 5000);
	lh_config_parse_line(&p, longline, 5000);
	free(longline);
	CHECK(lh_config_parse_finish(&p) == -EINVAL);
	CHECK(has_error(&errs, "t.conf:1: NUL byte in line"));
	CHECK(has_error(&errs, "t.conf:2: line longer than 4096"));
	lh_config_free(&cfg);
}

/* Every error of a file is reported in one run, in line order, and keys of unknown sections are skipped. */
static void test_all_errors(void)
{
	static const char text[] =
		"[gateway]\nlog_level = loud\nname = ok\n"
		"[wan]\nstreams = 0\ncongestion = X\n"
		"[nope]\nanything = goes\n"
		"[codec]\nlevel = 99\nmystery = 1\n";
	struct lh_config cfg;
	struct lh_config_errors errs;

	CHECK(parse_text(text, &cfg, &errs) == -EINVAL);
	CHECK(has_error(&errs, "t.conf:2:"));
	CHECK(has_error(&errs, "t.conf:5:"));
	CHECK(has_error(&errs, "t.conf:6:"));
	CHECK(has_error(&errs, "t.conf:7: unknown section"));
	CHECK(!has_error(&errs, "t.conf:8:"));
	CHECK(has_error(&errs, "t.conf:10:"));
	CHECK(has_error(&errs, "t.conf:11: unknown key `mystery'"));
	CHECK(has_error(&errs, "wan.cert is required"));
	CHECK(has_error(&errs, "[wan] needs listen"));
	CHECK(errs.n == 11);
	if (errs.n != 11)
		dump_errors(&errs);
	lh_config_free(&cfg);

	/* more errors than are stored: all counted */
	char *many = malloc(200 * 16 + 64);
	strcpy(many, "[wan]\n");
	for (int i = 0; i < 200; i++)
		strcat(many, "streams = 0\n");
	CHECK(parse_text(many, &cfg, &errs) == -EINVAL);
	CHECK(errs.n > LH_CFG_MAX_ERRORS);
	free(many);
	lh_config_free(&cfg);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void test_load(void)
{
	struct lh_config cfg;
	struct lh_config_errors errs;
	char path[400], text[2000];

	snprintf(path, sizeof(path), "%s/good.conf", tmpdir);
	snprintf(text, sizeof(text), "[wan]\nlisten = 198.18.0.1:7000\ncert = %s\nkey = %s\nca = %s\n"
		 "peer_name = b\n", certpath, certpath, certpath);
	write_file(path, text);
	CHECK(lh_config_load(path, &cfg, &errs) == 0);
	if (errs.n)
		dump_errors(&errs);
	lh_config_free(&cfg);

	snprintf(text, sizeof(text), "[wan]\nlisten = 198.18.0.1:7000\ncert = %s\nkey = %s/missing.pem\n"
		 "ca = %s\npeer_name = b\n", certpath, tmpdir, certpath);
	write_file(path, text);
	CHECK(lh_config_load(path, &cfg, &errs) == -EINVAL);
	CHECK(errs.n == 1 && has_error(&errs, "good.conf:4: wan.key:") &&
	      has_error(&errs, "No such file"));
	lh_config_free(&cfg);

	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	CHECK(lh_config_load(path, &cfg, &errs) == -ENOENT);
	CHECK(errs.n == 1 && has_error(&errs, "absent.conf:0: No such file"));
	lh_config_free(&cfg);

	/* a directory opens but cannot be read: one error that says why, nothing about missing keys */
	CHECK(lh_config_load(tmpdir, &cfg, &errs) == -EINVAL);
	CHECK(errs.n == 1 && has_error(&errs, "read error: Is a directory"));
	lh_config_free(&cfg);
}

static void test_endpoints(void)
{
	struct lh_endpoint ep;
	char err[300], buf[300];

	CHECK(lh_endpoint_parse("[::]:1", false, &ep, err, sizeof(err)) == 0);
	CHECK_STR(lh_endpoint_fmt(&ep, buf, sizeof(buf)), "[::]:1");
	CHECK(lh_endpoint_parse("0.0.0.0:65535", false, &ep, err, sizeof(err)) == 0 && ep.port == 65535);
	CHECK(lh_endpoint_parse("1.2.3.4:65536", false, &ep, err, sizeof(err)) == -EINVAL);
	CHECK(lh_endpoint_parse("0.0.0.0:0", false, &ep, err, sizeof(err)) == 0 && ep.port == 0);
	CHECK(lh_endpoint_parse("1.2.3.4:+80", false, &ep, err, sizeof(err)) == -EINVAL);
	CHECK(lh_endpoint_parse("[::1]80", false, &ep, err, sizeof(err)) == -EINVAL);
	CHECK(lh_endpoint_parse("[1.2.3.4]:80", true, &ep, err, sizeof(err)) == -EINVAL);
	CHECK(lh_endpoint_parse(":80", true, &ep, err, sizeof(err)) == -EINVAL);
	CHECK(lh_endpoint_parse("-bad.example:80", true, &ep, err, sizeof(err)) == -EINVAL);
	CHECK(lh_endpoint_parse("a..b:80", true, &ep, err, sizeof(err)) == -EINVAL);
	CHECK(lh_endpoint_parse("host-1.example.:80", true, &ep, err, sizeof(err)) == 0 && !ep.numeric);
}

/* Allow lists: what matches, IPv4-mapped IPv6 taken as IPv4, the text form reads back. */
static void test_allow(void)
{
	struct lh_allow a, b;
	char err[200], buf[400];
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };

	CHECK(lh_allow_parse("198.18.1.0/24, 198.18.5.7 2001:db8::/32", &a, err, sizeof(err)) == 0 && a.n == 3);
	inet_pton(AF_INET, "198.18.1.200", &v4.sin_addr);
	CHECK(lh_allow_match(&a, (struct sockaddr *)&v4));
	inet_pton(AF_INET, "198.18.2.1", &v4.sin_addr);
	CHECK(!lh_allow_match(&a, (struct sockaddr *)&v4));
	inet_pton(AF_INET, "198.18.5.7", &v4.sin_addr);
	CHECK(lh_allow_match(&a, (struct sockaddr *)&v4));
	inet_pton(AF_INET, "198.18.5.6", &v4.sin_addr);
	CHECK(!lh_allow_match(&a, (struct sockaddr *)&v4));
	inet_pton(AF_INET6, "2001:db8:ffff::1", &v6.sin6_addr);
	CHECK(lh_allow_match(&a, (struct sockaddr *)&v6));
	inet_pton(AF_INET6, "2001:db9::1", &v6.sin6_addr);
	CHECK(!lh_allow_match(&a, (struct sockaddr *)&v6));
	inet_pton(AF_INET6, "::ffff:198.18.1.9", &v6.sin6_addr); /* a v4 client on a dual-stack socket */
	CHECK(lh_allow_match(&a, (struct sockaddr *)&v6));
	CHECK(!strcmp(lh_allow_fmt(&a, buf, sizeof(buf)), "198.18.1.0/24, 198.18.5.7/32, 2001:db8::/32"));
	CHECK(lh_allow_parse(buf, &b, err, sizeof(err)) == 0 && !memcmp(&a, &b, sizeof(a)));
	CHECK(lh_allow_parse("0.0.0.0/0", &b, err, sizeof(err)) == 0);
	CHECK(lh_allow_match(&b, (struct sockaddr *)&v4));
	CHECK(lh_allow_parse("198.18.1.1/31", &b, err, sizeof(err)) == -EINVAL && strstr(err, "host bits"));
	CHECK(lh_allow_parse("", &b, err, sizeof(err)) == -EINVAL);
	CHECK(lh_allow_parse("1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 1.1.1.8 1.1.1.9 1.1.1.10 1.1.1.11 "
			     "1.1.1.12 1.1.1.13 1.1.1.14 1.1.1.15 1.1.1.16 1.1.1.17", &b, err, sizeof(err)) == -EINVAL &&
	      strstr(err, "more than 16"));
}

int main(void)
{
	test_allow();
	log_init("test_config", LH_LOG_WARN, 1);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(certpath, sizeof(certpath), "%s/cert.pem", tmpdir);
	write_file(certpath, "not really a certificate; only readability is checked\n");
	test_defaults();
	test_full();
	test_errors();
	test_all_errors();
	test_load();
	test_endpoints();
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
	return check_report("test_config");
}
