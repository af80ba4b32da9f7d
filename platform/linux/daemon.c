/* Daemon mode (lws_daemonize): the simulator detaches from its terminal,
 * holds a lock file with its pid, and sends stdio to /dev/null, while the
 * command that started it waits until the server is listening (so its exit
 * status says whether the daemon came up) and then exits.
 *
 *   parent: fork -> wait on a pipe -> exit 0 (child ready) or 1
 *   child:  setsid -> lock file (F_TLOCK, pid written) -> start -> ready ->
 *           stdio to /dev/null ... exit -> lock file removed
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux.h"

static int ready_fd = -1;
static int lock_fd = -1;
static const char *lock_file;

/* The pid in a lock file held by a live process, or 0. */
static long lock_holder(const char *path) {
  int fd = open(path, O_RDWR);
  if (fd < 0) return 0;
  long pid = 0;
  if (lockf(fd, F_TEST, 0) < 0) {
    char buf[32] = {0};
    if (read(fd, buf, sizeof buf - 1) > 0) pid = strtol(buf, NULL, 10);
    if (pid <= 0) pid = -1;
  }
  close(fd);
  return pid;
}

int sim_daemon_begin(const char *path) {
  lock_file = path;
  long holder = lock_holder(path);
  if (holder) {
    fprintf(stderr, "mote-sim: already running (pid %ld holds the lock file %s); stop it or pass another --lock\n",
            holder, path);
    return -1;
  }
  int p[2];
  if (pipe(p) < 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("mote-sim: fork");
    return -1;
  }
  if (pid > 0) { /* the starting command: wait for ready (one byte) or failure (EOF) */
    close(p[1]);
    char c = 0;
    ssize_t n;
    do n = read(p[0], &c, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1 && c == 'R') exit(0);
    int st = 0;
    waitpid(pid, &st, WNOHANG);
    fprintf(stderr, "mote-sim: the daemon did not start (see its log)\n");
    exit(1);
  }
  close(p[0]);
  ready_fd = p[1];
  setsid();
  signal(SIGHUP, SIG_IGN);
  lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd < 0 || lockf(lock_fd, F_TLOCK, 0) < 0) {
    fprintf(stderr, "mote-sim: cannot lock %s: %s\n", path, strerror(errno));
    exit(1);
  }
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
  if (ftruncate(lock_fd, 0) < 0 || write(lock_fd, buf, (size_t)n) != n) {
    fprintf(stderr, "mote-sim: cannot write %s: %s\n", path, strerror(errno));
    exit(1);
  }
  if (chdir("/") < 0) exit(1);
  return 0;
}

void sim_daemon_ready(void) {
  if (ready_fd < 0) return;
  fflush(NULL); /* the "listening on" line reaches whoever started us */
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) close(null);
  }
  if (write(ready_fd, "R", 1) != 1) {
    /* the starting command is gone: nothing to tell */
  }
  close(ready_fd);
  ready_fd = -1;
}

void sim_daemon_end(void) {
  if (lock_fd < 0) return;
  unlink(lock_file);
  close(lock_fd);
  lock_fd = -1;
}
