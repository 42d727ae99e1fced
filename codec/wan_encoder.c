/* SPDX-License-Identifier: MIT */
/* WAN encoder: streams, their parsers and VMs; parser events -> page ops and literal bytes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "be.h"
#include "frame.h"
#include "wan_enc_internal.h"
#include "wan_params.h"

#define PS LH_WAN_PAGE_SIZE

static const char *const op_names[LH_WAN_OP__COUNT] = {
	"zero", "ref", "delta_prev", "delta_sim", "literal", "literal_raw",
};

const char *lh_wan_op_name(lh_wan_op op)
{
	return (unsigned)op < LH_WAN_OP__COUNT ? op_names[op] : "unknown";
}

int lh__enc_fail(lh_wan_enc *e, int code, uint32_t sid, uint64_t where, const char *fmt, ...)
{
	va_list ap;
	e->err.code = code;
	e->err.stream_id = sid;
	e->err.where = where;
	va_start(ap, fmt);
	vsnprintf(e->err.detail, sizeof(e->err.detail), fmt, ap);
	va_end(ap);
	return code;
}

lh_wan_enc *lh_wan_enc_create(void)
{
	lh_wan_enc *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->store_mb = 1024;
	e->level = LH_WAN_LEVEL_AUTO;
	e->pressure = 50;
	e->frame_raw = LH_WAN_FRAME_RAW_MAX;
	e->threads = 1;
	e->resemblance = e->delta_prev = e->ptr_rel = e->rec_hdr = e->ops_z = true;
	e->dbuf[0] = malloc(PS);
	e->dbuf[1] = malloc(PS);
	if (!e->dbuf[0] || !e->dbuf[1] || lh__batch_init(e) < 0) {
		lh_wan_enc_free(e);
		return NULL;
	}
	return e;
}

static void stream_free(enc_stream *s)
{
	lh_parser_free(s->parser);
	XXH3_freeState(s->hash);
	free(s->pend);
	free(s);
}

static void vm_put(lh_wan_enc *e, enc_vm *vm)
{
	if (--vm->refs)
		return;
	for (uint32_t i = 0; i < e->nvms; i++)
		if (e->vms[i] == vm) {
			e->vms[i] = e->vms[--e->nvms];
			break;
		}
	free(vm->names);
	free(vm);
}

void lh_wan_enc_free(lh_wan_enc *e)
{
	if (!e)
		return;
	lh_worker_stop(e->worker); /* a frame in flight still reads the rings and the streams */
	for (uint32_t i = 0; i < e->nstreams; i++)
		stream_free(e->streams[i]);
	for (uint32_t i = 0; i < e->nvms; i++) {
		free(e->vms[i]->names);
		free(e->vms[i]);
	}
	free(e->streams);
	free(e->vms);
	lh_store_fini(&e->st);
	lh_lastver_fini(&e->lv);
	lh__batch_fini(e);
	free(e->dbuf[0]);
	free(e->dbuf[1]);
	free(e);
}

int lh_wan_enc_set_param(lh_wan_enc *e, lh_wan_param p, int64_t v)
{
	int64_t lo, hi;
	if (lh_wan_param_bounds(p, &lo, &hi) < 0 || v < lo || v > hi ||
	    (p == LH_WAN_P_LEVEL && v < 0 && v != LH_WAN_LEVEL_AUTO))
		return -LH_E_PARAM;
	if (e->started && lh_param_session(p))
		return -LH_E_STATE;
	switch (p) {
	case LH_WAN_P_STORE_MB: e->store_mb = v; break;
	case LH_WAN_P_LEVEL: e->level = v; break;
	case LH_WAN_P_LINK_PRESSURE: e->pressure = v; break;
	case LH_WAN_P_FRAME_RAW: e->frame_raw = v; break;
	case LH_WAN_P_RESEMBLANCE: e->resemblance = v; break;
	case LH_WAN_P_DELTA_PREV: e->delta_prev = v; break;
	case LH_WAN_P_STORE_COMMIT: e->store_commit = v; break;
	case LH_WAN_P_PTR_REL: e->ptr_rel = v; break;
	case LH_WAN_P_REC_HDR: e->rec_hdr = v; break;
	case LH_WAN_P_OPS_Z: e->ops_z = v; break;
	case LH_WAN_P_THREADS: e->threads = v; break;
	}
	return 0;
}

