/* SPDX-License-Identifier: MIT */
/* Control socket: unix stream socket (mode 0600) on the libev loop speaking JSON lines (CONTROL.md). */
#include "gateway/control/control.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gateway/base/log.h"

static void reply_error(struct lh_jbuf *out, const char *msg)
{
	lh_json_obj_begin(out, NULL);
	lh_json_bool(out, "ok", false);
	lh_json_str(out, "error", msg);
	lh_json_obj_end(out);
}

static int builtin_help(const struct lh_control_cmd *table, size_t n, struct lh_jbuf *reply)
{
	lh_json_arr_begin(reply, "commands");
	lh_json_obj_begin(reply, NULL);
	lh_json_str(reply, "name", "help");
	lh_json_str(reply, "help", "list the commands");
	lh_json_obj_end(reply);
	for (size_t i = 0; i < n; i++) {
		lh_json_obj_begin(reply, NULL);
		lh_json_str(reply, "name", table[i].name);
		lh_json_str(reply, "help", table[i].help ? table[i].help : "");
		lh_json_obj_end(reply);
	}
	lh_json_arr_end(reply);
	return 0;
}

static void ctl_dispatch(const struct lh_control_cmd *table, size_t n, void *ctx,
			 const char *line, size_t len, long peer_pid, long peer_uid, struct lh_jbuf *out);

void lh_control_dispatch(const struct lh_control_cmd *table, size_t n, void *ctx,
			 const char *line, size_t len, struct lh_jbuf *out)
{
	ctl_dispatch(table, n, ctx, line, len, -1, -1, out);
}

static void ctl_dispatch(const struct lh_control_cmd *table, size_t n, void *ctx,
			 const char *line, size_t len, long peer_pid, long peer_uid, struct lh_jbuf *out)
{
	struct lh_json_req req;
	char err[200], msg[300];
	const struct lh_control_cmd *cmd = NULL;

	/* every reply is a new top-level value */
	out->depth = 0;
	out->first[0] = true;
	out->error[0] = 0;
	if (lh_json_req_parse(&req, line, len, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "bad request: %s", err);
		reply_error(out, msg);
		goto done;
	}
	req.peer_pid = peer_pid;
	req.peer_uid = peer_uid;
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, req.cmd) == 0)
			cmd = &table[i];
	if (!cmd && strcmp(req.cmd, "help") != 0) {
		snprintf(msg, sizeof(msg), "unknown command \"%s\" (try \"help\")", req.cmd);
		reply_error(out, msg);
		goto done;
	}
	size_t mark = out->len;
	lh_json_obj_begin(out, NULL);
	lh_json_bool(out, "ok", true);
	int rc = cmd ? cmd->fn(ctx, &req, out) : builtin_help(table, n, out);
	const char *fail = NULL;
	if (rc < 0)
		fail = out->error[0] ? out->error : strerror(-rc);
	else if (out->depth != 1)
		fail = "internal error: reply left unbalanced";
	else if (out->oom)
		fail = "out of memory";
	if (fail) {
		snprintf(msg, sizeof(msg), "%s", fail);
		out->len = mark;
		out->oom = false;
		out->depth = 0;
		out->first[0] = true;
		if (out->buf)
			out->buf[mark] = 0;
		reply_error(out, msg);
	} else {
		lh_json_obj_end(out);
	}
done:
	lh_jbuf_append(out, "\n", 1);
	lh_json_req_free(&req);
}

/*-*****  Server  *****-*/

enum ctl_client_state {
	CTL_READING = 0,  /* requests are read and answered */
	CTL_DRAINING = 1, /* peer finished sending: flush replies, then close */
};

struct ctl_client {
	struct lh_control *srv;
	struct ctl_client *next, *prev;
	enum ctl_client_state state;
	int fd;
	long peer_pid, peer_uid; /* SO_PEERCRED at accept; -1 if unavailable */
	ev_io rw, ww;
	bool discarding; /* inside an oversized line: drop bytes up to its newline */
	char *in;        /* LH_REQ_MAX_LINE + 1 bytes */
	size_t in_len;
	struct lh_jbuf out;
	size_t out_off;  /* bytes of out already written */
};

