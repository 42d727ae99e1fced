/* SPDX-License-Identifier: MIT */
/* JSON for the control socket: a growable writer, a bounded strict parser, request objects. */
#include "gateway/base/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*-*****  Writer  *****-*/

void lh_jbuf_init(struct lh_jbuf *b)
{
	memset(b, 0, sizeof(*b));
	b->first[0] = true;
}

void lh_jbuf_reset(struct lh_jbuf *b)
{
	b->len = 0;
	if (b->buf)
		b->buf[0] = 0;
	b->oom = false;
	b->depth = 0;
	b->first[0] = true;
	b->error[0] = 0;
}

void lh_jbuf_free(struct lh_jbuf *b)
{
	free(b->buf);
	lh_jbuf_init(b);
}

static bool jbuf_reserve(struct lh_jbuf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *n = realloc(b->buf, cap);
	if (!n) {
		b->oom = true;
		return false;
	}
	b->buf = n;
	b->cap = cap;
	return true;
}

void lh_jbuf_append(struct lh_jbuf *b, const void *data, size_t len)
{
	if (!jbuf_reserve(b, len))
		return;
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = 0;
}

static void jbuf_putc(struct lh_jbuf *b, char c)
{
	lh_jbuf_append(b, &c, 1);
}

void lh_jbuf_printf(struct lh_jbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		lh_jbuf_append(b, small, (size_t)n);
		return;
	}
	if (!jbuf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int lh_jbuf_fail(struct lh_jbuf *b, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->error, sizeof(b->error), fmt, ap);
	va_end(ap);
	return code;
}

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len;
	uint32_t c, min;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static void json_escaped(struct lh_jbuf *b, const char *val, size_t len)
{
	const unsigned char *s = (const unsigned char *)val;

	jbuf_putc(b, '"');
	for (size_t i = 0; i < len;) {
		size_t run = i;
		/* copy the longest run that needs no escaping in one go */
		while (run < len && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			lh_jbuf_append(b, s + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = s[i];
		uint32_t cp;
		size_t l;
		switch (c) {
		case '"': lh_jbuf_append(b, "\\\"", 2); i++; continue;
		case '\\': lh_jbuf_append(b, "\\\\", 2); i++; continue;
		case '\n': lh_jbuf_append(b, "\\n", 2); i++; continue;
		case '\r': lh_jbuf_append(b, "\\r", 2); i++; continue;
		case '\t': lh_jbuf_append(b, "\\t", 2); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			lh_jbuf_printf(b, "\\u%04x", c);
			i++;
		} else if ((l = utf8_seq(s + i, len - i, &cp)) > 0) {
			lh_jbuf_append(b, s + i, l);
			i += l;
		} else {
			lh_jbuf_append(b, "\xef\xbf\xbd", 3); /* U+FFFD for a bad byte */
			i++;
		}
	}
	jbuf_putc(b, '"');
}

/* Comma and key before a value. */
static void json_prefix(struct lh_jbuf *b, const char *key)
{
	if (!b->first[b->depth])
		jbuf_putc(b, ',');
	b->first[b->depth] = false;
	if (key) {
		json_escaped(b, key, strlen(key));
		jbuf_putc(b, ':');
	}
}

static void json_open(struct lh_jbuf *b, const char *key, char c)
{
	json_prefix(b, key);
	jbuf_putc(b, c);
	if (b->depth >= LH_JSON_MAX_DEPTH) { /* a writer bug; make it visible */
		b->oom = true;
		return;
	}
	b->depth++;
	b->first[b->depth] = true;
}

static void json_close(struct lh_jbuf *b, char c)
{
	jbuf_putc(b, c);
	if (b->depth > 0)
		b->depth--;
}

void lh_json_obj_begin(struct lh_jbuf *b, const char *key) { json_open(b, key, '{'); }
void lh_json_obj_end(struct lh_jbuf *b) { json_close(b, '}'); }
void lh_json_arr_begin(struct lh_jbuf *b, const char *key) { json_open(b, key, '['); }
void lh_json_arr_end(struct lh_jbuf *b) { json_close(b, ']'); }

void lh_json_strn(struct lh_jbuf *b, const char *key, const char *val, size_t len)
{
	json_prefix(b, key);
	json_escaped(b, val, len);
}

void lh_json_str(struct lh_jbuf *b, const char *key, const char *val)
{
	if (!val) {
		lh_json_null(b, key);
		return;
	}
	lh_json_strn(b, key, val, strlen(val));
}

void lh_json_int(struct lh_jbuf *b, const char *key, int64_t val)
{
	json_prefix(b, key);
	lh_jbuf_printf(b, "%" PRId64, val);
}

void lh_json_uint(struct lh_jbuf *b, const char *key, uint64_t val)
{
	json_prefix(b, key);
	lh_jbuf_printf(b, "%" PRIu64, val);
}

void lh_json_double(struct lh_jbuf *b, const char *key, double val)
{
	json_prefix(b, key);
	if (!isfinite(val))
		lh_jbuf_append(b, "null", 4);
	else {
		/* shortest form that reads back exactly: 0.1 rather than 0.10000000000000001 */
		char tmp[32];
		snprintf(tmp, sizeof(tmp), "%.15g", val);
		if (strtod(tmp, NULL) != val)
			snprintf(tmp, sizeof(tmp), "%.17g", val);
		lh_jbuf_append(b, tmp, strlen(tmp));
	}
}

void lh_json_bool(struct lh_jbuf *b, const char *key, bool val)
{
	json_prefix(b, key);
	if (val)
		lh_jbuf_append(b, "true", 4);
	else
		lh_jbuf_append(b, "false", 5);
}

void lh_json_null(struct lh_jbuf *b, const char *key)
{
	json_prefix(b, key);
	lh_jbuf_append(b, "null", 4);
}

/*-*****  Parser  *****-*/

#define JSON_MAX_TEXT (16u << 20)
#define JSON_MAX_MEMBERS 1024 /* per object: keeps the duplicate-key check cheap */
#define JSON_BLOCK_NODES 128

struct jblock {
	struct jblock *next;
	size_t used;
	struct lh_jv nodes[JSON_BLOCK_NODES];
};

struct jparser {
	const unsigned char *s;
	size_t len, pos;
	int max_depth;
	struct jblock *blocks;
	char *strs;
	size_t strpos;
	char *err;
	size_t errlen;
	int rc;
};

static void *jp_fail(struct jparser *p, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void *jp_fail(struct jparser *p, int rc, const char *fmt, ...)
{
	if (p->rc)
		return NULL;
	p->rc = rc;
	if (p->err && p->errlen) {
		char what[160];
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		snprintf(p->err, p->errlen, "offset %zu: %s", p->pos, what);
	}
	return NULL;
}

static struct lh_jv *jp_node(struct jparser *p, enum lh_jtype type)
{
	if (!p->blocks || p->blocks->used == JSON_BLOCK_NODES) {
		struct jblock *blk = calloc(1, sizeof(*blk));
		if (!blk)
			return jp_fail(p, -ENOMEM, "out of memory");
		blk->next = p->blocks;
		p->blocks = blk;
	}
	struct lh_jv *v = &p->blocks->nodes[p->blocks->used++];
	v->type = type;
	return v;
}

static void jp_ws(struct jparser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static bool jp_lit(struct jparser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return false;
	p->pos += n;
	return true;
}

static int hex4(const unsigned char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int c = s[i], d;
		if (c >= '0' && c <= '9') d = c - '0';
		else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
		else return -1;
		v = v * 16 + d;
	}
	return v;
}

static void put_utf8(char *out, size_t *o, uint32_t c)
{
	if (c < 0x80) {
		out[(*o)++] = (char)c;
	} else if (c < 0x800) {
		out[(*o)++] = (char)(0xc0 | (c >> 6));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		out[(*o)++] = (char)(0xe0 | (c >> 12));
		out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | (c >> 18));
		out[(*o)++] = (char)(0x80 | ((c >> 12) & 0x3f));
		out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	}
}

/* At the opening quote. Decoded text is never longer than its source, so strs (len+1) suffices. */
static const char *jp_string(struct jparser *p, size_t *outlen)
{
	char *out = p->strs + p->strpos;
	size_t o = 0;

	p->pos++;
	for (;;) {
		if (p->pos >= p->len)
			return jp_fail(p, -EINVAL, "unterminated string");
		unsigned char c = p->s[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20)
			return jp_fail(p, -EINVAL, "control character 0x%02x in string", c);
		if (c != '\\') {
			uint32_t cp;
			size_t l = utf8_seq(p->s + p->pos, p->len - p->pos, &cp);
			if (!l)
				return jp_fail(p, -EINVAL, "invalid UTF-8 in string");
			memcpy(out + o, p->s + p->pos, l);
			o += l;
			p->pos += l;
			continue;
		}
		if (p->pos + 1 >= p->len)
			return jp_fail(p, -EINVAL, "unterminated escape");
		char e = (char)p->s[p->pos + 1], d;
		switch (e) {
		case '"': case '\\': case '/': d = e; break;
		case 'b': d = '\b'; break;
		case 'f': d = '\f'; break;
		case 'n': d = '\n'; break;
		case 'r': d = '\r'; break;
		case 't': d = '\t'; break;
		default: d = 0; break;
		}
		if (d) {
			out[o++] = d;
			p->pos += 2;
			continue;
		}
		if (e != 'u')
			return jp_fail(p, -EINVAL, "bad escape \\%c", e >= 0x20 && e < 0x7f ? e : '?');
		int hi = p->len - p->pos >= 6 ? hex4(p->s + p->pos + 2) : -1;
		if (hi < 0)
			return jp_fail(p, -EINVAL, "bad \\u escape");
		p->pos += 6;
		uint32_t cp = (uint32_t)hi;
		if (hi >= 0xd800 && hi <= 0xdbff) {
			int lo = p->len - p->pos >= 6 && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u'
				 ? hex4(p->s + p->pos + 2) : -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return jp_fail(p, -EINVAL, "unpaired surrogate");
			p->pos += 6;
			cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
		} else if (hi >= 0xdc00 && hi <= 0xdfff) {
			return jp_fail(p, -EINVAL, "unpaired surrogate");
		} else if (hi == 0) {
			return jp_fail(p, -EINVAL, "\\u0000 is not allowed");
		}
		put_utf8(out, &o, cp);
	}
	out[o] = 0;
	p->strpos += o + 1;
	*outlen = o;
	return out;
}

static struct lh_jv *jp_number(struct jparser *p)
{
	size_t start = p->pos;
	bool integral = true;

	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
		return jp_fail(p, -EINVAL, "bad number");
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		integral = false;
		p->pos++;
		if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
			return jp_fail(p, -EINVAL, "bad number: digit expected after '.'");
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		integral = false;
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
			return jp_fail(p, -EINVAL, "bad number: digit expected in exponent");
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	}
	char tmp[64];
	size_t n = p->pos - start;
	if (n >= sizeof(tmp))
		return jp_fail(p, -EINVAL, "number longer than %zu characters", sizeof(tmp) - 1);
	memcpy(tmp, p->s + start, n);
	tmp[n] = 0;
	struct lh_jv *v = jp_node(p, LH_JNUM);
	if (!v)
		return NULL;
	v->num = strtod(tmp, NULL);
	if (integral) {
		errno = 0;
		long long ll = strtoll(tmp, NULL, 10);
		if (errno == 0) {
			v->is_int = true;
			v->i = ll;
		}
	}
	return v;
}

static struct lh_jv *jp_value(struct jparser *p, int depth);

/* At '{' or '['. */
static struct lh_jv *jp_container(struct jparser *p, int depth, bool obj)
{
	if (depth >= p->max_depth)
		return jp_fail(p, -EINVAL, "nesting deeper than %d", p->max_depth);
	struct lh_jv *v = jp_node(p, obj ? LH_JOBJ : LH_JARR), *last = NULL;
	if (!v)
		return NULL;
	char close = obj ? '}' : ']';
	p->pos++;
	jp_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return v;
	}
	for (;;) {
		const char *key = NULL;
		if (obj) {
			size_t klen;
			jp_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return jp_fail(p, -EINVAL, "member name (string) expected");
			if (!(key = jp_string(p, &klen)))
				return NULL;
			if (v->len >= JSON_MAX_MEMBERS)
				return jp_fail(p, -EINVAL, "more than %d members", JSON_MAX_MEMBERS);
			for (const struct lh_jv *c = v->child; c; c = c->next)
				if (strcmp(c->key, key) == 0)
					return jp_fail(p, -EINVAL, "duplicate key \"%.40s\"", key);
			jp_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return jp_fail(p, -EINVAL, "':' expected");
			p->pos++;
		}
		struct lh_jv *c = jp_value(p, depth + 1);
		if (!c)
			return NULL;
		c->key = key;
		if (last)
			last->next = c;
		else
			v->child = c;
		last = c;
		v->len++;
		jp_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return v;
		}
		return jp_fail(p, -EINVAL, "',' or '%c' expected", close);
	}
}

