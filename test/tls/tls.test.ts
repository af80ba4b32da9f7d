// TLS on the Linux simulator (`mote-sim --tls`, platform/tls on mbedTLS
// 3.4): handshakes by openssl s_client and curl with every suite the build
// allows and refusal of the others, the cipher list (lws ssl_cipher_list),
// ECDSA and RSA certificates chosen by the client's suites, SNI, client
// certificates, https and wss traffic through the TLS layer, and the error
// cases (garbage and truncated records, plaintext HTTP on the TLS port, a
// stalled handshake), each closing only that connection while an open wss
// connection and new ones keep being served. Heap per TLS connection is
// read from the simulator's log and written to test-artifacts/tls/.
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import WebSocket from "ws";
import { Sim, artifactsDir, nextMessage, rawExchange, sleep, ENGINE } from "../integration/sim";
import { cert, curl, httpsGet, sClient, tlsConnect, wssOpen, OPENSSL_NAME, TLS12_SUITES, TLS13_SUITES } from "./tls-helpers";

const OUT = artifactsDir("tls");

async function stopOk(s: Sim): Promise<void> {
  const r = await s.stop();
  expect(r).toEqual({ code: 0, signal: null });
}

/** Echo over an open wss connection (proves the server still serves it). */
async function echo(ws: WebSocket, text: string): Promise<void> {
  const m = nextMessage(ws, 5000);
  ws.send(text);
  expect((await m).data.toString()).toBe(text);
}

