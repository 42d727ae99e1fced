/* SPDX-License-Identifier: MIT */
/*
 * Audit trail: one JSON object per line (who changed what, when). The event loop builds each record and hands
 * the complete line to a writer thread through a bounded queue; the thread owns the file: one write(2) per
 * line (O_APPEND), an fsync per batch, and a line that does not fit (ENOSPC, EIO) is cut off again so that
 * no partial line stays in the file.
 */
#include "gateway/control/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gateway/base/json.h"
#include "gateway/base/log.h"

/* A lost record is logged at once, then at most once per this many seconds (with the count since). */
#define AUDIT_LOST_LOG_S 10

enum audit_state {
	AUDIT_IDLE = 0,   /* no record being built */
	AUDIT_OPEN = 1,   /* lh_audit_begin called, commit pending */
};

enum audit_writer_state {
	AUDIT_W_RUNNING = 0,  /* writing what is queued */
	AUDIT_W_STOPPING = 1, /* close asked: write what is queued, fsync, end */
};

/* A queued line; len 0 is a reopen request, queued so that the records before it go to the old file. */
struct audit_rec {
	struct audit_rec *next;
	size_t len;
	char line[];
};

struct lh_audit {
	char path[1024];
	/* the loop's side: the record being built */
	enum audit_state state;
	struct lh_jbuf rec;
	/* shared, under mu */
	pthread_mutex_t mu;
	pthread_cond_t wake;   /* to the writer: records (or a reopen), or stop */
	pthread_cond_t synced; /* to lh_audit_flush: synced_seq moved */
	struct audit_rec *head, **tailp;
	unsigned queued;
	uint64_t queued_seq, synced_seq; /* records handed over / written (or lost) and fsynced */
	enum audit_writer_state wstate;
	uint64_t written, lost, lost_unlogged;
	time_t lost_logged_at;
	/* the writer's own */
	int fd;
	pthread_t thread;
	struct timespec last_sync;
};

static int audit_open_fd(const char *path)
{
	/* O_APPEND: each record lands at the end even if logrotate's copytruncate cut the file */
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

/* Counts n lost records; logs at once and then at most every AUDIT_LOST_LOG_S. Takes mu. */
static void audit_count_lost(struct lh_audit *a, unsigned n, const char *why)
{
	time_t now = time(NULL);
	uint64_t pending = 0, total;

	pthread_mutex_lock(&a->mu);
	a->lost += n;
	a->lost_unlogged += n;
	total = a->lost;
	if (now - a->lost_logged_at >= AUDIT_LOST_LOG_S || a->lost_logged_at == 0) {
		pending = a->lost_unlogged;
		a->lost_unlogged = 0;
		a->lost_logged_at = now;
	}
	pthread_mutex_unlock(&a->mu);
	if (pending)
		log_warnx("audit: %llu record(s) lost (%s), %llu in all: %s", (unsigned long long)pending, why,
			  (unsigned long long)total, a->path);
}

/*
 * One line, one write(2). A short or failed write is cut back to the size before it: the writer is the file's
 * only appender, so the size fstat gave is where this line began. 0, or -errno (the line is not in the file).
 */
static int audit_write_line(struct lh_audit *a, const struct audit_rec *r)
{
	struct stat st;
	off_t before = fstat(a->fd, &st) == 0 ? st.st_size : -1;
	ssize_t w;

	do
		w = write(a->fd, r->line, r->len);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)r->len)
		return 0;
	int rc = w < 0 ? -errno : -ENOSPC; /* a short write: the disk filled up within the line */
	if (before >= 0 && ftruncate(a->fd, before) < 0)
		log_warn("audit: %s: cannot cut a partial line back to %lld bytes", a->path, (long long)before);
	return rc;
}

static double audit_ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

static void audit_sync(struct lh_audit *a)
{
	if (fsync(a->fd) < 0)
		log_warn("audit: fsync %s", a->path);
	clock_gettime(CLOCK_MONOTONIC, &a->last_sync);
}

/* logrotate renamed the file: a new one at path from now on; if it cannot be made, the old one goes on. */
static void audit_do_reopen(struct lh_audit *a)
{
	audit_sync(a); /* what went to the old file is on disk before it is let go */
	int fd = audit_open_fd(a->path);
	if (fd < 0) {
		log_warn("audit: reopen %s, records go on to the file already open", a->path);
		return;
	}
	close(a->fd);
	a->fd = fd;
	log_info("audit: reopened %s", a->path);
}

/* Writes a batch taken off the queue (without mu held), in order; returns how many lines were written. */
static unsigned audit_write_batch(struct lh_audit *a, struct audit_rec *batch, int *dirty)
{
	unsigned ok = 0, lost = 0;
	int last_err = 0;

	while (batch) {
		struct audit_rec *next = batch->next;
		int rc = batch->len ? audit_write_line(a, batch) : 0;
		if (!batch->len) {
			audit_do_reopen(a);
			*dirty = 0;
		} else if (rc == 0) {
			ok++;
			*dirty = 1;
		} else {
			lost++;
			last_err = rc;
		}
		free(batch);
		batch = next;
	}
	if (lost)
		audit_count_lost(a, lost, strerror(-last_err));
	return ok;
}

