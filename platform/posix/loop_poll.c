/* The poll(2) backend (loop.h): portable, the one ESP-IDF's lwIP sockets
 * offer too. A dense pollfd array; where[fd] is a descriptor's index in it
 * (-1: not watched). */
#include <errno.h>
#if __has_include(<poll.h>)
#include <poll.h>
#else
#include <sys/poll.h> /* ESP-IDF */
#endif
#include <stdlib.h>

#include "loop.h"

static struct pollfd *pfds;
static int32_t *where;
static uint32_t npfd, max_fd, scan_from;

static int lp_open(uint32_t max_fds) {
  max_fd = max_fds;
  pfds = calloc(max_fds ? max_fds : 1, sizeof *pfds);
  where = malloc((max_fds ? max_fds : 1) * sizeof *where);
  if (!pfds || !where) return -ENOMEM;
  for (uint32_t i = 0; i < max_fds; i++) where[i] = -1;
  npfd = scan_from = 0;
  return 0;
}

static void lp_close(void) {
  free(pfds);
  free(where);
  pfds = NULL;
  where = NULL;
  npfd = 0;
}

static short to_poll(uint32_t ev) { return (short)((ev & EV_IN ? POLLIN : 0) | (ev & EV_OUT ? POLLOUT : 0)); }

static int lp_add(int fd, uint32_t events) {
  if (fd < 0 || (uint32_t)fd >= max_fd || where[fd] >= 0) return -EINVAL;
  pfds[npfd] = (struct pollfd){.fd = fd, .events = to_poll(events)};
  where[fd] = (int32_t)npfd++;
  return 0;
}

static int lp_mod(int fd, uint32_t events) {
  if (fd < 0 || (uint32_t)fd >= max_fd || where[fd] < 0) return -ENOENT;
  pfds[where[fd]].events = to_poll(events);
  return 0;
}

static void lp_del(int fd, int closing) {
  (void)closing;
  if (fd < 0 || (uint32_t)fd >= max_fd || where[fd] < 0) return;
  uint32_t i = (uint32_t)where[fd], last = --npfd;
  if (i != last) {
    pfds[i] = pfds[last];
    where[pfds[i].fd] = (int32_t)i;
  }
  where[fd] = -1;
}

static int lp_wait(struct ev *out, int max, int timeout_ms) {
  int ready = poll(pfds, npfd, timeout_ms);
  if (ready < 0) return errno == EINTR ? 0 : -errno;
  /* Collect up to max, starting where the last scan stopped so that a full
   * event array cannot starve the descriptors at the end. */
  int n = 0;
  if (scan_from >= npfd) scan_from = 0;
  for (uint32_t k = 0; k < npfd && ready > 0 && n < max; k++) {
    uint32_t i = (scan_from + k) % npfd;
    short r = pfds[i].revents;
    if (!r) continue;
    ready--;
    out[n].fd = pfds[i].fd;
    out[n].events = (r & POLLIN ? EV_IN : 0) | (r & POLLOUT ? EV_OUT : 0) | (r & POLLHUP ? EV_HUP : 0) |
                    (r & (POLLERR | POLLNVAL) ? EV_ERR : 0);
    n++;
    if (n == max) scan_from = i + 1;
  }
  return n;
}

const struct mote_loop mote_loop_poll = {"poll", lp_open, lp_close, lp_add, lp_mod, lp_del, lp_wait};
