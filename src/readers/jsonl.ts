import type { Readable } from "node:stream";
import { inherited, valueGetter } from "../mapping/path.js";
import type { SourceRecord } from "../types.js";
import { materialize, setCell } from "./csv.js";
import { deeperThan } from "../util/depth.js";
import { JsonlScanner } from "./jsonl-scan.js";
import { gzipOnStdin, isGzipText } from "./open.js";

export interface JsonlReadOptions {
  /** Longest line accepted, in characters; a longer one is an invalid row. @default 1048576 */
  maxLineLength?: number;
  /** Keep each readable line's text as `raw` (the parse thread, for --failed-out). */
  keepText?: boolean;
}

/** Records split by a CR alone (old Mac line ends) read as one line: say so, or the message only names a position or a length. */
const CR_HINT = " (the line holds a CR: JSONL lines end in LF or CRLF, so lines ending in a CR alone run together; convert them to LF)";

/** `replaced`: the text this line came from holds U+FFFD (a byte that was not UTF-8, or the character itself). */
function parseLine(text: string, line: number, file: string, fileIndex: number, maxLine: number, keepText: boolean, replaced: boolean): SourceRecord | undefined {
  if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (line === 1 && isGzipText(text)) throw gzipOnStdin(file, line);
  if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
  // Blank: JSON's whitespace only (a line of U+00A0 or U+2028 is not JSON, and gets its row).
  // Almost every line starts with `{`: the regex only runs for the others.
  if (text.charCodeAt(0) !== 123 && !/[^ \t\n\r]/.test(text)) return undefined;
  if (text.length > maxLine) return { file, fileIndex, line, data: {}, error: { code: "LINE_TOO_LARGE", message: `line is ${text.length} characters (limit ${maxLine})${text.indexOf("\r") === -1 ? "" : CR_HINT}` } };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // V8 quotes a stretch of the line ("Unexpected token 'x', ..."password":'…"... is not valid
    // JSON"), which may hold a password: the report keeps only what went wrong.
    const why = (e as Error).message.replace(/, (?:\.\.\.)?"[^]*"(?:\.\.\.)? is not valid JSON$/, "");
    return { file, fileIndex, line, data: {}, error: { code: "INPUT_BAD_JSON", message: `not JSON: ${why}${text.indexOf("\r") === -1 ? "" : CR_HINT}` } };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    const got = Array.isArray(value) ? "an array" : value === null ? "null" : typeof value;
    return { file, fileIndex, line, data: {}, error: { code: "INPUT_NOT_OBJECT", message: `expected a JSON object, got ${got}` } };
  }
  if (replaced && text.indexOf("\uFFFD") !== -1) {
    // The line goes to --failed-out as it was (U+FFFD for the bytes that were not UTF-8), not re-serialized.
    const error = { code: "INVALID_UTF8", message: "line is not valid UTF-8 (or holds U+FFFD, the mark of an earlier bad conversion)" };
    return keepText ? { file, fileIndex, line, data: value as Record<string, unknown>, error, raw: text } : { file, fileIndex, line, data: value as Record<string, unknown>, error };
  }
  return keepText ? { file, fileIndex, line, data: value as Record<string, unknown>, raw: text } : { file, fileIndex, line, data: value as Record<string, unknown> };
}

/**
 * Called with each line of a stream: the text holding it, where it starts and ends (before its
 * LF), its number, and for a line over the limit (whose start was dropped) its length without a
 * BOM and its CRLF's CR, and whether it holds another CR; else 0 and false.
 */
type TakeLine = (text: string, start: number, end: number, line: number, tooLong: number, replaced: boolean, crInside: boolean) => void;

const crsIn = (s: string, from = 0, to = s.length) => {
  let n = 0;
  for (let i = s.indexOf("\r", from); i !== -1 && i < to; i = s.indexOf("\r", i + 1)) n++;
  return n;
};

/**
 * Splits a stream into lines without copying them: `take` sees each line within its block of
 * text, and after each block `flush` says what to yield (undefined: nothing). A line over the
 * limit is not kept in memory past it.
 */
