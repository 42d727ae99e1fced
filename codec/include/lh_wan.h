/* SPDX-License-Identifier: MIT */
/* WAN encoding of migration streams: encoder and decoder over one mirrored page store. */
#ifndef LH_WAN_H
#define LH_WAN_H

#include <stddef.h>
#include <stdint.h>
#include "lh_errors.h"
#include "lh_stream.h"

/*-*****  Model  *****
 * One WAN session per gateway pair: one lh_wan_enc on the sending gateway,
 * one lh_wan_dec on the receiving one. A session carries many streams (each
 * TCP connection of each migration); the streams of one migration share a
 * vm_id. Both sides hold a page store of the same size; the encoder names the
 * slot of every page it stores, so the decoder keeps no index and mirrors the
 * store exactly as long as it decodes every frame in the encoder's order.
 *
 * The encoder turns stream bytes into frames (self-delimiting, see
 * codec/FORMAT.md). Each frame belongs to one stream. The decoder turns each
 * DATA frame back into the exact bytes of its stream, and checks each
 * stream's length and XXH3-128 at its END frame.
 *
 * Memory: the store (LH_WAN_P_STORE_MB) plus about 3 % of it for indexes on
 * the encoder, plus a few MiB of buffers. Nothing is allocated per page.
 * No I/O, no clocks, no global state: the output depends only on the input
 * and the parameters.
 */

#define LH_WAN_FRAME_HDR 20                             /* fixed frame header */
#define LH_WAN_FRAME_RAW_MAX (1u << 20)                 /* stream bytes per DATA frame */
#define LH_WAN_FRAME_MAX (LH_WAN_FRAME_RAW_MAX + 65536) /* whole frame, header included */
#define LH_WAN_PAGE_SIZE 4096                           /* store page size */
#define LH_WAN_LEVEL_AUTO (-1000)

typedef enum {
	LH_WAN_P_STORE_MB = 1,      /* store size; enc default 1024; dec: largest store a HELLO may ask for
	                               (default 65536). 1..65536. Before the first stream. */
	LH_WAN_P_LEVEL = 2,         /* zstd level for literals: LH_WAN_LEVEL_AUTO (default), 0 = no zstd, 1..19 */
	LH_WAN_P_LINK_PRESSURE = 3, /* auto level input, 0..100 (default 50): 0 = CPU is the bottleneck,
	                               100 = the link is. The gateway updates it as it measures. */
	LH_WAN_P_FRAME_RAW = 4,     /* stream bytes per DATA frame, 64 KiB..1 MiB (default 1 MiB) */
	LH_WAN_P_RESEMBLANCE = 5,   /* 1 (default): delta new pages against similar stored pages */
	LH_WAN_P_DELTA_PREV = 6,    /* 1 (default): delta re-sent pages against their previous version */
	LH_WAN_P_STORE_COMMIT = 7,  /* 1: commit (prefault) all store memory when the session starts (encoder:
	                               first stream or lh_wan_enc_begin; decoder: HELLO) instead of page
	                               by page as it fills.
	                               Default 0. A gateway session starts long before its first migration;
	                               committing then keeps the kernel's page zeroing (~10 % of decoding a
	                               fresh store) off the migration's path. RSS is then the whole store. */
	LH_WAN_P_PTR_REL = 8,       /* encoder, 1 (default): literal pages full of guest-kernel pointers go
	                               pointer-relative (FORMAT.md); 0 = never (for peers older than that) */
	LH_WAN_P_REC_HDR = 9,       /* encoder, 1 (default): RAM record headers go as predicted-header ops
	                               (FORMAT.md); 0 = as literal bytes (for peers older than that) */
	LH_WAN_P_OPS_Z = 10,        /* encoder, 1 (default): a frame's ops go through zstd inside its Z
	                               section (FORMAT.md); 0 = in the frame body (for older peers) */
	LH_WAN_P_THREADS = 11,      /* encoder: 1 (default) = all work in the caller's thread; 2 = a worker
	                               thread compresses each DATA frame while the caller's thread builds
	                               the next (like `zstd -T1`: one compression worker beside the caller).
	                               The frames are the same bytes either way. With the worker a DATA
	                               frame is queued once compressed: lh_wan_enc_pull takes it when it is
	                               done; flush, end and abort wait for it. Before the first stream. */
} lh_wan_param;

