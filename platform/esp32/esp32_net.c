/* The network mote_esp32_start() brings up (Kconfig "mote" menu): Ethernet
 * on QEMU's OpenCores MAC (open_eth, its DP83848 PHY model), Ethernet on the
 * ESP32's internal EMAC with an RMII PHY, or Wi-Fi station. DHCP in every
 * case; the address is logged once leased. */
#include <string.h>

#include "esp_eth.h"
#include "esp_event.h"
#include "esp_netif.h"
#include "freertos/FreeRTOS.h"
#include "freertos/event_groups.h"
#include "nvs_flash.h"
#include "sdkconfig.h"
#if CONFIG_MOTE_NET_WIFI
#include "esp_wifi.h"
#include "nvs.h"
#endif

#include "../common/driver.h"
#include "mote_esp32.h"

#define GOT_IP BIT0

static EventGroupHandle_t net_events;
static char address[16];
static int net_up;

const char *mote_esp32_net_address(void) { return address; }

static esp_netif_ip_info_t leased;

/* On the default event loop's task, whose stack is small
 * (ESP_SYSTEM_EVENT_TASK_STACK_SIZE): no logging here (a log line is
 * formatted on the caller's stack); mote_esp32_net_start() logs it. */
static void on_ip(void *arg, esp_event_base_t base, int32_t id, void *data) {
  (void)arg, (void)base, (void)id;
  const ip_event_got_ip_t *ev = data;
  leased = ev->ip_info;
  esp_ip4addr_ntoa(&ev->ip_info.ip, address, sizeof address);
  xEventGroupSetBits(net_events, GOT_IP);
}

#if CONFIG_MOTE_NET_OPENETH || CONFIG_MOTE_NET_EMAC
static esp_err_t eth_start(void) {
  eth_mac_config_t mac_config = ETH_MAC_DEFAULT_CONFIG();
  eth_phy_config_t phy_config = ETH_PHY_DEFAULT_CONFIG();
  esp_eth_mac_t *mac;
  esp_eth_phy_t *phy;
#if CONFIG_MOTE_NET_OPENETH
  phy_config.autonego_timeout_ms = 100; /* the emulated link is up at once */
  phy_config.reset_gpio_num = -1;
  mac = esp_eth_mac_new_openeth(&mac_config);
  phy = esp_eth_phy_new_dp83848(&phy_config); /* what QEMU's open_eth answers on MDIO */
#else
  eth_esp32_emac_config_t emac = ETH_ESP32_EMAC_DEFAULT_CONFIG();
  emac.smi_mdc_gpio_num = CONFIG_MOTE_ETH_MDC_GPIO;
  emac.smi_mdio_gpio_num = CONFIG_MOTE_ETH_MDIO_GPIO;
#if CONFIG_MOTE_ETH_CLOCK_GPIO17_OUT
  emac.clock_config.rmii.clock_mode = EMAC_CLK_OUT;
  emac.clock_config.rmii.clock_gpio = EMAC_CLK_OUT_180_GPIO;
#else
  emac.clock_config.rmii.clock_mode = EMAC_CLK_EXT_IN;
  emac.clock_config.rmii.clock_gpio = EMAC_CLK_IN_GPIO;
#endif
  phy_config.phy_addr = CONFIG_MOTE_ETH_PHY_ADDR;
  phy_config.reset_gpio_num = CONFIG_MOTE_ETH_PHY_RESET_GPIO;
  mac = esp_eth_mac_new_esp32(&emac, &mac_config);
#if CONFIG_MOTE_ETH_PHY_IP101
  phy = esp_eth_phy_new_ip101(&phy_config);
#elif CONFIG_MOTE_ETH_PHY_RTL8201
  phy = esp_eth_phy_new_rtl8201(&phy_config);
#elif CONFIG_MOTE_ETH_PHY_DP83848
  phy = esp_eth_phy_new_dp83848(&phy_config);
#elif CONFIG_MOTE_ETH_PHY_KSZ80XX
  phy = esp_eth_phy_new_ksz80xx(&phy_config);
#else
  phy = esp_eth_phy_new_lan87xx(&phy_config);
#endif
#endif
  if (!mac || !phy) {
    mote_err("network: the Ethernet MAC or PHY driver could not be created");
    return ESP_FAIL;
  }
  esp_eth_config_t config = ETH_DEFAULT_CONFIG(mac, phy);
  esp_eth_handle_t eth = NULL;
  esp_err_t err = esp_eth_driver_install(&config, &eth);
  if (err != ESP_OK) {
    mote_err("network: Ethernet driver: %s", esp_err_to_name(err));
    return err;
  }
  esp_netif_config_t nc = ESP_NETIF_DEFAULT_ETH();
  esp_netif_t *netif = esp_netif_new(&nc);
  if (!netif) return ESP_ERR_NO_MEM;
  if ((err = esp_netif_attach(netif, esp_eth_new_netif_glue(eth))) != ESP_OK) return err;
  if ((err = esp_event_handler_register(IP_EVENT, IP_EVENT_ETH_GOT_IP, on_ip, NULL)) != ESP_OK) return err;
  return esp_eth_start(eth);
}
#endif

