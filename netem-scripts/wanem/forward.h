/* SPDX-License-Identifier: MIT */
/* forward.h: one direction of the emulator: read frames from one interface, shape them, write them to the other. */
#ifndef LH_WANEM_FORWARD_H
#define LH_WANEM_FORWARD_H

#include <stdatomic.h>
#include <stdint.h>

#include "pktq.h"
#include "shaper.h"

enum fwd_state { FWD_INIT = 0, FWD_RUNNING, FWD_STOPPED, FWD_FAILED };

/* Counters, written by the direction's thread, read by the stats writer. */
struct fwd_stats {
	_Atomic uint64_t rx, tx, lost, limit_drops, socket_drops, oversize, tx_errors;
	/* Frames sent more than LATE_NS after their departure time: the
	 * emulator (or its CPU) fell behind, so measured delays are inflated. */
	_Atomic uint64_t late, max_late_ns;
};

#define LATE_NS (1000 * 1000ULL)

struct fwd {
	char name[40]; /* "in>out" */
	int rx_fd, tx_fd;
	struct wan_shaper shaper;
	struct pktq q;
	struct fwd_stats st;
	_Atomic int state;
	uint64_t quantum_ns; /* longest sleep while frames are queued */
	const atomic_bool *stop;
};

/* Opens both sockets and sizes the buffer pool for frames up to `frame_max`
 * bytes. While frames are queued the loop wakes at least every `quantum_ns`
 * (batching), otherwise on the first arriving frame. Returns 0 or -errno
 * (printed). */
int fwd_init(struct fwd *f, const char *in, const char *out, const struct wan_params *p,
	     uint32_t frame_max, uint64_t quantum_ns, const atomic_bool *stop);

/* Thread body: forwards until *stop becomes true. */
void *fwd_run(void *arg);

/* Releases sockets and buffers; `reason` is printed when not NULL. */
void fwd_teardown(struct fwd *f, const char *reason);

const char *fwd_state_name(enum fwd_state s);

#endif
