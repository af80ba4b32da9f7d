/* SMSC LAN9118 Ethernet driver for lwIP (NO_SYS), as QEMU's mps2-an386
 * models the chip.
 *
 * Receive: the chip raises IRQ 13 when its RX status FIFO holds a frame
 * (RSFL). The handler only acknowledges it and wakes the main loop, which
 * moves whole frames from the FIFO into pbufs (lan9118_poll) and hands them
 * to lwIP. Transmit: one frame per call, written word by word into the TX
 * data FIFO, no interrupt.
 *
 * QEMU quirks this follows: IRQ_CFG must be set to active-high push-pull
 * before IRQ 13 is enabled (the line idles high after reset otherwise);
 * touching a MAC CSR QEMU does not model aborts QEMU, so only MAC_CR and
 * the address registers are used; no checksum offload. */
#include <string.h>

#include "lwip/err.h"
#include "lwip/etharp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/snmp.h"
#include "netif/ethernet.h"

#include "../common/driver.h"
#include "mps2.h"

#define R(off) REG32(LAN9118_BASE + (off))
#define RX_DATA_FIFO R(0x00)
#define TX_DATA_FIFO R(0x20)
#define RX_STATUS_FIFO R(0x40)
#define TX_STATUS_FIFO R(0x48)
#define ID_REV R(0x50)
#define IRQ_CFG R(0x54)
#define INT_STS R(0x58)
#define INT_EN R(0x5C)
#define BYTE_TEST R(0x64)
#define FIFO_INT R(0x68)
#define RX_CFG R(0x6C)
#define TX_CFG R(0x70)
#define HW_CFG R(0x74)
#define RX_FIFO_INF R(0x7C)
#define TX_FIFO_INF R(0x80)
#define FREE_RUN R(0x9C)
#define MAC_CSR_CMD R(0xA4)
#define MAC_CSR_DATA R(0xA8)

#define IRQ_CFG_EN_HIGH_PUSHPULL 0x111u /* IRQ_EN | IRQ_POL | IRQ_TYPE */
#define INT_RSFL (1u << 3)              /* RX status FIFO level */
#define HW_CFG_SRST 1u
#define TX_CFG_TX_ON (1u << 1)
#define TX_CFG_TXSAO (1u << 2) /* TX status FIFO may overrun: no status reads */

#define MAC_CR 1
#define MAC_ADDRH 2
#define MAC_ADDRL 3
#define MAC_CR_TXEN (1u << 3)
#define MAC_CR_RXEN (1u << 2)
#define MAC_CR_FDPX (1u << 20)

#define MAX_FRAME 1536

static volatile uint32_t irq_count;
uint32_t lan9118_rx_frames, lan9118_rx_dropped, lan9118_tx_frames;
#define rx_frames lan9118_rx_frames
#define rx_dropped lan9118_rx_dropped
#define tx_frames lan9118_tx_frames
static uint32_t tx_dropped;

static uint32_t mac_read(uint32_t reg) {
  MAC_CSR_CMD = 0xC0000000u | reg; /* busy | read */
  while (MAC_CSR_CMD & 0x80000000u) {}
  return MAC_CSR_DATA;
}

static void mac_write(uint32_t reg, uint32_t val) {
  MAC_CSR_DATA = val;
  MAC_CSR_CMD = 0x80000000u | reg;
  while (MAC_CSR_CMD & 0x80000000u) {}
}

uint32_t lan9118_free_run(void) { return FREE_RUN; }

void ETH_Handler(void) {
  INT_STS = INT_RSFL; /* acknowledge; frames are read by the main loop */
  irq_count++;
  mps2_wake = 1;
}

int lan9118_rx_pending(void) { return (RX_FIFO_INF >> 16) & 0xffu; }

/* ---- transmit ------------------------------------------------------------- */

static err_t low_level_output(struct netif *netif, struct pbuf *p) {
  (void)netif;
  uint32_t len = p->tot_len;
  if (len > MAX_FRAME) {
    tx_dropped++;
    return ERR_BUF;
  }
  /* room for the two command words and the data */
  uint32_t words = (len + 3) / 4 + 2;
  while ((TX_FIFO_INF & 0xffffu) < words * 4) {}
  /* command A: first + last segment, buffer size; command B: tag, length */
  TX_DATA_FIFO = (1u << 13) | (1u << 12) | len;
  TX_DATA_FIFO = (len << 16) | len;
  uint32_t acc = 0, n = 0;
  for (struct pbuf *q = p; q; q = q->next) {
    const uint8_t *b = q->payload;
    for (uint32_t i = 0; i < q->len; i++) {
      acc |= (uint32_t)b[i] << (8 * n);
      if (++n == 4) {
        TX_DATA_FIFO = acc;
        acc = 0;
        n = 0;
      }
    }
  }
  if (n) TX_DATA_FIFO = acc;
  while ((TX_FIFO_INF >> 16) & 0xffu) (void)TX_STATUS_FIFO; /* statuses are not used */
  tx_frames++;
  return ERR_OK;
}

