/* SPDX-License-Identifier: MIT */
/* The state file: records survive a reopen, replace and delete by key, refusals name the line, limits hold. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gateway/mig/keep.h"

#define ROUTE(name, port) "{\"cmd\":\"migrate-add\",\"args\":{\"name\":\"" name "\",\"to\":\"198.19.0.1:9\"," \
	"\"listen\":\"198.18.1.1:" port "\"}}"

struct seen {
	char names[8][64];
	int n;
};

static void collect(void *ctx, const struct lh_json_req *req)
{
	struct seen *s = ctx;
	const char *v = "?";
	if (lh_req_str(req, "name", &v) < 0)
		lh_req_str(req, "uid", &v);
	snprintf(s->names[s->n++ % 8], 64, "%s", v);
}

static void pc_line(uint64_t uid, int out, const char *phase, char *line, size_t len, char key[17])
{
	struct keep_postcopy p = { .uid = uid, .outgoing = out, .t = 1796650000 };
	struct lh_jbuf b;
	snprintf(p.route, sizeof(p.route), "vm1");
	snprintf(p.dest, sizeof(p.dest), "198.19.0.10:4444");
	snprintf(p.phase, sizeof(p.phase), "%s", phase);
	snprintf(p.why, sizeof(p.why), "WAN session lost: \"quoted\"\n");
	lh_jbuf_init(&b);
	keep_postcopy_line(&p, &b, key);
	CHECK(!b.oom && b.len < len);
	snprintf(line, len, "%.*s", (int)b.len, b.buf);
	lh_jbuf_free(&b);
}

static void test_roundtrip(void)
{
	char dir[] = "/tmp/lh-keep-XXXXXX", err[300], path[300], line[2048], key[17];
	struct seen seen = { 0 };
	CHECK(mkdtemp(dir) != NULL);
	struct keep *k = keep_open(dir, err, sizeof(err));
	CHECK(k != NULL);
	CHECK(keep_count(k, KEEP_ROUTE) == 0 && keep_count(k, KEEP_POSTCOPY) == 0);
	CHECK(keep_put(k, KEEP_ROUTE, "a", ROUTE("a", "1001"), strlen(ROUTE("a", "1001")), err, sizeof(err)) == 0);
	CHECK(keep_put(k, KEEP_ROUTE, "b", ROUTE("b", "1002"), strlen(ROUTE("b", "1002")), err, sizeof(err)) == 0);
	/* the same key again replaces, in place */
	CHECK(keep_put(k, KEEP_ROUTE, "a", ROUTE("a", "1003"), strlen(ROUTE("a", "1003")), err, sizeof(err)) == 0);
	pc_line(0x5c1f0e4b9a7d2c31ull, 1, "postcopy-active", line, sizeof(line), key);
	CHECK(!strcmp(key, "5c1f0e4b9a7d2c31"));
	CHECK(keep_put(k, KEEP_POSTCOPY, key, line, strlen(line), err, sizeof(err)) == 0);
	pc_line(0x5c1f0e4b9a7d2c31ull, 1, "postcopy-paused", line, sizeof(line), key);
	CHECK(keep_put(k, KEEP_POSTCOPY, key, line, strlen(line), err, sizeof(err)) == 0);
	CHECK(keep_del(k, KEEP_ROUTE, "b", err, sizeof(err)) == 0);
	CHECK(keep_del(k, KEEP_ROUTE, "nope", err, sizeof(err)) == 0);
	/* a record of one kind never answers for another */
	CHECK(!keep_has(k, KEEP_ROUTE, "5c1f0e4b9a7d2c31") && keep_has(k, KEEP_POSTCOPY, "5c1f0e4b9a7d2c31"));
	keep_close(k, "test");

	/* what a restarted daemon sees */
	k = keep_open(dir, err, sizeof(err));
	CHECK(k != NULL);
	CHECK(keep_count(k, KEEP_ROUTE) == 1 && keep_count(k, KEEP_POSTCOPY) == 1);
	keep_each(k, KEEP_ROUTE, collect, &seen);
	CHECK(seen.n == 1 && !strcmp(seen.names[0], "a"));
	struct lh_json_req req;
	CHECK(lh_json_req_parse(&req, line, strlen(line), err, sizeof(err)) == 0);
	struct keep_postcopy p;
	CHECK(keep_postcopy_parse(&req, &p, err, sizeof(err)) == 0);
	CHECK(p.uid == 0x5c1f0e4b9a7d2c31ull && p.outgoing && !strcmp(p.phase, "postcopy-paused"));
	CHECK(!strcmp(p.why, "WAN session lost: \"quoted\"\n") && p.t == 1796650000 && !strcmp(p.route, "vm1"));
	lh_json_req_free(&req);
	keep_close(k, "test");
	snprintf(path, sizeof(path), "%s/" KEEP_FILE, dir);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	CHECK(strstr(buf, "1003") && !strstr(buf, "1001") && !strstr(buf, "\"b\""));
	unlink(path);
	rmdir(dir);
}

