/* SPDX-License-Identifier: MIT */
/* Audit trail: one JSON object per line, appended and fsync'ed per event (who changed what, when). */
#ifndef LH_GATEWAY_AUDIT_H
#define LH_GATEWAY_AUDIT_H

#include <stddef.h>

struct lh_audit;
struct lh_jbuf;

/* Opens path for appending (created 0600). NULL with reason in err. */
struct lh_audit *lh_audit_open(const char *path, char *err, size_t errlen);
void lh_audit_close(struct lh_audit *a, const char *reason);

/*
 * Starts a record {"ts":"2026-...Z","event":EVENT, ...}: add members to the
 * returned buffer, then lh_audit_commit writes the line and fsyncs.
 * Returns 0 or -errno (the record is lost, the error logged once).
 */
struct lh_jbuf *lh_audit_begin(struct lh_audit *a, const char *event);
int lh_audit_commit(struct lh_audit *a);

#endif
