// Board files (boards/<name>.json): the single source of a target's limits.
import * as fs from "fs";
import * as path from "path";

export interface Board {
  name: string;
  description: string;
  engine: string;
  limits: {
    maxConnections: number | "rlimit";
    maxConnectionsCap?: number;
    rxBufferBytes: number;
    httpHeaderPool: number;
    httpHeaderBytes: number;
    txBlocks: number;
    txBlockBytes: number;
    maxMessageBytes: number;
  };
}

export function boardNames(): string[] {
  return fs.readdirSync(path.resolve(__dirname, "../boards")).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, "")).sort();
}

export function loadBoard(name: string): Board {
  const file = path.resolve(__dirname, "../boards", `${name}.json`);
  if (!fs.existsSync(file)) throw new Error(`unknown board '${name}' (known: ${boardNames().join(", ")})`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as Board;
}
