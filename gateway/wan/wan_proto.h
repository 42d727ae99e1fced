/* SPDX-License-Identifier: MIT */
/* WAN protocol messages (WAN-PROTOCOL.md): 16-byte header, payload encoders and checked decoders. */
#ifndef LH_GATEWAY_WAN_PROTO_H
#define LH_GATEWAY_WAN_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "netstate/common.h"

#define WAN_HDR_LEN 16
#define WAN_MSG_MAX ((1u << 20) + 65536) /* payload limit = LH_WAN_FRAME_MAX */
/* The WAN protocol versions this release speaks (HELLO; WAN-PROTOCOL.md). */
#define WAN_PROTO_VERSION 1
#define WAN_PROTO_VERSION_MIN 1

enum wan_space { WAN_SPACE_LINK = 0, WAN_SPACE_BULK = 1, WAN_SPACE_URGENT = 2 };

enum wan_type {
	WAN_HELLO = 1, WAN_FRAME = 2, WAN_ACK = 3, WAN_CREDIT = 4, WAN_MIGRATION_OPEN = 5,
	WAN_CHANNEL_OPEN = 6, WAN_CHANNEL_CLOSE = 7, WAN_RETURN_DATA = 8, WAN_CHANNEL_RESET = 9,
	WAN_MIGRATION_RESULT = 10, WAN_PING = 11, WAN_PONG = 12, WAN_CHANNEL_DATA = 13,
	WAN_OUTCOME_QUERY = 14, WAN_OUTCOME = 15, WAN_CODEC_RESET = 16, WAN_CODEC_EPOCH = 17,
	WAN_TYPE__MAX = 17,
};

struct wan_hdr {
	uint8_t type, space;
	uint32_t len;
	uint64_t seq;
};

const char *wan_type_name(int type);
/* The space a type travels in. */
int wan_type_space(int type);
void wan_hdr_put(uint8_t out[WAN_HDR_LEN], const struct wan_hdr *h);
/* 0, or -EPROTO with what is wrong in err. */
int wan_hdr_get(const uint8_t in[WAN_HDR_LEN], struct wan_hdr *h, char *err, size_t errlen);

struct wan_hello {
	uint32_t version;     /* highest WAN protocol version the sender speaks */
	uint64_t session;
	uint16_t stream_index, streams;
	uint32_t store_mb;
	uint64_t rx_next[3]; /* indexed by space; [0] unused */
	uint32_t window_kib;
	uint32_t flags;     /* WAN_HELLO_NEW_SESSION, WAN_HELLO_CODEC_TRANSFORMS, WAN_HELLO_OUTCOMES */
	uint32_t version_min; /* lowest version it speaks; optional on the wire (absent: = version) */
	uint64_t incarnation; /* random per session object at the sender: another one = it lost the state; optional (0) */
};
#define WAN_HELLO_LEN 56      /* what we send; 44 (first release) and 48 are accepted */

/* Server's HELLO: it created the session for this HELLO (it knew no state for the id). */
#define WAN_HELLO_NEW_SESSION 1u
/* our decoder takes pointer-relative pages, record-header ops and ops in Z (codec FORMAT.md, HELLO bits 1-3) */
#define WAN_HELLO_CODEC_TRANSFORMS 2u
/* this gateway answers OUTCOME_QUERY (types 14 and 15): older peers neither set it nor get those messages */
#define WAN_HELLO_OUTCOMES 4u
/* this gateway takes CODEC_RESET and CODEC_EPOCH (types 16 and 17, "Codec epochs"): a decoder error then costs
 * the streams it can affect, not the session. Older peers neither set it nor get those messages. */
#define WAN_HELLO_CODEC_EPOCH 8u

struct wan_chan_open {
	uint32_t mig;
	uint16_t chan;
	uint8_t kind, mf_id;
	uint32_t stream_id;
	uint16_t segment;
};

/* MIGRATION_OPEN: the migration, and the guest's L2 identity for the cutover (vni 0 = none). */
struct wan_mopen {
	uint32_t mig;
	char route[256];
	char dest[256];
	uint32_t vni;
	struct ns_guest guest;
};
#define WAN_MOPEN_MAX (4 + 2 * 256 + 4 + 1 + NS_GUEST_MAX_MACS * 6 + 1 + NS_GUEST_MAX_IPS * 18)

/* CHANNEL_DATA flags: the message ends a segment (length + XXH3-128, no bytes) / QEMU closed the channel. */
#define WAN_CDATA_END 1u
#define WAN_CDATA_FIN 2u
#define WAN_CDATA_FIXED 9u
#define WAN_CDATA_END_LEN (WAN_CDATA_FIXED + 8 + 16)

/* CHANNEL_DATA: bytes of a priority channel (postcopy preempt) in the urgent space, outside the codec. */
struct wan_cdata {
	uint32_t mig;
	uint16_t chan, segment;
	uint8_t flags;
	const uint8_t *data; /* bytes (no END flag) */
	size_t len;
	uint64_t seg_len;    /* END: the segment's length and XXH3-128 (big-endian high, low) */
	uint8_t hash[16];
};

