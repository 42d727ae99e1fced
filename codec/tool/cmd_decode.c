/* SPDX-License-Identifier: MIT */
/* lhcodec decode: a file of WAN frames -> every stream's original bytes, verified. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "lh_wan.h"
#include "lhcodec.h"
#include "wan_cli.h"

#define MAX_OUT 4096
/* The largest store a file may ask for unless --store-mb says more: the
 * sender names the store size, so a forged HELLO would otherwise commit up to
 * 64 GiB (with THP, 2 MiB per scattered slot write). Four times the encoder's default. */
#define DEC_STORE_MB_DEFAULT 4096

typedef struct {
	uint32_t sid;
	FILE *f;
	char path[4096];
	uint64_t bytes, frame_bytes;
	int ended;
	int regular; /* a regular file: removed if the stream is not verified (a pipe or device stays) */
} out_stream;

typedef struct {
	const char *out;
	int is_dir;
	int in_fd;              /* the input, which no output may overwrite */
	out_stream s[MAX_OUT];
	int n;
} outputs;

/* A label is a file name from the sender: keep it inside OUTDIR. */
static void safe_name(char *dst, size_t cap, const char *label, uint32_t sid, const outputs *o)
{
	int ok = label[0] && strcmp(label, ".") && strcmp(label, "..") && !strchr(label, '/');
	for (const char *c = label; ok && *c; c++)
		ok = *c > 0x20 && *c < 0x7F; /* no control bytes, spaces or non-ASCII in names the sender picks */
	for (int i = 0; ok && i < o->n; i++)
		if (!strcmp(lh_cli_basename(o->s[i].path), label))
			ok = 0; /* two streams with one name: fall back to the id */
	size_t n = strlen(o->out);
	const char *sep = n && o->out[n - 1] == '/' ? "" : "/";
	if (ok)
		snprintf(dst, cap, "%s%s%s", o->out, sep, label);
	else
		snprintf(dst, cap, "%s%sstream-%u.bin", o->out, sep, sid);
}

static out_stream *find(outputs *o, uint32_t sid)
{
	for (int i = 0; i < o->n; i++)
		if (o->s[i].sid == sid && !o->s[i].ended)
			return &o->s[i];
	return NULL;
}

static int on_open(outputs *o, const lh_wan_frame_info *info)
{
	if (o->n == MAX_OUT) {
		fprintf(stderr, "lhcodec decode: more than %d streams\n", MAX_OUT);
		return -1;
	}
	if (!o->is_dir && o->n == 1) {
		fprintf(stderr, "lhcodec decode: the input holds several streams; give a directory as OUT\n");
		return -1;
	}
	out_stream *s = &o->s[o->n];
	memset(s, 0, sizeof(*s));
	s->sid = info->stream_id;
	if (o->is_dir)
		safe_name(s->path, sizeof(s->path), info->label, info->stream_id, o);
	else
		snprintf(s->path, sizeof(s->path), "%s", o->out);
	if (lh_cli_is_file(s->path, o->in_fd)) {
		fprintf(stderr, "lhcodec decode: %s is the input; it is not overwritten\n", s->path);
		return -1;
	}
	if (!(s->f = fopen(s->path, "wb"))) {
		fprintf(stderr, "lhcodec decode: %s: %s\n", s->path, strerror(errno));
		return -1;
	}
	struct stat sb;
	s->regular = fstat(fileno(s->f), &sb) == 0 && S_ISREG(sb.st_mode);
	o->n++;
	return 0;
}

/*
 * Frames read ahead of the one being decoded, so that the decoder works on
 * them on its second thread (lh_wan_dec_announce). Reading stops at the first
 * frame that is bad or cut short; that is reported in its turn, after every
 * frame before it decoded.
 */
#define RA_SLOTS (LH_WAN_DEC_AHEAD_MAX + 1)
typedef struct {
	FILE *in;
	uint8_t *buf[RA_SLOTS];
	long size[RA_SLOTS];
	uint64_t off[RA_SLOTS]; /* where each frame starts in IN */
	unsigned head, n;       /* the frame decoded next, frames read */
	unsigned announced;     /* of those, announced to the decoder (from head on) */
	uint64_t next_off;
	enum { RA_READING, RA_END, RA_BAD } state;
	char bad[96];           /* RA_BAD: what is wrong at next_off */
} reader;

