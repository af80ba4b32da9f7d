/* mote on ESP-IDF: the port services the driver needs (log sink, clock,
 * randomness), the FreeRTOS task that runs the BSD-socket port's service
 * loop (platform/posix/run.c) on lwIP's sockets and poll(), the console
 * commands, and the start/stop API of mote_esp32.h.
 *
 * Threads: every call into the core (the driver, the engine) happens on the
 * mote task. mote_esp32_stop() and the console task only count a stop and
 * wake the task's wait through an eventfd it watches. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "driver/uart.h"
#include "esp_heap_caps.h"
#include "esp_random.h"
#include "esp_timer.h"
#include "esp_vfs_eventfd.h"
#include "nvs.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "lwip/sockets.h"
#include "sdkconfig.h"

#include "../common/driver.h"
#include "../common/image_store.h"
#include "engine.h"
#include "esp32_board.h"
#include "loop.h"
#include "mote_abi.h"
#include "mote_esp32.h"
#include "mote_opts.h"
#include "port.h"
#include "sock.h"

/* ---- port services ----------------------------------------------------------- */

void port_log(int level, const char *line, size_t len) {
  (void)level;
  fwrite(line, 1, len, stdout);
  fflush(stdout);
}

/* A wall clock only once something (SNTP) has set it: before, no stamp. */
size_t port_log_time(char *buf, size_t cap) {
  struct timeval tv;
  if (gettimeofday(&tv, NULL) != 0 || tv.tv_sec < 1600000000) return 0;
  struct tm tm;
  time_t t = tv.tv_sec;
  gmtime_r(&t, &tm);
  int n = snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

uint32_t port_now_ms(void) { return (uint32_t)(esp_timer_get_time() / 1000); }

/* The hardware RNG (true random while the RF subsystem or the bootloader's
 * entropy source runs; see esp_random()'s documentation). */
void port_random_fill(uint8_t *buf, uint32_t len) { esp_fill_random(buf, len); }

/* ---- the task ------------------------------------------------------------------- */

static volatile int stops;      /* sock_run(): 1 drains, 2 exits now */
static int wake_fd = -1;        /* an eventfd the loop watches */
static TaskHandle_t task;
static SemaphoreHandle_t ended; /* given when the task has ended */
static SemaphoreHandle_t started;
static int start_status;
static mote_esp32_config_t conf;
static int exit_status;

static void wake(void) {
  uint64_t one = 1;
  if (wake_fd >= 0 && write(wake_fd, &one, sizeof one) < 0) { /* the loop is gone */ }
}

/* The connection table: the configured size, within what lwIP's sockets
 * leave after the listeners and the one kept to refuse with. */
static uint32_t table_size(void) {
  uint32_t want = conf.max_conns ? conf.max_conns : MOTE_BOARD_MAX_CONNS;
  uint32_t room = CONFIG_LWIP_MAX_SOCKETS > 2 ? CONFIG_LWIP_MAX_SOCKETS - 2 : 1;
  if (want > room) {
    mote_warn("%u connections asked for; lwIP has %u sockets: using %u (raise LWIP_MAX_SOCKETS)", (unsigned)want,
              (unsigned)CONFIG_LWIP_MAX_SOCKETS, (unsigned)room);
    want = room;
  }
  return want;
}

/* Settings kept in NVS (namespace "mote", u32 seconds) override the app's
 * vhost options as the simulator's --ka-* and --ws-* flags do: `mote qemu
 * --ka-time 2` writes them into the flash image; on a device, IDF's
 * nvs_partition_gen.py or nvs_set_u32() from the app. A key that is absent
 * leaves the app's (keepalive) or the board file's (WebSocket timers) value;
 * ka_time 0 is the vhosts' own, a WebSocket timer 0 never fires. */
static void settings_from_nvs(struct mote_limits *lim) {
  static const struct {
    const char *key;
    size_t field;
  } keys[] = {
      {"ka_time", offsetof(struct mote_limits, ka_time)},      {"ka_probes", offsetof(struct mote_limits, ka_probes)},
      {"ka_interval", offsetof(struct mote_limits, ka_interval)}, {"ws_ping", offsetof(struct mote_limits, ws_ping_s)},
      {"ws_hangup", offsetof(struct mote_limits, ws_hangup_s)}, {"ws_message", offsetof(struct mote_limits, ws_message_s)},
  };
  nvs_handle_t h;
  if (nvs_open("mote", NVS_READONLY, &h) != ESP_OK) return; /* no NVS, or nothing kept for mote */
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    uint32_t v;
    if (nvs_get_u32(h, keys[i].key, &v) != ESP_OK) continue;
    *(uint32_t *)((char *)lim + keys[i].field) = v;
    mote_notice("setting from NVS: %s = %u", keys[i].key, (unsigned)v);
  }
  nvs_close(h);
}

