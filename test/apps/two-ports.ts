// Vhosts on different ports and interfaces (test/integration/vhosts.test.ts,
// test/unit/core-vhosts.test.ts): "main" is the default vhost (the first), and
// "www" shares its listener; "admin" listens on a port of its own, "lo2" on
// its own port and only on 127.0.0.2 (a board ignores the address: one
// interface). Each answers every request with its name.
import { Protocol, Conn, createVhost, putAscii } from "../../src/mote";

const out = memory.data(64);

class Name extends Protocol {
  constructor() { super("name", 0); }
  http(c: Conn): i32 {
    const n = putAscii(out, c.getVhost().name + "\n");
    c.httpRespond(200, "text/plain", n);
    c.writeFrom(out, n, 4 /* WRITE_HTTP_FINAL */);
    return 0;
  }
}

export function setup(): void {
  createVhost("main", 7681).addProtocol(new Name());
  createVhost("www", 7681).addProtocol(new Name());
  createVhost("admin", 7691).addProtocol(new Name());
  createVhost("lo1", 7691).setInterface("127.0.0.1").addProtocol(new Name());
  createVhost("lo2", 7692).setInterface("127.0.0.2").addProtocol(new Name());
}
