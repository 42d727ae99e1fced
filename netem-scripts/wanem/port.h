/* SPDX-License-Identifier: MIT */
/* port.h: AF_PACKET sockets that read every frame arriving on an interface or write raw frames to it. */
#ifndef LH_WANEM_PORT_H
#define LH_WANEM_PORT_H

#include <stdint.h>

/* Each returns a socket fd, or -errno after printing what failed. */

/* Receives every frame the interface receives (promiscuous), never the frames
 * sent out of it (PACKET_IGNORE_OUTGOING: our own transmissions on the other
 * direction must not loop back). Non-blocking, large receive buffer. */
int port_open_rx(const char *ifname);

/* Sends complete L2 frames out of the interface, bypassing its qdisc. */
int port_open_tx(const char *ifname);

/* MTU of the interface, or -errno. */
int port_mtu(const char *ifname);

/* Adds the kernel's drop counter for an rx socket since the last call. */
uint64_t port_rx_drops(int fd);

#endif
