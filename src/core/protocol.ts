// Protocols and vhosts: the application's side of the lws model.
//
// A vhost listens on a port and owns an ordered list of protocols. Protocol 0
// also receives the vhost's HTTP callbacks (as in lws, where the first
// protocol is the HTTP handler). A WebSocket client picks a protocol by
// Sec-WebSocket-Protocol; a client that names none gets the vhost's default
// protocol.
//
// Handler return values (lws semantics): 0 = carry on; -1 (any nonzero where
// noted) = close this connection (WebSocket: with a close frame, code 1000
// unless set by conn.closeReason()). Extra WRITEABLE callbacks can happen
// (for example after buffered output drained): a handler with nothing to send
// returns 0.
//
// LWS_CALLBACK_* -> mote handler:
//   PROTOCOL_INIT                -> init(vhost)
//   PROTOCOL_DESTROY             -> destroy(vhost)
//   FILTER_PROTOCOL_CONNECTION   -> filterConnection(conn)      nonzero: refuse (HTTP 403)
//   ESTABLISHED                  -> established(conn)           -1: close
//   RECEIVE                      -> receive(conn, data, len)    -1: close
//   RECEIVE_PONG                 -> receivePong(conn, data, len) -1: close
//   SERVER_WRITEABLE             -> writeable(conn)             -1: close
//   WS_PEER_INITIATED_CLOSE      -> peerClose(conn, code, reason, len) nonzero: do not echo the close
//   CLOSED                       -> closed(conn)                (no return)
//   HTTP                         -> http(conn)                  -1: close; 0: answering (now or later)
//   HTTP_BODY                    -> httpBody(conn, data, len)   -1: close
//   HTTP_BODY_COMPLETION         -> httpBodyCompletion(conn)    -1: close
//   HTTP_WRITEABLE               -> httpWriteable(conn)         -1: close
//   CLOSED_HTTP                  -> closedHttp(conn)            (no return)
//   WSI_DESTROY                  -> wsiDestroy(conn)            (no return)
//   USER (timed, lws_timed_callback_vh_protocol) -> timer(vhost) (no return)

import { Conn } from "./conn";
import { Mount, MOUNT_FILE, MOUNT_CALLBACK, MOUNT_REDIR_HTTP, MOUNT_REDIR_HTTPS } from "./mount";

export class Protocol {
  /** Index within its vhost, set by Vhost.addProtocol(). */
  index: i32 = -1;
  vhost: Vhost | null = null;
  /** Bytes of name, UTF-8 (for Sec-WebSocket-Protocol matching). */
  nameBytes: ArrayBuffer;
  /** Periodic timer (ms, 0 = off) and its next due time. */
  timerMs: u32 = 0;
  timerDue: u32 = 0;
  /** permessage-deflate may be negotiated on this protocol's connections
   *  (where its vhost allows it: Vhost.setDeflate). lws offers no extension
   *  to a protocol whose rx_buffer_size is under 128; set false for the
   *  same effect (peers built on lws may expect it). */
  deflate: bool = true;

  constructor(public name: string, public userSize: i32 = 0) {
    this.nameBytes = String.UTF8.encode(name);
  }

  /** lws_timed_callback_vh_protocol, repeating: timer() every `ms`. */
  setTimer(ms: u32): void {
    this.timerMs = ms;
    this.timerDue = 0; // armed at the next tick
  }

