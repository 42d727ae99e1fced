/* SPDX-License-Identifier: MIT */
/* LAN streams through the codec pipe: outgoing through the encoder's parser, incoming main streams parsed once. */
#include "gateway/pipe/lan_streams.h"

#include <stdio.h>
#include <stdlib.h>

#include "gateway/base/log.h"
#include "gateway/pipe/codec_pipe.h"

/* Bound on incoming main streams watched at once: one per incoming migration, so far more than any pair runs.
 * Past it a stream goes unwatched (its role then lacks evidence it would like, never bytes). */
#define LSTREAM_RX_MAX 256

int lstream_open(struct gw *gw, uint32_t sid, uint32_t vm, lh_channel_kind kind, const char *label,
		 const lh_wan_watch *w)
{
	lh_wan_enc *e = cpipe_encoder(gw);
	int r;
	if (!e)
		return -LH_E_STATE;
	if ((r = lh_wan_enc_open(e, sid, vm, kind, label)) < 0)
		return r;
	return w ? lh_wan_enc_watch(e, sid, w) : 0;
}

long lstream_feed(struct gw *gw, uint32_t sid, const uint8_t *p, size_t n)
{
	lh_wan_enc *e = cpipe_encoder(gw);
	return e ? lh_wan_enc_feed(e, sid, p, n) : -LH_E_STATE;
}

int lstream_feed_all(struct gw *gw, uint32_t sid, const uint8_t *p, size_t n)
{
	while (n) {
		long r = lstream_feed(gw, sid, p, n);
		if (r < 0)
			return (int)r;
		p += r;
		n -= (size_t)r;
		if (n)
			cpipe_drain(gw); /* rare: only at the cut or a burst after it */
	}
	return 0;
}

int lstream_rest(struct gw *gw, uint32_t sid, const uint8_t **p, size_t *n)
{
	lh_wan_enc *e = cpipe_encoder(gw);
	return e ? lh_wan_enc_rest(e, sid, p, n) : -LH_E_STATE;
}

int lstream_end(struct gw *gw, uint32_t sid, lh_wan_stats *st)
{
	lh_wan_enc *e = cpipe_encoder(gw);
	return e ? lh_wan_enc_end(e, sid, st) : -LH_E_STATE;
}

void lstream_abort(struct gw *gw, uint32_t sid)
{
	lh_wan_enc *e = cpipe_encoder(gw);
	if (e)
		lh_wan_enc_abort(e, sid, NULL);
}

struct rx_watched {
	uint32_t sid;
	lh_parser *parser;
};

struct lstream_rx {
	struct rx_watched w[LSTREAM_RX_MAX];
	unsigned n;
	int full_logged;
};

struct lstream_rx *lstream_rx_new(void)
{
	return calloc(1, sizeof(struct lstream_rx));
}

static void rx_forget(struct lstream_rx *rx, unsigned i)
{
	lh_parser_free(rx->w[i].parser);
	rx->w[i] = rx->w[--rx->n];
}

void lstream_rx_clear(struct lstream_rx *rx)
{
	while (rx && rx->n)
		rx_forget(rx, rx->n - 1);
}

void lstream_rx_free(struct lstream_rx *rx, const char *reason)
{
	if (!rx)
		return;
	if (rx->n)
		log_debug("codec: %u incoming main streams no longer watched: %s", rx->n, reason);
	lstream_rx_clear(rx);
	free(rx);
}

static int rx_find(const struct lstream_rx *rx, uint32_t sid)
{
	for (unsigned i = 0; i < rx->n; i++)
		if (rx->w[i].sid == sid)
			return (int)i;
	return -1;
}

static void rx_open(struct lstream_rx *rx, uint32_t sid)
{
	lh_parser *ps;
	if (rx_find(rx, sid) >= 0)
		return;
	if (rx->n == LSTREAM_RX_MAX) {
		if (!rx->full_logged++)
			log_warnx("codec: more than %u incoming main streams at once; stream %u goes unwatched",
				  LSTREAM_RX_MAX, sid);
		return;
	}
	if (!(ps = lh_parser_create())) {
		log_warnx("codec: out of memory for the parser of incoming main stream %u; it goes unwatched", sid);
		return;
	}
	lh_parser_set_param(ps, LH_P_CHANNEL, LH_CHAN_MAIN);
	rx->w[rx->n].sid = sid;
	rx->w[rx->n].parser = ps;
	rx->n++;
}

struct rx_feed {
	lstream_item_fn fn;
	void *ctx;
	uint32_t sid;
};

static int rx_item(void *opaque, const lh_event *ev)
{
	struct rx_feed *f = opaque;
	return f->fn(f->ctx, f->sid, ev);
}

void lstream_rx_frame(struct lstream_rx *rx, const lh_wan_frame_info *info, const uint8_t *data, size_t n,
		      lstream_item_fn fn, void *ctx)
{
	int i;
	if (!rx)
		return;
	if (info->type == LH_WAN_FRAME_OPEN) {
		if (info->kind == LH_CHAN_MAIN)
			rx_open(rx, info->stream_id);
		return;
	}
	if ((i = rx_find(rx, info->stream_id)) < 0)
		return;
	if (info->type != LH_WAN_FRAME_DATA) {
		rx_forget(rx, (unsigned)i); /* END or ABORT */
		return;
	}
	struct rx_feed f = { fn, ctx, info->stream_id };
	lh_parser *ps = rx->w[i].parser;
	int r = lh_parser_feed(ps, data, n, rx_item, &f);
	if (r == -LH_E_ABORTED) {
		rx_forget(rx, (unsigned)i); /* the role has seen what it wanted */
	} else if (r < 0) {
		log_debug("codec: incoming main stream %u: the parser gave up at offset %llu: %s; no longer watched",
			  info->stream_id, (unsigned long long)lh_parser_error(ps)->offset, lh_parser_error(ps)->detail);
		rx_forget(rx, (unsigned)i);
	}
}
