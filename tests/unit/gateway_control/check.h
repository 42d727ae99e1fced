/* SPDX-License-Identifier: MIT */
/* Minimal assertion helpers for the gateway control-plane unit tests. */
#ifndef LH_TEST_CHECK_H
#define LH_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
				#cond);                                              \
			check_failures++;                                            \
		}                                                                    \
	} while (0)

#define CHECK_STR(a, b)                                                              \
	do {                                                                         \
		const char *a_ = (a), *b_ = (b);                                     \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                             \
			fprintf(stderr, "%s:%d: CHECK_STR failed: `%s' != `%s'\n",   \
				__FILE__, __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
			check_failures++;                                            \
		}                                                                    \
	} while (0)

/* haystack contains needle */
#define CHECK_HAS(h, n)                                                              \
	do {                                                                         \
		const char *h_ = (h), *n_ = (n);                                     \
		if (!h_ || !strstr(h_, n_)) {                                        \
			fprintf(stderr, "%s:%d: CHECK_HAS failed: `%s' not in `%s'\n", \
				__FILE__, __LINE__, n_, h_ ? h_ : "(null)");         \
			check_failures++;                                            \
		}                                                                    \
	} while (0)

static inline int check_report(const char *name)
{
	if (check_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
		return 1;
	}
	printf("%s: all checks passed\n", name);
	return 0;
}

#endif
