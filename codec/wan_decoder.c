/* SPDX-License-Identifier: MIT */
/* WAN decoder: frames in the sender's order -> each stream's exact bytes, store mirrored. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wan_hash.h"
#include "be.h"
#include "delta.h"
#include "frame.h"
#include "lh_wan.h"
#include "pagestore.h"
#include "ptrrel.h"
#include "wan_dec_ahead.h"
#include "wan_dec_internal.h"

#define DEC_MAX_STREAMS 4096
#define DEC_HASH_STEP (16u << 10) /* output hashed in pieces of at least this size */
#define PS LH_WAN_PAGE_SIZE

typedef struct {
	uint32_t id, vm_id;
	lh_channel_kind kind;
	uint64_t bytes;
	XXH3_state_t *hash;
	char label[256];
	lh_rec_pred rec;        /* record headers: the predictor, moved as the encoder's is */
} dec_stream;

struct lh_wan_dec {
	int64_t max_store_mb;
	bool store_commit;      /* LH_WAN_P_STORE_COMMIT: commit the store at HELLO */
	bool have_hello;
	lh_pagestore st;
	dec_stream **streams;
	uint32_t nstreams, cap;
	lh_dec_zs zs[2];        /* [0] the Z sections' zstd stream, [1] the B sections' */
	lh_dec_allow allow;     /* what HELLO announced */
	/* lh_wan_dec_announce: frames whose Z sections a second thread decompresses
	 * while earlier frames decode here, and their B sections too while the
	 * thread is ahead. While any is queued, zs[0] is the thread's; zs[1] is
	 * whoever claimed the next B section. */
	lh_ahead *ahead;
	bool no_ahead;          /* no thread could be started: every frame decodes in line */
	bool ahead_broken;      /* the thread's: a Z section failed, the Z stream is unusable */
	bool ahead_b_broken;    /* the thread's: a B section failed */
	uint64_t nframes;
	uint32_t epoch;         /* lh_wan_dec_reset: the epoch its HELLO must name (0: the session's first) */
	lh_wan_stats stats;
	lh_wan_error err;
};

