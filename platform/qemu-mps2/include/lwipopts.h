/* lwIP options for mote on mps2-an386: NO_SYS=1 raw API, IPv4 + TCP (+ UDP
 * for DHCP), one single-threaded loop. Every size comes from the board file
 * through the generated board_config.h (MOTE_BOARD_NET_*). lwIP's defaults
 * and their meaning are in vendor/lwip/src/include/lwip/opt.h. */
#ifndef MOTE_LWIPOPTS_H
#define MOTE_LWIPOPTS_H

#include "board_config.h"

/* ---- system ------------------------------------------------------------- */
#define NO_SYS 1                  /* no threads: raw API from the main loop */
#define SYS_LIGHTWEIGHT_PROT 0    /* interrupts never call lwIP */
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_NETIF_API 0
#define LWIP_TIMERS 1
#define MEM_ALIGNMENT 4
#include <stdint.h>
uint32_t mps2_rand(void); /* board.c */
#define LWIP_RAND() ((u32_t)mps2_rand())

/* ---- memory (all static) ------------------------------------------------ */
/* heap for PBUF_RAM: copied output (TCP_WRITE_FLAG_COPY), ARP, ACKs */
#define MEM_SIZE MOTE_BOARD_NET_TX_HEAP_BYTES
/* receive buffers, one full frame each, shared by every connection */
#define PBUF_POOL_SIZE MOTE_BOARD_NET_RX_PBUFS
#define PBUF_POOL_BUFSIZE LWIP_MEM_ALIGN_SIZE(TCP_MSS + 40 + PBUF_LINK_ENCAPSULATION_HLEN + PBUF_LINK_HLEN)
#define MEMP_NUM_PBUF 8
#define MEMP_NUM_RAW_PCB 0
#define MEMP_NUM_UDP_PCB 2
/* TCP PCBs: the connection table, plus spares to refuse with and for
 * connections in TIME_WAIT (which lwIP recycles when it runs out) */
#define MEMP_NUM_TCP_PCB MOTE_BOARD_NET_MAX_SOCKETS
/* one listening PCB per listener the port may open (mote_opts.h: 32 B each) */
#include "mote_opts.h"
#define MEMP_NUM_TCP_PCB_LISTEN MOTE_MAX_LISTENERS
#define MEMP_NUM_TCP_SEG (2 * TCP_SND_QUEUELEN)
#define MEMP_NUM_ARP_QUEUE 4
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 1)
#define MEMP_MEM_MALLOC 0
#define MEM_LIBC_MALLOC 0

/* ---- protocols -------------------------------------------------------------- */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP MOTE_BOARD_NET_DHCP
#define LWIP_DHCP_DOES_ACD_CHECK 0
/* DHCP builds (mote build --dhcp): probe the offered address with ARP before
 * binding it (RFC 2131 3.1.5); about 0.5 s more to the lease */
#define DHCP_DOES_ARP_CHECK MOTE_BOARD_NET_DHCP
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define IP_REASSEMBLY 0
#define IP_FRAG 0
#define ARP_TABLE_SIZE 4
#define ETH_PAD_SIZE 0
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_SINGLE_NETIF 1

/* ---- TCP ------------------------------------------------------------------------ */
#define TCP_MSS MOTE_BOARD_NET_TCP_MSS
#define TCP_WND MOTE_BOARD_NET_TCP_WND
#define TCP_SND_BUF MOTE_BOARD_NET_TCP_SND_BUF
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG MOTE_BOARD_NET_LISTEN_BACKLOG
#define TCP_QUEUE_OOSEQ 0 /* out-of-order segments are dropped, not held */
/* SOF_REUSEADDR on the listener (platform/lwip/sock.c): a core restarted
 * after a trap listens on its port again while closed connections of that
 * port are still in TIME_WAIT or closing */
#define SO_REUSE 1
#define LWIP_TCP_KEEPALIVE 1 /* per-pcb keep_intvl/keep_cnt (port_sock_keepalive): +8 B per tcp_pcb */
#define LWIP_CALLBACK_API 1
#define LWIP_WND_SCALE 0
#define TCP_OVERSIZE TCP_MSS

/* ---- checksums: the LAN9118 has no offload -------------------------------------- */
#define CHECKSUM_GEN_IP 1
#define CHECKSUM_GEN_TCP 1
#define CHECKSUM_GEN_UDP 1
#define CHECKSUM_CHECK_IP 1
#define CHECKSUM_CHECK_TCP 1
#define CHECKSUM_CHECK_UDP 1
#define LWIP_CHECKSUM_ON_COPY 1

/* ---- diagnostics ------------------------------------------------------------------ */
/* only the memory counters, for the console's 'm' line (mote_lwip_mem_format):
 * the heap's bytes in use and each pool's elements in use */
#define LWIP_STATS 1
#define MEM_STATS 1
#define MEMP_STATS 1
#define LINK_STATS 0
#define ETHARP_STATS 0
#define IP_STATS 0
#define IPFRAG_STATS 0
#define ICMP_STATS 0
#define IGMP_STATS 0
#define UDP_STATS 0
#define TCP_STATS 0
#define SYS_STATS 0
#define LWIP_STATS_DISPLAY 0
#define LWIP_DEBUG 0
#define LWIP_NOASSERT_ON_ERROR 0

#endif
