// A TLS-originating relay for peers that speak only plaintext (kosoku, the
// Autobahn runner, has no wss://): it accepts plain TCP on 127.0.0.1 and, for
// each connection, opens a TLS session to the server under test (the test CA
// verified) and copies bytes both ways. Every byte the peer sends therefore
// crosses the server's TLS layer, and the relay keeps TCP's semantics
// visible to the peer: a half-close (FIN) on one side becomes end() on the
// other (for TLS: close_notify, then FIN), a reset becomes a reset, so
// Autobahn still sees who closed first.
import * as net from "net";
import * as tls from "tls";

export interface Relay {
  port: number;
  sessions: number; // TLS sessions opened to the server
  errors: string[]; // TLS failures (handshake or later)
  close(): Promise<void>;
}

export function startRelay(target: number, ca: Buffer, servername = "localhost"): Promise<Relay> {
  const live = new Set<net.Socket>();
  const relay: Relay = { port: 0, sessions: 0, errors: [], close: async () => {} };
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (plain) => {
    live.add(plain);
    // allowHalfOpen: a FIN from the server must not end our side at once (typed on net's options only)
    const secure = tls.connect({ host: "127.0.0.1", port: target, ca, servername, allowHalfOpen: true } as tls.ConnectionOptions);
    live.add(secure);
    let open = true;
    const reset = (s: net.Socket) => (typeof (s as any).resetAndDestroy === "function" ? (s as any).resetAndDestroy() : s.destroy());
    secure.once("secureConnect", () => {
      relay.sessions++;
      plain.pipe(secure);
      secure.pipe(plain);
      plain.resume();
    });
    // FIN from one side: pipe() ends the other side (allowHalfOpen keeps it readable)
    plain.on("error", () => {
      if (open) reset(secure);
      open = false;
    });
    secure.on("error", (e) => {
      relay.errors.push(e.message);
      if (open) reset(plain);
      open = false;
    });
    plain.on("close", () => {
      live.delete(plain);
      if (!secure.destroyed && secure.writableEnded && secure.readableEnded) secure.destroy();
    });
    secure.on("close", () => {
      live.delete(secure);
      if (!plain.destroyed && plain.readableEnded && plain.writableEnded) plain.destroy();
      else if (!plain.destroyed && !plain.writableEnded) plain.end();
    });
  });
  relay.close = () =>
    new Promise<void>((resolve) => {
      for (const s of live) s.destroy();
      server.close(() => resolve());
    });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      relay.port = (server.address() as net.AddressInfo).port;
      resolve(relay);
    });
  });
}
