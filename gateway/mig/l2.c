/* SPDX-License-Identifier: MIT */
/* longhauld's L2 side: [segment]s ensured at startup, guest IPs learned from ARP/ND, cutover at completion. */
#include "gateway/mig/l2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/base/log.h"
#include "gateway/mig/route.h"
#include "netstate/learn.h"
#include "netstate/nlsock.h"
#include "netstate/segment.h"

enum seg_state {
	SEG_READY = 0,  /* device, bridge port and flood list as configured */
	SEG_FAILED = 1, /* ensure failed: see err; cutovers on it still try */
};

static const char *const seg_state_names[] = { [SEG_READY] = "ready", [SEG_FAILED] = "failed" };

struct l2_segment {
	struct gw *gw;
	const struct ns_segment_cfg *cfg;
	enum seg_state state;
	unsigned changes;             /* items ns_segment_ensure changed at startup */
	struct ns_err err;
	struct ns_learn_sock learn;
	ev_io learn_io;
	struct ns_learn_table learned; /* only bindings of MACs some route registered */
	struct ns_learn_table scratch;
};

struct gw_l2 {
	struct ns_nl *nl;
	struct ns_err nl_err;
	struct l2_segment *seg;
	size_t n;
};

/* Its phase is c.state: ANNOUNCING while rounds are pending, DONE after. */
struct gw_cutover {
	struct gw *gw;
	uint32_t mig;
	enum ns_role role;
	struct ns_cutover c;
	ev_timer timer;
	char error[256];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct l2_segment *seg_by_vni(struct gw *gw, uint32_t vni)
{
	struct gw_l2 *l2 = gw->l2;
	for (size_t i = 0; l2 && vni && i < l2->n; i++)
		if (l2->seg[i].cfg->vni == vni)
			return &l2->seg[i];
	return NULL;
}

/* A MAC some route registered (learning keeps nothing else: the table is bounded). */
static int mac_registered(struct gw *gw, const uint8_t mac[NS_MAC_LEN])
{
	for (struct route *r = gw->routes; r; r = r->next)
		for (unsigned i = 0; i < r->cfg.n_macs; i++)
			if (!memcmp(r->cfg.macs[i], mac, NS_MAC_LEN))
				return 1;
	return 0;
}

static void learn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct l2_segment *s = w->data;
	char mac[18], ip[64];
	(void)loop;
	(void)revents;
	s->scratch.n = 0;
	int r = ns_learn_read(&s->learn, &s->scratch);
	if (r < 0) {
		log_warnx("segment %s: learning on %s: %s; learning stopped", s->cfg->name, s->cfg->bridge,
			  strerror(-r));
		ev_io_stop(s->gw->loop, &s->learn_io);
		ns_learn_close(&s->learn);
		return;
	}
	for (unsigned i = 0; i < s->scratch.n; i++) {
		const struct ns_binding *b = &s->scratch.b[i];
		if (!mac_registered(s->gw, b->mac) || ns_learn_table_add(&s->learned, b) != 1)
			continue;
		log_info("segment %s: learned %s at %s (%s)", s->cfg->name, ns_ip_fmt(&b->ip, ip, sizeof(ip)),
			 ns_mac_fmt(b->mac, mac), ns_learn_source_name(b->source));
	}
}

static void segment_open(struct gw *gw, struct l2_segment *s)
{
	struct ns_report rep;
	ns_report_init(&rep);
	s->learn.fd = -1;
	if (!gw->l2->nl) {
		s->state = SEG_FAILED;
		s->err = gw->l2->nl_err;
	} else if (ns_segment_ensure(gw->l2->nl, s->cfg, &rep, &s->err) < 0) {
		s->state = SEG_FAILED;
	}
	s->changes = ns_report_changes(&rep);
	for (unsigned i = 0; i < rep.n; i++)
		if (rep.items[i].kind != NS_CHANGE_UNCHANGED)
			log_info("segment %s: %s %s", s->cfg->name, ns_change_kind_name(rep.items[i].kind),
				 rep.items[i].what);
	if (s->state == SEG_FAILED)
		log_warnx("segment %s (vni %u on %s): %s", s->cfg->name, s->cfg->vni, s->cfg->bridge, s->err.msg);
	else
		log_info("segment %s: vni %u on %s via %s ready (%u changes)", s->cfg->name, s->cfg->vni,
			 s->cfg->bridge, s->cfg->dev, s->changes);
	struct ns_err e = { 0 };
	if (ns_learn_open(&s->learn, s->cfg->bridge, &e) < 0) {
		log_warnx("segment %s: no ARP/ND learning: %s", s->cfg->name, e.msg);
		s->learn.fd = -1;
		return;
	}
	ev_io_init(&s->learn_io, learn_cb, s->learn.fd, EV_READ);
	s->learn_io.data = s;
	ev_io_start(gw->loop, &s->learn_io);
}

