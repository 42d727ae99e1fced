/* SPDX-License-Identifier: MIT */
/*
 * RAM record headers as ops (FORMAT.md, "Record headers").
 *
 * Every page QEMU sends on a main connection is preceded by an 8-byte header
 * (offset | flags), and every zero page is a 9-byte record of its own: in a
 * first precopy pass they come in address order. Sent as literal bytes they
 * cost ~5 bytes each after zstd, ~7 % of a second VM's encoding. Predicted
 * from the stream's previous record (next page, same flags as the last record
 * of that kind) they cost nothing on a page op (LH_OP_F_HDR) and a fraction of
 * a byte in a run of zero records (ZREC). Others go as HDR: their distance
 * from the prediction and their flags. The predictor is the decoder's
 * (lh_rec_pred, frame.h).
 */
#include "be.h"
#include "frame.h"
#include "wan_enc_internal.h"

#define PS LH_WAN_PAGE_SIZE
#define REC_OPS_ROOM 64 /* an HDR op (<= 14 bytes), the pending op it flushes and a LIT op after */

void lh__rec_sent(lh_wan_enc *e, enc_stream *s, int kind, uint64_t hdr, bool predicted_hdr)
{
	lh_rec_seen(&s->rec, kind, hdr);
	if (predicted_hdr) {
		e->stats.rec_predicted++;
		s->stats.rec_predicted++;
	} else {
		e->stats.rec_explicit++;
		s->stats.rec_explicit++;
	}
}

/* HDR: u8 kind, zigzag distance in pages from the predicted offset, varint flags. */
static void put_hdr_op(lh_wan_enc *e, enc_stream *s, int kind, uint64_t hdr)
{
	enc_batch *b = &e->b;
	int64_t dpages = lh_rec_distance(&s->rec, hdr);

	lh__batch_put_pending(b);
	b->ops[b->ops_len++] = LH_OP_HDR;
	b->ops[b->ops_len++] = (uint8_t)kind;
	b->ops_len = (size_t)(lh_varint_put(b->ops + b->ops_len, lh_zigzag(dpages)) - b->ops);
	b->ops_len = (size_t)(lh_varint_put(b->ops + b->ops_len, hdr & LH_REC_FLAGS_MASK) - b->ops);
	b->raw_len += 8;
	lh__rec_sent(e, s, kind, hdr, false);
}

int lh__batch_page_header(lh_wan_enc *e, enc_stream *s, uint64_t hdr)
{
	int r;
	if (!e->rec_hdr)
		return 0;
	/* the header and its page in one frame: a predicted header rides on the page's op */
	if ((r = lh__batch_room(e, s, 8 + PS, REC_OPS_ROOM)) < 0)
		return r;
	s->stats.other_bytes += 8;
	e->stats.other_bytes += 8;
	if (hdr == lh_rec_predict(&s->rec, LH_REC_PAGE)) {
		e->b.pend_hdr = true;
		e->b.pend_hdr_value = hdr;
	} else {
		put_hdr_op(e, s, LH_REC_PAGE, hdr);
	}
	return 1;
}

void lh__rec_hdr_unpredicted(lh_wan_enc *e)
{
	enc_batch *b = &e->b;
	if (!b->pend_hdr)
		return;
	b->pend_hdr = false;
	put_hdr_op(e, b->s, LH_REC_PAGE, b->pend_hdr_value);
}

int lh__batch_zero_record(lh_wan_enc *e, enc_stream *s, uint64_t hdr)
{
	enc_batch *b = &e->b;
	int r;
	if (!e->rec_hdr)
		return 0;
	if ((r = lh__batch_room(e, s, 9, REC_OPS_ROOM)) < 0)
		return r;
	s->stats.other_bytes += 9;
	e->stats.other_bytes += 9;
	if (hdr == lh_rec_predict(&s->rec, LH_REC_ZERO)) {
		if (b->pend_lit || b->pend_zero)
			lh__batch_put_pending(b);
		b->pend_zrec++;
		b->raw_len += 9;
		lh__rec_sent(e, s, LH_REC_ZERO, hdr, true);
		return 1;
	}
	put_hdr_op(e, s, LH_REC_ZERO, hdr);
	/* its fill byte (0) as one literal byte; the room is reserved above */
	b->z[b->z_len++] = 0;
	b->pend_lit++;
	b->raw_len++;
	return 1;
}
