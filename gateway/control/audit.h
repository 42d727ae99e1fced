/* SPDX-License-Identifier: MIT */
/*
 * Audit trail: one JSON object per line, appended by a writer thread that owns the file, so that the event
 * loop never waits for the disk (write, fsync). The loop builds a record and hands the complete line over;
 * the thread writes each line with one write(2), fsyncs in batches, and never leaves a partial line.
 */
#ifndef LH_GATEWAY_AUDIT_H
#define LH_GATEWAY_AUDIT_H

#include <stddef.h>
#include <stdint.h>

struct lh_audit;
struct lh_jbuf;

/* Records waiting for the writer at most: one more is lost (counted, logged) rather than waited for. */
#define LH_AUDIT_QUEUE_MAX 1024
/* The writer fsyncs when its queue empties, and at least this often while records keep coming. */
#define LH_AUDIT_SYNC_MS 50

/* Opens path for appending (created 0600) and starts the writer. NULL with reason in err. */
struct lh_audit *lh_audit_open(const char *path, char *err, size_t errlen);
/* Writes and fsyncs what is queued, stops the writer, closes the file. */
void lh_audit_close(struct lh_audit *a, const char *reason);

/*
 * Starts a record {"ts":"2026-...Z","event":EVENT, ...}: add members to the returned buffer, then
 * lh_audit_commit queues the line for the writer (it does not wait for the disk). Returns 0 when queued;
 * -EINVAL (nothing begun, unbalanced record), -ENOMEM, or -ENOBUFS (queue full): the record is lost,
 * counted and logged. A record the writer cannot write (ENOSPC, EIO) is lost the same way, later.
 */
struct lh_jbuf *lh_audit_begin(struct lh_audit *a, const char *event);
int lh_audit_commit(struct lh_audit *a);

/* Asks the writer to reopen the path (logrotate renamed the file); the old file keeps the records before. */
void lh_audit_reopen(struct lh_audit *a);
/* Records lost so far (queue full, write failed): status audit_lost, longhaul_audit_records_lost_total. */
uint64_t lh_audit_lost(struct lh_audit *a);
/* Records written so far. */
uint64_t lh_audit_written(struct lh_audit *a);
/* Blocks until everything queued before the call is written and fsynced: for close and tests, not the loop. */
void lh_audit_flush(struct lh_audit *a);

#endif
