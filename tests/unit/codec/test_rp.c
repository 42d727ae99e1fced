/* SPDX-License-Identifier: MIT */
/* Return-path scanner: real 10.0 byte sequences, every chunking, and the ways it must give up. */
#include <stdio.h>
#include <string.h>

#include "lh_rp.h"

static int failures;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); failures++; } } while (0)

/* Feeds the bytes whole, one by one, and split at every point; all must agree with `want`. */
static void expect(const char *name, const uint8_t *p, size_t n, enum lh_rp_state want, uint32_t status,
		   uint64_t messages)
{
	for (size_t split = 0; split <= n; split++) {
		lh_rp_scanner s;
		lh_rp_init(&s);
		lh_rp_feed(&s, p, split);
		lh_rp_feed(&s, p + split, n - split);
		if (s.state != want || (want == LH_RP_SHUT_SEEN && (s.status != status || s.messages != messages))) {
			fprintf(stderr, "%s split %zu: state %d status %u messages %llu (want %d %u %llu) %s\n", name,
				split, s.state, s.status, (unsigned long long)s.messages, want, status,
				(unsigned long long)messages, s.reason ? s.reason : "");
			failures++;
			return;
		}
	}
	lh_rp_scanner s;
	lh_rp_init(&s);
	for (size_t i = 0; i < n; i++)
		lh_rp_feed(&s, p + i, 1);
	CHECK(s.state == want);
}

int main(void)
{
	/* observed, 10.0 with return-path + switchover-ack: SWITCHOVER_ACK, PONG 1, SHUT 0 */
	static const uint8_t ok[] = { 0, 7, 0, 0, 0, 2, 0, 4, 0, 0, 0, 1, 0, 1, 0, 4, 0, 0, 0, 0 };
	expect("shut ok", ok, sizeof(ok), LH_RP_SHUT_SEEN, 0, 3);
	/* postcopy: page requests before SHUT 1 (failure) */
	static const uint8_t pc[] = {
		0, 3, 0, 17, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0, 4, 'p', 'c', '.', 'r',
		0, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0x10, 0,
		0, 1, 0, 4, 0, 0, 0, 1, 0xde, 0xad };
	expect("postcopy shut 1", pc, sizeof(pc), LH_RP_SHUT_SEEN, 1, 3);
	/* nothing yet: still scanning */
	expect("pong only", ok + 4, 8, LH_RP_SCANNING, 0, 0);
	/* RECV_BITMAP: unframed bytes follow, the scanner gives up */
	static const uint8_t bm[] = { 0, 5, 0, 5, 4, 'p', 'c', '.', 'r', 0, 0, 0, 0, 0, 0, 0, 8 };
	expect("recv bitmap", bm, sizeof(bm), LH_RP_LOST, 0, 0);
	/* garbage and lying lengths */
	static const uint8_t bad1[] = { 0, 9, 0, 0 }, bad2[] = { 0, 1, 0, 5, 0, 0, 0, 0, 0 },
			     bad3[] = { 0, 3, 0, 3, 1, 2, 3 }, bad4[] = { 0, 0, 0, 0 };
	expect("unknown type", bad1, sizeof(bad1), LH_RP_LOST, 0, 0);
	expect("shut len 5", bad2, sizeof(bad2), LH_RP_LOST, 0, 0);
	expect("req_pages_id too short", bad3, sizeof(bad3), LH_RP_LOST, 0, 0);
	expect("invalid type 0", bad4, sizeof(bad4), LH_RP_LOST, 0, 0);
	if (failures)
		fprintf(stderr, "test_rp: %d failures\n", failures);
	else
		printf("test_rp: ok\n");
	return failures != 0;
}
