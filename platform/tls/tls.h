/* tls.h: mote's TLS layer (mbedTLS 3.x), shared by every port.
 *
 * The core only ever sees plaintext: a port that serves TLS on a listener
 * wraps each accepted socket in a struct mote_tls, runs the handshake before
 * it tells the core about the connection (mote_accepted), and then moves
 * plaintext between the core and mote_tls_read()/mote_tls_write() instead
 * of the socket. The module knows nothing of sockets: each connection does
 * its network I/O through two callbacks (struct mote_tls_io) that the port
 * implements on a non-blocking fd (Linux) or on its own receive queue (lwIP).
 *
 * Non-blocking contract (every call below):
 *   > 0 / 0      done (bytes, or "handshake finished")
 *   MOTE_TLS_WANT_READ / MOTE_TLS_WANT_WRITE
 *                call again when the socket is readable / writable
 *   MOTE_TLS_EOF the peer ended the session (close_notify or TCP EOF)
 *   other < 0    a fatal error: an mbedTLS error code; mote_tls_strerror()
 *                names it. The connection must be closed (and freed).
 *
 * Memory: every mbedTLS allocation goes through a counting allocator that
 * charges it to the connection whose call made it, so the heap each
 * connection holds (now and at its peak) is known: mote_tls_heap().
 *
 * Roles: the server role is what the ports use today. The client role
 * (mote_tls_client_new) verifies the server's certificate against a CA
 * chain and its name against the host asked for (RFC 6125 through
 * mbedtls_ssl_set_hostname, which also sends it as SNI); it is ready for
 * the core's client connections.
 */
#ifndef MOTE_TLS_H
#define MOTE_TLS_H

#include <stddef.h>
#include <stdint.h>

/* outside mbedTLS's error range (-0x0001..-0x7fff) */
#define MOTE_TLS_WANT_READ (-0x10001)
#define MOTE_TLS_WANT_WRITE (-0x10002)
#define MOTE_TLS_EOF (-0x10003)
#define MOTE_TLS_ERR_IO (-0x10004) /* an I/O callback failed: the port knows why */
#define MOTE_TLS_ERR_TRUNCATED (-0x10005) /* the peer's EOF cut a record short */

/* I/O callbacks of one connection. send/recv return the bytes moved (> 0),
 * MOTE_TLS_IO_AGAIN when the socket would block, 0 from recv at the peer's
 * EOF, or MOTE_TLS_IO_ERROR (the port remembers why, for its log). */
#define MOTE_TLS_IO_AGAIN (-1)
#define MOTE_TLS_IO_ERROR (-2)
struct mote_tls_io {
  int (*send)(void *ctx, const uint8_t *buf, size_t len);
  int (*recv)(void *ctx, uint8_t *buf, size_t len);
  void *ctx;
};

/* Read a whole file through the port's file operations: *data is allocated
 * with malloc and NUL-terminated (*len excludes the NUL). 0 or -1. Each port
 * provides it (Linux: the host file system; boards: files linked in). */
int mote_tls_port_read_file(const char *name, uint8_t **data, size_t *len);
/* Seed material for the random generator: fill buf, 0 or -1. */
int mote_tls_port_entropy(uint8_t *buf, size_t len);

/* Per server configuration: MOTE_TLS_MAX_CERTS, MOTE_TLS_MAX_SNI
 * (mote_opts.h; each costs its mbedTLS structures in heap, used or not). */
#include "mote_opts.h"

struct mote_tls_certkey {
  const char *cert; /* PEM file: the certificate, then its chain */
  const char *key;  /* PEM file: its private key */
};

struct mote_tls_sni {
  const char *name; /* host name, exact (case-insensitive), or "*.example.com" */
  struct mote_tls_certkey ck;
};

struct mote_tls_server_opts {
  struct mote_tls_certkey certs[MOTE_TLS_MAX_CERTS]; /* default: offered to every client */
  uint32_t ncerts;
  struct mote_tls_sni sni[MOTE_TLS_MAX_SNI]; /* the name a client sends selects these */
  uint32_t nsni;
  /* lws's ssl_cipher_list: suites allowed, separated by ':' or ',', IANA
   * names (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256)
   * or mbedTLS names (TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256). NULL: every
   * suite the build has. */
  const char *ciphers;
  /* TLS 1.3 instead of TLS 1.2. mbedTLS 3.4's server cannot negotiate
   * between the two ("hybrid TLS 1.2 / 1.3 is not supported on server side
   * yet"), so a server speaks one of them; a cipher list of TLS 1.3 suites
   * only also selects TLS 1.3. */
  int tls13;
  /* When set, clients must present a certificate chaining to this CA (PEM). */
  const char *client_ca;
};

/* A server configuration (certificates, keys, suites, SNI names, client CA):
 * one per listener that serves TLS (a vhost's own, or the port's command
 * line's, shared by its listeners). Returns NULL after logging which file or
 * name was wrong. The strings in o need not outlive the call. */
