/* SPDX-License-Identifier: MIT */
/* lhcodec: offline front end to the codec library (dispatch table only). */
#include <stdio.h>
#include <string.h>
#include "lhcodec.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} subcommands[] = {
	{ "stat", stat_main, "stat FILE [--json] [--channel auto|main|multifd|preempt]: parse a captured stream, print counts" },
	{ "encode", encode_main, "encode [--store-mb N] [--level auto|0..19] [--threads 1|2] [--stats] IN[,IN..] [IN..] OUT: WAN-encode streams through one store" },
	{ "decode", decode_main, "decode [--store-mb MAX] [--threads 1|2] [--stats] IN OUTDIR|OUT: rebuild every stream of an encoded file, verified" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: lhcodec <subcommand> [args]\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %s\n", subcommands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "lhcodec: unknown subcommand `%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
