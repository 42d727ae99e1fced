/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the WAN transport's state (wan_session.c, wan_link.c) over the fake link
 * (tests/unit/gateway_wan/fake_link.c): a client and a server gateway, fake time, no sockets.
 *
 * The input is a sequence of operations: deliver a message in flight (on a chosen stream, either way) or
 * everything, advance time (acks, keepalive, redial, loss budget), send frames / bulk / urgent messages,
 * kill a stream or one end of it, pause a stream's writes, duplicate a message in flight, inject forged
 * messages (HELLO, ACK, CREDIT, PING, PONG with chosen fields; sequenced messages with chosen seqs relative
 * to the receive position; raw headers), fail a session. After every operation the invariants hold: replay
 * bytes add up to the entries, replay seqs ascend below next_seq and sit on a stream that is up, the reorder
 * ring holds only seqs inside its window, and what is handed up comes in seq order with no gap, per space.
 * Without forged input, every message sent also arrives once, in order, after the link settles.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_link.h"
#include "gateway/base/log.h"

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t g8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t g16(struct in *in) { return (uint16_t)(g8(in) << 8 | g8(in)); }
static uint32_t g32(struct in *in) { return (uint32_t)g16(in) << 16 | g16(in); }
static uint64_t g64(struct in *in) { return (uint64_t)g32(in) << 32 | g32(in); }

static void gbytes(struct in *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = g8(in);
}

static struct fstream *pick_stream(struct fworld *w, struct in *in)
{
	size_t k = 0;
	for (struct fstream *s = w->streams; s; s = s->next)
		k++;
	if (!k)
		return NULL;
	size_t i = g8(in) % k;
	struct fstream *s = w->streams;
	while (i--)
		s = s->next;
	return s;
}

static void check(struct fworld *w)
{
	for (int k = 0; k < 2; k++) {
		if (fw_check_invariants(w, k) < 0)
			__builtin_trap();
		if (w->rec[k].seq_errors) {
			fprintf(stderr, "%s: %s\n", k ? "server" : "client", w->rec[k].first_error);
			__builtin_trap();
		}
		if (!w->forged && w->rec[k].order_errors) {
			fprintf(stderr, "%s: %s\n", k ? "server" : "client", w->rec[k].first_error);
			__builtin_trap();
		}
	}
}

/* The session the receiving end's gateway has (to forge fields relative to it). */
static struct wan_session *sess_of(struct fworld *w, int side)
{
	return w->gw[side].sess;
}

static void forge_link_msg(struct fworld *w, struct fstream *s, int from, struct in *in)
{
	int to = !from;
	struct wan_session *rs = sess_of(w, to);
	uint8_t p[64];
	size_t n = 0;
	int type;

	switch (g8(in) % 5) {
	case 0: {
		struct wan_hello h;
		memset(&h, 0, sizeof(h));
		h.version = g8(in) % 4;
		h.version_min = g8(in) % 4;
		uint8_t f = g8(in);
		h.session = (f & 1) && rs ? rs->id : (f & 2) && sess_of(w, from) ? sess_of(w, from)->id : g64(in);
		h.stream_index = g8(in) % 70;
		h.streams = g8(in) % 70;
		h.store_mb = (f & 4) ? g32(in) : 256;
		for (int sp = 1; sp < 3; sp++)
			h.rx_next[sp] = rs ? rs->tx[sp].next_seq - (g8(in) % 8) : g8(in);
		h.window_kib = g32(in);
		h.flags = g8(in) & 3;
		h.incarnation = (f & 16) ? g64(in) : sess_of(w, from) ? sess_of(w, from)->incarnation : 0;
		n = wan_enc_hello(p, &h);
		if (f & 8)
			n = 44; /* a first-release HELLO */
		type = WAN_HELLO;
		w->forged = 1; /* its rx_next acknowledges */
		break;
	}
	case 1: {
		uint64_t a[3] = { 0, 0, 0 };
		for (int sp = 1; sp < 3; sp++) {
			int8_t d = (int8_t)g8(in);
			a[sp] = rs ? rs->tx[sp].next_seq - 1 + (uint64_t)(int64_t)d : (uint64_t)(uint8_t)d;
		}
		n = wan_enc_ack(p, a[1], a[2]);
		type = WAN_ACK;
		w->forged = 1;
		break;
	}
	case 2:
		n = wan_enc_credit(p, g32(in), g16(in), g64(in));
		type = WAN_CREDIT;
		break;
	case 3:
		n = wan_enc_ping(p, g64(in));
		type = WAN_PING;
		break;
	default:
		n = wan_enc_ping(p, g64(in));
		type = WAN_PONG;
		break;
	}
	fw_inject_msg(s, from, type, WAN_SPACE_LINK, 0, p, n);
}

static void forge_sequenced(struct fworld *w, struct fstream *s, int from, struct in *in)
{
	static const int types[] = { WAN_FRAME, WAN_MIGRATION_OPEN, WAN_CHANNEL_OPEN, WAN_CHANNEL_CLOSE,
				     WAN_RETURN_DATA, WAN_CHANNEL_RESET, WAN_MIGRATION_RESULT, WAN_CHANNEL_DATA };
	int type = types[g8(in) % 8];
	int space = wan_type_space(type);
	struct wan_session *rs = sess_of(w, !from);
	uint8_t f = g8(in);
	int64_t d = (int16_t)g16(in);
	uint64_t base = rs ? rs->rx[space].next : 1;
	uint64_t seq = base + (uint64_t)d;
	if (f & 1)
		seq = base + WAN_RING - 1 + (f >> 1 & 1); /* at the window's edge */
	if (!seq)
		seq = 1;
	uint8_t p[64];
	size_t n = g8(in) % 48;
	gbytes(in, p, n);
	fw_inject_msg(s, from, type, space, seq, p, n);
	w->forged = 1;
}

