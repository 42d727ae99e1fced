/* SPDX-License-Identifier: MIT */
/*
 * Source role: the source QEMU's sockets outside longhauld's life (base/FDHOLD.md). From the moment main's
 * EOF leaves until the verdict, a crash of this daemon would close them and QEMU would resume the guest,
 * while the destination may already run it. The holder keeps dups of them, with a note of where the return
 * path stands (SHUT 0 can be appended only between two messages); after a restart they come back as
 * in-doubt migrations (src_doubt.c, src_doubt_adopt).
 *
 * The note (the holder's blob, ours to read):
 *   u8 version (1), u8 nch, nch x { u8 kind (lh_channel_kind), u8 held (1: its socket is among the fds, in
 *   order) }, u8 rp (SHOLD_RP_*), u32 shut status, u32 return-path messages relayed
 */
#include "gateway/mig/src_hold.h"

#include <stdio.h>

#include "gateway/base/log.h"

#define NOTE_VERSION 1

static size_t note(const struct src_mig *sm, uint8_t *out)
{
	const struct mig *m = &sm->m;
	const struct chan *mc = mig_main_chan(m);
	size_t n = 0;
	out[n++] = NOTE_VERSION;
	out[n++] = (uint8_t)m->nch;
	for (unsigned i = 0; i < m->nch; i++) {
		out[n++] = (uint8_t)m->ch[i]->kind;
		out[n++] = m->ch[i]->fd >= 0;
	}
	uint8_t rp = SHOLD_RP_BOUNDARY;
	uint32_t status = 0, msgs = 0;
	if (mc) {
		const lh_rp_scanner *s = &mc->rp;
		rp = s->state == LH_RP_SHUT_SEEN ? SHOLD_RP_SHUT : s->state == LH_RP_LOST ? SHOLD_RP_LOST
			: mig_rp_at_boundary(s) ? SHOLD_RP_BOUNDARY : SHOLD_RP_MID;
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

int shold_parse_note(const uint8_t *b, size_t len, struct shold_note *n)
{
	if (len < 2 || b[0] != NOTE_VERSION || b[1] > MIG_MAX_CHAN || len != 2 + 2u * b[1] + 9)
		return -1;
	n->nch = b[1];
	for (unsigned i = 0; i < n->nch; i++) {
		n->kind[i] = (lh_channel_kind)b[2 + 2 * i];
		n->held[i] = b[2 + 2 * i + 1] != 0;
	}
	const uint8_t *t = b + 2 + 2u * n->nch;
	n->rp_state = t[0] <= SHOLD_RP_SHUT ? t[0] : SHOLD_RP_LOST;
	n->shut_status = (uint32_t)t[1] << 24 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 8 | t[4];
	n->rp_messages = (uint32_t)t[5] << 24 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 8 | t[8];
	return 0;
}

void shold_keep(struct src_mig *sm)
{
	struct mig *m = &sm->m;
	uint8_t blob[2 + 2 * MIG_MAX_CHAN + 9];
	int fds[MIG_MAX_CHAN];
	unsigned n = 0;

	if (!m->gw->fdhold || sm->held)
		return;
	for (unsigned i = 0; i < m->nch; i++)
		if (m->ch[i]->fd >= 0)
			fds[n++] = m->ch[i]->fd;
	if (fdhold_keep(m->gw->fdhold, m->uid, m->route, fds, n, blob, note(sm, blob)) < 0) {
		/* the migration goes on; only a crash of ours from now on would be unsafe */
		log_warnx("migration out#%u (%s): the fd holder does not keep its sockets: a crash of this daemon "
			  "before the verdict would let the source QEMU resume the guest", m->id, m->route);
		return;
	}
	sm->held = 1;
	log_debug("migration out#%u (%s): %u sockets kept by the fd holder until the verdict", m->id, m->route, n);
}

void shold_note_rp(struct src_mig *sm)
{
	uint8_t blob[2 + 2 * MIG_MAX_CHAN + 9];
	if (sm->held)
		fdhold_update(sm->m.gw->fdhold, sm->m.uid, blob, note(sm, blob));
}

void shold_drop(struct src_mig *sm)
{
	if (!sm->held)
		return;
	fdhold_drop(sm->m.gw->fdhold, sm->m.uid);
	sm->held = 0;
}
