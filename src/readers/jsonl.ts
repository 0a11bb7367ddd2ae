import type { Readable } from "node:stream";
import { createInterface } from "node:readline";
import type { SourceRecord } from "../types.js";

export interface JsonlReadOptions {
  /** Longest line accepted, in characters. @default 1048576 */
  maxLineLength?: number;
}

/** Streams one JSON object per line; blank lines are skipped, bad lines become records with `error`. */
export async function* readJsonl(src: Readable, file: string, fileIndex: number, opts: JsonlReadOptions = {}): AsyncGenerator<SourceRecord> {
  const maxLine = opts.maxLineLength ?? 1 << 20;
  const rl = createInterface({ input: src, crlfDelay: Infinity });
  let line = 0;
  for await (let text of rl) {
    line++;
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === "") continue;
    if (text.length > maxLine) {
      yield { file, fileIndex, line, data: {}, error: { code: "LINE_TOO_LARGE", message: `line is ${text.length} characters (limit ${maxLine})` } };
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      yield { file, fileIndex, line, data: {}, error: { code: "INPUT_BAD_JSON", message: `not JSON: ${(e as Error).message}` } };
      continue;
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      const got = Array.isArray(value) ? "an array" : value === null ? "null" : typeof value;
      yield { file, fileIndex, line, data: {}, error: { code: "INPUT_NOT_OBJECT", message: `expected a JSON object, got ${got}` } };
      continue;
    }
    if (text.indexOf("\uFFFD") !== -1) {
      yield { file, fileIndex, line, data: value as Record<string, unknown>, error: { code: "INVALID_UTF8", message: "line is not valid UTF-8" } };
      continue;
    }
    yield { file, fileIndex, line, data: value as Record<string, unknown> };
  }
}
