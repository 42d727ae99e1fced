/* SPDX-License-Identifier: MIT */
/* Control socket: unix stream socket (mode 0600) on the libev loop speaking JSON lines (CONTROL.md). */
#ifndef LH_GATEWAY_CONTROL_H
#define LH_GATEWAY_CONTROL_H

#include <stddef.h>

#include "gateway/base/json.h"

struct ev_loop;
struct lh_control;

/*
 * A command handler. The dispatcher has already opened the reply object and
 * written "ok":true; the handler adds members (lh_json_str(reply, "uri", ...)).
 * Return 0, or a negative errno after lh_jbuf_fail(reply, code, "why"): the
 * members written so far are then dropped and the reply is
 * {"ok":false,"error":"why"} (strerror(-code) if no message was set).
 */
typedef int (*lh_control_fn)(void *ctx, const struct lh_json_req *req, struct lh_jbuf *reply);

struct lh_control_cmd {
	const char *name; /* "status", "migrate-add", ... */
	lh_control_fn fn;
	const char *help; /* one line, returned by the built-in "help" command */
};

#define LH_CONTROL_MAX_CLIENTS 64
#define LH_CONTROL_MAX_OUTPUT (4u << 20) /* unread replies per client before it is dropped */

/*
 * Binds path (an existing socket file is replaced; a non-socket is refused),
 * sets mode 0600 before listening, and serves requests on loop. The table and
 * ctx must outlive the server. NULL on failure with the reason in err.
 * Built-in command "help" lists the table.
 */
struct lh_control *lh_control_open(struct ev_loop *loop, const char *path,
				   const struct lh_control_cmd *table, size_t n, void *ctx,
				   char *err, size_t errlen);
/* Stops watchers, disconnects clients, unlinks the socket, frees; logs reason. NULL ok. */
void lh_control_close(struct lh_control *c, const char *reason);
size_t lh_control_nclients(const struct lh_control *c);

/*
 * Processes one request line (no newline) and appends exactly one reply line
 * ("...}\n") to out. Exposed for tests and the fuzzer; the server uses it.
 */
void lh_control_dispatch(const struct lh_control_cmd *table, size_t n, void *ctx,
			 const char *line, size_t len, struct lh_jbuf *out);

#endif
