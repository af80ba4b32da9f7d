/* Vector table and reset for the mps2-an386 (Cortex-M4F).
 *
 * Reset: copy .data from flash, zero .bss, enable the FPU (CP10/CP11 full
 * access), run C++-style constructors, call main(). Faults print their
 * registers on the UART and leave QEMU through semihosting. */
#include <stdint.h>
#include <string.h>
#include <stdio.h>

#include "mps2.h"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void);
void UART0RX_Handler(void);
void ETH_Handler(void);

#define WEAK_ALIAS __attribute__((weak, alias("Default_Handler")))
void NMI_Handler(void) WEAK_ALIAS;
void MemManage_Handler(void) WEAK_ALIAS;
void BusFault_Handler(void) WEAK_ALIAS;
void UsageFault_Handler(void) WEAK_ALIAS;
void SVC_Handler(void) WEAK_ALIAS;
void DebugMon_Handler(void) WEAK_ALIAS;
void PendSV_Handler(void) WEAK_ALIAS;

#define NUM_IRQS 48

typedef void (*vector_t)(void);

/* every interrupt not named below goes to Default_Handler */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
__attribute__((section(".vectors"), used)) const vector_t vectors[16 + NUM_IRQS] = {
    [0 ... 16 + NUM_IRQS - 1] = Default_Handler,
    [0] = (vector_t)(uintptr_t)&__stack_top,
    [1] = Reset_Handler,
    [2] = NMI_Handler,
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    [7 ... 10] = 0,
    [11] = SVC_Handler,
    [12] = DebugMon_Handler,
    [13] = 0,
    [14] = PendSV_Handler,
    [15] = SysTick_Handler,
    [16 + IRQ_UART0_RX] = UART0RX_Handler,
    [16 + IRQ_ETHERNET] = ETH_Handler,
};
#pragma GCC diagnostic pop

void Reset_Handler(void) {
  /* FPU first: newlib and the generated code may use it (-mfloat-abi=hard) */
  SCB_CPACR |= (0xFu << 20);
  __asm volatile("dsb\n isb" ::: "memory");

  uint32_t *src = &__data_load, *dst = &__data_start;
  if (src != dst)
    while (dst < &__data_end) *dst++ = *src++;
  for (dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;

  SCB_VTOR = (uint32_t)(uintptr_t)vectors;
  for (void (**f)(void) = __init_array_start; f < __init_array_end; f++) (*f)();

  int rc = main();
  mps2_exit(rc);
}

void Default_Handler(void) {
  uint32_t ipsr;
  __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  mps2_panic("unexpected exception", ipsr, 0);
}

/* HardFault: report the stacked PC, the fault status and the stacked LR
 * (the caller, when the fault is in a leaf such as malloc's), then exit(3). */
__attribute__((naked)) void HardFault_Handler(void) {
  __asm volatile(
      "tst lr, #4\n"
      "ite eq\n"
      "mrseq r0, msp\n"
      "mrsne r0, psp\n"
      "b hardfault_report\n");
}

__attribute__((used)) void hardfault_report(uint32_t *frame) {
  char lr[32];
  int n = snprintf(lr, sizeof lr, "\nfault LR 0x%08lx", (unsigned long)frame[5]);
  mps2_uart_write(lr, n > 0 ? (uint32_t)n : 0);
  mps2_panic("hard fault", frame[6], SCB_CFSR);
}
