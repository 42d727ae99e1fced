/* SPDX-License-Identifier: MIT */
/* Cutover of a guest's L2 identity: FDB moves exactly once, then announcement rounds. */
#include "netstate/cutover.h"

#include "netstate/fdb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *ns_role_name(enum ns_role r)
{
	return r == NS_ROLE_SOURCE ? "source" : r == NS_ROLE_DESTINATION ? "destination" : "unknown";
}

const char *ns_cutover_state_name(enum ns_cutover_state s)
{
	switch (s) {
	case NS_CUTOVER_IDLE: return "idle";
	case NS_CUTOVER_ANNOUNCING: return "announcing";
	case NS_CUTOVER_DONE: return "done";
	case NS_CUTOVER_CLOSED: return "closed";
	}
	return "unknown";
}

void ns_cutover_init(struct ns_cutover *c, const struct ns_cutover_cfg *cfg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->state = NS_CUTOVER_IDLE;
	c->tx.fd = -1;
	ns_report_init(&c->report);
}

/* Destination: every guest IP's neighbour entry on the bridge -> its MAC (not an FDB step: recorded apart). */
static void set_neighbours(struct ns_cutover *c, struct ns_nl *nl)
{
	const struct ns_guest *g = &c->cfg.plan.guest;

	for (unsigned i = 0; i < g->n_ips; i++) {
		struct ns_err e = {0};
		int r = ns_neigh_set(nl, c->cfg.bridge, &g->ips[i].ip, g->macs[g->ips[i].mac_index],
				     &c->report, &e);

		if (r < 0 && !c->neigh_error) {
			c->neigh_error = r;
			c->neigh_err = e;
		}
	}
}

/* Moves every guest MAC; keeps going after a failure so one bad MAC does not strand the rest. */
static void move_fdb(struct ns_cutover *c, struct ns_nl *nl)
{
	const struct ns_guest *g = &c->cfg.plan.guest;

	for (unsigned i = 0; i < g->n_macs; i++) {
		struct ns_err e = {0};
		int r;

		if (c->cfg.role == NS_ROLE_SOURCE)
			r = ns_fdb_point_remote(nl, c->cfg.vxlan_dev, g->macs[i], &c->cfg.remote_vtep,
						&c->report, &e);
		else
			r = ns_fdb_make_local(nl, c->cfg.vxlan_dev, g->macs[i], &c->report, &e);
		if (r < 0 && !c->fdb_error) {
			c->fdb_error = r;
			c->fdb_err = e;
		}
	}
}

int ns_cutover_start(struct ns_cutover *c, struct ns_nl *nl, uint64_t now_ns, struct ns_err *err)
{
	int r;

	if (c->state != NS_CUTOVER_IDLE)
		return ns_fail(err, -EALREADY, "cutover: already %s",
			       ns_cutover_state_name(c->state));
	if (c->cfg.plan.guest.n_macs == 0)
		return ns_fail(err, -EINVAL, "cutover: guest has no MAC");
	if (c->cfg.role == NS_ROLE_SOURCE && !c->cfg.remote_vtep.family)
		return ns_fail(err, -EINVAL, "cutover: source role needs the destination VTEP");
	move_fdb(c, nl);
	if (c->cfg.role == NS_ROLE_DESTINATION)
		set_neighbours(c, nl);
	c->state = NS_CUTOVER_DONE;
	if (c->cfg.role == NS_ROLE_DESTINATION) {
		struct ns_err e = {0};

		r = ns_packet_tx_open(&c->tx, c->cfg.bridge, &e);
		if (r == 0)
			r = ns_announcer_init(&c->ann, &c->cfg.plan, now_ns, ns_packet_tx_send, &c->tx,
					      &e);
		if (r < 0) {
			ns_packet_tx_close(&c->tx);
			return ns_fail(err, r, "cutover: announcements: %s", e.msg);
		}
		c->state = NS_CUTOVER_ANNOUNCING;
	}
	if (c->fdb_error) {
		if (err)
			*err = c->fdb_err;
		return c->fdb_error;
	}
	return 0;
}

uint64_t ns_cutover_next_due(const struct ns_cutover *c)
{
	return c->state == NS_CUTOVER_ANNOUNCING ? ns_announcer_next_due(&c->ann) : UINT64_MAX;
}

int ns_cutover_send_due(struct ns_cutover *c, uint64_t now_ns)
{
	int n;

	if (c->state != NS_CUTOVER_ANNOUNCING)
		return 0;
	n = ns_announcer_send_due(&c->ann, now_ns);
	if (ns_announcer_done(&c->ann)) {
		ns_packet_tx_close(&c->tx);
		c->state = NS_CUTOVER_DONE;
	}
	return n;
}

void ns_cutover_teardown(struct ns_cutover *c, const char *reason)
{
	(void)reason; /* the caller logs it with its own context */
	ns_packet_tx_close(&c->tx);
	c->state = NS_CUTOVER_CLOSED;
}
