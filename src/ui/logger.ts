import { Chalk, type ChalkInstance } from "chalk";
import type { CliIO } from "./io.js";

/** Colours only on a terminal, never with NO_COLOR (https://no-color.org). */
export function colors(io: CliIO): ChalkInstance {
  const off = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "";
  const forced = io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== "0";
  return new Chalk({ level: off ? 0 : forced || io.stderr.isTTY ? 1 : 0 });
}

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string, hint?: string): void;
  c: ChalkInstance;
}

export function createLogger(io: CliIO, quiet = false): Logger {
  const c = colors(io);
  return {
    c,
    info: (m) => {
      if (!quiet) io.stderr.write(`${m}\n`);
    },
    warn: (m) => io.stderr.write(`${c.yellow("warning:")} ${m}\n`),
    error: (m, hint) => io.stderr.write(`${c.red("error:")} ${m}\n${hint ? `${c.dim("hint:")} ${hint}\n` : ""}`),
  };
}
