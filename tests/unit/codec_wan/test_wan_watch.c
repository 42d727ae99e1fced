/* SPDX-License-Identifier: MIT */
/* Watching a stream (lh_wan_enc_watch): the caller sees the encoder's own parse, and may stop the stream. */
#include <stdlib.h>
#include <string.h>
#include "synth.h"
#include "wan_harness.h"

struct watcher {
	uint64_t seen;          /* bytes of the items shown so far */
	uint64_t stop_at;       /* offset of the item it stopped before (eof) */
	unsigned items, eofs, gave_up;
	int stop_eof;           /* item(): stop before LH_EV_EOF */
	int stop_on_give_up;    /* gave_up(): stop the stream */
	uint64_t give_up_offset;
};

static int w_item(void *opaque, const lh_event *ev)
{
	struct watcher *w = opaque;
	if (ev->type == LH_EV_EOF) {
		w->eofs++;
		if (w->stop_eof) {
			w->stop_at = w->seen;
			return 1;
		}
	}
	w->items++;
	w->seen += ev->raw_len;
	return 0;
}

static int w_gave_up(void *opaque, const lh_parse_error *err)
{
	struct watcher *w = opaque;
	w->gave_up++;
	w->give_up_offset = err->offset;
	return w->stop_on_give_up;
}

/* Feeds s[0..len) in chunks the way a gateway reads a socket; every call must take all it is given until
 * the stream stops, and LH_E_STATE after. Returns how many bytes were fed before the stop was seen. */
static size_t feed_chunks(lh_wan_enc *e, uint32_t sid, const uint8_t *s, size_t len, size_t chunk, vec *frames,
			  int *stopped)
{
	size_t at = 0;
	const uint8_t *rp;
	size_t rn;
	*stopped = 0;
	while (at < len) {
		size_t n = len - at < chunk ? len - at : chunk;
		long r = lh_wan_enc_feed(e, sid, s + at, n);
		CHECK(r >= 0);
		if (r < 0)
			break;
		at += (size_t)r;
		pull_all(e, frames);
		if (lh_wan_enc_rest(e, sid, &rp, &rn) == 0) {
			*stopped = 1;
			CHECK((size_t)r == n); /* a stop takes the whole call */
			CHECK(lh_wan_enc_feed(e, sid, s + at, 1) == -LH_E_STATE);
			break;
		}
	}
	return at;
}

/* Stop at main's EOF: END covers the bytes before it, the rest comes back byte-exact, in any chunking. */
static void test_watch_stop_at_eof(void)
{
	synth_cfg c;
	uint8_t *s;
	synth_default(&c);
	c.pages = 700;
	size_t len = synth_stream(&c, &s);
	static const size_t chunks[] = { 1, 4093, 65536, 300000, 1u << 22 };

	for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		/* chunk 1 over a shorter prefix is too slow for a whole stream: feed 1-byte pieces near the end only */
		lh_wan_enc *e = test_enc_create();
		vec frames = { 0 }, outs[8] = { 0 };
		struct watcher w = { .stop_eof = 1 };
		lh_wan_watch ww = { w_item, w_gave_up, &w };
		lh_wan_stats st;
		const uint8_t *rp = NULL;
		size_t rn = 0, fed = 0;
		int stopped;

		lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 16);
		CHECK(lh_wan_enc_open(e, 1, 1, LH_CHAN_MAIN, "main") == 0);
		CHECK(lh_wan_enc_watch(e, 1, &ww) == 0);
		if (chunks[k] == 1) {
			size_t head = len > 20000 ? len - 20000 : 0;
			fed = feed_chunks(e, 1, s, head, 1u << 20, &frames, &stopped);
			CHECK(!stopped);
			fed += feed_chunks(e, 1, s + head, len - head, 1, &frames, &stopped);
		} else {
			fed = feed_chunks(e, 1, s, len, chunks[k], &frames, &stopped);
		}
		CHECK(stopped);
		CHECK(w.eofs == 1 && w.stop_at > 0 && w.stop_at < len && s[w.stop_at] == 0x00 /* QEMU_VM_EOF */);
		CHECK(lh_wan_enc_rest(e, 1, &rp, &rn) == 0);
		/* the rest is everything fed from the EOF on */
		CHECK(rn == fed - w.stop_at && rp && !memcmp(rp, s + w.stop_at, rn));
		CHECK(lh_wan_enc_end(e, 1, &st) == 0);
		CHECK(st.bytes_in == w.stop_at);
		pull_all(e, &frames);
		CHECK(decode_all(&frames, outs, NULL) == 0); /* END's length and XXH3 check the part before the EOF */
		CHECK(outs[1].len == w.stop_at && !memcmp(outs[1].b, s, w.stop_at));
		CHECK(lh_wan_enc_rest(e, 1, &rp, &rn) == -LH_E_STATE); /* ended */
		free(frames.b);
		free_outs(outs);
		lh_wan_enc_free(e);
	}
	free(s);
}

