/* SPDX-License-Identifier: MIT */
/* Parser invariants: same events for every chunking, raw bytes cover the input, emit == raw; bad input. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>
#include "vecgen.h"

static int failures, checks;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (ok)
		return;
	failures++;
	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* What one run saw: a digest of every event (fields included) and the re-emitted stream. */
struct run {
	XXH3_state_t *digest;
	uint64_t events, emit_mismatch, raw_gaps;
	uint64_t next_offset;
	vbuf emitted;
	uint8_t scratch[70000];
};

static void digest_u64(struct run *r, uint64_t v) { XXH3_64bits_update(r->digest, &v, sizeof(v)); }

static int on_event(void *opaque, const lh_event *ev)
{
	struct run *r = opaque;
	long n = lh_emit_event(ev, r->scratch, sizeof(r->scratch));

	r->events++;
	if (ev->offset != r->next_offset)
		r->raw_gaps++;
	r->next_offset = ev->offset + ev->raw_len;
	if (n < 0 || (size_t)n != ev->raw_len || memcmp(r->scratch, ev->raw, ev->raw_len) != 0)
		r->emit_mismatch++;
	vb_bytes(&r->emitted, ev->raw, ev->raw_len);
	/* Opaque events may be split differently by different chunkings; they are
	 * covered by the byte comparison. Everything else must be identical. */
	if (ev->type == LH_EV_OPAQUE)
		return 0;
	digest_u64(r, ev->type);
	digest_u64(r, ev->offset);
	digest_u64(r, ev->raw_len);
	digest_u64(r, ev->guessed);
	XXH3_64bits_update(r->digest, ev->raw, ev->raw_len);
	switch (ev->type) {
	case LH_EV_SECTION_HEADER:
		digest_u64(r, ev->u.section.section_id);
		digest_u64(r, ev->u.section.is_ram);
		break;
	case LH_EV_RAM_ZERO: case LH_EV_RAM_PAGE: case LH_EV_RAM_XBZRLE: case LH_EV_RAM_COMPRESS:
		digest_u64(r, ev->u.ram.flags);
		digest_u64(r, ev->u.ram.addr);
		digest_u64(r, ev->u.ram.block->index);
		break;
	case LH_EV_MULTIFD_PAGE:
		digest_u64(r, ev->u.mf_page.addr);
		digest_u64(r, ev->u.mf_page.block->index);
		break;
	default:
		break;
	}
	return 0;
}

struct result {
	int rc;
	uint64_t digest, events;
	int eof, tail;
	lh_parse_error err;
};

/* Feeds data in chunks drawn from `seed` (0 = one chunk, 1 = one byte at a time). */
static struct result parse_chunked(const uint8_t *data, size_t len, lh_channel_kind chan, uint32_t seed,
				   size_t max_chunk, vbuf *emitted_out)
{
	struct run *r = calloc(1, sizeof(*r));
	lh_parser *p = lh_parser_create();
	struct result res = { 0 };
	uint32_t s = seed;
	size_t pos = 0;

	r->digest = XXH3_createState();
	XXH3_64bits_reset(r->digest);
	lh_parser_set_param(p, LH_P_CHANNEL, chan);
	while (pos < len && res.rc == 0) {
		size_t n;
		if (seed == 0)
			n = len;
		else if (seed == 1)
			n = 1;
		else {
			s = s * 1664525 + 1013904223;
			n = 1 + (s >> 8) % max_chunk;
		}
		if (n > len - pos)
			n = len - pos;
		res.rc = lh_parser_feed(p, data + pos, n, on_event, r);
		pos += n;
	}
	if (res.rc == 0)
		res.rc = lh_parser_finish(p, on_event, r);
	res.digest = XXH3_64bits_digest(r->digest);
	res.events = r->events;
	res.eof = lh_parser_saw_eof(p);
	res.tail = lh_parser_in_tail(p);
	res.err = *lh_parser_error(p);
	check(r->emit_mismatch == 0, "seed %u: %llu events re-emitted differently", seed,
	      (unsigned long long)r->emit_mismatch);
	check(r->raw_gaps == 0, "seed %u: %llu events do not continue the previous one", seed,
	      (unsigned long long)r->raw_gaps);
	if (res.rc == 0)
		check(r->emitted.len == len && !memcmp(r->emitted.data, data, len),
		      "seed %u: concatenated raw bytes differ from the input (%zu vs %zu bytes)", seed,
		      r->emitted.len, len);
	if (emitted_out)
		*emitted_out = r->emitted;
	else
		vb_free(&r->emitted);
	XXH3_freeState(r->digest);
	lh_parser_free(p);
	free(r);
	return res;
}

