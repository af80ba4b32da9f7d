/* arch.h: what differs between the systems the BSD-socket port runs on
 * (Mongoose's arch_*.h). A build names its arch header with
 * -DMOTE_ARCH_HEADER="arch_linux.h" (platform/linux/); the default,
 * arch_posix.h, uses only POSIX calls and poll(2): the configuration of
 * ESP-IDF's lwIP sockets, and of any Unix.
 *
 * Each arch header includes the system's socket headers and defines:
 *   int mote_arch_socket(int family)
 *       a non-blocking, close-on-exec TCP socket, or -1 (errno)
 *   int mote_arch_accept(int listener_fd)
 *       a non-blocking, close-on-exec accepted socket, or -1 (errno; EAGAIN
 *       when none is waiting)
 *   int mote_arch_keepalive(int fd, int idle_s, int intvl_s, int cnt, unsigned user_timeout_ms)
 *       TCP keepalive on a connection, and where the system has it a limit
 *       on unacknowledged data (user_timeout_ms); 0 or -1 (errno)
 *   int mote_arch_keepalive_defaults(int fd, int *intvl_s, int *cnt)
 *       the system's default interval and count (a NULL is not wanted); 0
 *       or -errno
 *   int mote_arch_shut_wr(int fd)
 *       start a lingering close: the write side shut, our FIN sent (0); 1
 *       when the peer has already ended its side, so that the close after
 *       the drain sends the FIN; -1 (errno) when the connection is gone
 *   ssize_t mote_arch_discard(int fd)
 *       read and drop what is waiting (a lingering close); recv's result
 *   MOTE_ARCH_SEND_FLAGS
 *       send(2) flags: no SIGPIPE, never block
 *   uint64_t mote_arch_cpu_ns(void)
 *       this thread's CPU time (a TLS handshake's cost, for the log), or 0
 *   MOTE_ARCH_HAS_USER_TIMEOUT
 *       1 when mote_arch_keepalive bounds unacknowledged data too */
#ifndef MOTE_ARCH_H
#define MOTE_ARCH_H

#ifndef MOTE_ARCH_HEADER
#define MOTE_ARCH_HEADER "arch_posix.h"
#endif
#include MOTE_ARCH_HEADER

#endif
