/* SPDX-License-Identifier: MIT */
/* Metrics registry (counters, gauges, labels) and its Prometheus text exposition over HTTP/1.0. */
#include "gateway/control/metrics.h"

#include <errno.h>
#include <ev.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/base/json.h"
#include "gateway/base/log.h"

/*-*****  Registry  *****-*/

struct lh_series {
	struct lh_series *next;
	double value;
	char *key;        /* label values joined by '\0', for lookups */
	size_t key_len;
	char *rendered;   /* {a="x",b="y"} or "" */
};

struct lh_metric {
	struct lh_metric *next;
	enum lh_metric_type type;
	char *name, *help;
	size_t n_labels;
	char *label_names[LH_METRIC_MAX_LABELS];
	struct lh_series *series;
};

struct lh_metrics {
	struct lh_metric *first, *last;
	void (*collect)(void *ctx);
	void *collect_ctx;
};

struct lh_metrics *lh_metrics_new(void)
{
	return calloc(1, sizeof(struct lh_metrics));
}

static void series_free(struct lh_series *s)
{
	free(s->key);
	free(s->rendered);
	free(s);
}

void lh_metrics_free(struct lh_metrics *m)
{
	if (!m)
		return;
	for (struct lh_metric *f = m->first, *fn; f; f = fn) {
		fn = f->next;
		for (struct lh_series *s = f->series, *sn; s; s = sn) {
			sn = s->next;
			series_free(s);
		}
		for (size_t i = 0; i < f->n_labels; i++)
			free(f->label_names[i]);
		free(f->name);
		free(f->help);
		free(f);
	}
	free(m);
}

static bool valid_ident(const char *s, bool colon)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || (colon && *s == ':')))
			return false;
	return true;
}

struct lh_metric *lh_metrics_family(struct lh_metrics *m, enum lh_metric_type type,
				    const char *name, const char *help,
				    const char *const *label_names, size_t n_labels)
{
	if (!valid_ident(name, true) || n_labels > LH_METRIC_MAX_LABELS)
		return NULL;
	for (size_t i = 0; i < n_labels; i++)
		if (!valid_ident(label_names[i], false) || strncmp(label_names[i], "__", 2) == 0)
			return NULL;
	for (struct lh_metric *f = m->first; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return NULL;
	struct lh_metric *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->type = type;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	f->n_labels = n_labels;
	bool ok = f->name && f->help;
	for (size_t i = 0; i < n_labels; i++)
		ok = (f->label_names[i] = strdup(label_names[i])) && ok;
	if (ok && n_labels == 0 && !lh_metric_series(f, NULL)) /* unlabelled: the one series, 0 */
		ok = false;
	if (!ok) {
		for (size_t i = 0; i < n_labels; i++)
			free(f->label_names[i]);
		if (f->series)
			series_free(f->series);
		free(f->name);
		free(f->help);
		free(f);
		return NULL;
	}
	if (m->last)
		m->last->next = f;
	else
		m->first = f;
	m->last = f;
	return f;
}

/* Label values escape \, " and newline (exposition format 0.0.4). */
static void escape_into(struct lh_jbuf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			lh_jbuf_append(b, "\\\\", 2);
		else if (*s == '\n')
			lh_jbuf_append(b, "\\n", 2);
		else if (*s == '"' && quote)
			lh_jbuf_append(b, "\\\"", 2);
		else
			lh_jbuf_append(b, s, 1);
	}
}

struct lh_series *lh_metric_series(struct lh_metric *f, const char *const *label_values)
{
	size_t key_len = 0;

	for (size_t i = 0; i < f->n_labels; i++)
		key_len += strlen(label_values[i]) + 1;
	for (struct lh_series *s = f->series; s; s = s->next) {
		if (s->key_len != key_len)
			continue;
		size_t off = 0, i;
		for (i = 0; i < f->n_labels; i++) {
			size_t l = strlen(label_values[i]) + 1;
			if (memcmp(s->key + off, label_values[i], l) != 0)
				break;
			off += l;
		}
		if (i == f->n_labels)
			return s;
	}
	struct lh_series *s = calloc(1, sizeof(*s));
	struct lh_jbuf r;
	lh_jbuf_init(&r);
	if (!s || !(s->key = malloc(key_len + 1))) {
		free(s);
		return NULL;
	}
	size_t off = 0;
	for (size_t i = 0; i < f->n_labels; i++) {
		size_t l = strlen(label_values[i]) + 1;
		memcpy(s->key + off, label_values[i], l);
		off += l;
		lh_jbuf_printf(&r, "%s%s=\"", i ? "," : "{", f->label_names[i]);
		escape_into(&r, label_values[i], true);
		lh_jbuf_append(&r, "\"", 1);
	}
	if (f->n_labels)
		lh_jbuf_append(&r, "}", 1);
	s->key_len = key_len;
	s->rendered = r.oom ? NULL : (r.buf ? r.buf : strdup(""));
	if (!s->rendered) {
		lh_jbuf_free(&r);
		series_free(s);
		return NULL;
	}
	struct lh_series **tail = &f->series; /* keep creation order for stable output */
	while (*tail)
		tail = &(*tail)->next;
	*tail = s;
	return s;
}

