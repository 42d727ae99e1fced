/* SPDX-License-Identifier: MIT */
/* Control server in the test's own loop with a fake command table: replies, bad lines, limits, mode 0600. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "gateway/control/control.h"
#include "gateway/base/log.h"

static struct ev_loop *loop;
static char dir[] = "/tmp/lh-ctltest-XXXXXX";
static char sock_path[100];

struct fake { int calls; };

static int cmd_status(void *ctx, const struct lh_json_req *req, struct lh_jbuf *reply)
{
	struct fake *f = ctx;
	const char *who = "nobody";
	f->calls++;
	lh_req_str(req, "who", &who);
	lh_json_int(reply, "calls", f->calls);
	lh_json_str(reply, "who", who);
	/* the server fills in who is on the other end: this very process */
	if (req->peer_pid != (long)getpid() || req->peer_uid != (long)getuid())
		return lh_jbuf_fail(reply, -EPERM, "peer credentials missing");
	return 0;
}

static int cmd_fail(void *ctx, const struct lh_json_req *req, struct lh_jbuf *reply)
{
	lh_json_str(reply, "partial", "dropped");
	return lh_jbuf_fail(reply, -ENOENT, "no route \"%s\"", "r1");
}

static int cmd_errno(void *ctx, const struct lh_json_req *req, struct lh_jbuf *reply)
{
	return -EBUSY;
}

static int cmd_unbalanced(void *ctx, const struct lh_json_req *req, struct lh_jbuf *reply)
{
	lh_json_arr_begin(reply, "open");
	return 0;
}

static int cmd_big(void *ctx, const struct lh_json_req *req, struct lh_jbuf *reply)
{
	static char blob[1 << 20];
	memset(blob, 'z', sizeof(blob) - 1);
	lh_json_str(reply, "blob", blob);
	return 0;
}

static const struct lh_control_cmd table[] = {
	{ "status", cmd_status, "fake status" },
	{ "fail", cmd_fail, "always fails with a message" },
	{ "errno", cmd_errno, "fails with -EBUSY" },
	{ "unbalanced", cmd_unbalanced, "leaves an array open" },
	{ "big", cmd_big, "1 MiB reply" },
};

static int client_connect(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	int rc, tries = 0;
	/* a full backlog says EAGAIN: let the server accept, then retry */
	while ((rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun))) < 0 && errno == EAGAIN &&
	       tries++ < 1000)
		ev_run(loop, EVRUN_NOWAIT);
	if (rc < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN) {
			ev_run(loop, EVRUN_NOWAIT);
			continue;
		}
		if (w < 0) {
			perror("send");
			exit(1);
		}
		data += w;
		len -= (size_t)w;
	}
}

/* Runs the loop until `lines' reply lines (or EOF) arrived on fd, max 3 s. Returns malloc'd text. */
static int wait_ms = 3000;

static char *recv_lines(int fd, int lines, bool *eof)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	struct timespec t0, t;
	int got = 0;

	*eof = false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (got < lines) {
		ev_run(loop, EVRUN_NOWAIT);
		if (len + 4096 > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
		if (r > 0) {
			for (ssize_t i = 0; i < r; i++)
				got += buf[len + (size_t)i] == '\n';
			len += (size_t)r;
			continue;
		}
		if (r == 0) {
			*eof = true;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > wait_ms)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 1);
	}
	buf[len] = 0;
	return buf;
}

static char *request(int fd, const char *line, int lines)
{
	bool eof;
	send_all(fd, line, strlen(line));
	return recv_lines(fd, lines, &eof);
}

