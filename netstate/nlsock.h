/* SPDX-License-Identifier: MIT */
/* The rtnetlink socket (libmnl): one request at a time, kernel errors with extended-ack text. */
#ifndef NETSTATE_NLSOCK_H
#define NETSTATE_NLSOCK_H

#include "netstate/common.h"

#include <libmnl/libmnl.h>

struct ns_nl;

int ns_nl_open(struct ns_nl **out, struct ns_err *err);
void ns_nl_close(struct ns_nl *nl);

/*
 * Sends req (its nlmsg_seq is overwritten) and reads replies until the ack,
 * NLMSG_DONE or an error. Data messages go to cb (may be NULL). Returns 0 or
 * the kernel's -errno; err->msg then reads "<what>: <strerror>[: <extack>]".
 * A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) returns -EINTR so
 * the caller can restart it; partial dump results are not trustworthy here.
 */
int ns_nl_request(struct ns_nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data,
		  struct ns_err *err, const char *what);

/* Looks a link up by name; -ENODEV if absent. */
struct ns_link_info;
int ns_nl_get_link(struct ns_nl *nl, const char *name, struct ns_link_info *out,
		   struct ns_err *err);

#endif
