/* SPDX-License-Identifier: MIT */
/* JSON writer escaping/structure, strict parser errors, control request validation and accessors. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gateway/base/json.h"

static void test_writer(void)
{
	struct lh_jbuf b;

	lh_jbuf_init(&b);
	lh_json_obj_begin(&b, NULL);
	lh_json_str(&b, "s", "a\"b\\c\n\r\t\x01\x1f\x7f/é");
	lh_json_int(&b, "neg", -9223372036854775807LL - 1);
	lh_json_uint(&b, "big", 18446744073709551615ULL);
	lh_json_double(&b, "d", 0.1);
	lh_json_double(&b, "inf", INFINITY);
	lh_json_bool(&b, "t", true);
	lh_json_null(&b, "n");
	lh_json_arr_begin(&b, "a");
	lh_json_str(&b, NULL, "x");
	lh_json_obj_begin(&b, NULL);
	lh_json_obj_end(&b);
	lh_json_arr_begin(&b, NULL);
	lh_json_arr_end(&b);
	lh_json_arr_end(&b);
	lh_json_str(&b, "k\"ey", NULL);
	lh_json_obj_end(&b);
	CHECK(!b.oom && b.depth == 0);
	CHECK_STR(b.buf, "{\"s\":\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\\u007f/é\","
			 "\"neg\":-9223372036854775808,\"big\":18446744073709551615,\"d\":0.1,"
			 "\"inf\":null,\"t\":true,\"n\":null,\"a\":[\"x\",{},[]],\"k\\\"ey\":null}");

	/* invalid UTF-8 (overlong, lone continuation, truncated, surrogate) becomes U+FFFD */
	lh_jbuf_reset(&b);
	lh_json_strn(&b, NULL, "\xc0\xaf|\x80|\xe2\x82|\xed\xa0\x80|\xf0\x9f\x98\x80", 16);
	CHECK_STR(b.buf, "\"\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
			 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xf0\x9f\x98\x80\"");
	/* an embedded NUL is escaped, not truncated */
	lh_jbuf_reset(&b);
	lh_json_strn(&b, NULL, "a\0b", 3);
	CHECK_STR(b.buf, "\"a\\u0000b\"");

	/* whatever the writer produces, the parser accepts and decodes back */
	lh_jbuf_reset(&b);
	char all[256];
	for (int i = 0; i < 255; i++)
		all[i] = (char)(i + 1);
	all[255] = 0;
	lh_json_str(&b, NULL, "\x01\x02\x1f\"\\ok\xe2\x82\xac");
	struct lh_jdoc doc;
	char err[200];
	CHECK(lh_json_parse(&doc, b.buf, b.len, 4, err, sizeof(err)) == 0);
	CHECK(doc.root && doc.root->type == LH_JSTR);
	CHECK_STR(doc.root->str, "\x01\x02\x1f\"\\ok\xe2\x82\xac");
	lh_jdoc_free(&doc);
	lh_jbuf_reset(&b);
	lh_json_str(&b, NULL, all);
	CHECK(lh_json_parse(&doc, b.buf, b.len, 4, err, sizeof(err)) == 0);
	lh_jdoc_free(&doc);

	/* growth well past the first allocation */
	lh_jbuf_reset(&b);
	lh_json_arr_begin(&b, NULL);
	for (int i = 0; i < 100000; i++)
		lh_json_int(&b, NULL, i);
	lh_json_arr_end(&b);
	CHECK(!b.oom && b.len > 500000);
	CHECK(lh_json_parse(&doc, b.buf, b.len, 4, err, sizeof(err)) == 0);
	CHECK(doc.root->len == 100000);
	lh_jdoc_free(&doc);

	CHECK(lh_jbuf_fail(&b, -ENOENT, "no route %s", "x") == -ENOENT);
	CHECK_STR(b.error, "no route x");
	lh_jbuf_free(&b);
}

static void test_parser_good(void)
{
	static const char text[] =
		" {\"a\": [1, -2.5e3, 0, true, false, null, \"\\u00e9\\ud83d\\ude00\\/\"],"
		" \"o\": {\"x\": {}}, \"big\": 1e400, \"i\": 9223372036854775807,"
		" \"over\": 9223372036854775808} \r\n";
	struct lh_jdoc doc;
	char err[200];

	CHECK(lh_json_parse(&doc, text, strlen(text), 8, err, sizeof(err)) == 0);
	const struct lh_jv *a = lh_jv_get(doc.root, "a");
	CHECK(a && a->type == LH_JARR && a->len == 7);
	if (a && a->len == 7) {
		const struct lh_jv *v = a->child;
		CHECK(v->type == LH_JNUM && v->is_int && v->i == 1);
		v = v->next;
		CHECK(v->type == LH_JNUM && !v->is_int && v->num == -2500);
		v = v->next->next;
		CHECK(v->type == LH_JBOOL && v->b);
		v = v->next->next;
		CHECK(v->type == LH_JNULL);
		v = v->next;
		CHECK_STR(v->str, "é\xf0\x9f\x98\x80/");
	}
	CHECK(lh_jv_get(lh_jv_get(doc.root, "o"), "x")->type == LH_JOBJ);
	CHECK(isinf(lh_jv_num(doc.root, "big", 0)));
	const struct lh_jv *i = lh_jv_get(doc.root, "i");
	CHECK(i->is_int && i->i == 9223372036854775807LL);
	CHECK(!lh_jv_get(doc.root, "over")->is_int);
	CHECK_STR(lh_jv_str(doc.root, "missing", "dflt"), "dflt");
	lh_jdoc_free(&doc);
}

