/* SPDX-License-Identifier: MIT */
/* WAN TLS: OpenSSL 3 contexts (TLS 1.3 only, mutual auth, peer name) and WAN socket tuning. */
#ifndef LH_GATEWAY_WAN_TLS_H
#define LH_GATEWAY_WAN_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/types.h>

struct lh_config;

/*
 * One context for both roles: our cert+key, the CA that must have signed the
 * peer's certificate, TLS 1.3 only, SSL_VERIFY_PEER|FAIL_IF_NO_PEER_CERT, and
 * with [wan] crl the revocation list checked for the peer's certificate.
 * NULL with the reason in err (unreadable file, key readable by others,
 * key/cert mismatch, CRL that does not parse, ...).
 */
SSL_CTX *wan_tls_ctx_new(const struct lh_config *cfg, char *err, size_t errlen);

/*
 * What a private key file's mode and group allow (CONFIG.md, [wan] key):
 * readable by others: refused; readable by a group that is neither our effective gid nor one of our
 * supplementary groups: warned about (someone we do not know can read it); otherwise accepted, so
 * Debian's ssl-cert convention (0640 root:ssl-cert, the daemon a member of ssl-cert) needs no change.
 * Pure: the caller gives what stat(2) and getgroups(2) said.
 */
enum wan_keyperm { WAN_KEYPERM_OK, WAN_KEYPERM_WARN_GROUP, WAN_KEYPERM_REFUSE };
enum wan_keyperm wan_keyperm_judge(mode_t mode, gid_t file_gid, gid_t egid, const gid_t *groups, size_t ngroups);

/*
 * stat(2) (symlinks followed: the file OpenSSL will read) and judge the key file; a warning is logged
 * here, a refusal returned: -1 with the reason in err.
 */
int wan_tls_key_check(const char *path, char *err, size_t errlen);

/* Which certificate wan_tls_expiry_s measures: ours, or the soonest-expiring one of the CA file. */
enum wan_cert_which { WAN_CERT_OURS, WAN_CERT_CA };
#define WAN_CERT_WARN_S (14 * 86400) /* warn this long before a notAfter */

/* Seconds from now until the certificate's notAfter (negative once past) in *secs; -1 if none loaded. */
int wan_tls_expiry_s(SSL_CTX *ctx, enum wan_cert_which which, long long *secs);

/* Logs a warning for a certificate expiring within WAN_CERT_WARN_S, an error for an expired one. */
void wan_tls_expiry_log(SSL_CTX *ctx);

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
/*
 * The listening socket, before listen(): SO_RCVBUF as a stream will have it. Linux fixes a connection's TCP
 * window scale in its SYN-ACK, from the listener's receive buffer (and tcp_rmem[2], rmem_max), so a buffer
 * raised only after authentication could not be used in full without this. It is a limit, not memory.
 */
void wan_sock_listen_tune(int fd, const struct lh_config *cfg);
/*
 * An accepted socket until its peer is authenticated (the TLS handshake verified its certificate): small
 * buffers (WAN_PRE_AUTH_BUF; they would otherwise be the listener's), so unauthenticated connections hold
 * little kernel memory. wan_sock_tune sizes them at the end of the handshake.
 */
void wan_sock_pre_auth(int fd);

#endif
