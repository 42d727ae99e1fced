/* SPDX-License-Identifier: MIT */
/* WAN decoder: frames in the sender's order -> each stream's exact bytes, store mirrored. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wan_hash.h"
#define ZSTD_STATIC_LINKING_ONLY /* buffer-less decompression into the Z ring */
#include <zstd.h>
#include "be.h"
#include "delta.h"
#include "frame.h"
#include "lh_wan.h"
#include "pagestore.h"
#include "ptrrel.h"

#define DEC_MAX_STREAMS 4096
#define DEC_HASH_STEP (16u << 10) /* output hashed in pieces of at least this size */
/* Z sections are decompressed in place into a ring (see decompress_z): the
 * largest zstd window we accept (8 MiB), the frame being decoded (<= 1 MiB and its ops),
 * and a second frame's worth, so that even right after a wrap every byte an
 * 8 MiB window can reach lies behind the region being overwritten. */
#define DEC_ZRING ((1u << LH_WAN_ZSTD_WINDOW_LOG_MAX) + 2 * (LH_WAN_FRAME_RAW_MAX + LH_WAN_OPS_MAX) + (256u << 10))
#define DEC_BRING ((1u << LH_WAN_ZSTD_B_WINDOW_LOG) + 2 * LH_WAN_FRAME_RAW_MAX + (256u << 10))
#define PS LH_WAN_PAGE_SIZE

typedef struct {
	uint32_t id, vm_id;
	lh_channel_kind kind;
	uint64_t bytes;
	XXH3_state_t *hash;
	char label[256];
	lh_rec_pred rec;        /* record headers: the predictor, moved as the encoder's is */
} dec_stream;

/* One of the session's zstd streams, decompressed in place into its ring. */
typedef struct {
	ZSTD_DCtx *dctx;
	bool frame_start;       /* dctx expects a zstd frame header next */
	uint8_t *ring;          /* decompressed sections, in order (zstd's history) */
	size_t ring_size, pos;  /* pos: where the next section goes */
	unsigned max_window_log;
	char name;              /* 'Z' or 'B', for errors */
} dec_zs;

struct lh_wan_dec {
	int64_t max_store_mb;
	bool store_commit;      /* LH_WAN_P_STORE_COMMIT: commit the store at HELLO */
	bool have_hello;
	lh_pagestore st;
	dec_stream **streams;
	uint32_t nstreams, cap;
	dec_zs zs[2];           /* [0] the Z sections' zstd stream, [1] the B sections' */
	bool allow_b;           /* HELLO announced B sections */
	bool allow_ptr;         /* HELLO announced pointer-relative pages */
	bool allow_rec;         /* HELLO announced record-header ops */
	bool allow_opsz;        /* HELLO announced ops inside Z */
	uint64_t nframes;
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
	for (int i = 0; i < 2; i++) {
		dec_zs *zs = &d->zs[i];
		zs->name = i ? 'B' : 'Z';
		zs->ring_size = i ? DEC_BRING : DEC_ZRING;
		zs->max_window_log = i ? LH_WAN_ZSTD_B_WINDOW_LOG : LH_WAN_ZSTD_WINDOW_LOG_MAX;
		zs->frame_start = true;
		zs->dctx = ZSTD_createDCtx();
		zs->ring = lh_big_zalloc(zs->ring_size);
		if (!zs->dctx || !zs->ring || ZSTD_isError(ZSTD_decompressBegin(zs->dctx))) {
			lh_wan_dec_free(d);
			return NULL;
		}
	}
	return d;
}

