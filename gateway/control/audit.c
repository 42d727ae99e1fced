/* SPDX-License-Identifier: MIT */
/* Audit trail: one JSON object per line, appended and fsync'ed per event (who changed what, when). */
#include "gateway/control/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/base/json.h"
#include "gateway/base/log.h"

enum audit_state {
	AUDIT_IDLE = 0,   /* no record being built */
	AUDIT_OPEN = 1,   /* lh_audit_begin called, commit pending */
};

struct lh_audit {
	int fd;
	enum audit_state state;
	char path[1024];
	struct lh_jbuf rec;
	unsigned long written, failed;
};

struct lh_audit *lh_audit_open(const char *path, char *err, size_t errlen)
{
	struct lh_audit *a = calloc(1, sizeof(*a));

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* O_APPEND: each record lands at the end even if another writer (logrotate copytruncate) moved it */
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		snprintf(err, errlen, "audit log %s: %s", path, strerror(errno));
		free(a);
		return NULL;
	}
	snprintf(a->path, sizeof(a->path), "%s", path);
	lh_jbuf_init(&a->rec);
	return a;
}

void lh_audit_close(struct lh_audit *a, const char *reason)
{
	if (!a)
		return;
	log_debug("audit: closing %s (%lu records, %lu failed): %s", a->path, a->written, a->failed,
		  reason);
	close(a->fd);
	lh_jbuf_free(&a->rec);
	free(a);
}

struct lh_jbuf *lh_audit_begin(struct lh_audit *a, const char *event)
{
	struct timespec ts;
	struct tm tm;
	char stamp[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof(stamp) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	lh_jbuf_reset(&a->rec);
	a->state = AUDIT_OPEN;
	lh_json_obj_begin(&a->rec, NULL);
	lh_json_str(&a->rec, "ts", stamp);
	lh_json_str(&a->rec, "event", event);
	return &a->rec;
}

int lh_audit_commit(struct lh_audit *a)
{
	int rc = 0;

	if (a->state != AUDIT_OPEN)
		return -EINVAL;
	a->state = AUDIT_IDLE;
	lh_json_obj_end(&a->rec);
	lh_jbuf_append(&a->rec, "\n", 1);
	if (a->rec.oom || a->rec.depth != 0) {
		rc = a->rec.oom ? -ENOMEM : -EINVAL;
		log_warnx("audit: record dropped: %s", a->rec.oom ? "out of memory" : "unbalanced record");
		goto out;
	}
	/* one write(2) per record: with O_APPEND, lines of concurrent writers never interleave */
	size_t off = 0;
	while (off < a->rec.len) {
		ssize_t w = write(a->fd, a->rec.buf + off, a->rec.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			log_warn("audit: write %s", a->path);
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(a->fd) < 0) {
		rc = -errno;
		log_warn("audit: fsync %s", a->path);
	}
out:
	if (rc)
		a->failed++;
	else
		a->written++;
	lh_jbuf_reset(&a->rec);
	return rc;
}
