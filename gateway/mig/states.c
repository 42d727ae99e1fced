/* SPDX-License-Identifier: MIT */
/* The transition tables of both migration roles. STATES.md documents the same rows (the unit test compares). */
#include "gateway/mig/states.h"

static const char *const src_states[SRC__COUNT] = {
	[SRC_STREAMING] = "streaming", [SRC_POSTCOPY] = "postcopy-active", [SRC_VERIFYING] = "verifying",
	[SRC_INDOUBT] = "in-doubt", [SRC_DONE] = "done", [SRC_FAILED] = "failed", [SRC_PAUSED] = "postcopy-paused",
};
static const char *const src_events[SRC_EV__COUNT] = {
	[SRC_EV_POSTCOPY_RUN] = "postcopy-run", [SRC_EV_EOF_CUT] = "eof-cut", [SRC_EV_SESSION_LOST] = "session-lost",
	[SRC_EV_DONE] = "done", [SRC_EV_FAIL] = "fail", [SRC_EV_PAUSE] = "pause",
	[SRC_EV_RESTORED] = "restored",
};
static const enum mig_end src_ends[SRC__COUNT] = {
	[SRC_INDOUBT] = MIG_INDOUBT, [SRC_DONE] = MIG_DONE, [SRC_FAILED] = MIG_FAILED, [SRC_PAUSED] = MIG_PAUSED,
};
static const struct mig_transition src_rows[] = {
	{ SRC_STREAMING, SRC_EV_POSTCOPY_RUN, SRC_POSTCOPY },
	{ SRC_STREAMING, SRC_EV_EOF_CUT, SRC_VERIFYING },
	{ SRC_STREAMING, SRC_EV_DONE, SRC_DONE },       /* no gate: no main channel, or main not parsable */
	{ SRC_STREAMING, SRC_EV_FAIL, SRC_FAILED },
	{ SRC_STREAMING, SRC_EV_RESTORED, SRC_PAUSED }, /* no channels: a record of what the restart cut off */
	{ SRC_POSTCOPY, SRC_EV_EOF_CUT, SRC_VERIFYING },
	{ SRC_POSTCOPY, SRC_EV_DONE, SRC_DONE },
	{ SRC_POSTCOPY, SRC_EV_PAUSE, SRC_PAUSED },
	{ SRC_VERIFYING, SRC_EV_SESSION_LOST, SRC_INDOUBT },
	{ SRC_VERIFYING, SRC_EV_DONE, SRC_DONE },
	{ SRC_VERIFYING, SRC_EV_FAIL, SRC_FAILED },
	{ SRC_VERIFYING, SRC_EV_PAUSE, SRC_PAUSED },
	{ SRC_INDOUBT, SRC_EV_DONE, SRC_DONE },
	{ SRC_INDOUBT, SRC_EV_FAIL, SRC_FAILED },
	{ SRC_INDOUBT, SRC_EV_PAUSE, SRC_PAUSED },
};

static const char *const dst_states[DST__COUNT] = {
	[DST_STREAMING] = "streaming", [DST_POSTCOPY] = "postcopy-active", [DST_RELEASED] = "released",
	[DST_AWAITING] = "awaiting-answer", [DST_ACCEPTED] = "accepted", [DST_DONE] = "done", [DST_FAILED] = "failed",
	[DST_PAUSED] = "postcopy-paused",
};
static const char *const dst_events[DST_EV__COUNT] = {
	[DST_EV_POSTCOPY_RUN] = "postcopy-run", [DST_EV_GATE_OPEN] = "gate-open", [DST_EV_ACCEPTED] = "accepted",
	[DST_EV_SESSION_LOST] = "session-lost", [DST_EV_DONE] = "done", [DST_EV_FAIL] = "fail",
	[DST_EV_PAUSE] = "pause", [DST_EV_RESTORED] = "restored",
};
static const enum mig_end dst_ends[DST__COUNT] = {
	[DST_DONE] = MIG_DONE, [DST_FAILED] = MIG_FAILED, [DST_PAUSED] = MIG_PAUSED,
};
static const struct mig_transition dst_rows[] = {
	{ DST_STREAMING, DST_EV_POSTCOPY_RUN, DST_POSTCOPY },
	{ DST_STREAMING, DST_EV_GATE_OPEN, DST_RELEASED },
	{ DST_STREAMING, DST_EV_ACCEPTED, DST_ACCEPTED },  /* ungated: main came as plain bytes */
	{ DST_STREAMING, DST_EV_DONE, DST_DONE },          /* no QEMU main channel at all */
	{ DST_STREAMING, DST_EV_FAIL, DST_FAILED },
	{ DST_STREAMING, DST_EV_RESTORED, DST_PAUSED },
	{ DST_POSTCOPY, DST_EV_GATE_OPEN, DST_RELEASED },
	{ DST_POSTCOPY, DST_EV_ACCEPTED, DST_ACCEPTED },
	{ DST_POSTCOPY, DST_EV_PAUSE, DST_PAUSED },
	{ DST_POSTCOPY, DST_EV_DONE, DST_DONE },           /* a postcopy recovery: its main came as plain bytes */
	{ DST_RELEASED, DST_EV_ACCEPTED, DST_ACCEPTED },
	{ DST_RELEASED, DST_EV_SESSION_LOST, DST_AWAITING },
	{ DST_RELEASED, DST_EV_FAIL, DST_FAILED },
	{ DST_RELEASED, DST_EV_PAUSE, DST_PAUSED },
	{ DST_AWAITING, DST_EV_ACCEPTED, DST_ACCEPTED },
	{ DST_AWAITING, DST_EV_FAIL, DST_FAILED },
	{ DST_AWAITING, DST_EV_PAUSE, DST_PAUSED },
	{ DST_ACCEPTED, DST_EV_DONE, DST_DONE },
	{ DST_ACCEPTED, DST_EV_FAIL, DST_FAILED },
	{ DST_ACCEPTED, DST_EV_PAUSE, DST_PAUSED },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct mig_machine src_machine = {
	.role = "source", .states = src_states, .nstates = SRC__COUNT, .events = src_events, .nevents = SRC_EV__COUNT,
	.ends = src_ends, .rows = src_rows, .nrows = N(src_rows),
};
const struct mig_machine dst_machine = {
	.role = "destination", .states = dst_states, .nstates = DST__COUNT, .events = dst_events,
	.nevents = DST_EV__COUNT, .ends = dst_ends, .rows = dst_rows, .nrows = N(dst_rows),
};

int mig_machine_next(const struct mig_machine *mm, unsigned from, unsigned ev)
{
	for (unsigned i = 0; i < mm->nrows; i++)
		if (mm->rows[i].from == from && mm->rows[i].event == ev)
			return mm->rows[i].to;
	return -1;
}
