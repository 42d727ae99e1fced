/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the return-path scanner (bytes from the destination QEMU, via the gateway). */
#include <stddef.h>
#include <stdint.h>

#include "lh_rp.h"

/* The first byte picks a split point; both chunkings must give the same state, status and offset. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t split = data[0] % size;
	data++;
	size--;
	if (split > size)
		split = size;
	lh_rp_scanner a, b;
	lh_rp_init(&a);
	lh_rp_init(&b);
	lh_rp_feed(&a, data, size);
	lh_rp_feed(&b, data, split);
	lh_rp_feed(&b, data + split, size - split);
	if (a.state != b.state || a.offset != b.offset || a.messages != b.messages || a.offset > size ||
	    (a.state == LH_RP_SHUT_SEEN && a.status != b.status) || (a.state == LH_RP_LOST && !a.reason))
		__builtin_trap();
	return 0;
}
