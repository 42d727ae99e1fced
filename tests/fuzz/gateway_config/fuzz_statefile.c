/* SPDX-License-Identifier: MIT */
/* libFuzzer: the state file's parser (gateway/mig/STATEFILE.md) never crashes; every refusal says why; what it
 * keeps is within bounds, and each postcopy record it keeps reads back and writes out to the same record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/mig/keep.h"

static void roundtrip(void *ctx, const struct lh_json_req *req)
{
	struct keep_postcopy p, q;
	struct lh_json_req again;
	struct lh_jbuf b;
	char err[300], key[17];
	(void)ctx;
	if (keep_postcopy_parse(req, &p, err, sizeof(err)) < 0)
		abort(); /* the parser accepted it when the file was read */
	lh_jbuf_init(&b);
	keep_postcopy_line(&p, &b, key);
	if (b.oom || lh_json_req_parse(&again, b.buf, b.len, err, sizeof(err)) < 0)
		abort();
	if (keep_postcopy_parse(&again, &q, err, sizeof(err)) < 0 || memcmp(&p, &q, sizeof(p)) != 0)
		abort();
	lh_json_req_free(&again);
	lh_jbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[300];
	struct keep *k = keep_new_memory();
	if (!k)
		return 0;
	err[0] = 0;
	int r = keep_parse(k, (const char *)data, size, err, sizeof(err));
	if (r < 0 && !err[0])
		abort();
	if (keep_count(k, KEEP_ROUTE) + keep_count(k, KEEP_POSTCOPY) > KEEP_MAX)
		abort();
	keep_each(k, KEEP_POSTCOPY, roundtrip, NULL);
	keep_close(k, "fuzz");
	return 0;
}
