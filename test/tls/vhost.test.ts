// A vhost that asks for TLS itself (test/apps/tls-vhost.ts: Vhost.setTls with
// the certificate, key and cipher list; the sock_tls import), on the
// simulator without any --tls flag, and on the board's TLS firmware without
// TLS words on its command line. The port reads the vhost's files through
// its file operations (host paths relative to the working directory; the
// board's semihosting). A file that cannot be read stops the start-up with
// a line naming it (never plaintext in its place); the command line's TLS
// settings, when given, take precedence.
import * as fs from "fs";
import { Sim, ON_BOARD, nextMessage } from "../integration/sim";
import { cert, curl, sClient, wssOpen } from "./tls-helpers";

const APP = "test/apps/tls-vhost.ts";

test("the vhost's certificate and cipher list, with no TLS flag on the command line", async () => {
  const s = await Sim.start({ app: APP, tls: [] });
  try {
    expect(s.stdout).toMatch(/listening on https:\/\//);
    expect(s.stderr).toMatch(/vhost secure: TLS with vendor\/tls\/ecdsa\.crt/);
    const r = curl(s.url + "/");
    expect(r.err).toBe("");
    expect(r.body).toBe("hello from a TLS vhost\n");
    // the vhost's list: ECDSA with AES-128-GCM or ChaCha20 only
    expect(sClient(s.port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"]).cipher).toBe("ECDHE-ECDSA-CHACHA20-POLY1305");
    expect(sClient(s.port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"]).cipher).toBe("");
    const ws = await wssOpen(s.wsUrl + "/", "echo");
    try {
      const m = nextMessage(ws, 5000);
      ws.send("echo over the vhost's TLS");
      expect((await m).data.toString()).toBe("echo over the vhost's TLS");
    } finally {
      ws.terminate();
    }
  } finally {
    expect((await s.stop()).code).toBe(0);
  }
}, 60000);

test("a second vhost on the port, chosen by SNI, with its own certificate, client CA and protocols", async () => {
  const s = await Sim.start({ app: APP, tls: [] });
  const clientCert = ["-cert", cert("client.crt"), "-key", cert("client.key")];
  const get = (host: string) => `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
  try {
    expect(s.stderr).toMatch(/vhost sni\.mote\.test: shares port 7681 with vhost secure/);
    // no SNI, or a name no vhost has: the default vhost (its certificate,
    // its answer, no client certificate asked for)
    for (const sni of [["-noservername"], ["-servername", "other.mote.test"]]) {
      const d = sClient(s.port, ["-tls1_2", ...sni]);
      expect(d.subject).toMatch(/CN ?= ?localhost/);
      expect(d.out).toContain("hello from a TLS vhost");
    }
    // its name: its certificate (verified for that name), and it wants a
    // client certificate: none, no session
    const refused = sClient(s.port, ["-tls1_2", "-servername", "sni.mote.test", "-verify_hostname", "sni.mote.test"], get("sni.mote.test"));
    expect(refused.out).not.toMatch(/HTTP\/1\.1/);
    await s.waitLog(/TLS handshake failed: .*(No client certification received|Certificate was missing)/);
    const served = sClient(s.port, ["-tls1_2", "-servername", "SNI.mote.test", "-verify_hostname", "sni.mote.test", ...clientCert], get("sni.mote.test"));
    expect(served.subject).toMatch(/CN ?= ?sni\.mote\.test/);
    expect(served.verify).toBe("0 (ok)");
    expect(served.out).toContain("hello from vhost sni.mote.test\n");
    // curl by name, verifying the chain and the name
    const r = curl(`https://sni.mote.test:${s.port}/`, ["--resolve", `sni.mote.test:${s.port}:127.0.0.1`, "--cert", cert("client.crt"), "--key", cert("client.key")]);
    expect(r.err).toBe("");
    expect(r.body).toBe("hello from vhost sni.mote.test\n");
    // the session belongs to the vhost its SNI chose: a request naming the
    // port's other vhost is misdirected (421), not served by it
    const mis = sClient(s.port, ["-tls1_2", "-servername", "sni.mote.test", ...clientCert], get("secure"));
    expect(mis.out).toMatch(/HTTP\/1\.1 421 Misdirected Request/);
    expect(mis.out).not.toContain("hello from a TLS vhost");
    // wss: the vhost's own protocol (upper-casing echo)
    const ws = await wssOpen(`wss://127.0.0.1:${s.port}/`, "named", 8000, {
      servername: "sni.mote.test", cert: fs.readFileSync(cert("client.crt")), key: fs.readFileSync(cert("client.key")),
    });
    try {
      const m = nextMessage(ws, 5000);
      ws.send("echo on the sni vhost");
      expect((await m).data.toString()).toBe("ECHO ON THE SNI VHOST");
    } finally {
      ws.terminate();
    }
    // and the default vhost still serves beside it
    expect(curl(s.url + "/").body).toBe("hello from a TLS vhost\n");
  } finally {
    expect((await s.stop()).code).toBe(0);
  }
}, 90000);

if (!ON_BOARD) {
  test("a certificate file the port cannot read stops the start-up, naming it", async () => {
    // the paths are relative: from /tmp they lead nowhere
    await expect(Sim.start({ app: APP, tls: [], shell: "cd /tmp" })).rejects.toThrow(
      /tls: cannot read vendor\/tls\/ecdsa\.crt[\s\S]*vhost secure: TLS refused by the port/,
    );
  });

  test("two TLS vhosts on one port with different cipher lists: start-up stops, naming the rule", async () => {
    await expect(Sim.start({ app: "test/apps/vhost-ciphers.ts", tls: [] })).rejects.toThrow(
      /sock_tls: listener 0, vhost 1: its cipher list differs from the port's default vhost's[\s\S]*vhost sni\.mote\.test: TLS refused by the port \(errno 22\)/,
    );
  });

  test("the command line's TLS settings take precedence over the vhost's", async () => {
    const s = await Sim.start({ app: APP, tls: ["--tls-cert", cert("rsa.crt"), "--tls-key", cert("rsa.key")] });
    try {
      expect(s.stderr).toMatch(/vhost 0's certificate gives way to the command line's TLS settings/);
      const r = sClient(s.port, ["-tls1_2"]);
      expect(r.peerBits).toBe(2048); // the command line's RSA certificate
      expect(r.out).toMatch(/HTTP\/1\.1 200 OK/);
    } finally {
      expect((await s.stop()).code).toBe(0);
    }
  }, 30000);
}
