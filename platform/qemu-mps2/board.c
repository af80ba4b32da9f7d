/* Board support for mps2-an386: SysTick clock, CMSDK UART0 console,
 * semihosting exit, the newlib system calls, and the port services the
 * driver needs (log sink, clock, randomness). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mps2.h"
#include "port.h"

volatile uint32_t mps2_wake;

/* ---- time: a free-running CMSDK timer; SysTick only wakes the CPU ---------
 *
 * The clock is TIMER1 counting down from 0xffffffff at the CPU clock (25 MHz:
 * it wraps every 171 s); mps2_now_ms() accumulates what it counted since the
 * last read, so it must be read at least that often (the loop never sleeps
 * longer than MPS2_MAX_SLEEP_MS). Sleeping arms SysTick once for the time
 * until the next deadline: an idle board wakes a few times a second instead
 * of every millisecond, and QEMU's host thread stays idle. */

#define TIMER1_CTRL REG32(0x40001000)
#define TIMER1_VALUE REG32(0x40001004)
#define TIMER1_RELOAD REG32(0x40001008)

static uint32_t cycles_per_ms;
static uint32_t last_value;
static uint64_t cycles;

void SysTick_Handler(void) {
  SYST_CSR = 0; /* one shot */
  mps2_wake = 1;
}

void mps2_clock_init(uint32_t cpu_hz) {
  cycles_per_ms = cpu_hz / 1000u;
  TIMER1_CTRL = 0;
  TIMER1_RELOAD = 0xffffffffu;
  TIMER1_VALUE = 0xffffffffu;
  TIMER1_CTRL = 1; /* enable, no interrupt */
  last_value = TIMER1_VALUE;
}

uint32_t mps2_now_ms(void) {
  uint32_t v = TIMER1_VALUE;
  cycles += (uint32_t)(last_value - v); /* counts down; wraps mod 2^32 */
  last_value = v;
  return (uint32_t)(cycles / cycles_per_ms);
}

void mps2_sleep(uint32_t ms) {
  if (ms > MPS2_MAX_SLEEP_MS) ms = MPS2_MAX_SLEEP_MS;
  if (ms == 0) return;
  cpu_irq_off();
  if (!mps2_wake) {
    SYST_CSR = 0;
    SYST_RVR = ms * cycles_per_ms - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7; /* processor clock, interrupt, enable */
    __asm volatile("wfi");
    SYST_CSR = 0;
  }
  mps2_wake = 0;
  cpu_irq_on(); /* pending handlers run here */
}

/* ---- UART0 --------------------------------------------------------------------- */

#define RX_RING 64
static volatile uint8_t rx_ring[RX_RING];
static volatile uint32_t rx_head, rx_tail;

void mps2_uart_init(void) {
  UART_BAUDDIV = 16; /* QEMU ignores the rate; below 16 it complains */
  UART_CTRL = 1u | 2u | 8u; /* TX, RX, RX interrupt */
  irq_clear_pending(IRQ_UART0_RX);
  irq_enable(IRQ_UART0_RX);
}

void UART0RX_Handler(void) {
  UART_INTSTATUS = 2u;
  while (UART_STATE & 2u) {
    uint8_t c = (uint8_t)UART_DATA;
    if (rx_head - rx_tail < RX_RING) rx_ring[rx_head++ % RX_RING] = c;
  }
  mps2_wake = 1;
}

int mps2_uart_getc(void) {
  if (rx_tail == rx_head) return -1;
  return rx_ring[rx_tail++ % RX_RING];
}

void mps2_uart_write(const char *s, uint32_t len) {
  for (uint32_t i = 0; i < len; i++) {
    if (s[i] == '\n') {
      while (UART_STATE & 1u) {}
      UART_DATA = '\r';
    }
    while (UART_STATE & 1u) {}
    UART_DATA = (uint8_t)s[i];
  }
}

/* ---- semihosting ------------------------------------------------------------------- */

#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