#if CONFIG_MOTE_NET_WIFI
static void on_wifi(void *arg, esp_event_base_t base, int32_t id, void *data) {
  (void)arg, (void)base, (void)data;
  if (id == WIFI_EVENT_STA_START || id == WIFI_EVENT_STA_DISCONNECTED) {
    esp_wifi_connect(); /* (on the event task: no logging, see on_ip) */
  }
}

/* Credentials: NVS namespace "mote" (keys "ssid", "password"), provisioned
 * at the factory or by the app; else the Kconfig values. */
static void wifi_credentials(wifi_config_t *wc) {
  strlcpy((char *)wc->sta.ssid, CONFIG_MOTE_WIFI_SSID, sizeof wc->sta.ssid);
  strlcpy((char *)wc->sta.password, CONFIG_MOTE_WIFI_PASSWORD, sizeof wc->sta.password);
  nvs_handle_t h;
  if (nvs_open("mote", NVS_READONLY, &h) != ESP_OK) return;
  size_t n = sizeof wc->sta.ssid;
  char ssid[sizeof wc->sta.ssid];
  if (nvs_get_str(h, "ssid", ssid, &n) == ESP_OK) {
    memcpy(wc->sta.ssid, ssid, sizeof wc->sta.ssid);
    n = sizeof wc->sta.password;
    if (nvs_get_str(h, "password", (char *)wc->sta.password, &n) != ESP_OK) wc->sta.password[0] = 0;
  }
  nvs_close(h);
}

static esp_err_t wifi_start(void) {
  esp_netif_create_default_wifi_sta();
  wifi_init_config_t ic = WIFI_INIT_CONFIG_DEFAULT();
  esp_err_t err = esp_wifi_init(&ic);
  if (err != ESP_OK) return err;
  esp_event_handler_register(WIFI_EVENT, ESP_EVENT_ANY_ID, on_wifi, NULL);
  esp_event_handler_register(IP_EVENT, IP_EVENT_STA_GOT_IP, on_ip, NULL);
  wifi_config_t wc = {0};
  wifi_credentials(&wc);
  if (!wc.sta.ssid[0]) {
    mote_err("network: no Wi-Fi network: set CONFIG_MOTE_WIFI_SSID or the NVS key mote/ssid");
    return ESP_ERR_INVALID_ARG;
  }
  esp_wifi_set_mode(WIFI_MODE_STA);
  esp_wifi_set_config(WIFI_IF_STA, &wc);
  mote_notice("network: Wi-Fi station, joining '%s'", (const char *)wc.sta.ssid);
  return esp_wifi_start();
}
#endif

esp_err_t mote_esp32_net_start(uint32_t timeout_ms) {
  if (!net_up) {
    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
      nvs_flash_erase();
      err = nvs_flash_init();
    }
    if (err != ESP_OK) mote_warn("nvs: %s", esp_err_to_name(err));
    if ((err = esp_netif_init()) != ESP_OK) return err;
    err = esp_event_loop_create_default();
    if (err != ESP_OK && err != ESP_ERR_INVALID_STATE) return err;
    net_events = xEventGroupCreate();
    if (!net_events) return ESP_ERR_NO_MEM;
#if CONFIG_MOTE_NET_OPENETH || CONFIG_MOTE_NET_EMAC
    err = eth_start();
#elif CONFIG_MOTE_NET_WIFI
    err = wifi_start();
#else
    err = ESP_ERR_NOT_SUPPORTED;
#endif
    if (err != ESP_OK) {
      mote_err("network: %s", esp_err_to_name(err));
      return err;
    }
    net_up = 1;
  }
  EventBits_t bits = xEventGroupWaitBits(net_events, GOT_IP, pdFALSE, pdTRUE, pdMS_TO_TICKS(timeout_ms));
  if (bits & GOT_IP) {
    char mask[16], gw[16];
    esp_ip4addr_ntoa(&leased.netmask, mask, sizeof mask);
    esp_ip4addr_ntoa(&leased.gw, gw, sizeof gw);
    mote_notice("network: %s netmask %s gateway %s (DHCP)", address, mask, gw);
    return ESP_OK;
  }
  mote_warn("network: no address after %u ms; starting anyway", (unsigned)timeout_ms);
  return ESP_ERR_TIMEOUT;
}
