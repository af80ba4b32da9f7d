// A vhost that asks for TLS itself (test/apps/tls-vhost.ts: Vhost.setTls with
// the certificate, key and cipher list; the sock_tls import), on the
// simulator without any --tls flag, and on the board's TLS firmware without
// TLS words on its command line. The port reads the vhost's files through
// its file operations (host paths relative to the working directory; the
// board's semihosting). A file that cannot be read stops the start-up with
// a line naming it (never plaintext in its place); the command line's TLS
// settings, when given, take precedence.
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

if (!ON_BOARD) {
  test("a certificate file the port cannot read stops the start-up, naming it", async () => {
    // the paths are relative: from /tmp they lead nowhere
    await expect(Sim.start({ app: APP, tls: [], shell: "cd /tmp" })).rejects.toThrow(
      /tls: cannot read vendor\/tls\/ecdsa\.crt[\s\S]*vhost secure: TLS refused by the port/,
    );
  });

  test("the command line's TLS settings take precedence over the vhost's", async () => {
    const s = await Sim.start({ app: APP, tls: ["--tls-cert", cert("rsa.crt"), "--tls-key", cert("rsa.key")] });
    try {
      expect(s.stderr).toMatch(/the vhost's certificate gives way to the command line's TLS settings/);
      const r = sClient(s.port, ["-tls1_2"]);
      expect(r.peerBits).toBe(2048); // the command line's RSA certificate
      expect(r.out).toMatch(/HTTP\/1\.1 200 OK/);
    } finally {
      expect((await s.stop()).code).toBe(0);
    }
  }, 30000);
}
