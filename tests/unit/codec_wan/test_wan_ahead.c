/* SPDX-License-Identifier: MIT */
/*
 * lh_wan_dec_announce: a decoder that works frames ahead on a second thread
 * gives the same bytes and the same errors, at the same frame, as one that
 * decodes in line; and the announce contract holds. An encoder with a zstd
 * worker thread gives the same frames as one without (its own binary, so that
 * both also run under ThreadSanitizer).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "be.h"
#include "frame.h"
#include "synth.h"
#include "wan_harness.h"



typedef struct {
	long r;              /* 0, or the first error */
	lh_wan_error err;
	vec out;             /* every frame's output, in order */
	size_t frames;       /* decoded without error */
	uint64_t ahead;      /* of them, worked on ahead by the second thread */
} run;

static void decode_run(const vec *frames, int ahead, run *o)
{
	static uint8_t dst[LH_WAN_FRAME_RAW_MAX];
	lh_wan_dec *d = lh_wan_dec_create();
	size_t ann = 0;
	memset(o, 0, sizeof(*o));
	for (size_t off = 0; off < frames->len;) {
		long n = lh_wan_frame_size(frames->b + off, frames->len - off);
		if (n <= 0 || (size_t)n > frames->len - off) {
			o->r = n < 0 ? n : -LH_E_TRUNCATED;
			break;
		}
		if (ahead)
			announce_ahead(d, frames, off, &ann);
		long r = lh_wan_dec_frame(d, frames->b + off, (size_t)n, dst, sizeof(dst), NULL);
		if (r < 0) {
			o->r = r;
			o->err = *lh_wan_dec_error(d);
			break;
		}
		vput(&o->out, dst, (size_t)r);
		o->frames++;
		off += (size_t)n;
	}
	o->ahead = lh_wan_dec_stats(d)->ahead_frames;
	lh_wan_dec_free(d);
}

static int same_run(const run *a, const run *b)
{
	return a->r == b->r && a->frames == b->frames && a->err.code == b->err.code &&
	       a->err.stream_id == b->err.stream_id && a->err.where == b->err.where &&
	       !strcmp(a->err.detail, b->err.detail) && a->out.len == b->out.len &&
	       !memcmp(a->out.b, b->out.b, a->out.len);
}

/* Two streams of two images, interleaved, with many binary pages (B sections), the level cycling
 * (pressure 0: level 0, raw Z sections); threads: LH_WAN_P_THREADS; st (if not NULL): the stats. */
static void make_session(uint32_t pages, int threads, vec *frames, uint8_t **s1, size_t *l1, lh_wan_stats *st)
{
	synth_cfg c;
	uint8_t *s2;
	synth_default(&c);
	c.pages = pages;
	c.binary_frac = 0.5;
	*l1 = synth_stream(&c, s1);
	c.vm_seed = 7;
	c.image_seed = 11;
	size_t l2 = synth_stream(&c, &s2);
	lh_wan_enc *e = lh_wan_enc_create();
	lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 48);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_THREADS, threads) == 0);
	lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, "one");
	lh_wan_enc_open(e, 2, 2, LH_CHAN_AUTO, "two");
	const int64_t pressure[] = { 50, 0, 70, 50 };
	size_t chunk = 3u << 20;
	for (size_t off = 0, i = 0; off < *l1 || off < l2; off += chunk, i++) {
		lh_wan_enc_set_param(e, LH_WAN_P_LINK_PRESSURE, pressure[i % 4]);
		if (off < *l1)
			feed_all(e, 1, *s1 + off, *l1 - off < chunk ? *l1 - off : chunk, 1 << 20, frames);
		if (off < l2)
			feed_all(e, 2, s2 + off, l2 - off < chunk ? l2 - off : chunk, 1 << 20, frames);
	}
	CHECK(lh_wan_enc_end(e, 1, NULL) == 0 && lh_wan_enc_end(e, 2, NULL) == 0);
	pull_all(e, frames);
	if (st)
		*st = *lh_wan_enc_stats(e);
	lh_wan_enc_free(e);
	free(s2);
}

/* Where the frame holding byte pos starts, and its size (0 when the walk fails first). */
static size_t frame_at(const vec *frames, size_t pos, size_t *size)
{
	for (size_t at = 0; at < frames->len;) {
		long n = lh_wan_frame_size(frames->b + at, frames->len - at);
		if (n <= 0)
			break;
		if (pos < at + (size_t)n) {
			*size = (size_t)n;
			return at;
		}
		at += (size_t)n;
	}
	*size = 0;
	return 0;
}

