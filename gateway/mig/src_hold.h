/* SPDX-License-Identifier: MIT */
/* Source role: the source QEMU's sockets outside longhauld's life, once the end of stream left (FDHOLD.md). */
#ifndef LH_GATEWAY_SRC_HOLD_H
#define LH_GATEWAY_SRC_HOLD_H

#include "gateway/base/fdhold.h"
#include "gateway/mig/src.h"

/* Main's EOF has left: the holder keeps dups of every channel's socket (no-op without a holder). */
void shold_keep(struct src_mig *sm);
/* Return-path bytes were relayed on main: the holder's note of where the return path stands is renewed. */
void shold_note_rp(struct src_mig *sm);
/* The verdict is in (done, failed, paused): the holder lets go, so the sockets close when we close them. */
void shold_drop(struct src_mig *sm);

/* What a kept entry's note says (base/FDHOLD.md, "The blob"). */
struct shold_note {
	unsigned nch;
	lh_channel_kind kind[MIG_MAX_CHAN];
	int held[MIG_MAX_CHAN];       /* its socket is among the entry's fds, in order */
	int rp_state;                 /* SHOLD_RP_* */
	uint32_t shut_status, rp_messages;
};
enum { SHOLD_RP_BOUNDARY = 0, SHOLD_RP_MID = 1, SHOLD_RP_LOST = 2, SHOLD_RP_SHUT = 3 };
/* 0, or -1 when the note is not one this release writes. */
int shold_parse_note(const uint8_t *b, size_t len, struct shold_note *n);

#endif
