/* arch_linux.h: the BSD-socket port on Linux (see platform/posix/arch.h):
 * accept4 and SOCK_NONBLOCK save a syscall per connection, TCP_USER_TIMEOUT
 * bounds unacknowledged data as lwIP's keepalive does, MSG_TRUNC discards
 * without copying. */
#ifndef MOTE_ARCH_LINUX_H
#define MOTE_ARCH_LINUX_H

/* accept4: the build defines _GNU_SOURCE for every unit (it must come
 * before the first system header). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline int mote_arch_socket(int family) { return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }

static inline int mote_arch_accept(int lfd) { return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

static inline int mote_arch_keepalive(int fd, int idle_s, int intvl_s, int cnt, unsigned user_timeout_ms) {
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s) < 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl_s, sizeof intvl_s) < 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) < 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms) < 0)
    return -1;
  return 0;
}
#define MOTE_ARCH_HAS_USER_TIMEOUT 1

static inline int mote_arch_keepalive_defaults(int fd, int *intvl_s, int *cnt) {
  socklen_t sl = sizeof(int);
  if (intvl_s && getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, intvl_s, &sl) < 0) return -errno;
  sl = sizeof(int);
  if (cnt && getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, cnt, &sl) < 0) return -errno;
  return 0;
}

/* With MSG_TRUNC Linux drops TCP bytes without copying them; the buffer
 * only keeps valgrind honest. */
static inline int mote_arch_shut_wr(int fd) { return shutdown(fd, SHUT_WR); }

static inline ssize_t mote_arch_discard(int fd) {
  static uint8_t sink[16384];
  return recv(fd, sink, sizeof sink, MSG_TRUNC | MSG_DONTWAIT);
}

#define MOTE_ARCH_SEND_FLAGS (MSG_NOSIGNAL | MSG_DONTWAIT)

static inline uint64_t mote_arch_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