struct mote_tls_server;
struct mote_tls_server *mote_tls_server_create(const struct mote_tls_server_opts *o);
/* Free it; no session made from it may remain. */
void mote_tls_server_destroy(struct mote_tls_server *srv);
/* The sock_tls import: add `vhost`'s configuration, a block of
 * MOTE_TLS_OPT_* records (mote_abi.h) in module memory, to a listener's
 * server *srv. The first call (*srv NULL) creates it with this vhost as the
 * default (clients with no or an unknown SNI name); each later one adds a
 * vhost chosen by its names (at least one), with its own certificate and
 * client CA. The cipher list (so the TLS version) is one per listener: a
 * later vhost may give none or the same. 0, or -1 logged naming the
 * listener, the vhost and what was wrong. */
int mote_tls_server_add(struct mote_tls_server **srv, uint32_t listener, uint32_t vhost, const uint8_t *opts,
                        uint32_t len);

/* A listener's TLS, as the sock_tls import builds it (every port keeps one
 * per listener): `use` is what its connections get (NULL: plaintext), the
 * port's own configuration (`cmd`, a command line's) when there is one,
 * else `own`, built by the vhosts' sock_tls calls. */
struct mote_tls_listener {
  struct mote_tls_server *use, *own;
  uint8_t fresh; /* the next sock_tls starts `own` anew (the first vhost on a new listener, or a restarted core's) */
};
/* A listener opened (or claimed back by a restarted core): its connections
 * get `cmd` until a vhost asks for TLS; its own configuration is rebuilt. */
void mote_tls_listener_open(struct mote_tls_listener *t, struct mote_tls_server *cmd);
/* port_sock_tls for an open listener: 0, or -EINVAL (logged). With a `cmd`
 * configuration the vhost's gives way to it (logged), and 0. */
int32_t mote_tls_listener_add(struct mote_tls_listener *t, struct mote_tls_server *cmd, uint32_t listener, uint32_t vhost,
                              const uint8_t *opts, uint32_t opts_len);
/* The listener closes, or its core goes (no session uses `own` any more):
 * `own` is freed; connections would get `cmd` (NULL when closing). */
void mote_tls_listener_drop(struct mote_tls_listener *t, struct mote_tls_server *cmd);

/* The client configuration: trust anchors (PEM file); optional client
 * certificate. 0 or -1 (logged). */
int mote_tls_client_init(const char *ca_file, const struct mote_tls_certkey *own);

void mote_tls_global_free(void);

struct mote_tls;

/* A server-side session on an accepted socket, or NULL (no memory: logged). */
struct mote_tls *mote_tls_server_new(struct mote_tls_server *srv, const struct mote_tls_io *io);
/* A client-side session: host is verified against the server certificate
 * and sent as SNI. NULL when the client role is not initialised. */
struct mote_tls *mote_tls_client_new(const struct mote_tls_io *io, const char *host);
void mote_tls_free(struct mote_tls *t);

/* Drive the handshake: 0 when finished, else as above. */
int mote_tls_handshake(struct mote_tls *t);
/* Plaintext in: bytes (> 0), or as above. */
int mote_tls_read(struct mote_tls *t, uint8_t *buf, size_t len);
/* Bytes of decrypted input already held (readable without the socket). */
size_t mote_tls_pending(const struct mote_tls *t);
/* Plaintext out: bytes taken (0..len; 0 with nothing taken when the
 * previous record is still being flushed), or a fatal error. Bytes taken
 * are committed: they are encrypted and will leave as the socket drains
 * (mote_tls_flush). Never returns WANT_*: 0 plus mote_tls_want_write()
 * says "wait for writable". */
int mote_tls_write(struct mote_tls *t, const uint8_t *buf, size_t len);
/* Push out an encrypted record still held: 0 when nothing is left,
 * MOTE_TLS_WANT_WRITE, or a fatal error. */
int mote_tls_flush(struct mote_tls *t);
/* 1 while encrypted output is held back waiting for the socket. */
int mote_tls_want_write(const struct mote_tls *t);
/* Queue and push the close_notify alert: 0 when sent, WANT_WRITE, error. */
int mote_tls_close_notify(struct mote_tls *t);

/* Descriptions for logs. */
const char *mote_tls_version(const struct mote_tls *t);
const char *mote_tls_suite(const struct mote_tls *t);
const char *mote_tls_sni_name(const struct mote_tls *t); /* "" when none */
/* The vhost (sock_tls's argument) whose configuration served the handshake:
 * the one its SNI name chose, else the listener's default; MOTE_VHOST_ANY
 * for the port's own settings (command line). mote_accepted's argument. */
uint32_t mote_tls_vhost(const struct mote_tls *t);
/* Why the peer's certificate failed verification ("" when it did not). */
void mote_tls_verify_info(const struct mote_tls *t, char *buf, size_t cap);
/* Error text: "SSL - Processing of the ClientHello handshake message failed (-0x7900)". */
const char *mote_tls_strerror(int err, char *buf, size_t cap);

/* Heap charged to this connection now and at its peak (bytes, including
 * the session structure itself), and the bytes held by shared state
 * (configuration, certificates, keys, random generator). */
void mote_tls_heap(const struct mote_tls *t, size_t *now, size_t *peak);
size_t mote_tls_heap_shared(void);
/* Bytes of the session structure (part of mote_tls_heap's figure). */
size_t mote_tls_session_size(void);

#endif