async function* eachLine<T>(src: Readable, maxLine: number, take: TakeLine, flush: () => T | undefined | Promise<T | undefined>): AsyncGenerator<T> {
  // TextDecoder decodes twice as fast as StringDecoder in node 20 (177 MB: 0.26 s vs 0.51 s). The
  // BOM is kept for parseLine; a byte that is not UTF-8 becomes U+FFFD, as with StringDecoder.
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  let rest = "";
  /** Of the line being dropped: characters so far (without a BOM), CRs among them, whether the last was one. */
  let tooLong = 0;
  let droppedCrs = 0;
  let droppedEndCr = false;
  let line = 0;
  const takeLine = (text: string, start: number, end: number, replaced: boolean) => {
    if (!tooLong) return take(text, start, end, ++line, 0, replaced, false);
    const endCr = end > start ? text.charCodeAt(end - 1) === 13 : droppedEndCr;
    const crs = droppedCrs + crsIn(text, start, end) - (endCr ? 1 : 0);
    const n = tooLong + end - start - (endCr ? 1 : 0);
    tooLong = droppedCrs = 0;
    droppedEndCr = false;
    take(text, start, end, ++line, n, replaced, crs > 0);
  };
  for await (const chunk of src as AsyncIterable<Buffer | string>) {
    // A stream with an encoding set already yields text. The block is not joined to what the last
    // one left: a joined string is a rope, slower for the scanner to read character by character.
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    // Checked once per decoded block: lines are only searched for U+FFFD when their block has one.
    const replaced = text.indexOf("\uFFFD") !== -1;
    let start = 0;
    let nl = text.indexOf("\n");
    if (rest !== "" && nl !== -1) {
      const first = rest + text.slice(0, nl);
      takeLine(first, 0, first.length, replaced || first.indexOf("\uFFFD") !== -1);
      rest = "";
      start = nl + 1;
      nl = text.indexOf("\n", start);
    }
    for (; nl !== -1; nl = text.indexOf("\n", start)) {
      takeLine(text, start, nl, replaced);
      start = nl + 1;
    }
    rest = rest === "" ? text.slice(start) : rest + text;
    // Over the limit even without a BOM and a CR that may be its CRLF's: drop what is read of it.
    const bom = line === 0 && tooLong === 0 && rest.charCodeAt(0) === 0xfeff ? 1 : 0;
    if (rest.length - bom - (rest.charCodeAt(rest.length - 1) === 13 ? 1 : 0) > maxLine) {
      tooLong += rest.length - bom;
      droppedCrs += crsIn(rest);
      droppedEndCr = rest.charCodeAt(rest.length - 1) === 13;
      rest = "";
    }
    const out = await flush();
    if (out !== undefined) yield out;
  }
  rest += decoder.decode();
  if (rest !== "" || tooLong) {
    takeLine(rest, 0, rest.length, rest.indexOf("\uFFFD") !== -1);
    const out = await flush();
    if (out !== undefined) yield out;
  }
}

/** A line's record as JSON.parse reads it (undefined for a blank line). */
function lineRecord(text: string, line: number, tooLong: number, file: string, fileIndex: number, maxLine: number, keepText: boolean, replaced: boolean, crInside: boolean): SourceRecord | undefined {
  if (tooLong) return { file, fileIndex, line, data: {}, error: { code: "LINE_TOO_LARGE", message: `line is ${tooLong} characters (limit ${maxLine})${crInside ? CR_HINT : ""}` } };
  return parseLine(text, line, file, fileIndex, maxLine, keepText, replaced);
}

/**
 * Streams one JSON object per line, in arrays (one per chunk read). Blank lines are skipped; bad
 * lines become records with `error`. An over-long line is not kept in memory past the limit.
 */
export async function* readJsonlBatches(src: Readable, file: string, fileIndex: number, opts: JsonlReadOptions = {}): AsyncGenerator<SourceRecord[]> {
  const maxLine = opts.maxLineLength ?? 1 << 20;
  const keepText = opts.keepText === true;
  let out: SourceRecord[] = [];
  yield* eachLine(
    src,
    maxLine,
    (text, start, end, line, tooLong, replaced, crInside) => {
      const r = lineRecord(text.slice(start, end), line, tooLong, file, fileIndex, maxLine, keepText, replaced, crInside);
      if (r) out.push(r);
    },
    () => {
      if (!out.length) return undefined;
      const batch = out;
      out = [];
      return batch;
    },
  );
}

/**
 * A JSONL file's columns, once a batch (a block read) holds a readable record: every key of its
 * readable records, in the order first seen (records need not all hold the same keys).
 */
export function firstKeys(batch: SourceRecord[]): string[] | undefined {
  let keys: Set<string> | undefined;
  for (const r of batch) {
    if (r.error) continue;
    keys ??= new Set();
    for (const k of Object.keys(r.data)) keys.add(k);
  }
  return keys && [...keys];
}

/** Records one at a time (see readJsonlBatches). */
export async function* readJsonl(src: Readable, file: string, fileIndex: number, opts: JsonlReadOptions = {}): AsyncGenerator<SourceRecord> {
  for await (const batch of readJsonlBatches(src, file, fileIndex, opts)) yield* batch;
}

/**
 * A stretch of JSONL records in a form that crosses threads cheaply (see CsvChunk): only the
 * columns the mapping reads, each as its string values joined by NUL, so the receiving thread
 * neither parses JSON nor copies whole objects. A record's data then holds those columns only
 * (dotted paths as flat keys, which the mapping's getters read first).
 */
