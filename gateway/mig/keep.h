/* SPDX-License-Identifier: MIT */
/*
 * The state file (<state_dir>/state.json, STATEFILE.md): what an operator must find again after a restart,
 * besides the outcome store and the fd holder: routes added at run time, and postcopy migrations (whose guest
 * runs at the destination, and which a lost session pauses until someone recovers them).
 */
#ifndef LH_GATEWAY_KEEP_H
#define LH_GATEWAY_KEEP_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/base/json.h"

#define KEEP_FILE "state.json"
#define KEEP_MAX 1024          /* records; a put past it is refused */
#define KEEP_LINE_MAX 16384    /* bytes of one record */

enum keep_kind { KEEP_ROUTE, KEEP_POSTCOPY };

struct keep;

/* Opens dir/state.json (dir exists); a missing file is an empty state. NULL with the reason in err. */
struct keep *keep_open(const char *dir, char *err, size_t errlen);
/* A state in memory only (tests, fuzzing): nothing is written. */
struct keep *keep_new_memory(void);
/* Parses a whole file's text (one request-shaped JSON object per line). 0, or -EINVAL with "line N: what". */
int keep_parse(struct keep *k, const char *text, size_t len, char *err, size_t errlen);
/*
 * Records (replaces) the record of that kind and key, and makes the file durable before returning. line is
 * one JSON object {"cmd":...,"args":{...}} (STATEFILE.md). 0, or -errno with the reason in err (kept in memory).
 */
int keep_put(struct keep *k, enum keep_kind kind, const char *key, const char *line, size_t len, char *err,
	     size_t errlen);
/* Forgets that record (durably); 0 when there was none. */
int keep_del(struct keep *k, enum keep_kind kind, const char *key, char *err, size_t errlen);
int keep_has(const struct keep *k, enum keep_kind kind, const char *key);
/* Calls fn for each record of kind with its parsed request, oldest first. */
void keep_each(const struct keep *k, enum keep_kind kind, void (*fn)(void *ctx, const struct lh_json_req *req),
	       void *ctx);
size_t keep_count(const struct keep *k, enum keep_kind kind);
/* The one teardown. */
void keep_close(struct keep *k, const char *reason);

/* A postcopy migration's record: {"cmd":"postcopy","args":{...}} (STATEFILE.md). */
struct keep_postcopy {
	uint64_t uid;
	int outgoing;            /* 1: this gateway is the source ("out"), 0: the destination ("in") */
	char route[64];
	char dest[300];          /* the destination HOST:PORT at site B */
	char phase[32];          /* the state it was in when written */
	char why[200];           /* paused: why */
	int64_t t;               /* unix seconds, when written */
};
/* Its line (with the uid as the record's key, 16 hex digits, in key[17]). */
void keep_postcopy_line(const struct keep_postcopy *p, struct lh_jbuf *out, char key[17]);
/* A record's args checked and read; 0, or -EINVAL with what is wrong in err. */
int keep_postcopy_parse(const struct lh_json_req *req, struct keep_postcopy *p, char *err, size_t errlen);

#endif
