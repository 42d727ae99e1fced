/* SPDX-License-Identifier: MIT */
/* The outcome store: records survive a reopen, refusals name the line, limits hold, unknown stays unknown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "gateway/mig/outcome.h"

static void test_roundtrip(void)
{
	char dir[] = "/tmp/lh-outcome-XXXXXX", err[300], path[300];
	CHECK(mkdtemp(dir) != NULL);
	struct outcome_store *s = outcome_open(dir, err, sizeof(err));
	CHECK(s != NULL);
	CHECK(outcome_count(s) == 0);
	CHECK(outcome_record(s, 0x5c1f0e4b9a7d2c31ull, OUTCOME_ACCEPTED, "vm1", "SHUT 0", 1000, err, sizeof(err)) == 0);
	CHECK(outcome_record(s, 0x1ull, OUTCOME_REFUSED, "vm\"2", "SHUT 1\n", 1001, err, sizeof(err)) == 0);
	/* a second record for a uid replaces the first */
	CHECK(outcome_record(s, 0x1ull, OUTCOME_ACCEPTED, "vm2", "SHUT 0", 1002, err, sizeof(err)) == 0);
	CHECK(outcome_count(s) == 2);
	CHECK(outcome_lookup(s, 0x1ull) == OUTCOME_ACCEPTED);
	outcome_close(s, "test");
	/* what a restarted daemon sees (records are recent enough: now is close to t) */
	s = outcome_open(dir, err, sizeof(err));
	CHECK(s != NULL);
	/* t=1000 (1970) is older than 30 days when a daemon loads it: such records are not kept */
	CHECK(outcome_count(s) == 0);
	CHECK(outcome_lookup(s, 0x5c1f0e4b9a7d2c31ull) == OUTCOME_UNKNOWN);
	outcome_close(s, "test");
	snprintf(path, sizeof(path), "%s/outcomes.json", dir);
	unlink(path);
	rmdir(dir);
}

static void test_durable_now(void)
{
	char dir[] = "/tmp/lh-outcome-XXXXXX", err[300], path[300];
	time_t now = time(NULL);
	CHECK(mkdtemp(dir) != NULL);
	struct outcome_store *s = outcome_open(dir, err, sizeof(err));
	CHECK(outcome_record(s, 0xabcull, OUTCOME_ACCEPTED, "vm1", "SHUT 0", now, err, sizeof(err)) == 0);
	CHECK(outcome_record(s, 0xdefull, OUTCOME_REFUSED, "vm2", "SHUT 1", now, err, sizeof(err)) == 0);
	outcome_close(s, "test");
	s = outcome_open(dir, err, sizeof(err));
	CHECK(s != NULL);
	CHECK(outcome_lookup(s, 0xabcull) == OUTCOME_ACCEPTED);
	CHECK(outcome_lookup(s, 0xdefull) == OUTCOME_REFUSED);
	CHECK(outcome_lookup(s, 0x123ull) == OUTCOME_UNKNOWN);
	outcome_close(s, "test");
	/* no temporary file is left behind */
	snprintf(path, sizeof(path), "%s/.outcomes.json.new", dir);
	CHECK(access(path, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/outcomes.json", dir);
	unlink(path);
	rmdir(dir);
}

static void test_refusals(void)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "{\"uid\":\"0000000000000000\",\"outcome\":\"accepted\",\"t\":1}\n", "line 1: \"uid\"" },
		{ "\n{\"uid\":\"ABCDEF0123456789\",\"outcome\":\"accepted\",\"t\":1}\n", "line 2: \"uid\"" },
		{ "{\"uid\":\"0123456789abcdef\",\"outcome\":\"maybe\",\"t\":1}", "line 1: \"outcome\"" },
		{ "{\"uid\":\"0123456789abcdef\",\"outcome\":\"refused\",\"t\":-1}", "line 1: \"t\"" },
		{ "{\"uid\":\"0123456789abcdef\",\"outcome\":\"refused\",\"t\":1.5}", "line 1: \"t\"" },
		{ "{\"uid\":\"0123456789abcdef\",\"outcome\":\"refused\",\"t\":1,\"route\":7}", "line 1: \"route\"" },
		{ "[1,2]", "line 1: not an object" },
		{ "{\"uid\":", "line 1: not JSON" },
	};
	char err[300];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct outcome_store *s = outcome_new_memory();
		err[0] = 0;
		CHECK(outcome_parse(s, bad[i].text, strlen(bad[i].text), 100, err, sizeof(err)) < 0);
		CHECK(strncmp(err, bad[i].want, strlen(bad[i].want)) == 0);
		outcome_close(s, "test");
	}
	/* unknown keys are ignored (a later release may add some) */
	struct outcome_store *s = outcome_new_memory();
	const char *ok = "{\"uid\":\"0123456789abcdef\",\"outcome\":\"refused\",\"t\":50,\"x\":[1]}\n";
	CHECK(outcome_parse(s, ok, strlen(ok), 100, err, sizeof(err)) == 0);
	CHECK(outcome_lookup(s, 0x0123456789abcdefull) == OUTCOME_REFUSED);
	outcome_close(s, "test");
}

static void test_limits(void)
{
	char err[300];
	struct outcome_store *s = outcome_new_memory();
	time_t now = 40 * 86400;
	/* older than 30 days goes */
	CHECK(outcome_record(s, 7, OUTCOME_ACCEPTED, "old", "", now - 31 * 86400, err, sizeof(err)) == 0);
	CHECK(outcome_record(s, 8, OUTCOME_ACCEPTED, "new", "", now, err, sizeof(err)) == 0);
	CHECK(outcome_lookup(s, 7) == OUTCOME_UNKNOWN);
	CHECK(outcome_lookup(s, 8) == OUTCOME_ACCEPTED);
	/* at most OUTCOME_KEEP_MAX, the oldest first */
	for (uint64_t u = 100; u < 100 + OUTCOME_KEEP_MAX + 10; u++)
		CHECK(outcome_record(s, u, OUTCOME_REFUSED, "r", "", now, err, sizeof(err)) == 0);
	CHECK(outcome_count(s) == OUTCOME_KEEP_MAX);
	CHECK(outcome_lookup(s, 8) == OUTCOME_UNKNOWN);
	CHECK(outcome_lookup(s, 100 + OUTCOME_KEEP_MAX + 9) == OUTCOME_REFUSED);
	outcome_close(s, "test");
}

int main(void)
{
	test_roundtrip();
	test_durable_now();
	test_refusals();
	test_limits();
	return check_report("outcome");
}
