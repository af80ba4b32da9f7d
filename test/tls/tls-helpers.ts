// Helpers of the TLS suites: the test certificates (made by tools/bootstrap.js
// into vendor/tls), TLS clients (Node's tls, ws, curl, openssl s_client),
// each bounded in time.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import * as tls from "tls";
import WebSocket from "ws";
import { ROOT } from "../integration/sim";

export const CERTS = path.join(ROOT, "vendor/tls");
export const cert = (name: string): string => path.join(CERTS, name);
export const CA = fs.existsSync(cert("ca.crt")) ? fs.readFileSync(cert("ca.crt")) : Buffer.alloc(0);

/** IANA suite names -> OpenSSL's (for `openssl s_client -cipher` and `curl --ciphers`). */
export const OPENSSL_NAME: Record<string, string> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
};
/** Every TLS 1.2 suite the Linux build offers (platform/tls/mote_mbedtls_config.h). */
export const TLS12_SUITES = Object.keys(OPENSSL_NAME);
/** Every TLS 1.3 suite (IANA names are also OpenSSL's for TLS 1.3). */
export const TLS13_SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"];

export interface SClient {
  status: number | null;
  out: string; // stdout + stderr
  cipher: string; // as OpenSSL names it, "" when no session
  protocol: string;
  subject: string; // the server certificate's subject line
  verify: string; // "Verify return code: 0 (ok)"
  peerBits: number; // "Server public key is N bit"
}

/** `openssl s_client` with an HTTP GET; waits for the server to close (bounded). */
export function sClient(port: number, args: string[], request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"): SClient {
  const r = spawnSync(
    "timeout",
    ["10", "openssl", "s_client", "-connect", `127.0.0.1:${port}`, "-CAfile", cert("ca.crt"), "-verify_return_error", "-ign_eof", ...args],
    { input: request, encoding: "utf8", timeout: 15000 },
  );
  const out = `${r.stdout || ""}${r.stderr || ""}`;
  const m = /Cipher is (\S+)/.exec(out);
  const cipher = m && m[1] !== "(NONE)" ? m[1] : "";
  return {
    status: r.status,
    out,
    cipher,
    protocol: (/New, (TLSv[\d.]+)/.exec(out) || [])[1] || "",
    subject: (/subject=([^\n]*)/.exec(out) || [])[1] || "",
    verify: (/Verify return code: ([^\n]*)/.exec(out) || [])[1] || "",
    peerBits: parseInt((/Server public key is (\d+) bit/.exec(out) || [])[1] || "0", 10),
  };
}

/** curl against the server; resolves to exit status and HTTP code (bounded). */
export function curl(url: string, args: string[] = []): { status: number | null; code: string; err: string; body: string } {
  const r = spawnSync("curl", ["-sS", "--max-time", "8", "--cacert", cert("ca.crt"), "-o", "-", "-w", "\n%{http_code}", ...args, url], {
    encoding: "utf8",
    timeout: 15000,
  });
  const out = r.stdout || "";
  const nl = out.lastIndexOf("\n");
  return { status: r.status, code: out.slice(nl + 1), body: out.slice(0, Math.max(0, nl)), err: r.stderr || "" };
}

/** A GET over https with Node's client (the test CA trusted). */
export function httpsGet(url: string, ms = 5000): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: CA, agent: false, timeout: ms }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode || 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("https GET timed out")));
    req.on("error", reject);
  });
}

/** A wss:// WebSocket trusting the test CA (bounded open). */
export function wssOpen(url: string, protocol?: string, ms = 8000, opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol, { ca: CA, ...opts });
    const t = setTimeout(() => {
      ws.terminate();
      reject(new Error("wss open timed out"));
    }, ms);
    ws.once("open", () => (clearTimeout(t), resolve(ws)));
    ws.once("error", (e) => (clearTimeout(t), reject(e)));
    ws.once("close", (code) => (clearTimeout(t), reject(new Error(`closed before open (${code})`))));
  });
}

/** A TLS session over a raw socket the test keeps, so it can also write
 *  bytes under TLS (garbage records). */
export function tlsConnect(port: number, opts: tls.ConnectionOptions = {}, ms = 5000): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca: CA, servername: "localhost", ...opts });
    const t = setTimeout(() => (s.destroy(), reject(new Error("TLS connect timed out"))), ms);
    s.once("secureConnect", () => (clearTimeout(t), resolve(s)));
    s.once("error", (e) => (clearTimeout(t), reject(e)));
  });
}
