/* mote_esp32.h: start and stop mote from an ESP-IDF application.
 *
 *   #include "mote_esp32.h"
 *   void app_main(void) {
 *     ESP_ERROR_CHECK(mote_esp32_start(NULL));   // Kconfig's network, limits and task
 *   }
 *
 * mote_esp32_start() brings up the network chosen in menuconfig ("mote" menu:
 * QEMU's open_eth, the internal EMAC with a LAN8720/IP101/RTL8201/DP83848/
 * KSZ80xx PHY, or Wi-Fi station with credentials from NVS or Kconfig), unless
 * the application has done so itself (CONFIG_MOTE_NET_START off, or
 * cfg.start_network = 0), waits for an address, and starts a FreeRTOS task
 * that runs the core: the BSD-socket port on lwIP's sockets and poll(). Every
 * call into the core happens on that task. mote_esp32_stop() asks it for a
 * graceful stop (WebSocket peers get close 1001) and waits for it to end. */
#ifndef MOTE_ESP32_H
#define MOTE_ESP32_H

#include <stdint.h>
#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint32_t port;         /* the default vhost's port; 0: the app's own */
  uint32_t max_conns;    /* connection table; 0: Kconfig's, else the board file's */
  uint32_t log_mask;     /* lws log bits (MOTE_LOG_*); 0: errors, warnings, notices */
  uint32_t stack_bytes;  /* the task's stack */
  int priority;          /* the task's priority */
  int core;              /* the core it is pinned to; -1: either */
  int start_network;     /* 1: bring up the Kconfig network first; 0: the app already did */
} mote_esp32_config_t;

#define MOTE_ESP32_CONFIG_DEFAULT()                                                                         \
  {                                                                                                         \
    .port = CONFIG_MOTE_LISTEN_PORT, .max_conns = CONFIG_MOTE_MAX_CONNECTIONS, .log_mask = 0,               \
    .stack_bytes = CONFIG_MOTE_TASK_STACK, .priority = CONFIG_MOTE_TASK_PRIORITY, .core = CONFIG_MOTE_TASK_CORE, \
    .start_network = MOTE_ESP32_NET_START_DEFAULT,                                                          \
  }
#ifdef CONFIG_MOTE_NET_START
#define MOTE_ESP32_NET_START_DEFAULT 1
#else
#define MOTE_ESP32_NET_START_DEFAULT 0
#endif

/* Start mote (cfg NULL: MOTE_ESP32_CONFIG_DEFAULT()). ESP_OK once the core
 * listens; ESP_ERR_INVALID_STATE when it runs already; ESP_ERR_NO_MEM,
 * ESP_ERR_TIMEOUT (no address in CONFIG_MOTE_NET_TIMEOUT_MS: mote starts
 * anyway and listens once one comes), or ESP_FAIL (logged why). */
esp_err_t mote_esp32_start(const mote_esp32_config_t *cfg);

/* Graceful stop; waits up to timeout_ms for the task to end, then asks for
 * an immediate one. ESP_OK when it has ended. */
esp_err_t mote_esp32_stop(uint32_t timeout_ms);

/* Block until the mote task has ended (a console 'q', mote_esp32_stop())
 * and return its exit status: 0, or 1 when the core could not go on. */
int mote_esp32_wait(void);

/* Bring up the Kconfig network and wait up to timeout_ms for an IPv4
 * address (mote_esp32_start calls it when start_network is set). */
esp_err_t mote_esp32_net_start(uint32_t timeout_ms);

/* The address the network got ("10.0.2.15"), or "" before one. */
const char *mote_esp32_net_address(void);

#ifdef __cplusplus
}
#endif
#endif
