/* SPDX-License-Identifier: MIT */
/* The state file: request-shaped records by (kind, key), replaced durably on every change (STATEFILE.md). */
#include "gateway/mig/keep.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/base/file.h"
#include "gateway/base/log.h"

struct keep_rec {
	enum keep_kind kind;
	char key[64];
	char *line;
	size_t len;
};

struct keep {
	char *dir;   /* NULL: memory only */
	struct keep_rec *v;
	size_t n, cap;
};

static const char *const kind_cmd[] = { [KEEP_ROUTE] = "migrate-add", [KEEP_POSTCOPY] = "postcopy" };

struct keep *keep_new_memory(void)
{
	return calloc(1, sizeof(struct keep));
}

static struct keep_rec *find(const struct keep *k, enum keep_kind kind, const char *key)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->v[i].kind == kind && !strcmp(k->v[i].key, key))
			return &k->v[i];
	return NULL;
}

/*
 * What a record is, from its line: the kind from "cmd", the key from the args ("name" of a route, "uid" of a
 * postcopy migration). Only the shape is checked here; what the args mean is checked where they are used.
 */
static int classify(const char *line, size_t len, enum keep_kind *kind, char *key, size_t keylen, char *err,
		    size_t errlen)
{
	struct lh_json_req req;
	const char *v = NULL;
	char jerr[200];
	int rc = -EINVAL;

	if (lh_json_req_parse(&req, line, len, jerr, sizeof(jerr)) < 0) {
		snprintf(err, errlen, "%s", jerr);
		return -EINVAL;
	}
	if (!strcmp(req.cmd, kind_cmd[KEEP_ROUTE]))
		*kind = KEEP_ROUTE;
	else if (!strcmp(req.cmd, kind_cmd[KEEP_POSTCOPY]))
		*kind = KEEP_POSTCOPY;
	else {
		snprintf(err, errlen, "unknown record \"%s\" (migrate-add or postcopy)", req.cmd);
		goto out;
	}
	const char *keyname = *kind == KEEP_ROUTE ? "name" : "uid";
	if (lh_req_str(&req, keyname, &v) < 0 || !v[0] || strlen(v) >= keylen) {
		snprintf(err, errlen, "%s: args.%s missing, empty or longer than %zu bytes", req.cmd, keyname, keylen - 1);
		goto out;
	}
	snprintf(key, keylen, "%s", v);
	struct keep_postcopy pc;
	if (*kind == KEEP_POSTCOPY && keep_postcopy_parse(&req, &pc, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	lh_json_req_free(&req);
	return rc;
}

static int put_mem(struct keep *k, enum keep_kind kind, const char *key, const char *line, size_t len)
{
	struct keep_rec *r = find(k, kind, key);
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, line, len);
	copy[len] = 0;
	if (r) {
		free(r->line);
		r->line = copy;
		r->len = len;
		return 0;
	}
	if (k->n == KEEP_MAX) {
		free(copy);
		return -ENOSPC;
	}
	if (k->n == k->cap) {
		size_t nc = k->cap ? k->cap * 2 : 16;
		struct keep_rec *nv = realloc(k->v, nc * sizeof(*nv));
		if (!nv) {
			free(copy);
			return -ENOMEM;
		}
		k->v = nv;
		k->cap = nc;
	}
	r = &k->v[k->n++];
	r->kind = kind;
	snprintf(r->key, sizeof(r->key), "%s", key);
	r->line = copy;
	r->len = len;
	return 0;
}

int keep_parse(struct keep *k, const char *text, size_t len, char *err, size_t errlen)
{
	char why[300], key[64];
	unsigned lineno = 0;
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - (text + off)) : len - off;
		enum keep_kind kind;
		lineno++;
		if (l > KEEP_LINE_MAX) {
			snprintf(err, errlen, "line %u: longer than %d bytes", lineno, KEEP_LINE_MAX);
			return -EINVAL;
		}
		if (l && classify(text + off, l, &kind, key, sizeof(key), why, sizeof(why)) < 0) {
			snprintf(err, errlen, "line %u: %s", lineno, why);
			return -EINVAL;
		}
		if (l) {
			int rc = put_mem(k, kind, key, text + off, l);
			if (rc < 0) {
				snprintf(err, errlen, "line %u: %s", lineno,
					 rc == -ENOSPC ? "more records than this writes" : "out of memory");
				return rc;
			}
		}
		off += l + (nl != NULL);
	}
	return 0;
}

