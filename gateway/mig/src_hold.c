/* SPDX-License-Identifier: MIT */
/*
 * The source QEMU's sockets outside longhauld's life (base/FDHOLD.md). From the moment main's EOF leaves
 * until the verdict, a crash of this daemon would close them and QEMU would resume the guest, while the
 * destination may already run it. The holder keeps dups of them; after a restart they come back here as
 * in-doubt migrations (indoubt.c), which ask the destination gateway for the recorded outcome.
 *
 * The note kept with them (the holder's blob, ours to read):
 *   u8 version (1), u8 nch, nch x { u8 kind (lh_channel_kind), u8 held (1: its socket is among the fds, in
 *   order) }, u8 rp (0 between messages, 1 inside a message, 2 not followed, 3 SHUT seen), u32 shut status,
 *   u32 return-path messages relayed
 */
#include "gateway/mig/src_hold.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway/base/fdhold.h"
#include "gateway/base/log.h"
#include "gateway/mig/indoubt.h"
#include "gateway/mig/migration.h"

enum { NOTE_VERSION = 1, RP_BOUNDARY = 0, RP_MID = 1, RP_LOST = 2, RP_SHUT = 3 };

static struct chan *main_of(const struct mig *m)
{
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->kind == LH_CHAN_MAIN)
			return m->ch[i];
	return NULL;
}

static size_t note(const struct mig *m, uint8_t *out)
{
	const struct chan *mc = main_of(m);
	size_t n = 0;
	out[n++] = NOTE_VERSION;
	out[n++] = (uint8_t)m->nch;
	for (unsigned i = 0; i < m->nch; i++) {
		out[n++] = (uint8_t)m->ch[i]->kind;
		out[n++] = m->ch[i]->fd >= 0;
	}
	uint8_t rp = RP_BOUNDARY;
	uint32_t status = 0, msgs = 0;
	if (mc) {
		const lh_rp_scanner *s = &mc->rp;
		rp = s->state == LH_RP_SHUT_SEEN ? RP_SHUT : s->state == LH_RP_LOST ? RP_LOST
			: (s->hlen || s->body_left) ? RP_MID : RP_BOUNDARY;
		status = s->status;
		msgs = (uint32_t)s->messages;
	}
	out[n++] = rp;
	for (int k = 3; k >= 0; k--)
		out[n++] = (uint8_t)(status >> (8 * k));
	for (int k = 3; k >= 0; k--)
		out[n++] = (uint8_t)(msgs >> (8 * k));
	return n;
}

void shold_keep(struct mig *m)
{
	uint8_t blob[2 + 2 * MIG_MAX_CHAN + 9];
	int fds[MIG_MAX_CHAN];
	unsigned n = 0;

	if (!m->gw->fdhold || m->dir != MIG_OUT || m->held)
		return;
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->fd >= 0)
			fds[n++] = m->ch[i]->fd;
	if (fdhold_keep(m->gw->fdhold, m->uid, m->route, fds, n, blob, note(m, blob)) < 0) {
		/* logged by fdhold; the migration goes on, only a crash of ours from now on would be unsafe */
		log_warnx("migration out#%u (%s): the fd holder does not keep its sockets: a crash of this daemon "
			  "before the verdict would let the source QEMU resume the guest", m->id, m->route);
		return;
	}
	m->held = 1;
	log_debug("migration out#%u (%s): %u sockets kept by the fd holder until the verdict", m->id, m->route, n);
}

void shold_note_rp(struct mig *m)
{
	uint8_t blob[2 + 2 * MIG_MAX_CHAN + 9];
	if (m->held)
		fdhold_update(m->gw->fdhold, m->uid, blob, note(m, blob));
}

void shold_drop(struct mig *m)
{
	if (!m->held)
		return;
	fdhold_drop(m->gw->fdhold, m->uid);
	m->held = 0;
}

/* One entry the holder kept: an in-doubt migration again, its channels on the kept sockets. */
static void adopt_one(void *ctx, const struct fdhold_entry *e)
{
	struct gw *gw = ctx;
	const uint8_t *b = e->blob;
	size_t len = e->blob_len;
	struct mig *m;
	unsigned used = 0;

	if (len < 2 || b[0] != NOTE_VERSION || b[1] > MIG_MAX_CHAN || len != 2 + 2u * b[1] + 9) {
		log_warnx("fd holder: entry %s uid %016" PRIx64 ": a note this release cannot read: letting go of its "
			  "%u sockets", e->name, e->uid, e->nfds);
		for (unsigned i = 0; i < e->nfds; i++)
			close(e->fds[i]);
		fdhold_drop(gw->fdhold, e->uid);
		return;
	}
	if (!(m = mig_new(gw, MIG_OUT, ++gw->next_mig, e->name, "(adopted after a restart)"))) {
		for (unsigned i = 0; i < e->nfds; i++)
			close(e->fds[i]); /* the holder still keeps its copies */
		return;
	}
	m->uid = e->uid;
	m->session = 0; /* not any session of ours: nothing is sent for it but OUTCOME_QUERY */
	for (unsigned i = 0; i < b[1]; i++) {
		int fd = -1;
		if (b[2 + 2 * i + 1] && used < e->nfds)
			fd = e->fds[used++];
		struct chan *c = chan_new(m, fd);
		if (!c) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		c->kind = (lh_channel_kind)b[2 + 2 * i];
		c->fwd_eof = 1; /* QEMU sent its stream before the crash; nothing more is read */
		lh_rp_init(&c->rp);
		chan_set_state(c, fd >= 0 ? CS_OPEN : CS_CLOSED, "adopted from the fd holder");
	}
	for (; used < e->nfds; used++)
		close(e->fds[used]);
	const uint8_t *t = b + 2 + 2u * b[1];
	struct chan *mc = main_of(m);
	if (mc) {
		/* where the return path stood: SHUT 0 can be appended only between two messages */
		mc->rp.messages = (uint64_t)t[5] << 24 | (uint64_t)t[6] << 16 | (uint64_t)t[7] << 8 | t[8];
		mc->rp.offset = mc->rp.messages ? 1 : 0;
		if (t[0] == RP_SHUT) {
			mc->rp.state = LH_RP_SHUT_SEEN;
			mc->rp.status = (uint32_t)t[1] << 24 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 8 | t[4];
		} else if (t[0] != RP_BOUNDARY) {
			mc->rp.state = LH_RP_LOST;
			mc->rp.reason = "cut inside a message before the restart";
		}
	}
	m->held = 1;
	doubt_adopted(m);
	log_warnx("migration out#%u (%s) uid %016" PRIx64 ": adopted from the fd holder after a restart (%u sockets): "
		  "in doubt until the destination gateway's record or an operator decides", m->id, m->route, m->uid,
		  e->nfds);
}

void shold_adopt(struct gw *gw)
{
	char err[200];
	if (!gw->fdhold)
		return;
	if (fdhold_list(gw->fdhold, adopt_one, gw, err, sizeof(err)) < 0)
		log_warnx("fd holder: cannot take back what it keeps: %s", err);
}

void mig_adopt_held(struct gw *gw)
{
	shold_adopt(gw);
}