  // ---- handlers (override what you need) ------------------------------------
  init(vh: Vhost): i32 { return 0; }
  destroy(vh: Vhost): void {}
  filterConnection(c: Conn): i32 { return 0; }
  established(c: Conn): i32 { return 0; }
  receive(c: Conn, data: usize, len: u32): i32 { return 0; }
  receivePong(c: Conn, data: usize, len: u32): i32 { return 0; }
  writeable(c: Conn): i32 { return 0; }
  peerClose(c: Conn, code: u32, reason: usize, reasonLen: u32): i32 { return 0; }
  closed(c: Conn): void {}
  /** Default: no HTTP content here: 404. */
  http(c: Conn): i32 {
    return c.httpError(404);
  }
  httpBody(c: Conn, data: usize, len: u32): i32 { return 0; }
  httpBodyCompletion(c: Conn): i32 { return 0; }
  httpWriteable(c: Conn): i32 { return 0; }
  closedHttp(c: Conn): void {}
  // the client role (connectClient): lws's CLIENT_* callbacks
  /** CLIENT_FILTER_PRE_ESTABLISH: the server's 101 was accepted; its
   *  headers are readable (c.header()). Nonzero: refuse (the connection
   *  errors with "refused by the app"). */
  clientFilterPreEstablish(c: Conn): i32 { return 0; }
  /** CLIENT_ESTABLISHED. -1: close. */
  clientEstablished(c: Conn): i32 { return 0; }
  /** CLIENT_RECEIVE (isFinalFragment() etc. as for receive). -1: close. */
  clientReceive(c: Conn, data: usize, len: u32): i32 { return 0; }
  /** CLIENT_WRITEABLE. -1: close. */
  clientWriteable(c: Conn): i32 { return 0; }
  /** CLIENT_CONNECTION_ERROR: the connection never got established (refused,
   *  unreachable, timed out, a bad or refused handshake): `why` is text (why,
   *  len), valid during the call. The connection is gone after it. */
  clientConnectionError(c: Conn, why: usize, len: u32): void {}
  wsiDestroy(c: Conn): void {}
  timer(vh: Vhost): void {}
}

/** The protocol serving connection c. */
export function protocolOf(c: Conn): Protocol {
  return unchecked(unchecked(vhosts[c.vhost]).protocols[c.protocol]);
}

/** Every vhost, in creation order (its index). */
export const vhosts: Vhost[] = [];

/** lws_create_vhost (createVhost in src/mote.ts): registers a vhost. */
export function addVhost(vh: Vhost): Vhost {
  vh.index = vhosts.length;
  vhosts.push(vh);
  return vh;
}

export class Vhost {
  index: i32 = -1;
  protocols: Protocol[] = [];
  defaultProtocol: i32 = 0;
  listener: i32 = -1;
  /** TCP keepalive of every connection accepted on this vhost, in seconds
   *  (lws ka_time, ka_probes, ka_interval). kaTime 0 = off (the default):
   *  otherwise the stack probes a connection idle for kaTime, kaProbes
   *  times kaInterval apart (0: the stack's default for either), and a
   *  peer that answers none of them, or leaves data we sent unacknowledged
   *  as long, is closed: the app sees closed() / closedHttp() as for any
   *  other close. Set in setup(), before the vhost listens. `mote sim
   *  --ka-time` (the limits block) overrides all three for every vhost. */
  kaTime: u32 = 0;
  kaProbes: u32 = 0;
  kaInterval: u32 = 0;
  /** TLS (https://, wss://): the certificate chain and key files (PEM, read
   *  by the port: on the simulator, host paths relative to its working
   *  directory) and the allowed suites (lws ssl_cipher_list, IANA names
   *  joined by ':'; "" = the port's default). Empty cert = plaintext. Set
   *  with setTls() in setup(). `mote sim --tls ...` overrides them. */
  tlsCert: string = "";
  tlsKey: string = "";
  tlsCiphers: string = "";
  /** permessage-deflate (RFC 7692; lws: the vhost's extensions list): accept
   *  a client's offer when the port has the codec (INIT_DEFLATE). Off by
   *  default; setDeflate(true) in setup(). Costs the port's codec state
   *  (zlib: ~300 KB) per connection that negotiates it. */
  deflate: bool = false;
  /** permessage-deflate's memory (lws lws_set_extension_option:
   *  server_max_window_bits, client_max_window_bits, mem_level): our
   *  deflater's window (9..15; the client may ask for less), the window we
   *  ask the client's deflater to keep to when it offers
   *  client_max_window_bits (8..15; our inflater then needs only that), and
   *  our deflater's memLevel (1..9). zlib's state is about 2^(s+2) +
   *  2^(m+9) bytes for the deflater plus 2^c + 7 KiB for the inflater:
   *  ~300 KB at the defaults 15, 15, 8; ~40 KB at 10, 10, 4. Set with
   *  setDeflateOptions(). */
  deflateServerBits: u32 = 15;
  deflateClientBits: u32 = 15;
  deflateMemLevel: u32 = 8;
  /** Clients of this vhost must present a certificate issued by this CA (PEM
   *  file, read by the port; lws ssl_ca_filepath with
   *  LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT). "" = not asked. */
  tlsClientCa: string = "";
  /** Host names besides `name` that select this vhost (lws vhost aliases). */
  aliases: string[] = [];
  /** The address it listens on (lws vhost `iface`): a numeric IPv4 or IPv6
   *  address, "" = the port's default (the simulator's --iface; a board's
   *  only interface). Vhosts on the same port and interface share one
   *  listener. Set with setInterface() in setup(). */
  iface: string = "";
  /** Set at init: whether other vhosts share this one's listener. */
  shared: bool = false;
  /** WebSocket liveness of this vhost's connections (either side), in
   *  seconds (lws retry policy: secs_since_valid_ping and
   *  secs_since_valid_hangup): with nothing received for wsPingSecs, a ping
   *  goes out (again every wsPingSecs); with nothing received for
   *  wsHangupSecs, the connection is closed with 1001; a frame or message
   *  still incomplete wsMessageSecs after it began is closed with 1008. 0 =
   *  never; -1 (the default) = the board's (boards/*.json limits
   *  wsPingSeconds, wsHangupSeconds, wsMessageSeconds: 60, 120, 60), which
   *  `mote sim --ws-ping/--ws-hangup/--ws-message` change. Set with
   *  setWsTimeouts() in setup(). */
  wsPingSecs: i32 = -1;
  /** Connections at once from one peer address (nginx limit_conn): past it
   *  a new connection is answered 503 by the port and closed. 0 = no limit;
   *  -1 (the default) = the board's (limits.maxConnsPerPeer, `mote sim
   *  --max-conns-per-peer`). Counted over every listener; a listener shared
   *  by vhosts takes the first one's. Set with setMaxConnsPerPeer(). */
  maxConnsPerPeer: i32 = -1;
  wsHangupSecs: i32 = -1;
  wsMessageSecs: i32 = -1;
  /** The above in ms, resolved at init (0: never). */
  wsPingMs: u32 = 0;
  wsHangupMs: u32 = 0;
  wsMessageMs: u32 = 0;
  /** URL prefixes served by the core or by one protocol (src/core/mount.ts). */
  mounts: Mount[] = [];

