/* SPDX-License-Identifier: MIT */
/* The source QEMU's sockets outside longhauld's life, once the end of stream has left (base/FDHOLD.md). */
#ifndef LH_GATEWAY_SRC_HOLD_H
#define LH_GATEWAY_SRC_HOLD_H

#include "gateway/mig/mig_internal.h"

/* Main's EOF has left: the holder keeps dups of every channel's socket (no-op without a holder). */
void shold_keep(struct mig *m);
/* Return-path bytes were relayed on main: the holder's note of where the return path stands is renewed. */
void shold_note_rp(struct mig *m);
/* The verdict is in (done or failed): the holder lets go, so the sockets close when we close them. */
void shold_drop(struct mig *m);
/* At start: what the holder kept through a crash or restart comes back as in-doubt migrations. */
void shold_adopt(struct gw *gw);

#endif
