/* SPDX-License-Identifier: MIT */
/* Announcement rounds: plan, scheduler driven by the caller's clock, AF_PACKET sender. */
#include "netstate/announce.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void ns_announce_plan_init(struct ns_announce_plan *p)
{
	static const unsigned defaults[] = {0, 50, 200, 450, 800};

	memset(p, 0, sizeof(*p));
	memcpy(p->rounds_ms, defaults, sizeof(defaults));
	p->n_rounds = sizeof(defaults) / sizeof(defaults[0]);
}

int ns_rounds_parse(const char *s, struct ns_announce_plan *p, struct ns_err *err)
{
	unsigned n = 0, prev = 0;
	const char *q = s;

	if (!*s)
		return ns_fail(err, -EINVAL, "rounds: empty list");
	while (*q) {
		char *end;
		unsigned long v;

		if (*q < '0' || *q > '9')
			return ns_fail(err, -EINVAL, "rounds: `%s': expected a number at `%s'", s, q);
		errno = 0;
		v = strtoul(q, &end, 10);
		if (errno || v > 60000)
			return ns_fail(err, -EINVAL, "rounds: `%s': offset over 60000 ms", s);
		if (n && v < prev)
			return ns_fail(err, -EINVAL, "rounds: `%s': offsets must not decrease", s);
		if (n >= NS_ANNOUNCE_MAX_ROUNDS)
			return ns_fail(err, -EINVAL, "rounds: `%s': more than %d rounds", s,
				       NS_ANNOUNCE_MAX_ROUNDS);
		p->rounds_ms[n++] = (unsigned)v;
		prev = (unsigned)v;
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return ns_fail(err, -EINVAL, "rounds: `%s': unexpected `%s'", s, end);
		q = end;
	}
	p->n_rounds = n;
	return 0;
}

static struct ns_frame *next_frame(struct ns_announcer *a, enum ns_frame_kind kind)
{
	struct ns_frame *f = &a->frames[a->n_frames++];

	f->kind = kind;
	return f;
}

int ns_announcer_init(struct ns_announcer *a, const struct ns_announce_plan *p, uint64_t start_ns,
		      ns_frame_send_fn send, void *send_ctx, struct ns_err *err)
{
	const struct ns_guest *g = &p->guest;
	struct ns_frame *f;

	memset(a, 0, sizeof(*a));
	if (g->n_macs == 0 || g->n_macs > NS_GUEST_MAX_MACS || g->n_ips > NS_GUEST_MAX_IPS)
		return ns_fail(err, -EINVAL, "announce: guest needs 1..%d MACs and <= %d IPs",
			       NS_GUEST_MAX_MACS, NS_GUEST_MAX_IPS);
	if (p->n_rounds == 0 || p->n_rounds > NS_ANNOUNCE_MAX_ROUNDS)
		return ns_fail(err, -EINVAL, "announce: need 1..%d rounds", NS_ANNOUNCE_MAX_ROUNDS);
	if (p->gateway && p->gateway_ip.family != AF_INET)
		return ns_fail(err, -EINVAL, "announce: gateway address must be IPv4");
	for (unsigned i = 0; i < g->n_ips; i++) {
		const uint8_t *mac;

		if (g->ips[i].mac_index >= g->n_macs)
			return ns_fail(err, -EINVAL, "announce: IP #%u bound to a missing MAC", i);
		mac = g->macs[g->ips[i].mac_index];
		if (g->ips[i].ip.family == AF_INET) {
			f = next_frame(a, NS_FRAME_GARP_REQUEST);
			f->len = (uint16_t)ns_build_garp(f->b, sizeof(f->b), NULL, mac, g->ips[i].ip.a, false);
			f = next_frame(a, NS_FRAME_GARP_REPLY);
			f->len = (uint16_t)ns_build_garp(f->b, sizeof(f->b), NULL, mac, g->ips[i].ip.a, true);
		} else {
			f = next_frame(a, NS_FRAME_UNSOL_NA);
			f->len = (uint16_t)ns_build_unsol_na(f->b, sizeof(f->b), mac, g->ips[i].ip.a);
		}
	}
	for (unsigned i = 0; i < g->n_macs; i++) {
		f = next_frame(a, NS_FRAME_RARP);
		f->len = (uint16_t)ns_build_rarp(f->b, sizeof(f->b), g->macs[i]);
	}
	/*
	 * The gateway's GARP goes only to the guest's MACs: broadcast with the
	 * gateway's source MAC would make switches learn the router behind us.
	 */
	for (unsigned i = 0; p->gateway && i < g->n_macs; i++) {
		f = next_frame(a, NS_FRAME_GATEWAY_GARP);
		f->len = (uint16_t)ns_build_garp(f->b, sizeof(f->b), g->macs[i], p->gateway_mac,
						 p->gateway_ip.a, false);
		f = next_frame(a, NS_FRAME_GATEWAY_GARP);
		f->len = (uint16_t)ns_build_garp(f->b, sizeof(f->b), g->macs[i], p->gateway_mac,
						 p->gateway_ip.a, true);
	}
	memcpy(a->rounds_ms, p->rounds_ms, sizeof(a->rounds_ms));
	a->n_rounds = p->n_rounds;
	a->start_ns = start_ns;
	a->send = send;
	a->send_ctx = send_ctx;
	return 0;
}

uint64_t ns_announcer_next_due(const struct ns_announcer *a)
{
	if (a->next_round >= a->n_rounds)
		return UINT64_MAX;
	return a->start_ns + (uint64_t)a->rounds_ms[a->next_round] * 1000000u;
}

bool ns_announcer_done(const struct ns_announcer *a)
{
	return a->next_round >= a->n_rounds;
}

int ns_announcer_send_due(struct ns_announcer *a, uint64_t now_ns)
{
	int sent = 0;

	if (ns_announcer_done(a) || now_ns < ns_announcer_next_due(a))
		return 0;
	while (!ns_announcer_done(a) && now_ns >= ns_announcer_next_due(a))
		a->next_round++;
	for (unsigned i = 0; i < a->n_frames; i++) {
		int r = a->send(a->send_ctx, a->frames[i].b, a->frames[i].len);

		if (r < 0) {
			a->send_errors++;
			a->last_error = r;
			continue;
		}
		a->frames_sent++;
		sent++;
	}
	a->rounds_sent++;
	return sent;
}

int ns_packet_tx_open(struct ns_packet_tx *tx, const char *ifname, struct ns_err *err)
{
	unsigned idx = if_nametoindex(ifname);

	tx->fd = -1;
	if (!idx)
		return ns_fail(err, -errno, "packet socket on %s: %s", ifname, strerror(errno));
	/* Protocol 0: this socket only sends, so it never queues received frames. */
	tx->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tx->fd < 0)
		return ns_fail(err, -errno, "packet socket on %s: %s", ifname, strerror(errno));
	tx->ifindex = (int)idx;
	return 0;
}

int ns_packet_tx_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct ns_packet_tx *tx = ctx;
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = tx->ifindex,
		.sll_halen = NS_MAC_LEN,
	};

	if (len < 14)
		return -EINVAL;
	memcpy(sll.sll_addr, frame, NS_MAC_LEN);
	memcpy(&sll.sll_protocol, frame + 12, 2); /* the frame's ethertype, network order */
	if (sendto(tx->fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

void ns_packet_tx_close(struct ns_packet_tx *tx)
{
	if (tx->fd >= 0)
		close(tx->fd);
	tx->fd = -1;
}

uint64_t ns_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
