/* SPDX-License-Identifier: MIT */
/* Minimal assertions for the netstate unit tests: count failures, print where, exit non-zero. */
#ifndef NETSTATE_TEST_CHECK_H
#define NETSTATE_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			check_failures++;                                              \
		}                                                                      \
	} while (0)

/* Compares bytes and prints both sides in hex from the first difference. */
static inline int check_bytes(const char *file, int line, const char *what, const void *got,
			      size_t got_len, const void *want, size_t want_len)
{
	const unsigned char *g = got, *w = want;
	size_t i = 0;

	while (i < got_len && i < want_len && g[i] == w[i])
		i++;
	if (i == got_len && i == want_len)
		return 0;
	fprintf(stderr, "%s:%d: %s: differs at byte %zu (got %zu bytes, want %zu)\n  got: ",
		file, line, what, i, got_len, want_len);
	for (size_t k = i; k < got_len && k < i + 16; k++)
		fprintf(stderr, "%02x ", g[k]);
	fprintf(stderr, "\n want: ");
	for (size_t k = i; k < want_len && k < i + 16; k++)
		fprintf(stderr, "%02x ", w[k]);
	fprintf(stderr, "\n");
	check_failures++;
	return 1;
}

#define CHECK_BYTES(what, got, got_len, want) \
	check_bytes(__FILE__, __LINE__, what, got, got_len, want, sizeof(want))

#define CHECK_DONE()                                                        \
	do {                                                                \
		if (check_failures)                                         \
			fprintf(stderr, "%d check(s) failed\n", check_failures); \
		return check_failures ? 1 : 0;                              \
	} while (0)

#endif
