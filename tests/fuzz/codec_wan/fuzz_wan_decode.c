/* SPDX-License-Identifier: MIT */
/* libFuzzer: arbitrary frames into the WAN decoder must give clean errors, never a crash or overrun. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "lh_wan.h"

/*
 * Input: a sequence of frames. Mutated frames almost never carry a valid body
 * check, which would stop every input at the first frame; so unless the first
 * byte is odd, the harness rewrites each frame's check before decoding and the
 * fuzzer reaches the op decoder, the delta code and the store.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t dst[LH_WAN_FRAME_RAW_MAX];
	if (size < 1)
		return 0;
	int fix_checks = !(data[0] & 1);
	uint8_t *buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	size--;
	lh_wan_dec *d = lh_wan_dec_create();
	lh_wan_dec_set_param(d, LH_WAN_P_STORE_MB, 4); /* a HELLO asking for more is refused */
	for (size_t off = 0; off < size;) {
		long n = lh_wan_frame_size(buf + off, size - off);
		if (n <= 0 || (size_t)n > size - off)
			break;
		uint8_t *f = buf + off;
		if (fix_checks)
			lh_frame_hdr_write(f, f[3], (uint32_t)f[4] << 24 | f[5] << 16 | f[6] << 8 | f[7],
					   f + LH_WAN_FRAME_HDR, (uint32_t)n - LH_WAN_FRAME_HDR,
					   (uint32_t)f[12] << 24 | f[13] << 16 | f[14] << 8 | f[15]);
		lh_wan_frame_info info;
		long r = lh_wan_dec_frame(d, f, (size_t)n, dst, sizeof(dst), &info);
		if (r < 0) {
			/* errors are sticky and name a code */
			if (lh_wan_dec_frame(d, f, (size_t)n, dst, sizeof(dst), NULL) != r &&
			    r != -LH_E_DST_TOO_SMALL)
				abort();
			if (lh_wan_dec_error(d)->code != r && r != -LH_E_DST_TOO_SMALL)
				abort();
			break;
		}
		if (r > LH_WAN_FRAME_RAW_MAX)
			abort();
		off += (size_t)n;
	}
	lh_wan_dec_free(d);
	free(buf);
	return 0;
}
