/* The readiness backends of the BSD-socket port (platform/posix/sock.c): one
 * struct of functions per backend, chosen at start-up. poll(2) is the
 * portable one (loop_poll.c, every POSIX system and ESP-IDF's lwIP
 * sockets); Linux adds epoll (platform/linux/loop_epoll.c). Whatever the
 * backend, the port hands each ready descriptor to sock_event(fd, events),
 * the entry point an application's own loop calls too.
 *
 * Interest is level-triggered: a descriptor is reported while it is ready
 * for what it was registered for. Every table is allocated at open. */
#ifndef MOTE_LOOP_H
#define MOTE_LOOP_H

#include <stdint.h>

#define EV_IN 1u
#define EV_OUT 2u
#define EV_HUP 4u
#define EV_ERR 8u

struct ev {
  int fd;
  uint32_t events; /* EV_* */
};

struct mote_loop {
  const char *name;
  /* Descriptors are 0..max_fds-1. Returns 0 or -errno. */
  int (*open)(uint32_t max_fds);
  void (*close)(void);
  /* Watch fd for `events` (EV_IN, EV_OUT; 0: registered, nothing wanted). */
  int (*add)(int fd, uint32_t events);
  int (*mod)(int fd, uint32_t events);
  /* Forget fd. `closing`: it is about to be closed (epoll then needs no
   * syscall). */
  void (*del)(int fd, int closing);
  /* Wait up to timeout_ms (-1: forever) for ready descriptors; up to max of
   * them into out. Returns their number (0 on timeout or a signal) or
   * -errno. */
  int (*wait)(struct ev *out, int max, int timeout_ms);
};

extern const struct mote_loop mote_loop_poll;

#endif