struct bad_json {
	const char *text;
	const char *err;
};

static const struct bad_json bad_docs[] = {
	{ "", "offset 0: value expected, found end of input" },
	{ "   ", "value expected" },
	{ "{", "member name (string) expected" },
	{ "{\"a\"}", "offset 4: ':' expected" },
	{ "{\"a\":1,}", "member name (string) expected" },
	{ "[1,]", "unexpected character ']'" },
	{ "[1 2]", "',' or ']' expected" },
	{ "{\"a\":1 \"b\":2}", "',' or '}' expected" },
	{ "{\"a\":1,\"a\":2}", "duplicate key \"a\"" },
	{ "01", "trailing characters" },
	{ "-", "bad number" },
	{ "1.", "digit expected after '.'" },
	{ "1e", "digit expected in exponent" },
	{ "+1", "unexpected character '+'" },
	{ ".5", "unexpected character '.'" },
	{ "tru", "unknown literal" },
	{ "nul", "unknown literal" },
	{ "\"abc", "unterminated string" },
	{ "\"a\nb\"", "control character 0x0a in string" },
	{ "\"\\x\"", "bad escape \\x" },
	{ "\"\\u12\"", "bad \\u escape" },
	{ "\"\\ud800\"", "unpaired surrogate" },
	{ "\"\\udc00\"", "unpaired surrogate" },
	{ "\"\\ud800\\u0041\"", "unpaired surrogate" },
	{ "\"\\u0000\"", "\\u0000 is not allowed" },
	{ "\"\xff\"", "invalid UTF-8" },
	{ "\"\xc0\x80\"", "invalid UTF-8" },
	{ "[[[[[1]]]]]", "nesting deeper than 4" },
	{ "1 1", "trailing characters" },
	{ "123456789012345678901234567890123456789012345678901234567890123456789", "number longer than" },
};

static void test_parser_bad(void)
{
	for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		struct lh_jdoc doc;
		char err[200] = "";
		int rc = lh_json_parse(&doc, bad_docs[i].text, strlen(bad_docs[i].text), 4, err,
				       sizeof(err));
		if (rc != -EINVAL || !strstr(err, bad_docs[i].err)) {
			fprintf(stderr, "bad json %zu (%s): rc %d err `%s', wanted `%s'\n", i,
				bad_docs[i].text, rc, err, bad_docs[i].err);
			check_failures++;
		}
		CHECK(doc.root == NULL);
	}
	/* an embedded NUL is not whitespace */
	struct lh_jdoc doc;
	char err[200];
	CHECK(lh_json_parse(&doc, "{}\0", 3, 4, err, sizeof(err)) == -EINVAL);
	/* deep nesting is refused without deep recursion */
	char *deep = malloc(200001);
	memset(deep, '[', 200000);
	deep[200000] = 0;
	CHECK(lh_json_parse(&doc, deep, 200000, 1000000, err, sizeof(err)) == -EINVAL);
	CHECK_HAS(err, "nesting deeper than 32");
	free(deep);
	/* too many members */
	struct lh_jbuf b;
	lh_jbuf_init(&b);
	lh_json_obj_begin(&b, NULL);
	for (int i = 0; i < 1100; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		lh_json_int(&b, k, i);
	}
	lh_json_obj_end(&b);
	CHECK(lh_json_parse(&doc, b.buf, b.len, 4, err, sizeof(err)) == -EINVAL);
	CHECK_HAS(err, "more than 1024 members");
	lh_jbuf_free(&b);
}

struct req_case {
	const char *line;
	const char *err; /* NULL = valid */
};

