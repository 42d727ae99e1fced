/* SPDX-License-Identifier: MIT */
/* libFuzzer: any bytes, any chunking -> no crash, and on success raw == input and emit == raw. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "lh_stream.h"

struct ctx {
	const uint8_t *input;
	size_t pos;
	uint8_t scratch[70000];
};

static int on_event(void *opaque, const lh_event *ev)
{
	struct ctx *c = opaque;
	long n = lh_emit_event(ev, c->scratch, sizeof(c->scratch));

	if (ev->offset != c->pos || memcmp(ev->raw, c->input + c->pos, ev->raw_len) != 0)
		abort(); /* events must tile the input exactly */
	if (n < 0 || (size_t)n != ev->raw_len || memcmp(c->scratch, ev->raw, ev->raw_len) != 0)
		abort(); /* re-emission must be byte-exact */
	c->pos += ev->raw_len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctx c;
	uint64_t h = XXH3_64bits(data, size);
	lh_parser *p = lh_parser_create();
	size_t pos = 0;
	int r = 0;

	if (!p)
		return 0;
	if (h % 7 == 0)
		lh_parser_set_param(p, LH_P_CHANNEL, LH_CHAN_PREEMPT);
	else if (h % 7 == 1)
		lh_parser_set_param(p, LH_P_CHANNEL, LH_CHAN_MULTIFD);
	c.input = data;
	c.pos = 0;
	while (pos < size && r == 0) {
		size_t n = (h & 3) == 0 ? size : 1 + (h >> 8) % 97;
		h = h * 6364136223846793005ull + 1442695040888963407ull;
		if (n > size - pos)
			n = size - pos;
		r = lh_parser_feed(p, data + pos, n, on_event, &c);
		pos += n;
	}
	if (r == 0)
		r = lh_parser_finish(p, on_event, &c);
	if (r == 0 && c.pos != size)
		abort(); /* a clean parse accounts for every byte */
	if (r < 0 && lh_parser_error(p)->detail[0] == 0)
		abort(); /* every error says what was wrong */
	lh_parser_free(p);
	return 0;
}
