/* SPDX-License-Identifier: MIT */
/* What each destination QEMU answered, kept across restarts: the outcome store (OUTCOMES.md). */
#ifndef LH_GATEWAY_OUTCOME_H
#define LH_GATEWAY_OUTCOME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* What the destination QEMU answered to a migration's end of stream. */
enum mig_outcome {
	OUTCOME_UNKNOWN = 0,  /* never recorded: the answer was not seen, or is not kept any more */
	OUTCOME_ACCEPTED,     /* SHUT 0 after the gate opened: the guest runs at the destination */
	OUTCOME_REFUSED,      /* SHUT != 0, or main closed without SHUT 0: the guest stays at the source */
};
const char *outcome_name(enum mig_outcome o);

#define OUTCOME_KEEP_MAX 4096           /* records kept; the oldest go first */
#define OUTCOME_KEEP_S (30 * 86400)     /* and none older than this */
#define OUTCOME_FILE "outcomes.json"

struct outcome_store;

/*
 * Opens dir/outcomes.json (dir must exist), loading what it holds; a missing file is an empty store.
 * NULL with the reason in err: unreadable, or a record that does not parse (named by line).
 */
struct outcome_store *outcome_open(const char *dir, char *err, size_t errlen);
/* A store in memory only (tests, fuzzing): nothing is written. */
struct outcome_store *outcome_new_memory(void);
/*
 * Parses a whole file's text into the store: one JSON object per line (OUTCOMES.md). 0, or -EINVAL
 * with "line N: what" in err. Records past the limits are dropped, oldest first.
 */
int outcome_parse(struct outcome_store *s, const char *text, size_t len, time_t now, char *err, size_t errlen);
/*
 * Records uid's outcome and makes it durable before returning (a new file written, fsynced, renamed over
 * the old one, directory fsynced): the caller relays the answer only after this. A second record for the
 * same uid replaces the first. 0, or -errno with the reason in err (the record is still kept in memory).
 */
int outcome_record(struct outcome_store *s, uint64_t uid, enum mig_outcome o, const char *route,
		   const char *reason, time_t now, char *err, size_t errlen);
/* The recorded outcome of uid, OUTCOME_UNKNOWN when there is none. */
enum mig_outcome outcome_lookup(const struct outcome_store *s, uint64_t uid);
/* The evidence recorded with uid's outcome ("" when none). */
const char *outcome_reason(const struct outcome_store *s, uint64_t uid);
size_t outcome_count(const struct outcome_store *s);
/* The one teardown. */
void outcome_close(struct outcome_store *s, const char *reason);

#endif
