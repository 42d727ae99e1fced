/* SPDX-License-Identifier: MIT */
/* Names of the codec's error codes. */
#include "lh_errors.h"

static const char *const names[LH_E__COUNT] = {
	[LH_OK] = "LH_OK",
	[LH_E_TRUNCATED] = "truncated",
	[LH_E_BAD_MAGIC] = "bad magic",
	[LH_E_BAD_VERSION] = "bad version",
	[LH_E_BAD_SECTION] = "bad section",
	[LH_E_BAD_FOOTER] = "bad section footer",
	[LH_E_BAD_RAM_FLAGS] = "bad RAM record flags",
	[LH_E_BAD_RAM_BLOCK] = "bad RAM block",
	[LH_E_BAD_LENGTH] = "bad length",
	[LH_E_BAD_COMMAND] = "bad command",
	[LH_E_BAD_CONFIG] = "bad configuration section",
	[LH_E_BAD_MULTIFD] = "bad multifd packet",
	[LH_E_LIMIT] = "limit exceeded",
	[LH_E_UNSUPPORTED] = "unsupported",
	[LH_E_ABORTED] = "aborted by caller",
	[LH_E_STATE] = "bad API state",
	[LH_E_PARAM] = "bad parameter",
	[LH_E_NOMEM] = "out of memory",
	[LH_E_CORRUPT] = "corrupt encoded data",
	[LH_E_CHECKSUM] = "checksum mismatch",
	[LH_E_DST_TOO_SMALL] = "destination buffer too small",
};

const char *lh_err_name(int code)
{
	if (code < 0)
		code = -code;
	if (code >= LH_E__COUNT || !names[code])
		return "LH_E_UNKNOWN";
	return names[code];
}
