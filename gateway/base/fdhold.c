/* SPDX-License-Identifier: MIT */
/* The fd holder's wire format (FDHOLD.md) and longhauld's client of it. */
#include "gateway/base/fdhold.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gateway/base/log.h"

struct fdhold {
	int fd;
	char path[108];
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

static int has_uid(uint8_t t) { return t == FDHOLD_KEEP || t == FDHOLD_UPDATE || t == FDHOLD_DROP || t == FDHOLD_ENTRY; }
static int has_fds(uint8_t t) { return t == FDHOLD_KEEP || t == FDHOLD_ENTRY; }
static int has_blob(uint8_t t) { return t == FDHOLD_KEEP || t == FDHOLD_UPDATE || t == FDHOLD_ENTRY; }

size_t fdhold_encode(uint8_t *out, const struct fdhold_msg *m)
{
	size_t n = FDHOLD_HDR;
	out[4] = m->type;
	if (has_uid(m->type)) {
		put64(out + n, m->uid);
		n += 8;
	}
	if (has_fds(m->type)) {
		size_t len = strnlen(m->name, FDHOLD_MAX_NAME);
		out[n++] = m->nfds;
		out[n++] = (uint8_t)len;
		memcpy(out + n, m->name, len);
		n += len;
	}
	if (has_blob(m->type)) {
		size_t bl = m->blob_len > FDHOLD_MAX_BLOB ? FDHOLD_MAX_BLOB : m->blob_len;
		put16(out + n, (uint16_t)bl);
		memcpy(out + n + 2, m->blob, bl);
		n += 2 + bl;
	}
	put32(out, (uint32_t)(n - 4));
	return n;
}

size_t fdhold_msg_len(const uint8_t *p)
{
	uint32_t len = get32(p);
	return len < 1 || len > FDHOLD_MSG_MAX - 4 ? 0 : 4 + (size_t)len;
}

int fdhold_parse(const uint8_t *p, size_t n, struct fdhold_msg *m, char *err, size_t errlen)
{
	size_t off = FDHOLD_HDR;

	memset(m, 0, sizeof(*m));
	if (n < FDHOLD_HDR || fdhold_msg_len(p) != n) {
		snprintf(err, errlen, "length: %zu bytes do not make one message", n);
		return -EPROTO;
	}
	m->type = p[4];
	if (m->type < FDHOLD_KEEP || m->type > FDHOLD_END) {
		snprintf(err, errlen, "type %u unknown", m->type);
		return -EPROTO;
	}
	if (has_uid(m->type)) {
		if (n < off + 8) {
			snprintf(err, errlen, "%u: uid runs past the message", m->type);
			return -EPROTO;
		}
		m->uid = get64(p + off);
		off += 8;
	}
	if (has_fds(m->type)) {
		if (n < off + 2 || p[off] > FDHOLD_MAX_FDS || p[off + 1] > FDHOLD_MAX_NAME || n < off + 2 + p[off + 1]) {
			snprintf(err, errlen, "%u: fd count (<= %d) or name (<= %d bytes) out of bounds", m->type,
				 FDHOLD_MAX_FDS, FDHOLD_MAX_NAME);
			return -EPROTO;
		}
		m->nfds = p[off];
		memcpy(m->name, p + off + 2, p[off + 1]);
		if (memchr(m->name, 0, p[off + 1])) {
			snprintf(err, errlen, "%u: NUL in the name", m->type);
			return -EPROTO;
		}
		off += 2 + p[off + 1];
	}
	if (has_blob(m->type)) {
		if (n < off + 2 || get16(p + off) > FDHOLD_MAX_BLOB || n < off + 2 + get16(p + off)) {
			snprintf(err, errlen, "%u: blob length out of bounds", m->type);
			return -EPROTO;
		}
		m->blob_len = get16(p + off);
		m->blob = p + off + 2;
		off += 2 + m->blob_len;
	}
	if (off != n) {
		snprintf(err, errlen, "%u: %zu bytes after the last field", m->type, n - off);
		return -EPROTO;
	}
	return 0;
}

/* One encoded message, with fds as ancillary data on it. 0 or -errno. */
static int send_raw(int fd, const uint8_t *p, size_t n, const int *fds, unsigned nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * FDHOLD_MAX_FDS)];
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (n) {
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		/* the fds went with the first byte; the rest goes plain */
		iov.iov_base = (uint8_t *)iov.iov_base + w;
		iov.iov_len -= (size_t)w;
		n -= (size_t)w;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
	return 0;
}

