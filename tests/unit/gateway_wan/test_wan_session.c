/* SPDX-License-Identifier: MIT */
/*
 * The WAN transport (wan_session.c, wan_link.c, wan_proto.c) over a fake link (fake_link.c): a client and a
 * server gateway in one process, no sockets, no TLS, fake time. Each test states its intent in one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gateway_control/check.h"
#include "fake_link.h"
#include "gateway/base/log.h"

#define C 0 /* the client gateway (dials) */
#define S 1 /* the server gateway (listens) */

/*-***** Log capture: the reasons the transport gives are only in its log *****-*/

static FILE *cap_file;
static int cap_saved = -1;
static char cap_text[1 << 16];

static void cap_start(void)
{
	fflush(stderr);
	log_set_level(LH_LOG_INFO);
	cap_file = tmpfile();
	cap_saved = dup(2);
	dup2(fileno(cap_file), 2);
}

static const char *cap_end(void)
{
	fflush(stderr);
	dup2(cap_saved, 2);
	close(cap_saved);
	rewind(cap_file);
	size_t n = fread(cap_text, 1, sizeof(cap_text) - 1, cap_file);
	cap_text[n] = 0;
	fclose(cap_file);
	log_set_level(LH_LOG_WARN);
	return cap_text;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/*-***** Helpers *****-*/

/* Dials every stream and exchanges the HELLOs. */
static void bring_up(struct fworld *w)
{
	fw_tick(w);
	fw_pump(w, 0);
}

static size_t replay_n(struct fworld *w, int side, int space)
{
	return w->gw[side].sess ? w->gw[side].sess->tx[space].replay.n : 0;
}

static size_t replay_bytes(struct fworld *w, int side, int space)
{
	return w->gw[side].sess ? w->gw[side].sess->tx[space].replay_bytes : 0;
}

static void send_mix(struct fworld *w, int side, int n)
{
	for (int i = 0; i < n; i++) {
		switch (i % 3) {
		case 0: CHECK(fw_send_frame(w, side) == 0); break;
		case 1: CHECK(fw_send_urgent(w, side) == 0); break;
		default: CHECK(fw_send_bulk_msg(w, side) == 0); break;
		}
	}
}

/* Everything the sender sent reached the receiver's layer above once, in order. */
static void check_all_arrived(struct fworld *w, int from, const char *what)
{
	struct rec *tx = &w->rec[from], *rx = &w->rec[!from];
	if (rx->order_errors)
		fprintf(stderr, "%s: %s\n", what, rx->first_error);
	CHECK(rx->order_errors == 0);
	CHECK(rx->seq_errors == 0);
	CHECK(rx->rx_next[WAN_SPACE_BULK] == tx->tx_next[WAN_SPACE_BULK]);
	CHECK(rx->rx_next[WAN_SPACE_URGENT] == tx->tx_next[WAN_SPACE_URGENT]);
	CHECK(rx->rx_count[WAN_SPACE_BULK] == tx->tx_next[WAN_SPACE_BULK] - 1);
	CHECK(rx->rx_count[WAN_SPACE_URGENT] == tx->tx_next[WAN_SPACE_URGENT] - 1);
	CHECK(fw_check_invariants(w, C) == 0);
	CHECK(fw_check_invariants(w, S) == 0);
}

/*-***** Tests *****-*/

/* Streams come up: HELLOs exchanged both ways, one session each side, the same id. */
static void test_bring_up(void)
{
	struct fworld w;
	fw_init(&w, 4);
	bring_up(&w);
	CHECK(wan_links_up(&w.gw[C]) == 4);
	CHECK(wan_links_up(&w.gw[S]) == 4);
	CHECK(wan_session_id(&w.gw[C]) != 0);
	CHECK(wan_session_id(&w.gw[C]) == wan_session_id(&w.gw[S]));
	CHECK(w.rec[C].sessions_new == 1 && w.rec[S].sessions_new == 1);
	CHECK(w.rec[C].link_ups == 4 && w.rec[S].link_ups == 4);
	CHECK(w.rec[C].last_hello_flags & WAN_HELLO_CODEC_TRANSFORMS);
	CHECK(wan_session_version(&w.gw[C]) == WAN_PROTO_VERSION);
	CHECK(wan_session_version(&w.gw[S]) == WAN_PROTO_VERSION);
	fw_free(&w);
}

/* Bulk and urgent messages spread over 4 streams and delivered one stream after the other (reordered) are
 * handed up strictly in seq order per space, exactly once; nothing before the first one is there. */
static void test_reorder_across_streams(void)
{
	struct fworld w;
	fw_init(&w, 4);
	bring_up(&w);
	send_mix(&w, C, 300);
	/* the stream that carries bulk seq 1 is delivered last */
	struct wan_out *first = ptrq_at(&w.gw[C].sess->tx[WAN_SPACE_BULK].replay, 0);
	struct fstream *last = fw_stream(&w, first->link);
	CHECK(last != NULL);
	for (struct fstream *s = w.streams; s; s = s->next)
		if (s != last)
			while (fw_deliver(&w, s, 0))
				;
	CHECK(w.rec[S].rx_count[WAN_SPACE_BULK] == 0); /* all held in the reorder window */
	CHECK(w.gw[S].sess->rx[WAN_SPACE_BULK].next == 1);
	CHECK(fw_check_invariants(&w, S) == 0);
	while (last && fw_deliver(&w, last, 0))
		;
	fw_pump(&w, 1);
	check_all_arrived(&w, C, "reorder");
	CHECK(w.gw[S].st.dup_rx == 0);
	/* and the other way, shuffled */
	send_mix(&w, S, 200);
	fw_pump(&w, 1);
	check_all_arrived(&w, S, "reorder back");
	fw_free(&w);
}

/* A message delivered twice, and messages replayed after a stream loss, are dropped and counted (dup_rx). */
static void test_duplicates(void)
{
	struct fworld w;
	fw_init(&w, 2);
	bring_up(&w);
	fw_send_frame(&w, C);
	struct fstream *s = fw_stream(&w, ((struct wan_out *)ptrq_at(&w.gw[C].sess->tx[1].replay, 0))->link);
	CHECK(fw_dup_head(s, 0) == 0);
	fw_pump(&w, 0);
	CHECK(w.gw[S].st.dup_rx == 1);
	check_all_arrived(&w, C, "dup");
	/* delivered but not acknowledged, then the stream dies: the client resends, the server drops them */
	send_mix(&w, C, 12);
	fw_pump(&w, 0);
	struct fstream *k = fw_stream(&w, 0);
	uint64_t resent = w.gw[C].st.resent;
	size_t unacked = replay_n(&w, C, 1) + replay_n(&w, C, 2);
	CHECK(unacked == 13);
	fw_kill(&w, k, "test: stream killed");
	fw_pump(&w, 0);
	CHECK(w.gw[C].st.resent > resent);
	CHECK(w.gw[S].st.dup_rx == 1 + (w.gw[C].st.resent - resent));
	check_all_arrived(&w, C, "replayed");
	fw_free(&w);
}

/* ACK: the sender's replay buffer shrinks exactly to what the peer acknowledged; an ack beyond what was sent
 * is clamped (the next message is still kept for replay). The receiver's own ACK (tick) empties it. */
static void test_ack(void)
{
	struct fworld w;
	fw_init(&w, 2);
	bring_up(&w);
	for (int i = 0; i < 10; i++)
		fw_send_frame(&w, C);
	fw_pump(&w, 0);
	CHECK(replay_n(&w, C, 1) == 10);
	size_t one = replay_bytes(&w, C, 1) / 10;
	CHECK(one * 10 == replay_bytes(&w, C, 1));
	struct fstream *s = fw_stream(&w, 0);
	uint8_t p[16];
	fw_inject_msg(s, 1, WAN_ACK, 0, 0, p, wan_enc_ack(p, 4, 0));
	fw_deliver(&w, s, 1);
	CHECK(replay_n(&w, C, 1) == 6);
	CHECK(replay_bytes(&w, C, 1) == 6 * one);
	CHECK(((struct wan_out *)ptrq_at(&w.gw[C].sess->tx[1].replay, 0))->seq == 5);
	CHECK(fw_check_invariants(&w, C) == 0);
	/* an older ack changes nothing */
	fw_inject_msg(s, 1, WAN_ACK, 0, 0, p, wan_enc_ack(p, 2, 0));
	fw_deliver(&w, s, 1);
	CHECK(replay_n(&w, C, 1) == 6);
	/* beyond what was sent: clamped */
	fw_inject_msg(s, 1, WAN_ACK, 0, 0, p, wan_enc_ack(p, 1000, 1000));
	fw_deliver(&w, s, 1);
	CHECK(replay_n(&w, C, 1) == 0 && replay_bytes(&w, C, 1) == 0);
	CHECK(w.gw[C].sess->tx[1].acked == 10);
	CHECK(w.gw[C].sess->tx[2].acked == 0);
	fw_send_frame(&w, C);
	CHECK(replay_n(&w, C, 1) == 1);
	CHECK(((struct wan_out *)ptrq_at(&w.gw[C].sess->tx[1].replay, 0))->seq == 11);
	/* the receiver acknowledges by itself within 20 ms */
	send_mix(&w, C, 9);
	fw_pump(&w, 0);
	CHECK(replay_n(&w, C, 1) + replay_n(&w, C, 2) > 0);
	fw_advance(&w, 0.03);
	fw_pump(&w, 0);
	CHECK(replay_n(&w, C, 1) == 0 && replay_n(&w, C, 2) == 0);
	CHECK(replay_bytes(&w, C, 1) == 0 && replay_bytes(&w, C, 2) == 0);
	check_all_arrived(&w, C, "ack");
	fw_free(&w);
}

/* A stream dies with messages queued on it (not written) and written on it (in flight, lost): they are
 * requeued on the other streams and the receiver gets every message once, in order. */
static void test_stream_loss_requeue(void)
{
	struct fworld w;
	fw_init(&w, 3);
	bring_up(&w);
	/* every client end stalls: what is sent now waits in the streams' queues */
	for (struct fstream *s = w.streams; s; s = s->next)
		fw_pause(s, 0, 1);
	send_mix(&w, C, 30);
	struct fstream *q = fw_stream(&w, 1), *f = fw_stream(&w, 2);
	CHECK(q->e[0].l->queued > 0);
	/* stream 2 writes (its messages go in flight), then dies with them */
	fw_pause(f, 0, 0);
	CHECK(f->e[0].n > 0);
	fw_kill(&w, f, "test: stream killed");
	/* stream 1 dies with its queue */
	fw_kill(&w, q, "test: stream killed");
	for (struct fstream *s = w.streams; s; s = s->next)
		if (s->e[0].l)
			fw_pause(s, 0, 0);
	fw_pump(&w, 1);
	CHECK(w.gw[C].st.resent >= 20);
	check_all_arrived(&w, C, "requeue");
	CHECK(w.gw[S].st.dup_rx == 0);
	fw_free(&w);
}

/* With no stream up, sequenced messages wait unassigned; the first stream that comes up takes them all.
 * Its HELLO's receive position acts as an ACK: what the peer already had is not resent. */
static void test_all_down_then_reconnect(void)
{
	struct fworld w;
	fw_init(&w, 2);
	bring_up(&w);
	for (int i = 0; i < 10; i++)
		fw_send_frame(&w, C);
	fw_pump(&w, 0); /* the server has all 10 but has not acknowledged (no tick) */
	CHECK(replay_n(&w, C, 1) == 10);
	while (w.streams && fw_stream(&w, 0))
		fw_kill(&w, fw_stream(&w, 0), "test: all down");
	while (fw_stream(&w, 1))
		fw_kill(&w, fw_stream(&w, 1), "test: all down");
	CHECK(wan_links_up(&w.gw[C]) == 0);
	w.dial_fail = 1;
	send_mix(&w, C, 6); /* sent while nothing is up */
	CHECK(fw_check_invariants(&w, C) == 0);
	CHECK(w.gw[S].sess != NULL); /* the server keeps the session */
	fw_advance(&w, 1.5);
	CHECK(wan_links_up(&w.gw[C]) == 0);
	w.dial_fail = 0;
	fw_advance(&w, 1.5); /* redial */
	fw_pump(&w, 0);
	CHECK(wan_links_up(&w.gw[C]) == 2);
	CHECK(w.rec[S].sessions_new == 1); /* attached to the existing session */
	CHECK(w.rec[C].sessions_closed == 0);
	CHECK(w.gw[S].st.dup_rx == 0);   /* the 10 it had were acknowledged by its HELLO, not resent */
	check_all_arrived(&w, C, "reconnect");
	fw_free(&w);
}

/* The server attaches a stream to the session at the index the client names, replacing a dead one there. */
static void test_server_attach_index(void)
{
	struct fworld w;
	fw_init(&w, 3);
	bring_up(&w);
	struct wan_link *old = w.gw[S].sess->links[1];
	struct fstream *s = fw_stream(&w, 1);
	/* the client side dies only: the server still holds its end when the redial comes */
	wan_link_close(s->e[0].l, "test: client side lost");
	CHECK(w.gw[S].sess->links[1] == old);
	fw_advance(&w, 1.5);
	struct fstream *n = fw_stream(&w, 1);
	CHECK(n != NULL && n != s);
	while (n && fw_deliver(&w, n, 0))
		;
	CHECK(w.gw[S].sess->links[1] != old && w.gw[S].sess->links[1] != NULL);
	CHECK(w.gw[S].sess->links[1]->idx == 1);
	CHECK(w.rec[S].sessions_new == 1);
	fw_pump(&w, 0);
	CHECK(wan_links_up(&w.gw[S]) == 3 && wan_links_up(&w.gw[C]) == 3);
	send_mix(&w, C, 30);
	fw_pump(&w, 1);
	check_all_arrived(&w, C, "attach");
	fw_free(&w);
}

/* The peer lost the session state (restart): its HELLO says NEW_SESSION after our state moved and a stream
 * of ours died, so the client fails its session and starts over with a new id and fresh sequence spaces. */
static void test_new_session_after_restart(void)
{
	struct fworld w;
	fw_init(&w, 2);
	bring_up(&w);
	send_mix(&w, C, 10);
	fw_pump(&w, 0);
	uint64_t id = wan_session_id(&w.gw[C]);
	wan_session_fail(&w.gw[S], "test: server restarted"); /* closes its streams, forgets the session */
	CHECK(w.gw[S].sess == NULL);
	fw_pump(&w, 0); /* the client sees its streams end */
	CHECK(wan_links_up(&w.gw[C]) == 0);
	fw_advance(&w, 1.5); /* redial with the old id: the server creates it anew, NEW_SESSION */
	fw_pump(&w, 0);
	CHECK(w.rec[C].sessions_closed == 1);
	CHECK_HAS(w.rec[C].closed_reason, "peer lost the session state");
	CHECK(wan_session_id(&w.gw[C]) != id && wan_session_id(&w.gw[C]) != 0);
	fw_advance(&w, 1.5);
	fw_pump(&w, 0);
	fw_advance(&w, 1.5);
	fw_pump(&w, 0);
	CHECK(wan_links_up(&w.gw[C]) == 2);
	CHECK(wan_session_id(&w.gw[S]) == wan_session_id(&w.gw[C]));
	CHECK(w.gw[C].sess->tx[1].next_seq == 1 && w.gw[C].sess->rx[1].next == 1);
	send_mix(&w, C, 9);
	fw_pump(&w, 1);
	check_all_arrived(&w, C, "after restart");
	fw_free(&w);
}

/* The peer lost the session state and the HELLO answer that said NEW_SESSION is lost with its stream: the
 * next answer (attached, no NEW) comes from another session object (incarnation), and the client starts over
 * instead of going on with sequence spaces the peer no longer has (it would drop the peer's new seq 1 as a
 * duplicate and wait forever for seqs it believes acknowledged). */
static void test_new_session_answer_lost(void)
{
	struct fworld w;
	fw_init(&w, 1);
	bring_up(&w);
	send_mix(&w, C, 4);
	send_mix(&w, S, 4);
	fw_pump(&w, 0);
	fw_advance(&w, 0.03); /* acknowledged both ways */
	fw_pump(&w, 0);
	wan_session_fail(&w.gw[S], "test: decoder error");
	fw_pump(&w, 0);
	CHECK(wan_links_up(&w.gw[C]) == 0);
	fw_advance(&w, 1.5); /* redial */
	struct fstream *s = fw_stream(&w, 0);
	CHECK(s != NULL);
	while (s && fw_deliver(&w, s, 0)) /* the server creates the session anew and answers NEW_SESSION */
		;
	CHECK(w.rec[S].sessions_new == 2);
	if (s)
		wan_link_close(s->e[0].l, "test: lost before the answer arrived");
	fw_pump(&w, 0);
	fw_advance(&w, 2.5); /* redial (backed off: that stream never came up): attached, no NEW */
	fw_pump(&w, 0);
	CHECK(w.rec[C].sessions_closed == 1);
	CHECK_HAS(w.rec[C].closed_reason, "peer lost the session state");
	for (int i = 0; i < 3; i++) {
		fw_advance(&w, 1.5);
		fw_pump(&w, 0);
	}
	CHECK(wan_links_up(&w.gw[C]) == 1);
	CHECK(wan_session_id(&w.gw[S]) == wan_session_id(&w.gw[C]));
	send_mix(&w, C, 9);
	send_mix(&w, S, 9);
	fw_pump(&w, 1);
	check_all_arrived(&w, C, "answer lost, client to server");
	check_all_arrived(&w, S, "answer lost, server to client");
	fw_free(&w);
}

/* At session start the NEW_SESSION HELLO may arrive after another stream's HELLO and after frames moved:
 * with no stream lost, that is the start of the session, not lost state. */
static void test_new_session_flag_late_at_start(void)
{
	struct fworld w;
	fw_init(&w, 2);
	fw_tick(&w);
	struct fstream *a = fw_stream(&w, 0), *b = fw_stream(&w, 1);
	/* the server gets stream a's HELLO first (it creates the session: a's answer has NEW), then b's */
	fw_deliver(&w, a, 0);
	fw_deliver(&w, b, 0);
	fw_deliver(&w, b, 1); /* b's answer (not NEW) reaches the client first */
	CHECK(wan_links_up(&w.gw[C]) == 1);
	send_mix(&w, C, 6);
	fw_pump(&w, 0);
	CHECK(w.rec[C].sessions_closed == 0);
	CHECK(wan_links_up(&w.gw[C]) == 2);
	check_all_arrived(&w, C, "late NEW");
	fw_free(&w);
}

/* HELLO refusals: wrong session id in the answer, store_mb mismatch, and a message before HELLO; the reason
 * is kept (wan_last_error) and logged once however often the peer redials. */
static void test_hello_refusals(void)
{
	struct fworld w;
	struct wan_hello h;
	uint8_t p[64];

	/* the server answers with another session id */
	fw_init(&w, 1);
	fw_tick(&w);
	struct fstream *s = fw_stream(&w, 0);
	wan_sess_fill_hello(&w.gw[C], &h, 0);
	h.session ^= 0x55;
	fw_inject_msg(s, 1, WAN_HELLO, 0, 0, p, wan_enc_hello(p, &h));
	fw_deliver(&w, s, 1);
	CHECK(wan_links_up(&w.gw[C]) == 0);
	CHECK_HAS(wan_last_error(&w.gw[C]), "another session id");
	fw_free(&w);

	/* a message before HELLO */
	fw_init(&w, 1);
	fw_tick(&w);
	s = fw_stream(&w, 0);
	fw_inject_msg(s, 1, WAN_PING, 0, 0, p, wan_enc_ping(p, 7));
	fw_deliver(&w, s, 1);
	CHECK(wan_links_up(&w.gw[C]) == 0);
	CHECK_HAS(wan_last_error(&w.gw[C]), "first message is not HELLO");
	fw_free(&w);

	/* store_mb differs: refused at every redial, logged once */
	fw_init(&w, 2);
	w.gw[S].cfg.codec.store_mb = 512;
	log_set_level(LH_LOG_INFO);
	cap_start();
	for (int i = 0; i < 4; i++) {
		fw_advance(&w, 2.5);
		fw_pump(&w, 0);
	}
	const char *log = cap_end();
	CHECK(wan_links_up(&w.gw[C]) == 0 && w.gw[S].sess == NULL);
	CHECK_HAS(wan_last_error(&w.gw[S]), "store_mb 256 differs from ours (512)");
	CHECK(count_of(log, "refused: peer store_mb") == 1);
	CHECK(count_of(log, "refused: peer closed the stream") == 1); /* the client: once too */
	/* once a stream is up, the error is gone */
	w.gw[S].cfg.codec.store_mb = 256;
	for (int i = 0; i < 3; i++) {
		fw_advance(&w, 16);
		fw_pump(&w, 0);
	}
	CHECK(wan_links_up(&w.gw[C]) == 2);
	CHECK_STR(wan_last_error(&w.gw[S]), "");
	CHECK_STR(wan_last_error(&w.gw[C]), "");
	fw_free(&w);
}

/* HELLO versions: ranges that do not overlap are refused on both sides naming both ranges; ranges that
 * overlap bring the session up speaking the lower of the two highest. */
static void test_hello_versions(void)
{
	struct fworld w;

	fw_init(&w, 2);
	w.gw[C].test_wan_version = 3;
	w.gw[C].test_wan_version_min = 3;
	bring_up(&w);
	CHECK(wan_links_up(&w.gw[C]) == 0 && w.gw[S].sess == NULL);
	CHECK_STR(wan_last_error(&w.gw[S]), "peer speaks WAN protocol 3, we speak 1..1");
	CHECK_STR(wan_last_error(&w.gw[C]), "peer speaks WAN protocol 1, we speak 3..3");
	fw_free(&w);

	/* the client speaks 1..2, the server 1..1: version 1 */
	fw_init(&w, 2);
	w.gw[C].test_wan_version = 2;
	bring_up(&w);
	CHECK(wan_links_up(&w.gw[C]) == 2);
	CHECK(wan_session_version(&w.gw[C]) == 1 && wan_session_version(&w.gw[S]) == 1);
	fw_free(&w);

	/* 2..2 against 1..3: version 2 on both sides */
	fw_init(&w, 2);
	w.gw[C].test_wan_version = 2;
	w.gw[C].test_wan_version_min = 2;
	w.gw[S].test_wan_version = 3;
	w.gw[S].test_wan_version_min = 1;
	bring_up(&w);
	CHECK(wan_links_up(&w.gw[C]) == 2);
	CHECK(wan_session_version(&w.gw[C]) == 2 && wan_session_version(&w.gw[S]) == 2);
	/* a stream whose HELLO lands on another version than its session is refused */
	struct fstream *s = fw_stream(&w, 0);
	wan_link_close(s->e[0].l, "test: lost");
	fw_pump(&w, 0);
	w.gw[C].test_wan_version_min = 1;
	w.gw[C].test_wan_version = 3;
	fw_advance(&w, 1.5);
	fw_pump(&w, 0);
	CHECK(wan_links_up(&w.gw[C]) == 1);
	CHECK(wan_session_version(&w.gw[C]) == 2);
	CHECK_STR(wan_last_error(&w.gw[S]), "stream speaks WAN protocol 3, its session 2");
	fw_free(&w);

	/* a HELLO of the first release (44 bytes, no version_min) is accepted as version..version */
	fw_init(&w, 1);
	fw_tick(&w);
	s = fw_stream(&w, 0);
	struct wan_hello h;
	uint8_t p[64];
	while (fw_deliver(&w, s, 0)) /* the server answers */
		;
	CHECK(s->e[1].n == 1);
	s->e[1].head->len = WAN_HDR_LEN + 44; /* cut version_min off, as a first release sends it */
	s->e[1].head->data[7] = 44;
	fw_pump(&w, 0);
	CHECK(wan_links_up(&w.gw[C]) == 1);
	(void)h;
	(void)p;
	fw_free(&w);
}

/* A seq beyond the reorder window closes the stream; a header with a bad type, space or length is refused
 * with a reason naming the field. */
static void test_bad_input(void)
{
	struct fworld w;
	uint8_t raw[WAN_HDR_LEN];
	static const struct { uint8_t type, space; uint32_t len; uint64_t seq; const char *why; } bad[] = {
		{ 99, 0, 0, 0, "unknown type 99" },
		{ WAN_FRAME, 2, 0, 5, "WAN_FRAME in space 2" },
		{ WAN_ACK, 0, WAN_MSG_MAX + 1, 0, "length 1114113 over" },
		{ WAN_PING, 0, 8, 3, "PING with seq 3" },
	};

	fw_init(&w, 2);
	bring_up(&w);
	struct fstream *s = fw_stream(&w, 0);
	log_set_level(LH_LOG_INFO);
	cap_start();
	fw_inject_msg(s, 0, WAN_FRAME, 1, 1 + WAN_RING, "01234567", 8);
	fw_deliver(&w, s, 0);
	const char *log = cap_end();
	CHECK(wan_links_up(&w.gw[S]) == 1);
	CHECK_HAS(log, "beyond the reorder window");
	CHECK(fw_check_invariants(&w, S) == 0);
	/* the last slot of the window is fine */
	s = fw_stream(&w, 1);
	fw_inject_msg(s, 0, WAN_FRAME, 1, WAN_RING, "01234567", 8);
	fw_deliver(&w, s, 0);
	CHECK(wan_links_up(&w.gw[S]) == 1);
	CHECK(w.gw[S].sess->rx[1].ring[0] != NULL);
	fw_free(&w);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fw_init(&w, 1);
		bring_up(&w);
		s = fw_stream(&w, 0);
		struct wan_hdr h = { .type = bad[i].type, .space = bad[i].space, .len = bad[i].len, .seq = bad[i].seq };
		wan_hdr_put(raw, &h);
		fw_inject(s, 0, raw, WAN_HDR_LEN); /* the header is refused before any payload is read */
		cap_start();
		fw_deliver(&w, s, 0);
		log = cap_end();
		CHECK(wan_links_up(&w.gw[S]) == 0);
		CHECK_HAS(log, bad[i].why);
		fw_free(&w);
	}
}