static void *audit_writer(void *arg)
{
	struct lh_audit *a = arg;
	int dirty = 0;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->head && a->wstate == AUDIT_W_RUNNING)
			pthread_cond_wait(&a->wake, &a->mu);
		struct audit_rec *batch = a->head;
		uint64_t upto = a->queued_seq;
		a->head = NULL;
		a->tailp = &a->head;
		a->queued = 0;
		pthread_mutex_unlock(&a->mu);

		unsigned ok = audit_write_batch(a, batch, &dirty);
		pthread_mutex_lock(&a->mu);
		a->written += ok;
		/* fsync when the queue is empty, or every LH_AUDIT_SYNC_MS while records keep coming */
		int idle = a->head == NULL;
		pthread_mutex_unlock(&a->mu);
		if (dirty && (idle || audit_ms_since(&a->last_sync) >= LH_AUDIT_SYNC_MS)) {
			audit_sync(a);
			dirty = 0;
		}
		pthread_mutex_lock(&a->mu);
		if (!dirty) {
			a->synced_seq = upto;
			pthread_cond_broadcast(&a->synced);
		}
		if (a->wstate == AUDIT_W_STOPPING && !a->head)
			break;
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* The writer must not take the daemon's signals (SIGHUP, SIGTERM go to the loop's thread). */
static int audit_start_writer(struct lh_audit *a)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&a->thread, NULL, audit_writer, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -rc;
}

struct lh_audit *lh_audit_open(const char *path, char *err, size_t errlen)
{
	struct lh_audit *a = calloc(1, sizeof(*a));

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->fd = audit_open_fd(path);
	if (a->fd < 0) {
		snprintf(err, errlen, "audit log %s: %s", path, strerror(errno));
		free(a);
		return NULL;
	}
	snprintf(a->path, sizeof(a->path), "%s", path);
	lh_jbuf_init(&a->rec);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->wake, NULL);
	pthread_cond_init(&a->synced, NULL);
	a->tailp = &a->head;
	clock_gettime(CLOCK_MONOTONIC, &a->last_sync);
	int rc = audit_start_writer(a);
	if (rc < 0) {
		snprintf(err, errlen, "audit log %s: writer thread: %s", path, strerror(-rc));
		close(a->fd);
		lh_jbuf_free(&a->rec);
		free(a);
		return NULL;
	}
	return a;
}

void lh_audit_close(struct lh_audit *a, const char *reason)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->wstate = AUDIT_W_STOPPING;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL); /* it writes and fsyncs what is queued first */
	log_debug("audit: closing %s (%llu records, %llu lost): %s", a->path, (unsigned long long)a->written,
		  (unsigned long long)a->lost, reason);
	close(a->fd);
	pthread_cond_destroy(&a->synced);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->mu);
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

/* Hands the line (len 0: a reopen) to the writer; a full queue loses a line rather than making the loop wait. */
static int audit_enqueue(struct lh_audit *a, const char *line, size_t len)
{
	struct audit_rec *r = malloc(sizeof(*r) + len);

	if (!r) {
		if (len)
			audit_count_lost(a, 1, "out of memory");
		else
			log_warnx("audit: reopen of %s not asked: out of memory", a->path);
		return -ENOMEM;
	}
	r->next = NULL;
	r->len = len;
	memcpy(r->line, line, len);
	pthread_mutex_lock(&a->mu);
	if (len && a->queued >= LH_AUDIT_QUEUE_MAX) {
		pthread_mutex_unlock(&a->mu);
		free(r);
		audit_count_lost(a, 1, "writer queue full");
		return -ENOBUFS;
	}
	*a->tailp = r;
	a->tailp = &r->next;
	a->queued++;
	a->queued_seq++;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

int lh_audit_commit(struct lh_audit *a)
{
	int rc;

	if (a->state != AUDIT_OPEN)
		return -EINVAL;
	a->state = AUDIT_IDLE;
	lh_json_obj_end(&a->rec);
	lh_jbuf_append(&a->rec, "\n", 1);
	if (a->rec.oom || a->rec.depth != 0) {
		rc = a->rec.oom ? -ENOMEM : -EINVAL;
		log_warnx("audit: record dropped: %s", a->rec.oom ? "out of memory" : "unbalanced record");
	} else
		rc = audit_enqueue(a, a->rec.buf, a->rec.len);
	lh_jbuf_reset(&a->rec);
	return rc;
}

void lh_audit_reopen(struct lh_audit *a)
{
	audit_enqueue(a, "", 0);
}

uint64_t lh_audit_lost(struct lh_audit *a)
{
	pthread_mutex_lock(&a->mu);
	uint64_t n = a->lost;
	pthread_mutex_unlock(&a->mu);
	return n;
}

uint64_t lh_audit_written(struct lh_audit *a)
{
	pthread_mutex_lock(&a->mu);
	uint64_t n = a->written;
	pthread_mutex_unlock(&a->mu);
	return n;
}

void lh_audit_flush(struct lh_audit *a)
{
	pthread_mutex_lock(&a->mu);
	uint64_t want = a->queued_seq;
	while (a->synced_seq < want)
		pthread_cond_wait(&a->synced, &a->mu);
	pthread_mutex_unlock(&a->mu);
}