/* A stream read never runs past a message whose first byte carries fds: reading exactly one message's bytes
 * keeps each message's fds with it. */
int fdhold_recv_exact(int fd, uint8_t *p, size_t n, int *fds, unsigned *nfds)
{
	unsigned room = *nfds, got = 0;
	while (n) {
		char cbuf[CMSG_SPACE(sizeof(int) * FDHOLD_MAX_FDS)];
		struct iovec iov = { .iov_base = p, .iov_len = n };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			*nfds = got; /* whatever came is the caller's to close */
			return e;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int tmp[FDHOLD_MAX_FDS];
			memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
			for (unsigned i = 0; i < k; i++) {
				if (got < room)
					fds[got++] = tmp[i];
				else
					close(tmp[i]); /* more than the message may carry: not ours to keep */
			}
		}
		if (r == 0) {
			*nfds = got;
			return -EPIPE;
		}
		p += r;
		n -= (size_t)r;
	}
	*nfds = got;
	return 0;
}

int fdhold_send(int fd, const struct fdhold_msg *m, const int *fds, unsigned nfds)
{
	uint8_t buf[FDHOLD_MSG_MAX];
	size_t n = fdhold_encode(buf, m);
	return send_raw(fd, buf, n, fds, nfds);
}

int fdhold_recv(int fd, uint8_t *buf, struct fdhold_msg *m, int *fds, unsigned *nfds, char *err, size_t errlen)
{
	unsigned got = FDHOLD_MAX_FDS, more = FDHOLD_MAX_FDS;
	size_t n = 0;
	int r = fdhold_recv_exact(fd, buf, FDHOLD_HDR, fds, &got);

	if (r == 0 && !(n = fdhold_msg_len(buf))) {
		snprintf(err, errlen, "length: out of bounds");
		r = -EPROTO;
	}
	if (r == 0 && (r = fdhold_recv_exact(fd, buf + FDHOLD_HDR, n - FDHOLD_HDR, fds + got, &more)) == 0)
		got += more;
	if (r == 0 && (r = fdhold_parse(buf, n, m, err, errlen)) == 0 && m->nfds != got) {
		snprintf(err, errlen, "%u fds came with a message that announces %u", got, m->nfds);
		r = -EPROTO;
	}
	if (r < 0 && r != -EPROTO && r != -EPIPE)
		snprintf(err, errlen, "%s", strerror(-r));
	*nfds = got;
	return r;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	/* a holder that stops answering must not stop longhauld's loop for long */
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Starts the holder in a session of its own: it must outlive this process, whatever kills it. */
static int spawn(const char *exe, const char *path)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		setsid();
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			close(null);
		}
		/* a second fork: the holder is nobody's child, so no one reaps it by mistake or waits on it */
		if (fork() != 0)
			_exit(0);
		execl(exe, exe, "--socket", path, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

struct fdhold *fdhold_open(const char *dir, const char *exe, char *err, size_t errlen)
{
	struct fdhold *h = calloc(1, sizeof(*h));
	int fd;

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (snprintf(h->path, sizeof(h->path), "%s/%s", dir, FDHOLD_SOCKET) >= (int)sizeof(h->path)) {
		snprintf(err, errlen, "%s/%s: path too long for a unix socket", dir, FDHOLD_SOCKET);
		free(h);
		return NULL;
	}
	fd = connect_to(h->path);
	if (fd < 0) {
		int r = spawn(exe, h->path);
		if (r < 0) {
			snprintf(err, errlen, "cannot start %s: %s", exe, strerror(-r));
			free(h);
			return NULL;
		}
		for (int i = 0; i < 200 && fd < 0; i++) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			fd = connect_to(h->path);
		}
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s (holder %s)", h->path, strerror(-fd), exe);
		free(h);
		return NULL;
	}
	h->fd = fd;
	return h;
}

