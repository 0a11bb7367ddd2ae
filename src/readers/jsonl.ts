import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { SourceRecord } from "../types.js";

export interface JsonlReadOptions {
  /** Longest line accepted, in characters; a longer one is an invalid row. @default 1048576 */
  maxLineLength?: number;
}

function parseLine(text: string, line: number, file: string, fileIndex: number, maxLine: number): SourceRecord | undefined {
  if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
  // Almost every line starts with `{`: the blank-line regex only runs for the others.
  if (text.charCodeAt(0) !== 123 && !/\S/.test(text)) return undefined;
  if (text.length > maxLine) return { file, fileIndex, line, data: {}, error: { code: "LINE_TOO_LARGE", message: `line is ${text.length} characters (limit ${maxLine})` } };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { file, fileIndex, line, data: {}, error: { code: "INPUT_BAD_JSON", message: `not JSON: ${(e as Error).message}` } };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    const got = Array.isArray(value) ? "an array" : value === null ? "null" : typeof value;
    return { file, fileIndex, line, data: {}, error: { code: "INPUT_NOT_OBJECT", message: `expected a JSON object, got ${got}` } };
  }
  if (text.indexOf("\uFFFD") !== -1)
    return { file, fileIndex, line, data: value as Record<string, unknown>, error: { code: "INVALID_UTF8", message: "line is not valid UTF-8" } };
  return { file, fileIndex, line, data: value as Record<string, unknown> };
}

/**
 * Streams one JSON object per line, in arrays (one per chunk read). Blank lines are skipped; bad
 * lines become records with `error`. An over-long line is not kept in memory past the limit.
 */
export async function* readJsonlBatches(src: Readable, file: string, fileIndex: number, opts: JsonlReadOptions = {}): AsyncGenerator<SourceRecord[]> {
  const maxLine = opts.maxLineLength ?? 1 << 20;
  const decoder = new StringDecoder("utf8");
  let rest = "";
  let tooLong = 0;
  let line = 0;
  const take = (text: string, out: SourceRecord[]) => {
    line++;
    if (tooLong) {
      out.push({ file, fileIndex, line, data: {}, error: { code: "LINE_TOO_LARGE", message: `line is ${tooLong + text.length} characters (limit ${maxLine})` } });
      tooLong = 0;
      return;
    }
    const r = parseLine(text, line, file, fileIndex, maxLine);
    if (r) out.push(r);
  };
  for await (const chunk of src as AsyncIterable<Buffer>) {
    const text = rest + decoder.write(chunk);
    const out: SourceRecord[] = [];
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf("\n", start)) !== -1) {
      take(text.slice(start, nl), out);
      start = nl + 1;
    }
    rest = text.slice(start);
    if (rest.length > maxLine) {
      tooLong += rest.length;
      rest = "";
    }
    if (out.length) yield out;
  }
  rest += decoder.end();
  if (rest !== "" || tooLong) {
    const out: SourceRecord[] = [];
    take(rest, out);
    if (out.length) yield out;
  }
}

/** Records one at a time (see readJsonlBatches). */
export async function* readJsonl(src: Readable, file: string, fileIndex: number, opts: JsonlReadOptions = {}): AsyncGenerator<SourceRecord> {
  for await (const batch of readJsonlBatches(src, file, fileIndex, opts)) yield* batch;
}
