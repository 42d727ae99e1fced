/* SPDX-License-Identifier: MIT */
/* Unit test: GARP / unsolicited NA / RARP frame bytes, ICMPv6 checksum, round scheduling. */
#include "check.h"
#include "netstate/announce.h"

#include <errno.h>
#include <sys/socket.h>

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t ip4[4] = {198, 18, 1, 10};

#define BCAST 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
#define MAC 0x52, 0x54, 0x00, 0x12, 0x34, 0x56
#define IP4 198, 18, 1, 10
#define PAD18 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define FD00_10 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10

static void test_frames(void)
{
	static const uint8_t want_req[] = {
		BCAST, MAC, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1,
		MAC, IP4, 0, 0, 0, 0, 0, 0, IP4, PAD18,
	};
	static const uint8_t want_rep[] = {
		BCAST, MAC, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2,
		MAC, IP4, MAC, IP4, PAD18,
	};
	static const uint8_t want_rarp[] = {
		BCAST, MAC, 0x80, 0x35, 0, 1, 0x08, 0, 6, 4, 0, 3,
		MAC, 0, 0, 0, 0, MAC, 0, 0, 0, 0, PAD18,
	};
	/* Checksum 0xd5c1 computed independently (python, RFC 1071 over pseudo-header + NA). */
	static const uint8_t want_na[] = {
		0x33, 0x33, 0, 0, 0, 1, MAC, 0x86, 0xdd,
		0x60, 0, 0, 0, 0, 32, 58, 255, FD00_10,
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		136, 0, 0xd5, 0xc1, 0x20, 0, 0, 0, FD00_10, 2, 1, MAC,
	};
	static const uint8_t gw_mac[6] = {2, 0, 0, 0, 0, 1};
	static const uint8_t gw_ip[4] = {198, 18, 1, 1};
	static const uint8_t want_gw[] = {
		MAC, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2,
		2, 0, 0, 0, 0, 1, 198, 18, 1, 1, MAC, 198, 18, 1, 1, PAD18,
	};
	uint8_t ip6[16] = {0xfd, [15] = 0x10};
	uint8_t buf[NS_FRAME_MAX];
	size_t n;

	n = ns_build_garp(buf, sizeof(buf), NULL, mac, ip4, false);
	CHECK_BYTES("garp request", buf, n, want_req);
	n = ns_build_garp(buf, sizeof(buf), NULL, mac, ip4, true);
	CHECK_BYTES("garp reply", buf, n, want_rep);
	n = ns_build_rarp(buf, sizeof(buf), mac);
	CHECK_BYTES("rarp", buf, n, want_rarp);
	n = ns_build_unsol_na(buf, sizeof(buf), mac, ip6);
	CHECK_BYTES("unsolicited na", buf, n, want_na);
	/* Re-summing a message with its checksum in place gives 0 (RFC 1071). */
	CHECK(ns_icmp6_checksum(buf + 22, buf + 38, buf + 54, 32) == 0);
	n = ns_build_garp(buf, sizeof(buf), mac, gw_mac, gw_ip, true);
	CHECK_BYTES("gateway garp reply", buf, n, want_gw);
	CHECK(ns_build_garp(buf, 59, NULL, mac, ip4, false) == 0);
	CHECK(ns_build_unsol_na(buf, 85, mac, ip6) == 0);
}

struct fake_tx {
	unsigned calls;
	unsigned fail_first;
	uint8_t kinds[256];
};

static int fake_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct fake_tx *t = ctx;

	t->kinds[t->calls % 256] = frame[12] == 0x86 ? 'N' : frame[13] == 0x35 ? 'R' : 'A';
	t->calls++;
	if (t->fail_first) {
		t->fail_first--;
		return -ENOBUFS;
	}
	return len >= 60 ? 0 : -EINVAL;
}

