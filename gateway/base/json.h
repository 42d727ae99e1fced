/* SPDX-License-Identifier: MIT */
/* JSON for the control socket: a growable writer, a bounded strict parser, request objects. */
#ifndef LH_GATEWAY_JSON_H
#define LH_GATEWAY_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*-*****  Writer  *****-*/

#define LH_JSON_MAX_DEPTH 32

/*
 * Output buffer. Comma placement is automatic: every value call takes a key
 * (inside an object) or NULL (inside an array / at top level). Allocation
 * failure sets oom and turns later calls into no-ops; check it at the end.
 * error[] is where a control handler puts its message (see lh_jbuf_fail).
 */
struct lh_jbuf {
	char *buf;  /* NUL-terminated when len > 0 */
	size_t len, cap;
	bool oom;
	int depth;
	bool first[LH_JSON_MAX_DEPTH + 1]; /* no member written yet at this depth */
	char error[256];
};

void lh_jbuf_init(struct lh_jbuf *b);
void lh_jbuf_reset(struct lh_jbuf *b); /* empty again, keeps the allocation */
void lh_jbuf_free(struct lh_jbuf *b);
/* Raw bytes, no JSON structure (used for the newline and for Prometheus text). */
void lh_jbuf_append(struct lh_jbuf *b, const void *data, size_t len);
void lh_jbuf_printf(struct lh_jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets b->error and returns code (a negative errno): `return lh_jbuf_fail(reply, -ENOENT, "...")`. */
int lh_jbuf_fail(struct lh_jbuf *b, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void lh_json_obj_begin(struct lh_jbuf *b, const char *key);
void lh_json_obj_end(struct lh_jbuf *b);
void lh_json_arr_begin(struct lh_jbuf *b, const char *key);
void lh_json_arr_end(struct lh_jbuf *b);
/* Strings are escaped (", \, control chars as \u00XX); invalid UTF-8 bytes become U+FFFD. */
void lh_json_str(struct lh_jbuf *b, const char *key, const char *val);
void lh_json_strn(struct lh_jbuf *b, const char *key, const char *val, size_t len);
void lh_json_int(struct lh_jbuf *b, const char *key, int64_t val);
void lh_json_uint(struct lh_jbuf *b, const char *key, uint64_t val);
void lh_json_double(struct lh_jbuf *b, const char *key, double val); /* NaN/Inf -> null */
void lh_json_bool(struct lh_jbuf *b, const char *key, bool val);
void lh_json_null(struct lh_jbuf *b, const char *key);

/*-*****  Parser (DOM)  *****-*/

enum lh_jtype { LH_JNULL = 0, LH_JBOOL, LH_JNUM, LH_JSTR, LH_JARR, LH_JOBJ };

/* One value; children of arrays/objects are a linked list in document order. */
struct lh_jv {
	enum lh_jtype type;
	const char *key;     /* member name inside an object, else NULL */
	const char *str;     /* LH_JSTR: decoded, NUL-terminated (may contain no NUL: \u0000 is refused) */
	size_t len;          /* LH_JSTR: bytes; LH_JARR/LH_JOBJ: number of children */
	double num;          /* LH_JNUM */
	bool is_int;         /* LH_JNUM: integral and fits int64 */
	int64_t i;           /* LH_JNUM when is_int */
	bool b;              /* LH_JBOOL */
	struct lh_jv *child; /* first child */
	struct lh_jv *next;  /* next sibling */
};

struct lh_jdoc {
	struct lh_jv *root;
	void *blocks;  /* node blocks, internal */
	char *strs;    /* decoded strings, internal */
};

/*
 * Parses exactly one JSON value (RFC 8259, UTF-8 validated, nesting <= max_depth,
 * no duplicate keys, trailing whitespace only). Returns 0, or -EINVAL with
 * "offset N: what" in err, -E2BIG when len > 16 MiB, -ENOMEM.
 */
int lh_json_parse(struct lh_jdoc *doc, const char *text, size_t len, int max_depth,
		  char *err, size_t errlen);
void lh_jdoc_free(struct lh_jdoc *doc);
const struct lh_jv *lh_jv_get(const struct lh_jv *obj, const char *key); /* NULL if absent */
const char *lh_jv_str(const struct lh_jv *obj, const char *key, const char *dflt);
double lh_jv_num(const struct lh_jv *obj, const char *key, double dflt);

/*-*****  Control requests  *****-*/

/*
 * One request line: {"cmd":"NAME","args":{"k":v,...}}. "args" is optional;
 * other top-level keys are refused. Argument values are strings, numbers,
 * booleans or arrays of strings; nothing nested deeper.
 */
#define LH_REQ_MAX_LINE 65536
#define LH_REQ_MAX_CMD 63
#define LH_REQ_MAX_ARGS 32
#define LH_REQ_MAX_ARRAY 64

struct lh_json_req {
	const char *cmd;
	const struct lh_jv *args; /* LH_JOBJ, or NULL when absent */
	struct lh_jdoc doc;
	/* who sent it (SO_PEERCRED of the control connection, for the audit log); -1 = unknown */
	long peer_pid, peer_uid;
};

/* 0, or -EINVAL/-E2BIG with a message naming what is wrong (and where). */
int lh_json_req_parse(struct lh_json_req *req, const char *line, size_t len, char *err,
		      size_t errlen);
void lh_json_req_free(struct lh_json_req *req);
/* Typed argument access; missing -> -ENOENT, wrong type/range -> -EINVAL. */
int lh_req_str(const struct lh_json_req *req, const char *key, const char **out);
int lh_req_int(const struct lh_json_req *req, const char *key, int64_t min, int64_t max,
	       int64_t *out);
int lh_req_bool(const struct lh_json_req *req, const char *key, bool *out);
/* Array of strings: fills up to max pointers, returns the count, or -EINVAL/-ENOENT. */
int lh_req_strs(const struct lh_json_req *req, const char *key, const char **out, size_t max);

#endif
