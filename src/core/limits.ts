// Named limits of the core. Sizes that depend on the board come from the
// port at init (LIM_*); these are the protocol limits and timeouts, with what
// other servers use for comparison.

/** Bytes reserved before every WebSocket payload handed to write(): the
 *  frame header is built in place there (lws: LWS_PRE, 16 on 64-bit). */
export const PRE: u32 = 16;

/** Max header fields in a request (lws: ~ WSI_TOKEN_COUNT known + unknown;
 *  nginx: bounded by large_client_header_buffers). Over it: 431. */
export const MAX_HEADERS: u32 = 64;

/** Max request-line length (nginx 8 KiB by default, lws bounded by
 *  max_http_header_data). Over it: 414. Further capped by the header buffer. */
export const MAX_REQUEST_LINE: u32 = 4096;

/** Max request body accepted (Content-Length or chunked total). Over it: 413.
 *  nginx client_max_body_size defaults to 1 MiB. */
export const MAX_BODY: u64 = 1 << 20;

/** Time to receive a complete request head after accept or between
 *  keep-alive requests (lws timeout_secs default 5 s for pending states;
 *  nginx client_header_timeout 60 s). */
export const TIMEOUT_HEAD_MS: u32 = 10000;

/** The head's minimum rate: a head arriving in pieces gets TIMEOUT_HEAD_MS
 *  plus 1 s per HEAD_MIN_RATE bytes received, at most TIMEOUT_HEAD_MAX_MS
 *  (Apache mod_reqtimeout header=20-40,MinRate=500). Over it: 408. */
export const HEAD_MIN_RATE: u32 = 500;
export const TIMEOUT_HEAD_MAX_MS: u32 = 20000;

/** The body's minimum rate: after BODY_GRACE_MS, at least BODY_MIN_RATE
 *  bytes per second on average since the head, and all of it within
 *  TIMEOUT_RESPONSE_MS (mod_reqtimeout body=20,MinRate=500). Over: 408. */
export const BODY_GRACE_MS: u32 = 10000;
export const BODY_MIN_RATE: u32 = 500;

/** When connections wait for a header buffer (every one busy), a holder
 *  whose head has been arriving this long, or that is idle between
 *  keep-alive requests this long, or that pipelines and has not read its
 *  answers for this long, or whose body is under BODY_MIN_RATE after this
 *  long, is closed (408, or silently when it sent nothing) and
 *  its buffer goes to the longest waiter: lws's ah wait list with nginx's
 *  and mod_reqtimeout's rates, so a slowloris holds a buffer seconds, not
 *  the head timeout. Waiters are checked every HDR_WAIT_CHECK_MS and get
 *  503 after TIMEOUT_HEAD_MS of waiting. */
export const SCARCE_GRACE_MS: u32 = 2000;
export const HDR_WAIT_CHECK_MS: u32 = 250;

/** Idle keep-alive connection with no request in progress (lws keepalive
 *  timeout 5 s; nginx keepalive_timeout 75 s). */
export const TIMEOUT_KEEPALIVE_MS: u32 = 5000;

/** After we sent a close frame: wait this long for the peer's close before
 *  dropping the TCP connection (lws: 5 s, PENDING_TIMEOUT_CLOSE_ACK). */
export const TIMEOUT_CLOSE_MS: u32 = 5000;

/** A response that is not completed in this long is abandoned (the app
 *  forgot http transaction completion, or the peer stopped reading). */
export const TIMEOUT_RESPONSE_MS: u32 = 60000;

/** HTTP pipelining: a connection's next request is read only while its
 *  queued output is at most this (or a sixteenth of the tx pool, if less);
 *  above it the queue is sent first, and if the socket does not take it the
 *  connection waits for writable. Its answers then wait in its own socket,
 *  not in the shared pool. */
export const PIPELINE_QUEUE_MAX: u32 = 8192;
