/* SPDX-License-Identifier: MIT */
/* Destination role: the integrity gate (WAN-PROTOCOL.md): main's end of stream held until every channel verified. */
#include <stdio.h>

#include "gateway/base/log.h"
#include "gateway/mig/dst.h"
#include "gateway/wan/wan.h"

#define QEMU_VM_EOF 0x00 /* main's end-of-stream byte, the first of segment 1 (qemu-migration-format.md) */

/*
 * An item of main's segment 0, from the pipe's one parser of that stream (pipe/lan_streams.h), before its
 * bytes are delivered. 1: no longer wanted (the migration ended, or failed here).
 */
int dst_gate_item(struct dst_chan *dc, const lh_event *ev)
{
	struct dst_mig *dm = DM(dc->c.m);

	if (!mig_live(&dm->m))
		return 1;
	if (ev->type == LH_EV_COMMAND && ev->u.command.cmd == LH_CMD_OPEN_RETURN_PATH)
		dc->saw_orp = 1;
	if (ev->type == LH_EV_COMMAND && ev->u.command.cmd == LH_CMD_POSTCOPY_LISTEN)
		dm->listen_seen = 1;
	if (ev->type == LH_EV_SECTION_HEADER && !dc->checked_orp) {
		dc->checked_orp = 1;
		if (!dc->saw_orp)
			log_warnx("migration in#%u (%s): no OPEN_RETURN_PATH on the main channel: QEMU's return-path "
				  "capability is off, so the source cannot learn of a failed verification; turn it on",
				  dm->m.id, dm->m.route);
	}
	if (pc_watch_event(&dc->pc, ev) && dm->state == DST_STREAMING) {
		dm->m.postcopy = 1;
		dst_transition(dm, DST_EV_POSTCOPY_RUN, "main carried POSTCOPY_RUN: the guest runs here from now on; "
			       "the gate is evidence only");
	}
	if (ev->type == LH_EV_EOF) {
		/* the frame carrying it is not delivered: the migration is no longer live when it is handed on */
		dst_fail(dm, MFR_INTEGRITY, "integrity gate: EOF inside main's verified segment (sender did not cut)", 1);
		return 1;
	}
	return 0;
}

int dst_gate_hold(struct dst_chan *mc, unsigned seg, const uint8_t *data, size_t n)
{
	struct dst_mig *dm = DM(mc->c.m);
	char why[200];

	if (n && !mc->eof_held && data[0] != QEMU_VM_EOF) {
		snprintf(why, sizeof(why), "integrity gate: main's segment %u begins with 0x%02x, not QEMU_VM_EOF", seg,
			 data[0]);
		dst_fail(dm, MFR_INTEGRITY, why, 1);
		return -1;
	}
	if (dst_credit_check(mc, n) < 0)
		return -1;
	if (bbuf_add(&mc->held, data, n) < 0) {
		dst_fail(dm, MFR_GATEWAY, "out of memory holding the stream end", 1);
		return -1;
	}
	dm->m.raw_bytes += n;
	if (n && !mc->eof_held) {
		mc->eof_held = 1;
		dst_gate_check(dm); /* segment 0's ENDs may all be in: the EOF was the last piece */
	}
	return 0;
}

void dst_gate_check(struct dst_mig *dm)
{
	struct mig *m = &dm->m;
	struct dst_chan *mc = NULL;
	uint64_t held;

	if (dm->state != DST_STREAMING && dm->state != DST_POSTCOPY)
		return; /* released already, or ended */
	for (unsigned i = 0; i < m->nch; i++) {
		if (!dst_ch(dm, i)->seg0_ok)
			return;
		if (m->ch[i]->kind == LH_CHAN_MAIN)
			mc = dst_ch(dm, i);
	}
	/* main's segment 1 must have begun with the EOF byte: segment 0's END alone is no end of stream */
	if (!mc || mc->c.segment == 0 || (mc->c.segment & WAN_SEG_UNGATED) || !mc->eof_held || dm->gate_open)
		return;
	held = mc->held.len;
	if (held && bbuf_add(&mc->c.out, mc->held.p + mc->held.off, mc->held.len) < 0) {
		dst_fail(dm, MFR_GATEWAY, "out of memory releasing the gate", 1);
		return;
	}
	dm->gate_open = 1;
	bbuf_free(&mc->held);
	log_info("migration in#%u (%s): integrity gate: %u channels verified (length + XXH3-128), releasing EOF "
		 "(%llu bytes held)", m->id, m->route, m->nch, (unsigned long long)held);
	dst_transition(dm, DST_EV_GATE_OPEN, "all channels verified");
	if (m->rq_n)
		log_info("migration in#%u (%s): postcopy page requests: %u answered on the preempt channel, round trip "
			 "(return-path read -> first preempt bytes) mean %.1f ms, max %.1f ms", m->id, m->route, m->rq_n,
			 m->rq_sum * 1e3 / m->rq_n, m->rq_max * 1e3);
	dst_chan_io(mc, EV_WRITE);
}
