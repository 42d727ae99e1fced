/* SPDX-License-Identifier: MIT */
/* The WAN parameters' table, shared by the encoder and the decoder (wan_params.c). */
#ifndef LH_WAN_PARAMS_H
#define LH_WAN_PARAMS_H

#include <stdbool.h>
#include "lh_wan.h"

/* Whether p shapes the session (the store, what HELLO announces), so that it is fixed once the
 * session started; false for an unknown p. Its bounds: lh_wan_param_bounds (lh_wan.h). */
bool lh_param_session(lh_wan_param p);

#endif