static int fail(lh_wan_dec *d, int code, uint32_t sid, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(lh_wan_dec *d, int code, uint32_t sid, const char *fmt, ...)
{
	va_list ap;
	d->err.code = code;
	d->err.stream_id = sid;
	d->err.where = d->nframes;
	va_start(ap, fmt);
	vsnprintf(d->err.detail, sizeof(d->err.detail), fmt, ap);
	va_end(ap);
	return code;
}

lh_wan_dec *lh_wan_dec_create(void)
{
	lh_wan_dec *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->max_store_mb = 65536;
	if (lh_dec_zs_init(&d->zs[0], 'Z') < 0 || lh_dec_zs_init(&d->zs[1], 'B') < 0) {
		lh_wan_dec_free(d);
		return NULL;
	}
	return d;
}

void lh_wan_dec_free(lh_wan_dec *d)
{
	if (!d)
		return;
	lh_ahead_free(d->ahead); /* after the Z section it may be decompressing */
	for (uint32_t i = 0; i < d->nstreams; i++) {
		XXH3_freeState(d->streams[i]->hash);
		free(d->streams[i]);
	}
	free(d->streams);
	lh_store_fini(&d->st);
	lh_dec_zs_fini(&d->zs[0]);
	lh_dec_zs_fini(&d->zs[1]);
	free(d);
}

int lh_wan_dec_set_param(lh_wan_dec *d, lh_wan_param p, int64_t v)
{
	int64_t lo, hi;
	if (lh_wan_param_bounds(p, &lo, &hi) < 0 || v < lo || v > hi)
		return -LH_E_PARAM;
	if (p != LH_WAN_P_STORE_MB && p != LH_WAN_P_STORE_COMMIT)
		return 0; /* encoder-side parameters have no effect here */
	if (d->have_hello)
		return -LH_E_STATE;
	if (p == LH_WAN_P_STORE_COMMIT)
		d->store_commit = v;
	else
		d->max_store_mb = v;
	return 0;
}

int lh_wan_dec_reset(lh_wan_dec *d, uint32_t epoch)
{
	if (epoch <= d->epoch)
		return -LH_E_PARAM;
	lh_wan_dec *n = lh_wan_dec_create();
	if (!n)
		return -LH_E_NOMEM; /* d is unchanged */
	n->max_store_mb = d->max_store_mb;
	n->store_commit = d->store_commit;
	n->epoch = epoch;
	n->stats = d->stats; /* counters run over the whole session */
	n->nframes = d->nframes;
	/* the look-ahead thread works on d itself: it ends before d's state moves */
	lh_ahead_free(d->ahead);
	d->ahead = NULL;
	lh_wan_dec old = *d;
	*d = *n;
	*n = old;
	lh_wan_dec_free(n); /* the old epoch's streams, store and zstd streams */
	return 0;
}

uint32_t lh_wan_dec_epoch(const lh_wan_dec *d) { return d->epoch; }

const lh_wan_error *lh_wan_dec_error(const lh_wan_dec *d) { return &d->err; }
const lh_wan_stats *lh_wan_dec_stats(const lh_wan_dec *d) { return &d->stats; }
uint32_t lh_wan_dec_open_streams(const lh_wan_dec *d) { return d->nstreams; }

uint32_t lh_wan_dec_stream_ids(const lh_wan_dec *d, uint32_t *ids, uint32_t max)
{
	uint32_t n = d->nstreams < max ? d->nstreams : max;
	for (uint32_t i = 0; i < n; i++)
		ids[i] = d->streams[i]->id;
	return n;
}

static dec_stream *find_stream(lh_wan_dec *d, uint32_t id, uint32_t *idx)
{
	for (uint32_t i = 0; i < d->nstreams; i++)
		if (d->streams[i]->id == id) {
			if (idx)
				*idx = i;
			return d->streams[i];
		}
	return NULL;
}

static void drop_stream(lh_wan_dec *d, uint32_t idx)
{
	XXH3_freeState(d->streams[idx]->hash);
	free(d->streams[idx]);
	d->streams[idx] = d->streams[--d->nstreams];
}

static int do_hello(lh_wan_dec *d, const lh_frame_hdr *h, const uint8_t *b)
{
	if (d->have_hello)
		return fail(d, -LH_E_CORRUPT, 0, "second HELLO frame");
	uint32_t flags = h->body_len >= LH_HELLO_BODY ? lh_be32(b + 8) : 0;
	uint32_t want = (flags & LH_HELLO_F_EPOCH) ? LH_HELLO_BODY_EPOCH : LH_HELLO_BODY;
	if (h->body_len != want)
		return fail(d, -LH_E_BAD_LENGTH, 0, "HELLO body of %u bytes, want %u", h->body_len, want);
	uint32_t ps = lh_be32(b), slots = lh_be32(b + 4);
	if (ps != PS)
		return fail(d, -LH_E_UNSUPPORTED, 0, "HELLO page size %u, only %u is supported", ps, PS);
	if (flags & ~(uint32_t)(LH_HELLO_F_BSTREAM | LH_HELLO_F_PTRREL | LH_HELLO_F_RECHDR | LH_HELLO_F_OPSZ |
				LH_HELLO_F_EPOCH))
		return fail(d, -LH_E_UNSUPPORTED, 0, "HELLO flags 0x%x unknown", flags);
	/* a frame of another epoch (one sent before a reset, or a stale HELLO) never reaches the store */
	uint32_t epoch = (flags & LH_HELLO_F_EPOCH) ? lh_be32(b + 12) : 0;
	if ((flags & LH_HELLO_F_EPOCH) && epoch == 0)
		return fail(d, -LH_E_CORRUPT, 0, "HELLO with the epoch flag names epoch 0");
	if (epoch != d->epoch)
		return fail(d, -LH_E_STATE, 0, "HELLO of codec epoch %u; the decoder is in epoch %u", epoch, d->epoch);
	d->allow.b = flags & LH_HELLO_F_BSTREAM;
	d->allow.ptr = flags & LH_HELLO_F_PTRREL;
	d->allow.rec = flags & LH_HELLO_F_RECHDR;
	d->allow.opsz = flags & LH_HELLO_F_OPSZ;
	if (slots == 0 || (uint64_t)slots * PS > (uint64_t)d->max_store_mb << 20)
		return fail(d, -LH_E_PARAM, 0, "HELLO asks for a store of %u pages; limit is %lld MiB", slots,
			    (long long)d->max_store_mb);
	if (lh_store_init(&d->st, slots, false) < 0)
		return fail(d, -LH_E_NOMEM, 0, "store of %u pages", slots);
	if (d->store_commit)
		lh_store_commit(&d->st);
	d->have_hello = true;
	return 0;
}

static int do_open(lh_wan_dec *d, const lh_frame_hdr *h, const uint8_t *b, lh_wan_frame_info *info)
{
	if (h->body_len < LH_OPEN_BODY_MIN || h->body_len != LH_OPEN_BODY_MIN + (uint32_t)b[5])
		return fail(d, -LH_E_BAD_LENGTH, h->stream_id, "OPEN body of %u bytes", h->body_len);
	if (find_stream(d, h->stream_id, NULL))
		return fail(d, -LH_E_CORRUPT, h->stream_id, "OPEN of stream %u, which is open", h->stream_id);
	if (b[4] > LH_CHAN_OPAQUE)
		return fail(d, -LH_E_CORRUPT, h->stream_id, "OPEN with channel kind %u", b[4]);
	if (d->nstreams == DEC_MAX_STREAMS)
		return fail(d, -LH_E_LIMIT, h->stream_id, "more than %u open streams", DEC_MAX_STREAMS);
	if (d->nstreams == d->cap) {
		uint32_t nc = d->cap ? d->cap * 2 : 16;
		dec_stream **n = realloc(d->streams, nc * sizeof(*n));
		if (!n)
			return fail(d, -LH_E_NOMEM, h->stream_id, "stream table");
		d->streams = n;
		d->cap = nc;
	}
	dec_stream *s = calloc(1, sizeof(*s));
	if (!s || !(s->hash = XXH3_createState())) {
		free(s);
		return fail(d, -LH_E_NOMEM, h->stream_id, "stream");
	}
	XXH3_128bits_reset(s->hash);
	s->id = h->stream_id;
	s->vm_id = lh_be32(b);
	s->kind = (lh_channel_kind)b[4];
	memcpy(s->label, b + 6, b[5]);
	s->label[b[5]] = 0;
	d->streams[d->nstreams++] = s;
	if (info) {
		info->kind = s->kind;
		memcpy(info->label, s->label, sizeof(s->label));
	}
	return 0;
}

static int do_end(lh_wan_dec *d, const lh_frame_hdr *h, const uint8_t *b, dec_stream *s, uint32_t idx)
{
	if (h->type == LH_FT_ABORT) {
		drop_stream(d, idx);
		return 0;
	}
	if (h->body_len != LH_END_BODY)
		return fail(d, -LH_E_BAD_LENGTH, h->stream_id, "END body of %u bytes", h->body_len);
	uint64_t total = lh_be64(b);
	XXH128_canonical_t want, got;
	memcpy(&want, b + 8, 16);
	XXH128_canonicalFromHash(&got, XXH3_128bits_digest(s->hash));
	if (total != s->bytes || memcmp(&want, &got, sizeof(got))) {
		int r = fail(d, -LH_E_CHECKSUM, h->stream_id,
			     "stream %u: %llu bytes decoded, sender had %llu; XXH3-128 %s", h->stream_id,
			     (unsigned long long)s->bytes, (unsigned long long)total,
			     memcmp(&want, &got, sizeof(got)) ? "differs" : "matches");
		drop_stream(d, idx);
		return r;
	}
	drop_stream(d, idx);
	return 0;
}

static int dst_slot(lh_wan_dec *d, uint32_t sid, uint64_t zz, int64_t *prev, uint32_t *slot)
{
	int64_t s = *prev + 1 + lh_unzigzag(zz);
	if (s < 0 || s >= (int64_t)d->st.nslots)
		return fail(d, -LH_E_CORRUPT, sid, "store slot %lld outside the store (%u slots)", (long long)s,
			    d->st.nslots);
	*prev = s;
	*slot = (uint32_t)s;
	return 0;
}

/* One record header into out (8 bytes, big-endian), moving the stream's predictor. */
static void put_rec(dec_stream *s, int kind, uint64_t hdr, uint8_t *out)
{
	lh_put64(out, hdr);
	lh_rec_seen(&s->rec, kind, hdr);
}

/* Runs the op list; every read and write is bounds-checked against the sections and dst. */
static long run_ops(lh_wan_dec *d, const lh_frame_hdr *h, const lh_dec_sections *ds, const uint8_t *z,
		    const uint8_t *bsec, uint8_t *out, dec_stream *s)
{
	XXH3_state_t *hash = s->hash;
	size_t hashed = 0;
	const uint32_t sid = h->stream_id;
	const uint8_t *op = ds->ops, *end = ds->ops + ds->ops_len;
	size_t o = 0, zp = 0, rp = 0, bp = 0, k;
	const size_t olen = h->raw_len;
	int64_t prev = -1;
	uint64_t a, b2, c;
	uint32_t slot;
	int r, ptr_page, kind;

#define GETV(v)                                                                                  \
	do {                                                                                     \
		if (!(k = lh_varint_get(op, (size_t)(end - op), &(v))))                          \
			return fail(d, -LH_E_CORRUPT, sid, "op %zu: truncated varint", (size_t)(op - ds->ops)); \
		op += k;                                                                         \
	} while (0)
#define NEED_OUT(n)                                                                              \
	do {                                                                                     \
		if ((n) > olen - o)                                                              \
			return fail(d, -LH_E_BAD_LENGTH, sid, "ops write past the frame's %zu bytes", olen); \
	} while (0)

	while (op < end) {
		const size_t at = (size_t)(op - ds->ops); /* this op's position, for errors */
		uint8_t code = *op++;
		if (code & LH_OP_F_HDR) {
			/* a page op led by its predicted record header */
			code &= (uint8_t)~LH_OP_F_HDR;
			if (!d->allow.rec || code < LH_OP_REF || code == LH_OP_HDR || code == LH_OP_ZREC ||
			    code > LH_OP_ZREC)
				return fail(d, -LH_E_CORRUPT, sid, "op %zu: header flag on op 0x%02x%s", at, code,
					    d->allow.rec ? "" : " (HELLO did not allow record headers)");
			NEED_OUT(8 + PS);
			put_rec(s, LH_REC_PAGE, lh_rec_predict(&s->rec, LH_REC_PAGE), out + o);
			o += 8;
			d->stats.rec_predicted++;
		}
		switch (code) {
		case LH_OP_HDR:
		case LH_OP_ZREC:
			if (!d->allow.rec)
				return fail(d, -LH_E_CORRUPT, sid, "op %zu: record header op, but HELLO did not allow them",
					    at);
			if (code == LH_OP_ZREC) {
				GETV(a);
				if (a == 0 || a > olen / 9)
					return fail(d, -LH_E_BAD_LENGTH, sid, "ZREC run of %llu records",
						    (unsigned long long)a);
				NEED_OUT(a * 9);
				d->stats.rec_predicted += a;
				for (; a; a--, o += 9) {
					put_rec(s, LH_REC_ZERO, lh_rec_predict(&s->rec, LH_REC_ZERO), out + o);
					out[o + 8] = 0;
				}
				break;
			}
			if (op == end)
				return fail(d, -LH_E_CORRUPT, sid, "op %zu: truncated HDR", at);
			if (*op > LH_REC_ZERO)
				return fail(d, -LH_E_CORRUPT, sid, "op %zu: HDR of unknown kind %u", at, *op);
			kind = *op++;
			GETV(a);
			GETV(b2);
			if (b2 > LH_REC_FLAGS_MASK)
				return fail(d, -LH_E_CORRUPT, sid, "HDR flags 0x%llx do not fit below the page offset",
					    (unsigned long long)b2);
			NEED_OUT(8);
			d->stats.rec_explicit++;
			put_rec(s, kind, lh_rec_at_distance(&s->rec, lh_unzigzag(a), (uint16_t)b2), out + o);
			o += 8;
			break;
		case LH_OP_LIT:
			GETV(a);
			NEED_OUT(a);
			if (a > ds->z_raw - zp)
				return fail(d, -LH_E_BAD_LENGTH, sid, "LIT of %llu bytes past the Z section",
					    (unsigned long long)a);
			memcpy(out + o, z + zp, a);
			o += a;
			zp += a;
			break;
		case LH_OP_ZERO:
			GETV(a);
			if (a == 0 || a > olen / PS)
				return fail(d, -LH_E_BAD_LENGTH, sid, "ZERO run of %llu pages", (unsigned long long)a);
			NEED_OUT(a * PS);
			memset(out + o, 0, a * PS);
			o += a * PS;
			d->stats.pages[LH_WAN_OP_ZERO] += a;
			break;
		case LH_OP_REF:
			GETV(a);
			if (a >= d->st.nslots)
				return fail(d, -LH_E_CORRUPT, sid, "REF to slot %llu outside the store (%u slots)",
					    (unsigned long long)a, d->st.nslots);
			NEED_OUT(PS);
			memcpy(out + o, lh_store_page(&d->st, (uint32_t)a), PS);
			o += PS;
			d->stats.pages[LH_WAN_OP_REF]++;
			break;
		case LH_OP_PAGEZ:
		case LH_OP_PAGEB:
		case LH_OP_PAGER:
		case LH_OP_PAGEZP:
		case LH_OP_PAGEBP:
			GETV(a);
			if ((r = dst_slot(d, sid, a, &prev, &slot)) < 0)
				return r;
			ptr_page = code == LH_OP_PAGEZP || code == LH_OP_PAGEBP;
			if (ptr_page) { /* c: the page frame number it is relative to */
				if (!d->allow.ptr)
					return fail(d, -LH_E_CORRUPT, sid,
						    "op %zu: pointer-relative page, but HELLO did not allow them", at);
				GETV(c);
				code = code == LH_OP_PAGEZP ? LH_OP_PAGEZ : LH_OP_PAGEB;
			}
			NEED_OUT(PS);
			if (code == LH_OP_PAGEZ) {
				if (PS > ds->z_raw - zp)
					return fail(d, -LH_E_BAD_LENGTH, sid, "page past the Z section");
				memcpy(out + o, z + zp, PS);
				zp += PS;
			} else if (code == LH_OP_PAGEB) {
				if (PS > ds->b_raw - bp)
					return fail(d, -LH_E_BAD_LENGTH, sid, "page past the B section");
				memcpy(out + o, bsec + bp, PS);
				bp += PS;
			} else {
				if (PS > ds->r_len - rp)
					return fail(d, -LH_E_BAD_LENGTH, sid, "page past the R section");
				memcpy(out + o, ds->r + rp, PS);
				rp += PS;
			}
			if (ptr_page) {
				lh_ptr_from_rel(out + o, c); /* exact for any c: a rotation inside the region */
				d->stats.ptr_rel_pages++;
			}
			lh_store_write(lh_store_page(&d->st, slot), out + o);
			o += PS;
			d->stats.pages[code == LH_OP_PAGER ? LH_WAN_OP_LITERAL_RAW : LH_WAN_OP_LITERAL]++;
			break;
		case LH_OP_DELTA:
			GETV(a);
			GETV(b2);
			GETV(c);
			if (a >= d->st.nslots)
				return fail(d, -LH_E_CORRUPT, sid, "DELTA base slot %llu outside the store",
					    (unsigned long long)a);
			if ((r = dst_slot(d, sid, b2, &prev, &slot)) < 0)
				return r;
			NEED_OUT(PS);
			if (c > ds->z_raw - zp)
				return fail(d, -LH_E_BAD_LENGTH, sid, "DELTA of %llu bytes past the Z section",
					    (unsigned long long)c);
			if ((r = lh_delta_apply(lh_store_page(&d->st, (uint32_t)a), z + zp, c, out + o, PS)) < 0)
				return fail(d, r, sid, "malformed delta at op %zu", (size_t)(op - ds->ops));
			lh_store_write(lh_store_page(&d->st, slot), out + o);
			zp += c;
			o += PS;
			d->stats.pages[LH_WAN_OP_DELTA_PREV]++;
			d->stats.delta_bytes[0] += c;
			break;
		default:
			return fail(d, -LH_E_CORRUPT, sid, "unknown op 0x%02x", code);
		}
		/* hash the output while it is still in L1 (after the frame it is not) */
		if (o - hashed >= DEC_HASH_STEP) {
			XXH3_128bits_update(hash, out + hashed, o - hashed);
			hashed = o;
		}
	}
	if (o != olen || zp != ds->z_raw || rp != ds->r_len || bp != ds->b_raw)
		return fail(d, -LH_E_BAD_LENGTH, sid,
			    "ops produced %zu of %zu bytes, used %zu of %llu Z, %zu of %llu B and %zu of %llu R bytes",
			    o, olen, zp, (unsigned long long)ds->z_raw, bp, (unsigned long long)ds->b_raw, rp,
			    (unsigned long long)ds->r_len);
	XXH3_128bits_update(hash, out + hashed, o - hashed);
	lh_store_fence(); /* the store's streaming writes, ordered before we return */
	return (long)o;
#undef GETV
#undef NEED_OUT
}

/* A frame decoded after being announced: what the look-ahead thread did with it. */
typedef struct {
	lh_ahead_result res;
	unsigned seq;
	bool b_here;            /* this thread decompresses its B section (else the look-ahead thread did) */
} ahead_turn;

/* Sets where of an error that lh_dec_* filled in. */
static int sect_fail(lh_wan_dec *d, int code)
{
	d->err.where = d->nframes;
	return code;
}

/* On the look-ahead thread, for each announced frame in order: its body check and
 * Z section. The decoder checks everything else when the frame's turn comes. */
static void ahead_z(void *ctx, lh_ahead_item *it)
{
	lh_wan_dec *d = ctx;
	lh_ahead_result *res = &it->res;
	lh_frame_hdr h;

	if (d->ahead_broken || lh_frame_hdr_parse(it->frame, &h) < 0 || h.type != LH_FT_DATA ||
	    it->len != LH_WAN_FRAME_HDR + (size_t)h.body_len)
		return;
	const uint8_t *b = it->frame + LH_WAN_FRAME_HDR;
	if (lh_frame_body_check(b, h.body_len) != h.body_check)
		return;
	res->body_ok = true;
	if (lh_dec_split(&d->allow, &h, b, &res->ds, &res->err) < 0)
		return;
	const lh_dec_sections *ds = &res->ds;
	if (ds->flags & LH_DATA_F_ZSTD)
		res->code = lh_dec_zs_section(&d->zs[0], h.stream_id, ds->z, ds->z_len, ds->z_raw, &res->z, &res->err);
	res->stream_id = h.stream_id;
	res->z_done = true;
	d->ahead_broken = res->code < 0;
}

/* On the look-ahead thread, when it has no Z section to do: the B section of
 * a frame whose Z section it did, next in B's order (wan_dec_ahead.c). */
static void ahead_b(void *ctx, lh_ahead_item *it)
{
	lh_wan_dec *d = ctx;
	lh_ahead_result *res = &it->res;
	const lh_dec_sections *ds = &res->ds; /* as ahead_z split it */

	if (!res->z_done || res->code < 0 || d->ahead_b_broken || !(ds->flags & LH_DATA_F_BSEC))
		return; /* nothing to do, or the decoder meets the error first */
	res->b_code = lh_dec_zs_section(&d->zs[1], res->stream_id, ds->b, ds->b_len, ds->b_raw, &res->b, &res->b_err);
	d->ahead_b_broken = res->b_code < 0;
}

/* Whether a frame has enough zstd work to hand over: a B section, or a Z section
 * that zstd shrank by AHEAD_MIN_Z bytes or more. Below that the handover costs
 * about what it saves: incompressible bytes travel in R, or in Z as stored
 * blocks, which decompress as a copy. */
#define AHEAD_MIN_Z (64u << 10)
static bool ahead_worth(const uint8_t *f, size_t len)
{
	uint64_t v[3]; /* ops_len, z_raw, z_len */
	if (len < LH_WAN_FRAME_HDR + 1 || f[3] != LH_FT_DATA)
		return false;
	const uint8_t *b = f + LH_WAN_FRAME_HDR;
	size_t at = 1, n = len - LH_WAN_FRAME_HDR, k;
	if (b[0] & LH_DATA_F_BSEC)
		return true;
	if (!(b[0] & LH_DATA_F_ZSTD))
		return false;
	for (int i = 0; i < 3; i++, at += k)
		if (!(k = lh_varint_get(b + at, n - at, &v[i])))
			return false;
	return v[1] > v[2] && v[1] - v[2] >= AHEAD_MIN_Z;
}

int lh_wan_dec_announce(lh_wan_dec *d, const void *frame, size_t len)
{
	if (d->err.code)
		return d->err.code;
	if (!d->have_hello || d->no_ahead || !ahead_worth(frame, len))
		return 0;
	if (!d->ahead && !(d->ahead = lh_ahead_create(ahead_z, ahead_b, d))) {
		d->no_ahead = true;
		return 0;
	}
	return lh_ahead_push(d->ahead, frame, len) == 0; /* 0: the queue is full */
}

static long do_data(lh_wan_dec *d, const lh_frame_hdr *h, const uint8_t *b, dec_stream *s, uint8_t *dst,
		    const ahead_turn *pre)
{
	lh_dec_sections ds;
	const uint8_t *z, *bsec = NULL;
	long r;

	if ((r = lh_dec_split(&d->allow, h, b, &ds, &d->err)) < 0)
		return sect_fail(d, (int)r);
	z = ds.z;
	if (pre) { /* the look-ahead thread did Z */
		if (!pre->res.z_done) /* it agreed with the decoder on every check before: cannot happen */
			return fail(d, -LH_E_STATE, h->stream_id, "announced frame's Z section was not decoded");
		if (pre->res.code < 0) {
			d->err = pre->res.err;
			return sect_fail(d, pre->res.code);
		}
		if (ds.flags & LH_DATA_F_ZSTD)
			z = pre->res.z;
	} else if ((ds.flags & LH_DATA_F_ZSTD) &&
		   (r = lh_dec_zs_section(&d->zs[0], h->stream_id, ds.z, ds.z_len, ds.z_raw, &z, &d->err)) < 0) {
		return sect_fail(d, (int)r);
	}
	if (pre && !pre->b_here) { /* and B */
		if (pre->res.b_code < 0) {
			d->err = pre->res.b_err;
			return sect_fail(d, pre->res.b_code);
		}
		if ((ds.flags & LH_DATA_F_BSEC) && !pre->res.b)
			return fail(d, -LH_E_STATE, h->stream_id, "announced frame's B section was not decoded");
		bsec = pre->res.b;
		d->stats.ahead_b_sections += bsec != NULL;
	} else {
		if ((ds.flags & LH_DATA_F_BSEC) &&
		    (r = lh_dec_zs_section(&d->zs[1], h->stream_id, ds.b, ds.b_len, ds.b_raw, &bsec, &d->err)) < 0)
			return sect_fail(d, (int)r);
		if (pre) /* the thread may take the next frame's B now */
			lh_ahead_b_passed(d->ahead, pre->seq);
	}
	if (ds.flags & LH_DATA_F_OPSZ) { /* the ops end the Z section; the ops read the rest */
		ds.z_raw -= ds.ops_len;
		ds.ops = z + ds.z_raw;
	}
	if ((r = run_ops(d, h, &ds, z, bsec, dst, s)) < 0)
		return r;
	s->bytes += (uint64_t)r;
	d->stats.bytes_out += (uint64_t)r;
	return r;
}

long lh_wan_dec_frame(lh_wan_dec *d, const void *frame, size_t len, void *dst, size_t cap,
		      lh_wan_frame_info *info)
{
	const uint8_t *f = frame;
	lh_frame_hdr h;
	dec_stream *s = NULL;
	uint32_t idx = 0;
	lh_ahead_item *it = lh_ahead_peek(d->ahead); /* NULL when none is queued */
	ahead_turn turn, *pre = NULL;
	long r;

	if (it) { /* claim its B section unless the thread has, then wait for the thread's Z */
		turn.b_here = lh_ahead_claim_b(d->ahead, it);
		lh_ahead_wait(d->ahead, it);
	}
	if (d->err.code)
		return d->err.code;
	if (it && (it->frame != f || it->len != len))
		return fail(d, -LH_E_STATE, 0, "frame of %zu bytes is not the %zu-byte one announced next", len,
			    it->len);
	if (info)
		memset(info, 0, sizeof(*info));
	if (len < LH_WAN_FRAME_HDR)
		return fail(d, -LH_E_TRUNCATED, 0, "frame of %zu bytes, header needs %d", len, LH_WAN_FRAME_HDR);
	if ((r = lh_frame_hdr_parse(f, &h)) < 0)
		return fail(d, (int)r, 0, "bad frame header (%s)", lh_err_name((int)r));
	if (len != LH_WAN_FRAME_HDR + (size_t)h.body_len)
		return fail(d, -LH_E_BAD_LENGTH, h.stream_id, "frame of %zu bytes, header says %u", len,
			    LH_WAN_FRAME_HDR + h.body_len);
	if (h.raw_len > cap) /* caller's mistake, not the stream's: not sticky */
		return -LH_E_DST_TOO_SMALL;
	if (it) {
		if (!turn.b_here)
			lh_ahead_wait_b(d->ahead, it);
		turn.res = it->res;
		turn.seq = it->seq;
		pre = &turn;
		d->stats.ahead_frames++;
		lh_ahead_pop(d->ahead);
		if (turn.b_here && h.type != LH_FT_DATA) /* no B section: the thread may go on */
			lh_ahead_b_passed(d->ahead, turn.seq);
	}
	const uint8_t *b = f + LH_WAN_FRAME_HDR;
	if (!(pre && pre->res.body_ok) && lh_frame_body_check(b, h.body_len) != h.body_check)
		return fail(d, -LH_E_CHECKSUM, h.stream_id, "frame body check mismatch");
	d->stats.bytes_in += len;
	d->stats.frames++;
	if (info) {
		info->type = h.type;
		info->stream_id = h.stream_id;
	}
	if (h.type == LH_FT_HELLO) {
		r = do_hello(d, &h, b);
		d->nframes++;
		return r;
	}
	if (!d->have_hello)
		return fail(d, -LH_E_STATE, h.stream_id, "frame type %u before HELLO", h.type);
	if (h.type == LH_FT_OPEN) {
		r = do_open(d, &h, b, info);
		if (r == 0 && info)
			info->vm_id = lh_be32(b);
		d->nframes++;
		return r;
	}
	if (!(s = find_stream(d, h.stream_id, &idx)))
		return fail(d, -LH_E_CORRUPT, h.stream_id, "frame type %u for stream %u, which is not open", h.type,
			    h.stream_id);
	if (info) {
		info->vm_id = s->vm_id;
		info->kind = s->kind;
		memcpy(info->label, s->label, sizeof(s->label));
	}
	if (h.type == LH_FT_DATA) {
		r = do_data(d, &h, b, s, dst, pre);
		if (info && r >= 0)
			info->stream_bytes = s->bytes;
	} else {
		if (info)
			info->stream_bytes = s->bytes;
		r = do_end(d, &h, b, s, idx);
	}
	d->nframes++;
	return r;
}