void lh_wan_dec_free(lh_wan_dec *d)
{
	if (!d)
		return;
	for (uint32_t i = 0; i < d->nstreams; i++) {
		XXH3_freeState(d->streams[i]->hash);
		free(d->streams[i]);
	}
	free(d->streams);
	lh_store_fini(&d->st);
	for (int i = 0; i < 2; i++) {
		ZSTD_freeDCtx(d->zs[i].dctx);
		lh_big_free(d->zs[i].ring, d->zs[i].ring_size);
	}
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

const lh_wan_error *lh_wan_dec_error(const lh_wan_dec *d) { return &d->err; }
const lh_wan_stats *lh_wan_dec_stats(const lh_wan_dec *d) { return &d->stats; }
uint32_t lh_wan_dec_open_streams(const lh_wan_dec *d) { return d->nstreams; }

long lh_wan_frame_size(const void *buf, size_t len)
{
	lh_frame_hdr h;
	int r;
	if (len < LH_WAN_FRAME_HDR)
		return 0;
	if ((r = lh_frame_hdr_parse(buf, &h)) < 0)
		return r;
	return (long)LH_WAN_FRAME_HDR + h.body_len;
}

long lh_wan_frame_raw_len(const void *buf, size_t len)
{
	lh_frame_hdr h;
	int r;
	if (len < LH_WAN_FRAME_HDR)
		return -LH_E_TRUNCATED;
	if ((r = lh_frame_hdr_parse(buf, &h)) < 0)
		return r;
	return h.raw_len;
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
	if (h->body_len != LH_HELLO_BODY)
		return fail(d, -LH_E_BAD_LENGTH, 0, "HELLO body of %u bytes, want %u", h->body_len, LH_HELLO_BODY);
	uint32_t ps = lh_be32(b), slots = lh_be32(b + 4), flags = lh_be32(b + 8);
	if (ps != PS)
		return fail(d, -LH_E_UNSUPPORTED, 0, "HELLO page size %u, only %u is supported", ps, PS);
	if (flags & ~(uint32_t)(LH_HELLO_F_BSTREAM | LH_HELLO_F_PTRREL | LH_HELLO_F_RECHDR | LH_HELLO_F_OPSZ))
		return fail(d, -LH_E_UNSUPPORTED, 0, "HELLO flags 0x%x unknown", flags);
	d->allow_b = flags & LH_HELLO_F_BSTREAM;
	d->allow_ptr = flags & LH_HELLO_F_PTRREL;
	d->allow_rec = flags & LH_HELLO_F_RECHDR;
	d->allow_opsz = flags & LH_HELLO_F_OPSZ;
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

/* Section layout of a DATA body (FORMAT.md). */
typedef struct {
	uint8_t flags;
	const uint8_t *ops, *z, *b, *r;
	uint64_t ops_len, z_raw, z_len, r_len, b_raw, b_len;
} data_sections;

static int split_data(lh_wan_dec *d, const lh_frame_hdr *h, const uint8_t *b, data_sections *ds)
{
	size_t at = 1, k, n = h->body_len;
	uint64_t *fields[6] = { &ds->ops_len, &ds->z_raw, &ds->z_len, &ds->r_len, &ds->b_raw, &ds->b_len };

	if (n < 5)
		return fail(d, -LH_E_TRUNCATED, h->stream_id, "DATA body of %zu bytes", n);
	ds->flags = b[0];
	if (ds->flags & ~(LH_DATA_F_ZSTD | LH_DATA_F_BSEC | LH_DATA_F_OPSZ))
		return fail(d, -LH_E_CORRUPT, h->stream_id, "DATA flags 0x%x unknown", ds->flags);
	const bool opsz = ds->flags & LH_DATA_F_OPSZ;
	if (opsz && (!d->allow_opsz || !(ds->flags & LH_DATA_F_ZSTD)))
		return fail(d, -LH_E_CORRUPT, h->stream_id, "DATA with its ops in Z, %s",
			    d->allow_opsz ? "but Z is not zstd" : "HELLO did not allow it");
	if ((ds->flags & LH_DATA_F_BSEC) && !d->allow_b)
		return fail(d, -LH_E_CORRUPT, h->stream_id, "DATA with a B section, HELLO did not allow them");
	int nfields = ds->flags & LH_DATA_F_BSEC ? 6 : 4;
	ds->b_raw = ds->b_len = 0;
	for (int i = 0; i < nfields; i++) {
		if (!(k = lh_varint_get(b + at, n - at, fields[i])))
			return fail(d, -LH_E_CORRUPT, h->stream_id, "DATA section length %d unreadable", i);
		at += k;
	}
	const uint64_t body_ops = opsz ? 0 : ds->ops_len; /* ops bytes in the body */
	if (ds->ops_len > LH_WAN_OPS_MAX)
		return fail(d, -LH_E_BAD_LENGTH, h->stream_id, "DATA with %llu bytes of ops (at most %u)",
			    (unsigned long long)ds->ops_len, LH_WAN_OPS_MAX);
	if (body_ops > n - at || ds->z_len > n - at - body_ops || ds->b_len > n - at - body_ops - ds->z_len ||
	    ds->r_len != n - at - body_ops - ds->z_len - ds->b_len)
		return fail(d, -LH_E_BAD_LENGTH, h->stream_id,
			    "DATA sections (ops %llu, z %llu, b %llu, r %llu) do not fill the %zu-byte body",
			    (unsigned long long)ds->ops_len, (unsigned long long)ds->z_len,
			    (unsigned long long)ds->b_len, (unsigned long long)ds->r_len, n - at);
	if (ds->z_raw > h->raw_len + (opsz ? ds->ops_len : 0) || ds->r_len > h->raw_len || ds->b_raw > h->raw_len)
		return fail(d, -LH_E_BAD_LENGTH, h->stream_id, "DATA section larger than the frame's output");
	if (opsz && ds->ops_len > ds->z_raw)
		return fail(d, -LH_E_BAD_LENGTH, h->stream_id, "DATA ops of %llu bytes past its %llu-byte Z section",
			    (unsigned long long)ds->ops_len, (unsigned long long)ds->z_raw);
	if (!(ds->flags & LH_DATA_F_ZSTD) && ds->z_len != ds->z_raw)
		return fail(d, -LH_E_BAD_LENGTH, h->stream_id, "stored Z section of %llu bytes claims %llu",
			    (unsigned long long)ds->z_len, (unsigned long long)ds->z_raw);
	ds->ops = b + at; /* with opsz: set from Z once it is decompressed */
	ds->z = ds->ops + body_ops;
	ds->b = ds->z + ds->z_len;
	ds->r = ds->b + ds->b_len;
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
static long run_ops(lh_wan_dec *d, const lh_frame_hdr *h, const data_sections *ds, const uint8_t *z,
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
			if (!d->allow_rec || code < LH_OP_REF || code == LH_OP_HDR || code == LH_OP_ZREC ||
			    code > LH_OP_ZREC)
				return fail(d, -LH_E_CORRUPT, sid, "op %zu: header flag on op 0x%02x%s", at, code,
					    d->allow_rec ? "" : " (HELLO did not allow record headers)");
			NEED_OUT(8 + PS);
			put_rec(s, LH_REC_PAGE, lh_rec_predict(&s->rec, LH_REC_PAGE), out + o);
			o += 8;
			d->stats.rec_predicted++;
		}
		switch (code) {
		case LH_OP_HDR:
		case LH_OP_ZREC:
			if (!d->allow_rec)
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
				if (!d->allow_ptr)
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

/*
 * One of the session's zstd streams (Z, or B): this section holds whole zstd
 * blocks (the encoder ends every section at a block boundary) and
 * decompresses to raw bytes. zstd's buffer-less API writes them straight into the ring,
 * where the ops read them: no copy out of a zstd-owned window buffer
 * (~6 % of decode time). Each section lands contiguously; when it would not
 * fit before the ring's end it starts again at 0, and zstd keeps the previous
 * contiguous run as history. Windows over 8 MiB (Z) or 2 MiB (B, whose
 * ring is smaller) are refused.
 */
static long decompress_z(lh_wan_dec *d, const lh_frame_hdr *h, dec_zs *zs, const uint8_t *in, size_t left,
			 uint64_t raw, const uint8_t **z)
{
	size_t got = 0;

	if (zs->pos + raw > zs->ring_size)
		zs->pos = 0;
	uint8_t *out = zs->ring + zs->pos;
	while (left > 0) {
		size_t need = ZSTD_nextSrcSizeToDecompress(zs->dctx);
		if (need == 0) {
			/* the previous zstd frame ended (a level change): the next one starts here */
			ZSTD_decompressBegin(zs->dctx);
			zs->frame_start = true;
			continue;
		}
		if (zs->frame_start) {
			ZSTD_frameHeader fh;
			size_t hr = ZSTD_getFrameHeader(&fh, in, left);
			if (hr != 0)
				return fail(d, -LH_E_CORRUPT, h->stream_id, "%c section: %s", zs->name,
					    ZSTD_isError(hr) ? ZSTD_getErrorName(hr) : "zstd frame header cut short");
			if (fh.frameType == ZSTD_frame && fh.windowSize > (1ull << zs->max_window_log))
				return fail(d, -LH_E_LIMIT, h->stream_id, "%c section: zstd window of %llu bytes",
					    zs->name, (unsigned long long)fh.windowSize);
			zs->frame_start = false;
		}
		if (need > left)
			return fail(d, -LH_E_TRUNCATED, h->stream_id, "%c section ends inside a zstd block", zs->name);
		size_t n = ZSTD_decompressContinue(zs->dctx, out + got, raw - got, in, need);
		if (ZSTD_isError(n))
			return fail(d, -LH_E_CORRUPT, h->stream_id, "%c section: %s", zs->name, ZSTD_getErrorName(n));
		got += n;
		in += need;
		left -= need;
	}
	if (got != raw)
		return fail(d, -LH_E_BAD_LENGTH, h->stream_id, "%c section gave %zu bytes, header says %llu", zs->name,
			    got, (unsigned long long)raw);
	zs->pos += got;
	*z = out;
	return 0;
}

static long do_data(lh_wan_dec *d, const lh_frame_hdr *h, const uint8_t *b, dec_stream *s, uint8_t *dst)
{
	data_sections ds;
	const uint8_t *z, *bsec = NULL;
	long r;

	if ((r = split_data(d, h, b, &ds)) < 0)
		return r;
	if (ds.flags & LH_DATA_F_ZSTD) {
		if ((r = decompress_z(d, h, &d->zs[0], ds.z, ds.z_len, ds.z_raw, &z)) < 0)
			return r;
	} else {
		z = ds.z;
	}
	if (ds.flags & LH_DATA_F_OPSZ) { /* the ops end the Z section; the ops read the rest */
		ds.z_raw -= ds.ops_len;
		ds.ops = z + ds.z_raw;
	}
	if ((ds.flags & LH_DATA_F_BSEC) && (r = decompress_z(d, h, &d->zs[1], ds.b, ds.b_len, ds.b_raw, &bsec)) < 0)
		return r;
	if ((r = run_ops(d, h, &ds, z, bsec, dst, s)) < 0)
		return r;
	s->bytes += (uint64_t)r;
	d->stats.bytes_out += (uint64_t)r;
	return r;
}

static long dec_frame(lh_wan_dec *d, const void *frame, size_t len, void *dst, size_t cap,
		      lh_wan_frame_info *info)
{
	const uint8_t *f = frame;
	lh_frame_hdr h;
	dec_stream *s = NULL;
	uint32_t idx = 0;
	long r;

	if (d->err.code)
		return d->err.code;
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
	const uint8_t *b = f + LH_WAN_FRAME_HDR;
	if (lh_frame_body_check(b, h.body_len) != h.body_check)
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
		r = do_data(d, &h, b, s, dst);
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

long lh_wan_dec_frame(lh_wan_dec *d, const void *frame, size_t len, void *dst, size_t cap,
		      lh_wan_frame_info *info)
{
	return dec_frame(d, frame, len, dst, cap, info);
}
