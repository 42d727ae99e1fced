/* SPDX-License-Identifier: MIT */
/* Admission of incoming WAN connections: per-source and global caps on pending handshakes. */
#include "gateway/wan/wan_admit.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

struct ns_ip wan_admit_src(const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct ns_ip ip;

	memset(&ip, 0, sizeof(ip));
	if (sa->sa_family == AF_INET) {
		ip.family = AF_INET;
		memcpy(ip.a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (!memcmp(a, v4mapped, 12)) {
			ip.family = AF_INET;
			memcpy(ip.a, a + 12, 4);
		} else {
			ip.family = AF_INET6;
			memcpy(ip.a, a, 16);
		}
	}
	return ip;
}

unsigned wan_admit_per_src(unsigned streams)
{
	return 2 * streams > WAN_ADMIT_PER_SRC_MIN ? 2 * streams : WAN_ADMIT_PER_SRC_MIN;
}

static int admit_same(const struct ns_ip *x, const struct ns_ip *y)
{
	return x->family == y->family && !memcmp(x->a, y->a, x->family == AF_INET ? 4 : 16);
}

/* The oldest entry from src and how many come from it. */
static int admit_oldest_of(const struct wan_admit_ent *e, size_t n, const struct ns_ip *src, unsigned *count)
{
	int oldest = -1;
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		if (!admit_same(&e[i].src, src))
			continue;
		++*count;
		if (oldest < 0 || e[i].t_open < e[oldest].t_open)
			oldest = (int)i;
	}
	return oldest;
}

int wan_admit_victim(const struct wan_admit_ent *e, size_t n, const struct ns_ip *src, unsigned per_src,
		     unsigned global)
{
	unsigned count, most = 0;
	int victim = admit_oldest_of(e, n, src, &count);

	if (count >= per_src)
		return victim;
	if (n < global)
		return -1;
	/* full (only ever with many sources): the biggest source pays; quadratic, but only here and n <= global */
	victim = -1;
	for (size_t i = 0; i < n; i++) {
		int o = admit_oldest_of(e, n, &e[i].src, &count);
		if (count > most) {
			most = count;
			victim = o;
		}
	}
	return victim;
}
