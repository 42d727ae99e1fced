/* SPDX-License-Identifier: MIT */
/* Promiscuous AF_PACKET capture of ARP/NS/NA on a bridge, feeding the learn table. */
#include "netstate/learn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Kernel filter, so only ARP, NS and NA ever reach userspace:
 *   ethertype == 0x0806                                  -> accept
 *   ethertype == 0x86dd && nexthdr == 58 && type in {135,136} -> accept
 */
static struct sock_filter learn_filter[] = {
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0806, 6, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, 0, 6),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 58, 0, 4),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 54),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 135, 1, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 136, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

int ns_learn_open(struct ns_learn_sock *s, const char *bridge, struct ns_err *err)
{
	struct sock_fprog prog = {sizeof(learn_filter) / sizeof(learn_filter[0]), learn_filter};
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	struct packet_mreq mr = {.mr_type = PACKET_MR_PROMISC};
	unsigned idx = if_nametoindex(bridge);
	int e;

	s->fd = -1;
	if (!idx)
		return ns_fail(err, -errno, "learn on %s: %s", bridge, strerror(errno));
	s->ifindex = (int)idx;
	/* Protocol 0 first, bind after the filter: no unfiltered frame can be queued. */
	s->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return ns_fail(err, -errno, "learn on %s: socket: %s", bridge, strerror(errno));
	if (setsockopt(s->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		goto fail;
	sll.sll_ifindex = s->ifindex;
	if (bind(s->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;
	/* A bridge passes up frames between other ports only when promiscuous;
	 * the membership ends with the socket, so a crash leaves nothing behind. */
	mr.mr_ifindex = s->ifindex;
	if (setsockopt(s->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		goto fail;
	return 0;
fail:
	e = -errno;
	close(s->fd);
	s->fd = -1;
	return ns_fail(err, e, "learn on %s: %s", bridge, strerror(-e));
}

int ns_learn_read(struct ns_learn_sock *s, struct ns_learn_table *t)
{
	uint8_t frame[2048];
	int added = 0;

	for (int i = 0; i < 1024; i++) { /* bounded: yield to the loop under a flood */
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct ns_binding b;
		ssize_t n = recvfrom(s->fd, frame, sizeof(frame), 0, (struct sockaddr *)&from, &fl);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue; /* our own announcements */
		if (ns_learn_parse(frame, (size_t)n, &b) == 1 && ns_learn_table_add(t, &b) == 1)
			added++;
	}
	return added;
}

void ns_learn_close(struct ns_learn_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