static void refused(const char *text, const char *want)
{
	char err[300];
	struct keep *k = keep_new_memory();
	CHECK(k != NULL);
	int rc = keep_parse(k, text, strlen(text), err, sizeof(err));
	CHECK(rc == -EINVAL);
	if (rc == -EINVAL && !strstr(err, want)) {
		fprintf(stderr, "for %s: got \"%s\", wanted \"%s\"\n", text, err, want);
		CHECK(0);
	}
	keep_close(k, "test");
}

static void test_refused(void)
{
	refused("{\"cmd\":\"migrate-add\",\"args\":{\"name\":\"a\"}}\nnot json\n", "line 2:");
	refused("{\"cmd\":\"rm-rf\",\"args\":{\"name\":\"a\"}}\n", "unknown record");
	refused("{\"cmd\":\"migrate-add\",\"args\":{\"to\":\"x:1\"}}\n", "args.name");
	refused("{\"cmd\":\"postcopy\",\"args\":{\"uid\":\"0000000000000000\",\"direction\":\"out\",\"route\":\"r\","
		"\"destination\":\"d:1\",\"phase\":\"p\"}}", "not all zero");
	refused("{\"cmd\":\"postcopy\",\"args\":{\"uid\":\"5C1F0E4B9A7D2C31\",\"direction\":\"out\",\"route\":\"r\","
		"\"destination\":\"d:1\",\"phase\":\"p\"}}", "lower-case");
	refused("{\"cmd\":\"postcopy\",\"args\":{\"uid\":\"5c1f0e4b9a7d2c31\",\"direction\":\"up\",\"route\":\"r\","
		"\"destination\":\"d:1\",\"phase\":\"p\"}}", "direction");
	refused("{\"cmd\":\"postcopy\",\"args\":{\"uid\":\"5c1f0e4b9a7d2c31\",\"direction\":\"in\",\"route\":\"r\","
		"\"phase\":\"p\"}}", "args.destination missing");
	refused("{\"cmd\":\"postcopy\",\"args\":{\"uid\":\"5c1f0e4b9a7d2c31\",\"direction\":\"in\",\"route\":\"r\","
		"\"destination\":\"d:1\",\"phase\":\"p\",\"t\":-1}}", "args.t");
	/* a line longer than any record this writes */
	char *big = malloc(KEEP_LINE_MAX + 100);
	CHECK(big != NULL);
	memset(big, ' ', KEEP_LINE_MAX + 50);
	big[KEEP_LINE_MAX + 50] = 0;
	refused(big, "longer than");
	free(big);
}

static void test_limits(void)
{
	char err[300], name[32], line[256];
	struct keep *k = keep_new_memory();
	CHECK(k != NULL);
	for (int i = 0; i < KEEP_MAX; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		snprintf(line, sizeof(line), "{\"cmd\":\"migrate-add\",\"args\":{\"name\":\"%s\"}}", name);
		CHECK(keep_put(k, KEEP_ROUTE, name, line, strlen(line), err, sizeof(err)) == 0);
	}
	CHECK(keep_put(k, KEEP_ROUTE, "one-more", line, strlen(line), err, sizeof(err)) == -ENOSPC);
	CHECK(strstr(err, "full") != NULL);
	/* replacing an existing key still works when full; a record with a newline never goes in */
	CHECK(keep_put(k, KEEP_ROUTE, "r0", line, strlen(line), err, sizeof(err)) == 0);
	CHECK(keep_put(k, KEEP_ROUTE, "r1", "{}\n{}", 5, err, sizeof(err)) == -EINVAL);
	CHECK(keep_count(k, KEEP_ROUTE) == KEEP_MAX);
	keep_close(k, "test");
	/* an empty state, and empty lines */
	k = keep_new_memory();
	CHECK(keep_parse(k, "\n\n", 2, err, sizeof(err)) == 0 && keep_count(k, KEEP_ROUTE) == 0);
	keep_close(k, "test");
}

int main(void)
{
	test_roundtrip();
	test_refused();
	test_limits();
	return check_report("keep");
}