struct lh_control {
	struct ev_loop *loop;
	int fd;
	ev_io accept_w;
	ev_timer accept_rest;  /* accept ran out of descriptors: the listener rests, then resumes */
	ev_tstamp rest_logged;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const struct lh_control_cmd *table;
	size_t n;
	void *ctx;
	struct ctl_client *clients;
	size_t nclients;
};

static void ctl_client_close(struct ctl_client *cl, const char *reason)
{
	struct lh_control *c = cl->srv;

	log_debug("control: client fd %d closed: %s", cl->fd, reason);
	ev_io_stop(c->loop, &cl->rw);
	ev_io_stop(c->loop, &cl->ww);
	close(cl->fd);
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	c->nclients--;
	lh_jbuf_free(&cl->out);
	free(cl->in);
	free(cl);
}

/* Writes what it can; returns false if the client was closed. */
static bool ctl_client_flush(struct ctl_client *cl)
{
	struct lh_control *c = cl->srv;

	while (cl->out_off < cl->out.len) {
		ssize_t w = send(cl->fd, cl->out.buf + cl->out_off, cl->out.len - cl->out_off,
				 MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w < 0) {
			ctl_client_close(cl, strerror(errno));
			return false;
		}
		cl->out_off += (size_t)w;
	}
	if (cl->out_off == cl->out.len) {
		lh_jbuf_reset(&cl->out);
		cl->out_off = 0;
		ev_io_stop(c->loop, &cl->ww);
		if (cl->state == CTL_DRAINING) {
			ctl_client_close(cl, "peer finished");
			return false;
		}
		return true;
	}
	if (cl->out.len - cl->out_off > LH_CONTROL_MAX_OUTPUT) {
		ctl_client_close(cl, "client does not read its replies");
		return false;
	}
	ev_io_start(c->loop, &cl->ww);
	return true;
}

static void ctl_client_request(struct ctl_client *cl, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len) /* blank lines are not requests */
		return;
	ctl_dispatch(cl->srv->table, cl->srv->n, cl->srv->ctx, line, len, cl->peer_pid, cl->peer_uid,
		     &cl->out);
}

/* Handles every complete line in the input buffer; keeps the partial tail. */
static void ctl_client_lines(struct ctl_client *cl)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(cl->in + start, '\n', cl->in_len - start))) {
		size_t end = (size_t)(nl - cl->in);
		if (cl->discarding)
			cl->discarding = false; /* the oversized line ends here */
		else
			ctl_client_request(cl, cl->in + start, end - start);
		start = end + 1;
	}
	memmove(cl->in, cl->in + start, cl->in_len - start);
	cl->in_len -= start;
	if (cl->in_len == LH_REQ_MAX_LINE + 1 || (cl->discarding && cl->in_len)) {
		/* no newline within the limit: answer once, then skip to the next newline */
		if (!cl->discarding) {
			char msg[96];

			snprintf(msg, sizeof(msg), "request line longer than %d bytes",
				 LH_REQ_MAX_LINE);
			cl->out.depth = 0;
			cl->out.first[0] = true;
			reply_error(&cl->out, msg);
			lh_jbuf_append(&cl->out, "\n", 1);
		}
		cl->discarding = true;
		cl->in_len = 0;
	}
}

static void ctl_client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *cl = w->data;

	(void)loop, (void)revents;
	ssize_t r = recv(cl->fd, cl->in + cl->in_len, LH_REQ_MAX_LINE + 1 - cl->in_len, 0);
	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r < 0) {
		ctl_client_close(cl, strerror(errno));
		return;
	}
	if (r == 0) {
		/* a last line without newline still counts (printf '...' | socat) */
		if (cl->in_len && !cl->discarding)
			ctl_client_request(cl, cl->in, cl->in_len);
		cl->in_len = 0;
		cl->state = CTL_DRAINING;
		ev_io_stop(cl->srv->loop, &cl->rw);
		ctl_client_flush(cl);
		return;
	}
	cl->in_len += (size_t)r;
	ctl_client_lines(cl);
	ctl_client_flush(cl);
}

static void ctl_client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	ctl_client_flush(w->data);
}

static void ctl_rest_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lh_control *c = w->data;
	(void)revents;
	ev_io_start(loop, &c->accept_w);
}

