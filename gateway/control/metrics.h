/* SPDX-License-Identifier: MIT */
/* Metrics registry (counters, gauges, labels) and its Prometheus text exposition over HTTP/1.0. */
#ifndef LH_GATEWAY_METRICS_H
#define LH_GATEWAY_METRICS_H

#include <stddef.h>
#include <sys/socket.h>

struct ev_loop;
struct lh_jbuf;
struct lh_metrics;
struct lh_metric;  /* one family: name, help, type, label names */
struct lh_series;  /* one label-value set of a family */

enum lh_metric_type { LH_METRIC_COUNTER = 0, LH_METRIC_GAUGE = 1 };

#define LH_METRIC_MAX_LABELS 4

struct lh_metrics *lh_metrics_new(void);
void lh_metrics_free(struct lh_metrics *m);

/*
 * Declares a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]* (counters should
 * end in _total), label names [a-zA-Z_][a-zA-Z0-9_]*. NULL if invalid or a
 * duplicate name. Families are rendered in declaration order.
 */
struct lh_metric *lh_metrics_family(struct lh_metrics *m, enum lh_metric_type type,
				    const char *name, const char *help,
				    const char *const *label_names, size_t n_labels);
/* Gets or creates the series with these label values (n_labels of them). NULL on ENOMEM. */
struct lh_series *lh_metric_series(struct lh_metric *f, const char *const *label_values);
/* Removes a series (e.g. when a migration is forgotten); the pointer becomes invalid. */
void lh_metric_series_del(struct lh_metric *f, struct lh_series *s);
void lh_series_add(struct lh_series *s, double delta); /* counters: delta >= 0 */
void lh_series_set(struct lh_series *s, double value);
double lh_series_get(const struct lh_series *s);
/* For families without labels: the single series. */
void lh_metric_add(struct lh_metric *f, double delta);
void lh_metric_set(struct lh_metric *f, double value);

/* Called before each render so the owner can refresh gauges. */
void lh_metrics_set_collector(struct lh_metrics *m, void (*fn)(void *ctx), void *ctx);
/* Text exposition format 0.0.4: # HELP, # TYPE, name{l="v"} value, escaped. */
void lh_metrics_render(struct lh_metrics *m, struct lh_jbuf *out);

/*
 * HTTP/1.0 listener on loop: "GET /metrics" -> 200 text/plain; version=0.0.4,
 * other paths 404, other methods 405, malformed 400; one request per
 * connection, 5 s timeout, at most 16 connections.
 */
struct lh_metrics_http;
struct lh_metrics_http *lh_metrics_http_open(struct ev_loop *loop, struct lh_metrics *m,
					     const struct sockaddr *sa, socklen_t salen,
					     char *err, size_t errlen);
void lh_metrics_http_close(struct lh_metrics_http *h, const char *reason);
/* The bound port (useful when sa had port 0). */
int lh_metrics_http_port(const struct lh_metrics_http *h);

#endif