/* Bounds of a parameter; 0 or LH_E_PARAM for an unknown one. */
int lh_wan_param_bounds(lh_wan_param p, int64_t *lo, int64_t *hi);

/* Page operations, as counted in stats and reported to a trace callback. */
typedef enum {
	LH_WAN_OP_ZERO = 0,       /* all-zero page payload */
	LH_WAN_OP_REF = 1,        /* identical to a stored page */
	LH_WAN_OP_DELTA_PREV = 2, /* delta against the previous version of the same page */
	LH_WAN_OP_DELTA_SIM = 3,  /* delta against a similar stored page (resemblance) */
	LH_WAN_OP_LITERAL = 4,    /* the page itself, through zstd */
	LH_WAN_OP_LITERAL_RAW = 5, /* the page itself, not worth compressing */
	LH_WAN_OP__COUNT
} lh_wan_op;

const char *lh_wan_op_name(lh_wan_op op);

typedef struct {
	uint64_t bytes_in;          /* original stream bytes */
	uint64_t bytes_out;         /* frame bytes, headers included */
	uint64_t pages[LH_WAN_OP__COUNT];
	uint64_t delta_bytes[2];    /* encoded delta bytes before zstd: [0] prev, [1] sim */
	uint64_t other_bytes;       /* non-page bytes (headers, device state, opaque) */
	uint64_t frames;
	uint64_t parse_fallbacks;   /* streams the parser gave up on (sent as plain bytes) */
	uint64_t ptr_rel_pages;     /* literal pages sent pointer-relative (PAGEZP, PAGEBP) */
	uint64_t rec_predicted;     /* RAM record headers sent as predicted (no bytes of their own) */
	uint64_t rec_explicit;      /* RAM record headers sent as HDR ops */
	int32_t zstd_level;         /* encoder: level of the last zstd section (0: none yet) */
	uint64_t boosted_bytes;     /* encoder: input bytes of frames the literal share raised the auto level for */
	uint64_t worker_frames;     /* encoder: DATA frames compressed on its worker thread (LH_WAN_P_THREADS 2) */
	uint64_t ahead_frames;      /* decoder: frames announced and worked on by its second thread */
	uint64_t ahead_b_sections;  /* decoder: B sections that thread decompressed as well */
} lh_wan_stats;

typedef struct {
	int code;                   /* negative lh_err, 0 when no error */
	uint32_t stream_id;
	uint64_t where;             /* encoder: stream offset; decoder: frame number */
	char detail[160];
} lh_wan_error;

/*-*****  Encoder  *****/
typedef struct lh_wan_enc lh_wan_enc;

lh_wan_enc *lh_wan_enc_create(void);
void lh_wan_enc_free(lh_wan_enc *e);
int lh_wan_enc_set_param(lh_wan_enc *e, lh_wan_param p, int64_t v);

/*
 * Starts a stream. stream_id must not be open already (ids may be reused
 * after END/ABORT); streams of one migration share vm_id, which makes a
 * re-sent page on any of its channels delta against its previous version.
 * kind is passed to the stream's parser (LH_CHAN_AUTO classifies by the first
 * bytes). label (may be NULL, <= 255 bytes) travels to the decoder.
 */
int lh_wan_enc_open(lh_wan_enc *e, uint32_t stream_id, uint32_t vm_id, lh_channel_kind kind,
		    const char *label);

/*
 * Starts the session now rather than at the first lh_wan_enc_open: allocates the
 * store (committing it with LH_WAN_P_STORE_COMMIT) and queues the HELLO frame,
 * which the decoder needs first anyway. Parameters that freeze at the session
 * start freeze here. For a caller that knows long before its first stream that
 * it will encode: the allocation then stays off that stream's path. Idempotent.
 */
int lh_wan_enc_begin(lh_wan_enc *e);