/* before_bulk runs before a non-frame bulk message takes its seq (a frame the layer above holds goes first);
 * urgent and link messages do not call it; wan_frame_send gives consecutive seqs. */
static void test_before_bulk_and_frame_seqs(void)
{
	struct fworld w;
	fw_init(&w, 2);
	bring_up(&w);
	for (int i = 0; i < 5; i++)
		fw_send_frame(&w, C);
	const struct ptrq *rp = &w.gw[C].sess->tx[1].replay;
	for (size_t i = 0; i < rp->n; i++)
		CHECK(((struct wan_out *)ptrq_at(rp, i))->seq == i + 1);
	CHECK(w.rec[C].before_bulk == 0);
	/* a frame produced but not yet sent: before_bulk sends it, so it precedes the CHANNEL_CLOSE */
	struct wan_out *o = wan_frame_new(&w.gw[C], 8);
	uint8_t *p = wan_frame_payload(o);
	uint64_t k = w.rec[C].tx_next[WAN_SPACE_BULK];
	for (int i = 7; i >= 0; i--, k >>= 8)
		p[i] = (uint8_t)k;
	w.rec[C].pending_frame = o;
	CHECK(fw_send_bulk_msg(&w, C) == 0);
	CHECK(w.rec[C].before_bulk == 1);
	CHECK(w.rec[C].pending_frame == NULL);
	CHECK(rp->n == 7);
	CHECK(((struct wan_out *)ptrq_at(rp, 5))->seq == 6); /* the frame */
	CHECK(((struct wan_out *)ptrq_at(rp, 6))->seq == 7); /* the CHANNEL_CLOSE */
	CHECK(fw_send_urgent(&w, C) == 0);
	uint8_t a[16];
	CHECK(wan_send(&w.gw[C], WAN_ACK, a, wan_enc_ack(a, 0, 0), NULL, 0) == 0);
	CHECK(w.rec[C].before_bulk == 1);
	fw_pump(&w, 0);
	check_all_arrived(&w, C, "before_bulk");
	fw_free(&w);
}

