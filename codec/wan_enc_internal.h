/* SPDX-License-Identifier: MIT */
/* Encoder state shared by wan_encoder.c (streams, API), wan_pages.c (page decisions) and wan_batch.c (frames). */
#ifndef LH_WAN_ENC_INTERNAL_H
#define LH_WAN_ENC_INTERNAL_H

#include <stdbool.h>
#include "wan_hash.h"
#define ZSTD_STATIC_LINKING_ONLY /* buffer-less compression over the Z ring (wan_batch.c) */
#include <zstd.h>
#include "enc_worker.h"
#include "frame.h"
#include "lastver.h"
#include "lh_wan.h"
#include "pagestore.h"

#define ENC_QUEUE_HIGH (4u << 20)   /* feed stops consuming above this many queued frame bytes */
#define ENC_SLICE (256u << 10)      /* feed hands the parser at most this much at a time */
#define ENC_OPS_CAP LH_WAN_OPS_MAX  /* op bytes per frame (room is checked before each op) */
#define ENC_PEND_MAX (1u << 20)     /* bytes the parser may hold back (its carry is ~129 KiB) */
#define ENC_VM_BLOCKS 1024          /* RAM block names remembered per VM */
#define ENC_STREAM_BLOCKS 1024      /* parser block indexes mapped per stream */
#define ENC_MAX_STREAMS 4096
#define ENC_ZSTD_FAST_HASH_LOG 16   /* zstd hash table for levels <= 1 (see zstd_begin) */
#define ENC_ZSTD_TABLE_LOG_MAX 18  /* zstd hash and chain tables at any level (memory bound) */
#define ENC_ZSTD_B_HASH_LOG 13      /* B stream (binary pages): ~5 % more output than 16 there, ~25 % less time */
/* Auto level boost by literal share (wan_batch.c): highest level, budget (zstd time at most
 * NUM/DEN of the base level's on all input), input averaged over, input to hold before a change */
#define ENC_BOOST_MAX 7
#define ENC_BOOST_BUDGET_NUM 1
#define ENC_BOOST_BUDGET_DEN 2
#define ENC_BOOST_HORIZON (8u << 20)
#define ENC_BOOST_HOLD (8u << 20)
/* Z and B sections are assembled in rings that zstd compresses in place: the
 * zstd window + the frame being built + slack, so the history a frame may
 * reference is never overwritten while it is still inside the window.
 * With the worker (LH_WAN_P_THREADS 2) the next batch is written while up to
 * ENC_JOBS sections are compressed, past them or at the ring's start: the
 * previous lap's bytes there are history of the oldest of those sections
 * unless they lie more than a window back (zstd checks match distances
 * against the window at every block). A lap is at least the ring less a
 * batch's room (the wrap in lh__batch_for), so the ring must hold a window
 * and ENC_JOBS + 2 rooms. */
#define ENC_JOBS 2               /* frames the worker may hold: it evens out frames of uneven zstd work */
#define ENC_WORKER_MIN (64u << 10) /* bytes for zstd that make a frame worth handing to the worker */
#define ENC_ROOM (LH_WAN_FRAME_RAW_MAX + ENC_OPS_CAP) /* a batch's room in a ring (a Z section may end with the ops) */
#define ENC_ZRING ((8u << 20) + ENC_ROOM)
#define ENC_BRING ((2u << 20) + (ENC_JOBS + 2) * ENC_ROOM)
_Static_assert(ENC_ZRING >= (1u << LH_WAN_ZSTD_WINDOW_LOG) + (ENC_JOBS + 2) * ENC_ROOM,
	       "Z ring: a window beyond the oldest section in flight and what is written meanwhile");
_Static_assert(ENC_BRING >= (1u << LH_WAN_ZSTD_B_WINDOW_LOG) + (ENC_JOBS + 2) * ENC_ROOM,
	       "B ring: a window beyond the oldest section in flight and what is written meanwhile");
/* Literal pages with at least this many distinct values among 256 sampled
 * bytes (machine code, binary structures) go to the B stream; fewer (text,
 * sparse data) to Z; more than ENC_RANDOM_DISTINCT are sent raw. */
#define ENC_BINARY_DISTINCT 70
#define ENC_RANDOM_DISTINCT 150
/* A Z or B literal page with at least this many direct-map pointer words goes pointer-relative
 * (ptrrel.h). The gain hardly depends on it: 1, 8 and 32 gave the same sizes on the captures. */
#define ENC_PTR_MIN_WORDS 8