/* OUTCOME answers: what the destination QEMU said to a migration's end of stream, as its gateway knows it. */
enum wan_outcome_code {
	WAN_OUTCOME_UNKNOWN = 0,  /* no record: the answer was never seen here, or is not kept any more */
	WAN_OUTCOME_ACCEPTED = 1, /* SHUT 0 after the EOF was released: the guest runs at the destination */
	WAN_OUTCOME_REFUSED = 2,  /* refused, or reset before the EOF was released: the guest stays at the source */
	WAN_OUTCOME_PENDING = 3,  /* the EOF was released and the destination QEMU has not answered yet: ask again */
};
struct wan_outcome {
	uint64_t uid;
	uint8_t outcome;     /* enum wan_outcome_code */
	char reason[256];
};

/* CODEC_RESET: the receiver's decoder failed at bulk seq bad_seq; it starts codec epoch `epoch` and drops every
 * WAN_FRAME until the sender's CODEC_EPOCH with that epoch. */
struct wan_codec_reset {
	uint32_t epoch;
	uint64_t bad_seq;
	char reason[256];
};

struct wan_result {
	uint32_t mig;
	uint8_t ok;
	char reason[256];
	uint8_t flags;       /* WAN_RESULT_* */
	uint8_t code;        /* ok = 0: enum mig_fail_reason (0: not given) */
};

/* Decoded payload of any message except WAN_FRAME (whose payload is a codec frame). */
struct wan_msg {
	int type;
	union {
		struct wan_hello hello;
		struct { uint64_t seq[3]; } ack;
		struct { uint32_t mig; uint16_t chan; uint64_t limit; } credit;
		struct wan_mopen mopen;
		struct wan_chan_open copen;
		struct { uint32_t mig; uint16_t chan; uint8_t how; } cclose;
		struct { uint32_t mig; uint16_t chan; uint8_t fin; const uint8_t *data; size_t len; } rdata;
		struct wan_cdata cdata;
		struct { uint32_t mig; uint16_t chan; char reason[256]; } reset;
		struct wan_result result;
		struct { uint64_t uid; } oquery;
		struct wan_outcome outcome;
		struct wan_codec_reset creset;
		struct { uint32_t epoch; } cepoch;
		struct { uint64_t nonce; } ping;
	} u;
};

#define WAN_CHAN_ALL 0xffff
/* MIGRATION_RESULT flags (a trailing byte older gateways neither send nor read): ok=1 rests on the
 * destination QEMU's SHUT 0 seen after the integrity gate opened, not only on a clean close. */
#define WAN_RESULT_CONFIRMED 0x01
/* CHANNEL_OPEN segment flag: main's parser gave up before the EOF; this segment is plain bytes, never held
 * by the integrity gate (the gate cannot find the EOF in a stream nobody can parse). */
#define WAN_SEG_UNGATED 0x8000
/* CHANNEL_OPEN segment flag: the channel's bytes travel as CHANNEL_DATA in the urgent space (priority lane),
 * not as codec frames; segment ends are CHANNEL_DATA END messages, its close a CHANNEL_DATA FIN. */
#define WAN_SEG_PRIO 0x4000

/* Payload encoders: write into out (cap >= 600 for all but RETURN_DATA), return the length. */
size_t wan_enc_hello(uint8_t *out, const struct wan_hello *h);
size_t wan_enc_ack(uint8_t *out, uint64_t bulk, uint64_t urgent);
size_t wan_enc_credit(uint8_t *out, uint32_t mig, uint16_t chan, uint64_t limit);
/* out cap >= WAN_MOPEN_MAX */
size_t wan_enc_mopen(uint8_t *out, const struct wan_mopen *mo);
size_t wan_enc_copen(uint8_t *out, const struct wan_chan_open *c);
size_t wan_enc_cclose(uint8_t *out, uint32_t mig, uint16_t chan, uint8_t how);
/* Header part of RETURN_DATA (7 bytes); the data follows it. */
size_t wan_enc_rdata_hdr(uint8_t *out, uint32_t mig, uint16_t chan, uint8_t fin);
size_t wan_enc_reset(uint8_t *out, uint32_t mig, uint16_t chan, const char *reason);
/* flags: WAN_RESULT_*; code: why it failed (enum mig_fail_reason, 0 with ok). */
size_t wan_enc_result(uint8_t *out, uint32_t mig, uint8_t ok, const char *reason, uint8_t flags, uint8_t code);
size_t wan_enc_ping(uint8_t *out, uint64_t nonce);
/* "unknown", "accepted", "refused", "pending" (enum wan_outcome_code); "invalid" out of range. */
const char *wan_outcome_name(unsigned outcome);
size_t wan_enc_oquery(uint8_t *out, uint64_t uid);
size_t wan_enc_outcome(uint8_t *out, uint64_t uid, uint8_t outcome, const char *reason);
size_t wan_enc_codec_reset(uint8_t *out, uint32_t epoch, uint64_t bad_seq, const char *reason);
size_t wan_enc_codec_epoch(uint8_t *out, uint32_t epoch);
/* Fixed part of CHANNEL_DATA (WAN_CDATA_FIXED bytes); data bytes follow it. */
size_t wan_enc_cdata_hdr(uint8_t *out, uint32_t mig, uint16_t chan, uint16_t segment, uint8_t flags);
/* A whole CHANNEL_DATA END payload (WAN_CDATA_END_LEN bytes). */
size_t wan_enc_cdata_end(uint8_t *out, uint32_t mig, uint16_t chan, uint16_t segment, uint64_t seg_len,
			 const uint8_t hash[16]);

/* Decodes a payload of type (not WAN_FRAME). 0, or -EPROTO naming the field in err. */
int wan_msg_decode(int type, const uint8_t *p, size_t len, struct wan_msg *m, char *err,
		   size_t errlen);

#endif
