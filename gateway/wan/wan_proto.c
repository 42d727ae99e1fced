/* SPDX-License-Identifier: MIT */
/* WAN protocol messages: header and payload encoding, bounds-checked decoding of peer input. */
#include "gateway/wan/wan_proto.h"

#include <errno.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[] = {
	[WAN_HELLO] = "HELLO", [WAN_FRAME] = "WAN_FRAME", [WAN_ACK] = "ACK", [WAN_CREDIT] = "CREDIT",
	[WAN_MIGRATION_OPEN] = "MIGRATION_OPEN", [WAN_CHANNEL_OPEN] = "CHANNEL_OPEN",
	[WAN_CHANNEL_CLOSE] = "CHANNEL_CLOSE", [WAN_RETURN_DATA] = "RETURN_DATA",
	[WAN_CHANNEL_RESET] = "CHANNEL_RESET", [WAN_MIGRATION_RESULT] = "MIGRATION_RESULT",
	[WAN_PING] = "PING", [WAN_PONG] = "PONG", [WAN_CHANNEL_DATA] = "CHANNEL_DATA",
	[WAN_OUTCOME_QUERY] = "OUTCOME_QUERY", [WAN_OUTCOME] = "OUTCOME", [WAN_CODEC_RESET] = "CODEC_RESET",
	[WAN_CODEC_EPOCH] = "CODEC_EPOCH",
};

const char *wan_type_name(int type)
{
	if (type < 1 || type > WAN_TYPE__MAX)
		return "UNKNOWN";
	return type_names[type];
}