int mps2_semihost(int op, void *arg) {
  register int r0 __asm("r0") = op;
  register void *r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

int mps2_cmdline(char *buf, uint32_t cap) {
  if (cap == 0) return -1;
  buf[0] = 0;
  /* {buffer, its size}; the host writes the line and its length back */
  uint32_t block[2] = {(uint32_t)(uintptr_t)buf, cap};
  if (mps2_semihost(SYS_GET_CMDLINE, block) != 0) {
    buf[0] = 0;
    return -1;
  }
  buf[block[1] < cap ? block[1] : cap - 1] = 0;
  return (int)block[1];
}

void mps2_exit(int status) {
  uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
  mps2_semihost(SYS_EXIT_EXTENDED, block);
  for (;;) __asm volatile("wfi"); /* not under QEMU -semihosting: stop here */
}

void mps2_panic(const char *what, uint32_t a, uint32_t b) {
  char line[96];
  int n = snprintf(line, sizeof line, "\nPANIC: %s (0x%08lx, 0x%08lx)\n", what, (unsigned long)a, (unsigned long)b);
  mps2_uart_write(line, n > 0 ? (uint32_t)n : 0);
  mps2_exit(3);
}

/* ---- newlib system calls (the few it links) ------------------------------------------ */

extern char __heap_start, __heap_end;
static char *brk = &__heap_start;

void *_sbrk(ptrdiff_t incr) {
  if (incr > &__heap_end - brk || incr < &__heap_start - brk) {
    errno = ENOMEM;
    return (void *)-1;
  }
  char *old = brk;
  brk += incr;
  return old;
}

uint32_t mps2_heap_used(void) { return (uint32_t)(brk - &__heap_start); }

int _write(int fd, const void *buf, size_t len) {
  (void)fd;
  mps2_uart_write(buf, (uint32_t)len);
  return (int)len;
}

int _read(int fd, void *buf, size_t len) {
  (void)fd, (void)buf, (void)len;
  return 0;
}

int _close(int fd) {
  (void)fd;
  return -1;
}

int _fstat(int fd, struct stat *st) {
  (void)fd;
  memset(st, 0, sizeof *st);
  st->st_mode = S_IFCHR;
  return 0;
}

int _isatty(int fd) {
  (void)fd;
  return 1;
}

int _lseek(int fd, int off, int whence) {
  (void)fd, (void)off, (void)whence;
  return 0;
}

void _exit(int status) { mps2_exit(status); }

int _kill(int pid, int sig) {
  (void)pid, (void)sig;
  errno = EINVAL;
  return -1;
}

int _getpid(void) { return 1; }

/* ---- port services ------------------------------------------------------------------ */

void port_log(int level, const char *line, size_t len) {
  (void)level;
  mps2_uart_write(line, (uint32_t)len);
}

/* No wall clock on the board: lines carry no time stamp. */
size_t port_log_time(char *buf, size_t cap) {
  (void)buf, (void)cap;
  return 0;
}

uint32_t port_now_ms(void) { return mps2_now_ms(); }

/* The board has no hardware random source. xorshift128+ seeded from the
 * LAN9118's free-running counter (host time) and SysTick: unpredictable
 * enough for WebSocket masking keys and TCP sequence numbers on an emulated
 * board, not for keys (TLS needs a real entropy source). */
static uint64_t rng_s0, rng_s1;

static uint64_t rng_next(void) {
  if (rng_s0 == 0 && rng_s1 == 0) {
    rng_s0 = ((uint64_t)lan9118_free_run() << 32) ^ SYST_CVR ^ 0x9e3779b97f4a7c15ull;
    rng_s1 = ((uint64_t)TIMER1_VALUE << 32) ^ lan9118_free_run() ^ 0xbf58476d1ce4e5b9ull;
  }
  uint64_t x = rng_s0, y = rng_s1;
  rng_s0 = y;
  x ^= x << 23;
  rng_s1 = x ^ y ^ (x >> 17) ^ (y >> 26);
  return rng_s1 + y;
}

uint32_t mps2_rand(void) { return (uint32_t)(rng_next() >> 16); }

void port_random_fill(uint8_t *buf, uint32_t len) {
  /* stir in the timing of the calls themselves */
  rng_s0 ^= lan9118_free_run();
  while (len > 0) {
    uint64_t r = rng_next();
    uint32_t n = len < 8 ? len : 8;
    memcpy(buf, &r, n);
    buf += n;
    len -= n;
  }
}
