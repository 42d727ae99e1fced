/* SPDX-License-Identifier: MIT */
/* libFuzzer: `key = value` lines of a [segment NAME] section, then the completeness check. */
#include "netstate/segment.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ns_segment_cfg c;
	struct ns_err e;
	char *text = malloc(size + 1), *line, *save = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	ns_segment_cfg_init(&c, "fuzz");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq)
			continue;
		*eq = 0;
		ns_segment_cfg_set(&c, line, eq + 1, &e);
		if (c.n_remotes > NS_SEGMENT_MAX_REMOTES)
			abort();
	}
	if (ns_segment_cfg_check(&c, &e) == 0 &&
	    (!c.bridge[0] || !c.dev[0] || !c.vni || c.vni > 16777215 || !c.n_remotes))
		abort();
	free(text);
	return 0;
}
