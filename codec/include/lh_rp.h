/* SPDX-License-Identifier: MIT */
/* Scanner for QEMU's return path (destination -> source on the main connection): finds SHUT and its status. */
#ifndef LH_RP_H
#define LH_RP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Return-path messages (qemu-migration-format.md §5.1): be16 type, be16 len,
 * len bytes. SHUT (type 1, len 4, be32 status, 0 = OK) is the destination's
 * last word: QEMU sends it from migration_incoming_state_destroy(), after the
 * guest was started there. The gateway takes SHUT 0 after its integrity gate
 * opened as "the destination accepted the migration".
 *
 * RECV_BITMAP (type 5, postcopy recovery) is followed by bytes its len does
 * not count; the scanner cannot follow them and stops (LH_RP_LOST), as it
 * does on an unknown type or a length its type does not allow. A lost scanner
 * never reports SHUT: the caller falls back to other evidence.
 */
enum lh_rp_state {
	LH_RP_SCANNING = 0,
	LH_RP_SHUT_SEEN = 1, /* status valid; later bytes are ignored */
	LH_RP_LOST = 2,      /* reason says why and offset where */
};

#define LH_RP_MSG_SHUT 1
#define LH_RP_MSG_MAX 7 /* SWITCHOVER_ACK (8.1+) */

typedef struct {
	enum lh_rp_state state;
	uint64_t offset;     /* bytes consumed so far */
	uint8_t hdr[4];
	unsigned hlen;       /* header bytes collected of the current message */
	uint16_t type, len;
	uint32_t body_left;  /* body bytes still to skip or collect */
	uint8_t body[4];     /* SHUT's status */
	uint32_t status;     /* SHUT's status when SHUT_SEEN */
	uint64_t messages;   /* complete messages seen */
	const char *reason;  /* when LOST */
} lh_rp_scanner;

void lh_rp_init(lh_rp_scanner *s);
/* Consumes n bytes (any chunking gives the same result); returns the state after them. */
enum lh_rp_state lh_rp_feed(lh_rp_scanner *s, const uint8_t *p, size_t n);
const char *lh_rp_type_name(unsigned type);

#endif
