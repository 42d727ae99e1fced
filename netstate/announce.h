/* SPDX-License-Identifier: MIT */
/* Cutover announcements: GARP / unsolicited NA / RARP frames and a round scheduler for an event loop. */
#ifndef NETSTATE_ANNOUNCE_H
#define NETSTATE_ANNOUNCE_H

#include "netstate/common.h"

#define NS_FRAME_MAX 86 /* the largest frame we build: Ethernet + IPv6 + NA with one option */
#define NS_ANNOUNCE_MAX_ROUNDS 16
/* Per round: 2 GARP per IPv4 or 1 NA per IPv6, 1 RARP per MAC, 2 gateway GARP per MAC. */
#define NS_ANNOUNCE_MAX_FRAMES (NS_GUEST_MAX_IPS * 2 + NS_GUEST_MAX_MACS * 3)

enum ns_frame_kind {
	NS_FRAME_GARP_REQUEST = 0, /* ARP request, sender = target = guest IP, broadcast */
	NS_FRAME_GARP_REPLY = 1,   /* ARP reply, same addresses, broadcast */
	NS_FRAME_UNSOL_NA = 2,     /* ICMPv6 NA to ff02::1, override set, solicited clear */
	NS_FRAME_RARP = 3,         /* RARP request-reverse, as QEMU's announce-self sends */
	NS_FRAME_GATEWAY_GARP = 4, /* gateway's GARP, unicast to a guest MAC only */
};

/*
 * Frame builders write a complete Ethernet frame (no FCS) into buf and return
 * its length, or 0 if len is too small. ARP/RARP frames are padded to the
 * 60-byte Ethernet minimum. eth_dst NULL = broadcast.
 */
size_t ns_build_garp(uint8_t *buf, size_t len, const uint8_t eth_dst[NS_MAC_LEN],
		     const uint8_t mac[NS_MAC_LEN], const uint8_t ip[4], bool reply);
size_t ns_build_unsol_na(uint8_t *buf, size_t len, const uint8_t mac[NS_MAC_LEN],
			 const uint8_t ip6[16]);
size_t ns_build_rarp(uint8_t *buf, size_t len, const uint8_t mac[NS_MAC_LEN]);
/* RFC 1071 checksum of an ICMPv6 message with its IPv6 pseudo-header. */
uint16_t ns_icmp6_checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg,
			   size_t len);

struct ns_announce_plan {
	struct ns_guest guest;
	unsigned rounds_ms[NS_ANNOUNCE_MAX_ROUNDS]; /* offsets from start, non-decreasing */
	unsigned n_rounds;
	bool gateway;                 /* also tell the guest where its IPv4 gateway is */
	struct ns_ip gateway_ip;
	uint8_t gateway_mac[NS_MAC_LEN];
};

/* Default rounds: 0, 50, 200, 450, 800 ms. */
void ns_announce_plan_init(struct ns_announce_plan *p);
/* Parses "0,50,200" (ms, non-decreasing, <= 60000, at most NS_ANNOUNCE_MAX_ROUNDS). */
int ns_rounds_parse(const char *s, struct ns_announce_plan *p, struct ns_err *err);

typedef int (*ns_frame_send_fn)(void *ctx, const uint8_t *frame, size_t len);

struct ns_frame {
	enum ns_frame_kind kind;
	uint16_t len;
	uint8_t b[NS_FRAME_MAX];
};

struct ns_announcer {
	struct ns_frame frames[NS_ANNOUNCE_MAX_FRAMES];
	unsigned n_frames;
	unsigned rounds_ms[NS_ANNOUNCE_MAX_ROUNDS];
	unsigned n_rounds;
	unsigned next_round;
	uint64_t start_ns;
	ns_frame_send_fn send;
	void *send_ctx;
	/* statistics */
	unsigned rounds_sent;
	unsigned frames_sent;
	unsigned send_errors;
	int last_error; /* -errno of the last failed send, 0 if none */
};

/*
 * Builds every frame of one round from the plan; start_ns is CLOCK_MONOTONIC
 * at cutover. The library never sleeps: the caller arms a timer for
 * ns_announcer_next_due() and calls ns_announcer_send_due() when it fires.
 */
int ns_announcer_init(struct ns_announcer *a, const struct ns_announce_plan *p, uint64_t start_ns,
		      ns_frame_send_fn send, void *send_ctx, struct ns_err *err);
/* Absolute CLOCK_MONOTONIC ns of the next round, UINT64_MAX when all are sent. */
uint64_t ns_announcer_next_due(const struct ns_announcer *a);
/*
 * Sends the due round (rounds that fell due while the loop was stalled are
 * sent once, not back to back). A failed send is counted and the rest of the
 * round still goes out. Returns frames sent, or 0 if nothing was due.
 */
int ns_announcer_send_due(struct ns_announcer *a, uint64_t now_ns);
bool ns_announcer_done(const struct ns_announcer *a);

/* Sends frames on one interface through an AF_PACKET socket (non-blocking). */
struct ns_packet_tx {
	int fd;
	int ifindex;
};
int ns_packet_tx_open(struct ns_packet_tx *tx, const char *ifname, struct ns_err *err);
int ns_packet_tx_send(void *tx, const uint8_t *frame, size_t len); /* ns_frame_send_fn */
void ns_packet_tx_close(struct ns_packet_tx *tx);

uint64_t ns_now_ns(void); /* CLOCK_MONOTONIC */

#endif