static void test_same_as_in_line(void)
{
	vec frames = { 0 };
	uint8_t *s1;
	size_t l1;
	make_session(6000, 2, &frames, &s1, &l1, NULL);
	run a, b;
	decode_run(&frames, 0, &a);
	decode_run(&frames, 1, &b);
	CHECK(a.r == 0 && same_run(&a, &b));
	CHECK(a.ahead == 0 && b.ahead > b.frames / 3);
	/* the session had B sections and went round the B ring, which the thread also decodes */
	size_t with_b, b_raw, unshrunk;
	b_sections(&frames, &with_b, &b_raw, &unshrunk);
	printf("%zu frames with B, %zu B bytes\n", with_b, b_raw);
	CHECK(with_b > 10 && b_raw > (9u << 20));
	free(a.out.b);
	free(b.out.b);
	free(frames.b);
	free(s1);

	/* damage: a byte flipped, with the frame's body check left (a checksum error) or made to
	 * match (the stream's XXH3 catches it at END); and aimed at the DATA frames' section
	 * lengths and the first bytes of their Z and B sections (zstd block headers), checks
	 * made to match: errors from the section stage, which the thread runs ahead. Both decoders
	 * must stop at the same frame, with the same error and the same output before it. */
	frames = (vec){ 0 };
	make_session(1500, 2, &frames, &s1, &l1, NULL);
	int mismatches = 0, errors = 0, section_errors = 0;
	size_t data_frames[256], nd = 0;
	for (size_t at = 0; at < frames.len && nd < 256;) {
		if (frames.b[at + 3] == LH_FT_DATA)
			data_frames[nd++] = at;
		at += (size_t)lh_wan_frame_size(frames.b + at, frames.len - at);
	}
	CHECK(nd > 8);
	for (int i = 0; i < 120; i++) {
		size_t pos, fsize, f;
		if (i < 60) { /* anywhere */
			pos = (size_t)((uint64_t)i * 2654435761u % frames.len);
		} else { /* a DATA frame's section lengths or its sections' first bytes */
			f = data_frames[(size_t)i * 7 % nd];
			const uint8_t *body = frames.b + f + LH_WAN_FRAME_HDR;
			uint64_t v[6] = { 0 };
			size_t k = 1, nfield = (body[0] & LH_DATA_F_BSEC) ? 6 : 4;
			for (size_t j = 0; j < nfield; j++)
				k += lh_varint_get(body + k, 16, &v[j]);
			size_t zo = k + ((body[0] & LH_DATA_F_OPSZ) ? 0 : v[0]), bo = zo + v[2];
			size_t targets[4] = { 1 + (size_t)i % (k - 1), zo + (size_t)i % 3, bo + (size_t)i % 3, zo + 3 + (size_t)i % 5 };
			size_t tgt = targets[i % 4];
			if (i % 4 == 2 && !(body[0] & LH_DATA_F_BSEC))
				tgt = zo;
			pos = f + LH_WAN_FRAME_HDR + tgt;
		}
		vec t = { 0 };
		vput(&t, frames.b, frames.len);
		t.b[pos] ^= (uint8_t)(1u << (i % 8));
		f = frame_at(&frames, pos, &fsize);
		if ((i >= 60 || (i & 1)) && fsize && pos >= f + LH_WAN_FRAME_HDR) {
			const uint8_t *h = t.b + f;
			lh_frame_hdr_write(t.b + f, h[3], lh_be32(h + 4), t.b + f + LH_WAN_FRAME_HDR,
					   (uint32_t)fsize - LH_WAN_FRAME_HDR, lh_be32(h + 12));
		}
		decode_run(&t, 0, &a);
		decode_run(&t, 1, &b);
		mismatches += !same_run(&a, &b);
		errors += a.r < 0;
		section_errors += strstr(a.err.detail, " section") != NULL;
		if (!same_run(&a, &b))
			fprintf(stderr, "damage at %zu: in line %ld '%s' at frame %llu, ahead %ld '%s' at frame %llu\n", pos,
				a.r, a.err.detail, (unsigned long long)a.err.where, b.r, b.err.detail,
				(unsigned long long)b.err.where);
		free(a.out.b);
		free(b.out.b);
		free(t.b);
	}
	printf("damage: %d of 120 runs failed, %d of them in a section's zstd or lengths\n", errors, section_errors);
	CHECK(mismatches == 0);
	CHECK(errors > 110); /* nearly every flip is caught: body check, lengths, zstd, ops or the stream's XXH3 */
	CHECK(section_errors > 20);
	free(frames.b);
	free(s1);
}

/* Is frame i a DATA frame with zstd work enough that the decoder queues it (a B section, or a Z
 * section zstd shrank by 64 KiB)? */
static int zstd_data(const vec *frames, const size_t *offs, size_t i)
{
	const uint8_t *f = frames->b + offs[i], *b = f + LH_WAN_FRAME_HDR;
	uint64_t v[3];
	size_t k = 1;
	for (int j = 0; j < 3; j++)
		k += lh_varint_get(b + k, 16, &v[j]);
	return f[3] == LH_FT_DATA && ((b[0] & LH_DATA_F_BSEC) || ((b[0] & LH_DATA_F_ZSTD) && v[1] >= v[2] + (64u << 10)));
}

