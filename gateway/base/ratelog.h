/* SPDX-License-Identifier: MIT */
/* Events (refused connections) logged at most once a second, with the count of those held back. */
#ifndef LH_GATEWAY_RATELOG_H
#define LH_GATEWAY_RATELOG_H

#include <stddef.h>

#define LH_RATELOG_REASONS 4 /* distinct reasons a summary names; more are only counted */

/*
 * Refusals logged at most once a second: the first of a second is logged with the count of those held back
 * since the last line, the latest of them and the latest of each other distinct reason (so a rare reason is
 * not hidden by a frequent one). The caller calls lh_ratelog_note for each; a timer calls lh_ratelog_flush,
 * so held-back ones are counted even when they stop coming.
 */
struct lh_ratelog {
	double logged;          /* when the last line was written; 0 = never */
	unsigned held;          /* refusals since that line, not logged */
	unsigned nr, latest;    /* distinct reasons held back, the index of the latest refusal's */
	struct {
		char why[160], peer[64];
		unsigned n;
	} r[LH_RATELOG_REASONS];
};
/*
 * Writes the line into buf (and returns 1) when one is due now ("from PEER refused: WHY", and what was held back),
 * else holds the refusal back (0).
 */
int lh_ratelog_note(struct lh_ratelog *lg, double now, const char *peer, const char *why, char *buf, size_t len);
/* A line summing up held-back refusals when a second passed since the last line (1), else 0. */
int lh_ratelog_flush(struct lh_ratelog *lg, double now, char *buf, size_t len);

#endif
