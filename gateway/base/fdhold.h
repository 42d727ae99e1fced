/* SPDX-License-Identifier: MIT */
/* The fd holder's client: sockets kept open outside longhauld's life (FDHOLD.md). */
#ifndef LH_GATEWAY_FDHOLD_H
#define LH_GATEWAY_FDHOLD_H

#include <stddef.h>
#include <stdint.h>

#define FDHOLD_SOCKET "holder.sock"   /* in [gateway] state_dir */
#define FDHOLD_MAX_FDS 64             /* per entry */
#define FDHOLD_MAX_BLOB 4096          /* the owner's notes on an entry (opaque to the holder) */
#define FDHOLD_MAX_NAME 63
#define FDHOLD_MAX_ENTRIES 256

struct fdhold;

/* One held entry, as fdhold_list hands it back after a restart (the fds are ours then). */
struct fdhold_entry {
	uint64_t uid;
	char name[FDHOLD_MAX_NAME + 1];
	int fds[FDHOLD_MAX_FDS];
	unsigned nfds;
	uint8_t blob[FDHOLD_MAX_BLOB];
	size_t blob_len;
};

/*
 * Connects to the holder at dir/holder.sock, starting it first (exe, in a session of its own, so that it
 * outlives us) when none answers. NULL with err filled when it cannot be reached.
 */
struct fdhold *fdhold_open(const char *dir, const char *exe, char *err, size_t errlen);
/*
 * The holder keeps dups of fds under uid (replacing what it held under it) with the owner's blob: while it
 * holds them, the sockets stay open whatever happens to this process. 0 or -errno.
 */
int fdhold_keep(struct fdhold *h, uint64_t uid, const char *name, const int *fds, unsigned nfds, const void *blob,
		size_t blob_len);
/* A new blob for uid. 0 or -errno. */
int fdhold_update(struct fdhold *h, uint64_t uid, const void *blob, size_t blob_len);
/* The holder closes its copies of uid's fds (ours stay open). 0 or -errno. */
int fdhold_drop(struct fdhold *h, uint64_t uid);
/*
 * Everything the holder keeps (after a restart): fn is called once per entry, with fresh fds that are the
 * caller's from then on (the holder keeps its copies until fdhold_drop). 0 or -errno (err filled).
 */
int fdhold_list(struct fdhold *h, void (*fn)(void *ctx, const struct fdhold_entry *e), void *ctx, char *err,
		size_t errlen);
/* The one teardown: the connection closes; the holder keeps what it holds. */
void fdhold_close(struct fdhold *h, const char *reason);

/*-*****  The wire format, shared with the holder (FDHOLD.md)  *****-*/

enum fdhold_type {
	FDHOLD_KEEP = 1, FDHOLD_UPDATE = 2, FDHOLD_DROP = 3, FDHOLD_LIST = 4, FDHOLD_ENTRY = 5, FDHOLD_END = 6,
};
#define FDHOLD_HDR 5                  /* u32 length of what follows the length, u8 type */
#define FDHOLD_MSG_MAX (FDHOLD_HDR + 8 + 1 + 1 + FDHOLD_MAX_NAME + 2 + FDHOLD_MAX_BLOB)

/* A parsed message (what the fds of its ancillary data mean). */
struct fdhold_msg {
	uint8_t type;
	uint64_t uid;
	uint8_t nfds;                 /* KEEP, ENTRY: fds that must come with it */
	char name[FDHOLD_MAX_NAME + 1];
	const uint8_t *blob;          /* KEEP, UPDATE, ENTRY: points into the parsed buffer */
	size_t blob_len;
};
/* Encodes a message into out (FDHOLD_MSG_MAX bytes); its length. */
size_t fdhold_encode(uint8_t *out, const struct fdhold_msg *m);
/*
 * Parses one whole message (p, n: its FDHOLD_HDR + length bytes). 0, or -EPROTO with err naming the field.
 * How many bytes a message takes is fdhold_msg_len(p) once FDHOLD_HDR bytes are there (0: too long).
 */
int fdhold_parse(const uint8_t *p, size_t n, struct fdhold_msg *m, char *err, size_t errlen);
size_t fdhold_msg_len(const uint8_t *p);
/*
 * Reads exactly n bytes from a unix stream socket, collecting the fds that come with them (*nfds in: room in
 * fds; out: how many came). 0, -errno, or -EPIPE at the end of the stream.
 */
int fdhold_recv_exact(int fd, uint8_t *p, size_t n, int *fds, unsigned *nfds);
/* Sends one message, its fds as ancillary data on its first byte. 0 or -errno. */
int fdhold_send(int fd, const struct fdhold_msg *m, const int *fds, unsigned nfds);
/*
 * Receives and parses one whole message into buf (FDHOLD_MSG_MAX bytes), with its fds (FDHOLD_MAX_FDS room;
 * *nfds out: how many came, the caller's to close when it fails). 0; -EPIPE at the end of the stream;
 * -EPROTO with err filled (a bad message, or fds other than it announces); another -errno.
 */
int fdhold_recv(int fd, uint8_t *buf, struct fdhold_msg *m, int *fds, unsigned *nfds, char *err, size_t errlen);

#endif
