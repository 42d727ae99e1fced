/* SPDX-License-Identifier: MIT */
/* WAN TLS: OpenSSL 3 contexts (TLS 1.3 only, mutual auth, peer name) and WAN socket tuning. */
#ifndef LH_GATEWAY_WAN_TLS_H
#define LH_GATEWAY_WAN_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

struct lh_config;

/*
 * One context for both roles: our cert+key, the CA that must have signed the
 * peer's certificate, TLS 1.3 only, SSL_VERIFY_PEER|FAIL_IF_NO_PEER_CERT.
 * NULL with the reason in err (unreadable file, key/cert mismatch, ...).
 */
SSL_CTX *wan_tls_ctx_new(const struct lh_config *cfg, char *err, size_t errlen);

/* A new SSL object on fd, in client or server role, checking the peer name. */
SSL *wan_tls_new(SSL_CTX *ctx, int fd, int is_client, const char *peer_name);

/*
 * After a failed handshake step: why, in words an operator can act on
 * ("peer certificate: unable to get local issuer certificate (unknown CA)",
 * "peer name mismatch: expected gw-b", "peer did not speak TLS (plaintext?)").
 */
void wan_tls_failure(SSL *ssl, int ret, char *out, size_t outlen);

/* Subject CN of the verified peer certificate ("?" when none). */
void wan_tls_peer_cn(SSL *ssl, char *out, size_t outlen);

/*
 * TCP options for a WAN stream: TCP_NODELAY (messages are written whole, so
 * Nagle would only delay the tail of each — acks and return-path data most),
 * TCP_CONGESTION from the config (falls back to the kernel default, logged),
 * SO_SNDBUF/SO_RCVBUF from the config or, when 0, 2 x BDP / streams (min 1 MiB),
 * TCP_NOTSENT_LOWAT (when not 0): the kernel holds at most that many bytes not
 * yet sent, beyond what is in flight. The send buffer is sized for the BDP so
 * that the window can fill, but without the low-water mark everything queued in
 * it is first come first served: an urgent message written after 12 MiB of bulk
 * would wait for all of them, defeating the urgent-first queue in wan_link.c.
 * Logs what it could not set; never fails the stream.
 */
void wan_sock_tune(int fd, const struct lh_config *cfg, int stream_index, unsigned notsent_lowat);

#endif
