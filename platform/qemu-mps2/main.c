/* mote on mps2-an386: bring up the clock, the console, lwIP on the LAN9118
 * and the core, then run the service loop:
 *
 *   frames from the chip -> lwIP (callbacks -> core events)
 *   sys_check_timeouts()  (TCP timers, ARP, DHCP)
 *   mote_lwip_service()   (level-triggered writable, deferred reads)
 *   mote_drv_tick()       (core timers)
 *   WFI until an interrupt (RX frame, UART byte) or the next deadline
 *
 * A 'q' (or Ctrl-C) on the console starts a graceful shutdown like SIGTERM
 * on the simulator: WebSocket peers get close 1001, and once every
 * connection is gone (or after MOTE_SHUTDOWN_GRACE_MS) the firmware leaves QEMU
 * through semihosting with status 0. */
#include <stdio.h>
#include <string.h>

#include "lwip/dhcp.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#include "../common/driver.h"
#include "../common/image_store.h"
#if __has_include("image_key.h")
#include "image_key.h" /* wasm3 builds: the device key (tools/build-arm.ts) */
#endif
#include "../lwip/mote_lwip.h"
#include "engine.h"
#include "mote_abi.h"
#include "mote_opts.h"
#include "mps2.h"


static struct netif nif;

u32_t sys_now(void) { return mps2_now_ms(); }

static void netif_status(struct netif *n) {
  if (!netif_is_up(n) || ip4_addr_isany_val(*netif_ip4_addr(n))) return;
  char a[16], m[16], g[16];
  ip4addr_ntoa_r(netif_ip4_addr(n), a, sizeof a);
  ip4addr_ntoa_r(netif_ip4_netmask(n), m, sizeof m);
  ip4addr_ntoa_r(netif_ip4_gw(n), g, sizeof g);
  mote_notice("network: %s netmask %s gateway %s (%s)", a, m, g, MOTE_BOARD_NET_DHCP ? "DHCP" : "static");
}

static int net_up(void) {
  lwip_init();
  ip4_addr_t ip, mask, gw;
#if MOTE_BOARD_NET_DHCP
  ip4_addr_set_zero(&ip);
  ip4_addr_set_zero(&mask);
  ip4_addr_set_zero(&gw);
#else
  ip4addr_aton(MOTE_BOARD_NET_IP, &ip);
  ip4addr_aton(MOTE_BOARD_NET_NETMASK, &mask);
  ip4addr_aton(MOTE_BOARD_NET_GATEWAY, &gw);
#endif
  if (!netif_add(&nif, &ip, &mask, &gw, NULL, lan9118_netif_init, ethernet_input)) {
    mote_err("network: the LAN9118 did not come up");
    return -1;
  }
  netif_set_status_callback(&nif, netif_status);
  netif_set_default(&nif);
  netif_set_up(&nif);
#if MOTE_BOARD_NET_DHCP
  if (dhcp_start(&nif) != ERR_OK) {
    mote_err("network: dhcp_start failed");
    return -1;
  }
#endif
  return 0;
}

/* 'm': one line of the memory in use, for measuring what a connection costs
 * (test/qemu/memory.test.ts): lwIP's heap and pools, the port's slots, the C
 * heap, and the core's heap top (each probe takes 16 B of the core's heap). */
static void mem_report(void) {
  char line[640];
  int n = mote_lwip_mem_format(line, sizeof line);
  uint32_t top = 0;
  int st = mote_engine_heap_probe(&top);
  if (n < 0 || (size_t)n >= sizeof line) n = 0;
  snprintf(line + n, sizeof line - (size_t)n, " c_heap_sbrk=%u core_heap_top=%ld core_mem=%u",
           (unsigned)mps2_heap_used(), st == 0 ? (long)top : -1L, (unsigned)mote_engine_mem_size());
  mote_notice("mem: %s", line);
}

/* Console commands: 'q' / Ctrl-C shut down; 'm' prints the memory in use;
 * 'f' is the simulator's --debug-fault 7 (a test hook: from now on every
 * 7th import call fails its bounds check, so the core traps and restarts). */
