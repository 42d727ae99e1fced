/* SPDX-License-Identifier: MIT */
/* Metrics registry and Prometheus text format, request classification, and the HTTP server (on a unix socket). */
#include <errno.h>
#include <ev.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "gateway/base/json.h"
#include "gateway/base/log.h"
/* wg style: include the source so the static request classifier is testable */
#include "../../../gateway/control/metrics.c"

static int collects;
static struct lh_metric *g_active;

static void collect(void *ctx)
{
	collects++;
	lh_metric_set(g_active, (double)(long)ctx);
}

static struct lh_metrics *make_registry(void)
{
	struct lh_metrics *m = lh_metrics_new();
	static const char *const mig_labels[] = { "route", "channel" };
	struct lh_metric *bytes = lh_metrics_family(m, LH_METRIC_COUNTER, "longhaul_lan_bytes_total",
						    "Bytes from the hypervisor.\nPer channel \\ route.",
						    mig_labels, 2);
	g_active = lh_metrics_family(m, LH_METRIC_GAUGE, "longhaul_migrations_active",
				     "Migrations in progress", NULL, 0);
	struct lh_metric *ratio = lh_metrics_family(m, LH_METRIC_GAUGE, "longhaul_ratio", "WAN/LAN",
						    NULL, 0);
	CHECK(bytes && g_active && ratio);
	const char *v1[] = { "vm1", "main" }, *v2[] = { "vm\"2\\\n", "multifd" };
	struct lh_series *s1 = lh_metric_series(bytes, v1);
	struct lh_series *s2 = lh_metric_series(bytes, v2);
	CHECK(s1 && s2 && s1 != s2);
	CHECK(lh_metric_series(bytes, v1) == s1); /* get-or-create */
	lh_series_add(s1, 1000);
	lh_series_add(s1, 24);
	lh_series_set(s2, 12345678901234.0);
	CHECK(lh_series_get(s1) == 1024);
	lh_metric_set(ratio, 0.25);
	lh_metrics_set_collector(m, collect, (void *)3L);
	return m;
}

static const char expected[] =
	"# HELP longhaul_lan_bytes_total Bytes from the hypervisor.\\nPer channel \\\\ route.\n"
	"# TYPE longhaul_lan_bytes_total counter\n"
	"longhaul_lan_bytes_total{route=\"vm1\",channel=\"main\"} 1024\n"
	"longhaul_lan_bytes_total{route=\"vm\\\"2\\\\\\n\",channel=\"multifd\"} 12345678901234\n"
	"# HELP longhaul_migrations_active Migrations in progress\n"
	"# TYPE longhaul_migrations_active gauge\n"
	"longhaul_migrations_active 3\n"
	"# HELP longhaul_ratio WAN/LAN\n"
	"# TYPE longhaul_ratio gauge\n"
	"longhaul_ratio 0.25\n";

static void test_registry(void)
{
	struct lh_metrics *m = make_registry();
	struct lh_jbuf out;

	lh_jbuf_init(&out);
	lh_metrics_render(m, &out);
	CHECK_STR(out.buf, expected);
	CHECK(collects == 1);

	/* invalid or duplicate declarations are refused */
	static const char *const bad_label[] = { "bad-label" }, *const reserved[] = { "__x" };
	CHECK(!lh_metrics_family(m, LH_METRIC_GAUGE, "longhaul_ratio", "dup", NULL, 0));
	CHECK(!lh_metrics_family(m, LH_METRIC_GAUGE, "9lives", "", NULL, 0));
	CHECK(!lh_metrics_family(m, LH_METRIC_GAUGE, "has space", "", NULL, 0));
	CHECK(!lh_metrics_family(m, LH_METRIC_GAUGE, "ok_name", "", bad_label, 1));
	CHECK(!lh_metrics_family(m, LH_METRIC_GAUGE, "ok_name", "", reserved, 1));
	struct lh_metric *sp = lh_metrics_family(m, LH_METRIC_GAUGE, "ns:special", "", NULL, 0);
	CHECK(sp != NULL);
	lh_metric_set(sp, NAN);

	/* deleting a series removes its line */
	struct lh_metric *bytes = m->first;
	const char *v1[] = { "vm1", "main" };
	lh_metric_series_del(bytes, lh_metric_series(bytes, v1));
	lh_jbuf_reset(&out);
	lh_metrics_render(m, &out);
	CHECK(!strstr(out.buf, "route=\"vm1\""));
	CHECK_HAS(out.buf, "channel=\"multifd\"} 12345678901234\n");
	CHECK_HAS(out.buf, "ns:special NaN\n");
	lh_metric_set(sp, -INFINITY);
	lh_jbuf_reset(&out);
	lh_metrics_render(m, &out);
	CHECK_HAS(out.buf, "ns:special -Inf\n");
	lh_jbuf_free(&out);
	lh_metrics_free(m);
}

