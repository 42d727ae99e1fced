/* SPDX-License-Identifier: MIT */
/* forward.c: the per-direction loop: recvmmsg a batch, shape it, sendmmsg frames whose departure time has come. */
#include "forward.h"
#include "port.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
/* Idle wake-up so that *stop is noticed without a signal. */
#define IDLE_NS (100 * 1000 * 1000ULL)
/* Shortest sleep while frames are queued (so frames leave <= ~50 us late). */
#define MIN_SLEEP_NS (50 * 1000ULL)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

int fwd_init(struct fwd *f, const char *in, const char *out, const struct wan_params *p,
	     uint32_t frame_max, uint64_t quantum_ns, const atomic_bool *stop)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->rx_fd = f->tx_fd = -1;
	f->stop = stop;
	f->quantum_ns = quantum_ns;
	snprintf(f->name, sizeof(f->name), "%s>%s", in, out);
	err = wan_shaper_init(&f->shaper, p);
	if (err) {
		fprintf(stderr, "lh-wanem: %s: invalid link parameters\n", f->name);
		return err;
	}
	/* limit frames held + one batch being received + one being sent. */
	err = pktq_init(&f->q, p->limit + 2 * BATCH, frame_max);
	if (err) {
		fprintf(stderr, "lh-wanem: %s: cannot allocate %u buffers of %u bytes\n",
			f->name, p->limit + 2 * BATCH, frame_max);
		return err;
	}
	f->rx_fd = port_open_rx(in);
	if (f->rx_fd < 0)
		return f->rx_fd;
	f->tx_fd = port_open_tx(out);
	if (f->tx_fd < 0)
		return f->tx_fd;
	atomic_store(&f->state, FWD_RUNNING);
	return 0;
}

/* Sends up to one batch of frames due at `now`; returns how many left the queue. */
static int send_due(struct fwd *f, uint64_t now)
{
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct pkt pk[BATCH];
	const struct pkt *head;
	int n = 0, done = 0;

	while (n < BATCH && (head = pktq_peek(&f->q)) && head->depart_ns <= now) {
		pktq_pop(&f->q, &pk[n]);
		iov[n] = (struct iovec){ .iov_base = pk[n].data, .iov_len = pk[n].len };
		msg[n] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[n], .msg_iovlen = 1 } };
		n++;
	}
	while (done < n) {
		int r = sendmmsg(f->tx_fd, msg + done, (unsigned int)(n - done), 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* The frame is lost on the wire, like a NIC drop;
			 * counted, not fatal (e.g. ENOBUFS, peer down). */
			add(&f->st.tx_errors, 1);
			done++;
			continue;
		}
		add(&f->st.tx, (uint64_t)r);
		done += r;
	}
	for (int i = 0; i < n; i++) {
		uint64_t late = now > pk[i].depart_ns ? now - pk[i].depart_ns : 0;

		if (late > LATE_NS)
			add(&f->st.late, 1);
		if (late > atomic_load_explicit(&f->st.max_late_ns, memory_order_relaxed))
			atomic_store_explicit(&f->st.max_late_ns, late, memory_order_relaxed);
		pktq_put_buf(&f->q, pk[i].data);
		wan_shaper_release(&f->shaper);
	}
	return n;
}

/* Receives one batch into `bufs` (refilled from the pool as frames are
 * queued); returns the number of frames read, 0 when none, -errno on error. */
