// Test application for a vhost that asks for TLS itself (Vhost.setTls, the
// sock_tls import): lws's ssl_cert_filepath / ssl_private_key_filepath /
// ssl_cipher_list on the vhost. The files are the test certificates setup
// makes (tools/bootstrap.js), relative to the simulator's working directory
// (the repository root when the tests run it). A second vhost shares the
// port: clients naming sni.mote.test (SNI) get its certificate, must show a
// client certificate from the test CA, and are served by its protocols.
import { Protocol, Conn, createVhost, PRE, WRITE_TEXT, WRITE_BINARY, WRITE_CONTINUATION, WRITE_HTTP_FINAL, putAscii } from "../../src/mote";

const out = memory.data(PRE + 256);

class Http extends Protocol {
  constructor() { super("http", 0); }
  http(c: Conn): i32 {
    const n = putAscii(out, "hello from a TLS vhost\n");
    c.httpRespond(200, "text/plain", n);
    c.write(out, n, WRITE_HTTP_FINAL);
    return 0;
  }
}

class Named extends Protocol {
  constructor() { super("named", 0); }
  http(c: Conn): i32 {
    let n = putAscii(out, "hello from vhost ");
    n += putAscii(out + n, c.getVhost().name);
    store<u8>(out + n++, 0x0a);
    c.httpRespond(200, "text/plain", n);
    c.write(out, n, WRITE_HTTP_FINAL);
    return 0;
  }
  receive(c: Conn, data: usize, len: u32): i32 {
    // echoes upper-cased: tells this vhost's WebSockets from the default's
    for (let i: u32 = 0; i < len; i++) {
      const b = load<u8>(data + i);
      if (b >= 0x61 && b <= 0x7a) store<u8>(data + i, b - 0x20);
    }
    const kind = c.isFirstFragment() ? (c.frameIsBinary() ? WRITE_BINARY : WRITE_TEXT) : WRITE_CONTINUATION;
    return c.write(data, len, kind, c.isFinalFragment()) < 0 ? -1 : 0;
  }
}

class Echo extends Protocol {
  constructor() { super("echo", 0); }
  receive(c: Conn, data: usize, len: u32): i32 {
    const kind = c.isFirstFragment() ? (c.frameIsBinary() ? WRITE_BINARY : WRITE_TEXT) : WRITE_CONTINUATION;
    return c.write(data, len, kind, c.isFinalFragment()) < 0 ? -1 : 0;
  }
}

export function setup(): void {
  const vh = createVhost("secure", 7681);
  vh.setTls("vendor/tls/ecdsa.crt", "vendor/tls/ecdsa.key",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
  vh.addProtocol(new Http());
  vh.setDefaultProtocol(vh.addProtocol(new Echo()));
  // same port, chosen by SNI; its cipher list is the port's (none given)
  createVhost("sni.mote.test", 7681)
    .setTls("vendor/tls/sni.crt", "vendor/tls/sni.key")
    .setTlsClientCa("vendor/tls/ca.crt")
    .addProtocol(new Named());
}
