/* port.h: what every port (Linux simulator, lwIP board, ESP-IDF) provides
 * to the engine and to the common driver.
 *
 * The socket and service functions implement the module's imports (see
 * src/abi/imports.ts); the engine has already bounds-checked every pointer and
 * passes host pointers that are valid only for the duration of the call.
 * None of these may call back into the engine or the driver's event
 * functions (mote_drv_*): they run inside a module call.
 */
#ifndef MOTE_PORT_H
#define MOTE_PORT_H

#include <stddef.h>
#include <stdint.h>

/* ---- module imports ---------------------------------------------------- */

/* Open a listening socket. iface (not NUL-terminated, may be empty = the
 * port's default) and MOTE_LISTEN_* flags. Returns a listener id >= 0 or a
 * negative errno. */
int32_t port_sock_listen(uint32_t port, const char *iface, uint32_t iface_len, uint32_t flags);
/* TCP keepalive for every connection accepted on `listener` from now on
 * (seconds; probes or interval_s 0: the stack's default). When the stack
 * gives up on a peer, the port reports mote_closed(MOTE_CLOSED_TIMEOUT).
 * Returns 0 or a negative errno (keepalive stays off). */
int32_t port_sock_keepalive(uint32_t listener, uint32_t time_s, uint32_t probes, uint32_t interval_s);
/* TLS for `vhost` on a listener: opts is a block of MOTE_TLS_OPT_* records
 * (certificate and key files read through the port's file operations,
 * cipher list, client CA, host names; see mote_abi.h and
 * mote_tls_server_add). The first call after port_sock_listen makes the
 * listener's default, later ones add vhosts chosen by SNI; the port then
 * reports, with each accepted connection, the vhost whose configuration
 * served its handshake. Returns 0, or a negative errno after logging why
 * (-ENOSYS 38: this firmware has no TLS; -EINVAL 22: a file or name
 * refused). A port's own TLS settings (command line) may take precedence. */
int32_t port_sock_tls(uint32_t listener, uint32_t vhost, const uint8_t *opts, uint32_t opts_len);
/* Start a non-blocking client connection to host:port (host: a name or an
 * address, not NUL-terminated; MOTE_CONNECT_TLS: a TLS client session,
 * SNI and verification for that name). Returns the handle, free in the
 * core's table, then reports mote_connected or mote_connect_failed (errno
 * or MOTE_CONNECT_ERR_*) from its loop, never from inside this call; or a
 * negative errno at once (-ENOSYS 38: this port has no client role). */
int32_t port_sock_connect(const char *host, uint32_t host_len, uint32_t port, uint32_t flags);
/* Returns bytes taken (0..len) or -1 when the connection is broken; the
 * port then reports mote_closed() later, from its loop. */
int32_t port_sock_send(uint32_t conn, const uint8_t *buf, uint32_t len);
void port_sock_want_writable(uint32_t conn, uint32_t on);
void port_sock_pause_rx(uint32_t conn, uint32_t paused);
/* MOTE_CLOSE_ABORT or MOTE_CLOSE_GRACEFUL; the core forgets the handle. */
void port_sock_close(uint32_t conn, uint32_t mode);
/* Fill buf with cryptographically random bytes. */
void port_random(uint8_t *buf, uint32_t len);

/* The app-image store imports (image_begin ...; MOTE_IMG_* results). One
 * implementation for every port: platform/common/image_store.c, which
 * answers MOTE_IMG_ERR_NO_STORE when the port started no store. */
int32_t port_image_begin(uint32_t len, const uint8_t *tag, uint32_t tag_len);
int32_t port_image_write(uint32_t offset, const uint8_t *buf, uint32_t len);
int32_t port_image_finish(void);
void port_image_abort(void);
void port_image_activate(void);

/* ---- services for the driver ------------------------------------------- */

/* Write one finished log line (prefix included, ends in '\n') to the
 * port's sink; level is the MOTE_LOG_* bit it was logged at. */
void port_log(int level, const char *line, size_t len);
/* Write the wall-clock time as "YYYY-MM-DD HH:MM:SS.mmm" into buf and return
 * its length, or return 0 when the port has no wall clock. */
size_t port_log_time(char *buf, size_t cap);
/* Monotonic milliseconds (wraps at 2^32). */
uint32_t port_now_ms(void);
/* The engine is being restarted after a trap: close every connection at
 * once, without calling into the core, and forget them and the listeners.
 * A port may keep its listening sockets open (unwatched) and hand them back
 * when the restarted core listens on the same port again, so that no
 * connection is refused meanwhile (Linux does); it closes those the new core
 * does not claim. */
void port_reset(void);

#endif
