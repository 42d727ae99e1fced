/* SPDX-License-Identifier: MIT */
/*
 * Audit writer on a full disk (a 64 KiB tmpfs): records that do not fit are counted lost, the file never keeps a
 * partial line, records after space is freed are written, and a reopen after a rename (logrotate) starts a new
 * file. Needs root (mount); exits 77 (skipped) without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gateway/base/json.h"
#include "gateway/base/log.h"
#include "gateway/control/audit.h"

static char dir[] = "/tmp/lh-audfull-XXXXXX";

/* Every line of path parses as a JSON object and ends with '\n'. Returns the number of lines, -1 if one does not. */
static int full_lines(const char *path, const char *want_event, int *found)
{
	char err[256];
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int n = 0, bad = 0;
	*found = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		struct lh_jdoc doc;
		if (line[len - 1] != '\n' || lh_json_parse(&doc, line, (size_t)len, 4, err, sizeof(err)) != 0) {
			fprintf(stderr, "bad line %d (%zd bytes): %.60s\n", n + 1, len, line);
			bad = 1;
		} else {
			if (want_event && !strcmp(lh_jv_str(doc.root, "event", ""), want_event))
				(*found)++;
			lh_jdoc_free(&doc);
		}
		n++;
	}
	free(line);
	fclose(f);
	return bad ? -1 : n;
}

static void put(struct lh_audit *a, const char *event, int i)
{
	char pad[200];
	struct lh_jbuf *r = lh_audit_begin(a, event);
	/* lengths that vary, so that some line straddles the last free byte */
	memset(pad, 'x', sizeof(pad));
	pad[37 + (i * 13) % 150] = 0;
	lh_json_int(r, "i", i);
	lh_json_str(r, "pad", pad);
	lh_audit_commit(a);
}

/* Fills the filesystem with one file; returns its fd (kept open). */
static int fill_disk(const char *path)
{
	char blk[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	memset(blk, 'f', sizeof(blk));
	while (write(fd, blk, sizeof(blk)) > 0)
		;
	while (write(fd, blk, 1) > 0) /* the last bytes of a page */
		;
	return fd;
}

static void test_full_disk(void)
{
	char path[256], filler[256], rotated[256], err[256];
	int found, n;

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	snprintf(rotated, sizeof(rotated), "%s/audit.jsonl.1", dir);
	struct lh_audit *a = lh_audit_open(path, err, sizeof(err));
	CHECK(a != NULL);
	if (!a)
		return;
	for (int i = 0; i < 10; i++)
		put(a, "before", i);
	lh_audit_flush(a);
	CHECK(lh_audit_written(a) == 10 && lh_audit_lost(a) == 0);

	int ffd = fill_disk(filler);
	for (int i = 0; i < 200; i++)
		put(a, "full", i);
	lh_audit_flush(a);
	uint64_t lost = lh_audit_lost(a), written = lh_audit_written(a);
	printf("disk full: %llu written, %llu lost\n", (unsigned long long)written, (unsigned long long)lost);
	CHECK(lost > 0);
	CHECK(written + lost == 210);
	n = full_lines(path, "full", &found);
	CHECK(n == (int)written); /* no partial line: every line parses, and only written ones are there */
	CHECK((uint64_t)found == written - 10);

	/* space freed: the next records are written */
	close(ffd);
	unlink(filler);
	for (int i = 0; i < 5; i++)
		put(a, "after", i);
	lh_audit_flush(a);
	CHECK(lh_audit_lost(a) == lost);
	n = full_lines(path, "after", &found);
	CHECK(n == (int)written + 5 && found == 5);

	/* logrotate: rename, then the reload path asks for a reopen */
	CHECK(rename(path, rotated) == 0);
	lh_audit_reopen(a);
	put(a, "rotated", 0);
	lh_audit_flush(a);
	CHECK(full_lines(path, "rotated", &found) == 1 && found == 1);
	CHECK(full_lines(rotated, "rotated", &found) == n && found == 0);
	/* close writes what is queued */
	for (int i = 0; i < 3; i++)
		put(a, "closing", i);
	lh_audit_close(a, "test done");
	CHECK(full_lines(path, "closing", &found) == 4 && found == 3);
	unlink(path);
	unlink(rotated);
}

/* A queue that the writer cannot drain fast enough loses records instead of blocking: never more than the bound. */
static void test_queue_bound(void)
{
	char bdir[] = "/tmp/lh-audburst-XXXXXX", path[256], err[256];
	if (!mkdtemp(bdir))
		return;
	/* not on the small tmpfs: only the queue may lose records here */
	snprintf(path, sizeof(path), "%s/burst.jsonl", bdir);
	struct lh_audit *a = lh_audit_open(path, err, sizeof(err));
	CHECK(a != NULL);
	if (!a)
		return;
	int refused = 0;
	for (int i = 0; i < 20 * LH_AUDIT_QUEUE_MAX; i++) {
		struct lh_jbuf *r = lh_audit_begin(a, "burst");
		lh_json_int(r, "i", i);
		if (lh_audit_commit(a) == -ENOBUFS)
			refused++;
	}
	lh_audit_flush(a);
	printf("burst: %llu written, %llu lost, %d refused at commit\n", (unsigned long long)lh_audit_written(a),
	       (unsigned long long)lh_audit_lost(a), refused);
	CHECK(lh_audit_lost(a) == (uint64_t)refused);
	CHECK(lh_audit_written(a) + lh_audit_lost(a) == 20 * LH_AUDIT_QUEUE_MAX);
	lh_audit_close(a, "test done");
	int found;
	CHECK(full_lines(path, "burst", &found) == found && (uint64_t)found == 20 * LH_AUDIT_QUEUE_MAX - (uint64_t)refused);
	unlink(path);
	rmdir(bdir);
}

int main(void)
{
	log_init("test_audit_full", LH_LOG_WARN, 1);
	if (!mkdtemp(dir))
		return 1;
	if (mount("lhaudit", dir, "tmpfs", 0, "size=64k,mode=0700") < 0) {
		fprintf(stderr, "mount tmpfs on %s: %s: skipped\n", dir, strerror(errno));
		rmdir(dir);
		return 77;
	}
	test_full_disk();
	test_queue_bound();
	if (umount(dir) < 0 && umount2(dir, MNT_DETACH) < 0)
		fprintf(stderr, "umount %s: %s\n", dir, strerror(errno));
	rmdir(dir);
	return check_report("test_audit_full");
}