void lh_wan_enc_set_ready(lh_wan_enc *e, lh_wan_ready_fn fn, void *opaque)
{
	e->ready = fn;
	e->ready_opaque = opaque;
}

void lh_wan_enc_set_trace(lh_wan_enc *e, lh_wan_trace_fn fn, void *opaque)
{
	e->trace = fn;
	e->trace_opaque = opaque;
}

int lh_wan_enc_reset(lh_wan_enc *e, uint32_t epoch)
{
	if (epoch <= e->epoch)
		return -LH_E_PARAM;
	lh_wan_enc *n = lh_wan_enc_create(); /* rings only: the store comes at the next start */
	if (!n)
		return -LH_E_NOMEM; /* e is unchanged */
	n->store_mb = e->store_mb;
	n->level = e->level;
	n->pressure = e->pressure;
	n->frame_raw = e->frame_raw;
	n->threads = e->threads;
	n->resemblance = e->resemblance;
	n->delta_prev = e->delta_prev;
	n->store_commit = e->store_commit;
	n->ptr_rel = e->ptr_rel;
	n->rec_hdr = e->rec_hdr;
	n->ops_z = e->ops_z;
	n->trace = e->trace;
	n->trace_opaque = e->trace_opaque;
	n->ready = e->ready;
	n->ready_opaque = e->ready_opaque;
	n->epoch = epoch;
	/* the worker thread works on e itself: it ends (its frame in flight dropped) before e's state moves */
	lh_worker_stop(e->worker);
	e->worker = NULL;
	n->stats = e->stats; /* counters run over the whole session */
	lh_wan_enc old = *e;
	*e = *n;
	*n = old;
	lh_wan_enc_free(n); /* the old epoch's streams, store, indexes, zstd streams and queued frames */
	return 0;
}

uint32_t lh_wan_enc_epoch(const lh_wan_enc *e) { return e->epoch; }

const lh_wan_stats *lh_wan_enc_stats(const lh_wan_enc *e) { return &e->stats; }
const lh_wan_error *lh_wan_enc_error(const lh_wan_enc *e) { return &e->err; }

static enc_stream *find_stream(const lh_wan_enc *e, uint32_t id, uint32_t *idx)
{
	for (uint32_t i = 0; i < e->nstreams; i++)
		if (e->streams[i]->id == id) {
			if (idx)
				*idx = i;
			return e->streams[i];
		}
	return NULL;
}

int lh_wan_enc_stream_stats(const lh_wan_enc *e, uint32_t stream_id, lh_wan_stats *out)
{
	enc_stream *s = find_stream(e, stream_id, NULL);
	if (!s)
		return -LH_E_STATE;
	*out = s->stats;
	return 0;
}

/* First stream: the store is allocated and the HELLO frame queued; parameters freeze. */
static int start_session(lh_wan_enc *e)
{
	uint8_t body[LH_HELLO_BODY_EPOCH];
	uint32_t slots = (uint32_t)(e->store_mb * ((1 << 20) / PS));
	int r;

	if (lh_store_init(&e->st, slots, true) < 0 || lh_lastver_init(&e->lv, slots) < 0)
		return lh__enc_fail(e, -LH_E_NOMEM, 0, 0, "page store of %lld MiB", (long long)e->store_mb);
	if (e->store_commit) {
		lh_store_commit(&e->st);
		lh_lastver_commit(&e->lv);
	}
	uint32_t flags = LH_HELLO_F_BSTREAM | (e->ptr_rel ? LH_HELLO_F_PTRREL : 0) | (e->rec_hdr ? LH_HELLO_F_RECHDR : 0) |
			 (e->ops_z ? LH_HELLO_F_OPSZ : 0) | (e->epoch ? LH_HELLO_F_EPOCH : 0);
	uint8_t *end = lh_put32(lh_put32(lh_put32(body, PS), slots), flags);
	if (e->epoch)
		end = lh_put32(end, e->epoch);
	if ((r = lh__queue_frame(e, NULL, LH_FT_HELLO, 0, body, (uint32_t)(end - body))) < 0)
		return lh__enc_fail(e, r, 0, 0, "queueing HELLO");
	e->started = true;
	lh__worker_start(e);
	return 0;
}

