/* SPDX-License-Identifier: MIT */
/*
 * longhaul-holder: keeps sockets open outside longhauld's life (base/FDHOLD.md).
 *
 * Once a migration's end of stream has left the source gateway, closing the source QEMU's connections would
 * make QEMU resume the guest while the destination may already run it. longhauld hands dups of those
 * sockets to this process, which does nothing with them but keep them open: if longhauld crashes, the kernel
 * does not close them, QEMU stays paused, and the restarted longhauld takes them back (LIST) and asks the
 * peer where the guest runs. It exits when it holds nothing and has no client, or after --linger seconds
 * with no client (then QEMU learns the connection closed: the window that remains, FDHOLD.md).
 */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gateway/base/fdhold.h"
#include "gateway/base/log.h"

struct holder {
	struct ev_loop *loop;
	const char *path;
	int lfd, cfd;
	ev_io lio, cio;
	ev_timer tick;
	ev_tstamp alone_since;  /* no client since (0: one is connected) */
	double linger;
	struct fdhold_entry *v[FDHOLD_MAX_ENTRIES];
	unsigned n;
};

static void held_free(struct fdhold_entry *e, const char *reason)
{
	log_info("holder: %s uid %016llx: closing %u held sockets: %s", e->name, (unsigned long long)e->uid, e->nfds,
		 reason);
	for (unsigned i = 0; i < e->nfds; i++)
		close(e->fds[i]);
	free(e);
}

static int find(const struct holder *h, uint64_t uid)
{
	for (unsigned i = 0; i < h->n; i++)
		if (h->v[i]->uid == uid)
			return (int)i;
	return -1;
}

static void drop(struct holder *h, uint64_t uid, const char *reason)
{
	int i = find(h, uid);
	if (i < 0)
		return;
	held_free(h->v[i], reason);
	h->v[i] = h->v[--h->n];
}

static void client_close(struct holder *h, const char *reason)
{
	if (h->cfd < 0)
		return;
	log_info("holder: client gone (%s), holding %u entries", reason, h->n);
	ev_io_stop(h->loop, &h->cio);
	close(h->cfd);
	h->cfd = -1;
	h->alone_since = ev_now(h->loop);
}

static int send_list(struct holder *h)
{
	for (unsigned i = 0; i < h->n; i++) {
		struct fdhold_entry *e = h->v[i];
		struct fdhold_msg m = { .type = FDHOLD_ENTRY, .uid = e->uid, .nfds = (uint8_t)e->nfds, .blob = e->blob,
					.blob_len = e->blob_len };
		snprintf(m.name, sizeof(m.name), "%s", e->name);
		/* small messages on a local socket with a send timeout: whole, or the client is gone */
		if (fdhold_send(h->cfd, &m, e->fds, e->nfds) < 0)
			return -1;
	}
	struct fdhold_msg end = { .type = FDHOLD_END };
	return fdhold_send(h->cfd, &end, NULL, 0);
}

static void handle(struct holder *h, const struct fdhold_msg *m, int *fds, unsigned nfds)
{
	int i;
	switch (m->type) {
	case FDHOLD_KEEP: {
		struct fdhold_entry *e = calloc(1, sizeof(*e));
		if (!e || (find(h, m->uid) < 0 && h->n == FDHOLD_MAX_ENTRIES)) {
			log_warnx("holder: cannot keep uid %016llx: %s", (unsigned long long)m->uid,
				  e ? "too many entries" : "out of memory");
			free(e);
			for (unsigned k = 0; k < nfds; k++)
				close(fds[k]);
			return;
		}
		drop(h, m->uid, "replaced");
		e->uid = m->uid;
		snprintf(e->name, sizeof(e->name), "%s", m->name);
		memcpy(e->fds, fds, nfds * sizeof(int));
		e->nfds = nfds;
		memcpy(e->blob, m->blob, m->blob_len);
		e->blob_len = m->blob_len;
		h->v[h->n++] = e;
		log_info("holder: %s uid %016llx: holding %u sockets", e->name, (unsigned long long)e->uid, nfds);
		return;
	}
	case FDHOLD_UPDATE:
		if ((i = find(h, m->uid)) >= 0) {
			memcpy(h->v[i]->blob, m->blob, m->blob_len);
			h->v[i]->blob_len = m->blob_len;
		}
		return;
	case FDHOLD_DROP:
		drop(h, m->uid, "dropped by longhauld");
		return;
	case FDHOLD_LIST:
		log_info("holder: handing %u entries back", h->n);
		if (send_list(h) < 0)
			client_close(h, "cannot send the list");
		return;
	default:
		client_close(h, "a message only the holder sends");
		return;
	}
}

