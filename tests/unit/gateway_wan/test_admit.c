/* SPDX-License-Identifier: MIT */
/*
 * Admission of incoming WAN connections (gateway/wan/wan_admit.c): which pending connection makes room for a
 * new one; and the refusal log's once-a-second rule (gateway/base/ratelog.c). Pure: no sockets, no clock.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../gateway_control/check.h"
#include "gateway/base/ratelog.h"
#include "gateway/wan/wan_admit.h"

static struct ns_ip v4(const char *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	inet_pton(AF_INET, s, &sin.sin_addr);
	return wan_admit_src((struct sockaddr *)&sin);
}

static void test_src(void)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct ns_ip a = v4("198.18.254.5"), m;

	inet_pton(AF_INET6, "::ffff:198.18.254.5", &sin6.sin6_addr);
	m = wan_admit_src((struct sockaddr *)&sin6);
	CHECK(m.family == AF_INET && !memcmp(m.a, a.a, 4)); /* mapped IPv4 is the same source */
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	m = wan_admit_src((struct sockaddr *)&sin6);
	CHECK(m.family == AF_INET6);
	CHECK(wan_admit_per_src(1) == 16 && wan_admit_per_src(8) == 16 && wan_admit_per_src(9) == 18);
	CHECK(wan_admit_per_src(64) == 128 && wan_admit_per_src(64) < WAN_ADMIT_GLOBAL); /* one source never fills it */
}

/* A flooder at its cap displaces only its own oldest; the peer, from elsewhere, is admitted without a victim. */
static void test_per_source(void)
{
	struct wan_admit_ent e[WAN_ADMIT_GLOBAL];
	struct ns_ip flood = v4("198.18.254.5"), peer = v4("198.18.254.1");
	size_t n = 0;

	for (; n < 16; n++) {
		e[n].src = flood;
		e[n].t_open = 100.0 + (double)((n * 7) % 16); /* not in list order */
	}
	CHECK(wan_admit_victim(e, n, &peer, 16, WAN_ADMIT_GLOBAL) == -1);
	int v = wan_admit_victim(e, n, &flood, 16, WAN_ADMIT_GLOBAL);
	CHECK(v >= 0 && e[v].t_open == 100.0);
	/* below the cap: room */
	CHECK(wan_admit_victim(e, 15, &flood, 16, WAN_ADMIT_GLOBAL) == -1);
	/* the peer at its own cap (stale attempts): its oldest goes, never the flooder's */
	for (size_t i = 0; i < 16; i++) {
		e[n].src = peer;
		e[n++].t_open = 50.0 + (double)i;
	}
	v = wan_admit_victim(e, n, &peer, 16, WAN_ADMIT_GLOBAL);
	CHECK(v >= 0 && ns_ip_equal(&e[v].src, &peer) && e[v].t_open == 50.0);
}

/* Global cap: the address with the most pending pays, not the newcomer's address when it has fewer. */
static void test_global(void)
{
	struct wan_admit_ent e[8];
	struct ns_ip a = v4("198.18.254.5"), b = v4("198.18.254.6"), peer = v4("198.18.254.1");
	size_t n = 0;

	for (int i = 0; i < 5; i++) {
		e[n].src = a;
		e[n++].t_open = 10.0 + i;
	}
	for (int i = 0; i < 2; i++) {
		e[n].src = b;
		e[n++].t_open = 1.0 + i;
	}
	e[n].src = peer;
	e[n++].t_open = 0.5;
	int v = wan_admit_victim(e, n, &peer, 16, 8);
	CHECK(v == 0); /* a's oldest: a has the most */
	CHECK(wan_admit_victim(e, n, &peer, 16, 9) == -1);
}

static void test_ratelog(void)
{
	struct lh_ratelog lg;
	char buf[600];

	memset(&lg, 0, sizeof(lg));
	buf[0] = 0;
	CHECK(lh_ratelog_note(&lg, 10.0, "198.18.254.5:1", "first", buf, sizeof(buf)) == 1);
	CHECK(strstr(buf, "first") && !strstr(buf, "more refused"));
	for (int i = 0; i < 99; i++)
		CHECK(lh_ratelog_note(&lg, 10.0 + i * 0.009, "198.18.254.5:2", "held", buf, sizeof(buf)) == 0);
	CHECK(lh_ratelog_flush(&lg, 10.95, buf, sizeof(buf)) == 0); /* not a second yet */
	CHECK(lh_ratelog_note(&lg, 11.2, "198.18.254.5:3", "next", buf, sizeof(buf)) == 1);
	CHECK(strstr(buf, "from 198.18.254.5:3 refused: next (99 more refused in the last 1 s, last: from "
			 "198.18.254.5:2: held)") != NULL);
	CHECK(lh_ratelog_note(&lg, 11.5, "198.18.254.5:4", "late", buf, sizeof(buf)) == 0);
	CHECK(lh_ratelog_flush(&lg, 11.6, buf, sizeof(buf)) == 0);
	CHECK(lh_ratelog_flush(&lg, 12.3, buf, sizeof(buf)) == 1);
	CHECK(strstr(buf, "1 more refused") && strstr(buf, "late"));
	CHECK(lh_ratelog_flush(&lg, 14.0, buf, sizeof(buf)) == 0); /* nothing held */
	/* a rare reason is named beside a frequent one, whichever came last */
	CHECK(lh_ratelog_note(&lg, 14.5, "198.18.254.5:5", "unknown CA", buf, sizeof(buf)) == 1);
	CHECK(lh_ratelog_note(&lg, 14.6, "198.18.254.1:6", "plaintext", buf, sizeof(buf)) == 0);
	for (int i = 0; i < 5; i++)
		CHECK(lh_ratelog_note(&lg, 14.7, "198.18.254.5:7", "unknown CA", buf, sizeof(buf)) == 0);
	CHECK(lh_ratelog_flush(&lg, 15.6, buf, sizeof(buf)) == 1);
	CHECK(strstr(buf, "6 more refused in the last 1 s, last: from 198.18.254.5:7: unknown CA; "
			 "1 x from 198.18.254.1:6 refused: plaintext") != NULL);
	/* more kinds than it names: all counted */
	for (int i = 0; i < 10; i++) {
		char why[16];
		snprintf(why, sizeof(why), "why %d", i);
		CHECK(lh_ratelog_note(&lg, 15.7, "198.18.254.5:8", why, buf, sizeof(buf)) == 0);
	}
	CHECK(lh_ratelog_flush(&lg, 16.7, buf, sizeof(buf)) == 1);
	CHECK(strstr(buf, "10 more refused") && strstr(buf, "last: from 198.18.254.5:8: why 9"));
}

int main(void)
{
	test_src();
	test_per_source();
	test_global();
	test_ratelog();
	return check_report("admit");
}
