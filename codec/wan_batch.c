/* SPDX-License-Identifier: MIT */
/* Encoder batches: ops and sections of the next DATA frame, zstd with adaptive level, the frame queue. */
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "ptrrel.h"
#include "wan_enc_internal.h"

#define PS LH_WAN_PAGE_SIZE

int lh__batch_init(lh_wan_enc *e)
{
	enc_batch *b = &e->b;
	static const struct {
		size_t ring;
		int window_log, fast_hash_log;
	} cfg[2] = {
		[ENC_ZS_Z] = { ENC_ZRING, LH_WAN_ZSTD_WINDOW_LOG, ENC_ZSTD_FAST_HASH_LOG },
		[ENC_ZS_B] = { ENC_BRING, LH_WAN_ZSTD_B_WINDOW_LOG, ENC_ZSTD_B_HASH_LOG },
	};
	for (int i = 0; i < 2; i++) {
		enc_zs *zs = &e->zs[i];
		zs->ring_size = cfg[i].ring;
		zs->window_log = cfg[i].window_log;
		zs->fast_hash_log = cfg[i].fast_hash_log;
		zs->cctx = ZSTD_createCCtx();
		zs->ring = lh_big_zalloc(zs->ring_size);
		if (!zs->cctx || !zs->ring)
			return -LH_E_NOMEM;
	}
	b->ops = malloc(ENC_OPS_CAP);
	b->z = e->zs[ENC_ZS_Z].ring;
	b->bs = e->zs[ENC_ZS_B].ring;
	b->r = malloc(LH_WAN_FRAME_RAW_MAX);
	e->jobs[0].ops = malloc(ENC_OPS_CAP); /* the pair a closing batch takes */
	e->jobs[0].r = malloc(LH_WAN_FRAME_RAW_MAX);
	e->boost.share = 1u << 16; /* until measured: all literal, no boost */
	return b->ops && b->r && e->jobs[0].ops && e->jobs[0].r ? 0 : -LH_E_NOMEM;
}

void lh__batch_fini(lh_wan_enc *e)
{
	free(e->b.ops);
	for (int i = 0; i < 2; i++) {
		ZSTD_freeCCtx(e->zs[i].cctx);
		lh_big_free(e->zs[i].ring, e->zs[i].ring_size);
	}
	free(e->b.r);
	for (int i = 0; i < ENC_JOBS; i++) {
		free(e->jobs[i].ops);
		free(e->jobs[i].r);
		free(e->jobs[i].out);
	}
	free(e->q);
}

/* Space for n more bytes at q_end (compacting or growing the queue). */
static int queue_reserve(lh_wan_enc *e, size_t n)
{
	if (e->q_end + n <= e->q_cap)
		return 0;
	if (e->q_start) {
		memmove(e->q, e->q + e->q_start, e->q_end - e->q_start);
		e->q_end -= e->q_start;
		e->q_start = 0;
		if (e->q_end + n <= e->q_cap)
			return 0;
	}
	size_t nc = e->q_cap ? e->q_cap : (1u << 20);
	while (nc < e->q_end + n)
		nc *= 2;
	uint8_t *q = realloc(e->q, nc);
	if (!q)
		return -LH_E_NOMEM;
	e->q = q;
	e->q_cap = nc;
	return 0;
}

static void account(lh_wan_enc *e, enc_stream *s, size_t frame_len)
{
	e->stats.bytes_out += frame_len;
	e->stats.frames++;
	if (s) {
		s->stats.bytes_out += frame_len;
		s->stats.frames++;
	}
}

int lh__queue_frame(lh_wan_enc *e, enc_stream *s, uint8_t type, uint32_t sid, const uint8_t *body,
		    uint32_t len)
{
	int r;
	if ((r = lh__worker_collect(e, true)) < 0 || (r = queue_reserve(e, LH_WAN_FRAME_HDR + len)) < 0)
		return r;
	uint8_t *f = e->q + e->q_end;
	memcpy(f + LH_WAN_FRAME_HDR, body, len);
	lh_frame_hdr_write(f, type, sid, f + LH_WAN_FRAME_HDR, len, 0);
	e->q_end += LH_WAN_FRAME_HDR + len;
	account(e, s, LH_WAN_FRAME_HDR + len);
	return 0;
}