typedef enum {
	ES_PARSED = 1,   /* bytes go through the stream's parser */
	ES_PASSTHRU = 2, /* the parser gave up: the rest is literal bytes */
	ES_STOPPED = 3,  /* the caller's watch stopped the stream: it takes no more bytes (lh_wan_enc_rest) */
} enc_stream_state;

typedef struct enc_vm {
	uint32_t vm_id, seq, refs;
	uint32_t nblocks;
	char (*names)[256];
} enc_vm;

typedef struct {
	uint32_t id;
	enc_stream_state state;
	enc_vm *vm;
	lh_parser *parser;
	XXH3_state_t *hash;
	uint64_t fed;               /* bytes handed to the parser */
	uint64_t emitted;           /* bytes covered by its events */
	uint8_t *pend;              /* the fed-but-not-emitted bytes, for a fallback to passthrough */
	size_t pend_len, pend_cap;
	uint16_t blkmap[ENC_STREAM_BLOCKS]; /* parser block index -> VM block index + 1 */
	lh_rec_pred rec;            /* record headers: the predictor, moved as the decoder's is */
	lh_wan_watch watch;         /* the caller's view of the stream's items (item NULL: none) */
	lh_wan_stats stats;
} enc_stream;

/* One of the session's two zstd streams, compressed in place in its ring. */
typedef struct {
	ZSTD_CCtx *cctx;
	uint8_t *ring;              /* the sections of recent frames, in order */
	size_t ring_size;
	size_t pos;                 /* where the open batch's section starts in ring */
	int level;                  /* level of the open zstd frame, 0 = none */
	bool stale;                 /* a raw section overwrote ring bytes: end the zstd frame first */
	int window_log, fast_hash_log;
} enc_zs;

enum { ENC_ZS_Z = 0, ENC_ZS_B = 1 };
typedef enum { LIT_Z, LIT_B, LIT_R } enc_lit_kind;

/* Auto level, literal share: zstd-bound bytes per input byte, as an average over
 * the last ~ENC_BOOST_HORIZON input bytes (1/65536 units), and the level it affords. */
typedef struct {
	uint32_t share;
	int level;                  /* 0: no boost */
	int next;                   /* the level the share has afforded ... */
	uint64_t held;              /* ... for this many input bytes */
} enc_boost;

/* The one open batch: the next DATA frame being assembled (always for one stream). */
typedef struct {
	bool open;
	enc_stream *s;
	uint8_t *ops, *z, *bs, *r;  /* ops, Z and B sections (pre-zstd, inside their rings), R section */
	size_t ops_len, z_len, b_len, r_len;
	size_t raw_len;             /* stream bytes covered */
	int64_t prev_dst;           /* last stored slot in this frame (for zigzag deltas) */
	size_t pend_lit;            /* LIT bytes already in Z, op not yet written */
	uint32_t pend_zero;         /* ZERO pages not yet written as an op */
	uint32_t pend_zrec;         /* zero-page records with predicted headers, op not yet written */
	bool pend_hdr;              /* the next page op carries LH_OP_F_HDR */
	uint64_t pend_hdr_value;    /* that header (sent as HDR instead if the page is all zero) */
} enc_batch;

/*
 * A closed batch on its way to the queue as a DATA frame. Its Z and B
 * sections stay in their rings; the ops and R buffers are the batch's, handed
 * over (the batch takes the job slot's previous pair). lh__batch_close fills
 * it; the zstd work and the frame's assembly (job_run) happen in the caller's
 * thread or, with LH_WAN_P_THREADS 2, on the worker while the next batches are
 * built; lh__worker_collect queues the frames, in order.
 */
typedef struct {
	enc_stream *s;
	int level;                  /* of the Z section (0: no zstd) */
	bool zstd, ops_in_z;
	const uint8_t *z, *bs;
	uint8_t *ops, *r;
	size_t ops_len, z_len, b_len, r_len, raw_len;
	size_t zcap, bcap;          /* room for the Z and B sections in the frame */
	uint8_t *dst;               /* where the frame goes: the queue, or out for the worker */
	size_t cap, len;
	uint8_t *out;               /* the frame, when the worker makes it */
	size_t out_cap;
	int rc;
} enc_job;

struct lh_wan_enc {
	/* parameters */
	int64_t store_mb, level, pressure, frame_raw;
	int64_t threads;            /* LH_WAN_P_THREADS */
	bool resemblance, delta_prev, store_commit, ptr_rel, rec_hdr, ops_z;
	bool started;               /* HELLO queued, store allocated, params frozen */
	uint32_t epoch;             /* lh_wan_enc_reset: named in the HELLO (0: the session's first, unnamed) */
	enc_boost boost;            /* auto level: what the literal share affords (wan_batch.c) */

