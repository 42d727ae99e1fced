/* SPDX-License-Identifier: MIT */
/* The migration roles' transition tables: legal rows accepted, others rejected, and STATES.md says the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/mig/states.h"
#include "../gateway_control/check.h"

static int index_of(const char *const *names, unsigned n, const char *s)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return (int)i;
	return -1;
}

/* Every row the table has is accepted, everything else rejected; terminal states have no way out. */
static void check_table(const struct mig_machine *mm)
{
	for (unsigned i = 0; i < mm->nrows; i++) {
		const struct mig_transition *t = &mm->rows[i];
		CHECK(t->from < mm->nstates && t->to < mm->nstates && t->event < mm->nevents);
		CHECK(mig_machine_next(mm, t->from, t->event) == t->to);
		CHECK(mm->ends[t->from] == MIG_LIVE || mm->ends[t->from] == MIG_INDOUBT);
		for (unsigned j = 0; j < i; j++) /* one next state per (state, event) */
			CHECK(mm->rows[j].from != t->from || mm->rows[j].event != t->event);
	}
	unsigned legal = 0;
	for (unsigned s = 0; s < mm->nstates; s++)
		for (unsigned e = 0; e < mm->nevents; e++)
			legal += mig_machine_next(mm, s, e) >= 0;
	CHECK(legal == mm->nrows);
	for (unsigned s = 0; s < mm->nstates; s++) {
		CHECK(mm->states[s] && mm->states[s][0]);
		/* every state but the first is entered by some row, every running state can end */
		int entered = s == 0, fails = mm->ends[s] != MIG_LIVE && mm->ends[s] != MIG_INDOUBT;
		for (unsigned i = 0; i < mm->nrows; i++) {
			entered |= mm->rows[i].to == s;
			fails |= mm->rows[i].from == s &&
				 (mm->ends[mm->rows[i].to] == MIG_FAILED || mm->ends[mm->rows[i].to] == MIG_PAUSED);
		}
		if (!entered || !fails)
			fprintf(stderr, "%s: state %s: entered %d, can fail %d\n", mm->role, mm->states[s], entered, fails);
		CHECK(entered && fails);
	}
}

static void check_illegal(void)
{
	/* a sample of what must never happen */
	CHECK(mig_machine_next(&src_machine, SRC_FAILED, SRC_EV_DONE) < 0);
	CHECK(mig_machine_next(&src_machine, SRC_DONE, SRC_EV_FAIL) < 0);
	CHECK(mig_machine_next(&src_machine, SRC_STREAMING, SRC_EV_SESSION_LOST) < 0); /* the EOF never left */
	CHECK(mig_machine_next(&src_machine, SRC_STREAMING, SRC_EV_PAUSE) < 0);        /* no postcopy yet */
	CHECK(mig_machine_next(&src_machine, SRC_POSTCOPY, SRC_EV_FAIL) < 0);          /* postcopy pauses */
	CHECK(mig_machine_next(&src_machine, SRC_VERIFYING, SRC_EV_POSTCOPY_RUN) < 0);
	CHECK(mig_machine_next(&src_machine, SRC_INDOUBT, SRC_EV_EOF_CUT) < 0);
	CHECK(mig_machine_next(&src_machine, SRC_PAUSED, SRC_EV_DONE) < 0);
	CHECK(mig_machine_next(&dst_machine, DST_FAILED, DST_EV_GATE_OPEN) < 0);     /* never a release after a reset */
	CHECK(mig_machine_next(&dst_machine, DST_RELEASED, DST_EV_GATE_OPEN) < 0);
	CHECK(mig_machine_next(&dst_machine, DST_STREAMING, DST_EV_SESSION_LOST) < 0);
	CHECK(mig_machine_next(&dst_machine, DST_RELEASED, DST_EV_DONE) < 0);        /* done only once accepted */
	CHECK(mig_machine_next(&dst_machine, DST_POSTCOPY, DST_EV_FAIL) < 0);
	CHECK(mig_machine_next(&dst_machine, DST_DONE, DST_EV_ACCEPTED) < 0);
	CHECK(mig_machine_next(&dst_machine, DST_ACCEPTED, DST_EV_GATE_OPEN) < 0);
	CHECK(mig_machine_next(&dst_machine, 99, DST_EV_FAIL) < 0);
}

static char *trim(char *s)
{
	while (*s == ' ')
		s++;
	size_t n = strlen(s);
	while (n && s[n - 1] == ' ')
		s[--n] = 0;
	return s;
}

/*
 * The rows of the table under heading in STATES.md (state | event | next state | ...) against the code's:
 * the same set, in names.
 */
static void check_doc(const char *md, const char *heading, const struct mig_machine *mm)
{
	const char *p = strstr(md, heading);
	unsigned rows = 0, seen[64] = { 0 };

	CHECK(p != NULL);
	if (!p)
		return;
	p = strchr(p + 1, '\n'); /* the end of the heading line */
	while (p && *++p && strncmp(p, "## ", 3)) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char line[1024], *cell[4];
		int n = 0;

		if (len >= sizeof(line) || p[0] != '|' || !strncmp(p, "|---", 4) || !strncmp(p, "| state |", 9)) {
			p = end;
			continue;
		}
		memcpy(line, p, len);
		line[len] = 0;
		for (char *c = line + 1, *bar; n < 4 && (bar = strchr(c, '|')); c = bar + 1) {
			*bar = 0;
			cell[n++] = trim(c);
		}
		CHECK(n >= 3);
		if (n >= 3) {
			int from = index_of(mm->states, mm->nstates, cell[0]);
			int ev = index_of(mm->events, mm->nevents, cell[1]);
			int to = index_of(mm->states, mm->nstates, cell[2]);
			int next = from >= 0 && ev >= 0 ? mig_machine_next(mm, (unsigned)from, (unsigned)ev) : -1;
			if (from < 0 || ev < 0 || to < 0 || next != to)
				fprintf(stderr, "%s: STATES.md row `%s | %s | %s' is not in states.c\n", mm->role, cell[0],
					cell[1], cell[2]);
			CHECK(from >= 0 && ev >= 0 && to >= 0 && next == to);
			for (unsigned i = 0; i < mm->nrows && i < 64; i++)
				if (next == to && mm->rows[i].from == from && mm->rows[i].event == ev) {
					CHECK(!seen[i]); /* each row once */
					seen[i] = 1;
				}
			rows++;
		}
		p = end;
	}
	for (unsigned i = 0; i < mm->nrows; i++)
		if (!seen[i])
			fprintf(stderr, "%s: states.c row `%s | %s | %s' is not in STATES.md\n", mm->role,
				mm->states[mm->rows[i].from], mm->events[mm->rows[i].event], mm->states[mm->rows[i].to]);
	CHECK(rows == mm->nrows);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s STATES.md\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	static char md[1 << 16];
	size_t n = f ? fread(md, 1, sizeof(md) - 1, f) : 0;
	CHECK(f && n > 0 && n < sizeof(md) - 1);
	if (f)
		fclose(f);
	md[n] = 0;

	check_table(&src_machine);
	check_table(&dst_machine);
	check_illegal();
	check_doc(md, "\n## Source role\n", &src_machine);
	check_doc(md, "\n## Destination role\n", &dst_machine);
	return check_report("test_states");
}