static void ra_fill(reader *r)
{
	while (r->state == RA_READING && r->n < RA_SLOTS) {
		unsigned i = (r->head + r->n) % RA_SLOTS;
		uint8_t *f = r->buf[i];
		size_t got = fread(f, 1, LH_WAN_FRAME_HDR, r->in);
		if (got == 0 && feof(r->in)) {
			r->state = RA_END;
			return;
		}
		long size = got == LH_WAN_FRAME_HDR ? lh_wan_frame_size(f, got) : -LH_E_TRUNCATED;
		if (size <= 0) {
			snprintf(r->bad, sizeof(r->bad), "not a frame (%s)", lh_err_name((int)size));
			r->state = RA_BAD;
			return;
		}
		if (fread(f + got, 1, (size_t)size - got, r->in) != (size_t)size - got) {
			snprintf(r->bad, sizeof(r->bad), "truncated frame");
			r->state = RA_BAD;
			return;
		}
		r->size[i] = size;
		r->off[i] = r->next_off;
		r->next_off += (uint64_t)size;
		r->n++;
	}
}

/* Announces the frames read after those announced already, from the next one to decode on. */
static void ra_announce(reader *r, lh_wan_dec *d)
{
	while (r->announced < r->n) {
		unsigned i = (r->head + r->announced) % RA_SLOTS;
		if (lh_wan_dec_announce(d, r->buf[i], (size_t)r->size[i]) != 1)
			return; /* before HELLO, or no thread: it decodes in line */
		r->announced++;
	}
}

static int finish_stream(out_stream *s)
{
	s->ended = 1;
	if (fclose(s->f) != 0) {
		s->f = NULL;
		fprintf(stderr, "lhcodec decode: %s: write error\n", s->path);
		return -1;
	}
	s->f = NULL;
	return 0;
}

