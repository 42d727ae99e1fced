/* SPDX-License-Identifier: MIT */
/* Helpers shared by lhcodec's subcommands: timing, names, the stats JSON. */
#ifndef LH_WAN_CLI_H
#define LH_WAN_CLI_H

#include <stdio.h>
#include "lh_wan.h"

double lh_cli_now(void);
const char *lh_cli_basename(const char *path);
/* s as a JSON string, quoted and escaped (names come from files and from the sender) */
void lh_cli_json_string(FILE *f, const char *s);
/* 1 if path exists and is the file open as fd (writing it would destroy what we read). */
int lh_cli_is_file(const char *path, int fd);
/* Prints the stats fields (no braces): bytes_in, bytes_out, ratio, pages{...};
 * seconds >= 0 adds seconds and mb_per_s (of bytes_in for the encoder). */
void lh_cli_print_stats(FILE *f, const lh_wan_stats *s, double seconds);
void lh_cli_print_dec_stats(FILE *f, const lh_wan_stats *s, double seconds);

#endif