static void test_classify(void)
{
	static const struct { const char *req; int status; } cases[] = {
		{ "GET /metrics HTTP/1.0\r\n\r\n", 200 },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", 200 },
		{ "GET /metrics?name[]=a HTTP/1.1\n\n", 200 },
		{ "GET /metrics", 0 },
		{ "GET /metrics HTTP/1.0\r\nHost: x\r\n", 0 },
		{ "GET / HTTP/1.0\r\n\r\n", 404 },
		{ "GET /metricsX HTTP/1.0\r\n\r\n", 404 },
		{ "POST /metrics HTTP/1.0\r\n\r\n", 405 },
		{ "HEAD /metrics HTTP/1.0\r\n\r\n", 405 },
		{ "GET /metrics HTTP/2.0\r\n\r\n", 400 },
		{ "GET  /metrics HTTP/1.0\r\n\r\n", 400 },
		{ "get /metrics HTTP/1.0\r\n\r\n", 400 },
		{ "GET /metrics\r\n\r\n", 400 },
		{ "\r\n\r\n", 400 },
		{ "GET /me\x01trics HTTP/1.0\r\n\r\n", 400 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = http_classify(cases[i].req, strlen(cases[i].req));
		if (st != cases[i].status) {
			fprintf(stderr, "classify case %zu: %d, wanted %d\n", i, st, cases[i].status);
			check_failures++;
		}
	}
	char big[HTTP_MAX_REQUEST];
	memset(big, 'A', sizeof(big));
	CHECK(http_classify(big, sizeof(big)) == 431);
}

static struct ev_loop *loop;

/* Sends req to the server, runs the loop until the server closes the connection. */
static char *http_get(const char *path, const char *req, size_t req_len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		perror("connect");
		exit(1);
	}
	if (req_len && send(fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) {
		perror("send");
		exit(1);
	}
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (int spins = 0; spins < 3000; spins++) {
		ev_run(loop, EVRUN_NOWAIT);
		ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
		if (r == 0)
			break;
		if (r > 0) {
			len += (size_t)r;
			continue;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 1);
	}
	buf[len] = 0;
	close(fd);
	return buf;
}

static void test_http(void)
{
	char dir[] = "/tmp/lh-mettest-XXXXXX", path[100], err[256];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	loop = ev_default_loop(0);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/metrics.sock", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	struct lh_metrics *m = make_registry();
	struct lh_metrics_http *h = lh_metrics_http_open(loop, m, (struct sockaddr *)&sun,
							 sizeof(sun), err, sizeof(err));
	CHECK(h != NULL);
	if (!h) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	const char *q = "GET /metrics HTTP/1.1\r\nHost: gw\r\n\r\n";
	char *r = http_get(path, q, strlen(q));
	char head[256];
	snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
		 "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", strlen(expected));
	CHECK(strncmp(r, head, strlen(head)) == 0);
	CHECK_STR(r + strlen(head), expected);
	free(r);
	/* the request head may arrive in pieces */
	r = http_get(path, "GET /metr", 9);
	CHECK_STR(r, ""); /* nothing until the head is complete; closed by us */
	free(r);
	q = "POST /metrics HTTP/1.0\r\n\r\n";
	r = http_get(path, q, strlen(q));
	CHECK(strncmp(r, "HTTP/1.0 405 Method Not Allowed\r\n", 33) == 0);
	CHECK_HAS(r, "Allow: GET\r\n");
	free(r);
	q = "GET /other HTTP/1.0\r\n\r\n";
	r = http_get(path, q, strlen(q));
	CHECK(strncmp(r, "HTTP/1.0 404 Not Found\r\n", 24) == 0);
	free(r);
	q = "garbage\r\n\r\n";
	r = http_get(path, q, strlen(q));
	CHECK(strncmp(r, "HTTP/1.0 400 Bad Request\r\n", 26) == 0);
	free(r);
	char *big = malloc(HTTP_MAX_REQUEST + 10);
	memset(big, 'A', HTTP_MAX_REQUEST + 10);
	r = http_get(path, big, HTTP_MAX_REQUEST);
	CHECK(strncmp(r, "HTTP/1.0 431 ", 13) == 0);
	free(r);
	free(big);
	for (int i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
	CHECK(h->nconns == 0);
	lh_metrics_http_close(h, "test done");
	lh_metrics_free(m);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	log_init("test_metrics", LH_LOG_WARN, 1);
	test_registry();
	test_classify();
	test_http();
	return check_report("test_metrics");
}
