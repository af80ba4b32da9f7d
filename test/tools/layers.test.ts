// src/ in layers (tools/layers.ts): no import circle but the app's callback
// contract, one writer of a connection's state, the core below the protocol
// layers. Each rule is also shown to fail on a tree that breaks it.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { importGraph, circles, forbiddenCircles, foreignStateWrites, upwardImports } from "../../tools/layers";

const SRC = path.resolve(__dirname, "../../src");

test("src/ has no import circle other than Conn <-> Protocol", () => {
  const g = importGraph(SRC);
  expect(g.size).toBeGreaterThan(20);
  expect(forbiddenCircles(g)).toEqual([]);
});

test("only src/core/dispatch.ts writes a connection's state or role", () => {
  expect(foreignStateWrites(SRC)).toEqual([]);
  // and it does write them
  expect(foreignStateWrites(SRC, "none")).toEqual(expect.arrayContaining([expect.stringMatching(/^core\/dispatch\.ts:\d+: c\.state = to;/)]));
});

test("src/core/ imports nothing of src/http/ or src/ws/ but for the start-up wiring", () => {
  const g = importGraph(SRC);
  expect(upwardImports(g)).toEqual([]);
  expect(g.get("core/conn.ts")!.filter((d) => !d.startsWith("core/") && !d.startsWith("util/"))).toEqual([]);
});

describe("the checks fail on a tree that breaks the rules", () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mote-layers-"));
    const put = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
      fs.writeFileSync(path.join(tmp, rel), text);
    };
    put("core/conn.ts", `import { Protocol } from "./protocol";\nexport class Conn {}\n`);
    put("core/protocol.ts", `import { Conn } from "./conn";\nexport class Protocol {}\n`);
    put("core/a.ts", `import { b } from "./b";\n// import { c } from "./c"; (a comment)\nexport function a(): void {}\n`);
    put("core/b.ts", `export { a } from "./a";\nimport { x } from "../http/x";\nexport function b(): void {}\n`);
    put("http/x.ts", `export function x(c: Conn): void { c.state = 3; if (c.role == 2) c.role |= 1; }\n`);
    put("core/dispatch.ts", `export function d(c: Conn): void { c.state = 1; }\n`);
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("a circle is found, the allowed one is not reported", () => {
    const g = importGraph(tmp);
    expect(circles(g)).toEqual([["core/a.ts", "core/b.ts"], ["core/conn.ts", "core/protocol.ts"]]);
    expect(forbiddenCircles(g)).toEqual([["core/a.ts", "core/b.ts"]]);
  });

  test("writes of state and role outside the dispatcher are listed, comparisons are not", () => {
    expect(foreignStateWrites(tmp)).toEqual(["http/x.ts:1: export function x(c: Conn): void { c.state = 3; if (c.role == 2) c.role |= 1; }"]);
  });

  test("an import from the core into a protocol layer is listed", () => {
    expect(upwardImports(importGraph(tmp))).toEqual(["core/b.ts -> http/x.ts"]);
  });
});