static int console_wants_exit(void) {
  int c, quit = 0;
  while ((c = mps2_uart_getc()) >= 0) {
    if (c == 'q' || c == 'Q' || c == 3) quit = 1;
    else if (c == 'm') mem_report();
    else if (c == 'f') {
      mote_engine_debug_fault(7);
      mote_notice("debug fault: every 7th import call fails its bounds check");
    }
  }
  return quit;
}

/* Options on QEMU's semihosting command line (`mote qemu --ka-time S ...`
 * passes them as -semihosting-config arg=...): the TCP keepalive override of
 * the limits block, as mote-sim's --ka-time/--ka-probes/--ka-interval. */
static void board_args(struct mote_limits *lim) {
  char line[256]; /* as flash.c's: a line longer than the buffer is refused whole (E2BIG) */
  if (mps2_cmdline(line, sizeof line) <= 0) return;
  char *save = NULL, *name = strtok_r(line, " ", &save);
  name = strtok_r(NULL, " ", &save); /* the first word is the program name */
  for (; name; name = strtok_r(NULL, " ", &save)) {
    if (!strcmp(name, "--flash")) { /* flash.c's */
      strtok_r(NULL, " ", &save);
      continue;
    }
#if MOTE_TLS
    int takes = mps2_tls_option(name);
    if (takes >= 0) {
      char *tv = takes ? strtok_r(NULL, " ", &save) : NULL;
      if ((takes && !tv) || mps2_tls_set(name, tv ? tv : "") < 0) mote_warn("command line: '%s %s' ignored", name, tv ? tv : "");
      continue;
    }
#endif
    uint32_t *field = !strcmp(name, "--ka-time") ? &lim->ka_time
                      : !strcmp(name, "--ka-probes") ? &lim->ka_probes
                      : !strcmp(name, "--ka-interval") ? &lim->ka_interval
                      : !strcmp(name, "--ws-ping") ? &lim->ws_ping_s
                      : !strcmp(name, "--ws-hangup") ? &lim->ws_hangup_s
                      : !strcmp(name, "--ws-message") ? &lim->ws_message_s
                      : !strcmp(name, "--max-conns-per-peer") ? &lim->peer_conns
                      : !strcmp(name, "-d") ? &lim->log_level : NULL; /* -d: lws log bitmask, as mote-sim's */
    char *val = field ? strtok_r(NULL, " ", &save) : NULL;
    uint32_t v = 0; /* decimal seconds or count; strtoul would cost 360 B of flash */
    const char *d = val ? val : "";
    while (*d >= '0' && *d <= '9' && v <= UINT32_MAX / 1000) v = v * 10 + (uint32_t)(*d++ - '0');
    if (!field || !val || !*val || *d || v > UINT32_MAX / 1000) {
      mote_warn("command line: '%s %s' ignored", name, val ? val : "");
      continue;
    }
    *field = v;
  }
}