describe("TLS 1.2 server, default suites (ECDSA and RSA test certificates)", () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await Sim.start({ tls: true, args: ["-d", "15"] });
  }, 30000);
  afterAll(async () => {
    await stopOk(sim);
    // heap and handshake figures, from the log of this run
    const done = [...sim.stderr.matchAll(/TLS handshake done: (\S+) (\S+).* in (\d+) ms \(server CPU (\d+) us\); TLS heap (\d+) B, peak (\d+) B/g)];
    if (done.length) {
      fs.mkdirSync(OUT, { recursive: true });
      const by = new Map<string, { n: number; after: number; peak: number; cpu: number }>();
      for (const m of done) {
        const k = `${m[1]} ${m[2]}`;
        const e = by.get(k) || { n: 0, after: 0, peak: 0, cpu: 0 };
        e.n++;
        e.after = Math.max(e.after, +m[5]);
        e.peak = Math.max(e.peak, +m[6]);
        e.cpu += +m[4];
        by.set(k, e);
      }
      const lines = [...by].map(([k, e]) => `${k}: ${e.n} handshakes, heap after ${e.after} B, peak ${e.peak} B, server CPU ${Math.round(e.cpu / e.n)} us avg`);
      fs.writeFileSync(path.join(OUT, "heap.txt"), lines.join("\n") + "\n");
      const pick = (re: RegExp) => [...by].filter(([k]) => re.test(k)).map(([, e]) => e);
      const range = (xs: number[]) => (Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}-${Math.max(...xs)}`);
      const part = (name: string, es: { after: number; peak: number; cpu: number; n: number }[]) =>
        es.length
          ? `${name}: heap after handshake ${range(es.map((e) => e.after))} B, peak ${range(es.map((e) => e.peak))} B, ` +
            `server CPU ${Math.round(es.reduce((a, e) => a + e.cpu, 0) / es.reduce((a, e) => a + e.n, 0))} us/handshake`
          : "";
      const line = `tls (Linux, ${ENGINE || "wasm2c"}, TLS 1.2, per connection): ` +
        [part("ECDHE-ECDSA P-256", pick(/ECDSA/)), part("ECDHE-RSA 2048", pick(/-RSA-/))].filter(Boolean).join("; ");
      fs.writeFileSync(path.join(OUT, "summary.txt"), line + "\n");
    }
  }, 15000);

  test("the listener announces https://", () => {
    expect(sim.stdout).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+\//);
    expect(sim.url.startsWith("https://")).toBe(true);
  });

  test.each(TLS12_SUITES)("openssl s_client handshakes with %s, verifies the chain, gets the page", (suite) => {
    const r = sClient(sim.port, ["-tls1_2", "-cipher", OPENSSL_NAME[suite], "-servername", "localhost", "-verify_hostname", "localhost"]);
    // a failed handshake says why: the client's words and the server's log
    if (!r.cipher) throw new Error(`s_client (exit ${r.status}) did not complete:\n${r.out}\n--- server log ---\n${sim.stderr.slice(-4000)}`);
    expect(r.cipher).toBe(OPENSSL_NAME[suite]);
    expect(r.protocol).toBe("TLSv1.2");
    expect(r.verify).toBe("0 (ok)");
    // the suite picks the certificate: ECDSA P-256 or RSA-2048
    expect(r.peerBits).toBe(suite.includes("ECDSA") ? 256 : 2048);
    expect(r.out).toMatch(/HTTP\/1\.1 200 OK/);
    expect(r.out).toMatch(/<title>mote test page<\/title>/);
  });

  test("a client offering only suites the server lacks is refused, logged, and the server carries on", async () => {
    const r = sClient(sim.port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"]); // CBC: not built
    expect(r.cipher).toBe("");
    expect(r.out).not.toMatch(/HTTP\/1\.1/);
    await sim.waitLog(/TLS handshake failed: SSL - The handshake negotiation failed/);
    expect(curl(sim.url + "/").code).toBe("200");
  });

  test("curl: https GET with the CA verified, by name and by address", () => {
    for (const url of [sim.url.replace("127.0.0.1", "localhost") + "/", sim.url + "/"]) {
      const r = curl(url, ["--resolve", `localhost:${sim.port}:127.0.0.1`]);
      expect(r.err).toBe("");
      expect(r.code).toBe("200");
      expect(r.body).toMatch(/mote test page/);
    }
    // a client that cannot verify the chain refuses the server
    const r = curl(sim.url + "/", ["--cacert", cert("rogue-ca.crt")]);
    expect(r.status).toBe(60);
  });

  test("curl with TLS 1.3 only is refused by a TLS 1.2 server (mbedTLS 3.4: one version per server)", () => {
    const r = curl(sim.url + "/", ["--tlsv1.3"]);
    expect(r.status).toBe(35);
  });

  test("wss echo: text, a 300 KiB binary message (many 16 KiB records), 200 small messages in a burst", async () => {
    const ws = await wssOpen(sim.wsUrl + "/", "echo");
    try {
      await echo(ws, "hello over TLS");
      const big = Buffer.alloc(300 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 10)) & 0xff;
      const m = nextMessage(ws, 10000);
      ws.send(big);
      const got = await m;
      expect(got.binary).toBe(true);
      expect(Buffer.compare(got.data, big)).toBe(0);
      const want: string[] = [];
      const seen: string[] = [];
      const all = new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`burst: ${seen.length} of 200 echoed`)), 10000);
        ws.on("message", (d: Buffer) => {
          seen.push(d.toString());
          if (seen.length === 200) (clearTimeout(t), resolve());
        });
      });
      for (let i = 0; i < 200; i++) {
        want.push(`msg ${i}`);
        ws.send(`msg ${i}`);
      }
      await all;
      expect(seen).toEqual(want);
    } finally {
      ws.terminate();
    }
  });

  test("https POST-less GETs in a loop over fresh connections (50)", async () => {
    for (let i = 0; i < 50; i++) {
      const r = await httpsGet(sim.url + "/");
      expect(r.status).toBe(200);
    }
  });

  describe("bad input closes that connection only", () => {
    let keeper: WebSocket;
    beforeAll(async () => {
      keeper = await wssOpen(sim.wsUrl + "/", "echo");
    });
    afterAll(() => keeper.terminate());
    afterEach(async () => {
      // the open wss connection and new connections are still served
      await echo(keeper, `still here ${Date.now()}`);
      expect((await httpsGet(sim.url + "/")).status).toBe(200);
    });

    test("garbage bytes instead of a ClientHello", async () => {
      const junk = Buffer.alloc(300);
      for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 17) & 0xff;
      const r = await rawExchange(sim.port, [junk], 3000);
      expect(r.closed).toBe(true);
      await sim.waitLog(/conn \d+: TLS handshake failed: SSL - /);
    });

    test("a plaintext HTTP request on the TLS port", async () => {
      const before = (sim.stderr.match(/TLS handshake failed/g) || []).length;
      const r = await rawExchange(sim.port, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", 3000);
      expect(r.closed).toBe(true);
      expect(r.data.toString("latin1")).not.toMatch(/HTTP\/1\.1 200/);
      const end = Date.now() + 3000;
      while ((sim.stderr.match(/TLS handshake failed/g) || []).length === before && Date.now() < end) await sleep(20);
      expect(sim.stderr.split("\n").filter((l) => /TLS handshake failed/.test(l)).pop()).toMatch(/SSL - /);
    });

    test("a ClientHello cut short by the client's FIN", async () => {
      // the first 40 bytes of a real ClientHello, then EOF
      const hello = await captureClientHello();
      const r = await rawExchange(sim.port, [hello.subarray(0, 40)], 300);
      expect(hello.length).toBeGreaterThan(100);
      expect(r.closed).toBe(false); // the server waits for the rest...
      const r2 = await new Promise<boolean>((resolve) => {
        const s = net.connect(sim.port, "127.0.0.1", () => s.end(hello.subarray(0, 40))); // ...until the FIN
        s.on("close", () => resolve(true));
        s.on("error", () => resolve(true));
        s.resume();
        setTimeout(() => (s.destroy(), resolve(false)), 3000);
      });
      expect(r2).toBe(true);
      await sim.waitLog(/TLS handshake failed: record truncated/);
    });

    test("a garbage application-data record after the handshake (bad MAC)", async () => {
      const raw = net.connect(sim.port, "127.0.0.1");
      await new Promise((r) => raw.once("connect", r));
      const t = await tlsConnect(sim.port, { socket: raw });
      const rec = Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x40]), Buffer.alloc(0x40, 0xa5)]);
      const gone = new Promise<boolean>((resolve) => {
        raw.on("close", () => resolve(true));
        setTimeout(() => resolve(false), 3000);
      });
      t.on("error", () => {});
      raw.write(rec); // under TLS: the server decrypts garbage
      expect(await gone).toBe(true);
      await sim.waitLog(/conn \d+: TLS: SSL - .*(MAC|authentic|Invalid record)/i);
    });

    test("a record truncated by EOF after the handshake", async () => {
      const raw = net.connect(sim.port, "127.0.0.1");
      await new Promise((r) => raw.once("connect", r));
      const t = await tlsConnect(sim.port, { socket: raw });
      t.on("error", () => {});
      const gone = new Promise<boolean>((resolve) => {
        raw.on("close", () => resolve(true));
        setTimeout(() => resolve(false), 3000);
      });
      raw.end(Buffer.from([0x17, 0x03, 0x03, 0x03, 0xe8, 1, 2, 3, 4, 5, 6, 7, 8])); // 1000 announced, 8 sent
      expect(await gone).toBe(true);
      await sim.waitLog(/conn \d+: TLS: record truncated/);
    });

    test("a record longer than TLS allows", async () => {
      const raw = net.connect(sim.port, "127.0.0.1");
      await new Promise((r) => raw.once("connect", r));
      const t = await tlsConnect(sim.port, { socket: raw });
      t.on("error", () => {});
      const gone = new Promise<boolean>((resolve) => {
        raw.on("close", () => resolve(true));
        setTimeout(() => resolve(false), 3000);
      });
      raw.write(Buffer.from([0x17, 0x03, 0x03, 0xff, 0xff, 0, 0, 0, 0])); // 65535 > 2^14 + 256
      expect(await gone).toBe(true);
      await sim.waitLog(/conn \d+: TLS: SSL - /);
    });
  });
});

/** The bytes a Node TLS client sends first (a real ClientHello). */
function captureClientHello(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((c) => {
      c.once("data", (d: Buffer) => {
        resolve(d);
        c.destroy();
        srv.close();
      });
    });
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      tlsConnect(port, {}, 2000).catch(() => {});
    });
    setTimeout(() => reject(new Error("no ClientHello")), 3000);
  });
}

describe("the cipher list restricts the suites (lws ssl_cipher_list)", () => {
  const allowed = ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"];
  let sim: Sim;
  beforeAll(async () => {
    sim = await Sim.start({ tls: ["--tls", "--tls-ciphers", allowed.join(":")] });
  }, 30000);
  afterAll(() => stopOk(sim), 15000);

  test.each(TLS12_SUITES)("%s: allowed only when listed", (suite) => {
    const r = sClient(sim.port, ["-tls1_2", "-cipher", OPENSSL_NAME[suite]]);
    if (allowed.includes(suite)) {
      expect(r.cipher).toBe(OPENSSL_NAME[suite]);
      expect(r.out).toMatch(/HTTP\/1\.1 200 OK/);
    } else {
      expect(r.cipher).toBe("");
      expect(r.out).toMatch(/handshake failure|alert/);
    }
  });

  test("curl: an allowed suite works, a disallowed one is refused", () => {
    expect(curl(sim.url + "/", ["--tls-max", "1.2", "--ciphers", OPENSSL_NAME[allowed[0]]]).code).toBe("200");
    expect(curl(sim.url + "/", ["--tls-max", "1.2", "--ciphers", OPENSSL_NAME.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]).status).toBe(35);
  });

  test("an unknown suite name stops the simulator at start-up, naming it", async () => {
    await expect(Sim.start({ tls: ["--tls-ciphers", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:TLS_RSA_WITH_RC4_128_MD5"] })).rejects.toThrow(
      /cipher list: unknown or not built in: 'TLS_RSA_WITH_RC4_128_MD5'/,
    );
  });
});

describe("TLS 1.3 server", () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await Sim.start({ tls: ["--tls", "--tls-version", "1.3"] });
  }, 30000);
  afterAll(() => stopOk(sim), 15000);

  test.each(TLS13_SUITES)("openssl s_client handshakes with %s", (suite) => {
    const r = sClient(sim.port, ["-tls1_3", "-ciphersuites", suite, "-servername", "localhost"]);
    expect(r.protocol).toBe("TLSv1.3");
    expect(r.cipher).toBe(suite);
    expect(r.verify).toBe("0 (ok)");
    expect(r.out).toMatch(/HTTP\/1\.1 200 OK/);
  });

  test("curl and wss over TLS 1.3", async () => {
    const r = curl(sim.url + "/", ["-v"]);
    expect(r.code).toBe("200");
    expect(r.err).toMatch(/SSL connection using TLSv1\.3/);
    const ws = await wssOpen(sim.wsUrl + "/", "echo");
    try {
      await echo(ws, "hello over TLS 1.3");
    } finally {
      ws.terminate();
    }
  });

  test("a TLS 1.2-only client is refused", () => {
    expect(curl(sim.url + "/", ["--tls-max", "1.2"]).status).toBe(35);
  });

  test("a TLS 1.3 cipher list leaves out the others", async () => {
    const s = await Sim.start({ tls: ["--tls-ciphers", "TLS_AES_128_GCM_SHA256"] });
    try {
      expect(sClient(s.port, ["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"]).cipher).toBe("TLS_AES_128_GCM_SHA256");
      expect(sClient(s.port, ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"]).cipher).toBe("");
    } finally {
      await stopOk(s);
    }
  });
});

describe("SNI and client certificates", () => {
  test("SNI selects the certificate; other names get the default one", async () => {
    const s = await Sim.start({ tls: ["--tls", "--tls-sni", `sni.mote.test=${cert("sni.crt")},${cert("sni.key")}`, "-d", "15"] });
    try {
      const a = sClient(s.port, ["-tls1_2", "-servername", "sni.mote.test", "-verify_hostname", "sni.mote.test"]);
      expect(a.subject).toMatch(/CN ?= ?sni\.mote\.test/);
      expect(a.verify).toBe("0 (ok)");
      expect(a.out).toMatch(/HTTP\/1\.1 200 OK/);
      const b = sClient(s.port, ["-tls1_2", "-servername", "localhost"]);
      expect(b.subject).toMatch(/CN ?= ?localhost/);
      const c = sClient(s.port, ["-tls1_2", "-servername", "unknown.example"]);
      expect(c.subject).toMatch(/CN ?= ?localhost/);
      await s.waitLog(/TLS handshake done: .*SNI sni\.mote\.test/);
      // curl sends the name too
      const r = curl(`https://sni.mote.test:${s.port}/`, ["--resolve", `sni.mote.test:${s.port}:127.0.0.1`]);
      expect(r.code).toBe("200");
    } finally {
      await stopOk(s);
    }
  });

  test("client certificates: the CA's client is served, no certificate or a foreign one is refused", async () => {
    const s = await Sim.start({ tls: ["--tls", "--tls-client-ca", cert("ca.crt")] });
    try {
      const ok = curl(s.url + "/", ["--cert", cert("client.crt"), "--key", cert("client.key")]);
      expect(ok.code).toBe("200");
      const none = curl(s.url + "/");
      expect(none.code).not.toBe("200");
      await s.waitLog(/TLS handshake failed: SSL - .*certificate/i);
      const rogue = curl(s.url + "/", ["--cert", cert("rogue.crt"), "--key", cert("rogue.key")]);
      expect(rogue.code).not.toBe("200");
      await s.waitLog(/TLS handshake failed: .*client certificate: .*not correctly signed by the trusted CA/);
      const ws = await wssOpen(s.wsUrl + "/", "echo", 8000, { cert: fs.readFileSync(cert("client.crt")), key: fs.readFileSync(cert("client.key")) });
      try {
        await echo(ws, "authenticated");
      } finally {
        ws.terminate();
      }
    } finally {
      await stopOk(s);
    }
  });
});

