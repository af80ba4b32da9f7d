/* mote's firmware: start the component with the Kconfig settings; the mote
 * task serves from then on. When it ends (a 'q' on the console: a graceful
 * stop), the chip restarts, which ends QEMU (run with -no-reboot). */
#include "esp_log.h"
#include "esp_system.h"
#include "mote_esp32.h"

void app_main(void) {
  esp_err_t err = mote_esp32_start(NULL);
  if (err != ESP_OK && err != ESP_ERR_TIMEOUT) {
    ESP_LOGE("mote", "mote_esp32_start: %s", esp_err_to_name(err));
    return;
  }
  mote_esp32_wait();
  esp_restart();
}
