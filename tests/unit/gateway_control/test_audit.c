/* SPDX-License-Identifier: MIT */
/* Audit log: records are whole JSON lines, appended (never truncated), mode 0600, misuse refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gateway/control/audit.h"
#include "gateway/base/json.h"
#include "gateway/base/log.h"

int main(void)
{
	char dir[] = "/tmp/lh-audtest-XXXXXX", path[200], err[256];

	log_init("test_audit", LH_LOG_WARN, 1);
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	FILE *f = fopen(path, "w");
	fputs("{\"event\":\"earlier\"}\n", f);
	fclose(f);
	chmod(path, 0600);

	struct lh_audit *a = lh_audit_open(path, err, sizeof(err));
	CHECK(a != NULL);
	CHECK(lh_audit_commit(a) == -EINVAL); /* nothing begun */
	struct lh_jbuf *r = lh_audit_begin(a, "migrate-add");
	lh_json_str(r, "route", "vm\"1\n");
	lh_json_uint(r, "uid", 0);
	CHECK(lh_audit_commit(a) == 0);
	r = lh_audit_begin(a, "reload");
	lh_json_arr_begin(r, "changed");
	lh_json_str(r, NULL, "routes");
	lh_json_arr_end(r);
	CHECK(lh_audit_commit(a) == 0);
	r = lh_audit_begin(a, "broken");
	lh_json_arr_begin(r, "unclosed");
	CHECK(lh_audit_commit(a) == -EINVAL); /* unbalanced: dropped, not written */
	lh_audit_close(a, "test done");

	f = fopen(path, "r");
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		struct lh_jdoc doc;
		CHECK(lh_json_parse(&doc, line, strlen(line), 4, err, sizeof(err)) == 0);
		if (n == 0)
			CHECK_STR(lh_jv_str(doc.root, "event", ""), "earlier");
		if (n == 1) {
			CHECK_STR(lh_jv_str(doc.root, "event", ""), "migrate-add");
			CHECK_STR(lh_jv_str(doc.root, "route", ""), "vm\"1\n");
			const char *ts = lh_jv_str(doc.root, "ts", "");
			CHECK(strlen(ts) == 24 && ts[10] == 'T' && ts[23] == 'Z');
		}
		if (n == 2)
			CHECK(lh_jv_get(doc.root, "changed")->len == 1);
		lh_jdoc_free(&doc);
		n++;
	}
	fclose(f);
	CHECK(n == 3);

	/* a new file is created 0600 whatever the umask */
	umask(0);
	snprintf(path, sizeof(path), "%s/new.jsonl", dir);
	a = lh_audit_open(path, err, sizeof(err));
	struct stat st;
	CHECK(a && stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	lh_audit_close(a, "done");
	unlink(path);
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	unlink(path);
	/* unwritable place: clear error */
	snprintf(path, sizeof(path), "%s/no/such/dir/a.jsonl", dir);
	CHECK(lh_audit_open(path, err, sizeof(err)) == NULL);
	CHECK_HAS(err, "No such file or directory");
	rmdir(dir);
	return check_report("test_audit");
}