static void client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct holder *h = w->data;
	uint8_t buf[FDHOLD_MSG_MAX];
	int fds[FDHOLD_MAX_FDS];
	unsigned nfds = 0;
	struct fdhold_msg m;
	char err[160];
	(void)loop;
	(void)revents;

	int r = fdhold_recv(h->cfd, buf, &m, fds, &nfds, err, sizeof(err));
	if (r < 0) {
		for (unsigned k = 0; k < nfds; k++)
			close(fds[k]);
		client_close(h, r == -EPIPE ? "end of stream" : err);
		return;
	}
	handle(h, &m, fds, nfds);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct holder *h = w->data;
	(void)revents;
	int fd = accept4(h->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* a restarted longhauld replaces the one that is gone (or hangs): the newest client owns the entries */
	client_close(h, "replaced by a new client");
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	h->cfd = fd;
	h->alone_since = 0;
	ev_io_init(&h->cio, client_cb, fd, EV_READ);
	h->cio.data = h;
	ev_io_start(loop, &h->cio);
	log_info("holder: client connected, holding %u entries", h->n);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct holder *h = w->data;
	(void)revents;
	if (h->cfd >= 0)
		return;
	double alone = ev_now(loop) - h->alone_since;
	if (!h->n && alone > 2.0) {
		log_info("holder: nothing held and no client: exiting");
		ev_break(loop, EVBREAK_ALL);
	} else if (h->n && alone > h->linger) {
		log_warnx("holder: no longhauld for %.0f s: letting go of %u entries (their QEMUs see the connections "
			  "close)", alone, h->n);
		while (h->n)
			drop(h, h->v[0]->uid, "no longhauld came back");
		ev_break(loop, EVBREAK_ALL);
	}
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= (int)sizeof(sa.sun_path))
		return -1;
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		close(fd);
		errno = EADDRINUSE; /* another holder answers there */
		return -1;
	}
	if (probe >= 0)
		close(probe);
	unlink(path); /* a stale socket of a holder that is gone */
	mode_t old = umask(077);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 4) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' },
					      { "linger", required_argument, NULL, 'l' }, { NULL, 0, NULL, 0 } };
	struct holder h = { .lfd = -1, .cfd = -1, .linger = 900 };
	char pidpath[160];
	int c;

	while ((c = getopt_long(argc, argv, "s:l:", opts, NULL)) != -1) {
		if (c == 's')
			h.path = optarg;
		else if (c == 'l')
			h.linger = atof(optarg);
		else
			return 2;
	}
	if (!h.path) {
		fprintf(stderr, "usage: longhaul-holder --socket PATH [--linger SECONDS]\n");
		return 2;
	}
	log_init("longhaul-holder", LH_LOG_INFO, 1);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN); /* a terminal's ^C meant for longhauld is not for us */
	if ((h.lfd = listen_on(h.path)) < 0) {
		log_warnx("holder: %s: %s", h.path, strerror(errno));
		return 1;
	}
	/* tests end it by pid (base/FDHOLD.md) */
	snprintf(pidpath, sizeof(pidpath), "%s.pid", h.path);
	FILE *pf = fopen(pidpath, "we");
	if (pf) {
		fprintf(pf, "%ld\n", (long)getpid());
		fclose(pf);
	}
	h.loop = EV_DEFAULT;
	h.alone_since = ev_now(h.loop);
	ev_io_init(&h.lio, accept_cb, h.lfd, EV_READ);
	h.lio.data = &h;
	ev_io_start(h.loop, &h.lio);
	ev_timer_init(&h.tick, tick_cb, 1.0, 1.0);
	h.tick.data = &h;
	ev_timer_start(h.loop, &h.tick);
	log_info("holder: listening on %s (linger %.0f s)", h.path, h.linger);
	ev_run(h.loop, 0);
	unlink(h.path);
	unlink(pidpath);
	close(h.lfd);
	return 0;
}