static void forge_raw(struct fworld *w, struct fstream *s, int from, struct in *in)
{
	uint8_t b[WAN_HDR_LEN + 64];
	struct wan_hdr h;
	char err[200];
	gbytes(in, b, WAN_HDR_LEN);
	if (wan_hdr_get(b, &h, err, sizeof(err)) < 0) {
		fw_inject(s, from, b, WAN_HDR_LEN); /* refused at the header: nothing more is read */
		return;
	}
	h.len %= 64;
	wan_hdr_put(b, &h);
	gbytes(in, b + WAN_HDR_LEN, h.len);
	fw_inject(s, from, b, WAN_HDR_LEN + h.len);
	if (h.space != WAN_SPACE_LINK || h.type == WAN_ACK || h.type == WAN_HELLO)
		w->forged = 1;
}

/* Unpaused, dialing, time moving with every message delivered: a healthy link delivers everything. */
static void settle(struct fworld *w)
{
	w->dial_fail = 0;
	for (struct fstream *s = w->streams; s; s = s->next)
		for (int e = 0; e < 2; e++)
			if (s->e[e].paused)
				fw_pause(s, e, 0);
	for (int i = 0; i < 40; i++) {
		fw_advance(w, 0.5);
		fw_pump(w, 0);
		check(w);
	}
	if (w->forged || !w->gw[0].sess || !w->gw[1].sess || w->gw[0].sess->id != w->gw[1].sess->id ||
	    !wan_links_up(&w->gw[0]))
		return;
	for (int k = 0; k < 2; k++)
		for (int sp = 1; sp < 3; sp++)
			if (w->rec[!k].rx_next[sp] != w->rec[k].tx_next[sp] ||
			    w->gw[k].sess->tx[sp].replay.n) {
				fprintf(stderr, "%s -> %s: space %d: sent up to %llu, received up to %llu, %zu unacked\n",
					k ? "server" : "client", k ? "client" : "server", sp,
					(unsigned long long)w->rec[k].tx_next[sp] - 1,
					(unsigned long long)w->rec[!k].rx_next[sp] - 1, w->gw[k].sess->tx[sp].replay.n);
				__builtin_trap();
			}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* quiet: the log is not under test here (FUZZ_WAN_LOG=1 shows it, to read a finding) */
	log_init("fuzz_wan_transport", getenv("FUZZ_WAN_LOG") ? LH_LOG_DEBUG : -1, 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fworld *w = malloc(sizeof(*w));
	struct in in = { data, size };
	if (!w)
		return 0;
	fw_init(w, 1 + g8(&in) % 4);
	w->seed = g8(&in);
	fw_tick(w); /* dial */
	int ops = 0;
	while (in.n && ops++ < 400) {
		uint8_t op = g8(&in);
		int side = op >> 7;
		struct fstream *s;
		switch (op % 16) {
		case 0:
			if ((s = pick_stream(w, &in)))
				fw_deliver(w, s, g8(&in) & 1);
			break;
		case 1:
			fw_pump(w, g8(&in) & 1);
			break;
		case 2:
			fw_advance(w, g8(&in) * 0.02);
			break;
		case 3:
			/* as the codec pipe does: frames only while the replay buffer has room */
			for (int i = g8(&in) % 8; i >= 0 && wan_replay_room(&w->gw[side]); i--)
				fw_send_frame(w, side);
			break;
		case 4:
			if (wan_urgent_room(&w->gw[side]))
				fw_send_urgent(w, side);
			break;
		case 5:
			if ((g8(&in) & 1) && w->gw[side].sess && !w->rec[side].pending_frame) {
				struct wan_out *o = wan_frame_new(&w->gw[side], 8);
				uint64_t k = w->rec[side].tx_next[WAN_SPACE_BULK];
				for (int i = 7; i >= 0; i--, k >>= 8)
					wan_frame_payload(o)[i] = (uint8_t)k;
				w->rec[side].pending_frame = o;
			}
			fw_send_bulk_msg(w, side);
			break;
		case 6:
			if ((s = pick_stream(w, &in)))
				fw_kill(w, s, "fuzz: stream killed");
			break;
		case 7:
			if ((s = pick_stream(w, &in)) && s->e[side].l)
				wan_link_close(s->e[side].l, "fuzz: one end lost");
			break;
		case 8:
			if ((s = pick_stream(w, &in)))
				fw_pause(s, side, !s->e[side].paused);
			break;
		case 9:
			if ((s = pick_stream(w, &in)))
				fw_dup_head(s, side);
			break;
		case 10:
			if ((s = pick_stream(w, &in)))
				forge_link_msg(w, s, side, &in);
			break;
		case 11:
			if ((s = pick_stream(w, &in)))
				forge_sequenced(w, s, side, &in);
			break;
		case 12:
			if ((s = pick_stream(w, &in)))
				forge_raw(w, s, side, &in);
			break;
		case 13:
			wan_session_fail(&w->gw[side], "fuzz: decoder error");
			break;
		case 14:
			w->dial_fail = !w->dial_fail;
			break;
		default:
			w->rec[side].ahead_take = !w->rec[side].ahead_take;
			w->rec[side].busy = !w->rec[side].busy;
			break;
		}
		check(w);
	}
	settle(w);
	fw_free(w);
	free(w);
	return 0;
}
