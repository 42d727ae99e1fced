/* SPDX-License-Identifier: MIT */
/* lh_synthgen: write a synthetic QEMU precopy stream (see synth.h) to a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "synth.h"

int main(int argc, char **argv)
{
	synth_cfg c;
	synth_default(&c);
	const char *out = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--image") && v)
			c.image_seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(a, "--vm") && v)
			c.vm_seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(a, "--pages") && v)
			c.pages = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--rounds") && v)
			c.rounds = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--dirty") && v)
			c.dirty_frac = strtod(argv[++i], NULL);
		else if (!strcmp(a, "--edit") && v)
			c.edit_bytes = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--zero") && v)
			c.zero_frac = strtod(argv[++i], NULL);
		else if (!strcmp(a, "--random") && v)
			c.random_frac = strtod(argv[++i], NULL);
		else if (a[0] != '-' && !out)
			out = a;
		else {
			fprintf(stderr, "usage: lh_synthgen [--image N] [--vm N] [--pages N] [--rounds N] [--dirty F]\n"
					"                   [--edit N] [--zero F] [--random F] OUT\n");
			return 2;
		}
	}
	if (!out || c.edit_bytes >= 4096)
		return 2;
	uint8_t *s;
	size_t len = synth_stream(&c, &s);
	FILE *f = fopen(out, "wb");
	if (!len || !f || fwrite(s, 1, len, f) != len || fclose(f) != 0) {
		perror(out);
		return 1;
	}
	free(s);
	return 0;
}
