/* SPDX-License-Identifier: MIT */
/* libFuzzer: control request lines through the dispatcher; every input gets exactly one valid JSON reply line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/control/control.h"
#include "gateway/base/json.h"
#include "gateway/base/log.h"

/* Reads every argument through every accessor, echoes strings back (escaping is exercised too). */
static int echo(void *ctx, const struct lh_json_req *req, struct lh_jbuf *reply)
{
	const char *s, *list[LH_REQ_MAX_ARRAY];
	int64_t i;
	bool b;

	lh_json_str(reply, "cmd", req->cmd);
	lh_json_obj_begin(reply, "seen");
	for (const struct lh_jv *a = req->args ? req->args->child : NULL; a; a = a->next) {
		if (lh_req_str(req, a->key, &s) == 0)
			lh_json_str(reply, a->key, s);
		else if (lh_req_int(req, a->key, INT64_MIN, INT64_MAX, &i) == 0)
			lh_json_int(reply, a->key, i);
		else if (lh_req_bool(req, a->key, &b) == 0)
			lh_json_bool(reply, a->key, b);
		else {
			int n = lh_req_strs(req, a->key, list, LH_REQ_MAX_ARRAY);
			lh_json_arr_begin(reply, a->key);
			for (int k = 0; k < n; k++)
				lh_json_str(reply, NULL, list[k]);
			lh_json_arr_end(reply);
		}
	}
	lh_json_obj_end(reply);
	return 0;
}

static int refuse(void *ctx, const struct lh_json_req *req, struct lh_jbuf *reply)
{
	const char *s = "";
	lh_req_str(req, "name", &s);
	return lh_jbuf_fail(reply, -ENOENT, "no route \"%s\"", s);
}

static const struct lh_control_cmd table[] = {
	{ "status", echo, "" }, { "migrate-add", echo, "" }, { "migrate-del", refuse, "" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lh_jbuf out;
	struct lh_jdoc doc;
	char err[200];
	static int init;

	if (!init) {
		log_init("fuzz_request", LH_LOG_WARN, 1);
		init = 1;
	}
	lh_jbuf_init(&out);
	lh_control_dispatch(table, 3, NULL, (const char *)data, size, &out);
	/* exactly one line, a JSON object with a boolean "ok" */
	if (out.oom || out.len == 0 || out.buf[out.len - 1] != '\n' ||
	    memchr(out.buf, '\n', out.len - 1) ||
	    lh_json_parse(&doc, out.buf, out.len - 1, 8, err, sizeof(err)) != 0) {
		fprintf(stderr, "bad reply (%s): %s\n", err, out.buf ? out.buf : "");
		abort();
	}
	const struct lh_jv *ok = lh_jv_get(doc.root, "ok");
	if (!ok || ok->type != LH_JBOOL)
		abort();
	lh_jdoc_free(&doc);
	lh_jbuf_free(&out);
	/* the generic parser with a deep limit, as longhaulctl uses it on replies */
	if (lh_json_parse(&doc, (const char *)data, size, 16, err, sizeof(err)) == 0)
		lh_jdoc_free(&doc);
	return 0;
}