/* ---- receive -------------------------------------------------------------- */

int lan9118_poll(struct netif *netif) {
  int handled = 0;
  while ((RX_FIFO_INF >> 16) & 0xffu) {
    uint32_t status = RX_STATUS_FIFO;
    uint32_t len = (status >> 16) & 0x3fffu; /* includes the 4-byte CRC */
    uint32_t words = (len + 3) / 4;
    int bad = (status & (1u << 15)) || len < 14 + 4 || len > MAX_FRAME + 4;
    struct pbuf *p = bad ? NULL : pbuf_alloc(PBUF_RAW, (u16_t)(len - 4), PBUF_POOL);
    if (!p) {
      /* error, or out of buffers: skip the frame (TCP will resend). Read it
     * out: QEMU's RX_DP_CTRL fast-forward does not update the FIFO level. */
      for (uint32_t i = 0; i < words; i++) (void)RX_DATA_FIFO;
      rx_dropped++;
      handled++;
      continue;
    }
    /* copy word by word into the pbuf chain, dropping the CRC */
    uint32_t left = len - 4, w = 0;
    struct pbuf *q = p;
    uint32_t qoff = 0;
    for (uint32_t i = 0; i < words; i++) {
      w = RX_DATA_FIFO;
      for (int k = 0; k < 4 && left > 0; k++, left--) {
        while (qoff == q->len) {
          q = q->next;
          qoff = 0;
        }
        ((uint8_t *)q->payload)[qoff++] = (uint8_t)(w >> (8 * k));
      }
    }
    rx_frames++;
    handled++;
    if (netif->input(p, netif) != ERR_OK) pbuf_free(p);
  }
  return handled;
}

/* ---- set-up -------------------------------------------------------------- */

err_t lan9118_netif_init(struct netif *netif) {
  if (BYTE_TEST != 0x87654321u) {
    mote_err("lan9118: BYTE_TEST reads 0x%08lx: no chip at 0x%08x", (unsigned long)BYTE_TEST, LAN9118_BASE);
    return ERR_IF;
  }
  uint32_t id = ID_REV;
  if ((id >> 16) != 0x0118u) mote_warn("lan9118: unexpected ID_REV 0x%08lx", (unsigned long)id);

  HW_CFG = HW_CFG_SRST;
  while (HW_CFG & HW_CFG_SRST) {}

  /* interrupt line first: active high, push-pull, enabled */
  IRQ_CFG = IRQ_CFG_EN_HIGH_PUSHPULL;
  INT_STS = 0xffffffffu;
  FIFO_INT = 0; /* RX status level 0: interrupt as soon as one frame is in */
  INT_EN = INT_RSFL;

  uint32_t lo = mac_read(MAC_ADDRL), hi = mac_read(MAC_ADDRH);
  netif->hwaddr_len = 6;
  netif->hwaddr[0] = (uint8_t)lo;
  netif->hwaddr[1] = (uint8_t)(lo >> 8);
  netif->hwaddr[2] = (uint8_t)(lo >> 16);
  netif->hwaddr[3] = (uint8_t)(lo >> 24);
  netif->hwaddr[4] = (uint8_t)hi;
  netif->hwaddr[5] = (uint8_t)(hi >> 8);

  TX_CFG = TX_CFG_TX_ON | TX_CFG_TXSAO;
  RX_CFG = 0; /* no offset, no end padding */
  mac_write(MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_FDPX); /* our MAC + broadcast */

  netif->name[0] = 'e';
  netif->name[1] = 'n';
  netif->mtu = 1500;
  netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  netif->output = etharp_output;
  netif->linkoutput = low_level_output;

  irq_clear_pending(IRQ_ETHERNET);
  irq_enable(IRQ_ETHERNET);
  mote_info("lan9118: id 0x%08lx, MAC %02x:%02x:%02x:%02x:%02x:%02x", (unsigned long)id, netif->hwaddr[0],
            netif->hwaddr[1], netif->hwaddr[2], netif->hwaddr[3], netif->hwaddr[4], netif->hwaddr[5]);
  return ERR_OK;
}
