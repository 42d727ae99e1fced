/* SPDX-License-Identifier: MIT */
/* WAN TLS: OpenSSL 3 contexts (TLS 1.3 only, mutual auth, peer name) and WAN socket tuning. */
#include "gateway/wan/wan_tls.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/base/config.h"
#include "gateway/wan/wan.h"
#include "gateway/base/log.h"

static void ssl_errstr(char *out, size_t outlen)
{
	unsigned long e = ERR_get_error();
	if (!e) {
		snprintf(out, outlen, "no OpenSSL error queued");
		return;
	}
	ERR_error_string_n(e, out, outlen);
	ERR_clear_error();
}

enum wan_keyperm wan_keyperm_judge(mode_t mode, gid_t file_gid, gid_t egid, const gid_t *groups, size_t ngroups)
{
	if (mode & S_IROTH)
		return WAN_KEYPERM_REFUSE;
	if (!(mode & S_IRGRP) || file_gid == egid)
		return WAN_KEYPERM_OK;
	/* a group we are in was given the key on purpose (Debian's ssl-cert) */
	for (size_t i = 0; i < ngroups; i++)
		if (groups[i] == file_gid)
			return WAN_KEYPERM_OK;
	return WAN_KEYPERM_WARN_GROUP;
}

int wan_tls_key_check(const char *path, char *err, size_t errlen)
{
	struct stat st;
	gid_t groups[256];
	int n;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "key %s: %s", path, strerror(errno));
		return -1;
	}
	n = getgroups((int)(sizeof(groups) / sizeof(groups[0])), groups);
	switch (wan_keyperm_judge(st.st_mode, st.st_gid, getegid(), groups, n > 0 ? (size_t)n : 0)) {
	case WAN_KEYPERM_REFUSE:
		snprintf(err, errlen, "key %s: mode %04o is readable by others: refused (chmod o-rwx; 0600 or "
			 "0640 with a group of this daemon)", path, (unsigned)(st.st_mode & 07777));
		return -1;
	case WAN_KEYPERM_WARN_GROUP:
		log_warnx("[wan] key %s: mode %04o lets group %u read it, a group this daemon is not in",
			  path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_gid);
		break;
	case WAN_KEYPERM_OK:
		break;
	}
	return 0;
}

/* The CRL file into the verify store, and the leaf check switched on; -1 with err if none parses. */
static int ctx_load_crl(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	BIO *in = BIO_new_file(path, "r");
	X509_CRL *crl;
	char why[256];
	int n = 0;

	if (!in) {
		ssl_errstr(why, sizeof(why));
		snprintf(err, errlen, "CRL %s: %s", path, why);
		return -1;
	}
	while ((crl = PEM_read_bio_X509_CRL(in, NULL, NULL, NULL))) {
		int ok = X509_STORE_add_crl(store, crl);
		X509_CRL_free(crl);
		if (ok != 1) {
			BIO_free(in);
			ssl_errstr(why, sizeof(why));
			snprintf(err, errlen, "CRL %s: %s", path, why);
			return -1;
		}
		n++;
	}
	BIO_free(in);
	ERR_clear_error(); /* the end of the file, read as "no start line" */
	if (!n) {
		snprintf(err, errlen, "CRL %s: no PEM X509 CRL in it", path);
		return -1;
	}
	/* the peer's certificate only: our CA is the root, and a CRL for it would need another issuer */
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	return 0;
}

SSL_CTX *wan_tls_ctx_new(const struct lh_config *cfg, char *err, size_t errlen)
{
	char why[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());

	if (!ctx) {
		ssl_errstr(why, sizeof(why));
		snprintf(err, errlen, "SSL_CTX_new: %s", why);
		return NULL;
	}
	/* TLS 1.3 only: no downgrade, forward secrecy, 1-RTT handshake */
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->wan.cert) != 1) {
		ssl_errstr(why, sizeof(why));
		snprintf(err, errlen, "certificate %s: %s", cfg->wan.cert, why);
		goto fail;
	}
	if (wan_tls_key_check(cfg->wan.key, err, errlen) < 0)
		goto fail;
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->wan.key, SSL_FILETYPE_PEM) != 1) {
		ssl_errstr(why, sizeof(why));
		snprintf(err, errlen, "key %s: %s", cfg->wan.key, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "key %s does not match certificate %s", cfg->wan.key, cfg->wan.cert);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, cfg->wan.ca, NULL) != 1) {
		ssl_errstr(why, sizeof(why));
		snprintf(err, errlen, "CA %s: %s", cfg->wan.ca, why);
		goto fail;
	}
	if (cfg->wan.crl[0] && ctx_load_crl(ctx, cfg->wan.crl, err, errlen) < 0)
		goto fail;
	/* trust only the configured CA, never the system store */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Seconds from now to the certificate's notAfter; -1 if OpenSSL cannot tell. */
