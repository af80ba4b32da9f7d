/* arch_posix.h: the BSD-socket port on POSIX calls and poll(2) only (see
 * arch.h): no accept4, no epoll, no TCP_USER_TIMEOUT. What the sockets API
 * offers beyond POSIX (TCP_KEEPIDLE and friends: Linux, the BSDs, lwIP) is
 * used where the headers define it. */
#ifndef MOTE_ARCH_POSIX_H
#define MOTE_ARCH_POSIX_H

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* What lwIP's socket headers (ESP-IDF) lack of POSIX. */
#ifndef IN6_IS_ADDR_UNSPECIFIED
static inline int mote_in6_unspecified(const void *a) {
  const uint8_t *p = (const uint8_t *)a;
  for (int i = 0; i < 16; i++)
    if (p[i]) return 0;
  return 1;
}
#define IN6_IS_ADDR_UNSPECIFIED(a) mote_in6_unspecified(a)
#endif
#if defined(LWIP_HDR_NETDB_H)
static inline const char *mote_gai_strerror(int e) {
  return e == EAI_NONAME ? "no such host" : e == EAI_SERVICE ? "bad port" : e == EAI_MEMORY ? "out of memory"
         : e == EAI_FAMILY ? "address family not supported" : "address lookup failed";
}
#define gai_strerror mote_gai_strerror
#endif

/* fd made non-blocking and close-on-exec, or -1 (errno kept; fd closed). */
static inline int mote_arch_adopt(int fd) {
  if (fd < 0) return -1;
  int fl = fcntl(fd, F_GETFL, 0);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
#ifdef FD_CLOEXEC
  fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
  return fd;
}

static inline int mote_arch_socket(int family) { return mote_arch_adopt(socket(family, SOCK_STREAM, 0)); }

static inline int mote_arch_accept(int lfd) { return mote_arch_adopt(accept(lfd, NULL, NULL)); }

static inline int mote_arch_keepalive(int fd, int idle_s, int intvl_s, int cnt, unsigned user_timeout_ms) {
  (void)user_timeout_ms; /* no portable way to bound unacknowledged data */
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0) return -1;
#ifdef TCP_KEEPIDLE
  if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s) < 0) return -1;
#else
  (void)idle_s;
#endif
#ifdef TCP_KEEPINTVL
  if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl_s, sizeof intvl_s) < 0) return -1;
#else
  (void)intvl_s;
#endif
#ifdef TCP_KEEPCNT
  if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) < 0) return -1;
#else
  (void)cnt;
#endif
  return 0;
}
#define MOTE_ARCH_HAS_USER_TIMEOUT 0

static inline int mote_arch_keepalive_defaults(int fd, int *intvl_s, int *cnt) {
  socklen_t sl;
#ifdef TCP_KEEPINTVL
  sl = sizeof *intvl_s;
  if (intvl_s && getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, intvl_s, &sl) < 0) return -errno;
#else
  if (intvl_s) *intvl_s = 75; /* RFC 1122's default interval */
#endif
#ifdef TCP_KEEPCNT
  sl = sizeof *cnt;
  if (cnt && getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, cnt, &sl) < 0) return -errno;
#else
  if (cnt) *cnt = 9;
#endif
  (void)fd, (void)sl;
  return 0;
}

/* An arch whose stack needs more than shutdown(2) for a half-close defines
 * MOTE_ARCH_OWN_SHUT_WR and the function (platform/esp32/arch_esp32.h). */
#ifndef MOTE_ARCH_OWN_SHUT_WR
static inline int mote_arch_shut_wr(int fd) { return shutdown(fd, SHUT_WR); }
#endif

static inline ssize_t mote_arch_discard(int fd) {
  static uint8_t sink[2048];
  return recv(fd, sink, sizeof sink, 0);
}

#ifdef MSG_NOSIGNAL
#define MOTE_ARCH_SEND_FLAGS MSG_NOSIGNAL
#else
#define MOTE_ARCH_SEND_FLAGS 0 /* SIGPIPE is ignored by the program, or the system has none */
#endif

static inline uint64_t mote_arch_cpu_ns(void) {
#if defined(_POSIX_THREAD_CPUTIME) && _POSIX_THREAD_CPUTIME >= 0
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
  return 0;
}

#endif
