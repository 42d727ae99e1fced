/* SPDX-License-Identifier: MIT */
/* Control requests ({"cmd":"NAME","args":{...}}): parsed and checked once, read by typed accessors. The control
 * socket and the state file (gateway/mig/STATEFILE.md) both speak them. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "gateway/base/json.h"

/*-*****  Requests: {"cmd":"NAME","args":{...}}  *****-*/

static bool valid_cmd_name(const char *s, size_t n)
{
	if (n == 0 || n > LH_REQ_MAX_CMD)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static int req_check_args(const struct lh_jv *args, char *err, size_t errlen)
{
	if (args->type != LH_JOBJ) {
		snprintf(err, errlen, "\"args\" must be an object");
		return -EINVAL;
	}
	if (args->len > LH_REQ_MAX_ARGS) {
		snprintf(err, errlen, "more than %d arguments", LH_REQ_MAX_ARGS);
		return -EINVAL;
	}
	for (const struct lh_jv *a = args->child; a; a = a->next) {
		if (a->type == LH_JOBJ || a->type == LH_JNULL) {
			snprintf(err, errlen, "argument \"%.40s\": must be a string, number, boolean "
				 "or array of strings", a->key);
			return -EINVAL;
		}
		if (a->type != LH_JARR)
			continue;
		if (a->len > LH_REQ_MAX_ARRAY) {
			snprintf(err, errlen, "argument \"%.40s\": more than %d elements", a->key,
				 LH_REQ_MAX_ARRAY);
			return -EINVAL;
		}
		for (const struct lh_jv *e = a->child; e; e = e->next)
			if (e->type != LH_JSTR) {
				snprintf(err, errlen, "argument \"%.40s\": array elements must be strings",
					 a->key);
				return -EINVAL;
			}
	}
	return 0;
}

int lh_json_req_parse(struct lh_json_req *req, const char *line, size_t len, char *err,
		      size_t errlen)
{
	int rc;

	memset(req, 0, sizeof(*req));
	req->peer_pid = req->peer_uid = -1;
	if (len > LH_REQ_MAX_LINE) {
		snprintf(err, errlen, "request longer than %d bytes", LH_REQ_MAX_LINE);
		return -E2BIG;
	}
	/* depth 3: request object -> args object -> array of strings */
	if ((rc = lh_json_parse(&req->doc, line, len, 3, err, errlen)) < 0)
		return rc;
	const struct lh_jv *root = req->doc.root;
	if (root->type != LH_JOBJ) {
		snprintf(err, errlen, "request must be a JSON object");
		goto bad;
	}
	for (const struct lh_jv *m = root->child; m; m = m->next) {
		if (strcmp(m->key, "cmd") == 0) {
			if (m->type != LH_JSTR || !valid_cmd_name(m->str, m->len)) {
				snprintf(err, errlen, "\"cmd\" must be a command name ([a-z0-9-], 1..%d)",
					 LH_REQ_MAX_CMD);
				goto bad;
			}
			req->cmd = m->str;
		} else if (strcmp(m->key, "args") == 0) {
			if (req_check_args(m, err, errlen) < 0)
				goto bad;
			req->args = m;
		} else {
			snprintf(err, errlen, "unknown request member \"%.40s\" (only cmd, args)", m->key);
			goto bad;
		}
	}
	if (!req->cmd) {
		snprintf(err, errlen, "request has no \"cmd\"");
		goto bad;
	}
	return 0;
bad:
	lh_jdoc_free(&req->doc);
	memset(req, 0, sizeof(*req));
	return -EINVAL;
}

void lh_json_req_free(struct lh_json_req *req)
{
	lh_jdoc_free(&req->doc);
	memset(req, 0, sizeof(*req));
}

static const struct lh_jv *req_arg(const struct lh_json_req *req, const char *key)
{
	return req->args ? lh_jv_get(req->args, key) : NULL;
}

int lh_req_str(const struct lh_json_req *req, const char *key, const char **out)
{
	const struct lh_jv *v = req_arg(req, key);
	if (!v)
		return -ENOENT;
	if (v->type != LH_JSTR)
		return -EINVAL;
	*out = v->str;
	return 0;
}

int lh_req_int(const struct lh_json_req *req, const char *key, int64_t min, int64_t max,
	       int64_t *out)
{
	const struct lh_jv *v = req_arg(req, key);
	if (!v)
		return -ENOENT;
	if (v->type != LH_JNUM || !v->is_int || v->i < min || v->i > max)
		return -EINVAL;
	*out = v->i;
	return 0;
}

int lh_req_bool(const struct lh_json_req *req, const char *key, bool *out)
{
	const struct lh_jv *v = req_arg(req, key);
	if (!v)
		return -ENOENT;
	if (v->type != LH_JBOOL)
		return -EINVAL;
	*out = v->b;
	return 0;
}

int lh_req_strs(const struct lh_json_req *req, const char *key, const char **out, size_t max)
{
	const struct lh_jv *v = req_arg(req, key);
	if (!v)
		return -ENOENT;
	if (v->type != LH_JARR || v->len > max)
		return -EINVAL;
	size_t n = 0;
	for (const struct lh_jv *e = v->child; e; e = e->next)
		out[n++] = e->str; /* elements were checked to be strings */
	return (int)n;
}

/*-*****  Dispatch  *****-*/