static int save(struct keep *k, char *err, size_t errlen)
{
	size_t total = 0;
	if (!k->dir)
		return 0;
	for (size_t i = 0; i < k->n; i++)
		total += k->v[i].len + 1;
	char *buf = malloc(total + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t off = 0;
	for (size_t i = 0; i < k->n; i++) {
		memcpy(buf + off, k->v[i].line, k->v[i].len);
		off += k->v[i].len;
		buf[off++] = '\n';
	}
	int rc = lh_file_replace(k->dir, KEEP_FILE, buf, off, err, errlen);
	free(buf);
	return rc;
}

int keep_put(struct keep *k, enum keep_kind kind, const char *key, const char *line, size_t len, char *err,
	     size_t errlen)
{
	int rc;
	if (len > KEEP_LINE_MAX || memchr(line, '\n', len)) {
		snprintf(err, errlen, "record longer than %d bytes or not one line", KEEP_LINE_MAX);
		return -EINVAL;
	}
	if ((rc = put_mem(k, kind, key, line, len)) < 0) {
		snprintf(err, errlen, "%s", rc == -ENOSPC ? "the state file is full" : "out of memory");
		return rc;
	}
	return save(k, err, errlen);
}

int keep_del(struct keep *k, enum keep_kind kind, const char *key, char *err, size_t errlen)
{
	struct keep_rec *r = find(k, kind, key);
	if (!r)
		return 0;
	free(r->line);
	memmove(r, r + 1, (size_t)(k->v + k->n - (r + 1)) * sizeof(*r));
	k->n--;
	return save(k, err, errlen);
}

int keep_has(const struct keep *k, enum keep_kind kind, const char *key)
{
	return find(k, kind, key) != NULL;
}

void keep_each(const struct keep *k, enum keep_kind kind, void (*fn)(void *ctx, const struct lh_json_req *req),
	       void *ctx)
{
	char jerr[200];
	for (size_t i = 0; i < k->n; i++) {
		struct lh_json_req req;
		if (k->v[i].kind != kind || lh_json_req_parse(&req, k->v[i].line, k->v[i].len, jerr, sizeof(jerr)) < 0)
			continue; /* every stored line parsed when it was put or read */
		fn(ctx, &req);
		lh_json_req_free(&req);
	}
}

size_t keep_count(const struct keep *k, enum keep_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < k->n; i++)
		n += k->v[i].kind == kind;
	return n;
}

struct keep *keep_open(const char *dir, char *err, size_t errlen)
{
	char why[300];
	struct keep *k = keep_new_memory();
	char *text = NULL;
	size_t len;

	if (!k || !(k->dir = strdup(dir))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (lh_file_read(dir, KEEP_FILE, (size_t)KEEP_MAX * (KEEP_LINE_MAX + 1), &text, &len, err, errlen) < 0)
		goto fail;
	if (text && keep_parse(k, text, len, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s/%s: %s", dir, KEEP_FILE, why);
		goto fail;
	}
	free(text);
	return k;
fail:
	free(text);
	keep_close(k, "open failed");
	return NULL;
}

void keep_close(struct keep *k, const char *reason)
{
	if (!k)
		return;
	if (k->dir)
		log_debug("state file %s/%s closed: %s", k->dir, KEEP_FILE, reason);
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i].line);
	free(k->v);
	free(k->dir);
	free(k);
}

void keep_postcopy_line(const struct keep_postcopy *p, struct lh_jbuf *out, char key[17])
{
	snprintf(key, 17, "%016" PRIx64, p->uid);
	lh_json_obj_begin(out, NULL);
	lh_json_str(out, "cmd", kind_cmd[KEEP_POSTCOPY]);
	lh_json_obj_begin(out, "args");
	lh_json_str(out, "uid", key);
	lh_json_str(out, "direction", p->outgoing ? "out" : "in");
	lh_json_str(out, "route", p->route);
	lh_json_str(out, "destination", p->dest);
	lh_json_str(out, "phase", p->phase);
	lh_json_str(out, "why", p->why);
	lh_json_int(out, "t", p->t);
	lh_json_obj_end(out);
	lh_json_obj_end(out);
}

static int copy_arg(const struct lh_json_req *req, const char *key, int required, char *dst, size_t dstlen,
		    char *err, size_t errlen)
{
	const char *v = "";
	int rc = lh_req_str(req, key, &v);
	if (rc == -EINVAL || (rc == -ENOENT && required) || strlen(v) >= dstlen) {
		snprintf(err, errlen, "postcopy: args.%s %s", key,
			 rc == -ENOENT ? "missing" : rc == -EINVAL ? "is not a string" : "too long");
		return -EINVAL;
	}
	snprintf(dst, dstlen, "%s", v);
	return 0;
}

int keep_postcopy_parse(const struct lh_json_req *req, struct keep_postcopy *p, char *err, size_t errlen)
{
	char uid[17], dir[4];
	int64_t t = 0;

	memset(p, 0, sizeof(*p));
	if (copy_arg(req, "uid", 1, uid, sizeof(uid), err, errlen) < 0 ||
	    copy_arg(req, "direction", 1, dir, sizeof(dir), err, errlen) < 0 ||
	    copy_arg(req, "route", 1, p->route, sizeof(p->route), err, errlen) < 0 ||
	    copy_arg(req, "destination", 1, p->dest, sizeof(p->dest), err, errlen) < 0 ||
	    copy_arg(req, "phase", 1, p->phase, sizeof(p->phase), err, errlen) < 0 ||
	    copy_arg(req, "why", 0, p->why, sizeof(p->why), err, errlen) < 0)
		return -EINVAL;
	char *end;
	errno = 0;
	p->uid = strtoull(uid, &end, 16);
	if (strlen(uid) != 16 || *end || errno || !p->uid || strspn(uid, "0123456789abcdef") != 16) {
		snprintf(err, errlen, "postcopy: args.uid \"%s\" is not 16 lower-case hex digits, not all zero", uid);
		return -EINVAL;
	}
	if (strcmp(dir, "out") && strcmp(dir, "in")) {
		snprintf(err, errlen, "postcopy: args.direction \"%s\" is neither out nor in", dir);
		return -EINVAL;
	}
	p->outgoing = !strcmp(dir, "out");
	if (lh_req_int(req, "t", 0, INT64_MAX, &t) == -EINVAL) {
		snprintf(err, errlen, "postcopy: args.t is not an integer >= 0");
		return -EINVAL;
	}
	p->t = t;
	return 0;
}
