/* SPDX-License-Identifier: MIT */
/* Writes every synthetic vector to DIR/<name>.bin (fuzzing seed corpus, manual inspection). */
#include <stdio.h>
#include "vecgen.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: lh_gen_vectors DIR\n");
		return 2;
	}
	for (size_t i = 0; i < lh_test_vector_count; i++) {
		char path[4096];
		vbuf b = { 0 };
		FILE *f;

		lh_test_vectors[i].build(&b);
		snprintf(path, sizeof(path), "%s/%s.bin", argv[1], lh_test_vectors[i].name);
		f = fopen(path, "wb");
		if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		vb_free(&b);
	}
	return 0;
}