static void test_basic(struct lh_control *c, struct fake *f)
{
	struct stat st;
	char *r;

	CHECK(stat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK((st.st_mode & 0777) == 0600);

	int fd = client_connect();
	r = request(fd, "{\"cmd\":\"status\",\"args\":{\"who\":\"me\"}}\n", 1);
	CHECK_STR(r, "{\"ok\":true,\"calls\":1,\"who\":\"me\"}\n");
	free(r);
	r = request(fd, "{\"cmd\":\"fail\"}\n", 1);
	CHECK_STR(r, "{\"ok\":false,\"error\":\"no route \\\"r1\\\"\"}\n");
	free(r);
	r = request(fd, "{\"cmd\":\"errno\"}\n", 1);
	CHECK_STR(r, "{\"ok\":false,\"error\":\"Device or resource busy\"}\n");
	free(r);
	r = request(fd, "{\"cmd\":\"unbalanced\"}\n", 1);
	CHECK_STR(r, "{\"ok\":false,\"error\":\"internal error: reply left unbalanced\"}\n");
	free(r);
	r = request(fd, "{\"cmd\":\"nope\"}\n", 1);
	CHECK_STR(r, "{\"ok\":false,\"error\":\"unknown command \\\"nope\\\" (try \\\"help\\\")\"}\n");
	free(r);
	r = request(fd, "{\"cmd\":\"help\"}\n", 1);
	CHECK_HAS(r, "{\"ok\":true,\"commands\":[{\"name\":\"help\"");
	CHECK_HAS(r, "{\"name\":\"big\",\"help\":\"1 MiB reply\"}]}\n");
	free(r);
	/* garbage, a non-object, binary junk: one error line each, connection stays usable */
	r = request(fd, "hello\n[1]\n\x01\xff\xfe{\n", 3);
	CHECK_HAS(r, "{\"ok\":false,\"error\":\"bad request: offset 0: unexpected character 'h'\"}\n");
	CHECK_HAS(r, "\"bad request: request must be a JSON object\"");
	CHECK_HAS(r, "\"bad request: offset 0: unexpected character '?'\"");
	free(r);
	/* blank lines get no reply; CRLF is accepted; several requests in one write, in order */
	r = request(fd, "\n  \r\n{\"cmd\":\"status\"}\r\n{\"cmd\":\"status\"}\n", 2);
	CHECK_STR(r, "{\"ok\":true,\"calls\":2,\"who\":\"nobody\"}\n{\"ok\":true,\"calls\":3,\"who\":\"nobody\"}\n");
	free(r);
	/* a request split over several writes */
	send_all(fd, "{\"cmd\":", 7);
	bool eof;
	wait_ms = 200;
	r = recv_lines(fd, 1, &eof); /* times out: nothing to answer yet */
	wait_ms = 3000;
	CHECK_STR(r, "");
	free(r);
	r = request(fd, "\"status\"}\n", 1);
	CHECK_STR(r, "{\"ok\":true,\"calls\":4,\"who\":\"nobody\"}\n");
	free(r);
	/* an oversized line: one error, the rest of it skipped, the next line served */
	size_t big = LH_REQ_MAX_LINE * 2 + 100;
	char *junk = malloc(big + 1);
	memset(junk, 'x', big);
	junk[big] = 0;
	send_all(fd, junk, big);
	free(junk);
	r = request(fd, "tail-of-junk\n{\"cmd\":\"status\"}\n", 2);
	CHECK_STR(r, "{\"ok\":false,\"error\":\"request line longer than 65536 bytes\"}\n"
		     "{\"ok\":true,\"calls\":5,\"who\":\"nobody\"}\n");
	free(r);
	/* a line of exactly the maximum size is parsed (and is a bad request, not "too long") */
	char *max = malloc(LH_REQ_MAX_LINE + 2);
	memset(max, ' ', LH_REQ_MAX_LINE);
	memcpy(max, "{\"cmd\":\"status\"}", 16);
	max[LH_REQ_MAX_LINE] = '\n';
	max[LH_REQ_MAX_LINE + 1] = 0;
	r = request(fd, max, 1);
	CHECK_STR(r, "{\"ok\":true,\"calls\":6,\"who\":\"nobody\"}\n");
	free(max);
	free(r);
	/* last line without newline, then EOF: answered, then closed */
	shutdown(fd, SHUT_WR);
	send_all(fd, "", 0);
	r = NULL;
	{
		int fd2 = client_connect();
		send_all(fd2, "{\"cmd\":\"status\"}", 16);
		shutdown(fd2, SHUT_WR);
		r = recv_lines(fd2, 1, &eof);
		CHECK_STR(r, "{\"ok\":true,\"calls\":7,\"who\":\"nobody\"}\n");
		free(r);
		r = recv_lines(fd2, 1, &eof);
		CHECK(eof);
		free(r);
		close(fd2);
	}
	close(fd);
	for (int i = 0; i < 50; i++)
		ev_run(loop, EVRUN_NOWAIT);
	CHECK(lh_control_nclients(c) == 0);
	CHECK(f->calls == 7);
}

static void test_many_clients(struct lh_control *c)
{
	int fds[LH_CONTROL_MAX_CLIENTS];
	char *r;
	bool eof;

	for (int i = 0; i < LH_CONTROL_MAX_CLIENTS; i++) {
		fds[i] = client_connect();
		{
			const char *q = "{\"cmd\":\"status\",\"args\":{\"who\":\"many\"}}\n";
			send_all(fds[i], q, strlen(q));
		}
	}
	int good = 0;
	for (int i = LH_CONTROL_MAX_CLIENTS - 1; i >= 0; i--) {
		r = recv_lines(fds[i], 1, &eof);
		good += strstr(r, "\"ok\":true") && strstr(r, "\"who\":\"many\"") ? 1 : 0;
		free(r);
	}
	CHECK(good == LH_CONTROL_MAX_CLIENTS);
	CHECK(lh_control_nclients(c) == LH_CONTROL_MAX_CLIENTS);
	int extra = client_connect();
	r = recv_lines(extra, 1, &eof);
	CHECK_STR(r, "{\"ok\":false,\"error\":\"too many control clients\"}\n");
	free(r);
	close(extra);
	for (int i = 0; i < LH_CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
	for (int i = 0; i < 200 && lh_control_nclients(c); i++)
		ev_run(loop, EVRUN_NOWAIT);
	CHECK(lh_control_nclients(c) == 0);
}

/* A client that asks for more than LH_CONTROL_MAX_OUTPUT and never reads is dropped. */
static void test_slow_reader(struct lh_control *c)
{
	int fd = client_connect();
	int sz = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	for (int i = 0; i < 8; i++) {
		/* once the server gave up on us, sends fail with EPIPE: expected */
		ssize_t w = send(fd, "{\"cmd\":\"big\"}\n", 14, MSG_NOSIGNAL);
		(void)w;
		for (int j = 0; j < 5; j++)
			ev_run(loop, EVRUN_NOWAIT);
	}
	CHECK(lh_control_nclients(c) == 0);
	close(fd);
}

static void test_open_errors(void)
{
	char err[256], path[100];
	struct fake f = { 0 };

	/* not a socket: refused */
	snprintf(path, sizeof(path), "%s/file", dir);
	FILE *fp = fopen(path, "w");
	fclose(fp);
	err[0] = 0;
	CHECK(lh_control_open(loop, path, table, 5, &f, err, sizeof(err)) == NULL);
	CHECK_HAS(err, "exists and is not a socket");
	/* somebody serves it: refused */
	err[0] = 0;
	CHECK(lh_control_open(loop, sock_path, table, 5, &f, err, sizeof(err)) == NULL);
	CHECK_HAS(err, "another process is serving this socket");
	/* path too long */
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	CHECK(lh_control_open(loop, longp, table, 5, &f, err, sizeof(err)) == NULL);
	CHECK_HAS(err, "longer than");
	/* a stale socket (nobody listening) is replaced */
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	CHECK(bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(s);
	struct lh_control *c = lh_control_open(loop, path, table, 5, &f, err, sizeof(err));
	CHECK(c != NULL);
	lh_control_close(c, "test done");
	struct stat st;
	CHECK(stat(path, &st) < 0 && errno == ENOENT);
}

int main(void)
{
	char err[256];
	struct fake f = { 0 };

	log_init("test_control", LH_LOG_WARN, 1);
	loop = ev_default_loop(0);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", dir);
	umask(0); /* the server must not rely on the caller's umask */
	struct lh_control *c = lh_control_open(loop, sock_path, table, 5, &f, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	test_basic(c, &f);
	test_many_clients(c);
	test_slow_reader(c);
	test_open_errors();

	/* close drops clients and removes the socket */
	int fd = client_connect();
	for (int i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	CHECK(lh_control_nclients(c) == 1);
	lh_control_close(c, "test finished");
	bool eof;
	char *r = recv_lines(fd, 1, &eof);
	CHECK(eof);
	free(r);
	close(fd);
	struct stat st;
	CHECK(stat(sock_path, &st) < 0);
	rmdir(dir);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return check_report("test_control");
}
