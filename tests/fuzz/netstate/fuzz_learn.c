/* SPDX-License-Identifier: MIT */
/* libFuzzer: ARP/ND frame parser (ns_learn_parse) on arbitrary frames seen on a bridge. */
#include "netstate/learn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ns_learn_table t;
	struct ns_binding b;
	/* Exact-size copy so ASan sees any read past the frame. */
	uint8_t *f = malloc(size ? size : 1);
	int r;

	if (!f)
		return 0;
	memcpy(f, data, size);
	r = ns_learn_parse(f, size, &b);
	if (r != 0 && r != 1 && r != -EBADMSG)
		abort();
	if (r == 1) {
		if (b.ip.family != AF_INET && b.ip.family != AF_INET6)
			abort();
		if (b.mac[0] & 1)
			abort(); /* never learn a multicast MAC */
		if (t.n == NS_LEARN_TABLE_MAX)
			memset(&t, 0, sizeof(t));
		ns_learn_table_add(&t, &b);
	}
	free(f);
	return 0;
}
