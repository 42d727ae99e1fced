/* SPDX-License-Identifier: MIT */
/* Subcommands of the lhcodec tool; one file each, dispatched from lhcodec.c. */
#ifndef LHCODEC_TOOL_H
#define LHCODEC_TOOL_H

int stat_main(int argc, char **argv);
int encode_main(int argc, char **argv);
int decode_main(int argc, char **argv);

#endif
