/* SPDX-License-Identifier: MIT */
/* Postcopy migrations in the state file (STATEFILE.md): written as they change, read back after a restart. */
#ifndef LH_GATEWAY_KEPT_H
#define LH_GATEWAY_KEPT_H

#include "gateway/gw.h"

struct mig;

/*
 * After each transition (mig_transitioned): a migration past POSTCOPY_RUN has its record written (or its phase
 * updated); one that ended done or failed has it removed. The first record of a postcopy migration supersedes
 * the paused ones of the same route and direction (a recovery, or a new migration of that guest): their
 * records go, and they leave the list like any finished migration.
 */
void kept_note(struct mig *m);
/* At start: each recorded postcopy migration comes back as postcopy-paused (the restart closed its connections). */
void kept_restore(struct gw *gw);

#endif
