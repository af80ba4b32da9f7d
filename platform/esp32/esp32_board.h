/* What the files of platform/esp32 share. */
#ifndef MOTE_ESP32_BOARD_H
#define MOTE_ESP32_BOARD_H

#include "board_config.h"

/* The app-image store over its flash partition (esp32_flash.c): wasm3
 * builds open it and hand the running image to the engine; 0, or -1 after
 * logging why. wasm2c builds have the core compiled in: 0 at once. */
int esp32_image_store_start(void);

#endif
