/* SPDX-License-Identifier: MIT */
/* libFuzzer: arbitrary frames into the WAN decoder must give clean errors, never a crash or overrun. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "lh_wan.h"
#include "wan_hash.h"

typedef struct {
	long r;                 /* 0 or the first error */
	lh_wan_error err;
	XXH64_hash_t out;       /* of every frame's output, in order */
	size_t frames;
} run;

/* Decodes the frames in buf; with ahead, through lh_wan_dec_announce (a second thread). */
static void decode(const uint8_t *buf, size_t size, int ahead, run *o)
{
	static uint8_t dst[LH_WAN_FRAME_RAW_MAX];
	XXH64_state_t *h = XXH64_createState();
	XXH64_reset(h, 0);
	memset(o, 0, sizeof(*o));
	lh_wan_dec *d = lh_wan_dec_create();
	lh_wan_dec_set_param(d, LH_WAN_P_STORE_MB, 4); /* a HELLO asking for more is refused */
	size_t ann = 0; /* the first frame not announced yet */
	for (size_t off = 0; off < size;) {
		long n = lh_wan_frame_size(buf + off, size - off);
		if (n <= 0 || (size_t)n > size - off)
			break;
		for (int k = 0; ahead && k < LH_WAN_DEC_AHEAD_MAX; k++) {
			size_t a = ann > off ? ann : off;
			long an = a < size ? lh_wan_frame_size(buf + a, size - a) : 0;
			if (an <= 0 || (size_t)an > size - a || lh_wan_dec_announce(d, buf + a, (size_t)an) != 1)
				break;
			ann = a + (size_t)an;
		}
		lh_wan_frame_info info;
		long r = lh_wan_dec_frame(d, buf + off, (size_t)n, dst, sizeof(dst), &info);
		if (r < 0) {
			/* errors are sticky and name a code */
			if (lh_wan_dec_frame(d, buf + off, (size_t)n, dst, sizeof(dst), NULL) != r &&
			    r != -LH_E_DST_TOO_SMALL)
				abort();
			if (lh_wan_dec_error(d)->code != r && r != -LH_E_DST_TOO_SMALL)
				abort();
			o->r = r;
			o->err = *lh_wan_dec_error(d);
			break;
		}
		if (r > LH_WAN_FRAME_RAW_MAX)
			abort();
		XXH64_update(h, dst, (size_t)r);
		o->frames++;
		off += (size_t)n;
	}
	o->out = XXH64_digest(h);
	XXH64_freeState(h);
	lh_wan_dec_free(d);
}

/*
 * Input: a sequence of frames. Mutated frames almost never carry a valid body
 * check, which would stop every input at the first frame; so unless the first
 * byte is odd, the harness rewrites each frame's check before decoding and the
 * fuzzer reaches the op decoder, the delta code and the store. With bit 1 of
 * the first byte set, the frames are decoded a second time with the look-ahead
 * thread, which must give the same bytes and the same error at the same frame.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int fix_checks = !(data[0] & 1), both = data[0] & 2;
	uint8_t *buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	size--;
	for (size_t off = 0; fix_checks && off < size;) {
		long n = lh_wan_frame_size(buf + off, size - off);
		if (n <= 0 || (size_t)n > size - off)
			break;
		uint8_t *f = buf + off;
		lh_frame_hdr_write(f, f[3], (uint32_t)f[4] << 24 | f[5] << 16 | f[6] << 8 | f[7], f + LH_WAN_FRAME_HDR,
				   (uint32_t)n - LH_WAN_FRAME_HDR, (uint32_t)f[12] << 24 | f[13] << 16 | f[14] << 8 | f[15]);
		off += (size_t)n;
	}
	run a, b;
	decode(buf, size, 0, &a);
	if (both) {
		decode(buf, size, 1, &b);
		if (a.r != b.r || a.frames != b.frames || a.out != b.out || a.err.code != b.err.code ||
		    a.err.where != b.err.where || a.err.stream_id != b.err.stream_id || strcmp(a.err.detail, b.err.detail))
			abort();
	}
	free(buf);
	return 0;
}
