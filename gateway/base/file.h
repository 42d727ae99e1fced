/* SPDX-License-Identifier: MIT */
/* Small state files that must survive a crash: read whole and bounded, replaced atomically and durably. */
#ifndef LH_GATEWAY_FILE_H
#define LH_GATEWAY_FILE_H

#include <stddef.h>

/*
 * Reads dir/name whole into *text (NUL-terminated, caller frees) and its length into *len. A missing file is
 * 0 with *text NULL. -errno with the reason in err when it cannot be read, or is larger than max bytes (no
 * file this code writes is: a larger one is not ours).
 */
int lh_file_read(const char *dir, const char *name, size_t max, char **text, size_t *len, char *err,
		 size_t errlen);
/*
 * Replaces dir/name with data: written to dir/.name.new (mode 0600), fsynced, renamed over name, the directory
 * fsynced. A crash leaves the old file or the new one, never a partial one. 0, or -errno with the reason in err.
 */
int lh_file_replace(const char *dir, const char *name, const void *data, size_t len, char *err, size_t errlen);

#endif