export interface JsonlChunk {
  /** Per column, its values in the readable records that are strings without NUL, joined by NUL ("" for any other value). */
  columns: string[];
  /** Start line of every record, readable or not, in input order. */
  lines: Int32Array;
  /** Records that are row errors, whole, with their position in `lines`. */
  errors: { at: number; record: SourceRecord }[];
  /** The other values, as (position in `lines`, column, value) triples; undefined = absent. */
  others: unknown[];
  /** With `keepText`: the lines of the readable records sent as columns, joined by line feeds. */
  raw?: string;
  /** Records nested too deep to cross threads as values: their lines, which the receiving thread parses itself. */
  whole?: { at: number; text: string }[];
}

/**
 * Nesting a value may have to cross threads: a structured clone of an array nested about 3,300
 * deep fails to deserialize (the main thread then gets a `messageerror`, not the chunk).
 */
const CLONE_DEPTH = 1000;

/** Puts one record's values of the columns into the chunk being built (record `i`). */
type Projector = (data: Record<string, unknown>, i: number, parts: string[][], others: unknown[]) => void;

/**
 * valueGetter's reading of a column as one expression on `d`: the key itself, else the dotted
 * path, stopping at the first step that is not an object.
 */
function readExpr(column: string): string {
  const q = JSON.stringify;
  // An inherited name (`constructor`) is read only as the object's own key, as valueGetter does.
  const read = (o: string, key: string) => (inherited(key) ? `(Object.hasOwn(${o}, ${q(key)}) ? ${o}[${q(key)}] : undefined)` : `${o}[${q(key)}]`);
  if (column.indexOf(".") === -1) return read("d", column);
  const steps = column.split(".");
  let e = read("d", steps[0]!);
  for (let k = 1; k < steps.length; k++) e = `((t = ${e}) === null || typeof t !== "object" ? undefined : ${read("t", steps[k]!)})`;
  return `(${q(column)} in d ? d[${q(column)}] : ${e})`;
}

let projectedFor: string[] | undefined;
let projector: Projector | undefined;

/** The columns' reads compiled into one function per column list (2x the getter closures); the closures where node forbids code from strings. */
function projectorFor(columns: string[]): Projector {
  if (projectedFor === columns) return projector!;
  const get = columns.map(valueGetter);
  projector = (d, i, parts, others) => {
    for (let j = 0; j < get.length; j++) {
      const v = get[j]!(d);
      if (typeof v === "string" && v.indexOf("\0") === -1) parts[j]!.push(v);
      else {
        parts[j]!.push("");
        others.push(i, j, v);
      }
    }
  };
  try {
    const body = columns.map(
      (c, j) => `v = ${readExpr(c)}; if (typeof v === "string" && v.indexOf("\\0") === -1) p[${j}].push(v); else { p[${j}].push(""); o.push(i, ${j}, v); }`,
    );
    projector = new Function("d", "i", "p", "o", `let t, v;\n${body.join("\n")}`) as Projector;
  } catch {
    // node --disallow-code-generation-from-strings: the getters, slower but the same values.
  }
  projectedFor = columns;
  return projector;
}

/** A character V8 cannot store in one byte. */
const WIDE = /[^\x00-\xff]/;

/**
 * The text in one byte a character where it fits. A slice of a line keeps its block's storage, two
 * bytes a character once the block holds any CJK, where JSON.parse made one-byte strings: every
 * later use of such a value (hashing a key, validating, the report) is slower.
 */
const oneByte = (s: string): string => (WIDE.test(s) ? s : Buffer.from(s, "latin1").toString("latin1"));

/** A JsonlChunk being built, record by record. */
class ChunkBuilder {
  private parts: string[][];
  private lines: number[] = [];
  private errors: JsonlChunk["errors"] = [];
  private others: unknown[] = [];
  private texts: string[] = [];
  private whole: { at: number; text: string }[] = [];

  constructor(
    readonly columns: string[],
    private readonly keepText: boolean,
  ) {
    this.parts = columns.map(() => []);
  }

  /** A record read by JSON.parse, or a row error; `text` is its line. */
  record(rec: SourceRecord, text: string): void {
    const i = this.lines.push(rec.line) - 1;
    // A value nested N deep takes at least 2N characters: only long lines are walked.
    if (text.length > 2 * CLONE_DEPTH && deeperThan(rec.data, CLONE_DEPTH)) this.whole.push({ at: i, text });
    else if (rec.error) this.errors.push({ at: i, record: rec });
    else {
      projectorFor(this.columns)(rec.data, i, this.parts, this.others);
      if (this.keepText) this.texts.push(rec.raw!);
    }
  }