size_t lh_wan_enc_pending(const lh_wan_enc *e) { return e->q_end - e->q_start; }

size_t lh_wan_enc_next_size(const lh_wan_enc *e)
{
	if (e->q_end == e->q_start)
		return 0;
	/* frames in the queue were written by us: the header is valid */
	long n = lh_wan_frame_size(e->q + e->q_start, e->q_end - e->q_start);
	return n > 0 ? (size_t)n : 0;
}

int lh_wan_enc_collect(lh_wan_enc *e)
{
	int r;
	if (e->err.code < 0 && e->started)
		return e->err.code;
	if ((r = lh__worker_collect(e, false)) < 0)
		return lh__enc_fail(e, r, 0, 0, "compressing a frame: %s", lh_err_name(r));
	return 0;
}

long lh_wan_enc_pull(lh_wan_enc *e, void *dst, size_t cap)
{
	int r;
	if ((r = lh__worker_collect(e, false)) < 0) /* the worker's frame, if it is done */
		return lh__enc_fail(e, r, 0, 0, "compressing a frame: %s", lh_err_name(r));
	size_t n = lh_wan_enc_next_size(e);
	if (n == 0)
		return 0;
	if (cap < n)
		return -LH_E_DST_TOO_SMALL;
	memcpy(dst, e->q + e->q_start, n);
	e->q_start += n;
	if (e->q_start == e->q_end)
		e->q_start = e->q_end = 0;
	return (long)n;
}

/*
 * Auto level: the gateway reports how much the link (rather than the CPU)
 * limits throughput. A CPU-bound encoder sends literals uncompressed; a
 * link-bound one spends more CPU per byte saved.
 */
static int pressure_level(const lh_wan_enc *e)
{
	if (e->pressure < 10)
		return 0;
	if (e->pressure < 30)
		return -3;
	if (e->pressure < 60)
		return 1;
	if (e->pressure < 80)
		return 3;
	if (e->pressure < 95)
		return 6;
	return 9;
}

int lh__level_now(const lh_wan_enc *e)
{
	if (e->level != LH_WAN_LEVEL_AUTO)
		return (int)e->level;
	int base = pressure_level(e);
	return base >= 1 && e->boost.level > base ? e->boost.level : base;
}

int lh_wan_enc_level(const lh_wan_enc *e) { return lh__level_now(e); }

/*
 * Auto level, second input: the literal share. zstd's time is paid per byte
 * it compresses, not per byte of input. When most pages go as REF, ZERO or
 * deltas (a second VM of one image, later precopy rounds), the CPU that the
 * pressure's level would spend on an all-literal stream buys a higher level
 * for the few literals left: the boost takes the highest level whose cost on
 * the share stays within ENC_BOOST_BUDGET_NUM/DEN (half) of what the base
 * level would cost on all of the input. A level change ends the zstd frame,
 * and with it the window, so the share must afford another level for
 * ENC_BOOST_HOLD bytes of input first.
 *
 * Cost per byte relative to level 1 with its 2^16 table (x10), measured with
 * `zstd -b` on a second VM's new pages (levels 1-7: 472, 426, 341, 295, 105,
 * 85, 70 MB/s). Higher levels also decode faster (1.19 -> 1.37 GB/s there).
 * Level 7 is where the gain flattens: 5, 6, 7 gave a second VM 2.06, 1.99, 1.96 MB.
 */
static const uint8_t level_cost_x10[ENC_BOOST_MAX + 1] = { 10, 10, 11, 14, 16, 45, 55, 67 };

static int boost_afford(int base, uint32_t share)
{
	int best = base;
	if (base < 1 || base > ENC_BOOST_MAX)
		return base;
	for (int l = base + 1; l <= ENC_BOOST_MAX; l++)
		if ((uint64_t)share * level_cost_x10[l] * ENC_BOOST_BUDGET_DEN <=
		    (uint64_t)level_cost_x10[base] * ENC_BOOST_BUDGET_NUM << 16)
			best = l;
	return best;
}