	lh_pagestore st;
	lh_lastver lv;
	enc_stream **streams;
	uint32_t nstreams, scap;
	enc_vm **vms;
	uint32_t nvms, vcap, vm_seq;

	enc_batch b;
	enc_zs zs[2];               /* [ENC_ZS_Z] the Z sections' zstd stream, [ENC_ZS_B] the B sections' */
	enc_job jobs[ENC_JOBS];     /* in the caller's thread: jobs[0] only */
	unsigned job_head, job_tail; /* jobs whose frames are queued, jobs handed to the worker */
	lh_worker *worker;          /* NULL: jobs run in the caller's thread */
	uint8_t *dbuf[2];           /* delta candidates */

	uint8_t *q;                 /* queued frames [q_start, q_end) */
	size_t q_start, q_end, q_cap;

	lh_wan_stats stats;
	lh_wan_error err;
	lh_wan_trace_fn trace;
	void *trace_opaque;
	lh_wan_ready_fn ready;      /* lh_wan_enc_set_ready: on the worker, after each frame */
	void *ready_opaque;
};

int lh__enc_fail(lh_wan_enc *e, int code, uint32_t sid, uint64_t where, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* wan_batch.c */
int lh__batch_init(lh_wan_enc *e);
void lh__batch_fini(lh_wan_enc *e);
/* Makes the open batch belong to s (closing another stream's batch first). */
int lh__batch_for(lh_wan_enc *e, enc_stream *s);
/* Appends stream bytes that are not page payloads. */
int lh__batch_lit(lh_wan_enc *e, enc_stream *s, const uint8_t *p, size_t n);
/* Ensures room for one more page in the open batch. */
int lh__batch_page_room(lh_wan_enc *e, enc_stream *s);
/* Ensures raw stream bytes and op bytes of room in the open batch (closing it if needed). */
int lh__batch_room(lh_wan_enc *e, enc_stream *s, size_t raw, size_t ops);
/* RAM record headers (FORMAT.md "Record headers"): a page record's header before its page,
 * a whole zero-page record (header and fill byte 0). Each returns 1 when it took the bytes,
 * 0 when they must go as literal bytes instead, or a negative lh_err. */
int lh__batch_page_header(lh_wan_enc *e, enc_stream *s, uint64_t hdr);
int lh__batch_zero_record(lh_wan_enc *e, enc_stream *s, uint64_t hdr);
/* wan_rechdr.c internals for wan_batch.c: a header went out (predicted or as HDR) and moves the
 * stream's predictor; a pending predicted page header is sent as HDR instead (no page op follows). */
void lh__rec_sent(lh_wan_enc *e, enc_stream *s, int kind, uint64_t hdr, bool predicted);
void lh__rec_hdr_unpredicted(lh_wan_enc *e);
/* Writes the pending LIT, ZERO or ZREC op (at most one is pending). */
void lh__batch_put_pending(enc_batch *b);
void lh__batch_zero(lh_wan_enc *e);
void lh__batch_ref(lh_wan_enc *e, uint32_t slot);
/* pfn >= 0 (kind Z or B only): the page goes pointer-relative to that page frame number. */
void lh__batch_literal(lh_wan_enc *e, uint32_t dst, const uint8_t *page, enc_lit_kind kind, int64_t pfn);
/* The zstd level the next frame will use (0: none). */
int lh__level_now(const lh_wan_enc *e);
void lh__batch_delta(lh_wan_enc *e, uint32_t base, uint32_t dst, const uint8_t *d, size_t n);
/* Closes the open batch into a DATA frame (queued now, or once the worker has compressed it). */
int lh__batch_close(lh_wan_enc *e);
/* With a worker: starts it (LH_WAN_P_THREADS 2; stays without one if no thread can start);
 * queues the frames of its jobs in order: all of them (wait), or those it has finished. */
void lh__worker_start(lh_wan_enc *e);
int lh__worker_collect(lh_wan_enc *e, bool wait);
/* Queues a non-DATA frame. */
int lh__queue_frame(lh_wan_enc *e, enc_stream *s, uint8_t type, uint32_t sid, const uint8_t *body,
		    uint32_t len);

/* wan_pages.c: decides and appends the op for one page payload. key 0 = no last version;
 * addr: the page's offset in its RAM block. */
int lh__enc_page(lh_wan_enc *e, enc_stream *s, uint64_t key, const uint8_t *page, uint64_t addr);
void lh__enc_page_gone(lh_wan_enc *e, uint64_t key);

#endif