/*
 * Pushes stream bytes in any chunking. Returns the number of bytes consumed,
 * which is less than len when the frame queue is full (lh_wan_enc_pending()
 * >= 4 MiB): pull frames, then push the rest. Negative lh_err on failure.
 * A stream the parser cannot follow is not an error: its remaining bytes go
 * as plain literal bytes (stats.parse_fallbacks), still byte-exact. When a
 * watch (below) stops the stream, the call takes all len bytes: those from
 * the stop on come back from lh_wan_enc_rest.
 */
long lh_wan_enc_feed(lh_wan_enc *e, uint32_t stream_id, const void *buf, size_t len);

/*
 * A caller that must act on what a stream carries (its end of stream, sync
 * points, a postcopy switch) watches it instead of parsing it a second time:
 * the stream's own parser (the one feed runs) shows it every item.
 *  - item(opaque, ev) is called for each event, in order, before the event is
 *    encoded. It returns 0 to go on, or 1 to stop the stream right before this
 *    item: the stream then takes no more bytes (feed returns LH_E_STATE), its
 *    END covers the bytes before the item, and lh_wan_enc_rest gives back the
 *    bytes fed from that item on.
 *  - gave_up(opaque, err) is called once when the parser cannot follow the
 *    stream (the encoder's one fallback). It returns 0 to carry the rest as
 *    plain literal bytes in this stream, or 1 to stop the stream there (as
 *    above: lh_wan_enc_rest then begins where the parser gave up). At
 *    lh_wan_enc_end (a stream that ends inside an item) it cannot stop it.
 * Neither may call the encoder. Set the watch right after lh_wan_enc_open,
 * before the first byte; the struct is copied.
 */
typedef struct {
	int (*item)(void *opaque, const lh_event *ev);
	int (*gave_up)(void *opaque, const lh_parse_error *err);
	void *opaque;
} lh_wan_watch;
int lh_wan_enc_watch(lh_wan_enc *e, uint32_t stream_id, const lh_wan_watch *w);
/* A stopped stream's bytes from the stop on (valid until its END or ABORT): 0; LH_E_STATE when the stream is
 * not open or not stopped. */
int lh_wan_enc_rest(const lh_wan_enc *e, uint32_t stream_id, const uint8_t **p, size_t *n);

/* Closes the open batch into a frame now (call when the input goes idle). With a worker thread,
 * waits until every frame so far is in the queue. */
int lh_wan_enc_flush(lh_wan_enc *e);
/* The same without waiting for the worker: its frames come at later pulls (for a periodic
 * "an open batch waits at most this long" that must not stall the caller). */
int lh_wan_enc_close_batch(lh_wan_enc *e);

/* The stream ended cleanly: flushes it and queues its END frame (length + XXH3-128).
 * stats (may be NULL) receives the stream's final counters. */
int lh_wan_enc_end(lh_wan_enc *e, uint32_t stream_id, lh_wan_stats *stats);
/* The stream was cut short: queues an ABORT frame; the decoder drops the stream. */
int lh_wan_enc_abort(lh_wan_enc *e, uint32_t stream_id, lh_wan_stats *stats);

/*
 * Codec epochs (FORMAT.md "Epochs"): both ends start over at a point they agree
 * on, after the decoder met an error, without ending the session. Starts epoch
 * `epoch` (greater than the current one, which starts at 0): every open stream
 * is dropped without an END or ABORT frame, and the store, its indexes, both
 * zstd streams, the open batch and every frame not pulled yet are discarded (a
 * frame the worker thread compresses is dropped too). Parameters, the trace and
 * ready callbacks and the session counters (stats) stay. The next frame is a
 * HELLO that names the epoch; the store is allocated again then (at the next
 * lh_wan_enc_open or lh_wan_enc_begin). The caller opens again whatever stream
 * it still wants to encode. 0; LH_E_PARAM when epoch is not greater; LH_E_NOMEM
 * (the encoder is unchanged). Clears a sticky error.
 */
int lh_wan_enc_reset(lh_wan_enc *e, uint32_t epoch);
/* The current epoch (0 until the first reset). */
uint32_t lh_wan_enc_epoch(const lh_wan_enc *e);

