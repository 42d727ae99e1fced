/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the WAN protocol decoders (peer input): message headers and every payload type. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gateway/wan/wan_proto.c"

/*
 * The input is a sequence of messages as a stream would carry them. Every
 * decoded field must stay inside the input; a decodable payload must
 * re-encode to the same bytes (HELLO..PONG have one encoding each).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[200];
	while (size >= WAN_HDR_LEN) {
		struct wan_hdr h;
		struct wan_msg m;
		if (wan_hdr_get(data, &h, err, sizeof(err)) < 0)
			return 0;
		uint8_t back[WAN_HDR_LEN];
		wan_hdr_put(back, &h);
		if (memcmp(back, data, WAN_HDR_LEN))
			__builtin_trap();
		data += WAN_HDR_LEN;
		size -= WAN_HDR_LEN;
		size_t n = h.len < size ? h.len : size;
		if (h.type != WAN_FRAME && wan_msg_decode(h.type, data, n, &m, err, sizeof(err)) == 0) {
			uint8_t re[WAN_MOPEN_MAX];
			size_t rl = 0;
			switch (h.type) {
			case WAN_HELLO:
				/* version_min (from 48 bytes) and incarnation (from 56) are optional on input */
				rl = wan_enc_hello(re, &m.u.hello);
				if (n < 48 && m.u.hello.version_min != m.u.hello.version)
					__builtin_trap();
				if (n < 56 && m.u.hello.incarnation)
					__builtin_trap();
				rl = n >= 56 ? rl : n >= 48 ? 48 : 44;
				break;
			case WAN_ACK: rl = wan_enc_ack(re, m.u.ack.seq[1], m.u.ack.seq[2]); break;
			case WAN_CREDIT: rl = wan_enc_credit(re, m.u.credit.mig, m.u.credit.chan, m.u.credit.limit); break;
			case WAN_CHANNEL_OPEN: rl = wan_enc_copen(re, &m.u.copen); break;
			case WAN_PING: case WAN_PONG: rl = wan_enc_ping(re, m.u.ping.nonce); break;
			case WAN_CODEC_RESET:
				rl = wan_enc_codec_reset(re, m.u.creset.epoch, m.u.creset.bad_seq, m.u.creset.reason);
				if (rl != n)
					__builtin_trap();
				break;
			case WAN_CODEC_EPOCH: rl = wan_enc_codec_epoch(re, m.u.cepoch.epoch); break;
			case WAN_MIGRATION_OPEN:
				/* the identity tail is optional on input; re-encoded it is always there (6 bytes when empty) */
				rl = wan_enc_mopen(re, &m.u.mopen);
				if (rl < n || memcmp(re, data, n) || (rl != n && rl != n + 6))
					__builtin_trap();
				rl = 0;
				break;
			case WAN_MIGRATION_RESULT: {
				/* flags and code are optional on input (older peers; 0 when absent), trailing bytes after
				 * them ignored; re-encoded both are always there */
				static const uint8_t zero[2];
				rl = wan_enc_result(re, m.u.result.mig, m.u.result.ok, m.u.result.reason, m.u.result.flags,
						    m.u.result.code);
				size_t same = rl < n ? rl : n;
				if (memcmp(re, data, same) || (n < rl && (rl - n > 2 || memcmp(re + n, zero, rl - n))))
					__builtin_trap();
				rl = 0;
				break;
			}
			case WAN_RETURN_DATA:
				if (m.u.rdata.data + m.u.rdata.len != data + n)
					__builtin_trap();
				break;
			case WAN_CHANNEL_DATA:
				if (m.u.cdata.flags & WAN_CDATA_END)
					rl = wan_enc_cdata_end(re, m.u.cdata.mig, m.u.cdata.chan, m.u.cdata.segment,
							       m.u.cdata.seg_len, m.u.cdata.hash);
				else if (m.u.cdata.data + m.u.cdata.len != data + n ||
					 wan_enc_cdata_hdr(re, m.u.cdata.mig, m.u.cdata.chan, m.u.cdata.segment,
							   m.u.cdata.flags) != WAN_CDATA_FIXED)
					__builtin_trap();
				else
					rl = WAN_CDATA_FIXED;
				break;
			default: break;
			}
			/* CREDIT's reserved field is not checked on input: compare the fields we encode */
			if (rl && h.type != WAN_CREDIT && memcmp(re, data, rl))
				__builtin_trap();
		}
		data += n;
		size -= n;
	}
	return 0;
}