void lh_metric_series_del(struct lh_metric *f, struct lh_series *s)
{
	for (struct lh_series **pp = &f->series; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			series_free(s);
			return;
		}
}

void lh_series_add(struct lh_series *s, double delta) { s->value += delta; }
void lh_series_set(struct lh_series *s, double value) { s->value = value; }
double lh_series_get(const struct lh_series *s) { return s->value; }

void lh_metric_add(struct lh_metric *f, double delta)
{
	if (f->n_labels == 0 && f->series)
		f->series->value += delta;
}

void lh_metric_set(struct lh_metric *f, double value)
{
	if (f->n_labels == 0 && f->series)
		f->series->value = value;
}

void lh_metrics_set_collector(struct lh_metrics *m, void (*fn)(void *ctx), void *ctx)
{
	m->collect = fn;
	m->collect_ctx = ctx;
}

static void render_value(struct lh_jbuf *b, double v)
{
	if (isnan(v))
		lh_jbuf_append(b, "NaN", 3);
	else if (isinf(v))
		lh_jbuf_printf(b, "%sInf", v > 0 ? "+" : "-");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		lh_jbuf_printf(b, "%.0f", v);
	else
		lh_jbuf_printf(b, "%.17g", v);
}

void lh_metrics_render(struct lh_metrics *m, struct lh_jbuf *out)
{
	if (m->collect)
		m->collect(m->collect_ctx);
	for (const struct lh_metric *f = m->first; f; f = f->next) {
		lh_jbuf_printf(out, "# HELP %s ", f->name);
		escape_into(out, f->help, false);
		lh_jbuf_printf(out, "\n# TYPE %s %s\n", f->name,
			       f->type == LH_METRIC_COUNTER ? "counter" : "gauge");
		for (const struct lh_series *s = f->series; s; s = s->next) {
			lh_jbuf_printf(out, "%s%s ", f->name, s->rendered);
			render_value(out, s->value);
			lh_jbuf_append(out, "\n", 1);
		}
	}
}

/*-*****  HTTP/1.0 exposition  *****-*/

#define HTTP_MAX_REQUEST 4096
#define HTTP_MAX_CONNS 16
#define HTTP_TIMEOUT 5.0

/*
 * Classifies a request head (request line + headers up to the empty line).
 * Returns 0 while the head is incomplete, else the HTTP status to answer:
 * 200 for GET /metrics (a query string is ignored), 404 other paths, 405
 * other methods, 400 malformed, 431 head too large.
 */
static int http_classify(const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (!end)
		end = memmem(buf, len, "\n\n", 2);
	if (!end)
		return len >= HTTP_MAX_REQUEST ? 431 : 0;
	const char *eol = memchr(buf, '\n', len); /* found: the head's end holds one */
	size_t line_len = (size_t)(eol - buf);
	if (line_len && buf[line_len - 1] == '\r')
		line_len--;
	/* METHOD SP TARGET SP HTTP/1.x */
	const char *sp1 = memchr(buf, ' ', line_len);
	if (!sp1 || sp1 == buf)
		return 400;
	const char *target = sp1 + 1;
	const char *sp2 = memchr(target, ' ', line_len - (size_t)(target - buf));
	if (!sp2 || sp2 == target)
		return 400;
	size_t vlen = line_len - (size_t)(sp2 + 1 - buf);
	if (vlen != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1'))
		return 400;
	for (const char *p = buf; p < sp1; p++)
		if (*p < 'A' || *p > 'Z')
			return 400;
	for (const char *p = target; p < sp2; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 400;
	if ((size_t)(sp1 - buf) != 3 || memcmp(buf, "GET", 3) != 0)
		return 405;
	size_t tlen = (size_t)(sp2 - target);
	const char *q = memchr(target, '?', tlen);
	if (q)
		tlen = (size_t)(q - target);
	return tlen == 8 && memcmp(target, "/metrics", 8) == 0 ? 200 : 404;
}

enum http_conn_state {
	HTTP_READING = 0, /* collecting the request head */
	HTTP_WRITING = 1, /* sending the response, then close */
};

struct http_conn {
	struct lh_metrics_http *srv;
	struct http_conn *next, *prev;
	enum http_conn_state state;
	int fd;
	ev_io rw, ww;
	ev_timer timer;
	char req[HTTP_MAX_REQUEST];
	size_t req_len;
	struct lh_jbuf out;
	size_t out_off;
};

struct lh_metrics_http {
	struct ev_loop *loop;
	struct lh_metrics *m;
	int fd, port;
	ev_io accept_w;
	struct http_conn *conns;
	size_t nconns;
};

static void http_conn_close(struct http_conn *c, const char *reason)
{
	struct lh_metrics_http *h = c->srv;

	log_debug("metrics: connection fd %d closed: %s", c->fd, reason);
	ev_io_stop(h->loop, &c->rw);
	ev_io_stop(h->loop, &c->ww);
	ev_timer_stop(h->loop, &c->timer);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->nconns--;
	lh_jbuf_free(&c->out);
	free(c);
}

static void http_conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_conn *c = w->data;

	(void)loop, (void)revents;
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			http_conn_close(c, strerror(errno));
			return;
		}
		c->out_off += (size_t)n;
	}
	http_conn_close(c, "response sent");
}