static void check_invariants(const char *name, const uint8_t *data, size_t len, lh_channel_kind chan,
			     int chunkings, int expect_eof, int expect_tail)
{
	struct result whole = parse_chunked(data, len, chan, 0, 0, NULL);

	check(whole.rc == 0, "%s: parse failed: %s at %llu: %s", name, lh_err_name(whole.rc),
	      (unsigned long long)whole.err.offset, whole.err.detail);
	if (expect_eof >= 0)
		check(whole.eof == expect_eof, "%s: eof %d, expected %d", name, whole.eof, expect_eof);
	if (expect_tail >= 0)
		check(whole.tail == expect_tail, "%s: tail %d, expected %d", name, whole.tail, expect_tail);
	for (int i = 0; i < chunkings; i++) {
		uint32_t seed = (uint32_t)i + 1;
		size_t max_chunk = i % 4 == 0 ? 7 : i % 4 == 1 ? 300 : i % 4 == 2 ? 5000 : 70000;
		struct result c;
		if (seed == 1 && len > (8u << 20))
			continue; /* byte-at-a-time on big captures: covered by the vectors */
		c = parse_chunked(data, len, chan, seed, max_chunk, NULL);
		check(c.rc == whole.rc && c.digest == whole.digest && c.events >= whole.events,
		      "%s: chunking %u (max %zu) gives other events (rc %d digest %llx vs %llx)", name, seed,
		      max_chunk, c.rc, (unsigned long long)c.digest, (unsigned long long)whole.digest);
	}
	printf("ok  %-28s %9zu bytes %7llu events, %d chunkings identical\n", name, len,
	       (unsigned long long)whole.events, chunkings);
}

/* Every prefix of a valid stream is either fine (ends at a boundary) or TRUNCATED: never another error. */
static void check_truncations(const char *name, const uint8_t *data, size_t len, lh_channel_kind chan)
{
	int bad = 0;
	for (size_t cut = 0; cut < len; cut += cut < 4096 ? 1 : 61) {
		struct result r = parse_chunked(data, cut, chan, 0, 0, NULL);
		if (r.rc != 0 && r.rc != -LH_E_TRUNCATED) {
			if (!bad++)
				check(0, "%s cut at %zu: %s: %s", name, cut, lh_err_name(r.rc), r.err.detail);
		} else if (r.rc == -LH_E_TRUNCATED && (r.err.offset > cut || !r.err.detail[0])) {
			if (!bad++)
				check(0, "%s cut at %zu: truncation reported at %llu", name, cut,
				      (unsigned long long)r.err.offset);
		}
	}
	check(bad == 0, "%s: %d bad truncations", name, bad);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *d;

	if (!f || fstat(fileno(f), &st) < 0)
		return NULL;
	d = malloc((size_t)st.st_size + 1);
	*len = fread(d, 1, (size_t)st.st_size, f);
	fclose(f);
	return d;
}

static int check_path(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d) {
		size_t len, nl = strlen(path);
		uint8_t *data;
		if (nl < 5 || strcmp(path + nl - 4, ".bin") || strstr(path, ".rp."))
			return 0;
		data = read_file(path, &len);
		check(data != NULL, "cannot read %s", path);
		if (!data)
			return 0;
		check_invariants(path, data, len, LH_CHAN_AUTO, 12, -1, -1);
		free(data);
		return 1;
	}
	while ((de = readdir(d))) {
		char sub[4096];
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		n += check_path(sub);
	}
	closedir(d);
	return n;
}

void run_bad_input_tests(void (*check_fn)(int, const char *, ...));

int main(int argc, char **argv)
{
	for (size_t i = 0; i < lh_test_vector_count; i++) {
		const vector_def *v = &lh_test_vectors[i];
		vbuf b = { 0 };
		v->build(&b);
		check_invariants(v->name, b.data, b.len, v->channel, 300, v->expect_eof, v->expect_tail);
		check_truncations(v->name, b.data, b.len, v->channel);
		vb_free(&b);
	}
	run_bad_input_tests(check);

	/* Real captures: every *.bin under the given directories (recursively), or the given files. */
	int captures = 0;
	for (int a = 1; a < argc; a++)
		captures += check_path(argv[a]);
	if (argc > 1)
		check(captures > 0, "no captures found in the given paths");
	printf("%d checks, %d failed (%d real captures)\n", checks, failures, captures);
	return failures ? 1 : 0;
}