  /** A record from the scanner: its columns' values, in column order. */
  values(line: number, values: unknown[], text: string): void {
    const i = this.lines.push(line) - 1;
    for (let j = 0; j < values.length; j++) {
      const v = values[j];
      if (typeof v === "string" && v.indexOf("\0") === -1) this.parts[j]!.push(v);
      else {
        this.parts[j]!.push("");
        this.others.push(i, j, v);
      }
    }
    if (this.keepText) this.texts.push(text);
  }

  /** The chunk so far (undefined if empty), and a fresh start. */
  take(): JsonlChunk | undefined {
    if (!this.lines.length) return undefined;
    const chunk: JsonlChunk = { columns: this.parts.map((p) => oneByte(p.join("\0"))), lines: Int32Array.from(this.lines), errors: this.errors, others: this.others };
    if (this.keepText) chunk.raw = this.texts.join("\n");
    if (this.whole.length) chunk.whole = this.whole;
    this.parts = this.columns.map(() => []);
    this.lines = [];
    this.errors = [];
    this.others = [];
    this.texts = [];
    this.whole = [];
    return chunk;
  }
}

/**
 * A JSONL stream as JsonlChunks of the columns its mapping reads (the parse thread's side).
 * `columnsFor` gets the first readable record's keys and answers the columns. Until then lines
 * are parsed whole; after, each line goes through JsonlScanner, and only the lines it leaves
 * to JSON.parse (bad ones, unusual ones) are parsed, so the records are the ones
 * readJsonlBatches would give, projected.
 */
export async function* readJsonlChunks(
  src: Readable,
  file: string,
  fileIndex: number,
  opts: JsonlReadOptions,
  columnsFor: (keys: string[]) => Promise<string[]>,
): AsyncGenerator<JsonlChunk> {
  const maxLine = opts.maxLineLength ?? 1 << 20;
  const keepText = opts.keepText === true;
  /** Records read before the columns are known, with their lines. */
  let pending: [SourceRecord, string][] = [];
  let builder: ChunkBuilder | undefined;
  let scanner: JsonlScanner | undefined;
  const values: unknown[] = [];
  const slow = (text: string, line: number, tooLong: number, replaced: boolean, crInside: boolean) => {
    const r = lineRecord(text, line, tooLong, file, fileIndex, maxLine, keepText, replaced, crInside);
    if (r) builder ? builder.record(r, text) : pending.push([r, text]);
  };
  yield* eachLine(
    src,
    maxLine,
    (text, start, end, line, tooLong, replaced, crInside) => {
      // A CRLF line's CR is not part of the record (parseLine cuts it too).
      const stop = text.charCodeAt(end - 1) === 13 ? end - 1 : end;
      if (scanner && !tooLong && !replaced && stop - start <= maxLine && scanner.read(text, start, stop, values))
        builder!.values(line, values, keepText ? text.slice(start, stop) : "");
      else slow(text.slice(start, end), line, tooLong, replaced, crInside);
    },
    async () => {
      if (!builder) {
        const keys = firstKeys(pending.map(([r]) => r));
        if (!keys) {
          // No readable record yet: its errors go as they are, without columns.
          const b = new ChunkBuilder([], keepText);
          for (const [r, text] of pending) b.record(r, text);
          pending = [];
          return b.take();
        }
        const columns = await columnsFor(keys);
        builder = new ChunkBuilder(columns, keepText);
        scanner = new JsonlScanner(columns);
        for (const [r, text] of pending) builder.record(r, text);
        pending = [];
      }
      return builder.take();
    },
  );
}

/** Records of a JsonlChunk, their data keyed by its columns. */
export function materializeJsonl(chunk: JsonlChunk, columns: string[], file: string, fileIndex: number): SourceRecord[] {
  const keepText = chunk.raw !== undefined;
  // Lines sent whole are parsed here as on one thread, then placed like error records.
  const whole = (chunk.whole ?? []).map(({ at, text }) => ({ at, record: parseLine(text, chunk.lines[at]!, file, fileIndex, Infinity, keepText, true)! }));
  const placed = whole.length ? [...chunk.errors, ...whole].sort((a, b) => a.at - b.at) : chunk.errors;
  const out = materialize({ ...chunk, errors: placed }, columns, file, fileIndex);
  const o = chunk.others;
  for (let i = 0; i < o.length; i += 3) setCell(out[o[i] as number]!.data, columns[o[i + 1] as number]!, o[i + 2]);
  if (keepText) {
    const texts = chunk.raw!.split("\n");
    let k = 0;
    let w = 0;
    for (let i = 0; i < out.length; i++) {
      if (whole[w]?.at === i) w++;
      else if (!out[i]!.error) out[i]!.raw = texts[k++];
    }
  }
  return out;
}
