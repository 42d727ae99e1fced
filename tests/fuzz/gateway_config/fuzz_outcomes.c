/* SPDX-License-Identifier: MIT */
/* libFuzzer: the outcome store's file parser (gateway/mig/OUTCOMES.md) never crashes, and what it keeps
 * it keeps within bounds and can look up. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gateway/mig/outcome.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[300];
	struct outcome_store *s = outcome_new_memory();
	if (!s)
		return 0;
	err[0] = 0;
	int r = outcome_parse(s, (const char *)data, size, 100 * 86400, err, sizeof(err));
	if (r < 0 && !err[0])
		abort(); /* a refusal always says why */
	if (outcome_count(s) > OUTCOME_KEEP_MAX)
		abort();
	(void)outcome_lookup(s, 0x0123456789abcdefull);
	outcome_close(s, "fuzz");
	return 0;
}