/* announce: refused before HELLO, for frames with little zstd work and past the queue's depth;
 * another frame than the announced one is a sticky error; a dst too small for an announced frame
 * is not, and the frame decodes after */
static void test_contract(void)
{
	static uint8_t dst[LH_WAN_FRAME_RAW_MAX], small[16];
	vec frames = { 0 };
	uint8_t *s1;
	size_t l1, offs[65], nf = 0;
	make_session(1500, 2, &frames, &s1, &l1, NULL);
	for (size_t at = 0; at < frames.len && nf < 64; nf++) {
		offs[nf] = at;
		at += (size_t)lh_wan_frame_size(frames.b + at, frames.len - at);
		offs[nf + 1] = at;
	}
	/* the first run of 6 frames the decoder queues; those before it decode in line */
	size_t first = 1, run_len = 0;
	for (size_t i = 1; i < nf && run_len < 6; i++) {
		run_len = zstd_data(&frames, offs, i) ? run_len + 1 : 0;
		first = i + 1 - run_len;
	}
	CHECK(run_len == 6);
	if (run_len != 6) {
		free(frames.b);
		free(s1);
		return;
	}
#define F(i) frames.b + offs[i], (size_t)(offs[(i) + 1] - offs[i])

	lh_wan_dec *d = lh_wan_dec_create();
	CHECK(lh_wan_dec_announce(d, F(0)) == 0); /* HELLO not decoded yet */
	CHECK(lh_wan_dec_frame(d, F(0), dst, sizeof(dst), NULL) == 0);
	CHECK(lh_wan_dec_announce(d, F(1)) == 0); /* OPEN: nothing to decompress */
	vec out = { 0 };
	for (size_t i = 1; i < first; i++) {
		long r = lh_wan_dec_frame(d, F(i), dst, sizeof(dst), NULL);
		CHECK(r >= 0);
		if (r > 0)
			vput(&out, dst, (size_t)r);
	}
	for (size_t i = first; i < first + LH_WAN_DEC_AHEAD_MAX; i++)
		CHECK(lh_wan_dec_announce(d, F(i)) == 1);
	CHECK(lh_wan_dec_announce(d, F(first + LH_WAN_DEC_AHEAD_MAX)) == 0); /* full */
	for (size_t i = first; i < first + 3; i++) {
		long r = lh_wan_dec_frame(d, F(i), small, sizeof(small), NULL);
		if (r == -LH_E_DST_TOO_SMALL) /* not sticky: the announced frame is still there */
			r = lh_wan_dec_frame(d, F(i), dst, sizeof(dst), NULL);
		CHECK(r >= 0);
		if (r > 0)
			vput(&out, dst, (size_t)r);
	}
	/* frame first+4 where first+3 was announced */
	CHECK(lh_wan_dec_frame(d, F(first + 4), dst, sizeof(dst), NULL) == -LH_E_STATE);
	CHECK(lh_wan_dec_frame(d, F(first + 3), dst, sizeof(dst), NULL) == -LH_E_STATE); /* sticky */
	CHECK(lh_wan_dec_announce(d, F(first + 5)) == -LH_E_STATE);
	CHECK(lh_wan_dec_stats(d)->ahead_frames == 3);
	lh_wan_dec_free(d); /* with a frame still queued */

	/* the in-line decoder agrees on those frames' bytes */
	run a;
	vec head = { 0 };
	vput(&head, frames.b, offs[first + 3]);
	decode_run(&head, 0, &a);
	CHECK(a.frames == first + 3 && a.out.len == out.len && !memcmp(a.out.b, out.b, out.len));
	free(a.out.b);
	free(head.b);
	free(out.b);

	/* a decoder freed with every slot queued and the thread busy does not hang */
	d = lh_wan_dec_create();
	for (size_t i = 0; i < first; i++)
		CHECK(lh_wan_dec_frame(d, F(i), dst, sizeof(dst), NULL) >= 0);
	for (size_t k = first; k < first + LH_WAN_DEC_AHEAD_MAX; k++)
		CHECK(lh_wan_dec_announce(d, F(k)) == 1);
	lh_wan_dec_free(d);
#undef F
	free(frames.b);
	free(s1);
}

static atomic_uint ready_calls;
static void on_ready(void *opaque)
{
	(void)opaque;
	atomic_fetch_add(&ready_calls, 1);
}

static size_t count_frames(const vec *frames)
{
	size_t n = 0;
	for (size_t at = 0; at < frames->len; n++) {
		long k = lh_wan_frame_size(frames->b + at, frames->len - at);
		if (k <= 0)
			return 0;
		at += (size_t)k;
	}
	return n;
}