/* A watch that never stops sees every byte once, in order, and changes nothing in the encoding. */
static void test_watch_sees_all(void)
{
	synth_cfg c;
	uint8_t *s;
	synth_default(&c);
	c.pages = 500;
	size_t len = synth_stream(&c, &s);
	vec f1 = { 0 }, f2 = { 0 };
	for (int watched = 0; watched < 2; watched++) {
		lh_wan_enc *e = lh_wan_enc_create(); /* inline: the two runs' frames compare byte for byte */
		struct watcher w = { 0 };
		lh_wan_watch ww = { w_item, w_gave_up, &w };
		lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 16);
		lh_wan_enc_set_param(e, LH_WAN_P_LEVEL, 3);
		CHECK(lh_wan_enc_open(e, 2, 1, LH_CHAN_MAIN, "m") == 0);
		if (watched)
			CHECK(lh_wan_enc_watch(e, 2, &ww) == 0);
		feed_all(e, 2, s, len, 50000, watched ? &f2 : &f1);
		CHECK(lh_wan_enc_end(e, 2, NULL) == 0);
		pull_all(e, watched ? &f2 : &f1);
		if (watched)
			CHECK(w.seen == len && w.eofs == 1 && w.gave_up == 0);
		/* too late: bytes went in */
		CHECK(lh_wan_enc_open(e, 3, 1, LH_CHAN_MAIN, "m") == 0);
		CHECK(lh_wan_enc_feed(e, 3, s, 100) == 100);
		CHECK(lh_wan_enc_watch(e, 3, &ww) == -LH_E_STATE);
		lh_wan_enc_free(e);
	}
	CHECK(f1.len == f2.len && !memcmp(f1.b, f2.b, f1.len));
	free(f1.b);
	free(f2.b);
	free(s);
}

/* The parser gives up: the watch hears it once, and either the rest goes as literals in the same stream
 * (byte-exact) or the stream stops where the parser lost it and the caller gets the rest back. */
static void test_watch_give_up(void)
{
	synth_cfg c;
	uint8_t *s;
	synth_default(&c);
	c.pages = 600;
	size_t len = synth_stream(&c, &s);
	size_t mid = break_ram_record(s, len);
	CHECK(mid > 0);
	for (int stop = 0; stop < 2; stop++) {
		lh_wan_enc *e = test_enc_create();
		vec frames = { 0 }, outs[8] = { 0 };
		struct watcher w = { .stop_on_give_up = stop };
		lh_wan_watch ww = { w_item, w_gave_up, &w };
		lh_wan_stats st;
		const uint8_t *rp;
		size_t rn;
		int stopped;
		lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, 16);
		CHECK(lh_wan_enc_open(e, 4, 1, LH_CHAN_MAIN, "m") == 0);
		CHECK(lh_wan_enc_watch(e, 4, &ww) == 0);
		size_t fed = feed_chunks(e, 4, s, len, 30000, &frames, &stopped);
		CHECK(w.gave_up == 1 && w.eofs == 0);
		CHECK(stopped == stop);
		if (stop) {
			CHECK(lh_wan_enc_rest(e, 4, &rp, &rn) == 0);
			CHECK(w.seen + rn == fed && !memcmp(rp, s + w.seen, rn));
			CHECK(w.seen <= mid && w.give_up_offset >= w.seen);
		} else {
			CHECK(fed == len && lh_wan_enc_rest(e, 4, &rp, &rn) == -LH_E_STATE);
		}
		CHECK(lh_wan_enc_end(e, 4, &st) == 0);
		CHECK(st.parse_fallbacks == 1);
		pull_all(e, &frames);
		CHECK(decode_all(&frames, outs, NULL) == 0);
		size_t want = stop ? (size_t)w.seen : len;
		CHECK(outs[4].len == want && !memcmp(outs[4].b, s, want));
		free(frames.b);
		free_outs(outs);
		lh_wan_enc_free(e);
	}
	free(s);
}

void test_wan_watch(void);
void test_wan_watch(void)
{
	test_watch_stop_at_eof();
	test_watch_sees_all();
	test_watch_give_up();
}
