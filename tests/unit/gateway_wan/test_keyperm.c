/* SPDX-License-Identifier: MIT */
/* The [wan] key permission rule (wan_keyperm_judge): pure, so every case without files or other users. */
#include <sys/stat.h>

#include "../gateway_control/check.h"
#include "gateway/wan/wan_tls.h"

int main(void)
{
	const gid_t mine = 100, ssl_cert = 111, other = 999;
	const gid_t groups[] = { 27, ssl_cert };

	/* owner only: whatever the group */
	CHECK(wan_keyperm_judge(S_IFREG | 0600, other, mine, NULL, 0) == WAN_KEYPERM_OK);
	CHECK(wan_keyperm_judge(S_IFREG | 0400, other, mine, NULL, 0) == WAN_KEYPERM_OK);
	/* readable by others: refused, whatever the group says */
	CHECK(wan_keyperm_judge(S_IFREG | 0644, mine, mine, NULL, 0) == WAN_KEYPERM_REFUSE);
	CHECK(wan_keyperm_judge(S_IFREG | 0604, mine, mine, groups, 2) == WAN_KEYPERM_REFUSE);
	CHECK(wan_keyperm_judge(S_IFREG | 0444, ssl_cert, mine, groups, 2) == WAN_KEYPERM_REFUSE);
	/* group-readable, our effective gid: accepted */
	CHECK(wan_keyperm_judge(S_IFREG | 0640, mine, mine, NULL, 0) == WAN_KEYPERM_OK);
	/* Debian: 0640 root:ssl-cert, the daemon in ssl-cert as a supplementary group */
	CHECK(wan_keyperm_judge(S_IFREG | 0640, ssl_cert, mine, groups, 2) == WAN_KEYPERM_OK);
	/* a group we are not in */
	CHECK(wan_keyperm_judge(S_IFREG | 0640, other, mine, groups, 2) == WAN_KEYPERM_WARN_GROUP);
	CHECK(wan_keyperm_judge(S_IFREG | 0440, other, mine, NULL, 0) == WAN_KEYPERM_WARN_GROUP);
	/* group-writable but not readable: not a reader, not this rule's concern */
	CHECK(wan_keyperm_judge(S_IFREG | 0620, other, mine, NULL, 0) == WAN_KEYPERM_OK);
	return check_report("keyperm");
}