static void http_respond(struct http_conn *c, int status)
{
	static const struct { int code; const char *text; } reasons[] = {
		{ 200, "OK" }, { 400, "Bad Request" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
	};
	const char *reason = "Error";
	struct lh_jbuf body;

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			reason = reasons[i].text;
	lh_jbuf_init(&body);
	if (status == 200)
		lh_metrics_render(c->srv->m, &body);
	else
		lh_jbuf_printf(&body, "%d %s\n", status, reason);
	if (body.oom) {
		lh_jbuf_free(&body);
		http_respond(c, 500);
		return;
	}
	lh_jbuf_printf(&c->out, "HTTP/1.0 %d %s\r\nContent-Type: text/plain; version=0.0.4; "
		       "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
		       status, reason, body.len, status == 405 ? "Allow: GET\r\n" : "");
	lh_jbuf_append(&c->out, body.buf ? body.buf : "", body.len);
	lh_jbuf_free(&body);
	c->state = HTTP_WRITING;
	ev_io_stop(c->srv->loop, &c->rw);
	ev_io_start(c->srv->loop, &c->ww);
}

static void http_conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_conn *c = w->data;

	(void)loop, (void)revents;
	ssize_t n = recv(c->fd, c->req + c->req_len, sizeof(c->req) - c->req_len, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		http_conn_close(c, n == 0 ? "peer closed before a full request" : strerror(errno));
		return;
	}
	c->req_len += (size_t)n;
	int status = http_classify(c->req, c->req_len);
	if (status)
		http_respond(c, status);
}

static void http_conn_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	http_conn_close(w->data, "timeout");
}

static void http_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lh_metrics_http *h = w->data;

	(void)revents;
	int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("metrics: accept");
		return;
	}
	struct http_conn *c = h->nconns < HTTP_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		close(fd); /* scrapers retry; a flood must not grow memory */
		return;
	}
	c->srv = h;
	c->fd = fd;
	lh_jbuf_init(&c->out);
	ev_io_init(&c->rw, http_conn_read_cb, fd, EV_READ);
	ev_io_init(&c->ww, http_conn_write_cb, fd, EV_WRITE);
	ev_timer_init(&c->timer, http_conn_timeout_cb, HTTP_TIMEOUT, 0.);
	c->rw.data = c->ww.data = c->timer.data = c;
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
	ev_io_start(loop, &c->rw);
	ev_timer_start(loop, &c->timer);
}

struct lh_metrics_http *lh_metrics_http_open(struct ev_loop *loop, struct lh_metrics *m,
					     const struct sockaddr *sa, socklen_t salen,
					     char *err, size_t errlen)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, salen) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "metrics listener: bind/listen: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	struct lh_metrics_http *h = calloc(1, sizeof(*h));
	if (!h || getsockname(fd, (struct sockaddr *)&bound, &blen) < 0) {
		snprintf(err, errlen, "metrics listener: %s", h ? strerror(errno) : "out of memory");
		free(h);
		close(fd);
		return NULL;
	}
	/* any stream family works (the unit test serves on a unix socket); port is for TCP */
	if (bound.ss_family == AF_INET6)
		h->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
	else if (bound.ss_family == AF_INET)
		h->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	h->loop = loop;
	h->m = m;
	h->fd = fd;
	ev_io_init(&h->accept_w, http_accept_cb, fd, EV_READ);
	h->accept_w.data = h;
	ev_io_start(loop, &h->accept_w);
	log_info("metrics: serving GET /metrics (port %d)", h->port);
	return h;
}

void lh_metrics_http_close(struct lh_metrics_http *h, const char *reason)
{
	if (!h)
		return;
	log_info("metrics: closing listener (port %d): %s", h->port, reason);
	while (h->conns)
		http_conn_close(h->conns, reason);
	ev_io_stop(h->loop, &h->accept_w);
	close(h->fd);
	free(h);
}

int lh_metrics_http_port(const struct lh_metrics_http *h)
{
	return h->port;
}