/* LH_WAN_P_THREADS 2: a worker compresses each frame while the next one is built. The frames
 * are the same bytes as with one thread, over laps of both rings and level changes (the
 * worker reads a section while the next batch is written behind it); flush waits for the
 * frame in flight; freeing the encoder with one in flight does not hang. */
static void test_encoder_worker(void)
{
	vec a = { 0 }, b = { 0 };
	uint8_t *s1;
	size_t l1;
	lh_wan_stats sa, sb;
	make_session(6000, 1, &a, &s1, &l1, &sa);
	free(s1);
	make_session(6000, 2, &b, &s1, &l1, &sb);
	CHECK(a.len == b.len && !memcmp(a.b, b.b, a.len));
	CHECK(sa.frames == sb.frames && sa.bytes_out == sb.bytes_out && sa.worker_frames == 0);
	CHECK(sb.worker_frames > sb.frames / 4 && sb.worker_frames < sb.frames); /* level 0 frames: made in line */
	size_t with_b, b_raw, unshrunk;
	b_sections(&b, &with_b, &b_raw, &unshrunk);
	printf("encoder worker: %llu of %llu frames compressed on it, %zu B bytes, same bytes as one thread\n",
	       (unsigned long long)sb.worker_frames, (unsigned long long)sb.frames, b_raw);
	CHECK(b_raw > (13u << 20)); /* two laps of the B ring */
	free(a.b);
	free(b.b);

	lh_wan_enc *e = lh_wan_enc_create();
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_THREADS, 3) == -LH_E_PARAM);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_THREADS, 2) == 0);
	lh_wan_enc_set_ready(e, on_ready, NULL);
	CHECK(lh_wan_enc_open(e, 1, 1, LH_CHAN_AUTO, "one") == 0);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_THREADS, 1) == -LH_E_STATE); /* the session has started */
	size_t part = (5u << 20) / 2;
	CHECK(l1 > 2 * part);
	CHECK(lh_wan_enc_feed(e, 1, s1, part) == (long)part);
	CHECK(lh_wan_enc_flush(e) == 0);
	vec f = { 0 };
	pull_all(e, &f);
	const lh_wan_stats *st = lh_wan_enc_stats(e);
	CHECK(count_frames(&f) == st->frames && f.len == st->bytes_out && st->worker_frames >= 2);
	/* close_batch does not wait: what it leaves with the worker comes after flush */
	CHECK(lh_wan_enc_feed(e, 1, s1 + part, part) == (long)part);
	CHECK(lh_wan_enc_close_batch(e) == 0);
	pull_all(e, &f);
	CHECK(lh_wan_enc_flush(e) == 0);
	pull_all(e, &f);
	CHECK(count_frames(&f) == st->frames && f.len == st->bytes_out);
	/* a caller that sizes its buffer first (the gateway): once the queue is empty, a frame the worker finished
	 * is not seen by lh_wan_enc_next_size until lh_wan_enc_collect (what the ready callback calls for) */
	CHECK(lh_wan_enc_flush(e) == 0);
	pull_all(e, &f);
	CHECK(lh_wan_enc_next_size(e) == 0);
	unsigned calls = atomic_load(&ready_calls);
	uint64_t frames = st->frames;
	CHECK(lh_wan_enc_feed(e, 1, s1 + part, 256u << 10) == (long)(256u << 10)); /* less than a frame */
	CHECK(lh_wan_enc_close_batch(e) == 0); /* to the worker: more than ENC_WORKER_MIN for zstd */
	for (int i = 0; i < 2000 && atomic_load(&ready_calls) == calls; i++)
		usleep(1000);
	CHECK(atomic_load(&ready_calls) > calls);
	CHECK(lh_wan_enc_next_size(e) == 0 && st->frames == frames); /* finished, not yet queued */
	CHECK(lh_wan_enc_collect(e) == 0);
	CHECK(lh_wan_enc_next_size(e) > 0 && st->frames == frames + 1);
	pull_all(e, &f);
	CHECK(count_frames(&f) == st->frames && f.len == st->bytes_out);
	uint64_t wf = st->worker_frames;
	CHECK(lh_wan_enc_feed(e, 1, s1, part) == (long)part);
	lh_wan_enc_free(e); /* with a frame in flight, most likely */
	/* the ready callback ran once per frame the worker finished, the last ones included */
	CHECK(wf >= 3 && atomic_load(&ready_calls) >= wf);
	free(f.b);
	free(s1);
}

int main(void)
{
	test_same_as_in_line();
	test_contract();
	test_encoder_worker();
	if (lh_test_failures) {
		fprintf(stderr, "codec_wan_ahead: %d checks failed\n", lh_test_failures);
		return 1;
	}
	printf("codec_wan_ahead: all checks passed\n");
	return 0;
}
