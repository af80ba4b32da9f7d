/* The port.h sockets over lwIP's raw TCP API (NO_SYS), shared by every lwIP
 * board. The board's main loop feeds lwIP (netif input, sys_check_timeouts)
 * and calls mote_lwip_service() once per pass.
 *
 * Handles given to the core are slot numbers of a fixed table
 * (MOTE_BOARD_MAX_CONNS from the board file). Received pbufs stay queued on
 * their slot until the core has room for them: tcp_recved() is called only
 * for bytes the core consumed, so a busy or paused connection closes its TCP
 * window instead of buffering more. */
#ifndef MOTE_LWIP_H
#define MOTE_LWIP_H

#include <stdint.h>

/* Empties the tables; nslots <= MOTE_BOARD_MAX_CONNS. */
void mote_lwip_init(uint32_t nslots);
/* One pass over the port's own work: level-triggered writable calls,
 * receive queues the core had no room for, failed sends. Returns 1 when it
 * did something (do not sleep yet), 0 when idle, -1 when the driver failed
 * fatally. */
int mote_lwip_service(uint32_t now_ms);
/* ms until the port needs mote_lwip_service() again without an event
 * (a read the core had no room for is retried), or UINT32_MAX. */
uint32_t mote_lwip_next_timeout(uint32_t now_ms);
/* Count of calls into the core made from lwIP callbacks (the main loop ticks
 * the core after any). */
uint32_t mote_lwip_events(void);
uint32_t mote_lwip_open_count(void);    /* connections the core knows */
uint32_t mote_lwip_linger_count(void);  /* gracefully closing, core has forgotten */
uint32_t mote_lwip_listener_count(void);
int mote_lwip_fatal(void);
/* Close the listeners (shutdown). */
void mote_lwip_stop_accepting(void);
/* Report every open connection closed (CLOSED_SHUTDOWN) and abort it. */
void mote_lwip_shutdown_all(void);

/* One line of memory figures (the board's 'm' console command): lwIP's heap
 * bytes in use (MEM_STATS), each memp pool's elements in use (MEMP_STATS)
 * and their bytes, the TCP PCB lists, and the port's slots. Returns the
 * length written (snprintf rules). */
int mote_lwip_mem_format(char *buf, uint32_t cap);

#if MOTE_TLS
/* TLS builds: every listener speaks TLS with srv (the board's command-line
 * configuration; NULL: only vhosts that ask, with their own certificate);
 * handshakes not done within handshake_ms are closed. */
struct mote_tls_server;
void mote_lwip_tls_enable(struct mote_tls_server *srv, uint32_t handshake_ms);
#endif

#endif
