/* SPDX-License-Identifier: MIT */
/* Error codes shared by every codec entry point (zstd style: pinned numbers, a name function). */
#ifndef LH_ERRORS_H
#define LH_ERRORS_H

/*
 * Functions return 0 (or a size) on success and a negative lh_err on failure:
 * `if (r < 0) puts(lh_err_name(r));`. Numbers are stable; only append.
 */
typedef enum {
	LH_OK = 0,
	LH_E_TRUNCATED = 1,      /* input ended inside an item */
	LH_E_BAD_MAGIC = 2,      /* wrong file/multifd magic */
	LH_E_BAD_VERSION = 3,    /* unsupported stream/packet version */
	LH_E_BAD_SECTION = 4,    /* bad section type, header, or unknown section id */
	LH_E_BAD_FOOTER = 5,     /* footer id does not match its section */
	LH_E_BAD_RAM_FLAGS = 6,  /* unknown or contradictory RAM record flags */
	LH_E_BAD_RAM_BLOCK = 7,  /* unknown RAM block, or offset outside it */
	LH_E_BAD_LENGTH = 8,     /* a length field out of its legal range */
	LH_E_BAD_COMMAND = 9,    /* QEMU_VM_COMMAND with an illegal id or length */
	LH_E_BAD_CONFIG = 10,    /* malformed CONFIGURATION section */
	LH_E_BAD_MULTIFD = 11,   /* malformed multifd packet */
	LH_E_LIMIT = 12,         /* a fixed-size table is full */
	LH_E_UNSUPPORTED = 13,   /* legal QEMU stream that longhaul cannot carry */
	LH_E_ABORTED = 14,       /* the event callback asked to stop */
	LH_E_STATE = 15,         /* API misuse (e.g. feed after an error) */
	LH_E_PARAM = 16,         /* parameter out of bounds */
	LH_E_NOMEM = 17,
	LH_E_CORRUPT = 18,       /* encoded (WAN) data is inconsistent */
	LH_E_CHECKSUM = 19,      /* integrity check failed */
	LH_E_DST_TOO_SMALL = 20, /* output buffer too small */
	LH_E__COUNT
} lh_err;

/* Name of an error code (accepts either sign); "LH_E_UNKNOWN" for others. */
const char *lh_err_name(int code);

static inline int lh_is_error(long long r) { return r < 0; }

#endif