  /** Several vhosts may listen on one port (lws: vhosts sharing a listen
   *  socket). The first created on a port is the default; a connection is
   *  bound to a vhost once: by the TLS server name (SNI) its handshake
   *  chose, else by the Host of its first request (`name` or an alias,
   *  case-insensitive, port ignored; "*.example.com" covers one label).
   *  Unknown names get the default vhost. A later request on the same
   *  connection naming another vhost of the port is answered 421
   *  Misdirected Request (RFC 9110 section 15.5.20) and closed. */
  constructor(public name: string, public port: u32) {}

  /** lws_http_mount with LWSMPRO_FILE: paths under `mountpoint` are the
   *  linked-in files under `origin` ("/" = the whole www/ folder), served by
   *  the core (GET and HEAD; ETag and If-None-Match; Cache-Control from
   *  Mount.setCache). Returns the mount, for setDefault / setCache. */
  mountFiles(mountpoint: string, origin: string = "/"): Mount {
    return this.addMount(new Mount(mountpoint, origin, MOUNT_FILE));
  }

  /** lws LWSMPRO_CALLBACK: requests under `mountpoint` go to this vhost's
   *  protocol named `protocol` (its http(), httpBody(), ...), not protocol 0. */
  mountCallback(mountpoint: string, protocol: string): Mount {
    return this.addMount(new Mount(mountpoint, protocol, MOUNT_CALLBACK));
  }

  /** lws LWSMPRO_REDIR_HTTP(S): requests under `mountpoint` get 301 to
   *  http(s)://`target` followed by the rest of the path and the query
   *  ("/old/a?x" with target "example.com/new": https://example.com/new/a?x). */
  mountRedirect(mountpoint: string, target: string, https: bool = true): Mount {
    return this.addMount(new Mount(mountpoint, target, https ? MOUNT_REDIR_HTTPS : MOUNT_REDIR_HTTP));
  }

  addMount(m: Mount): Mount {
    this.mounts.push(m);
    return m;
  }

  /** Listen on this address only (see iface). */
  setInterface(iface: string): Vhost {
    this.iface = iface;
    return this;
  }