static void test_rounds(void)
{
	static struct ns_announcer a;
	struct ns_announce_plan p;
	struct fake_tx tx = {.fail_first = 1};
	struct ns_ip ip;
	const uint64_t t0 = 5000000000u, ms = 1000000u;

	ns_announce_plan_init(&p);
	CHECK(p.n_rounds == 5 && p.rounds_ms[4] == 800);
	CHECK(ns_guest_add_mac(&p.guest, mac) == 0);
	CHECK(ns_ip_parse("198.18.1.10", &ip) == 0 && ns_guest_add_ip(&p.guest, &ip, mac) == 0);
	CHECK(ns_ip_parse("fd00::10", &ip) == 0 && ns_guest_add_ip(&p.guest, &ip, mac) == 0);
	CHECK(ns_ip_parse("fd00::10", &ip) == 0 && ns_guest_add_ip(&p.guest, &ip, mac) == 0);
	CHECK(p.guest.n_ips == 2); /* duplicate ignored */
	CHECK(ns_rounds_parse("0,50,200", &p, NULL) == 0 && p.n_rounds == 3);
	CHECK(ns_announcer_init(&a, &p, t0, fake_send, &tx, NULL) == 0);
	CHECK(a.n_frames == 4); /* GARP req + reply, NA, RARP */
	CHECK(ns_announcer_next_due(&a) == t0);
	CHECK(ns_announcer_send_due(&a, t0 - 1) == 0 && tx.calls == 0);
	CHECK(ns_announcer_send_due(&a, t0) == 3); /* first send failed, the rest went out */
	CHECK(tx.calls == 4 && a.send_errors == 1 && a.last_error == -ENOBUFS);
	CHECK(tx.kinds[0] == 'A' && tx.kinds[1] == 'A' && tx.kinds[2] == 'N' && tx.kinds[3] == 'R');
	CHECK(ns_announcer_next_due(&a) == t0 + 50 * ms);
	CHECK(ns_announcer_send_due(&a, t0 + 49 * ms) == 0);
	/* Loop stalled past rounds 2 and 3: one round goes out, not two back to back. */
	CHECK(ns_announcer_send_due(&a, t0 + 250 * ms) == 4);
	CHECK(ns_announcer_done(&a) && ns_announcer_next_due(&a) == UINT64_MAX);
	CHECK(a.rounds_sent == 2 && a.frames_sent == 7);
	CHECK(ns_announcer_send_due(&a, t0 + 900 * ms) == 0);

	p.gateway = true;
	CHECK(ns_ip_parse("fd00::1", &p.gateway_ip) == 0);
	CHECK(ns_announcer_init(&a, &p, t0, fake_send, &tx, NULL) == -EINVAL);
	CHECK(ns_ip_parse("198.18.1.1", &p.gateway_ip) == 0);
	CHECK(ns_announcer_init(&a, &p, t0, fake_send, &tx, NULL) == 0 && a.n_frames == 6);
	p.guest.n_macs = 0;
	CHECK(ns_announcer_init(&a, &p, t0, fake_send, &tx, NULL) == -EINVAL);
}

static void test_rounds_parse(void)
{
	struct ns_announce_plan p;
	struct ns_err e;

	ns_announce_plan_init(&p);
	CHECK(ns_rounds_parse("0,50,200,450,800", &p, &e) == 0 && p.n_rounds == 5);
	CHECK(ns_rounds_parse("0,50,40", &p, &e) == -EINVAL && strstr(e.msg, "decrease"));
	CHECK(ns_rounds_parse("", &p, &e) == -EINVAL);
	CHECK(ns_rounds_parse("0,,5", &p, &e) == -EINVAL);
	CHECK(ns_rounds_parse("1,2,", &p, &e) == -EINVAL);
	CHECK(ns_rounds_parse("70000", &p, &e) == -EINVAL);
	CHECK(ns_rounds_parse("-1", &p, &e) == -EINVAL);
	CHECK(ns_rounds_parse("0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", &p, &e) == -EINVAL);
	CHECK(ns_rounds_parse("7", &p, &e) == 0 && p.n_rounds == 1 && p.rounds_ms[0] == 7);
}

int main(void)
{
	test_frames();
	test_rounds();
	test_rounds_parse();
	CHECK_DONE();
}
