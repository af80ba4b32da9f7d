/* Readiness backends: epoll (level-triggered) by default, poll(2) when asked
 * for or when epoll is unavailable. Every table is allocated at open. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "../common/driver.h"
#include "linux.h"

#define MAX_EVENTS 256

static int use_poll;
static int epfd = -1;
static struct epoll_event *eevs;

/* poll: a dense pollfd array; owner[i] is the token at index i, where[t]
 * the index of token t (-1 when absent). */
static struct pollfd *pfds;
static uint32_t *owner;
static int32_t *where;
static uint32_t npfd, max_tok, scan_from;

const char *loop_name(void) { return use_poll ? "poll" : "epoll"; }

int loop_open(int want_poll, uint32_t max_tokens) {
  max_tok = max_tokens;
  if (!want_poll) {
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) mote_warn("epoll_create1: %s; using poll", strerror(errno));
  }
  if (epfd >= 0) {
    eevs = calloc(MAX_EVENTS, sizeof *eevs);
    if (!eevs) return -ENOMEM;
    use_poll = 0;
    return 0;
  }
  use_poll = 1;
  pfds = calloc(max_tokens, sizeof *pfds);
  owner = calloc(max_tokens, sizeof *owner);
  where = malloc(max_tokens * sizeof *where);
  if (!pfds || !owner || !where) return -ENOMEM;
  for (uint32_t i = 0; i < max_tokens; i++) where[i] = -1;
  npfd = 0;
  return 0;
}

void loop_close(void) {
  if (epfd >= 0) close(epfd);
  epfd = -1;
  free(eevs);
  free(pfds);
  free(owner);
  free(where);
  eevs = NULL;
  pfds = NULL;
  owner = NULL;
  where = NULL;
}

static uint32_t to_epoll(uint32_t ev) { return (ev & EV_IN ? EPOLLIN : 0) | (ev & EV_OUT ? EPOLLOUT : 0); }
static short to_poll(uint32_t ev) { return (short)((ev & EV_IN ? POLLIN : 0) | (ev & EV_OUT ? POLLOUT : 0)); }

int loop_add(int fd, uint32_t token, uint32_t events) {
  if (!use_poll) {
    struct epoll_event e = {.events = to_epoll(events), .data.u32 = token};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
  }
  if (token >= max_tok || where[token] >= 0 || npfd >= max_tok) return -EINVAL;
  pfds[npfd] = (struct pollfd){.fd = fd, .events = to_poll(events)};
  owner[npfd] = token;
  where[token] = (int32_t)npfd++;
  return 0;
}

int loop_mod(int fd, uint32_t token, uint32_t events) {
  if (!use_poll) {
    struct epoll_event e = {.events = to_epoll(events), .data.u32 = token};
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno : 0;
  }
  if (token >= max_tok || where[token] < 0) return -ENOENT;
  pfds[where[token]].events = to_poll(events);
  return 0;
}

void loop_del(int fd, uint32_t token, int closing) {
  if (!use_poll) {
    if (!closing) epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    return;
  }
  if (token >= max_tok || where[token] < 0) return;
  uint32_t i = (uint32_t)where[token], last = --npfd;
  if (i != last) {
    pfds[i] = pfds[last];
    owner[i] = owner[last];
    where[owner[i]] = (int32_t)i;
  }
  where[token] = -1;
}

int loop_wait(struct ev *out, int max, int timeout_ms, const sigset_t *sigmask) {
  if (max > MAX_EVENTS) max = MAX_EVENTS;
  if (!use_poll) {
    int n = epoll_pwait(epfd, eevs, max, timeout_ms, sigmask);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
      uint32_t e = eevs[i].events;
      out[i].token = eevs[i].data.u32;
      out[i].events = (e & EPOLLIN ? EV_IN : 0) | (e & EPOLLOUT ? EV_OUT : 0) | (e & EPOLLHUP ? EV_HUP : 0) |
                      (e & EPOLLERR ? EV_ERR : 0);
    }
    return n;
  }
  struct timespec ts, *tsp = NULL;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    tsp = &ts;
  }
  int ready = ppoll(pfds, npfd, tsp, sigmask);
  if (ready < 0) return errno == EINTR ? 0 : -errno;
  /* Collect up to max, starting where the last scan stopped so that a full
   * event array cannot starve the fds at the end. */
  int n = 0;
  if (scan_from >= npfd) scan_from = 0;
  for (uint32_t k = 0; k < npfd && ready > 0 && n < max; k++) {
    uint32_t i = (scan_from + k) % npfd;
    short r = pfds[i].revents;
    if (!r) continue;
    ready--;
    out[n].token = owner[i];
    out[n].events = (r & POLLIN ? EV_IN : 0) | (r & POLLOUT ? EV_OUT : 0) | (r & POLLHUP ? EV_HUP : 0) |
                    (r & (POLLERR | POLLNVAL) ? EV_ERR : 0);
    n++;
    if (n == max) scan_from = i + 1;
  }
  return n;
}