/*
 * Out of descriptors (or kernel memory): the client stays in the backlog and the (level-triggered) listener
 * would be readable at once again, a busy loop logging each turn. It rests 100 ms, logged at most once a second.
 */
static void ctl_accept_rest(struct lh_control *c, struct ev_loop *loop, int err)
{
	ev_io_stop(loop, &c->accept_w);
	ev_timer_set(&c->accept_rest, 0.1, 0);
	ev_timer_start(loop, &c->accept_rest);
	if (ev_now(loop) - c->rest_logged >= 1.0) {
		c->rest_logged = ev_now(loop);
		log_warnx("control: accept: %s (the listener rests 100 ms)", strerror(err));
	}
}

static void ctl_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lh_control *c = w->data;

	(void)revents;
	int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			ctl_accept_rest(c, loop, errno);
		else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("control: accept");
		return;
	}
	if (c->nclients >= LH_CONTROL_MAX_CLIENTS) {
		static const char busy[] = "{\"ok\":false,\"error\":\"too many control clients\"}\n";
		ssize_t wr = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)wr;
		close(fd);
		log_warnx("control: refused a client: %d already connected", LH_CONTROL_MAX_CLIENTS);
		return;
	}
	struct ctl_client *cl = calloc(1, sizeof(*cl));
	if (cl)
		cl->in = malloc(LH_REQ_MAX_LINE + 1);
	if (!cl || !cl->in) {
		log_warnx("control: out of memory for a client");
		if (cl)
			free(cl);
		close(fd);
		return;
	}
	cl->srv = c;
	cl->fd = fd;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	cl->peer_pid = cl->peer_uid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		cl->peer_pid = cred.pid;
		cl->peer_uid = cred.uid;
	}
	cl->state = CTL_READING;
	lh_jbuf_init(&cl->out);
	ev_io_init(&cl->rw, ctl_client_read_cb, fd, EV_READ);
	ev_io_init(&cl->ww, ctl_client_write_cb, fd, EV_WRITE);
	cl->rw.data = cl->ww.data = cl;
	cl->next = c->clients;
	if (c->clients)
		c->clients->prev = cl;
	c->clients = cl;
	c->nclients++;
	ev_io_start(loop, &cl->rw);
	log_debug("control: client fd %d connected (pid %ld, uid %ld)", fd, cl->peer_pid, cl->peer_uid);
}

/* Refuses to steal the socket of a running daemon; removes a stale one. */
static int ctl_prepare_path(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(probe);
		snprintf(err, errlen, "%s: another process is serving this socket", path);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	if (unlink(path) < 0) {
		snprintf(err, errlen, "unlink stale %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

struct lh_control *lh_control_open(struct ev_loop *loop, const char *path,
				   const struct lh_control_cmd *table, size_t n, void *ctx,
				   char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct lh_control *c = NULL;
	int fd = -1, rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path longer than %zu bytes",
			 sizeof(sun.sun_path) - 1);
		return NULL;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((rc = ctl_prepare_path(path, err, errlen)) < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	/* the file must never exist with a looser mode, not even between bind and chmod */
	mode_t old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "chmod/listen %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		snprintf(err, errlen, "out of memory");
		unlink(path);
		goto fail;
	}
	c->loop = loop;
	c->fd = fd;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->table = table;
	c->n = n;
	c->ctx = ctx;
	ev_io_init(&c->accept_w, ctl_accept_cb, fd, EV_READ);
	c->accept_w.data = c;
	ev_io_start(loop, &c->accept_w);
	ev_timer_init(&c->accept_rest, ctl_rest_cb, 0.1, 0);
	c->accept_rest.data = c;
	log_info("control: listening on %s", path);
	return c;
fail:
	close(fd);
	return NULL;
}

void lh_control_close(struct lh_control *c, const char *reason)
{
	if (!c)
		return;
	log_info("control: closing %s: %s", c->path, reason);
	while (c->clients)
		ctl_client_close(c->clients, reason);
	ev_io_stop(c->loop, &c->accept_w);
	ev_timer_stop(c->loop, &c->accept_rest);
	close(c->fd);
	unlink(c->path);
	free(c);
}

size_t lh_control_nclients(const struct lh_control *c)
{
	return c->nclients;
}
