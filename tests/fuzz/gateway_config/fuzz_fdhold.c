/* SPDX-License-Identifier: MIT */
/* libFuzzer: the fd holder's message parser (gateway/base/FDHOLD.md) never crashes, never reads past the
 * message, and what it accepts encodes back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/base/fdhold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fdhold_msg m;
	char err[160];
	uint8_t out[FDHOLD_MSG_MAX];

	if (size < FDHOLD_HDR || size > FDHOLD_MSG_MAX)
		return 0;
	err[0] = 0;
	if (fdhold_parse(data, size, &m, err, sizeof(err)) < 0) {
		if (!err[0])
			abort(); /* a refusal always says why */
		return 0;
	}
	if (fdhold_msg_len(data) != size)
		abort();
	size_t n = fdhold_encode(out, &m);
	if (n != size || memcmp(out, data, n))
		abort(); /* one message, one encoding */
	return 0;
}