/* After each batch: zbytes of its raw_len input bytes went through zstd. */
static void boost_update(lh_wan_enc *e, size_t zbytes, size_t raw_len)
{
	enc_boost *bo = &e->boost;
	if (raw_len == 0)
		return;
	uint64_t bs = zbytes >= raw_len ? 1u << 16 : ((uint64_t)zbytes << 16) / raw_len;
	bo->share = (uint32_t)(((uint64_t)bo->share * ENC_BOOST_HORIZON + bs * raw_len) /
			       (ENC_BOOST_HORIZON + raw_len));
	int want = boost_afford(pressure_level(e), bo->share);
	if (want == bo->level || want != bo->next) { /* settled, or another level: the wait starts over */
		bo->next = want;
		bo->held = 0;
		return;
	}
	bo->held += raw_len;
	if (bo->held >= ENC_BOOST_HOLD) {
		bo->level = want;
		bo->held = 0;
	}
}

/*
 * The Z sections of all frames form one zstd stream per session (each frame
 * ends at a block boundary), so literals compress against everything sent
 * before, other streams and VMs included; the decoder keeps the matching DCtx.
 * The B sections (binary pages: machine code, pointer-rich structures) form a
 * second one. Apart, each stream gets the zstd table that suits it: text
 * needs a large hash table to find lines seen hundreds of KiB back, machine
 * code compresses as well with a small one, and faster (measured on the first
 * VM's literal pages: 19 MB of code 89 -> 66 ms, 0.27 MB more output).
 *
 * The sections are built in place in rings (ENC_ZRING, ENC_BRING) and handed
 * to zstd's buffer-less API, which reads them where they are: no copy into
 * zstd's own window buffer, which was ~10 % of zstd's time.
 * ZSTD_compressContinue keeps the previous contiguous segment as history and
 * drops the part the ring overwrites; a ring holds more than its window, so
 * nothing inside the window is lost. On the wire these are ordinary zstd streams.
 */