/* Bytes of complete frames waiting to be pulled. */
size_t lh_wan_enc_pending(const lh_wan_enc *e);
/* Size of the next frame (0 when none). Frames the worker thread finished count only once collected. */
size_t lh_wan_enc_next_size(const lh_wan_enc *e);
/* Queues the frames the worker thread has finished (never waits), for a caller that sizes its buffer with
 * lh_wan_enc_next_size before it pulls: after the ready callback, without it a frame finished while the
 * queue was empty would wait for the next batch. 0, or the encoder's error. */
int lh_wan_enc_collect(lh_wan_enc *e);
/* Copies the next whole frame into dst. Returns its size, 0 when no frame is
 * waiting, LH_E_DST_TOO_SMALL when cap < lh_wan_enc_next_size(). With a worker
 * thread (LH_WAN_P_THREADS 2) it first queues the frames the worker has
 * finished; one still being compressed comes at a later pull, or after
 * lh_wan_enc_flush, _end or _abort, which wait for it. */
long lh_wan_enc_pull(lh_wan_enc *e, void *dst, size_t cap);

/* Counters over the whole session, and of one open stream. */
const lh_wan_stats *lh_wan_enc_stats(const lh_wan_enc *e);
int lh_wan_enc_stream_stats(const lh_wan_enc *e, uint32_t stream_id, lh_wan_stats *out);
/* The error that made the encoder fail (sticky), or of the last failed call. */
const lh_wan_error *lh_wan_enc_error(const lh_wan_enc *e);
/* The zstd level the encoder would compress a frame closed now at: LH_WAN_P_LEVEL when fixed;
 * with LH_WAN_LEVEL_AUTO the level LH_WAN_P_LINK_PRESSURE maps to (raised while few pages go as
 * literals). 0: no zstd; below 0: zstd's fast levels. For a caller that sets the pressure and
 * wants to know what it chose (tests, status); stats.zstd_level is the level last used. */
int lh_wan_enc_level(const lh_wan_enc *e);

/* Optional observer of every page decision (benchmarks, tests). encoded_len is
 * the delta size for DELTA_*, the page size for LITERAL*, 0 otherwise. */
typedef void (*lh_wan_trace_fn)(void *opaque, uint32_t stream_id, lh_wan_op op, const uint8_t *page,
				size_t encoded_len);
void lh_wan_enc_set_trace(lh_wan_enc *e, lh_wan_trace_fn fn, void *opaque);
/* With a worker thread (LH_WAN_P_THREADS 2): fn(opaque) runs on that thread each time it has
 * finished a frame, which the next lh_wan_enc_pull takes; for an event loop to wake up (e.g.
 * ev_async_send). It must not call the encoder. Set it before the first stream. */
typedef void (*lh_wan_ready_fn)(void *opaque);
void lh_wan_enc_set_ready(lh_wan_enc *e, lh_wan_ready_fn fn, void *opaque);

/*-*****  Decoder  *****/
typedef struct lh_wan_dec lh_wan_dec;

/* What a decoded frame was. */
typedef struct {
	uint8_t type;               /* LH_WAN_FRAME_* */
	uint32_t stream_id;
	uint32_t vm_id;             /* OPEN, and every later frame of the stream */
	lh_channel_kind kind;       /* OPEN */
	char label[256];            /* OPEN; NUL-terminated */
	uint64_t stream_bytes;      /* bytes of the stream so far (END: its verified length) */
} lh_wan_frame_info;

enum {
	LH_WAN_FRAME_HELLO = 1, LH_WAN_FRAME_OPEN = 2, LH_WAN_FRAME_DATA = 3,
	LH_WAN_FRAME_END = 4, LH_WAN_FRAME_ABORT = 5,
};

/*
 * Size of the frame that starts at buf: the whole frame, header included, or
 * 0 when len < LH_WAN_FRAME_HDR (read more). Negative lh_err for a header
 * that is not a frame (bad magic, version, type, or a size over the limits).
 */
long lh_wan_frame_size(const void *buf, size_t len);
/* What a frame's header says, without decoding it (for a carrier that inspects or drops frames): type and
 * stream_id, and for OPEN the vm_id; the rest of info is zeroed. 0, or negative lh_err for a header that is
 * not a frame. The body is not checked. */