int lh_wan_enc_begin(lh_wan_enc *e)
{
	if (e->err.code < 0)
		return e->err.code;
	return e->started ? 0 : start_session(e);
}

static enc_vm *vm_get(lh_wan_enc *e, uint32_t vm_id)
{
	for (uint32_t i = 0; i < e->nvms; i++)
		if (e->vms[i]->vm_id == vm_id) {
			e->vms[i]->refs++;
			return e->vms[i];
		}
	if (e->nvms == e->vcap) {
		uint32_t nc = e->vcap ? e->vcap * 2 : 8;
		enc_vm **n = realloc(e->vms, nc * sizeof(*n));
		if (!n)
			return NULL;
		e->vms = n;
		e->vcap = nc;
	}
	enc_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->vm_id = vm_id;
	vm->seq = ++e->vm_seq; /* a new incarnation never matches an old one's last versions */
	vm->refs = 1;
	e->vms[e->nvms++] = vm;
	return vm;
}

int lh_wan_enc_open(lh_wan_enc *e, uint32_t stream_id, uint32_t vm_id, lh_channel_kind kind,
		    const char *label)
{
	size_t ll = label ? strlen(label) : 0;
	uint8_t body[LH_OPEN_BODY_MIN + 255];
	enc_stream *s;
	int r;

	if (e->err.code < 0 && e->started)
		return e->err.code;
	if (ll > 255 || kind > LH_CHAN_OPAQUE)
		return -LH_E_PARAM;
	if (find_stream(e, stream_id, NULL) || e->nstreams == ENC_MAX_STREAMS)
		return -LH_E_STATE;
	if (!e->started && (r = start_session(e)) < 0)
		return r;
	if (e->nstreams == e->scap) {
		uint32_t nc = e->scap ? e->scap * 2 : 16;
		enc_stream **n = realloc(e->streams, nc * sizeof(*n));
		if (!n)
			return -LH_E_NOMEM;
		e->streams = n;
		e->scap = nc;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return -LH_E_NOMEM;
	s->id = stream_id;
	s->state = ES_PARSED;
	s->parser = lh_parser_create();
	s->hash = XXH3_createState();
	s->vm = vm_get(e, vm_id);
	if (!s->parser || !s->hash || !s->vm) {
		if (s->vm)
			vm_put(e, s->vm);
		stream_free(s);
		return -LH_E_NOMEM;
	}
	lh_parser_set_param(s->parser, LH_P_CHANNEL, kind);
	XXH3_128bits_reset(s->hash);
	lh_put32(body, vm_id);
	body[4] = (uint8_t)kind;
	body[5] = (uint8_t)ll;
	memcpy(body + 6, label, ll);
	/* the OPEN frame must precede the stream's first DATA frame */
	if ((r = lh__batch_close(e)) < 0 ||
	    (r = lh__queue_frame(e, s, LH_FT_OPEN, stream_id, body, (uint32_t)(LH_OPEN_BODY_MIN + ll))) < 0) {
		vm_put(e, s->vm);
		stream_free(s);
		return r;
	}
	e->streams[e->nstreams++] = s;
	return 0;
}

/* VM-wide index of the event's RAM block (channels of one VM share names), or -1. */
static int vm_block(enc_stream *s, const lh_ramblock *blk)
{
	if (!blk || blk->index >= ENC_STREAM_BLOCKS)
		return -1;
	if (s->blkmap[blk->index])
		return s->blkmap[blk->index] - 1;
	enc_vm *vm = s->vm;
	uint32_t i;
	for (i = 0; i < vm->nblocks; i++)
		if (!strcmp(vm->names[i], blk->name))
			break;
	if (i == vm->nblocks) {
		if (vm->nblocks == ENC_VM_BLOCKS)
			return -1;
		if (!(vm->nblocks & 15)) {
			char(*n)[256] = realloc(vm->names, (vm->nblocks + 16) * sizeof(*n));
			if (!n)
				return -1;
			vm->names = n;
		}
		snprintf(vm->names[vm->nblocks++], 256, "%s", blk->name);
	}
	s->blkmap[blk->index] = (uint16_t)(i + 1);
	return (int)i;
}

static uint64_t page_key(enc_stream *s, const lh_ramblock *blk, uint64_t addr)
{
	int b = vm_block(s, blk);
	return b < 0 ? 0 : lh_lastver_key(s->vm->seq, (uint32_t)b, addr / PS);
}

/* One parser event: page payloads become page ops, every other byte is literal. */
static int on_event(lh_wan_enc *e, enc_stream *s, const lh_event *ev)
{
	const uint8_t *raw = ev->raw;
	size_t n = ev->raw_len;
	int r;

	switch (ev->type) {
	case LH_EV_RAM_PAGE:
		if (ev->u.ram.data_len == PS && n >= PS && ev->u.ram.data == raw + n - PS) {
			/* an 8-byte header (offset | flags, no block name) may go as a predicted-header op */
			r = n - PS == 8 ? lh__batch_page_header(e, s, lh_be64(raw)) : 0;
			if (r == 0)
				r = lh__batch_lit(e, s, raw, n - PS);
			if (r < 0)
				return r;
			return lh__enc_page(e, s, page_key(s, ev->u.ram.block, ev->u.ram.addr), ev->u.ram.data,
					    ev->u.ram.addr);
		}
		break;
	case LH_EV_MULTIFD_PAGE:
		if (n == PS && ev->u.mf_page.data == raw)
			return lh__enc_page(e, s, page_key(s, ev->u.mf_page.block, ev->u.mf_page.addr), raw,
					    ev->u.mf_page.addr);
		break;
	case LH_EV_RAM_ZERO:
	case LH_EV_RAM_XBZRLE:
	case LH_EV_RAM_COMPRESS:
		/* the page changed in a way we do not track: forget its last version */
		lh__enc_page_gone(e, page_key(s, ev->u.ram.block, ev->u.ram.addr));
		/* a 9-byte zero-page record (fill 0) may go as a predicted-header op */
		if (ev->type == LH_EV_RAM_ZERO && n == 9 && raw[8] == 0 &&
		    (r = lh__batch_zero_record(e, s, lh_be64(raw))) != 0)
			return r < 0 ? r : 0;
		break;
	default:
		break;
	}
	return lh__batch_lit(e, s, raw, n);
}

struct cb_ctx {
	lh_wan_enc *e;
	enc_stream *s;
	int err;
	int stopped;                /* the caller's watch stopped the stream before this event */
};

/* Bytes leave the stream (into events or literals): END's length and hash cover exactly these. */
static void account(lh_wan_enc *e, enc_stream *s, const uint8_t *p, size_t n)
{
	XXH3_128bits_update(s->hash, p, n);
	s->stats.bytes_in += n;
	e->stats.bytes_in += n;
}

static int parser_cb(void *opaque, const lh_event *ev)
{
	struct cb_ctx *c = opaque;
	int r;

	if (c->s->watch.item && c->s->watch.item(c->s->watch.opaque, ev)) {
		c->stopped = 1;
		return 1;
	}
	account(c->e, c->s, ev->raw, ev->raw_len);
	if ((r = on_event(c->e, c->s, ev)) < 0) {
		c->err = r;
		return 1;
	}
	c->s->emitted += ev->raw_len;
	return 0;
}

/* The pend buffer holds at least need bytes (what is in it stays). 0, or the encoder fails (what: for what). */
static int pend_reserve(lh_wan_enc *e, enc_stream *s, size_t need, const char *what)
{
	if (need <= s->pend_cap)
		return 0;
	size_t nc = s->pend_cap ? s->pend_cap : 16384;
	while (nc < need)
		nc *= 2;
	uint8_t *p = realloc(s->pend, nc);
	if (!p)
		return lh__enc_fail(e, -LH_E_NOMEM, s->id, s->fed, "%s", what);
	s->pend = p;
	s->pend_cap = nc;
	return 0;
}

/* Keeps the bytes the parser holds back (fed, not yet in an event) after chunk[0..n) was fed. */
static int keep_pending(lh_wan_enc *e, enc_stream *s, const uint8_t *chunk, size_t n)
{
	uint64_t keep64 = s->fed - s->emitted;
	int r;
	if (keep64 > ENC_PEND_MAX || keep64 > s->pend_len + n)
		return lh__enc_fail(e, -LH_E_STATE, s->id, s->fed, "parser holds back %llu bytes",
				    (unsigned long long)keep64);
	size_t keep = (size_t)keep64;
	if ((r = pend_reserve(e, s, keep, "parser look-ahead copy")) < 0)
		return r;
	if (keep == 0) {
		/* nothing held back */
	} else if (keep <= n) {
		memcpy(s->pend, chunk + n - keep, keep);
	} else {
		size_t old = keep - n;
		memmove(s->pend, s->pend + s->pend_len - old, old);
		memcpy(s->pend + old, chunk, n);
	}
	s->pend_len = keep;
	return 0;
}

/*
 * The parser gave up (the one fallback for a stream it cannot follow): what it
 * held back, and everything after, goes as literal bytes; or, when the
 * caller's watch says so (may_stop), the stream stops there and those bytes
 * are the rest the caller takes back (lh_wan_enc_rest).
 */
static int fall_back(lh_wan_enc *e, enc_stream *s, bool may_stop)
{
	/* pend ends with the fed bytes no event covered (after finish(), events may
	 * have covered the start of it) */
	size_t left = (size_t)(s->fed - s->emitted);
	int r;

	if (left > s->pend_len)
		return lh__enc_fail(e, -LH_E_STATE, s->id, s->emitted, "lost %zu held-back bytes",
				    left - s->pend_len);
	s->stats.parse_fallbacks++;
	e->stats.parse_fallbacks++;
	if (s->watch.gave_up && s->watch.gave_up(s->watch.opaque, lh_parser_error(s->parser)) && may_stop) {
		s->state = ES_STOPPED;
		return 0;
	}
	s->state = ES_PASSTHRU;
	if (left > 0) {
		/* (left == 0 may come with no pend buffer at all) */
		const uint8_t *p = s->pend + s->pend_len - left;
		account(e, s, p, left);
		if ((r = lh__batch_lit(e, s, p, left)) < 0)
			return r;
	}
	s->emitted += left;
	s->pend_len = 0;
	return 0;
}

/* A stopped stream takes the caller's later bytes into its rest (they were fed after the stop). */
static int rest_append(lh_wan_enc *e, enc_stream *s, const uint8_t *p, size_t n)
{
	int r;
	if (!n)
		return 0;
	if ((r = pend_reserve(e, s, s->pend_len + n, "a stopped stream's rest")) < 0)
		return r;
	memcpy(s->pend + s->pend_len, p, n);
	s->pend_len += n;
	s->fed += n;
	return 0;
}

static int feed_slice(lh_wan_enc *e, enc_stream *s, const uint8_t *p, size_t n)
{
	struct cb_ctx c = { e, s, 0, 0 };
	int r;

	if (s->state == ES_PASSTHRU) {
		account(e, s, p, n);
		s->fed += n;
		s->emitted += n;
		return lh__batch_lit(e, s, p, n);
	}
	s->fed += n;
	r = lh_parser_feed(s->parser, p, n, parser_cb, &c);
	if (c.err)
		return lh__enc_fail(e, c.err, s->id, s->emitted, "encoding: %s", lh_err_name(c.err));
	int k = keep_pending(e, s, p, n);
	if (k < 0)
		return k;
	if (c.stopped) {
		/* pend now holds the bytes from the stopping item on */
		s->state = ES_STOPPED;
		return 0;
	}
	if (r < 0)
		return fall_back(e, s, true);
	return 0;
}

static long feed(lh_wan_enc *e, uint32_t stream_id, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;
	enc_stream *s;
	int r;

	if (e->err.code < 0 && e->started)
		return e->err.code;
	if (!(s = find_stream(e, stream_id, NULL)) || s->state == ES_STOPPED)
		return -LH_E_STATE;
	while (done < len && lh_wan_enc_pending(e) < ENC_QUEUE_HIGH) {
		size_t n = len - done < ENC_SLICE ? len - done : ENC_SLICE;
		if ((r = feed_slice(e, s, p + done, n)) < 0)
			return r;
		done += n;
		if (s->state == ES_STOPPED) {
			/* every byte of the call is taken: those after the stop wait in the rest */
			if ((r = rest_append(e, s, p + done, len - done)) < 0)
				return r;
			return (long)len;
		}
	}
	return (long)done;
}

long lh_wan_enc_feed(lh_wan_enc *e, uint32_t stream_id, const void *buf, size_t len)
{
	long r = feed(e, stream_id, buf, len);
	lh_store_fence(); /* the store's streaming stores are done before the caller goes on */
	return r;
}

int lh_wan_enc_watch(lh_wan_enc *e, uint32_t stream_id, const lh_wan_watch *w)
{
	enc_stream *s = find_stream(e, stream_id, NULL);
	if (!s || s->fed)
		return -LH_E_STATE;
	if (w)
		s->watch = *w;
	else
		memset(&s->watch, 0, sizeof(s->watch));
	return 0;
}

int lh_wan_enc_rest(const lh_wan_enc *e, uint32_t stream_id, const uint8_t **p, size_t *n)
{
	enc_stream *s = find_stream(e, stream_id, NULL);
	if (!s || s->state != ES_STOPPED)
		return -LH_E_STATE;
	*n = (size_t)(s->fed - s->emitted);
	*p = *n ? s->pend + s->pend_len - *n : NULL;
	return 0;
}

int lh_wan_enc_close_batch(lh_wan_enc *e)
{
	int r;
	if (e->err.code < 0 && e->started)
		return e->err.code;
	if ((r = lh__batch_close(e)) < 0)
		return lh__enc_fail(e, r, 0, 0, "closing a frame: %s", lh_err_name(r));
	return 0;
}

int lh_wan_enc_flush(lh_wan_enc *e)
{
	int r = lh_wan_enc_close_batch(e);
	if (r < 0)
		return r;
	if ((r = lh__worker_collect(e, true)) < 0)
		return lh__enc_fail(e, r, 0, 0, "compressing a frame: %s", lh_err_name(r));
	return 0;
}

static int finish(lh_wan_enc *e, uint32_t stream_id, lh_wan_stats *stats, bool abort)
{
	uint8_t body[LH_END_BODY];
	enc_stream *s;
	uint32_t idx;
	int r;

	if (e->err.code < 0 && e->started)
		return e->err.code;
	if (!(s = find_stream(e, stream_id, &idx)))
		return -LH_E_STATE;
	if (!abort && s->state == ES_PARSED) {
		struct cb_ctx c = { e, s, 0, 0 };
		r = lh_parser_finish(s->parser, parser_cb, &c);
		if (c.err)
			return lh__enc_fail(e, c.err, s->id, s->emitted, "encoding: %s", lh_err_name(c.err));
		if (c.stopped) {
			s->state = ES_STOPPED; /* the watch stopped it at one of the last items: END before it */
		} else if ((r < 0 || s->emitted != s->fed) && (r = fall_back(e, s, false)) < 0)
			/* a stream that stops inside an item is still carried byte for byte */
			return lh__enc_fail(e, r, s->id, s->emitted, "encoding: %s", lh_err_name(r));
	}
	if ((r = lh__batch_close(e)) < 0)
		return lh__enc_fail(e, r, s->id, s->emitted, "closing a frame: %s", lh_err_name(r));
	if (abort) {
		body[0] = 0;
		r = lh__queue_frame(e, s, LH_FT_ABORT, s->id, body, 0);
	} else {
		XXH128_canonical_t c;
		XXH128_canonicalFromHash(&c, XXH3_128bits_digest(s->hash));
		lh_put64(body, s->stats.bytes_in);
		memcpy(body + 8, &c, 16);
		r = lh__queue_frame(e, s, LH_FT_END, s->id, body, LH_END_BODY);
	}
	if (r < 0)
		return lh__enc_fail(e, r, s->id, s->emitted, "queueing END");
	if (stats)
		*stats = s->stats;
	if (e->b.s == s)
		e->b.s = NULL;
	vm_put(e, s->vm);
	stream_free(s);
	e->streams[idx] = e->streams[--e->nstreams];
	return 0;
}

int lh_wan_enc_end(lh_wan_enc *e, uint32_t stream_id, lh_wan_stats *stats)
{
	int r = finish(e, stream_id, stats, false); /* the parser's last events may store pages */
	lh_store_fence();
	return r;
}

int lh_wan_enc_abort(lh_wan_enc *e, uint32_t stream_id, lh_wan_stats *stats)
{
	return finish(e, stream_id, stats, true);
}