static int zstd_begin(enc_zs *zs, int level)
{
	ZSTD_parameters p = ZSTD_getParams(level, ZSTD_CONTENTSIZE_UNKNOWN, 0);
	p.cParams.windowLog = (unsigned)zs->window_log;
	/* The fast levels index only 2^14 positions, which forgets text lines
	 * seen a few hundred KiB back; 2^16 (256 KiB of table) finds them:
	 * measured on the first VM's literals, 15 % smaller at ~5 % more time. */
	if (level <= 1)
		p.cParams.hashLog = (unsigned)zs->fast_hash_log;
	/* Higher levels' tables grow to 2^20-2^21 entries (6.5-12.5 MiB per stream); over a
	 * 4 MiB window 2^18 finds nearly as much: a second VM at level 7, 0.2 % more output,
	 * 10 MiB less memory. */
	if (p.cParams.hashLog > ENC_ZSTD_TABLE_LOG_MAX)
		p.cParams.hashLog = ENC_ZSTD_TABLE_LOG_MAX;
	if (p.cParams.chainLog > ENC_ZSTD_TABLE_LOG_MAX)
		p.cParams.chainLog = ENC_ZSTD_TABLE_LOG_MAX;
	p.fParams.contentSizeFlag = 0;
	p.fParams.checksumFlag = 0; /* END carries the stream's XXH3-128 */
	p.fParams.noDictIDFlag = 1;
	/* the only buffer-less entry point that takes a window and hash size
	 * (zstd 1.5 marks it deprecated in favour of the buffered API) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	size_t r = ZSTD_compressBegin_advanced(zs->cctx, NULL, 0, p, ZSTD_CONTENTSIZE_UNKNOWN);
#pragma GCC diagnostic pop
	return ZSTD_isError(r) ? -LH_E_NOMEM : 0;
}

/* A level change ends the zstd frame (its epilogue leads this section) and starts a new one. */
static int zstd_section(enc_zs *zs, int level, const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
			size_t *len)
{
	size_t out = 0, r;
	int rc;

	if (level != zs->level || zs->stale) {
		if (zs->level != 0) {
			r = ZSTD_compressEnd(zs->cctx, dst, cap, NULL, 0);
			if (ZSTD_isError(r))
				return -LH_E_DST_TOO_SMALL;
			out = r;
		}
		zs->level = 0;
		zs->stale = false;
		if ((rc = zstd_begin(zs, level)) < 0)
			return rc;
		zs->level = level;
	}
	r = ZSTD_compressContinue(zs->cctx, dst + out, cap - out, src, n);
	if (ZSTD_isError(r))
		return -LH_E_DST_TOO_SMALL;
	*len = out + r;
	return 0;
}

void lh__batch_put_pending(enc_batch *b)
{
	if (b->pend_lit) {
		b->ops[b->ops_len++] = LH_OP_LIT;
		b->ops_len = (size_t)(lh_varint_put(b->ops + b->ops_len, b->pend_lit) - b->ops);
		b->pend_lit = 0;
	}
	if (b->pend_zero) {
		b->ops[b->ops_len++] = LH_OP_ZERO;
		b->ops_len = (size_t)(lh_varint_put(b->ops + b->ops_len, b->pend_zero) - b->ops);
		b->pend_zero = 0;
	}
	if (b->pend_zrec) {
		b->ops[b->ops_len++] = LH_OP_ZREC;
		b->ops_len = (size_t)(lh_varint_put(b->ops + b->ops_len, b->pend_zrec) - b->ops);
		b->pend_zrec = 0;
	}
}

/* The op of one page: pending ops first, then the code, flagged when a predicted header leads it. */
static void page_op(lh_wan_enc *e, uint8_t code)
{
	enc_batch *b = &e->b;
	lh__batch_put_pending(b);
	if (b->pend_hdr) {
		code |= LH_OP_F_HDR;
		lh__rec_sent(e, b->s, LH_REC_PAGE, b->pend_hdr_value, true);
		b->raw_len += 8;
		b->pend_hdr = false;
	}
	b->ops[b->ops_len++] = code;
}

/* z_len in the section header is written before zstd runs, as a padded
 * 3-byte varint (FORMAT.md allows padding): the compressed bytes then land
 * in their final place instead of being moved after the header (~34 MB of
 * memmove per first VM). 21 bits hold any Z section of a frame. */
#define ZLEN_BYTES 3

static uint8_t *put_varint3(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v | 0x80);
	p[1] = (uint8_t)((v >> 7) | 0x80);
	p[2] = (uint8_t)((v >> 14) & 0x7F);
	return p + ZLEN_BYTES;
}

/* The zstd work and the frame's assembly, into j->dst. On the worker thread with
 * LH_WAN_P_THREADS 2: it touches only the job, the rings' sections and e->zs. */
static int job_run(lh_wan_enc *e, enc_job *j)
{
	enc_zs *zz = &e->zs[ENC_ZS_Z], *zb = &e->zs[ENC_ZS_B];
	size_t zlen, blen = 0;
	size_t body_ops = j->ops_in_z ? 0 : j->ops_len;
	uint8_t *f = j->dst, *body = f + LH_WAN_FRAME_HDR, *h = body;
	int r;

	*h++ = (j->zstd ? LH_DATA_F_ZSTD : 0) | (j->b_len ? LH_DATA_F_BSEC : 0) | (j->ops_in_z ? LH_DATA_F_OPSZ : 0);
	h = lh_varint_put(h, j->ops_len);
	h = lh_varint_put(h, j->z_len);
	uint8_t *zlen_at = h;
	h += ZLEN_BYTES;
	h = lh_varint_put(h, j->r_len);
	uint8_t *blen_at = NULL;
	if (j->b_len) {
		h = lh_varint_put(h, j->b_len);
		blen_at = h;
		h += ZLEN_BYTES;
	}
	memcpy(h, j->ops, body_ops);
	uint8_t *zdst = h + body_ops;
	if (j->zstd) {
		if ((r = zstd_section(zz, j->level, j->z, j->z_len, zdst, j->zcap, &zlen)) < 0)
			return r;
	} else {
		if (j->z_len > 0 && zz->level != 0) {
			/* this section goes raw but still overwrites ring bytes the open zstd
			 * frame may count as history: the next zstd section starts a new frame */
			zz->stale = true;
		}
		memcpy(zdst, j->z, j->z_len);
		zlen = j->z_len;
	}
	put_varint3(zlen_at, zlen);
	uint8_t *bdst = zdst + zlen;
	if (j->b_len) {
		/* B is always zstd: pages go there only while the level is not 0, and
		 * if the level dropped to 0 since, level 1 is still cheap on them */
		if ((r = zstd_section(zb, j->level ? j->level : 1, j->bs, j->b_len, bdst, j->bcap, &blen)) < 0)
			return r;
		put_varint3(blen_at, blen);
	}
	memcpy(bdst + blen, j->r, j->r_len);
	size_t body_len = (size_t)(bdst + blen + j->r_len - body);
	lh_frame_hdr_write(f, LH_FT_DATA, j->s->id, body, (uint32_t)body_len, (uint32_t)j->raw_len);
	j->len = LH_WAN_FRAME_HDR + body_len;
	return 0;
}

