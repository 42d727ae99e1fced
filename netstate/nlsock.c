/* SPDX-License-Identifier: MIT */
/* The rtnetlink socket (libmnl): request/ack loop, extended ack, link lookup. */
#include "netstate/nlsock.h"

#include "netstate/nlmsg.h"
#include "netstate/nlparse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct ns_nl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
	/* Dumps of a busy bridge FDB arrive in many datagrams of up to ~32 KiB. */
	char rxbuf[32768];
};

int ns_nl_open(struct ns_nl **out, struct ns_err *err)
{
	struct ns_nl *nl = calloc(1, sizeof(*nl));
	int one = 1;

	if (!nl)
		return ns_fail(err, -ENOMEM, "netlink: out of memory");
	nl->sk = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sk) {
		int e = -errno;

		free(nl);
		return ns_fail(err, e, "netlink: socket: %s", strerror(-e));
	}
	/* Ask for the kernel's reason text, and not to echo our request back in errors. */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = -errno;

		mnl_socket_close(nl->sk);
		free(nl);
		return ns_fail(err, e, "netlink: bind: %s", strerror(-e));
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = 1;
	*out = nl;
	return 0;
}

void ns_nl_close(struct ns_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sk);
	free(nl);
}

struct req_ctx {
	mnl_cb_t cb;
	void *data;
	int kerr;        /* errno from NLMSG_ERROR / NLMSG_DONE, <= 0 */
	char ext[160];   /* extended ack text */
};

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct req_ctx *c = data;

	return c->cb ? c->cb(nlh, c->data) : MNL_CB_OK;
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct req_ctx *c = data;
	int code = 0;

	if (ns_parse_nlerr(nlh, &code, c->ext, sizeof(c->ext)) < 0) {
		c->kerr = -EBADMSG;
		return MNL_CB_ERROR;
	}
	c->kerr = code;
	return code ? MNL_CB_ERROR : MNL_CB_STOP;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct req_ctx *c = data;

	/* A dump that failed part-way carries the errno as an int in NLMSG_DONE. */
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		int code;

		memcpy(&code, mnl_nlmsg_get_payload(nlh), sizeof(code));
		if (code < 0 && code >= -4095) {
			c->kerr = code;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

/* Drops replies left over from an earlier request we stopped reading early. */
static void drain_stale(struct ns_nl *nl)
{
	int fd = mnl_socket_get_fd(nl->sk);

	while (recv(fd, nl->rxbuf, sizeof(nl->rxbuf), MSG_DONTWAIT) > 0)
		;
}

int ns_nl_request(struct ns_nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data,
		  struct ns_err *err, const char *what)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = noop_cb,
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
		[NLMSG_OVERRUN] = noop_cb,
	};
	struct req_ctx c = {.cb = cb, .data = data};
	uint32_t seq = ++nl->seq;
	int ret;

	req->nlmsg_seq = seq;
	drain_stale(nl);
	if (mnl_socket_sendto(nl->sk, req, req->nlmsg_len) < 0) {
		int e = -errno;

		return ns_fail(err, e, "%s: send: %s", what, strerror(-e));
	}
	do {
		ssize_t n = mnl_socket_recvfrom(nl->sk, nl->rxbuf, sizeof(nl->rxbuf));

		if (n < 0) {
			int e = -errno;

			return ns_fail(err, e, "%s: receive: %s", what, strerror(-e));
		}
		if (!ns_nl_datagram_ok(nl->rxbuf, (size_t)n))
			return ns_fail(err, -EBADMSG, "%s: malformed netlink reply", what);
		errno = 0;
		ret = mnl_cb_run2(nl->rxbuf, (size_t)n, seq, nl->portid, data_cb, &c, ctl,
				  NLMSG_MIN_TYPE);
	} while (ret > MNL_CB_STOP);
	if (ret == MNL_CB_STOP)
		return 0;
	if (c.kerr < 0) {
		if (c.ext[0])
			return ns_fail(err, c.kerr, "%s: %s: %s", what, strerror(-c.kerr), c.ext);
		return ns_fail(err, c.kerr, "%s: %s", what, strerror(-c.kerr));
	}
	/* libmnl sets errno: EINTR for NLM_F_DUMP_INTR, ESRCH/EPROTO for bad seq/port. */
	ret = errno ? -errno : -EPROTO;
	return ns_fail(err, ret, "%s: %s", what, strerror(-ret));
}

struct link_ctx {
	struct ns_link_info *out;
	int found;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_ctx *c = data;
	int r = ns_parse_link(nlh, c->out);

	if (r == -ENOMSG)
		return MNL_CB_OK;
	if (r < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	c->found = 1;
	return MNL_CB_OK;
}

int ns_nl_get_link(struct ns_nl *nl, const char *name, struct ns_link_info *out,
		   struct ns_err *err)
{
	char buf[NS_NLMSG_BUF];
	char what[64];
	struct link_ctx c = {out, 0};
	int r;

	if (strlen(name) == 0 || strlen(name) >= 16)
		return ns_fail(err, -EINVAL, "link `%s': bad interface name", name);
	snprintf(what, sizeof(what), "get link %s", name);
	r = ns_nl_request(nl, ns_nlmsg_getlink(buf, 0, name), link_cb, &c, err, what);
	if (r < 0)
		return r;
	if (!c.found)
		return ns_fail(err, -ENODEV, "%s: no such device", what);
	return 0;
}