static const struct req_case reqs[] = {
	{ "{\"cmd\":\"status\"}", NULL },
	{ "{\"args\":{},\"cmd\":\"migrate-add\"}", NULL },
	{ "{\"cmd\":\"x\",\"args\":{\"s\":\"v\",\"n\":5,\"b\":true,\"l\":[\"a\",\"b\"],\"e\":[]}}", NULL },
	{ "[]", "request must be a JSON object" },
	{ "\"status\"", "request must be a JSON object" },
	{ "{}", "request has no \"cmd\"" },
	{ "{\"cmd\":5}", "\"cmd\" must be a command name" },
	{ "{\"cmd\":\"\"}", "\"cmd\" must be a command name" },
	{ "{\"cmd\":\"Status\"}", "\"cmd\" must be a command name" },
	{ "{\"cmd\":\"a b\"}", "\"cmd\" must be a command name" },
	{ "{\"cmd\":\"status\",\"id\":1}", "unknown request member \"id\"" },
	{ "{\"cmd\":\"x\",\"args\":[]}", "\"args\" must be an object" },
	{ "{\"cmd\":\"x\",\"args\":{\"o\":{}}}", "argument \"o\": must be a string" },
	{ "{\"cmd\":\"x\",\"args\":{\"o\":null}}", "argument \"o\": must be a string" },
	{ "{\"cmd\":\"x\",\"args\":{\"l\":[1]}}", "argument \"l\": array elements must be strings" },
	{ "{\"cmd\":\"x\",\"args\":{\"l\":[[\"a\"]]}}", "nesting deeper than 3" },
	{ "{\"cmd\":\"x\"", "',' or '}' expected" },
	{ "{\"cmd\":\"x\"} trailing", "trailing characters" },
};

static void test_requests(void)
{
	struct lh_json_req req;
	char err[200];

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		err[0] = 0;
		int rc = lh_json_req_parse(&req, reqs[i].line, strlen(reqs[i].line), err, sizeof(err));
		bool ok = reqs[i].err ? rc == -EINVAL && strstr(err, reqs[i].err) : rc == 0;
		if (!ok) {
			fprintf(stderr, "request %zu (%s): rc %d err `%s', wanted `%s'\n", i, reqs[i].line,
				rc, err, reqs[i].err ? reqs[i].err : "ok");
			check_failures++;
		}
		lh_json_req_free(&req);
	}
	const char *line = "{\"cmd\":\"x\",\"args\":{\"s\":\"v\",\"n\":5,\"f\":1.5,\"b\":true,"
			   "\"l\":[\"a\",\"b\"]}}";
	CHECK(lh_json_req_parse(&req, line, strlen(line), err, sizeof(err)) == 0);
	const char *s, *list[4];
	int64_t n;
	bool b;
	CHECK(lh_req_str(&req, "s", &s) == 0 && strcmp(s, "v") == 0);
	CHECK(lh_req_str(&req, "n", &s) == -EINVAL);
	CHECK(lh_req_str(&req, "zz", &s) == -ENOENT);
	CHECK(lh_req_int(&req, "n", 0, 10, &n) == 0 && n == 5);
	CHECK(lh_req_int(&req, "n", 6, 10, &n) == -EINVAL);
	CHECK(lh_req_int(&req, "f", 0, 10, &n) == -EINVAL);
	CHECK(lh_req_bool(&req, "b", &b) == 0 && b);
	CHECK(lh_req_strs(&req, "l", list, 4) == 2 && strcmp(list[1], "b") == 0);
	CHECK(lh_req_strs(&req, "l", list, 1) == -EINVAL);
	CHECK(lh_req_strs(&req, "s", list, 4) == -EINVAL);
	lh_json_req_free(&req);

	/* size limits */
	char *big = malloc(LH_REQ_MAX_LINE + 2);
	memset(big, ' ', LH_REQ_MAX_LINE + 1);
	CHECK(lh_json_req_parse(&req, big, LH_REQ_MAX_LINE + 1, err, sizeof(err)) == -E2BIG);
	free(big);
	struct lh_jbuf jb;
	lh_jbuf_init(&jb);
	lh_json_obj_begin(&jb, NULL);
	lh_json_str(&jb, "cmd", "x");
	lh_json_obj_begin(&jb, "args");
	for (int i = 0; i < 33; i++) {
		char k[8];
		snprintf(k, sizeof(k), "a%d", i);
		lh_json_bool(&jb, k, true);
	}
	lh_json_obj_end(&jb);
	lh_json_obj_end(&jb);
	CHECK(lh_json_req_parse(&req, jb.buf, jb.len, err, sizeof(err)) == -EINVAL);
	CHECK_HAS(err, "more than 32 arguments");
	lh_jbuf_reset(&jb);
	lh_json_obj_begin(&jb, NULL);
	lh_json_str(&jb, "cmd", "x");
	lh_json_obj_begin(&jb, "args");
	lh_json_arr_begin(&jb, "l");
	for (int i = 0; i < 65; i++)
		lh_json_str(&jb, NULL, "e");
	lh_json_arr_end(&jb);
	lh_json_obj_end(&jb);
	lh_json_obj_end(&jb);
	CHECK(lh_json_req_parse(&req, jb.buf, jb.len, err, sizeof(err)) == -EINVAL);
	CHECK_HAS(err, "argument \"l\": more than 64 elements");
	lh_jbuf_free(&jb);
}

int main(void)
{
	test_writer();
	test_parser_good();
	test_parser_bad();
	test_requests();
	return check_report("test_json");
}
