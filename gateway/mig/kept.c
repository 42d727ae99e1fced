/* SPDX-License-Identifier: MIT */
/* Postcopy migrations in the state file: what a restart must not forget, since the guest already runs at B. */
#include "gateway/mig/kept.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/base/log.h"
#include "gateway/mig/dst.h"
#include "gateway/mig/keep.h"
#include "gateway/mig/mig_core.h"
#include "gateway/mig/route.h"
#include "gateway/mig/src.h"

static void forget(struct mig *m)
{
	char key[17], err[300];
	snprintf(key, sizeof(key), "%016llx", (unsigned long long)m->uid);
	if (keep_del(m->gw->keep, KEEP_POSTCOPY, key, err, sizeof(err)) < 0)
		log_warnx("migration %s#%u (%s): state file: %s", m->role->dir, m->id, m->route, err);
	m->kept_phase = NULL;
}

static void supersede(struct mig *m)
{
	for (struct mig *o = m->gw->migs; o; o = o->next) {
		if (o == m || o->role != m->role || o->end != MIG_PAUSED || o->superseded_at || strcmp(o->route, m->route))
			continue;
		o->superseded_at = ev_now(m->gw->loop);
		if (o->kept_phase)
			forget(o);
		log_info("migration %s#%u (%s): postcopy-paused, superseded by %s#%u (a recovery, or a new migration of "
			 "the route)", o->role->dir, o->id, o->route, m->role->dir, m->id);
	}
}

void kept_note(struct mig *m)
{
	struct keep_postcopy p;
	struct lh_jbuf line;
	char key[17], err[300];

	if (!m->gw->keep)
		return;
	if (m->end == MIG_DONE || m->end == MIG_FAILED) {
		if (m->kept_phase)
			forget(m);
		return;
	}
	if (!m->postcopy || m->kept_phase == m->phase)
		return;
	memset(&p, 0, sizeof(p));
	p.uid = m->uid;
	p.outgoing = m->role == &src_role;
	snprintf(p.route, sizeof(p.route), "%s", m->route);
	snprintf(p.dest, sizeof(p.dest), "%s", m->dest);
	snprintf(p.phase, sizeof(p.phase), "%s", m->phase);
	snprintf(p.why, sizeof(p.why), "%s", m->end == MIG_PAUSED ? m->why : "");
	p.t = (int64_t)time(NULL);
	lh_jbuf_init(&line);
	keep_postcopy_line(&p, &line, key);
	/* durable before we go on: a crash from here on must find the guest's migration again */
	int rc = line.oom ? -1 : keep_put(m->gw->keep, KEEP_POSTCOPY, key, line.buf, line.len, err, sizeof(err));
	lh_jbuf_free(&line);
	if (rc < 0) {
		log_warnx("migration %s#%u (%s): state file: %s: a restart would forget this postcopy migration",
			  m->role->dir, m->id, m->route, line.oom ? "out of memory" : err);
		return;
	}
	int first = !m->kept_phase;
	m->kept_phase = m->phase;
	if (first)
		supersede(m);
}

static void restore_one(void *ctx, const struct lh_json_req *req)
{
	struct gw *gw = ctx;
	struct keep_postcopy p;
	char err[300], why[200];
	struct mig *m;

	if (keep_postcopy_parse(req, &p, err, sizeof(err)) < 0)
		return; /* checked when the file was read */
	snprintf(why, sizeof(why), "this gateway restarted while the migration was %s%s%.120s: QEMU paused it",
		 p.phase, p.why[0] ? ": " : "", p.why);
	if (p.outgoing) {
		struct src_mig *sm = src_mig_adopted(gw, route_find(gw, p.route), p.route, p.uid, p.dest);
		if (!sm)
			goto oom;
		m = &sm->m;
		m->postcopy = 1;
		m->fail_code = MFR_SESSION_LOST;
		snprintf(m->why, sizeof(m->why), "%s", why);
		m->kept_phase = m->phase; /* the record is there: updated below to the paused phase */
		src_transition(sm, SRC_EV_RESTORED, why);
	} else {
		struct dst_mig *dm = dst_mig_new(gw, 0, p.route, p.dest); /* 0: no peer ever numbers one so */
		if (!dm)
			goto oom;
		m = &dm->m;
		m->uid = p.uid;
		m->session = 0;
		m->postcopy = 1;
		m->fail_code = MFR_SESSION_LOST;
		snprintf(m->why, sizeof(m->why), "%s", why);
		m->kept_phase = m->phase;
		dst_transition(dm, DST_EV_RESTORED, why);
	}
	log_warnx("migration %s#%u (%s) uid %016llx: restored from the state file: postcopy-paused (%s)", m->role->dir,
		  m->id, m->route, (unsigned long long)m->uid, why);
	return;
oom:
	log_warnx("state file: out of memory restoring postcopy migration %016llx (%s)", (unsigned long long)p.uid,
		  p.route);
}

void kept_restore(struct gw *gw)
{
	if (gw->keep)
		keep_each(gw->keep, KEEP_POSTCOPY, restore_one, gw);
}