static void job_on_worker(void *arg, unsigned seq)
{
	lh_wan_enc *e = arg;
	enc_job *j = &e->jobs[seq % ENC_JOBS];
	j->rc = job_run(e, j);
}

static void job_ready(void *arg)
{
	lh_wan_enc *e = arg;
	e->ready(e->ready_opaque);
}

void lh__worker_start(lh_wan_enc *e)
{
	if (e->threads < 2 || e->worker)
		return;
	for (int i = 1; i < ENC_JOBS; i++) { /* jobs[0]'s pair is there from the start */
		if (!e->jobs[i].ops)
			e->jobs[i].ops = malloc(ENC_OPS_CAP);
		if (!e->jobs[i].r)
			e->jobs[i].r = malloc(LH_WAN_FRAME_RAW_MAX);
		if (!e->jobs[i].ops || !e->jobs[i].r)
			return; /* no worker: the jobs run in line */
	}
	e->worker = lh_worker_start(job_on_worker, e->ready ? job_ready : NULL, e);
}

int lh__worker_collect(lh_wan_enc *e, bool wait)
{
	int r;
	while (e->job_head != e->job_tail) {
		if (!wait && lh_worker_done(e->worker) == e->job_head)
			return 0;
		lh_worker_wait(e->worker, e->job_head + 1);
		enc_job *j = &e->jobs[e->job_head++ % ENC_JOBS];
		if (j->rc < 0)
			return j->rc;
		if ((r = queue_reserve(e, j->len)) < 0)
			return r;
		memcpy(e->q + e->q_end, j->dst, j->len);
		e->q_end += j->len;
		account(e, j->s, j->len);
		e->stats.worker_frames++;
		j->s->stats.worker_frames++;
	}
	return 0;
}

