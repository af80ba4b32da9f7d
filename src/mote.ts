// mote's application API: what an app imports.
//
//   import { Protocol, Vhost, Conn, createVhost, PRE, WRITE_TEXT } from "../src/mote";
//
// See src/core/protocol.ts for the handlers, their allowed return values and
// the LWS_CALLBACK_* mapping; src/core/conn.ts for the connection methods.

export { Protocol, Vhost } from "./core/protocol";
export { Mount, MOUNT_FILE, MOUNT_CALLBACK, MOUNT_REDIR_HTTP, MOUNT_REDIR_HTTPS } from "./core/mount";
export { Conn, WRITE_TEXT, WRITE_BINARY, WRITE_CONTINUATION, WRITE_HTTP, WRITE_HTTP_FINAL } from "./core/conn";
export { PRE, MAX_BODY, MAX_HEADERS } from "./core/limits";
export {
  CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_PROTOCOL_ERROR, CLOSE_UNSUPPORTED, CLOSE_INVALID_PAYLOAD,
  CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_INTERNAL, CLOSE_TRY_AGAIN,
} from "./ws/frames";
export { putAscii, putDecimal, bytesEqualAscii } from "./util/bytes";
export { logStart, logOn, logErr, logWarn, logNotice, logInfo, setLogEmit, logEmitPort, LogEmit } from "./core/log";
export { LOG_ERR, LOG_WARN, LOG_NOTICE, LOG_INFO, LOG_DEBUG } from "./abi/constants";
export {
  METHOD_GET, METHOD_HEAD, METHOD_POST, METHOD_PUT, METHOD_DELETE, METHOD_OPTIONS, METHOD_PATCH,
} from "./http/head";

import { writableAllProtocol, countProtocol } from "./core/dispatch";
import * as table from "./core/table";
import { now } from "./core/timers";
import { Vhost, Protocol, addVhost } from "./core/protocol";
import { Conn } from "./core/conn";
import { clientConnect } from "./ws/client";

/** lws_create_vhost: call from setup(). The first vhost created is the
 *  default one: the port's command line may move it to another port (mote
 *  sim --port); the others listen on their own port, on every address
 *  unless setInterface() names one. */
export function createVhost(name: string, port: u32): Vhost {
  return addVhost(new Vhost(name, port));
}

/** lws_client_connect_via_info (WebSocket): connect to host:port (a name or
 *  an address; tls: wss://) and ask for `path` (with its query, if any).
 *  Protocol p (one of vh's; lws local_protocol_name) handles the
 *  connection: its clientEstablished / clientReceive / clientWriteable /
 *  closed, or clientConnectionError if it never gets established.
 *  `subprotocol` (lws info.protocol) is the Sec-WebSocket-Protocol asked for:
 *  null = p's name, "" = none. Returns the connection, or null when it
 *  failed at once (logged). */
export function connectClient(vh: Vhost, p: Protocol, host: string, port: u32, path: string = "/", tls: bool = false,
                              subprotocol: string | null = null): Conn | null {
  return clientConnect(vh, p, host, port, path, tls, subprotocol);
}

/** lws_callback_on_writable_all_protocol. */
export function callbackOnWritableAllProtocol(p: Protocol): void {
  writableAllProtocol(p);
}

/** Established connections of a protocol. */
export function connectionsOf(p: Protocol): u32 {
  return countProtocol(p);
}

/** Counters for status pages (read-only). */
export class Stats {
  static get connections(): u32 { return table.activeCount; }
  static get websockets(): u32 { return table.statWsOpen; }
  static get accepted(): u64 { return table.statAccepted; }
  static get refused(): u64 { return table.statRefused; }
  static get rxMessages(): u64 { return table.statRxMessages; }
  static get txMessages(): u64 { return table.statTxMessages; }
  static get rxBytes(): u64 { return table.statRxBytes; }
  static get maxConnections(): u32 { return table.maxConns; }
  /** Linear memory size (bytes) and what the tables took at init. */
  static get memoryBytes(): u64 { return <u64>memory.size() << 16; }
  static get tableBytes(): u64 { return <u64>table.staticBytes; }
  static get now(): u32 { return now; }
}