int main(void) {
  mps2_clock_init(MOTE_BOARD_CPU_HZ);
  mps2_uart_init();
  mote_log_set_mask(MOTE_LOG_DEFAULT);
  mote_notice("mote on %s (%s, %u MHz), engine %s", MOTE_BOARD_NAME, MOTE_BOARD_CPU, (unsigned)(MOTE_BOARD_CPU_HZ / 1000000),
              mote_engine_name());
  if (net_up() < 0) return 1;
  mote_lwip_init(MOTE_BOARD_MAX_CONNS);

  struct mote_limits lim = {
      .max_conns = MOTE_BOARD_MAX_CONNS,
      .rx_buf = MOTE_BOARD_RX_BUF,
      .hdr_pool = MOTE_BOARD_HDR_POOL,
      .hdr_bytes = MOTE_BOARD_HDR_BYTES,
      .tx_blocks = MOTE_BOARD_TX_BLOCKS,
      .tx_block_bytes = MOTE_BOARD_TX_BLOCK_BYTES,
      .log_level = MOTE_LOG_DEFAULT,
      .max_message = MOTE_BOARD_MAX_MESSAGE,
      .tx_conn_bytes = MOTE_BOARD_TX_CONN_BYTES,
      .port = MOTE_BOARD_LISTEN_PORT,
      .flags = 0,
      .ws_ping_s = MOTE_BOARD_WS_PING_S,
      .ws_hangup_s = MOTE_BOARD_WS_HANGUP_S,
      .ws_message_s = MOTE_BOARD_WS_MESSAGE_S,
      .peer_conns = MOTE_BOARD_PEER_CONNS,
  };
  board_args(&lim);
  mote_log_set_mask(lim.log_level);
#ifdef MOTE_IMAGE_KEY
  /* wasm3: the module comes from the app-image store */
  static const uint8_t key[MOTE_IMAGE_KEY_BYTES] = MOTE_IMAGE_KEY;
  struct mote_flash fl;
  if (mps2_flash_open(&fl) < 0 || mote_image_store_init(&fl, key) < 0) return 1;
#else
  if (mote_engine_uses_image()) {
    mote_err("engine %s needs an image store, and this build has no device key", mote_engine_name());
    return 1;
  }
#endif
#if MOTE_TLS
  if (mps2_tls_start() < 0) return 1;
#endif
  if (mote_drv_start(&lim) < 0) return 1;
  if (mote_lwip_listener_count() == 0) mote_warn("the core opened no listener");

  int status = 0, draining = 0;
  uint32_t drain_deadline = 0, core_open = 0, tick_due = 0, seen_events = 0;
  for (;;) {
    uint32_t now = mps2_now_ms();
    /* the core's clock first: lwIP delivers accepts and data from here on */
    int clock = mote_drv_clock(now);
    if (clock == MOTE_DRV_FATAL) {
      status = 1;
      break;
    }
    if (clock == MOTE_DRV_RESTARTED) tick_due = now; /* tick the new instance now */
    int busy = lan9118_poll(&nif) > 0;
    sys_check_timeouts();
    int r = mote_lwip_service(now);
    if (r < 0) {
      status = 1;
      break;
    }
    busy |= r;

    /* the core's timers: when due, and after any event (it may have set one) */
    uint32_t ev = mote_lwip_events();
    if (ev != seen_events || (int32_t)(now - tick_due) >= 0) {
      uint32_t next = 0;
      if (mote_drv_tick(now, &next) == MOTE_DRV_FATAL) {
        status = 1;
        break;
      }
      seen_events = mote_lwip_events();
      tick_due = now + (next > 1000 ? 1000 : next);
    }

    if (!draining && console_wants_exit()) {
      draining = 1;
      drain_deadline = now + MOTE_SHUTDOWN_GRACE_MS;
      mote_lwip_stop_accepting();
      if (mote_drv_shutdown(&core_open) == MOTE_DRV_FATAL) {
        status = 1;
        break;
      }
      mote_notice("shutting down: %u connections open (core), %u (port)", (unsigned)core_open,
                  (unsigned)mote_lwip_open_count());
      busy = 1;
    }
    if (draining) {
      if ((core_open == 0 || mote_lwip_open_count() == 0) && mote_lwip_linger_count() == 0) break;
      if ((int32_t)(now - drain_deadline) >= 0) {
        mote_notice("shutdown: %u connections still open after %d ms; closing them", (unsigned)mote_lwip_open_count(),
                    MOTE_SHUTDOWN_GRACE_MS);
        break;
      }
    }

    /* sleep until an interrupt (a frame, a console byte) or the next
     * deadline: the core's, lwIP's, or the port's retry of a starved read */
    if (!busy && !lan9118_rx_pending()) {
      now = mps2_now_ms();
      uint32_t sleep = (int32_t)(tick_due - now) > 0 ? tick_due - now : 0;
      uint32_t t = sys_timeouts_sleeptime();
      if (t < sleep) sleep = t;
      t = mote_lwip_next_timeout(now);
      if (t < sleep) sleep = t;
      if (draining && sleep > 10) sleep = 10;
      mps2_sleep(sleep);
    }
  }
  mote_lwip_shutdown_all();
  /* let lwIP send what the last closes queued */
  for (uint32_t until = mps2_now_ms() + 50; (int32_t)(mps2_now_ms() - until) < 0;) {
    lan9118_poll(&nif);
    sys_check_timeouts();
  }
  mote_drv_stop();
  if (mote_drv_restarts()) mote_notice("core restarted %u times after traps", (unsigned)mote_drv_restarts());
  mote_notice("exit %d", status);
  return status;
}