static int cert_left_s(const X509 *c, long long *secs)
{
	int days, s;
	if (ASN1_TIME_diff(&days, &s, NULL, X509_get0_notAfter(c)) != 1)
		return -1;
	*secs = (long long)days * 86400 + s;
	return 0;
}

int wan_tls_expiry_s(SSL_CTX *ctx, enum wan_cert_which which, long long *secs)
{
	int found = 0;
	long long left;

	if (!ctx)
		return -1;
	if (which == WAN_CERT_OURS) {
		X509 *c = SSL_CTX_get0_certificate(ctx);
		return c ? cert_left_s(c, secs) : -1;
	}
	/* the CA file may hold several certificates: the first to expire is the one to renew */
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
		if (c && cert_left_s(c, &left) == 0 && (!found || left < *secs)) {
			*secs = left;
			found = 1;
		}
	}
	return found ? 0 : -1;
}

static void expiry_log_one(SSL_CTX *ctx, enum wan_cert_which which)
{
	static const char *const what[] = { "[wan] cert", "[wan] ca" };
	long long left;
	char when[64] = "?";
	struct tm tm;

	if (wan_tls_expiry_s(ctx, which, &left) < 0 || left > WAN_CERT_WARN_S)
		return;
	time_t at = time(NULL) + (time_t)left;
	if (gmtime_r(&at, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (left <= 0)
		log_errx("%s: certificate expired at %s (%lld s ago): TLS handshakes fail; renew it, then SIGHUP",
			 what[which], when, -left);
	else
		log_warnx("%s: certificate expires at %s, in %lld days %lld h: renew it, then SIGHUP", what[which],
			  when, left / 86400, left % 86400 / 3600);
}

void wan_tls_expiry_log(SSL_CTX *ctx)
{
	expiry_log_one(ctx, WAN_CERT_OURS);
	expiry_log_one(ctx, WAN_CERT_CA);
}

SSL *wan_tls_new(SSL_CTX *ctx, int fd, int is_client, const char *peer_name)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	SSL_set_fd(ssl, fd);
	/* both roles check the peer's name: the server checks the client's certificate too */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(ssl, peer_name) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	if (is_client) {
		SSL_set_tlsext_host_name(ssl, peer_name);
		SSL_set_connect_state(ssl);
	} else {
		SSL_set_accept_state(ssl);
	}
	return ssl;
}

void wan_tls_failure(SSL *ssl, int ret, char *out, size_t outlen)
{
	int e = SSL_get_error(ssl, ret);
	long v = SSL_get_verify_result(ssl);
	unsigned long q = ERR_peek_error();
	char why[256] = "";

	if (v != X509_V_OK) {
		const char *hint = "";
		if (v == X509_V_ERR_HOSTNAME_MISMATCH)
			hint = " (wrong peer name)";
		else if (v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
			 v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
			 v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
			 v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT)
			hint = " (unknown CA)";
		else if (v == X509_V_ERR_CERT_REVOKED)
			hint = " (revoked: listed in [wan] crl)";
		else if (v == X509_V_ERR_UNABLE_TO_GET_CRL || v == X509_V_ERR_CRL_HAS_EXPIRED ||
			 v == X509_V_ERR_KEYUSAGE_NO_CRL_SIGN || v == X509_V_ERR_CRL_SIGNATURE_FAILURE)
			hint = " (check [wan] crl: it must be the CA's, signed by it, and current)";
		snprintf(out, outlen, "peer certificate rejected: %s%s", X509_verify_cert_error_string(v),
			 hint);
		ERR_clear_error();
		return;
	}
	if (q) {
		int reason = ERR_GET_REASON(q);
		ssl_errstr(why, sizeof(why));
		if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST ||
		    reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_PACKET_LENGTH_TOO_LONG)
			snprintf(out, outlen, "peer did not speak TLS 1.3 (plaintext?): %s", why);
		else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
			 reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
			snprintf(out, outlen, "peer certificate missing or rejected: %s", why);
		else if (reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA || reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
			 reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED)
			snprintf(out, outlen, "peer refused our certificate: %s", why);
		else
			snprintf(out, outlen, "TLS error: %s", why);
		return;
	}
	if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)
		snprintf(out, outlen, "connection closed during TLS (%s)",
			 errno ? strerror(errno) : "EOF");
	else
		snprintf(out, outlen, "TLS error %d", e);
}