int lh__batch_close(lh_wan_enc *e)
{
	enc_batch *b = &e->b;
	enc_job *j = &e->jobs[0];
	int r, level = lh__level_now(e);

	if (!b->open)
		return 0;
	lh__rec_hdr_unpredicted(e); /* cannot happen (the header's page is reserved room), but stay exact */
	lh__batch_put_pending(b);
	b->open = false;
	if (b->raw_len == 0)
		return 0;
	/* the ops go through zstd at the end of Z: REF slots and op codes repeat (~30 % smaller) */
	bool ops_in_z = e->ops_z && level != 0 && b->ops_len > 0;
	if (ops_in_z) {
		memcpy(b->z + b->z_len, b->ops, b->ops_len); /* the ring has room: ENC_ZRING */
		b->z_len += b->ops_len;
	}
	bool zstd = level != 0 && b->z_len > 0, to_worker = false;
	if (e->worker) {
		if ((r = lh__worker_collect(e, false)) < 0) /* queue what the worker has done */
			return r;
		/* A frame with little for zstd (incompressible pages go raw in R) costs more to hand
		 * over than it saves: it is made here when the worker is idle. When the worker has
		 * frames, it gets this one too, behind them: waiting for them here would stall this
		 * thread (multifd channels interleave small frames with big ones). */
		to_worker = (zstd ? b->z_len : 0) + b->b_len >= ENC_WORKER_MIN || e->job_head != e->job_tail;
		/* wait for the oldest job if every slot is taken */
		if (e->job_tail - e->job_head == ENC_JOBS) {
			lh_worker_wait(e->worker, e->job_head + 1);
			if ((r = lh__worker_collect(e, false)) < 0)
				return r;
		}
		j = &e->jobs[e->job_tail % ENC_JOBS];
	}
	size_t zcap = zstd ? ZSTD_compressBound(b->z_len) + 64 : b->z_len;
	size_t bcap = b->b_len ? ZSTD_compressBound(b->b_len) + 64 : 0;
	if ((zcap | bcap) >> (7 * ZLEN_BYTES))
		return -LH_E_STATE; /* cannot happen: a section is at most a frame's raw bytes */
	/* the job takes the batch's ops and R buffers; the next batch fills the slot's previous pair */
	uint8_t *ops = j->ops, *rsec = j->r;
	*j = (enc_job){ .s = b->s, .level = level, .zstd = zstd, .ops_in_z = ops_in_z, .z = b->z, .bs = b->bs,
			.ops = b->ops, .r = b->r, .ops_len = b->ops_len, .z_len = b->z_len, .b_len = b->b_len,
			.r_len = b->r_len, .raw_len = b->raw_len, .zcap = zcap, .bcap = bcap, .out = j->out,
			.out_cap = j->out_cap };
	j->cap = LH_WAN_FRAME_HDR + 64 + (ops_in_z ? 0 : b->ops_len) + zcap + bcap + b->r_len;
	b->ops = ops;
	b->r = rsec;
	e->zs[ENC_ZS_Z].pos += j->z_len; /* the rings keep these sections as zstd history */
	e->zs[ENC_ZS_B].pos += j->b_len;

	if (zstd || j->b_len) {
		/* B alone goes at level 1 when the level is 0 (job_run) */
		int used = j->b_len && !zstd ? (level ? level : 1) : level;
		j->s->stats.zstd_level = e->stats.zstd_level = used;
		if (zstd && e->level == LH_WAN_LEVEL_AUTO && level > pressure_level(e)) {
			j->s->stats.boosted_bytes += j->raw_len;
			e->stats.boosted_bytes += j->raw_len;
		}
	}
	boost_update(e, j->z_len + j->b_len, j->raw_len);

	if (to_worker) {
		if (j->out_cap < j->cap) {
			free(j->out);
			if (!(j->out = malloc(j->cap))) {
				j->out_cap = 0;
				return -LH_E_NOMEM;
			}
			j->out_cap = j->cap;
		}
		j->dst = j->out;
		e->job_tail++;
		lh_worker_submit(e->worker);
		return 0;
	}
	if ((r = queue_reserve(e, j->cap)) < 0)
		return r;
	j->dst = e->q + e->q_end;
	if ((r = job_run(e, j)) < 0)
		return r;
	e->q_end += j->len;
	account(e, j->s, j->len);
	return 0;
}

int lh__batch_for(lh_wan_enc *e, enc_stream *s)
{
	enc_batch *b = &e->b;
	int r;
	if (b->open && b->s == s)
		return 0;
	/* store updates must reach the decoder in the order they happened: one open batch at a time */
	if ((r = lh__batch_close(e)) < 0)
		return r;
	b->open = true;
	b->s = s;
	for (int i = 0; i < 2; i++) {
		enc_zs *zs = &e->zs[i];
		if (zs->pos + ENC_ROOM > zs->ring_size)
			zs->pos = 0; /* wrap: this frame overwrites the oldest history, beyond the window */
	}
	b->z = e->zs[ENC_ZS_Z].ring + e->zs[ENC_ZS_Z].pos;
	b->bs = e->zs[ENC_ZS_B].ring + e->zs[ENC_ZS_B].pos;
	b->ops_len = b->z_len = b->b_len = b->r_len = b->raw_len = b->pend_lit = 0;
	b->pend_zero = b->pend_zrec = 0;
	b->pend_hdr = false;
	b->prev_dst = -1;
	return 0;
}