int lh_wan_frame_peek(const void *buf, size_t len, lh_wan_frame_info *info);
/* Stream bytes a frame will produce (its header's raw length), or negative lh_err. */
long lh_wan_frame_raw_len(const void *buf, size_t len);

lh_wan_dec *lh_wan_dec_create(void);
void lh_wan_dec_free(lh_wan_dec *d);
int lh_wan_dec_set_param(lh_wan_dec *d, lh_wan_param p, int64_t v);

/*
 * Decodes exactly one frame (len = lh_wan_frame_size()). Frames must come in
 * the encoder's order. A DATA frame writes its stream's next bytes into dst
 * and returns their number (<= LH_WAN_FRAME_RAW_MAX); other frames return 0.
 * An END frame returns 0 only when the stream's length and XXH3-128 match
 * (LH_E_CHECKSUM otherwise). info (may be NULL) says what the frame was.
 * Errors are sticky: the store may be half-updated; nothing decodes until
 * lh_wan_dec_reset starts a new epoch (with the encoder's lh_wan_enc_reset).
 */
long lh_wan_dec_frame(lh_wan_dec *d, const void *frame, size_t len, void *dst, size_t cap,
		      lh_wan_frame_info *info);

/*
 * Announces a frame before it is decoded, so that a second thread checks it
 * and decompresses its Z section (and, when it has nothing else to do, its B
 * section) while earlier frames decode here. zstd is most of decoding's CPU
 * time; on two cores this decoded captures 1.1-1.5x faster. Announced frames
 * are the frames decoded next, in order: with nothing queued, the first one
 * announced is the next one passed to lh_wan_dec_frame. At most
 * LH_WAN_DEC_AHEAD_MAX are outstanding. The caller keeps an announced frame
 * where it is, unchanged, until it has decoded it (same address and length)
 * or freed the decoder; another frame there is a sticky LH_E_STATE. Returns 1
 * when the frame was queued; 0 when it was not (HELLO not decoded yet, the
 * queue full, no thread could be started, or a frame with little zstd work,
 * which gains nothing): then announce it again later, or decode it in line,
 * as every frame decodes when nothing is queued. Negative: the decoder's
 * sticky error.
 */
#define LH_WAN_DEC_AHEAD_MAX 4
int lh_wan_dec_announce(lh_wan_dec *d, const void *frame, size_t len);

/*
 * Starts epoch `epoch` (greater than the current one, which starts at 0) after
 * an error, or whenever the encoder did: every open stream is dropped without
 * its checksum, the store, both zstd streams and the frames announced ahead are
 * discarded, and the sticky error is cleared. Parameters and the session
 * counters stay. The decoder then wants the HELLO of exactly this epoch
 * (lh_wan_enc_reset's); any other frame before it, or a HELLO of another epoch,
 * is an error: a frame sent before the reset never decodes against the new
 * store. The caller drops what it had announced (the frames are not in the
 * queue any more). 0; LH_E_PARAM when epoch is not greater; LH_E_NOMEM (the
 * decoder is unchanged).
 */
int lh_wan_dec_reset(lh_wan_dec *d, uint32_t epoch);
/* The current epoch (0 until the first reset). */
uint32_t lh_wan_dec_epoch(const lh_wan_dec *d);

const lh_wan_error *lh_wan_dec_error(const lh_wan_dec *d);
/* bytes_in = frame bytes, bytes_out = stream bytes; every delta counts as
 * DELTA_PREV (the wire does not say how the sender found the base). */
const lh_wan_stats *lh_wan_dec_stats(const lh_wan_dec *d);
/* Streams open (OPEN seen, no END/ABORT yet). */
uint32_t lh_wan_dec_open_streams(const lh_wan_dec *d);
/* Their ids (at most max, in no order); the number written. After an error: those still open (an END that
 * failed its checksum has closed its stream; lh_wan_dec_error names it). */
uint32_t lh_wan_dec_stream_ids(const lh_wan_dec *d, uint32_t *ids, uint32_t max);

#endif
