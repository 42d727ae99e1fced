/* SPDX-License-Identifier: MIT */
/* libFuzzer: a received rtnetlink datagram walked like mnl_cb_run does, each message parsed. */
#include "netstate/nlparse.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Netlink buffers are 4-byte aligned in practice; keep that, but size exactly. */
	uint32_t *buf = malloc((size + 3) & ~(size_t)3);
	const struct nlmsghdr *nlh;
	int len = (int)(size > 65536 ? 65536 : size);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	nlh = (const struct nlmsghdr *)buf;
	/* The socket layer rejects datagrams failing this check before libmnl walks them. */
	if (!ns_nl_datagram_ok(buf, (size_t)len))
		len = 0;
	while (mnl_nlmsg_ok(nlh, len)) {
		struct ns_link_info li;
		struct ns_fdb_entry fe;
		char msg[64];
		int code = 0, r;

		r = ns_parse_link(nlh, &li);
		if (r != 0 && r != -ENOMSG && r != -EBADMSG)
			abort();
		if (r == 0 && (strlen(li.name) >= sizeof(li.name) || strlen(li.alias) >= sizeof(li.alias)))
			abort();
		r = ns_parse_fdb(nlh, &fe);
		if (r != 0 && r != -ENOMSG && r != -EBADMSG)
			abort();
		r = ns_parse_nlerr(nlh, &code, msg, sizeof(msg));
		if (r == 0 && (code > 0 || strlen(msg) >= sizeof(msg)))
			abort();
		nlh = mnl_nlmsg_next(nlh, &len);
	}
	free(buf);
	return 0;
}
