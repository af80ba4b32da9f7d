/* The epoll backend (platform/posix/loop.h), level-triggered: Linux only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"
#include "mote_opts.h"

static int epfd = -1;
static struct epoll_event *eevs;

static int le_open(uint32_t max_fds) {
  (void)max_fds;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return -errno;
  eevs = calloc(MOTE_LOOP_MAX_EVENTS, sizeof *eevs);
  return eevs ? 0 : -ENOMEM;
}

static void le_close(void) {
  if (epfd >= 0) close(epfd);
  epfd = -1;
  free(eevs);
  eevs = NULL;
}

static uint32_t to_epoll(uint32_t ev) { return (ev & EV_IN ? EPOLLIN : 0) | (ev & EV_OUT ? EPOLLOUT : 0); }

static int le_add(int fd, uint32_t events) {
  struct epoll_event e = {.events = to_epoll(events), .data.fd = fd};
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

static int le_mod(int fd, uint32_t events) {
  struct epoll_event e = {.events = to_epoll(events), .data.fd = fd};
  return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno : 0;
}

static void le_del(int fd, int closing) {
  if (!closing) epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); /* a closed fd leaves epoll by itself */
}

static int le_wait(struct ev *out, int max, int timeout_ms) {
  if (max > MOTE_LOOP_MAX_EVENTS) max = MOTE_LOOP_MAX_EVENTS;
  int n = epoll_wait(epfd, eevs, max, timeout_ms);
  if (n < 0) return errno == EINTR ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    uint32_t e = eevs[i].events;
    out[i].fd = eevs[i].data.fd;
    out[i].events = (e & EPOLLIN ? EV_IN : 0) | (e & EPOLLOUT ? EV_OUT : 0) | (e & EPOLLHUP ? EV_HUP : 0) |
                    (e & EPOLLERR ? EV_ERR : 0);
  }
  return n;
}

const struct mote_loop mote_loop_epoll = {"epoll", le_open, le_close, le_add, le_mod, le_del, le_wait};