static void mote_task(void *arg) {
  (void)arg;
  int status = 1;
  struct sock_config cfg = {.iface = "0.0.0.0", .nslots = table_size(), .max_fds = FD_SETSIZE,
                            .loop = &mote_loop_poll, .tls_handshake_ms = MOTE_TLS_HANDSHAKE_MS};
  if (sock_init(&cfg) < 0 || sock_watch_wakeup(wake_fd) < 0) {
    mote_err("cannot allocate the connection table (%u slots) or watch the wake-up eventfd", (unsigned)cfg.nslots);
    goto out;
  }
  struct mote_limits lim = {
      .max_conns = cfg.nslots,
      .rx_buf = MOTE_BOARD_RX_BUF,
      .hdr_pool = MOTE_BOARD_HDR_POOL,
      .hdr_bytes = MOTE_BOARD_HDR_BYTES,
      .tx_blocks = MOTE_BOARD_TX_BLOCKS,
      .tx_block_bytes = MOTE_BOARD_TX_BLOCK_BYTES,
      .log_level = mote_log_get_mask(),
      .max_message = MOTE_BOARD_MAX_MESSAGE,
      .tx_conn_bytes = MOTE_BOARD_TX_CONN_BYTES,
      .port = conf.port,
      .ws_ping_s = MOTE_BOARD_WS_PING_S,
      .ws_hangup_s = MOTE_BOARD_WS_HANGUP_S,
      .ws_message_s = MOTE_BOARD_WS_MESSAGE_S,
      .peer_conns = MOTE_BOARD_PEER_CONNS,
  };
  settings_from_nvs(&lim);
  if (esp32_image_store_start() < 0 || mote_drv_start(&lim) < 0) {
    sock_free();
    goto out;
  }
  if (sock_listener_count() == 0) mote_warn("the core opened no listener");
  mote_notice("mote: %u connections, engine %s, %u bytes of heap free", (unsigned)cfg.nslots, mote_engine_name(),
              (unsigned)heap_caps_get_free_size(MALLOC_CAP_8BIT));
  start_status = 0;
  xSemaphoreGive(started);
  status = sock_run(&stops);
  mote_drv_stop();
  sock_free();
  if (mote_drv_restarts()) mote_notice("core restarted %u times after traps", (unsigned)mote_drv_restarts());
out:
  mote_notice("exit %d", status);
  exit_status = status;
  if (start_status != 0) xSemaphoreGive(started);
  task = NULL;
  xSemaphoreGive(ended);
  vTaskDelete(NULL);
}

/* ---- console: q stops, m reports memory, f injects faults ------------------------ */

/* 'm': the heap figures the memory tests read (per idle connection: the
 * difference between two reports; lwIP allocates its PCBs, sockets and
 * buffers from this heap too). port_open is read from another task: a
 * snapshot, exact while nothing connects or closes. */
static void mem_report(void) {
  mote_notice("mem: heap_free=%u heap_min=%u heap_largest=%u internal_free=%u port_open=%u port_slot=%u",
              (unsigned)heap_caps_get_free_size(MALLOC_CAP_8BIT), (unsigned)heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT),
              (unsigned)heap_caps_get_largest_free_block(MALLOC_CAP_8BIT),
              (unsigned)heap_caps_get_free_size(MALLOC_CAP_INTERNAL), (unsigned)sock_open_count(), (unsigned)sock_slot_bytes());
}