static int receive_batch(struct fwd *f, uint8_t **bufs)
{
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	uint64_t now, depart;
	int n;

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = f->q.buf_size };
		msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	n = recvmmsg(f->rx_fd, msg, BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
	now = mono_ns();
	add(&f->st.rx, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		uint32_t len = msg[i].msg_len;

		/* A frame larger than MTU means an offload (GSO/GRO) is still
		 * on: forwarding a 64 KiB "frame" would falsify the rate. */
		if ((msg[i].msg_hdr.msg_flags & MSG_TRUNC) || len > f->q.buf_size) {
			add(&f->st.oversize, 1);
			continue;
		}
		switch (wan_shaper_admit(&f->shaper, now, len, &depart)) {
		case WAN_PASS:
			pktq_push(&f->q, bufs[i], len, depart);
			/* Never NULL: the pool has limit + 2 batches. */
			bufs[i] = pktq_get_buf(&f->q);
			break;
		case WAN_DROP_LOSS:
			add(&f->st.lost, 1);
			break;
		case WAN_DROP_LIMIT:
			add(&f->st.limit_drops, 1);
			break;
		}
	}
	return n;
}

void *fwd_run(void *arg)
{
	struct fwd *f = arg;
	uint8_t *bufs[BATCH];
	struct pollfd pfd = { .fd = f->rx_fd, .events = POLLIN };
	uint64_t last_drop_check = 0;

	for (int i = 0; i < BATCH; i++)
		bufs[i] = pktq_get_buf(&f->q);

	while (!atomic_load_explicit(f->stop, memory_order_relaxed)) {
		uint64_t now = mono_ns(), wake;
		const struct pkt *head;
		struct timespec ts;
		int got;

		while (send_due(f, now) == BATCH)
			now = mono_ns();
		got = receive_batch(f, bufs);
		if (got == -ENETDOWN) {
			/* Reported once when the interface goes down: keep
			 * going, frames resume when it comes back up. */
			struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };

			nanosleep(&pause, NULL);
			continue;
		}
		if (got < 0) {
			fprintf(stderr, "lh-wanem: %s: recvmmsg: %s\n", f->name, strerror(-got));
			atomic_store(&f->state, FWD_FAILED);
			return NULL;
		}
		if (now - last_drop_check > 100000000ULL) {
			add(&f->st.socket_drops, port_rx_drops(f->rx_fd));
			last_drop_check = now;
		}
		if (got == BATCH)
			continue; /* more is waiting: skip the poll */

		now = mono_ns();
		head = pktq_peek(&f->q);
		if (!head) {
			/* Idle: the first frame must wake us at once. */
			struct timespec idle = { .tv_nsec = IDLE_NS };

			ppoll(&pfd, 1, &idle, NULL);
			continue;
		}
		if (head->depart_ns <= now)
			continue;
		/* Busy: sleep to the next departure or one quantum, whichever
		 * is first, and take what arrived meanwhile as one batch.
		 * Waking per frame (POLLIN) costs a cross-CPU wake-up each,
		 * which on these VMs is what limits the frame rate. Frames
		 * are stamped on wake-up: at most one quantum late. */
		wake = now + f->quantum_ns;
		if (head->depart_ns < wake)
			wake = head->depart_ns;
		/* ...but not for less than MIN_SLEEP_NS: at 1 Gbit/s frames
		 * are due every 12 us, and arming a timer per frame costs
		 * more (a VM exit) than sending a few frames together. */
		if (wake < now + MIN_SLEEP_NS)
			wake = now + MIN_SLEEP_NS;
		ts.tv_sec = (time_t)(wake / 1000000000ULL);
		ts.tv_nsec = (long)(wake % 1000000000ULL);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	atomic_store(&f->state, FWD_STOPPED);
	return NULL;
}

void fwd_teardown(struct fwd *f, const char *reason)
{
	if (reason)
		fprintf(stderr, "lh-wanem: %s: stopping: %s\n", f->name, reason);
	if (f->rx_fd >= 0)
		close(f->rx_fd);
	if (f->tx_fd >= 0)
		close(f->tx_fd);
	f->rx_fd = f->tx_fd = -1;
	pktq_destroy(&f->q);
}

const char *fwd_state_name(enum fwd_state s)
{
	switch (s) {
	case FWD_INIT: return "init";
	case FWD_RUNNING: return "running";
	case FWD_STOPPED: return "stopped";
	case FWD_FAILED: return "failed";
	}
	return "unknown";
}
