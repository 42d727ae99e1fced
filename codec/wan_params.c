/* SPDX-License-Identifier: MIT */
/* The WAN parameters' bounds: one table for both directions, so neither calls into the other. */
#include "wan_params.h"

/* session: the parameter shapes the session (the store, what HELLO announces), so it is fixed once
 * the session started */
static const struct {
	int64_t lo, hi;
	bool session;
} params[] = {
	[LH_WAN_P_STORE_MB] = { 1, 65536, true },
	[LH_WAN_P_LEVEL] = { LH_WAN_LEVEL_AUTO, 19, false },
	[LH_WAN_P_LINK_PRESSURE] = { 0, 100, false },
	[LH_WAN_P_FRAME_RAW] = { 64 << 10, LH_WAN_FRAME_RAW_MAX, false },
	[LH_WAN_P_RESEMBLANCE] = { 0, 1, false },
	[LH_WAN_P_DELTA_PREV] = { 0, 1, false },
	[LH_WAN_P_STORE_COMMIT] = { 0, 1, true },
	[LH_WAN_P_PTR_REL] = { 0, 1, true },
	[LH_WAN_P_REC_HDR] = { 0, 1, true },
	[LH_WAN_P_OPS_Z] = { 0, 1, true },
	[LH_WAN_P_THREADS] = { 1, 2, true },
};

static bool known(lh_wan_param p)
{
	return p >= LH_WAN_P_STORE_MB && (size_t)p < sizeof(params) / sizeof(params[0]);
}

int lh_wan_param_bounds(lh_wan_param p, int64_t *lo, int64_t *hi)
{
	if (!known(p))
		return -LH_E_PARAM;
	*lo = params[p].lo;
	*hi = params[p].hi;
	return 0;
}

bool lh_param_session(lh_wan_param p)
{
	return known(p) && params[p].session;
}
