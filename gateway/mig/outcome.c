/* SPDX-License-Identifier: MIT */
/* The outcome store: each destination QEMU's answer by migration uid, durable before it is relayed. */
#include "gateway/mig/outcome.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/base/file.h"
#include "gateway/base/json.h"
#include "gateway/base/log.h"

#define ROUTE_MAX 64
#define REASON_MAX 200
#define LINE_MAX_BYTES 1024

struct outcome_rec {
	uint64_t uid;
	enum mig_outcome outcome;
	int64_t t;
	char route[ROUTE_MAX];
	char reason[REASON_MAX];
};

struct outcome_store {
	char *dir;                /* NULL: memory only */
	struct outcome_rec *v;    /* oldest first */
	size_t n, cap;
};

static const char *const names[] = { [OUTCOME_UNKNOWN] = "unknown", [OUTCOME_ACCEPTED] = "accepted",
				     [OUTCOME_REFUSED] = "refused" };

const char *outcome_name(enum mig_outcome o)
{
	return (unsigned)o <= OUTCOME_REFUSED ? names[o] : "unknown";
}

struct outcome_store *outcome_new_memory(void)
{
	return calloc(1, sizeof(struct outcome_store));
}

size_t outcome_count(const struct outcome_store *s) { return s->n; }


static struct outcome_rec *find(const struct outcome_store *s, uint64_t uid)
{
	for (size_t i = s->n; i-- > 0;)
		if (s->v[i].uid == uid)
			return &s->v[i];
	return NULL;
}

const char *outcome_reason(const struct outcome_store *s, uint64_t uid)
{
	const struct outcome_rec *r = s ? find(s, uid) : NULL;
	return r ? r->reason : "";
}

enum mig_outcome outcome_lookup(const struct outcome_store *s, uint64_t uid)
{
	const struct outcome_rec *r = s ? find(s, uid) : NULL;
	return r ? r->outcome : OUTCOME_UNKNOWN;
}

/* Drops what is past the limits: older than OUTCOME_KEEP_S, then the oldest beyond OUTCOME_KEEP_MAX. */
static void trim(struct outcome_store *s, time_t now)
{
	size_t drop = 0;
	while (drop < s->n && s->v[drop].t < (int64_t)now - OUTCOME_KEEP_S)
		drop++;
	if (s->n - drop > OUTCOME_KEEP_MAX)
		drop = s->n - OUTCOME_KEEP_MAX;
	if (drop) {
		memmove(s->v, s->v + drop, (s->n - drop) * sizeof(*s->v));
		s->n -= drop;
	}
}

/* Appends (or replaces, moving it to the newest place) uid's record. 0 or -ENOMEM. */
static int put(struct outcome_store *s, const struct outcome_rec *r)
{
	struct outcome_rec *old = find(s, r->uid);
	if (old) {
		memmove(old, old + 1, (size_t)(s->v + s->n - (old + 1)) * sizeof(*s->v));
		s->n--;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct outcome_rec *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *r;
	return 0;
}

static int parse_uid(const char *str, uint64_t *uid)
{
	char *end;
	if (strlen(str) != 16 || strspn(str, "0123456789abcdef") != 16)
		return -1;
	*uid = strtoull(str, &end, 16);
	return *uid ? 0 : -1;
}

/* One line: {"uid":"<16 hex>","outcome":"accepted"|"refused","t":<unix s>,"route":"...","reason":"..."} */
static int parse_line(struct outcome_rec *r, const char *line, size_t len, char *err, size_t errlen)
{
	struct lh_jdoc doc;
	char jerr[120];
	int rc = -EINVAL;

	if (len > LINE_MAX_BYTES) {
		snprintf(err, errlen, "record longer than %d bytes", LINE_MAX_BYTES);
		return -EINVAL;
	}
	if (lh_json_parse(&doc, line, len, 2, jerr, sizeof(jerr)) < 0) {
		snprintf(err, errlen, "not JSON: %s", jerr);
		return -EINVAL;
	}
	const struct lh_jv *o = doc.root, *uid = lh_jv_get(o, "uid"), *oc = lh_jv_get(o, "outcome"),
			   *t = lh_jv_get(o, "t"), *route = lh_jv_get(o, "route"), *reason = lh_jv_get(o, "reason");
	memset(r, 0, sizeof(*r));
	if (o->type != LH_JOBJ)
		snprintf(err, errlen, "not an object");
	else if (!uid || uid->type != LH_JSTR || parse_uid(uid->str, &r->uid) < 0)
		snprintf(err, errlen, "\"uid\" must be 16 lower-case hex digits, not zero");
	else if (!oc || oc->type != LH_JSTR || (strcmp(oc->str, "accepted") && strcmp(oc->str, "refused")))
		snprintf(err, errlen, "\"outcome\" must be \"accepted\" or \"refused\"");
	else if (!t || t->type != LH_JNUM || !t->is_int || t->i < 0)
		snprintf(err, errlen, "\"t\" must be a non-negative integer (unix seconds)");
	else if (route && (route->type != LH_JSTR || route->len >= ROUTE_MAX))
		snprintf(err, errlen, "\"route\" must be a string under %d bytes", ROUTE_MAX);
	else if (reason && (reason->type != LH_JSTR || reason->len >= REASON_MAX))
		snprintf(err, errlen, "\"reason\" must be a string under %d bytes", REASON_MAX);
	else {
		r->outcome = strcmp(oc->str, "accepted") ? OUTCOME_REFUSED : OUTCOME_ACCEPTED;
		r->t = t->i;
		if (route)
			snprintf(r->route, sizeof(r->route), "%s", route->str);
		if (reason)
			snprintf(r->reason, sizeof(r->reason), "%s", reason->str);
		rc = 0;
	}
	lh_jdoc_free(&doc);
	return rc;
}

int outcome_parse(struct outcome_store *s, const char *text, size_t len, time_t now, char *err, size_t errlen)
{
	size_t lineno = 0, off = 0;
	char why[200];

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) : len;
		struct outcome_rec r;
		lineno++;
		if (end > off) {
			if (parse_line(&r, text + off, end - off, why, sizeof(why)) < 0) {
				snprintf(err, errlen, "line %zu: %s", lineno, why);
				return -EINVAL;
			}
			if (put(s, &r) < 0) {
				snprintf(err, errlen, "line %zu: out of memory", lineno);
				return -ENOMEM;
			}
			trim(s, now);
		}
		off = end + 1;
	}
	return 0;
}

