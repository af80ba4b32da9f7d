// A misconfiguration the port refuses at start-up (test/tls/vhost.test.ts):
// two TLS vhosts on one port with different cipher lists. The suite is
// chosen before the client's server name is read, so a port has one list.
import { Protocol, createVhost } from "../../src/mote";

class Plain extends Protocol {
  constructor() { super("plain", 0); }
}

export function setup(): void {
  createVhost("first.test", 7681)
    .setTls("vendor/tls/ecdsa.crt", "vendor/tls/ecdsa.key", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
    .addProtocol(new Plain());
  createVhost("sni.mote.test", 7681)
    .setTls("vendor/tls/sni.crt", "vendor/tls/sni.key", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256")
    .addProtocol(new Plain());
}