  /** Another host name for this vhost (SNI and Host). */
  addAlias(name: string): Vhost {
    this.aliases.push(name);
    return this;
  }

  /** Require client certificates issued by `caFile` (see tlsClientCa). */
  setTlsClientCa(caFile: string): Vhost {
    this.tlsClientCa = caFile;
    return this;
  }

  /** Whether the host name at p (n bytes: a Host field's uri-host without
   *  the port, no trailing dot) is one this vhost answers to. */
  answersTo(p: usize, n: u32): bool {
    if (nameMatches(this.name, p, n)) return true;
    for (let i = 0; i < this.aliases.length; i++) if (nameMatches(unchecked(this.aliases[i]), p, n)) return true;
    return false;
  }

  /** Allow permessage-deflate on this vhost's WebSocket connections. */
  setDeflate(on: bool): Vhost {
    this.deflate = on;
    return this;
  }

  /** deflateServerBits, deflateClientBits and deflateMemLevel at once
   *  (clamped to their ranges). */
  setDeflateOptions(serverMaxWindowBits: u32, clientMaxWindowBits: u32, memLevel: u32): Vhost {
    this.deflateServerBits = serverMaxWindowBits < 9 ? 9 : serverMaxWindowBits > 15 ? 15 : serverMaxWindowBits;
    this.deflateClientBits = clientMaxWindowBits < 8 ? 8 : clientMaxWindowBits > 15 ? 15 : clientMaxWindowBits;
    this.deflateMemLevel = memLevel < 1 ? 1 : memLevel > 9 ? 9 : memLevel;
    return this;
  }

  /** See maxConnsPerPeer. */
  setMaxConnsPerPeer(n: i32): Vhost {
    this.maxConnsPerPeer = n;
    return this;
  }

  /** wsPingSecs, wsHangupSecs and wsMessageSecs at once (seconds; 0 =
   *  never, -1 = the board's). */
  setWsTimeouts(pingS: i32, hangupS: i32, messageS: i32): Vhost {
    this.wsPingSecs = pingS;
    this.wsHangupSecs = hangupS;
    this.wsMessageSecs = messageS;
    return this;
  }

  /** kaTime, kaProbes and kaInterval at once (seconds; kaTime 0 = off). */
  setKeepalive(timeS: u32, probes: u32, intervalS: u32): Vhost {
    this.kaTime = timeS;
    this.kaProbes = probes;
    this.kaInterval = intervalS;
    return this;
  }

  /** Serve this vhost over TLS (see tlsCert): lws's ssl_cert_filepath,
   *  ssl_private_key_filepath and ssl_cipher_list. */
  setTls(cert: string, key: string, ciphers: string = ""): Vhost {
    this.tlsCert = cert;
    this.tlsKey = key;
    this.tlsCiphers = ciphers;
    return this;
  }

  addProtocol(p: Protocol): Protocol {
    p.index = this.protocols.length;
    p.vhost = this;
    this.protocols.push(p);
    return p;
  }

  /** The protocol used when the client requests none. */
  setDefaultProtocol(p: Protocol): void {
    this.defaultProtocol = p.index;
  }
}

/** RFC 9110 section 4.2.3 / RFC 6066 section 3: host names compare
 *  case-insensitively (ASCII); a pattern "*.example.com" covers exactly one
 *  label in front of ".example.com". */
function nameMatches(pattern: string, p: usize, n: u32): bool {
  let from: i32 = 0;
  let at: u32 = 0;
  if (pattern.length > 2 && pattern.charCodeAt(0) == 0x2a && pattern.charCodeAt(1) == 0x2e) {
    // skip one non-empty label of the name
    while (at < n && load<u8>(p + at) != 0x2e) at++;
    if (at == 0 || at == n) return false;
    from = 1; // compare ".example.com"
  }
  if (<u32>(pattern.length - from) != n - at) return false;
  for (let i: u32 = 0; at + i < n; i++) {
    let a = <u32>pattern.charCodeAt(from + <i32>i);
    let b = <u32>load<u8>(p + at + i);
    if (a - 0x41 < 26) a |= 0x20;
    if (b - 0x41 < 26) b |= 0x20;
    if (a != b) return false;
  }
  return true;
}