static struct lh_jv *jp_value(struct jparser *p, int depth)
{
	jp_ws(p);
	if (p->pos >= p->len)
		return jp_fail(p, -EINVAL, "value expected, found end of input");
	unsigned char c = p->s[p->pos];
	struct lh_jv *v;
	switch (c) {
	case '{': return jp_container(p, depth, true);
	case '[': return jp_container(p, depth, false);
	case '"': {
		size_t n;
		const char *s = jp_string(p, &n);
		if (!s || !(v = jp_node(p, LH_JSTR)))
			return NULL;
		v->str = s;
		v->len = n;
		return v;
	}
	case 't': case 'f': case 'n':
		if (jp_lit(p, "true") || jp_lit(p, "false")) {
			if ((v = jp_node(p, LH_JBOOL)))
				v->b = c == 't';
			return v;
		}
		if (jp_lit(p, "null"))
			return jp_node(p, LH_JNULL);
		return jp_fail(p, -EINVAL, "unknown literal");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return jp_number(p);
		return jp_fail(p, -EINVAL, "unexpected character '%c'", c >= 0x20 && c < 0x7f ? c : '?');
	}
}

void lh_jdoc_free(struct lh_jdoc *doc)
{
	struct jblock *b = doc->blocks;
	while (b) {
		struct jblock *next = b->next;
		free(b);
		b = next;
	}
	free(doc->strs);
	memset(doc, 0, sizeof(*doc));
}