int decode_main(int argc, char **argv)
{
	const char *in_path = NULL;
	outputs *o = calloc(1, sizeof(*o));
	lh_wan_dec *d = lh_wan_dec_create();
	uint8_t *dst = malloc(LH_WAN_FRAME_RAW_MAX);
	reader ra = { 0 };
	int stats = 0, rc = 1, threads = 2;
	FILE *in = NULL;
	double t = 0;
	struct stat sb;

	for (int i = 0; i < RA_SLOTS; i++)
		if (!(ra.buf[i] = malloc(LH_WAN_FRAME_MAX)))
			goto out;
	if (!o || !d || !dst)
		goto out;
	int64_t store_mb = DEC_STORE_MB_DEFAULT;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--stats"))
			stats = 1;
		else if (!strcmp(argv[i], "--store-mb") && i + 1 < argc)
			store_mb = strtoll(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!in_path)
			in_path = argv[i];
		else if (!o->out)
			o->out = argv[i];
		else
			in_path = NULL;
	}
	if (!in_path || !o->out || threads < 1 || threads > 2) {
		fprintf(stderr, "usage: lhcodec decode [--store-mb MAX] [--threads 1|2] [--stats] IN OUTDIR|OUT\n");
		goto out;
	}
	if (lh_wan_dec_set_param(d, LH_WAN_P_STORE_MB, store_mb) < 0) {
		fprintf(stderr, "lhcodec decode: --store-mb %lld out of range\n", (long long)store_mb);
		goto out;
	}
	/* OUT names a directory if it is one, or if it ends in '/' (then it is created) */
	size_t out_len = strlen(o->out);
	if (out_len > 1 && o->out[out_len - 1] == '/' && stat(o->out, &sb) != 0 && mkdir(o->out, 0777) != 0) {
		fprintf(stderr, "lhcodec decode: %s: %s\n", o->out, strerror(errno));
		goto out;
	}
	o->is_dir = stat(o->out, &sb) == 0 && S_ISDIR(sb.st_mode);
	if (!(in = fopen(in_path, "rb"))) {
		fprintf(stderr, "lhcodec decode: %s: %s\n", in_path, strerror(errno));
		goto out;
	}
	o->in_fd = fileno(in);
	ra.in = in;
	/* seconds in --stats: the whole loop (reading the input, decoding on both threads)
	 * less the time spent writing the outputs. Timing only lh_wan_dec_frame would
	 * leave out what the second thread does while this one reads and writes. */
	const double loop0 = lh_cli_now();
	double writing = 0;
	for (;;) {
		ra_fill(&ra);
		if (ra.n == 0) {
			if (ra.state == RA_BAD) {
				fprintf(stderr, "lhcodec decode: %s: offset %llu: %s\n", in_path,
					(unsigned long long)ra.next_off, ra.bad);
				goto out;
			}
			break;
		}
		if (threads > 1)
			ra_announce(&ra, d);
		const uint8_t *frame = ra.buf[ra.head];
		const long size = ra.size[ra.head];
		const uint64_t off = ra.off[ra.head];
		ra.head = (ra.head + 1) % RA_SLOTS; /* its slot is refilled only after this frame decoded */
		ra.n--;
		if (ra.announced)
			ra.announced--;
		lh_wan_frame_info info;
		long n = lh_wan_dec_frame(d, frame, (size_t)size, dst, LH_WAN_FRAME_RAW_MAX, &info);
		if (n < 0) {
			const lh_wan_error *e = lh_wan_dec_error(d);
			fprintf(stderr, "lhcodec decode: %s: frame at offset %llu: %s: %s%s\n", in_path,
				(unsigned long long)off, lh_err_name((int)n), e->detail,
				info.type == LH_WAN_FRAME_HELLO && n == -LH_E_PARAM ? " (raise it with --store-mb)" : "");
			goto out;
		}
		const double w0 = lh_cli_now();
		out_stream *s = NULL;
		if (info.type == LH_WAN_FRAME_OPEN) {
			if (on_open(o, &info) < 0)
				goto out;
			s = &o->s[o->n - 1];
		} else if (info.type != LH_WAN_FRAME_HELLO && !(s = find(o, info.stream_id))) {
			goto out; /* the decoder checked that the stream is open */
		}
		if (s)
			s->frame_bytes += (uint64_t)size;
		if (n > 0) {
			if (fwrite(dst, 1, (size_t)n, s->f) != (size_t)n) {
				fprintf(stderr, "lhcodec decode: %s: %s\n", s->path, strerror(errno));
				goto out;
			}
			s->bytes += (uint64_t)n;
		}
		if ((info.type == LH_WAN_FRAME_END || info.type == LH_WAN_FRAME_ABORT) && finish_stream(s) < 0)
			goto out;
		if (info.type == LH_WAN_FRAME_ABORT)
			fprintf(stderr, "lhcodec decode: %s: stream was aborted by the sender\n", s->path);
		writing += lh_cli_now() - w0;
	}
	t = lh_cli_now() - loop0 - writing;
	if (lh_wan_dec_stats(d)->frames == 0) { /* e.g. a transfer that failed before its first byte */
		fprintf(stderr, "lhcodec decode: %s: empty, not an encoded file\n", in_path);
		goto out;
	}
	if (lh_wan_dec_open_streams(d)) {
		fprintf(stderr, "lhcodec decode: %s: %u streams have no END frame (truncated input)\n", in_path,
			lh_wan_dec_open_streams(d));
		goto out;
	}
	if (stats) {
		printf("{");
		lh_cli_print_dec_stats(stdout, lh_wan_dec_stats(d), t);
		printf(", \"gb_per_s\": %.3f, \"streams\": [", t > 0 ? (double)lh_wan_dec_stats(d)->bytes_out / 1e9 / t : 0);
		for (int i = 0; i < o->n; i++) {
			printf("%s{\"name\": ", i ? ", " : "");
			lh_cli_json_string(stdout, o->s[i].path);
			printf(", \"bytes_in\": %llu, \"bytes_out\": %llu}", (unsigned long long)o->s[i].frame_bytes,
			       (unsigned long long)o->s[i].bytes);
		}
		printf("]}\n");
	}
	rc = 0;
out:
	/* a stream that was not verified must not look like a good copy */
	if (o)
		for (int i = 0; i < o->n; i++)
			if (o->s[i].f) {
				fclose(o->s[i].f);
				if (o->s[i].regular)
					remove(o->s[i].path);
			}
	lh_wan_dec_free(d); /* first: its thread may still read announced frames */
	if (in)
		fclose(in);
	free(o);
	for (int i = 0; i < RA_SLOTS; i++)
		free(ra.buf[i]);
	free(dst);
	return rc;
}
