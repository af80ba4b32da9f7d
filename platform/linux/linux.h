/* Internals shared by the Linux simulator's files (not part of any API);
 * its sockets are the BSD-socket port, platform/posix/sock.h. */
#ifndef MOTE_LINUX_H
#define MOTE_LINUX_H

#include <signal.h>
#include <stdint.h>

/* The readiness backends (platform/posix/loop.h): poll(2), and epoll here. */
#include "loop.h"
extern const struct mote_loop mote_loop_epoll;

/* ---- sys.c -------------------------------------------------------------- */

uint32_t sim_now_ms(void);

/* daemon.c: --daemon (lws_daemonize). begin() returns in the daemon only
 * (the starting process exits from it: 0 once ready() is called, 1 if the
 * daemon dies first); -1 when the lock file is held or fork fails. */
/* flash.c: the app-image store's region as a file of exactly 2 slots. */
struct mote_flash;
int sim_flash_open(const char *path, uint32_t slot_bytes, uint32_t erase_bytes, struct mote_flash *out);

/* The syslog sink: log lines go to the local syslog socket (path NULL:
 * /dev/log) with this facility code (sim_syslog_facility: a name such as
 * "daemon" or "local0" -> its code, or -1) instead of stderr. 0, or -1
 * after saying why on stderr. */
int sim_log_syslog(const char *path, int facility);
int sim_syslog_facility(const char *name);
int sim_daemon_begin(const char *lock_path);
void sim_daemon_ready(void);
void sim_daemon_end(void);

#endif
