/* SPDX-License-Identifier: MIT */
/* At most one log line a second for a kind of event, with a count of the rest. */
#include "gateway/base/ratelog.h"

#include <stdio.h>
#include <string.h>

static void ratelog_hold(struct lh_ratelog *lg, const char *peer, const char *why)
{
	unsigned i;

	lg->held++;
	for (i = 0; i < lg->nr && strcmp(lg->r[i].why, why); i++)
		;
	if (i == lg->nr) {
		if (lg->nr == LH_RATELOG_REASONS)
			i = lg->latest; /* too many kinds: the latest slot takes it (its count stays in held) */
		else
			lg->r[lg->nr++].n = 0;
		snprintf(lg->r[i].why, sizeof(lg->r[i].why), "%s", why);
	}
	snprintf(lg->r[i].peer, sizeof(lg->r[i].peer), "%s", peer);
	lg->r[i].n++;
	lg->latest = i;
}

/* "N more refused in the last S s, last: from X: why[; N x from Y refused: why2 ...]"; then nothing is held. */
static void ratelog_summary(struct lh_ratelog *lg, double now, char *buf, size_t len)
{
	size_t off;
	int n = snprintf(buf, len, "%u more refused in the last %.0f s, last: from %s: %s", lg->held, now - lg->logged,
			 lg->r[lg->latest].peer, lg->r[lg->latest].why);

	off = n < 0 ? 0 : (size_t)n;
	for (unsigned i = 0; i < lg->nr && off < len; i++) {
		if (i == lg->latest)
			continue;
		n = snprintf(buf + off, len - off, "; %u x from %s refused: %s", lg->r[i].n, lg->r[i].peer, lg->r[i].why);
		off += n < 0 ? 0 : (size_t)n;
	}
	lg->held = lg->nr = lg->latest = 0;
}

int lh_ratelog_note(struct lh_ratelog *lg, double now, const char *peer, const char *why, char *buf, size_t len)
{
	char held[900];
	int n;

	if (lg->logged && now - lg->logged < 1.0) {
		ratelog_hold(lg, peer, why);
		return 0;
	}
	n = snprintf(buf, len, "from %s refused: %s", peer, why);
	if (lg->held && n >= 0 && (size_t)n < len) {
		ratelog_summary(lg, now, held, sizeof(held));
		snprintf(buf + n, len - (size_t)n, " (%s)", held);
	}
	lg->logged = now;
	return 1;
}

int lh_ratelog_flush(struct lh_ratelog *lg, double now, char *buf, size_t len)
{
	if (!lg->held || now - lg->logged < 1.0)
		return 0;
	ratelog_summary(lg, now, buf, len);
	lg->logged = now;
	return 1;
}
