/* The half-close of the port's lingering close, done inside lwIP's thread.
 *
 * Why not shutdown(SHUT_WR): when the peer's FIN has already arrived (the
 * connection is in CLOSE_WAIT), lwIP's shutdown moves it to LAST_ACK; the
 * drain's recv() then meets the FIN, and the sockets layer shuts the receive
 * side too, which in LAST_ACK only sets TF_RXCLOSED and leaves the pcb with
 * the socket. The peer's ACK of our FIN then frees the pcb without telling
 * the socket (tcp_input_delayed_close() calls the error callback only when
 * TF_RXCLOSED is clear), and the close() that follows frees it a second time
 * (tcp_close_shutdown -> tcp_free: heap assert "block already marked as
 * free", seen on the ESP32 under load; lwIP's sockets.c and api_msg.c as in
 * ESP-IDF 5.1, esp-idf issue 2931).
 *
 * Here the state is read and the FIN sent in one step of lwIP's thread, so
 * the peer's FIN cannot slip in between: an established connection is
 * half-closed as before; one whose peer has ended already is left open, and
 * the close() after the drain sends the FIN from CLOSE_WAIT, which hands the
 * pcb to lwIP at once. */
#include <errno.h>

#include "lwip/api.h"
#include "lwip/priv/sockets_priv.h"
#include "lwip/priv/tcpip_priv.h"
#include "lwip/tcp.h"

#include "arch_esp32.h"

struct shut_wr_call {
  struct tcpip_api_call_data call; /* first: lwIP hands this pointer back */
  int fd;
  int result;
};

static err_t shut_wr_in_tcpip_thread(struct tcpip_api_call_data *data) {
  struct shut_wr_call *c = (struct shut_wr_call *)data;
  struct lwip_sock *sock = lwip_socket_dbg_get_socket(c->fd);
  struct tcp_pcb *pcb = sock && sock->conn && NETCONNTYPE_GROUP(netconn_type(sock->conn)) == NETCONN_TCP
                            ? sock->conn->pcb.tcp
                            : NULL;
  if (!pcb) {
    c->result = -1; /* reset or closed by lwIP: nothing to linger for */
    return ERR_OK;
  }
  switch (pcb->state) {
    case SYN_RCVD:
    case ESTABLISHED:
      c->result = tcp_shutdown(pcb, 0, 1) == ERR_OK ? 0 : -1;
      break;
    case CLOSE_WAIT:
      c->result = 1;
      break;
    case FIN_WAIT_1:
    case FIN_WAIT_2:
    case CLOSING:
    case TIME_WAIT:
      c->result = 0; /* our FIN is out already */
      break;
    default:
      c->result = -1;
      break;
  }
  return ERR_OK;
}

int mote_arch_shut_wr(int fd) {
  struct shut_wr_call c = {.fd = fd, .result = -1};
  if (tcpip_api_call(shut_wr_in_tcpip_thread, &c.call) != ERR_OK) c.result = -1;
  if (c.result < 0) errno = ENOTCONN;
  return c.result;
}