describe("handshake timeout", () => {
  test("a client that stalls in the handshake is closed after the timeout; others are served meanwhile", async () => {
    const s = await Sim.start({ tls: ["--tls", "--tls-handshake-timeout", "700"] });
    try {
      const keeper = await wssOpen(s.wsUrl + "/", "echo");
      const t0 = Date.now();
      const silent = rawExchange(s.port, [], 5000); // connects, sends nothing
      const partial = rawExchange(s.port, [Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])], 5000); // a ClientHello begun
      await sleep(200);
      await echo(keeper, "served while two handshakes stall");
      expect((await httpsGet(s.url + "/")).status).toBe(200);
      const [a, b] = await Promise.all([silent, partial]);
      const dt = Date.now() - t0;
      expect(a.closed).toBe(true);
      expect(b.closed).toBe(true);
      expect(dt).toBeGreaterThanOrEqual(600);
      expect(dt).toBeLessThan(3000);
      await s.waitLog(/TLS handshake timed out after 700 ms/);
      expect((s.stderr.match(/TLS handshake timed out/g) || []).length).toBe(2);
      await echo(keeper, "and after");
      keeper.terminate();
    } finally {
      await stopOk(s);
    }
  });
});

describe("start-up errors name the file", () => {
  test("a missing certificate file", async () => {
    await expect(Sim.start({ tls: ["--tls-cert", "/nonexistent.crt", "--tls-key", cert("ecdsa.key")] })).rejects.toThrow(/tls: cannot read \/nonexistent\.crt/);
  });
  test("a key that does not belong to the certificate", async () => {
    await expect(Sim.start({ tls: ["--tls-cert", cert("ecdsa.crt"), "--tls-key", cert("sni.key")] })).rejects.toThrow(/does not belong to certificate/);
  });
});
