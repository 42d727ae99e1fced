/* SPDX-License-Identifier: MIT */
/* blast.c: lh-wanem-blast, sends paced full-size Ethernet frames out of one interface to measure the emulator's frame rate. */
#include "port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* IEEE 802 "local experimental" EtherType: no stack on the far side parses it. */
#define ETHERTYPE_LOCAL_EXP 0x88b5
#define MAX_BATCH 1024
#define TICK_NS 1000000ULL

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int own_mac(const char *dev, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		rc = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: lh-wanem-blast --dev IFACE [--pps N] [--size BYTES] [--seconds S]\n"
		     "Sends frames of SIZE bytes (default 1514: a 1500-byte MTU frame) at N frames/s\n"
		     "(default 90000) for S seconds (default 3) to an unused locally administered MAC,\n"
		     "then prints what it sent. Count arrivals with the far interface's rx_packets.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "pps", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static uint8_t frame[9018];
	static const uint8_t dst[6] = { 0x02, 0x4c, 0x48, 0x00, 0x00, 0x01 };
	struct mmsghdr msg[MAX_BATCH];
	struct iovec iov;
	const char *dev = NULL;
	long pps = 90000, size = 1514;
	double seconds = 3;
	uint64_t sent = 0, errors = 0, start, end, due, next;
	int c, fd;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': dev = optarg; break;
		case 'p': pps = strtol(optarg, NULL, 10); break;
		case 's': size = strtol(optarg, NULL, 10); break;
		case 't': seconds = strtod(optarg, NULL); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!dev || pps < 1 || pps > 1000L * MAX_BATCH || size < 60 ||
	    size > (long)sizeof(frame) || !(seconds > 0 && seconds <= 60)) {
		usage(stderr);
		return 2;
	}
	fd = port_open_tx(dev);
	if (fd < 0)
		return 1;
	memcpy(frame, dst, 6);
	if (own_mac(dev, frame + 6) < 0) {
		fprintf(stderr, "lh-wanem-blast: %s: cannot read MAC address\n", dev);
		return 1;
	}
	frame[12] = ETHERTYPE_LOCAL_EXP >> 8;
	frame[13] = ETHERTYPE_LOCAL_EXP & 0xff;
	iov = (struct iovec){ .iov_base = frame, .iov_len = (size_t)size };
	for (int i = 0; i < MAX_BATCH; i++)
		msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };

	start = mono_ns();
	end = start + (uint64_t)(seconds * 1e9);
	next = start;
	/* Every millisecond, send what the schedule says is due by now. */
	while (next < end) {
		struct timespec ts;

		due = (uint64_t)((double)(next - start) * (double)pps / 1e9);
		while (sent + errors < due) {
			uint64_t want = due - sent - errors;
			int r = sendmmsg(fd, msg, (unsigned int)(want > MAX_BATCH ? MAX_BATCH : want), 0);

			if (r < 0) {
				if (errno != EINTR)
					errors++;
				continue;
			}
			sent += (uint64_t)r;
		}
		next += TICK_NS;
		ts.tv_sec = (time_t)(next / 1000000000ULL);
		ts.tv_nsec = (long)(next % 1000000000ULL);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	printf("{\"dev\": \"%s\", \"sent\": %llu, \"errors\": %llu, \"seconds\": %.3f, \"pps\": %.0f}\n",
	       dev, (unsigned long long)sent, (unsigned long long)errors, (double)(mono_ns() - start) / 1e9,
	       (double)sent / ((double)(mono_ns() - start) / 1e9));
	close(fd);
	return 0;
}