int lh__batch_lit(lh_wan_enc *e, enc_stream *s, const uint8_t *p, size_t n)
{
	enc_batch *b = &e->b;
	int r;
	s->stats.other_bytes += n;
	e->stats.other_bytes += n;
	while (n > 0) {
		if ((r = lh__batch_for(e, s)) < 0)
			return r;
		size_t room = (size_t)e->frame_raw - b->raw_len;
		if (room == 0) {
			if ((r = lh__batch_close(e)) < 0)
				return r;
			continue;
		}
		size_t k = n < room ? n : room;
		if (b->pend_zero || b->pend_zrec)
			lh__batch_put_pending(b);
		memcpy(b->z + b->z_len, p, k);
		b->z_len += k;
		b->pend_lit += k;
		b->raw_len += k;
		p += k;
		n -= k;
	}
	return 0;
}

int lh__batch_room(lh_wan_enc *e, enc_stream *s, size_t raw, size_t ops)
{
	int r;
	if ((r = lh__batch_for(e, s)) < 0)
		return r;
	if (e->b.raw_len + raw > (size_t)e->frame_raw || e->b.ops_len + ops > ENC_OPS_CAP) {
		if ((r = lh__batch_close(e)) < 0)
			return r;
		return lh__batch_for(e, s);
	}
	return 0;
}

/* a page op with its pending LIT op and a predicted header: <= 11 + 31 bytes */
int lh__batch_page_room(lh_wan_enc *e, enc_stream *s)
{
	return lh__batch_room(e, s, PS + (e->b.pend_hdr ? 8 : 0), 64);
}

void lh__batch_zero(lh_wan_enc *e)
{
	enc_batch *b = &e->b;
	lh__rec_hdr_unpredicted(e); /* a ZERO run carries no header flag */
	if (b->pend_lit || b->pend_zrec)
		lh__batch_put_pending(b);
	b->pend_zero++;
	b->raw_len += PS;
}

void lh__batch_ref(lh_wan_enc *e, uint32_t slot)
{
	enc_batch *b = &e->b;
	page_op(e, LH_OP_REF);
	b->ops_len = (size_t)(lh_varint_put(b->ops + b->ops_len, slot) - b->ops);
	b->raw_len += PS;
}

static void put_dst(enc_batch *b, uint32_t dst)
{
	b->ops_len = (size_t)(lh_varint_put(b->ops + b->ops_len, lh_zigzag((int64_t)dst - b->prev_dst - 1)) - b->ops);
	b->prev_dst = dst;
}

void lh__batch_literal(lh_wan_enc *e, uint32_t dst, const uint8_t *page, enc_lit_kind kind, int64_t pfn)
{
	static const uint8_t code[] = { [LIT_Z] = LH_OP_PAGEZ, [LIT_B] = LH_OP_PAGEB, [LIT_R] = LH_OP_PAGER };
	enc_batch *b = &e->b;
	uint8_t *to;
	page_op(e, pfn >= 0 ? (kind == LIT_B ? LH_OP_PAGEBP : LH_OP_PAGEZP) : code[kind]);
	put_dst(b, dst);
	if (kind == LIT_R) {
		to = b->r + b->r_len;
		b->r_len += PS;
	} else if (kind == LIT_B) {
		to = b->bs + b->b_len;
		b->b_len += PS;
	} else {
		to = b->z + b->z_len;
		b->z_len += PS;
	}
	memcpy(to, page, PS);
	if (pfn >= 0) {
		b->ops_len = (size_t)(lh_varint_put(b->ops + b->ops_len, (uint64_t)pfn) - b->ops);
		lh_ptr_to_rel(to, (uint64_t)pfn); /* in the ring, where zstd reads it */
	}
	b->raw_len += PS;
}

void lh__batch_delta(lh_wan_enc *e, uint32_t base, uint32_t dst, const uint8_t *d, size_t n)
{
	enc_batch *b = &e->b;
	page_op(e, LH_OP_DELTA);
	b->ops_len = (size_t)(lh_varint_put(b->ops + b->ops_len, base) - b->ops);
	put_dst(b, dst);
	b->ops_len = (size_t)(lh_varint_put(b->ops + b->ops_len, n) - b->ops);
	memcpy(b->z + b->z_len, d, n);
	b->z_len += n;
	b->raw_len += PS;
}
