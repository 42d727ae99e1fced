/* SPDX-License-Identifier: MIT */
/* After the end of stream was released, a lost session decides nothing (src_doubt.c, dst_doubt.c). */
#ifndef LH_GATEWAY_INDOUBT_H
#define LH_GATEWAY_INDOUBT_H

#include "gateway/mig/outcome.h"

#define DOUBT_ASK_EVERY_S 1.0   /* a source asks again this often while the answer is pending or not come */
#define DOUBT_AWAIT_S 120.0     /* a destination without session waits this long for its QEMU's answer */

#endif
