// A misconfiguration the core refuses at start-up (test/unit/core-vhosts):
// two vhosts on one port, one with TLS and one without.
import { Protocol, createVhost } from "../../src/mote";

class Plain extends Protocol {
  constructor() { super("plain", 0); }
}

export function setup(): void {
  createVhost("secure.test", 7681).setTls("vendor/tls/ecdsa.crt", "vendor/tls/ecdsa.key").addProtocol(new Plain());
  createVhost("plain.test", 7681).addProtocol(new Plain());
}
