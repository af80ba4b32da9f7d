/* mps2-an386 (Cortex-M4F) as QEMU models it: addresses, registers and the
 * board support functions shared by the files of this port. */
#ifndef MOTE_MPS2_H
#define MOTE_MPS2_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---- system control (Cortex-M4) ---------------------------------------- */
#define SCB_CPACR REG32(0xE000ED88)
#define SCB_VTOR REG32(0xE000ED08)
#define SCB_CFSR REG32(0xE000ED28)
#define SYST_CSR REG32(0xE000E010)
#define SYST_RVR REG32(0xE000E014)
#define SYST_CVR REG32(0xE000E018)
#define NVIC_ISER(n) REG32(0xE000E100 + 4 * (n))
#define NVIC_ICER(n) REG32(0xE000E180 + 4 * (n))
#define NVIC_ICPR(n) REG32(0xE000E280 + 4 * (n))

/* ---- interrupts of the AN386 image -------------------------------------- */
#define IRQ_UART0_RX 0
#define IRQ_UART0_TX 1
#define IRQ_ETHERNET 13

/* ---- CMSDK APB UART0 (the one QEMU puts on -serial / -nographic) -------- */
#define UART0_BASE 0x40004000u
#define UART_DATA REG32(UART0_BASE + 0x00)
#define UART_STATE REG32(UART0_BASE + 0x04) /* bit0 TX full, bit1 RX full */
#define UART_CTRL REG32(UART0_BASE + 0x08)  /* bit0 TX en, bit1 RX en, bit3 RX irq en */
#define UART_INTSTATUS REG32(UART0_BASE + 0x0C) /* bit1 RX irq (write 1 to clear) */
#define UART_BAUDDIV REG32(UART0_BASE + 0x10)

/* ---- LAN9118 Ethernet ---------------------------------------------------- */
#define LAN9118_BASE 0x40200000u

static inline void irq_enable(int n) { NVIC_ISER(n >> 5) = 1u << (n & 31); }
static inline void irq_disable(int n) { NVIC_ICER(n >> 5) = 1u << (n & 31); }
static inline void irq_clear_pending(int n) { NVIC_ICPR(n >> 5) = 1u << (n & 31); }
static inline void cpu_irq_off(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void cpu_irq_on(void) { __asm volatile("cpsie i" ::: "memory"); }

/* ---- board.c ------------------------------------------------------------- */

/* Milliseconds since reset (free-running TIMER1). */
uint32_t mps2_now_ms(void);
void mps2_clock_init(uint32_t cpu_hz);
/* Sleep (WFI) until an interrupt or for at most `ms` (capped); returns at
 * once when an interrupt handler already set mps2_wake. */
#define MPS2_MAX_SLEEP_MS 500u
void mps2_sleep(uint32_t ms);
void mps2_uart_init(void);
void mps2_uart_write(const char *s, uint32_t len);
/* Next byte received on UART0, or -1. */
int mps2_uart_getc(void);
/* Bytes of the C heap (.heap) handed to malloc through _sbrk so far. */
uint32_t mps2_heap_used(void);
/* The command line QEMU passes through semihosting (SYS_GET_CMDLINE:
 * -semihosting-config arg=...), NUL-terminated in buf. Returns its length,
 * or -1 (buf empty). */
int mps2_cmdline(char *buf, uint32_t cap);
/* One semihosting call (op, parameter block); returns r0. */
int mps2_semihost(int op, void *arg);
/* flash.c: the app-image store's region (boards/<b>.json imageStore) with
 * its writes persisted to the host file named by `--flash PATH` on the
 * semihosting command line. Fills *out; 0, or -1 (logged). */
struct mote_flash;
int mps2_flash_open(struct mote_flash *out);
#if MOTE_TLS
/* tls_board.c: TLS options on the semihosting command line. option(name):
 * -1 not a TLS option, 0 a flag, 1 takes a value; set() returns 0 or -1
 * (a bad value). start(): the TLS layer up when asked for; 0 or -1 (logged). */
int mps2_tls_option(const char *name);
int mps2_tls_set(const char *name, const char *val);
int mps2_tls_start(void);
#endif
/* Leave QEMU through semihosting with this status (never returns). */
void mps2_exit(int status) __attribute__((noreturn));
/* Print what went wrong and exit(3). */
void mps2_panic(const char *what, uint32_t a, uint32_t b) __attribute__((noreturn));
/* Set by interrupt handlers: the main loop has work (checked before WFI). */
extern volatile uint32_t mps2_wake;

/* ---- lan9118.c ----------------------------------------------------------- */
struct netif;
/* netif_add() init function: checks the chip, resets it, reads the MAC. */
signed char lan9118_netif_init(struct netif *netif);
/* Moves received frames from the chip into lwIP (netif->input). Returns the
 * number of frames handled. */
int lan9118_poll(struct netif *netif);
/* Frames are waiting in the RX FIFO. */
int lan9118_rx_pending(void);
/* Free-running counter of the chip (25 MHz, host time): entropy for seeds. */
uint32_t lan9118_free_run(void);

#endif