static int send_plain(struct fdhold *h, const struct fdhold_msg *m, const int *fds, unsigned nfds)
{
	if (!h || h->fd < 0)
		return -ENOTCONN;
	int r = fdhold_send(h->fd, m, fds, nfds);
	if (r < 0)
		log_warnx("fd holder %s: cannot send a message: %s", h->path, strerror(-r));
	return r;
}

int fdhold_keep(struct fdhold *h, uint64_t uid, const char *name, const int *fds, unsigned nfds, const void *blob,
		size_t blob_len)
{
	struct fdhold_msg m = { .type = FDHOLD_KEEP, .uid = uid, .nfds = (uint8_t)nfds, .blob = blob,
				.blob_len = blob_len };
	if (nfds > FDHOLD_MAX_FDS || blob_len > FDHOLD_MAX_BLOB)
		return -E2BIG;
	snprintf(m.name, sizeof(m.name), "%s", name);
	return send_plain(h, &m, fds, nfds);
}

int fdhold_update(struct fdhold *h, uint64_t uid, const void *blob, size_t blob_len)
{
	struct fdhold_msg m = { .type = FDHOLD_UPDATE, .uid = uid, .blob = blob, .blob_len = blob_len };
	if (blob_len > FDHOLD_MAX_BLOB)
		return -E2BIG;
	return send_plain(h, &m, NULL, 0);
}

int fdhold_drop(struct fdhold *h, uint64_t uid)
{
	struct fdhold_msg m = { .type = FDHOLD_DROP, .uid = uid };
	return send_plain(h, &m, NULL, 0);
}

int fdhold_list(struct fdhold *h, void (*fn)(void *ctx, const struct fdhold_entry *e), void *ctx, char *err,
		size_t errlen)
{
	struct fdhold_msg m = { .type = FDHOLD_LIST };
	uint8_t buf[FDHOLD_MSG_MAX];
	int r;

	if ((r = send_plain(h, &m, NULL, 0)) < 0) {
		snprintf(err, errlen, "LIST: %s", strerror(-r));
		return r;
	}
	for (unsigned count = 0; count <= FDHOLD_MAX_ENTRIES; count++) {
		struct fdhold_entry *e = calloc(1, sizeof(*e));
		unsigned nfds = 0;
		if (!e) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		r = fdhold_recv(h->fd, buf, &m, e->fds, &nfds, err, errlen);
		if (r == 0 && m.type == FDHOLD_END) {
			free(e);
			return 0;
		}
		if (r == 0 && m.type != FDHOLD_ENTRY) {
			snprintf(err, errlen, "reply: type %u, expected ENTRY or END", m.type);
			r = -EPROTO;
		}
		if (r < 0) {
			for (unsigned i = 0; i < nfds; i++)
				close(e->fds[i]);
			free(e);
			return r;
		}
		e->uid = m.uid;
		e->nfds = nfds;
		snprintf(e->name, sizeof(e->name), "%s", m.name);
		memcpy(e->blob, m.blob, m.blob_len);
		e->blob_len = m.blob_len;
		fn(ctx, e);
		free(e);
	}
	snprintf(err, errlen, "reply: more than %d entries", FDHOLD_MAX_ENTRIES);
	return -EPROTO;
}

void fdhold_close(struct fdhold *h, const char *reason)
{
	if (!h)
		return;
	log_debug("fd holder %s: connection closed: %s", h->path, reason);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}