/* One record as its line (in line, reset first) appended to out. */
static void rec_json(struct lh_jbuf *out, struct lh_jbuf *line, const struct outcome_rec *r)
{
	char uid[17];
	snprintf(uid, sizeof(uid), "%016" PRIx64, r->uid);
	lh_jbuf_reset(line);
	lh_json_obj_begin(line, NULL);
	lh_json_str(line, "uid", uid);
	lh_json_str(line, "outcome", outcome_name(r->outcome));
	lh_json_int(line, "t", r->t);
	lh_json_str(line, "route", r->route);
	lh_json_str(line, "reason", r->reason);
	lh_json_obj_end(line);
	lh_jbuf_append(out, line->buf, line->len);
	lh_jbuf_append(out, "\n", 1);
}

/* The whole store, replacing the file durably (base/file.h). */
static int save(struct outcome_store *s, char *err, size_t errlen)
{
	struct lh_jbuf b, line;
	int rc;

	lh_jbuf_init(&b);
	lh_jbuf_init(&line);
	for (size_t i = 0; i < s->n; i++)
		rec_json(&b, &line, &s->v[i]);
	if (b.oom || line.oom) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
	} else {
		rc = lh_file_replace(s->dir, OUTCOME_FILE, b.buf, b.len, err, errlen);
	}
	lh_jbuf_free(&line);
	lh_jbuf_free(&b);
	return rc;
}

int outcome_record(struct outcome_store *s, uint64_t uid, enum mig_outcome o, const char *route,
		   const char *reason, time_t now, char *err, size_t errlen)
{
	struct outcome_rec r = { .uid = uid, .outcome = o, .t = (int64_t)now };
	snprintf(r.route, sizeof(r.route), "%s", route ? route : "");
	snprintf(r.reason, sizeof(r.reason), "%s", reason ? reason : "");
	if (put(s, &r) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	trim(s, now);
	return s->dir ? save(s, err, errlen) : 0;
}

struct outcome_store *outcome_open(const char *dir, char *err, size_t errlen)
{
	char why[300];
	struct outcome_store *s = outcome_new_memory();
	char *text = NULL;
	size_t len;

	if (!s || !(s->dir = strdup(dir))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* the file is bounded by what we write: OUTCOME_KEEP_MAX lines of at most LINE_MAX_BYTES */
	if (lh_file_read(dir, OUTCOME_FILE, (size_t)OUTCOME_KEEP_MAX * (LINE_MAX_BYTES + 1) * 2, &text, &len, err,
			 errlen) < 0)
		goto fail;
	if (text && outcome_parse(s, text, len, time(NULL), why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s/%s: %s", dir, OUTCOME_FILE, why);
		goto fail;
	}
	free(text);
	return s;
fail:
	free(text);
	outcome_close(s, "open failed");
	return NULL;
}

void outcome_close(struct outcome_store *s, const char *reason)
{
	if (!s)
		return;
	if (s->dir)
		log_debug("outcome store %s closed: %s", s->dir, reason);
	free(s->dir);
	free(s->v);
	free(s);
}