/* Keepalive: PINGs every 2 s come back as PONGs (rtt); a stream with no input for 10 s is closed, and the
 * client session fails when no stream is up for 30 s while work depends on it. */
static void test_keepalive_and_loss_budget(void)
{
	struct fworld w;
	fw_init(&w, 2);
	bring_up(&w);
	fw_advance(&w, 2.1);
	fw_pump(&w, 0);
	CHECK(w.rec[C].rtts >= 2 && w.rec[S].rtts >= 2);
	/* nothing delivered for 11 s */
	for (int i = 0; i < 11; i++)
		fw_advance(&w, 1.0);
	CHECK(wan_links_up(&w.gw[C]) == 0);
	CHECK(wan_links_up(&w.gw[S]) == 0);
	w.dial_fail = 1;
	w.rec[C].busy = 1;
	for (int i = 0; i < 31; i++)
		fw_advance(&w, 1.0);
	CHECK(w.rec[C].sessions_closed == 1);
	CHECK_HAS(w.rec[C].closed_reason, "loss beyond budget");
	CHECK(w.rec[C].sessions_new == 2);
	fw_free(&w);
}

/* [wan] outage_budget_s: the session fails that many seconds after its last stream went down, not 30. */
static void test_outage_budget_configured(void)
{
	struct fworld w;
	fw_init(&w, 2);
	w.gw[C].cfg.wan.outage_budget_s = 3;
	bring_up(&w);
	for (int i = 0; i < 11; i++)
		fw_advance(&w, 1.0);
	CHECK(wan_links_up(&w.gw[C]) == 0);
	w.dial_fail = 1;
	w.rec[C].busy = 1;
	fw_advance(&w, 2.0);
	CHECK(w.rec[C].sessions_closed == 0);
	fw_advance(&w, 1.5);
	fw_advance(&w, 1.0);
	CHECK(w.rec[C].sessions_closed == 1);
	CHECK_HAS(w.rec[C].closed_reason, "no stream for 3 s");
	fw_free(&w);
}

int main(void)
{
	log_init("test_wan_session", LH_LOG_WARN, 1);
	test_bring_up();
	test_reorder_across_streams();
	test_duplicates();
	test_ack();
	test_stream_loss_requeue();
	test_all_down_then_reconnect();
	test_server_attach_index();
	test_new_session_after_restart();
	test_new_session_answer_lost();
	test_new_session_flag_late_at_start();
	test_hello_refusals();
	test_hello_versions();
	test_bad_input();
	test_before_bulk_and_frame_seqs();
	test_keepalive_and_loss_budget();
	test_outage_budget_configured();
	return check_report("test_wan_session");
}
