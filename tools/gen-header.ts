// Generates the C view of src/abi/constants.ts: one #define per constant.
// Run by the build; the output lives under build/ and is never edited.
import * as fs from "fs";

export function genHeader(constantsTs: string): string {
  const src = fs.readFileSync(constantsTs, "utf8");
  const out: string[] = [
    "/* Generated from src/abi/constants.ts by tools/gen-header.ts. Do not edit. */",
    "#ifndef MOTE_ABI_H",
    "#define MOTE_ABI_H",
    "",
  ];
  const re = /^export const ([A-Z0-9_]+)\s*=\s*(-?(?:0x[0-9a-fA-F]+|\d+));/;
  let n = 0;
  for (const line of src.split("\n")) {
    const m = re.exec(line);
    if (m) {
      out.push(`#define MOTE_${m[1]} (${m[2]})`);
      n++;
    } else if (/^export /.test(line)) {
      throw new Error(`${constantsTs}: cannot translate to C: ${line.trim()} (use 'export const NAME = integer;')`);
    } else if (/^\/\/ ----/.test(line)) {
      out.push("", `/* ${line.replace(/^\/\/\s*-+\s*|\s*-+$/g, "")} */`);
    }
  }
  if (n === 0) throw new Error(`${constantsTs}: no constants found`);
  out.push("", "#endif", "");
  return out.join("\n");
}
