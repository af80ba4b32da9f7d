// Splits raw HTTP/1.1 responses the core wrote (tests of the core in Node).

export type Response = { status: number; headers: Record<string, string>; body: string };

/** Each response: status, headers (lower-case names), body (Content-Length
 *  framed; none for 1xx, 204 and 304; without Content-Length, the rest). */
export function responses(b: Buffer): Response[] {
  const out: Response[] = [];
  let s = b.toString("latin1");
  while (s.length) {
    const end = s.indexOf("\r\n\r\n");
    if (end < 0) throw new Error(`truncated response: ${JSON.stringify(s)}`);
    const lines = s.slice(0, end).split("\r\n");
    const status = parseInt(lines[0].split(" ")[1], 10);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(":");
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    s = s.slice(end + 4);
    const noBody = status < 200 || status === 204 || status === 304;
    const len = noBody ? 0 : headers["content-length"] !== undefined ? parseInt(headers["content-length"], 10) : s.length;
    out.push({ status, headers, body: s.slice(0, len) });
    s = s.slice(len);
  }
  return out;
}