int gw_l2_open(struct gw *gw)
{
	if (!gw->cfg.n_segments)
		return 0;
	struct gw_l2 *l2 = calloc(1, sizeof(*l2));
	if (l2)
		l2->seg = calloc(gw->cfg.n_segments, sizeof(*l2->seg));
	if (!l2 || !l2->seg) {
		free(l2);
		log_warnx("segments: out of memory; no cutover at this site");
		return 0;
	}
	gw->l2 = l2;
	if (ns_nl_open(&l2->nl, &l2->nl_err) < 0) {
		l2->nl = NULL;
		log_warnx("segments: netlink: %s", l2->nl_err.msg);
	}
	for (size_t i = 0; i < gw->cfg.n_segments; i++) {
		l2->seg[i].gw = gw;
		l2->seg[i].cfg = &gw->cfg.segments[i];
		segment_open(gw, &l2->seg[i]);
	}
	l2->n = gw->cfg.n_segments;
	return 0;
}

void gw_l2_close(struct gw *gw, const char *reason)
{
	struct gw_l2 *l2 = gw->l2;
	if (!l2)
		return;
	for (size_t i = 0; i < l2->n; i++)
		if (l2->seg[i].learn.fd >= 0) {
			ev_io_stop(gw->loop, &l2->seg[i].learn_io);
			ns_learn_close(&l2->seg[i].learn);
		}
	if (l2->nl)
		ns_nl_close(l2->nl);
	log_debug("segments closed: %s (the VXLAN devices stay: the stretch outlives the daemon)", reason);
	free(l2->seg);
	free(l2);
	gw->l2 = NULL;
}

void gw_l2_identity(struct gw *gw, const struct lh_route_cfg *rc, uint32_t *vni, struct ns_guest *g)
{
	const struct ns_segment_cfg *sc = lh_config_route_segment(&gw->cfg, rc);
	struct l2_segment *s = sc ? seg_by_vni(gw, sc->vni) : NULL;

	memset(g, 0, sizeof(*g));
	*vni = 0;
	for (unsigned i = 0; i < rc->n_macs; i++)
		ns_guest_add_mac(g, rc->macs[i]);
	for (unsigned i = 0; g->n_macs && i < rc->n_ips; i++)
		ns_guest_add_ip(g, &rc->ips[i], g->macs[0]);
	if (s)
		ns_learn_fill_guest(&s->learned, g);
	if (sc && g->n_macs)
		*vni = sc->vni;
}

static void cut_finish(struct gw_cutover *c, const char *how)
{
	char fdb[64] = "";
	c->gw->st.announce_frames += c->c.ann.frames_sent;
	if (c->c.ann.send_errors && !c->error[0]) {
		snprintf(c->error, sizeof(c->error), "%u announcement frames not sent: %s", c->c.ann.send_errors,
			 strerror(-c->c.ann.last_error));
		c->gw->st.cutover_errors++;
	}
	if (c->c.fdb_error)
		snprintf(fdb, sizeof(fdb), ", FDB step failed");
	log_info("migration %s#%u: cutover (%s) %s: %u FDB changes, %u rounds, %u frames sent, %u send errors%s",
		 c->role == NS_ROLE_SOURCE ? "out" : "in", c->mig, ns_role_name(c->role), how,
		 ns_report_changes(&c->c.report), c->c.ann.rounds_sent, c->c.ann.frames_sent, c->c.ann.send_errors,
		 fdb);
}

static void cut_arm(struct gw_cutover *c)
{
	uint64_t due = ns_cutover_next_due(&c->c), now = mono_ns();
	if (due == UINT64_MAX) {
		cut_finish(c, "done");
		return;
	}
	ev_timer_set(&c->timer, due > now ? (double)(due - now) / 1e9 : 0.0, 0.0);
	ev_timer_start(c->gw->loop, &c->timer);
}

static void cut_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct gw_cutover *c = w->data;
	(void)loop;
	(void)revents;
	ns_cutover_send_due(&c->c, mono_ns());
	cut_arm(c);
}

