/* SPDX-License-Identifier: MIT */
/* port.c: AF_PACKET receive/transmit sockets bound to one interface. */
#include "port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* Big enough to absorb a scheduling hiccup at 1 Gbit/s (~20 ms of frames). */
#define RX_BUF_BYTES (64 << 20)
#define TX_BUF_BYTES (8 << 20)

static int fail(const char *ifname, const char *what, int fd)
{
	int err = errno;

	fprintf(stderr, "lh-wanem: %s: %s: %s\n", ifname, what, strerror(err));
	if (fd >= 0)
		close(fd);
	return -err;
}

static void set_buf(int fd, int force_opt, int opt, int bytes)
{
	/* SO_*BUFFORCE ignores net.core.[rw]mem_max (needs CAP_NET_ADMIN). */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

static int open_bound(const char *ifname, uint16_t proto)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	unsigned int idx = if_nametoindex(ifname);
	int fd;

	if (!idx)
		return fail(ifname, "no such interface", -1);
	/* Protocol 0 at creation, the real one at bind: otherwise frames from
	 * every interface are queued between socket() and bind(). */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(ifname, "socket(AF_PACKET)", -1);
	sll.sll_protocol = proto;
	sll.sll_ifindex = (int)idx;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return fail(ifname, "bind", fd);
	return fd;
}

int port_open_rx(const char *ifname)
{
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	int one = 1, fd;

	fd = open_bound(ifname, htons(ETH_P_ALL));
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
		return fail(ifname, "PACKET_IGNORE_OUTGOING", fd);
	mr.mr_ifindex = (int)if_nametoindex(ifname);
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		return fail(ifname, "PACKET_MR_PROMISC", fd);
	set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, RX_BUF_BYTES);
	port_rx_drops(fd); /* start counting from now */
	return fd;
}

int port_open_tx(const char *ifname)
{
	int one = 1, fd;

	fd = open_bound(ifname, 0); /* protocol 0: receives nothing */
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		return fail(ifname, "PACKET_QDISC_BYPASS", fd);
	set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, TX_BUF_BYTES);
	return fd;
}

int port_mtu(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu;

	if (fd < 0)
		return fail(ifname, "socket", -1);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		return fail(ifname, "SIOCGIFMTU", fd);
	mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

uint64_t port_rx_drops(int fd)
{
	struct tpacket_stats st = { 0 };
	socklen_t len = sizeof(st);

	if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
		return 0;
	return st.tp_drops;
}
