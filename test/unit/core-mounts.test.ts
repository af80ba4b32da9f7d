// Mounts (lws_http_mount) in the real core over the Node host: the test app
// (test/apps/core-test.ts) mounts its linked-in www/ folder (test/apps/www)
// at /static (Cache-Control public, max-age=3600), /docs at /nocache/
// (no-store), /docs at /plain with the default file "a b.txt", redirects
// /old (https://example.com/new) and /insecure (http://example.com), and
// hands /api to its "api" protocol.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { testHost } from "./core";
import { Host } from "./host";
import { responses, Response } from "./responses";

type Resp = Response;
const parse = responses;

const WWW = path.resolve(__dirname, "../apps/www");
const etagOf = (rel: string) => `"${crypto.createHash("sha256").update(fs.readFileSync(path.join(WWW, rel))).digest("hex").slice(0, 16)}"`;

let h: Host;
beforeEach(async () => {
  h = await testHost();
});

function exchange(raw: string): { rs: Resp[]; closed: string | false } {
  const c = h.accept()!;
  h.feed(c, raw);
  return { rs: parse(c.take()), closed: c.closed };
}
const get = (p: string, extra = "", method = "GET") => `${method} ${p} HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;
const one = (p: string, extra = "", method = "GET") => exchange(get(p, extra, method)).rs[0];

describe("file mounts", () => {
  test.each([
    ["/static/", "index.html"],
    ["/static/index.html", "index.html"],
    ["/static/docs/", "docs/index.html"],
    ["/static/style.css", "style.css"],
    ["/static/docs/a%20b.txt", "docs/a b.txt"], // percent-decoded
    ["/nocache/", "docs/index.html"], // origin /docs
    ["/plain/", "docs/a b.txt"], // the mount's default file
    ["/static/?v=1", "index.html"], // the query is not part of the file name
  ])("GET %s serves www/%s with its type, length and ETag", (url, rel) => {
    const r = one(url);
    expect(r.status).toBe(200);
    expect(r.body).toBe(fs.readFileSync(path.join(WWW, rel), "latin1"));
    expect(r.headers["content-length"]).toBe(String(fs.statSync(path.join(WWW, rel)).size));
    expect(r.headers["etag"]).toBe(etagOf(rel));
    const type = { ".html": "text/html", ".css": "text/css", ".txt": "text/plain" }[path.extname(rel)]!;
    expect(r.headers["content-type"]).toContain(type);
  });

  test("Cache-Control comes from the mount (RFC 9111 5.2.2)", () => {
    expect(one("/static/").headers["cache-control"]).toBe("public, max-age=3600");
    expect(one("/nocache/").headers["cache-control"]).toBe("no-store");
    expect(one("/plain/").headers["cache-control"]).toBeUndefined(); // setCache not called
  });

  test("HEAD: the same head, no body", () => {
    const c = h.accept()!;
    h.feed(c, get("/static/style.css", "", "HEAD") + get("/static/style.css"));
    const s = c.take().toString("latin1");
    const heads = s.split("HTTP/1.1 200 OK").slice(1);
    expect(heads.length).toBe(2);
    expect(heads[0]).toContain(`Content-Length: ${fs.statSync(path.join(WWW, "style.css")).size}`);
    expect(heads[0].endsWith("\r\n\r\n")).toBe(true); // nothing after the HEAD answer's head
    expect(s.endsWith(fs.readFileSync(path.join(WWW, "style.css"), "latin1"))).toBe(true);
  });

  test("If-None-Match with the file's tag: 304 with the tag and Cache-Control, no body; keep-alive goes on", () => {
    const tag = etagOf("style.css");
    const { rs, closed } = exchange(
      get("/static/style.css", `If-None-Match: "nope", W/${tag}\r\n`) + get("/static/style.css", "If-None-Match: *\r\n") +
      get("/static/style.css", `If-None-Match: "other"\r\n`),
    );
    expect(rs.map((r) => r.status)).toEqual([304, 304, 200]);
    expect(rs[0].headers["etag"]).toBe(tag);
    expect(rs[0].headers["cache-control"]).toBe("public, max-age=3600");
    expect(rs[0].headers["content-length"]).toBeUndefined();
    expect(rs[0].body).toBe("");
    expect(closed).toBe(false);
  });

  test("a directory mount named without its slash: 301 to the slash, query kept", () => {
    const r = one("/static?x=1");
    expect(r.status).toBe(301);
    expect(r.headers["location"]).toBe("/static/?x=1");
  });

  test.each([
    ["/static/missing.txt", 404],
    ["/static/docs/a%2Fb", 400], // an encoded "/" never reaches the file system
    ["/static/%zz", 400],
    ["/static/%", 400],
    ["/static/docs/../index.html", 400], // dot segments (RFC 3986 3.3)
    ["/static/./index.html", 400],
    ["/static/%2e%2e/index.html", 400],
  ])("GET %s -> %i", (url, status) => {
    expect(one(url).status).toBe(status);
  });

  test("a prefix that ends inside a segment is not the mount: protocol 0 answers", () => {
    expect(one("/staticx").body).toBe("404 Not Found\n"); // the app's default http(): 404
    expect(one("/static").status).toBe(301); // the mount itself
  });

  test("only GET and HEAD: 405 with Allow, the request body read and dropped, keep-alive goes on", () => {
    const { rs, closed } = exchange(`POST /static/ HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello` + get("/static/style.css"));
    expect(rs.map((r) => r.status)).toEqual([405, 200]);
    expect(rs[0].headers["allow"]).toBe("GET, HEAD");
    expect(closed).toBe(false);
  });
});

describe("the work area after the request (the free end of its header buffer)", () => {
  // A file mount builds the file's path and its extra header lines in the
  // free end of the connection's header buffer. A request that fills that
  // buffer leaves almost none; the answer must then be 431, and nothing may
  // be written past the buffer: the next header buffer starts there with
  // another connection's parsed request (its Content-Length first).
  test.each([0, 1, 2, 3, 4, 5, 6, 8, 10, 16, 24, 40, 64, 100, 200])(
    "a request leaving %i bytes free gets 431 or the file, and the next buffer is untouched",
    async (free) => {
      const h2 = await testHost();
      const a = h2.accept()!;
      const { ptr, space: cap } = h2.rxArea(a);
      const after = h2.peek(ptr + cap, 128);
      const start = "GET /nocache/ HTTP/1.1\r\nHost: a\r\nX-Pad: ";
      const end = "\r\n\r\n";
      const pad = cap - free - start.length - end.length;
      const req = start + "p".repeat(pad) + end;
      expect(req.length).toBe(cap - free);
      h2.feed(a, req);
      expect(h2.peek(ptr + cap, 128)).toEqual(after);
      const [r] = parse(a.take());
      expect([200, 431]).toContain(r.status);
      if (r.status === 200) expect(r.body).toBe(fs.readFileSync(path.join(WWW, "docs/index.html"), "latin1"));
    },
  );

  test("with room enough, the same padded request is served", async () => {
    const h2 = await testHost();
    const a = h2.accept()!;
    const { space: cap } = h2.rxArea(a);
    const req = "GET /nocache/ HTTP/1.1\r\nHost: a\r\nX-Pad: " + "p".repeat(cap - 1200) + "\r\n\r\n";
    h2.feed(a, req);
    expect(parse(a.take())[0].status).toBe(200);
  });
});

describe("redirect mounts", () => {
  test.each([
    ["/old", "https://example.com/new"],
    ["/old/a/b?x=1&y", "https://example.com/new/a/b?x=1&y"],
    ["/insecure/page", "http://example.com/page"],
  ])("%s -> 301 %s", (url, loc) => {
    const r = one(url);
    expect(r.status).toBe(301);
    expect(r.headers["location"]).toBe(loc);
  });

  test("any method is redirected", () => {
    expect(one("/old/x", "Content-Length: 0\r\n", "POST").status).toBe(301);
  });
});

describe("callback mounts", () => {
  test("/api goes to the api protocol; its session data lives while it keeps the connection", () => {
    const { rs } = exchange(get("/api/a") + get("/api/b") + get("/hello") + get("/api/c"));
    expect(rs.map((r) => r.body)).toEqual(["api /api/a #1\n", "api /api/b #2\n", "hello\n", "api /api/c #1\n"]);
  });

  test("paths beside the mount stay with protocol 0", () => {
    expect(one("/apix").status).toBe(404);
    expect(one("/hello").body).toBe("hello\n");
  });
});
