import { Chalk, type ChalkInstance } from "chalk";
import type { CliIO } from "./io.js";

/** Colours for text written to `to`: only on a terminal (`> file` keeps escapes out), never with NO_COLOR (https://no-color.org). */
export function colors(io: CliIO, to: "stdout" | "stderr" = "stderr"): ChalkInstance {
  const off = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "";
  const forced = io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== "0";
  return new Chalk({ level: off ? 0 : forced || io[to].isTTY ? 1 : 0 });
}

/**
 * Text for a terminal: control characters (an ESC sequence can retitle or clear a terminal, a CR
 * overwrite a line) and bidi overrides become spaces. Messages carry user data (cells, keys,
 * column names, vendor answers). `oneLine` also folds line breaks, for a value inside a line.
 */
export const printable = (s: string) => s.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]+/g, " ");
/** Terminal text past this many characters is cut: a vendor message of megabytes would flood the screen (reports keep it whole). */
const LINE_MAX = 2000;

export const oneLine = (s: string) => {
  // Not between the halves of a surrogate pair.
  const cut = LINE_MAX - (s.charCodeAt(LINE_MAX - 1) >> 10 === 0x36 ? 1 : 0);
  const t = s.length > LINE_MAX ? `${s.slice(0, cut)}… (${s.length - cut} more characters)` : s;
  return t.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]+/g, " ");
};

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
      if (!quiet) io.stderr.write(`${printable(m)}\n`);
    },
    warn: (m) => io.stderr.write(`${c.yellow("warning:")} ${printable(m)}\n`),
    error: (m, hint) => io.stderr.write(`${c.red("error:")} ${printable(m)}\n${hint ? `${c.dim("hint:")} ${printable(hint)}\n` : ""}`),
  };
}