int lh_json_parse(struct lh_jdoc *doc, const char *text, size_t len, int max_depth,
		  char *err, size_t errlen)
{
	struct jparser p = { .s = (const unsigned char *)text, .len = len,
			     .max_depth = max_depth, .err = err, .errlen = errlen };

	memset(doc, 0, sizeof(*doc));
	if (p.max_depth > LH_JSON_MAX_DEPTH) /* bounds the recursion */
		p.max_depth = LH_JSON_MAX_DEPTH;
	if (err && errlen)
		err[0] = 0;
	if (len > JSON_MAX_TEXT) {
		jp_fail(&p, -E2BIG, "document longer than %u bytes", JSON_MAX_TEXT);
		return p.rc;
	}
	if (!(p.strs = malloc(len + 1))) {
		jp_fail(&p, -ENOMEM, "out of memory");
		return p.rc;
	}
	struct lh_jv *root = jp_value(&p, 0);
	if (root) {
		jp_ws(&p);
		if (p.pos != p.len)
			jp_fail(&p, -EINVAL, "trailing characters after the value");
	}
	doc->blocks = p.blocks;
	doc->strs = p.strs;
	if (p.rc) {
		lh_jdoc_free(doc);
		return p.rc;
	}
	doc->root = root;
	return 0;
}

const struct lh_jv *lh_jv_get(const struct lh_jv *obj, const char *key)
{
	if (!obj || obj->type != LH_JOBJ)
		return NULL;
	for (const struct lh_jv *c = obj->child; c; c = c->next)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

const char *lh_jv_str(const struct lh_jv *obj, const char *key, const char *dflt)
{
	const struct lh_jv *v = lh_jv_get(obj, key);
	return v && v->type == LH_JSTR ? v->str : dflt;
}

double lh_jv_num(const struct lh_jv *obj, const char *key, double dflt)
{
	const struct lh_jv *v = lh_jv_get(obj, key);
	return v && v->type == LH_JNUM ? v->num : dflt;
}
