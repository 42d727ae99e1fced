/* SPDX-License-Identifier: MIT */
/* The WAN encoding's unit-test harness: checks, byte vectors, encode/decode helpers, hand-made frames. */
#ifndef LH_WAN_HARNESS_H
#define LH_WAN_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lh_wan.h"

extern int lh_test_failures;
/* Set (LH_TEST_DEC_AHEAD=1): the harness decodes through lh_wan_dec_announce, frames ahead on a second thread. */
extern int lh_test_dec_ahead;
/* Set (LH_TEST_ENC_THREADS=2): the tests' encoders compress on a worker thread (LH_WAN_P_THREADS 2). */
extern int lh_test_enc_threads;
/* lh_wan_enc_create, with lh_test_enc_threads applied. */
lh_wan_enc *test_enc_create(void);
#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
			lh_test_failures++;                                                       \
		}                                                                         \
	} while (0)

typedef struct {
	uint8_t *b;
	size_t len, cap;
} vec;

void vput(vec *v, const void *p, size_t n);
/* Pulls every queued frame of e into frames. */
void pull_all(lh_wan_enc *e, vec *frames);
/* Feeds p to stream sid in chunk-sized pieces, pulling frames as they come. */
void feed_all(lh_wan_enc *e, uint32_t sid, const uint8_t *p, size_t len, size_t chunk, vec *frames);
/* Stream 1 in 2 MiB steps, the link pressure (and so the auto level) cycling through pressure[0..n). */
void feed_with_pressure(lh_wan_enc *e, const uint8_t *s, size_t len, const int64_t *pressure, size_t n,
			vec *frames);
/* Decodes all frames; outs[sid] collects stream sid's bytes (sid < 8). Returns the first error or 0. */
long decode_all(const vec *frames, vec outs[8], lh_wan_stats *st);
/* Decodes all frames with one decoder, appending every frame's output to out (if not NULL); stops at
 * the first error and returns it, or 0. */
long decode_frames(const vec *frames, vec *out);
void free_outs(vec outs[8]);
/* Breaks a synthetic stream in its second half: a RAM record's flags get the unknown bit 0x400, a hard parser
 * error. Returns the record's offset, 0 when none was found. */
size_t break_ram_record(uint8_t *s, size_t len);
/* DATA frames with a B section, their bytes after decompression, and how many zstd did not shrink. */
void b_sections(const vec *frames, size_t *count, size_t *raw, size_t *unshrunk);
/* Announces the frame at off, unless it is already, and up to LH_WAN_DEC_AHEAD_MAX frames in all;
 * *ann: where the first frame not announced yet starts (0 at first). */
void announce_ahead(lh_wan_dec *d, const vec *frames, size_t off, size_t *ann);

/* Hand-made frames: one frame; HELLO (with hello_flags) + OPEN of stream 1; one DATA frame of
 * stream 1 (Z raw) followed by ABORT, decoded: the result, and its output in *out when out != NULL. */
void hand_frame(vec *v, uint8_t type, uint32_t sid, const uint8_t *body, uint32_t len, uint32_t raw);
void hand_session(vec *v, uint32_t slots);
void hand_session_flags(vec *v, uint32_t slots, uint32_t hello_flags);
long hand_data(const uint8_t *ops, size_t ops_len, const uint8_t *z, size_t z_len, uint32_t raw);
long hand_data_flags(uint32_t hello_flags, const uint8_t *ops, size_t ops_len, const uint8_t *z, size_t z_len,
		     uint32_t raw, vec *out);

#endif
