/* SPDX-License-Identifier: MIT */
/* Helpers shared by lhcodec's subcommands: timing, names, the stats JSON. */
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include "wan_cli.h"

double lh_cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *lh_cli_basename(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* split_deltas: only the encoder knows whether a delta's base was the page's previous version or a
 * similar page (the wire has one DELTA op), so the decoder prints the total alone. */
static void print_pages(FILE *f, const lh_wan_stats *s, int split_deltas)
{
	const uint64_t *p = s->pages;
	fprintf(f, "\"pages\": {\"zero\": %llu, \"ref\": %llu, \"delta\": %llu, ",
		(unsigned long long)p[LH_WAN_OP_ZERO], (unsigned long long)p[LH_WAN_OP_REF],
		(unsigned long long)(p[LH_WAN_OP_DELTA_PREV] + p[LH_WAN_OP_DELTA_SIM]));
	if (split_deltas)
		fprintf(f, "\"delta_prev\": %llu, \"delta_sim\": %llu, ", (unsigned long long)p[LH_WAN_OP_DELTA_PREV],
			(unsigned long long)p[LH_WAN_OP_DELTA_SIM]);
	fprintf(f, "\"literal\": %llu, \"literal_zstd\": %llu, \"literal_raw\": %llu}",
		(unsigned long long)(p[LH_WAN_OP_LITERAL] + p[LH_WAN_OP_LITERAL_RAW]),
		(unsigned long long)p[LH_WAN_OP_LITERAL], (unsigned long long)p[LH_WAN_OP_LITERAL_RAW]);
}

void lh_cli_print_stats(FILE *f, const lh_wan_stats *s, double seconds)
{
	fprintf(f, "\"bytes_in\": %llu, \"bytes_out\": %llu, \"ratio\": %.4f, ", (unsigned long long)s->bytes_in,
		(unsigned long long)s->bytes_out, s->bytes_out ? (double)s->bytes_in / (double)s->bytes_out : 0.0);
	print_pages(f, s, 1);
	fprintf(f, ", \"delta_bytes\": %llu, \"other_bytes\": %llu, \"frames\": %llu, \"parse_fallbacks\": %llu",
		(unsigned long long)(s->delta_bytes[0] + s->delta_bytes[1]), (unsigned long long)s->other_bytes,
		(unsigned long long)s->frames, (unsigned long long)s->parse_fallbacks);
	fprintf(f, ", \"ptr_rel_pages\": %llu, \"records\": {\"predicted\": %llu, \"explicit\": %llu}",
		(unsigned long long)s->ptr_rel_pages, (unsigned long long)s->rec_predicted,
		(unsigned long long)s->rec_explicit);
	fprintf(f, ", \"zstd_level\": %d, \"boosted_bytes\": %llu, \"worker_frames\": %llu", (int)s->zstd_level,
		(unsigned long long)s->boosted_bytes, (unsigned long long)s->worker_frames);
	if (seconds >= 0)
		fprintf(f, ", \"seconds\": %.4f, \"mb_per_s\": %.1f", seconds,
			seconds > 0 ? (double)s->bytes_in / 1e6 / seconds : 0.0);
}

void lh_cli_print_dec_stats(FILE *f, const lh_wan_stats *s, double seconds)
{
	/* for the decoder, bytes_in are frame bytes and bytes_out stream bytes */
	fprintf(f, "\"bytes_in\": %llu, \"bytes_out\": %llu, \"ratio\": %.4f, ", (unsigned long long)s->bytes_in,
		(unsigned long long)s->bytes_out, s->bytes_in ? (double)s->bytes_out / (double)s->bytes_in : 0.0);
	print_pages(f, s, 0);
	fprintf(f, ", \"frames\": %llu, \"ptr_rel_pages\": %llu, \"records\": {\"predicted\": %llu, \"explicit\": %llu}",
		(unsigned long long)s->frames, (unsigned long long)s->ptr_rel_pages,
		(unsigned long long)s->rec_predicted, (unsigned long long)s->rec_explicit);
	fprintf(f, ", \"ahead\": {\"frames\": %llu, \"b_sections\": %llu}", (unsigned long long)s->ahead_frames,
		(unsigned long long)s->ahead_b_sections);
	if (seconds >= 0)
		fprintf(f, ", \"seconds\": %.4f, \"mb_per_s\": %.1f", seconds,
			seconds > 0 ? (double)s->bytes_out / 1e6 / seconds : 0.0);
}

int lh_cli_is_file(const char *path, int fd)
{
	struct stat a, b;
	return stat(path, &a) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void lh_cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c > 0x7E)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