int wan_type_space(int type)
{
	switch (type) {
	case WAN_FRAME: case WAN_MIGRATION_OPEN: case WAN_CHANNEL_OPEN: case WAN_CHANNEL_CLOSE:
	case WAN_CODEC_EPOCH:
		return WAN_SPACE_BULK;
	case WAN_RETURN_DATA: case WAN_CHANNEL_RESET: case WAN_MIGRATION_RESULT: case WAN_CHANNEL_DATA:
	case WAN_OUTCOME_QUERY: case WAN_OUTCOME: case WAN_CODEC_RESET:
		return WAN_SPACE_URGENT;
	default:
		return WAN_SPACE_LINK;
	}
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, (uint16_t)v); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v >> 32); put32(p + 4, (uint32_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

void wan_hdr_put(uint8_t out[WAN_HDR_LEN], const struct wan_hdr *h)
{
	out[0] = h->type;
	out[1] = h->space;
	put16(out + 2, 0);
	put32(out + 4, h->len);
	put64(out + 8, h->seq);
}

int wan_hdr_get(const uint8_t in[WAN_HDR_LEN], struct wan_hdr *h, char *err, size_t errlen)
{
	h->type = in[0];
	h->space = in[1];
	h->len = get32(in + 4);
	h->seq = get64(in + 8);
	if (h->type < 1 || h->type > WAN_TYPE__MAX) {
		snprintf(err, errlen, "message header: unknown type %u", h->type);
		return -EPROTO;
	}
	if (h->space != wan_type_space(h->type)) {
		snprintf(err, errlen, "message header: %s in space %u", wan_type_name(h->type), h->space);
		return -EPROTO;
	}
	if (get16(in + 2) != 0) {
		snprintf(err, errlen, "message header: reserved field 0x%04x", get16(in + 2));
		return -EPROTO;
	}
	if (h->len > WAN_MSG_MAX) {
		snprintf(err, errlen, "message header: %s length %u over %u", wan_type_name(h->type),
			 h->len, WAN_MSG_MAX);
		return -EPROTO;
	}
	if ((h->space == WAN_SPACE_LINK) != (h->seq == 0)) {
		snprintf(err, errlen, "message header: %s with seq %llu", wan_type_name(h->type),
			 (unsigned long long)h->seq);
		return -EPROTO;
	}
	return 0;
}

static size_t put_str8(uint8_t *p, const char *s)
{
	size_t n = strlen(s);
	if (n > 255)
		n = 255;
	p[0] = (uint8_t)n;
	memcpy(p + 1, s, n);
	return n + 1;
}

size_t wan_enc_hello(uint8_t *out, const struct wan_hello *h)
{
	put32(out, h->version);
	put64(out + 4, h->session);
	put16(out + 12, h->stream_index);
	put16(out + 14, h->streams);
	put32(out + 16, h->store_mb);
	put64(out + 20, h->rx_next[WAN_SPACE_BULK]);
	put64(out + 28, h->rx_next[WAN_SPACE_URGENT]);
	put32(out + 36, h->window_kib);
	put32(out + 40, h->flags);
	put32(out + 44, h->version_min);
	put64(out + 48, h->incarnation);
	return WAN_HELLO_LEN;
}

size_t wan_enc_ack(uint8_t *out, uint64_t bulk, uint64_t urgent)
{
	put64(out, bulk);
	put64(out + 8, urgent);
	return 16;
}

size_t wan_enc_credit(uint8_t *out, uint32_t mig, uint16_t chan, uint64_t limit)
{
	put32(out, mig);
	put16(out + 4, chan);
	put16(out + 6, 0);
	put64(out + 8, limit);
	return 16;
}

size_t wan_enc_mopen(uint8_t *out, const struct wan_mopen *mo)
{
	const struct ns_guest *g = &mo->guest;
	size_t n = 4;

	put32(out, mo->mig);
	n += put_str8(out + n, mo->route);
	n += put_str8(out + n, mo->dest);
	put32(out + n, mo->vni);
	n += 4;
	out[n++] = (uint8_t)g->n_macs;
	for (unsigned i = 0; i < g->n_macs; i++, n += NS_MAC_LEN)
		memcpy(out + n, g->macs[i], NS_MAC_LEN);
	out[n++] = (uint8_t)g->n_ips;
	for (unsigned i = 0; i < g->n_ips; i++) {
		size_t al = ns_ip_len(&g->ips[i].ip);
		out[n++] = g->ips[i].mac_index;
		out[n++] = al == 4 ? 4 : 6;
		memcpy(out + n, g->ips[i].ip.a, al);
		n += al;
	}
	return n;
}

/* The identity tail of MIGRATION_OPEN (optional: a payload may end after the destination). */
static int get_identity(const uint8_t *p, size_t len, size_t off, struct wan_mopen *mo, char *err,
			size_t errlen)
{
	struct ns_guest *g = &mo->guest;

	if (off == len)
		return 0;
	if (len - off < 5) {
		snprintf(err, errlen, "MIGRATION_OPEN: identity at offset %zu: %zu bytes, needs 5", off, len - off);
		return -EPROTO;
	}
	mo->vni = get32(p + off);
	g->n_macs = p[off + 4];
	off += 5;
	if (g->n_macs > NS_GUEST_MAX_MACS || len - off < g->n_macs * (size_t)NS_MAC_LEN + 1) {
		snprintf(err, errlen, "MIGRATION_OPEN: %u MACs (at most %d) do not fit the payload", g->n_macs,
			 NS_GUEST_MAX_MACS);
		return -EPROTO;
	}
	for (unsigned i = 0; i < g->n_macs; i++, off += NS_MAC_LEN)
		memcpy(g->macs[i], p + off, NS_MAC_LEN);
	g->n_ips = p[off++];
	if (g->n_ips > NS_GUEST_MAX_IPS) {
		snprintf(err, errlen, "MIGRATION_OPEN: %u IPs, at most %d", g->n_ips, NS_GUEST_MAX_IPS);
		return -EPROTO;
	}
	for (unsigned i = 0; i < g->n_ips; i++) {
		struct ns_guest_ip *gi = &g->ips[i];
		size_t al;
		if (len - off < 2 || (p[off + 1] != 4 && p[off + 1] != 6) || p[off] >= g->n_macs) {
			snprintf(err, errlen, "MIGRATION_OPEN: IP #%u at offset %zu: bad MAC index or family", i, off);
			return -EPROTO;
		}
		gi->mac_index = p[off];
		gi->ip.family = p[off + 1] == 4 ? AF_INET : AF_INET6;
		al = p[off + 1] == 4 ? 4 : 16;
		off += 2;
		if (len - off < al) {
			snprintf(err, errlen, "MIGRATION_OPEN: IP #%u runs past the payload", i);
			return -EPROTO;
		}
		memcpy(gi->ip.a, p + off, al);
		off += al;
	}
	if (off != len) {
		snprintf(err, errlen, "MIGRATION_OPEN: %zu trailing bytes", len - off);
		return -EPROTO;
	}
	return 0;
}

size_t wan_enc_copen(uint8_t *out, const struct wan_chan_open *c)
{
	put32(out, c->mig);
	put16(out + 4, c->chan);
	out[6] = c->kind;
	out[7] = c->mf_id;
	put32(out + 8, c->stream_id);
	put16(out + 12, c->segment);
	return 14;
}

size_t wan_enc_cclose(uint8_t *out, uint32_t mig, uint16_t chan, uint8_t how)
{
	put32(out, mig);
	put16(out + 4, chan);
	out[6] = how;
	return 7;
}

size_t wan_enc_rdata_hdr(uint8_t *out, uint32_t mig, uint16_t chan, uint8_t fin)
{
	return wan_enc_cclose(out, mig, chan, fin);
}

size_t wan_enc_reset(uint8_t *out, uint32_t mig, uint16_t chan, const char *reason)
{
	put32(out, mig);
	put16(out + 4, chan);
	return 6 + put_str8(out + 6, reason);
}

size_t wan_enc_result(uint8_t *out, uint32_t mig, uint8_t ok, const char *reason, uint8_t flags, uint8_t code)
{
	put32(out, mig);
	out[4] = ok;
	size_t n = 5 + put_str8(out + 5, reason);
	out[n] = flags;
	out[n + 1] = code;
	return n + 2;
}

const char *wan_outcome_name(unsigned outcome)
{
	static const char *const names[] = {
		[WAN_OUTCOME_UNKNOWN] = "unknown", [WAN_OUTCOME_ACCEPTED] = "accepted",
		[WAN_OUTCOME_REFUSED] = "refused", [WAN_OUTCOME_PENDING] = "pending",
	};
	return outcome <= WAN_OUTCOME_PENDING ? names[outcome] : "invalid";
}

size_t wan_enc_oquery(uint8_t *out, uint64_t uid)
{
	put64(out, uid);
	return 8;
}

size_t wan_enc_outcome(uint8_t *out, uint64_t uid, uint8_t outcome, const char *reason)
{
	put64(out, uid);
	out[8] = outcome;
	return 9 + put_str8(out + 9, reason);
}

size_t wan_enc_codec_reset(uint8_t *out, uint32_t epoch, uint64_t bad_seq, const char *reason)
{
	put32(out, epoch);
	put64(out + 4, bad_seq);
	return 12 + put_str8(out + 12, reason);
}

size_t wan_enc_codec_epoch(uint8_t *out, uint32_t epoch)
{
	put32(out, epoch);
	return 4;
}

size_t wan_enc_ping(uint8_t *out, uint64_t nonce)
{
	put64(out, nonce);
	return 8;
}

size_t wan_enc_cdata_hdr(uint8_t *out, uint32_t mig, uint16_t chan, uint16_t segment, uint8_t flags)
{
	put32(out, mig);
	put16(out + 4, chan);
	put16(out + 6, segment);
	out[8] = flags;
	return WAN_CDATA_FIXED;
}

size_t wan_enc_cdata_end(uint8_t *out, uint32_t mig, uint16_t chan, uint16_t segment, uint64_t seg_len,
			 const uint8_t hash[16])
{
	wan_enc_cdata_hdr(out, mig, chan, segment, WAN_CDATA_END);
	put64(out + WAN_CDATA_FIXED, seg_len);
	memcpy(out + WAN_CDATA_FIXED + 8, hash, 16);
	return WAN_CDATA_END_LEN;
}

/* Reads a str8 at *off into dst (NUL-terminated); -1 when it runs past len. */
static int get_str8(const uint8_t *p, size_t len, size_t *off, char dst[256])
{
	if (*off >= len || *off + 1 + p[*off] > len)
		return -1;
	size_t n = p[*off];
	if (memchr(p + *off + 1, 0, n))
		return -1; /* a NUL inside would silently cut the name */
	memcpy(dst, p + *off + 1, n);
	dst[n] = 0;
	*off += 1 + n;
	return 0;
}

int wan_msg_decode(int type, const uint8_t *p, size_t len, struct wan_msg *m, char *err,
		   size_t errlen)
{
	static const size_t fixed[WAN_TYPE__MAX + 1] = {
		[WAN_HELLO] = 44, [WAN_ACK] = 16, [WAN_CREDIT] = 16, [WAN_MIGRATION_OPEN] = 4,
		[WAN_CHANNEL_OPEN] = 14, [WAN_CHANNEL_CLOSE] = 7, [WAN_RETURN_DATA] = 7,
		[WAN_CHANNEL_RESET] = 6, [WAN_MIGRATION_RESULT] = 5, [WAN_PING] = 8, [WAN_PONG] = 8,
		[WAN_CHANNEL_DATA] = WAN_CDATA_FIXED, [WAN_OUTCOME_QUERY] = 8, [WAN_OUTCOME] = 9,
		[WAN_CODEC_RESET] = 13, [WAN_CODEC_EPOCH] = 4,
	};
	size_t off;

	memset(m, 0, sizeof(*m));
	m->type = type;
	if (type < 1 || type > WAN_TYPE__MAX || type == WAN_FRAME) {
		snprintf(err, errlen, "message type %d has no decodable payload", type);
		return -EPROTO;
	}
	if (len < fixed[type]) {
		snprintf(err, errlen, "%s payload %zu bytes, needs %zu", wan_type_name(type), len,
			 fixed[type]);
		return -EPROTO;
	}
	off = fixed[type];
	switch (type) {
	case WAN_HELLO:
		m->u.hello.version = get32(p);
		m->u.hello.session = get64(p + 4);
		m->u.hello.stream_index = get16(p + 12);
		m->u.hello.streams = get16(p + 14);
		m->u.hello.store_mb = get32(p + 16);
		m->u.hello.rx_next[WAN_SPACE_BULK] = get64(p + 20);
		m->u.hello.rx_next[WAN_SPACE_URGENT] = get64(p + 28);
		m->u.hello.window_kib = get32(p + 36);
		m->u.hello.flags = get32(p + 40);
		/* a gateway of the first release sends no version_min: it speaks only its version */
		m->u.hello.version_min = len >= 48 ? get32(p + 44) : m->u.hello.version;
		m->u.hello.incarnation = len >= 56 ? get64(p + 48) : 0;
		if (m->u.hello.version_min > m->u.hello.version) {
			snprintf(err, errlen, "HELLO: version_min %u above version %u", m->u.hello.version_min,
				 m->u.hello.version);
			return -EPROTO;
		}
		break;
	case WAN_ACK:
		m->u.ack.seq[WAN_SPACE_BULK] = get64(p);
		m->u.ack.seq[WAN_SPACE_URGENT] = get64(p + 8);
		break;
	case WAN_CREDIT:
		m->u.credit.mig = get32(p);
		m->u.credit.chan = get16(p + 4);
		m->u.credit.limit = get64(p + 8);
		break;
	case WAN_MIGRATION_OPEN:
		m->u.mopen.mig = get32(p);
		if (get_str8(p, len, &off, m->u.mopen.route) || get_str8(p, len, &off, m->u.mopen.dest)) {
			snprintf(err, errlen, "MIGRATION_OPEN: route or destination runs past the payload or contains NUL");
			return -EPROTO;
		}
		if (get_identity(p, len, off, &m->u.mopen, err, errlen) < 0)
			return -EPROTO;
		break;
	case WAN_CHANNEL_OPEN:
		m->u.copen.mig = get32(p);
		m->u.copen.chan = get16(p + 4);
		m->u.copen.kind = p[6];
		m->u.copen.mf_id = p[7];
		m->u.copen.stream_id = get32(p + 8);
		m->u.copen.segment = get16(p + 12);
		break;
	case WAN_CHANNEL_CLOSE:
	case WAN_RETURN_DATA:
		m->u.cclose.mig = get32(p);
		m->u.cclose.chan = get16(p + 4);
		m->u.cclose.how = p[6];
		if (type == WAN_RETURN_DATA) {
			m->u.rdata.data = p + 7;
			m->u.rdata.len = len - 7;
		}
		break;
	case WAN_CHANNEL_RESET:
		m->u.reset.mig = get32(p);
		m->u.reset.chan = get16(p + 4);
		if (get_str8(p, len, &off, m->u.reset.reason)) {
			snprintf(err, errlen, "CHANNEL_RESET: reason runs past the payload or contains NUL");
			return -EPROTO;
		}
		break;
	case WAN_MIGRATION_RESULT:
		m->u.result.mig = get32(p);
		m->u.result.ok = p[4];
		if (get_str8(p, len, &off, m->u.result.reason)) {
			snprintf(err, errlen, "MIGRATION_RESULT: reason runs past the payload or contains NUL");
			return -EPROTO;
		}
		/* flags and reason code came later: absent from older peers (0: unconfirmed, no code); bytes
		 * after them are a newer peer's and ignored, as older gateways ignore these two */
		if (off < len)
			m->u.result.flags = p[off++];
		if (off < len)
			m->u.result.code = p[off++];
		break;
	case WAN_PING:
	case WAN_PONG:
		m->u.ping.nonce = get64(p);
		break;
	case WAN_OUTCOME_QUERY:
		m->u.oquery.uid = get64(p);
		if (len != 8) {
			snprintf(err, errlen, "OUTCOME_QUERY: payload %zu bytes, must be 8", len);
			return -EPROTO;
		}
		break;
	case WAN_OUTCOME:
		m->u.outcome.uid = get64(p);
		m->u.outcome.outcome = p[8];
		if (m->u.outcome.outcome > WAN_OUTCOME_PENDING) {
			snprintf(err, errlen, "OUTCOME: outcome %u is not 0..3", p[8]);
			return -EPROTO;
		}
		if (get_str8(p, len, &off, m->u.outcome.reason) || off != len) {
			snprintf(err, errlen, "OUTCOME: reason runs past the payload, contains NUL, or is followed by bytes");
			return -EPROTO;
		}
		break;
	case WAN_CODEC_RESET:
		m->u.creset.epoch = get32(p);
		m->u.creset.bad_seq = get64(p + 4);
		off = 12;
		if (get_str8(p, len, &off, m->u.creset.reason) || off != len) {
			snprintf(err, errlen, "CODEC_RESET: reason runs past the payload, contains NUL, or is followed by bytes");
			return -EPROTO;
		}
		if (m->u.creset.epoch == 0 || m->u.creset.bad_seq == 0) {
			snprintf(err, errlen, "CODEC_RESET: epoch %u, bad seq %llu (both must be > 0)", m->u.creset.epoch,
				 (unsigned long long)m->u.creset.bad_seq);
			return -EPROTO;
		}
		break;
	case WAN_CODEC_EPOCH:
		m->u.cepoch.epoch = get32(p);
		if (len != 4 || m->u.cepoch.epoch == 0) {
			snprintf(err, errlen, "CODEC_EPOCH: payload %zu bytes (must be 4), epoch %u (must be > 0)", len,
				 m->u.cepoch.epoch);
			return -EPROTO;
		}
		break;
	case WAN_CHANNEL_DATA: {
		struct wan_cdata *d = &m->u.cdata;
		d->mig = get32(p);
		d->chan = get16(p + 4);
		d->segment = get16(p + 6);
		d->flags = p[8];
		if ((d->flags & ~(WAN_CDATA_END | WAN_CDATA_FIN)) || d->flags == (WAN_CDATA_END | WAN_CDATA_FIN)) {
			snprintf(err, errlen, "CHANNEL_DATA: flags 0x%02x (unknown bits, or END with FIN)", d->flags);
			return -EPROTO;
		}
		if (d->flags & WAN_CDATA_END) {
			if (len != WAN_CDATA_END_LEN) {
				snprintf(err, errlen, "CHANNEL_DATA END: payload %zu bytes, must be %u", len,
					 WAN_CDATA_END_LEN);
				return -EPROTO;
			}
			d->seg_len = get64(p + WAN_CDATA_FIXED);
			memcpy(d->hash, p + WAN_CDATA_FIXED + 8, 16);
		} else {
			d->data = p + WAN_CDATA_FIXED;
			d->len = len - WAN_CDATA_FIXED;
		}
		break;
	}
	}
	return 0;
}
