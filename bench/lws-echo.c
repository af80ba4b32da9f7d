/*
 * The libwebsockets anchor for `mote bench`: an echo server on the lws 4.x
 * API (Debian's libwebsockets-dev), doing what mote's demo echo protocol
 * does: every received fragment goes straight back with its opcode. It
 * writes from RECEIVE (the fastest path lws allows; partial sends are
 * buffered by lws) after copying into a buffer with LWS_PRE headroom.
 *
 *   lws-echo PORT
 */
#include <libwebsockets.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile int interrupted;
static unsigned char txbuf[LWS_PRE + 65536];

static int callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  (void)user;
  if (reason != LWS_CALLBACK_RECEIVE) return 0;
  int first = lws_is_first_fragment(wsi);
  int final = lws_is_final_fragment(wsi);
  enum lws_write_protocol type = lws_frame_is_binary(wsi) ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
  if (len > sizeof(txbuf) - LWS_PRE) return -1;
  memcpy(txbuf + LWS_PRE, in, len);
  int flags = lws_write_ws_flags(type, first, final);
  if (lws_write(wsi, txbuf + LWS_PRE, len, (enum lws_write_protocol)flags) < (int)len) return -1;
  return 0;
}

static const struct lws_protocols protocols[] = {
  {"echo", callback_echo, 0, 65536, 0, NULL, 0},
  {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

int main(int argc, char **argv) {
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = argc > 1 ? atoi(argv[1]) : 7682;
  info.iface = "127.0.0.1";
  info.protocols = protocols;
  info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
  lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  struct lws_context *ctx = lws_create_context(&info);
  if (!ctx) return 1;
  printf("listening on http://127.0.0.1:%d/\n", info.port);
  fflush(stdout);
  while (!interrupted && lws_service(ctx, 0) >= 0) {
  }
  lws_context_destroy(ctx);
  return 0;
}