#if CONFIG_MOTE_CONSOLE
static void console_task(void *arg) {
  (void)arg;
  uint8_t c;
  for (;;) {
    if (uart_read_bytes(CONFIG_ESP_CONSOLE_UART_NUM, &c, 1, portMAX_DELAY) != 1) continue;
    if (c == 'q' || c == 'Q' || c == 3) {
      stops++;
      wake();
    } else if (c == 'm') {
      mem_report();
    } else if (c == 'f') {
      /* the simulator's --debug-fault 7 (a test hook): from now on every 7th
       * import call fails its bounds check, so the core traps and restarts */
      mote_engine_debug_fault(7);
      mote_notice("debug fault: every 7th import call fails its bounds check");
    }
  }
}
#endif

/* ---- the API -------------------------------------------------------------------- */

esp_err_t mote_esp32_start(const mote_esp32_config_t *c) {
  if (task) return ESP_ERR_INVALID_STATE;
  mote_esp32_config_t d = MOTE_ESP32_CONFIG_DEFAULT();
  conf = c ? *c : d;
  mote_log_set_mask(conf.log_mask ? conf.log_mask : MOTE_LOG_DEFAULT);
  mote_notice("mote on %s (%s, %s, %u MHz), engine %s", MOTE_BOARD_NAME, MOTE_BOARD_CPU, CONFIG_IDF_TARGET,
              (unsigned)(MOTE_BOARD_CPU_HZ / 1000000), mote_engine_name());
  esp_err_t err = ESP_OK;
  if (conf.start_network) err = mote_esp32_net_start(CONFIG_MOTE_NET_TIMEOUT_MS + 0u);
  if (err != ESP_OK && err != ESP_ERR_TIMEOUT) return err;
  if (!ended) ended = xSemaphoreCreateBinary();
  if (!started) started = xSemaphoreCreateBinary();
  if (!ended || !started) return ESP_ERR_NO_MEM;
  if (wake_fd < 0) {
    esp_vfs_eventfd_config_t ec = ESP_VFS_EVENTD_CONFIG_DEFAULT();
    esp_err_t r = esp_vfs_eventfd_register(&ec);
    if (r != ESP_OK && r != ESP_ERR_INVALID_STATE) return r; /* INVALID_STATE: the app registered it */
    wake_fd = eventfd(0, 0);
    if (wake_fd < 0) return ESP_ERR_NO_MEM;
  }
  stops = 0;
  start_status = 1;
  BaseType_t ok = conf.core < 0 ? xTaskCreate(mote_task, "mote", conf.stack_bytes, NULL, conf.priority, &task)
                                : xTaskCreatePinnedToCore(mote_task, "mote", conf.stack_bytes, NULL, conf.priority, &task, conf.core);
  if (ok != pdPASS) return ESP_ERR_NO_MEM;
  xSemaphoreTake(started, portMAX_DELAY);
  if (start_status != 0) return ESP_FAIL;
#if CONFIG_MOTE_CONSOLE
  static TaskHandle_t console;
  if (!console && uart_driver_install(CONFIG_ESP_CONSOLE_UART_NUM, 256, 0, 0, NULL, 0) == ESP_OK)
    /* its commands log a line: MOTE_LOG_LINE_MAX on the stack, and newlib's printf (deep on Xtensa) */
    xTaskCreate(console_task, "mote-console", 6144, NULL, 2, &console);
#endif
  mote_notice("listening on http://%s:%u/", mote_esp32_net_address(), (unsigned)(conf.port ? conf.port : 80));
  return err;
}

int mote_esp32_wait(void) {
  if (!ended) return -1;
  while (task) xSemaphoreTake(ended, portMAX_DELAY);
  xSemaphoreGive(ended); /* for mote_esp32_stop() waiting too */
  return exit_status;
}

esp_err_t mote_esp32_stop(uint32_t timeout_ms) {
  if (!task) return ESP_OK;
  stops = 1;
  wake();
  if (xSemaphoreTake(ended, pdMS_TO_TICKS(timeout_ms)) == pdTRUE) return ESP_OK;
  stops = 2;
  wake();
  return xSemaphoreTake(ended, pdMS_TO_TICKS(1000)) == pdTRUE ? ESP_OK : ESP_ERR_TIMEOUT;
}
