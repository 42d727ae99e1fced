/* SPDX-License-Identifier: MIT */
/* The migration roles' state machines as tables: states, events, legal transitions (STATES.md). Pure data. */
#ifndef LH_GATEWAY_MIG_STATES_H
#define LH_GATEWAY_MIG_STATES_H

/* What a state says of where the guest runs; the generic views (status, counts) need no role's enum. */
enum mig_end {
	MIG_LIVE = 0,  /* running: streaming, verifying, released, ... */
	MIG_INDOUBT,   /* source: the session was lost after main's EOF left; QEMU held paused */
	MIG_DONE,      /* the destination QEMU accepted the stream: the guest runs there */
	MIG_FAILED,    /* the guest stays (or runs again) at the source */
	MIG_PAUSED,    /* postcopy: the guest already runs at the destination, its migration is paused */
};

/* The source role (outgoing migrations). Names: STATES.md. */
enum src_state {
	SRC_STREAMING,   /* channels streaming, precopy */
	SRC_POSTCOPY,    /* main carried POSTCOPY_RUN: the guest runs at the destination, pages still flow */
	SRC_VERIFYING,   /* main's EOF cut: the segments went for verification, the verdict is awaited */
	SRC_INDOUBT,     /* the session was lost after the EOF left; QEMU held paused until decided */
	SRC_DONE,
	SRC_FAILED,
	SRC_PAUSED,      /* a failure after POSTCOPY_RUN */
	SRC__COUNT
};
enum src_event {
	SRC_EV_POSTCOPY_RUN,  /* main carried QEMU's MIG_CMD_POSTCOPY_RUN (the pipe's parser) */
	SRC_EV_EOF_CUT,       /* main reached QEMU_VM_EOF: every channel's segment 0 ended */
	SRC_EV_SESSION_LOST,  /* the WAN session ended after the EOF left, and QEMU's SHUT 0 was not relayed */
	SRC_EV_DONE,          /* the destination's verdict ok (or the in-doubt answer accepted), every channel closed */
	SRC_EV_FAIL,          /* mig_fail before any POSTCOPY_RUN */
	SRC_EV_PAUSE,         /* mig_fail after POSTCOPY_RUN */
	SRC_EV_RESTORED,      /* a postcopy migration read back from the state file after a restart (kept.c) */
	SRC_EV__COUNT
};

/* The destination role (incoming migrations). */
enum dst_state {
	DST_STREAMING,   /* segment 0 to the destination QEMU, the end of stream withheld */
	DST_POSTCOPY,    /* main carried POSTCOPY_RUN: the guest runs here; the gate is evidence only */
	DST_RELEASED,    /* every channel verified: the EOF went to QEMU, its answer is awaited */
	DST_AWAITING,    /* released, then the session was lost: QEMU's answer is awaited to record it */
	DST_ACCEPTED,    /* QEMU accepted (SHUT 0, or the weaker clean close): the guest runs here */
	DST_DONE,
	DST_FAILED,
	DST_PAUSED,      /* a failure after POSTCOPY_RUN */
	DST__COUNT
};
enum dst_event {
	DST_EV_POSTCOPY_RUN,  /* the receiver's parser saw MIG_CMD_POSTCOPY_RUN in main's segment 0 */
	DST_EV_GATE_OPEN,     /* every channel's segment 0 verified and main's segment 1 began with QEMU_VM_EOF */
	DST_EV_ACCEPTED,      /* QEMU's SHUT 0 after the release (or a clean close of main, unconfirmed) */
	DST_EV_SESSION_LOST,  /* the WAN session ended after the release, before QEMU answered */
	DST_EV_DONE,          /* every channel closed after QEMU accepted (or: no QEMU main channel at all) */
	DST_EV_FAIL,          /* mig_fail before any POSTCOPY_RUN */
	DST_EV_PAUSE,         /* mig_fail after POSTCOPY_RUN */
	DST_EV_RESTORED,      /* a postcopy migration read back from the state file after a restart (kept.c) */
	DST_EV__COUNT
};

struct mig_transition {
	unsigned char from, event, to;
};

/* One role's machine: its state and event names, what each state says of the guest, its legal transitions. */
struct mig_machine {
	const char *role;                   /* "source" / "destination" */
	const char *const *states;          /* nstates names, as status JSON's "phase" shows them */
	unsigned nstates;
	const char *const *events;
	unsigned nevents;
	const enum mig_end *ends;           /* per state */
	const struct mig_transition *rows;
	unsigned nrows;
};

extern const struct mig_machine src_machine, dst_machine;

/* The state event ev leads to from state from; -1 when the table has no such row (an illegal transition). */
int mig_machine_next(const struct mig_machine *mm, unsigned from, unsigned ev);

#endif