void wan_tls_peer_cn(SSL *ssl, char *out, size_t outlen)
{
	X509 *c = SSL_get0_peer_certificate(ssl);
	snprintf(out, outlen, "?");
	if (c)
		X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName, out, (int)outlen);
}

static void set_buf(int fd, int force_opt, int opt, const char *name, unsigned bytes)
{
	int v = (int)bytes;
	/* FORCE ignores net.core.[rw]mem_max (needs CAP_NET_ADMIN); plain is capped by it */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) == 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) < 0)
		log_warn("%s: %s %u", __func__, name, bytes);
}

/* A stream's SO_SNDBUF and SO_RCVBUF: from the config, or 2 x BDP / streams (1 MiB..256 MiB). */
static void sock_buf_sizes(const struct lh_config *cfg, unsigned *snd, unsigned *rcv, unsigned long long *bdp)
{
	unsigned n = cfg->wan.streams ? cfg->wan.streams : 1;
	unsigned long long per;

	*bdp = (unsigned long long)cfg->wan.bdp_mbit * 1000000ull / 8 * cfg->wan.rtt_ms / 1000;
	per = 2 * *bdp / n;
	if (per < (1u << 20))
		per = 1u << 20;
	if (per > (256u << 20))
		per = 256u << 20;
	*snd = cfg->wan.sndbuf ? cfg->wan.sndbuf : (unsigned)per;
	*rcv = cfg->wan.rcvbuf ? cfg->wan.rcvbuf : (unsigned)per;
}

void wan_sock_listen_tune(int fd, const struct lh_config *cfg)
{
	unsigned snd, rcv;
	unsigned long long bdp;

	sock_buf_sizes(cfg, &snd, &rcv, &bdp);
	set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, "SO_RCVBUF", rcv);
}

void wan_sock_pre_auth(int fd)
{
	set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, "SO_RCVBUF", WAN_PRE_AUTH_BUF);
	set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, "SO_SNDBUF", WAN_PRE_AUTH_BUF);
}

void wan_sock_tune(int fd, const struct lh_config *cfg, int stream_index, unsigned notsent_lowat)
{
	int one = 1;
	char cur[16] = "";
	socklen_t cl = sizeof(cur);
	unsigned n = cfg->wan.streams ? cfg->wan.streams : 1;
	unsigned long long bdp;
	unsigned snd, rcv;

	sock_buf_sizes(cfg, &snd, &rcv, &bdp);
	unsigned user_timeout = WAN_USER_TIMEOUT_MS;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		log_warn("%s: TCP_NODELAY", __func__);
	/* data (our PINGs at least) unacknowledged this long: the kernel fails the stream, a black hole's backstop */
	if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout)) < 0)
		log_warn("%s: TCP_USER_TIMEOUT", __func__);
	set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, "SO_SNDBUF", snd);
	set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, "SO_RCVBUF", rcv);
	if (notsent_lowat &&
	    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &notsent_lowat, sizeof(notsent_lowat)) < 0)
		log_warn("%s: TCP_NOTSENT_LOWAT %u", __func__, notsent_lowat);
	if (cfg->wan.congestion[0] &&
	    setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cfg->wan.congestion, strlen(cfg->wan.congestion)) < 0) {
		getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cur, &cl);
		if (stream_index <= 0)
			log_warnx("wan: congestion control %s not available (%s), using %s "
				  "(see net.ipv4.tcp_allowed_congestion_control)",
				  cfg->wan.congestion, strerror(errno), cur);
	}
	if (stream_index <= 0)
		log_debug("wan: stream buffers snd %u rcv %u bytes (bdp %llu bytes / %u streams), not-sent low "
			  "water %u bytes", snd, rcv, bdp, n, notsent_lowat);
}