struct gw_cutover *gw_l2_cutover_start(struct gw *gw, enum ns_role role, uint32_t mig_id, uint32_t vni,
				      const struct ns_guest *g)
{
	const char *dir = role == NS_ROLE_SOURCE ? "out" : "in";
	struct l2_segment *s = seg_by_vni(gw, vni);
	struct ns_cutover_cfg cc;
	struct gw_cutover *c;
	struct ns_err e = { 0 };

	if (!vni || !g->n_macs) {
		log_info("migration %s#%u: no cutover (the route registered no guest MAC and segment)", dir, mig_id);
		return NULL;
	}
	if (!s) {
		log_warnx("migration %s#%u: no cutover: no [segment] with vni %u at this site", dir, mig_id, vni);
		return NULL;
	}
	if (!gw->l2->nl) {
		log_warnx("migration %s#%u: no cutover on segment %s: %s", dir, mig_id, s->cfg->name,
			 gw->l2->nl_err.msg);
		return NULL;
	}
	if (role == NS_ROLE_SOURCE && s->cfg->n_remotes != 1) {
		/* which remote is the destination is not known here; flooding + bridge learning still deliver */
		log_warnx("migration out#%u: segment %s has %u remote VTEPs: the guest MACs are left to flooding",
			  mig_id, s->cfg->name, s->cfg->n_remotes);
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		log_warnx("migration %s#%u: cutover: out of memory", dir, mig_id);
		return NULL;
	}
	memset(&cc, 0, sizeof(cc));
	cc.role = role;
	snprintf(cc.bridge, sizeof(cc.bridge), "%s", s->cfg->bridge);
	snprintf(cc.vxlan_dev, sizeof(cc.vxlan_dev), "%s", s->cfg->dev);
	cc.remote_vtep = s->cfg->remotes[0];
	ns_segment_plan(s->cfg, g, &cc.plan);
	c->gw = gw;
	c->mig = mig_id;
	c->role = role;
	ev_init(&c->timer, cut_timer_cb);
	c->timer.data = c;
	ns_cutover_init(&c->c, &cc);
	int r = ns_cutover_start(&c->c, gw->l2->nl, mono_ns(), &e);
	const char *problem = r < 0 ? e.msg : c->c.neigh_error ? c->c.neigh_err.msg : NULL;
	gw->st.cutovers++;
	if (problem) {
		gw->st.cutover_errors++;
		snprintf(c->error, sizeof(c->error), "%s", problem);
		log_warnx("migration %s#%u: cutover on segment %s: %s", dir, mig_id, s->cfg->name, problem);
	}
	for (unsigned i = 0; i < c->c.report.n; i++)
		if (c->c.report.items[i].kind != NS_CHANGE_UNCHANGED)
			log_info("migration %s#%u: cutover: %s %s", dir, mig_id,
				 ns_change_kind_name(c->c.report.items[i].kind), c->c.report.items[i].what);
	/* the first round is due now: send it before anything else runs */
	ns_cutover_send_due(&c->c, mono_ns());
	cut_arm(c);
	return c;
}

void gw_cutover_free(struct gw_cutover *c, const char *reason)
{
	if (!c)
		return;
	if (c->c.state == NS_CUTOVER_ANNOUNCING)
		log_info("migration %s#%u: cutover stopped with rounds pending: %s",
			 c->role == NS_ROLE_SOURCE ? "out" : "in", c->mig, reason);
	ev_timer_stop(c->gw->loop, &c->timer);
	ns_cutover_teardown(&c->c, reason);
	free(c);
}

void gw_cutover_json(const struct gw_cutover *c, const char *key, struct lh_jbuf *b)
{
	if (!c)
		return;
	lh_json_obj_begin(b, key);
	lh_json_str(b, "role", ns_role_name(c->role));
	lh_json_str(b, "state", ns_cutover_state_name(c->c.state));
	lh_json_uint(b, "fdb_changes", ns_report_changes(&c->c.report));
	lh_json_uint(b, "rounds_sent", c->c.ann.rounds_sent);
	lh_json_uint(b, "frames_sent", c->c.ann.frames_sent);
	lh_json_uint(b, "send_errors", c->c.ann.send_errors);
	if (c->error[0])
		lh_json_str(b, "error", c->error);
	lh_json_obj_end(b);
}

void gw_l2_status_json(struct gw *gw, struct lh_jbuf *b)
{
	struct gw_l2 *l2 = gw->l2;
	lh_json_arr_begin(b, "segments");
	for (size_t i = 0; l2 && i < l2->n; i++) {
		const struct l2_segment *s = &l2->seg[i];
		lh_json_obj_begin(b, NULL);
		lh_json_str(b, "name", s->cfg->name);
		lh_json_uint(b, "vni", s->cfg->vni);
		lh_json_str(b, "device", s->cfg->dev);
		lh_json_str(b, "state", seg_state_names[s->state]);
		lh_json_uint(b, "changes", s->changes);
		if (s->state == SEG_FAILED)
			lh_json_str(b, "error", s->err.msg);
		lh_json_bool(b, "learning", s->learn.fd >= 0);
		lh_json_uint(b, "learned", s->learned.n);
		lh_json_obj_end(b);
	}
	lh_json_arr_end(b);
}
