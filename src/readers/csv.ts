import { isUtf8 } from "node:buffer";
import type { Readable } from "node:stream";
import { parse, type CsvError } from "csv-parse";
import { BulkUsersError, ErrorCode } from "../errors.js";
import type { SourceRecord } from "../types.js";
import { gzipOnStdin, isGzipText } from "./open.js";

export interface CsvReadOptions {
  /** Field delimiter. @default "," */
  delimiter?: string;
  /** Largest cell accepted, in characters; a larger one makes its row invalid. @default 65536 */
  maxCellLength?: number;
}

/** Options of readCsvChunks beyond the reader's own. */
interface ChunkOptions extends CsvReadOptions {
  /** Chunks carry each column's cells as one string or its UTF-8 bytes (to cross threads) instead of record objects. */
  compact?: boolean;
}

/** Line breaks inside cells (CRLF counts once): the lines a record spans beyond its first. */
function breaksIn(cells: string[]): number {
  let n = 0;
  for (const c of cells) {
    if (c.indexOf("\n") === -1 && c.indexOf("\r") === -1) continue;
    for (let i = 0; i < c.length; i++) {
      const ch = c.charCodeAt(i);
      if (ch === 13 && c.charCodeAt(i + 1) === 10) {
        n++;
        i++;
      } else if (ch === 10 || ch === 13) n++;
    }
  }
  return n;
}

function checkHeader(file: string, header: string[], line: number): string[] {
  const seen = new Set<string>();
  header.forEach((h, i) => {
    const name = h.trim();
    if (i === 0 && isGzipText(h)) throw gzipOnStdin(file, line);
    if (name.indexOf("\0") !== -1)
      throw new BulkUsersError(ErrorCode.INPUT_ENCODING, `Input is not UTF-8 text: the header holds NUL bytes, as a UTF-16 or binary file does (${file}, line ${line})`, {
        context: { file, line },
        hint: "Save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`).",
      });
    if (name.indexOf("\uFFFD") !== -1)
      throw new BulkUsersError(ErrorCode.INPUT_ENCODING, `Input is not UTF-8 text: the name of column ${i + 1} is not valid UTF-8 (${file}, line ${line})`, {
        context: { file, line },
        hint: "Save it as UTF-8 (e.g. `iconv -f WINDOWS-1252 -t UTF-8` for a Latin-1/Excel export).",
      });
    if (!name)
      throw new BulkUsersError(ErrorCode.INPUT_HEADER, `Invalid header: column ${i + 1} has no name (${file}, line ${line})`, {
        context: { file, line },
        hint: "Give every column a name in the first row.",
      });
    if (seen.has(name))
      throw new BulkUsersError(ErrorCode.INPUT_HEADER, `Invalid header: column name \`${name}\` appears twice (${file}, line ${line})`, {
        context: { file, line },
        hint: "Rename one of the columns so every name is unique.",
      });
    seen.add(name);
  });
  return header.map((h) => h.trim());
}

/** Records one at a time (see readCsvBatches). */
export async function* readCsv(
  src: Readable,
  file: string,
  fileIndex: number,
  opts: CsvReadOptions = {},
  onHeader?: (columns: string[]) => void,
): AsyncGenerator<SourceRecord> {
  for await (const batch of readCsvBatches(src, file, fileIndex, opts, onHeader)) yield* batch;
}

/** Whatever the stream has buffered, as one array per wake-up: one await per chunk, not per record. */
export async function* drain<T>(stream: Readable): AsyncGenerator<T[]> {
  let ended = false;
  let failed: unknown;
  stream.once("end", () => (ended = true));
  stream.once("error", (e) => (failed = e));
  for (;;) {
    const batch: T[] = [];
    let x: T | null;
    while ((x = stream.read() as T | null) !== null) batch.push(x);
    if (failed) throw failed;
    if (batch.length) yield batch;
    else if (ended || stream.readableEnded) return;
    else
      await new Promise<void>((resolve) => {
        const done = () => {
          stream.off("readable", done);
          stream.off("end", done);
          stream.off("error", done);
          resolve();
        };
        stream.on("readable", done);
        stream.on("end", done);
        stream.on("error", done);
      });
  }
}

/** The parts of csv-parse's parser state the reader reads; not in its typings, so checked on start. */
interface ParserApi {
  options: { encoding?: BufferEncoding | null; record_delimiter: Buffer[] };
  info: { records: number };
  state: {
    /** Cells of the record being parsed. */
    record: string[];
    /** Bytes of the cell being parsed. */
    field: { length: number; buf: Buffer; reset(): void; append(byte: number): void; toString(encoding: BufferEncoding): string };
    /** Set by an error under `skip_records_with_error`: the record is dropped when it ends. */
    recordHasError: boolean;
    /** Inside a quoted cell. */
    quoting: boolean;
    /** Bytes of the longest record delimiter: csv-parse waits for that many before deciding at a chunk's end. */
    recordDelimiterMaxLength: number;
  };
  parse(buf: Buffer | undefined, end: boolean, push: unknown, close: unknown): unknown;
  __onRecord(push: unknown): unknown;
  __onField(): unknown;
  __resetField(): void;
  /** Sets `options.record_delimiter` from the first line end it finds; its length, or 0. */
  __autoDiscoverRecordDelimiter(buf: Buffer, pos: number): number;
}

export function parserApi(parser: object): ParserApi {
  const api = (parser as { api?: Partial<ParserApi> }).api;
  const st = api?.state;
  if (!api?.info || !api.options || typeof api.parse !== "function" || typeof api.__onRecord !== "function" || typeof api.__onField !== "function" || typeof api.__resetField !== "function" || typeof api.__autoDiscoverRecordDelimiter !== "function" || !Array.isArray(api.options.record_delimiter) || !Array.isArray(st?.record) || typeof st?.field?.reset !== "function" || typeof st.quoting !== "boolean" || typeof (st as { recordDelimiterMaxLength?: unknown }).recordDelimiterMaxLength !== "number")
    throw new Error("csv-parse internals changed: the CSV reader can no longer locate the lines of broken records (src/readers/csv.ts)");
  return api as ParserApi;
}

/** Line breaks in `buf[0, end)`: LF, and CR not followed by LF. */
function breaksInBytes(buf: Buffer, end: number): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1 && i < end; i = buf.indexOf(10, i + 1)) n++;
  for (let i = buf.indexOf(13); i !== -1 && i < end; i = buf.indexOf(13, i + 1)) if (buf[i + 1] !== 10 || i + 1 >= end) n++;
  return n;
}

/** The first problem of a record csv-parse drops; positions are line breaks from the record's start. */
interface Problem {
  code: string;
  /** Index of the cell. */
  column: number;
  /** Where that cell starts, and where the problem was found. */
  cellAt: number;
  at: number;
  /** The character after a bad closing quote, or csv-parse's message for an unexpected error. */
  detail?: string;
  /** Further problems in the same record. */
  more: number;
}

/** A record csv-parse dropped: `after` records it had emitted before it, the lines it spans. */
interface Broken {
  after: number;
  span: number;
  problem: Problem;
  /** It ended because the file ended inside a quote. */
  openToEnd: boolean;
  /** Bytes of the oversized cell, for CELL_TOO_LARGE. */
  bytes: number;
}

const QUOTE_CODES: Record<string, string> = {
  INVALID_OPENING_QUOTE: "CSV_INVALID_OPENING_QUOTE",
  CSV_INVALID_OPENING_QUOTE: "CSV_INVALID_OPENING_QUOTE",
  CSV_INVALID_CLOSING_QUOTE: "CSV_INVALID_CLOSING_QUOTE",
  CSV_QUOTE_NOT_CLOSED: "CSV_QUOTE_NOT_CLOSED",
};

/**
 * Streams CSV records with their line numbers, in arrays. The first row is the header. Row-level
 * problems (wrong cell count, broken quoting, oversized or undecodable cells) become records with
 * `error`.
 *
 * Broken quoting: csv-parse drops a record with a quote error and goes on after the record's end,
 * which, with a quote left open, may be many lines later. Each dropped record becomes one error
 * record naming every line it spans, so no line disappears and later lines keep their numbers. A
 * cell is never held past 4 × `maxCellLength` bytes: beyond that it is cut (its line breaks still
 * counted) and its record reported as CELL_TOO_LARGE, so a quote left open near the top of a big
 * file does not pull the rest of the file into memory.
 */
export async function* readCsvBatches(
  src: Readable,
  file: string,
  fileIndex: number,
  opts: CsvReadOptions = {},
  onHeader?: (columns: string[]) => void,
): AsyncGenerator<SourceRecord[]> {
  let header: string[] = [];
  const chunks = readCsvChunks(src, file, fileIndex, opts, (cols) => {
    header = cols;
    onHeader?.(cols);
  });
  for await (const chunk of chunks) yield materialize(chunk, header, file, fileIndex);
}

/**
 * A stretch of records: as record objects, or (`compact`) in a form that crosses threads cheaply:
 * per column, the cells of the readable records joined by NUL (which no readable cell holds), a
 * start line per record, and the records that became row errors, kept whole. One string per
 * column, not one for the stretch: a column of ASCII ids stays a one-byte string (and so do the
 * cells split from it) when a name column holds CJK, which makes V8 store its string in two bytes
 * a character, and every later use of a key (hashing, the report) slower.
 */
export type CsvChunk =
  | { rows: SourceRecord[] }
  | {
      rows?: undefined;
      /** Per header column, that column's cells of the readable records, joined by NUL: text, or its UTF-8 bytes. */
      columns: (string | Uint8Array)[];
      /** Start line of every record, readable or not, in input order. */
      lines: ArrayLike<number>;
      /** Records that are row errors, with their position in `lines` (ascending). */
      errors: { at: number; record: SourceRecord }[];
    };

type RowBuilder = (cells: string[][], i: number) => Record<string, unknown>;

/** `data[name] = value`, except that a `__proto__` column becomes a key too (as JSON.parse makes it). */
export function setCell(data: Record<string, unknown>, name: string, value: unknown): void {
  if (name === "__proto__") Object.defineProperty(data, name, { value, enumerable: true, writable: true, configurable: true });
  else data[name] = value;
}
let builtFor: string[] | undefined;
let builder: RowBuilder | undefined;

/**
 * `(columns, i) => ({ [header[0]]: columns[0][i], … })` as one object literal, compiled once per header:
 * one allocation and one shape per row instead of a keyed store per cell. In a literal a
 * `__proto__` key would set the prototype, so that header keeps one store per cell.
 */
function rowBuilder(header: string[]): RowBuilder {
  if (builtFor === header) return builder!;
  const width = header.length;
  const keyed: RowBuilder = (columns, i) => {
    const data: Record<string, unknown> = {};
    for (let j = 0; j < width; j++) setCell(data, header[j]!, columns[j]![i]);
    return data;
  };
  builder = keyed;
  if (!header.includes("__proto__")) {
    try {
      builder = new Function("c", "i", `return {${header.map((h, j) => `${JSON.stringify(h)}: c[${j}][i]`).join(", ")}};`) as RowBuilder;
    } catch {
      // node --disallow-code-generation-from-strings: the keyed stores, slower but the same rows.
    }
  }
  builtFor = header;
  return builder;
}

/** Records of a chunk as objects keyed by the header. */
export function materialize(chunk: CsvChunk, header: string[], file: string, fileIndex: number): SourceRecord[] {
  if (chunk.rows) return chunk.rows;
  const out: SourceRecord[] = new Array(chunk.lines.length);
  const width = header.length;
  const good = chunk.lines.length - chunk.errors.length;
  const text = (c: string | Uint8Array) => (typeof c === "string" ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString("utf8"));
  const columns = good ? chunk.columns.map((c) => text(c).split("\0")) : [];
  if (good && (columns.length !== width || columns.some((c) => c.length !== good)))
    throw new Error(`Reader: columns of ${columns.map((c) => c.length).join("/")} cells for ${good} records of ${width} columns (${file})`);
  const build = rowBuilder(header);
  let k = 0;
  let e = 0;
  for (let i = 0; i < out.length; i++) {
    const err = chunk.errors[e];
    if (err?.at === i) {
      out[i] = err.record;
      e++;
      continue;
    }
    out[i] = { file, fileIndex, line: chunk.lines[i]!, data: build(columns, k++) };
  }
  return out;
}

/** Streams the records as chunks (see CsvChunk); `readCsvBatches` gives them as objects. */
export async function* readCsvChunks(
  src: Readable,
  file: string,
  fileIndex: number,
  opts: ChunkOptions = {},
  onHeader?: (columns: string[]) => void,
): AsyncGenerator<CsvChunk> {
  const maxCell = opts.maxCellLength ?? 65536;
  const compact = opts.compact === true;
  const maxCellBytes = 4 * maxCell;
  const broken: Broken[] = [];
  // The record being parsed: its first problem, and what was cut from its cells.
  let problem: Problem | undefined;
  let cutBreaks = 0;
  let cutBytes = 0;
  /** Index of the cell being cut, and line breaks cut from it (counted in `cutBreaks` too). */
  let cutCell = -1;
  let cutCellBreaks = 0;

  const parser = parse({
    bom: true,
    delimiter: opts.delimiter ?? ",",
    // Lines are counted here, from the cells, not by csv-parse's per-record `info` objects (a fifth
    // of its time, and they count a CRLF inside quotes twice); blank lines therefore come through as
    // one empty cell and are dropped below.
    relax_column_count: true,
    skip_records_with_error: true,
    on_skip: (err: CsvError | undefined) => {
      if (!err) return;
      onProblem(err);
      // csv-parse stays inside the quote after a bad closing quote, so one `"x"y` would swallow
      // every line up to the next quote in the file. The record is dropped anyway: end the quote
      // there, and the record ends with its line.
      if (err.code === "CSV_INVALID_CLOSING_QUOTE") st.quoting = false;
    },
  });
  const api = parserApi(parser);
  const st = api.state;
  // csv-parse ends records only at the first kind of line end it meets, and files mix them (a
  // header from one tool, rows appended by another; an old Mac export). Whatever the first line
  // ends in, CRLF and LF both end a record later, and so does a CR alone if the first line ended
  // so: else a CRLF-first file was one record from its first LF-only line on, a CR-first one left
  // each CRLF's LF at the start of the next key ("\nr2"), and an LF-first one kept each CRLF's CR
  // in the last cell (or refused `"x"` before it as a bad closing quote).
  const discover = api.__autoDiscoverRecordDelimiter;
  api.__autoDiscoverRecordDelimiter = function (this: ParserApi, buf: Buffer, pos: number) {
    const n = discover.call(this, buf, pos);
    const found = this.options.record_delimiter;
    if (n === 0 || found.length !== 1) return n;
    const enc = this.options.encoding ?? "utf8";
    const [crlf, cr, lf] = ["\r\n", "\r", "\n"].map((t) => Buffer.from(t, enc));
    // The first kind found stays first, so the common case costs one comparison per byte.
    const kinds = found[0]!.equals(lf!) ? [lf!, crlf!] : found[0]!.equals(cr!) ? [crlf!, cr!, lf!] : [crlf!, lf!];
    found.splice(0, 1, ...kinds);
    this.state.recordDelimiterMaxLength = crlf!.length;
    return n;
  };
  const encoding = (): BufferEncoding => api.options.encoding ?? "utf8";

  // Compact chunks skip csv-parse's decoding of every cell: past the header, a cell of a column
  // the header has goes into that column's byte buffer, NUL-ended, and the record holds the
  // absolute offset where it ends there (a number where a cell string would be). A record of the
  // header's width (`byteWidth`; -1 while no columns are in bytes), all in bytes, stays so; any
  // other (wrong width, dropped, or begun before a NUL byte turned this off) gets its cells
  // decoded back into strings and leaves the buffers.
  // The worker then sends a plain stretch as the bytes themselves and the reading side decodes
  // each column once; anything else is decoded cell by cell, as csv-parse would have.
  let byteWidth = -1;
  const cols: Buffer[] = [];
  /** Absolute offset of each column buffer's first byte; bytes used; where the current record's cell starts. */
  const colBase: number[] = [];
  const colLen: number[] = [];
  const recStart: number[] = [];
  /** Per column, the absolute offset up to which its bytes have been read into records. */
  const colRead: number[] = [];
  /** A cell of the current record was taken as a string although its column is in bytes. */
  let mixed = false;
  const inBytes = (j: number) => j < byteWidth && recStart[j]! < colLen[j]!;
  /** Cell j of the record being parsed, from its column's bytes. */
  const byteCell = (j: number) => cols[j]!.toString("utf8", recStart[j]!, colLen[j]! - 1);
  /** The record being parsed, as strings. */
  const currentCells = (): string[] => (byteWidth < 0 ? st.record : st.record.map((c, j) => (inBytes(j) ? byteCell(j) : c)));
  const dropCurrent = () => {
    for (let j = 0; j < byteWidth; j++) colLen[j] = recStart[j]!;
  };
  if (compact) {
    const onField = api.__onField;
    api.__onField = function (this: ParserApi) {
      const j = st.record.length;
      if (j >= byteWidth || nulSeen || encoding() !== "utf8") {
        if (j < byteWidth) mixed = true;
        return onField.call(this);
      }
      const f = st.field;
      let c = cols[j]!;
      const end = colLen[j]! + f.length + 1;
      if (end > c.length) {
        const grown = Buffer.allocUnsafe(Math.max(end, c.length * 2));
        c.copy(grown, 0, 0, colLen[j]);
        cols[j] = c = grown;
      }
      // Cells are short: a loop costs less than Buffer#copy's call.
      const n = f.length;
      const src = f.buf;
      const o = colLen[j]!;
      if (n > 64) src.copy(c, o, 0, n);
      else for (let i = 0; i < n; i++) c[o + i] = src[i]!;
      c[end - 1] = 0;
      colLen[j] = end;
      (st.record as unknown[]).push(colBase[j]! + end);
      this.__resetField();
    };
  }
  /** At a record's end: keep it in bytes, or turn it back into strings (csv-parse then drops or pushes it). */
  let headerEnded = false;
  const settleRecord = () => {
    const rec = st.record;
    if (byteWidth < 0) {
      // The header: the first record kept that is not a blank line (as the reading side decides).
      if (headerEnded || st.recordHasError || (rec.length === 1 && rec[0]!.trim() === "")) return;
      headerEnded = true;
      if (compact && rec.length > 1) {
        byteWidth = rec.length;
        for (let j = 0; j < byteWidth; j++) {
          cols.push(Buffer.allocUnsafe(1 << 16));
          colBase.push(0);
          colLen.push(0);
          recStart.push(0);
          colRead.push(0);
        }
      }
      return;
    }
    if (rec.length !== byteWidth || mixed || st.recordHasError) {
      for (let j = 0; j < Math.min(rec.length, byteWidth); j++) if (inBytes(j)) rec[j] = byteCell(j);
      dropCurrent();
    } else for (let j = 0; j < byteWidth; j++) recStart[j] = colLen[j]!;
    mixed = false;
  };
  /** Drops the bytes before each column's absolute offset `upTo[j]` (all read). */
  const releaseBytes = (upTo: number[]) => {
    for (let j = 0; j < byteWidth; j++) {
      const cut = upTo[j]! - colBase[j]!;
      if (cut < 1 << 16) continue;
      cols[j]!.copy(cols[j]!, 0, cut, colLen[j]);
      colBase[j]! += cut;
      colLen[j]! -= cut;
      recStart[j]! -= cut;
    }
  };
  /** Line breaks before the cell being parsed: in the finished cells, and cut from them. */
  const breaksBeforeCell = () => breaksIn(currentCells()) + cutBreaks - (cutCell === st.record.length ? cutCellBreaks : 0);

  function onProblem(err: CsvError): void {
    const code = QUOTE_CODES[err.code] ?? err.code;
    if (problem && problem.code !== "CELL_TOO_LARGE") {
      if (code === "CSV_QUOTE_NOT_CLOSED") return endBroken(true);
      problem.more++;
      return;
    }
    // The record's first problem, or a quote problem behind an oversized cell (it explains more).
    const cellAt = breaksBeforeCell();
    const at = code === "CSV_QUOTE_NOT_CLOSED" ? cellAt : cellAt + breaksIn([st.field.toString(encoding())]) + (cutCell === st.record.length ? cutCellBreaks : 0);
    const detail = code === "CSV_INVALID_CLOSING_QUOTE" ? /got "(.*?)" at line/s.exec(err.message)?.[1] : QUOTE_CODES[err.code] ? undefined : err.message;
    problem = { code, column: st.record.length, cellAt, at, detail, more: 0 };
    if (code === "CSV_QUOTE_NOT_CLOSED") endBroken(true);
  }

  /** The record with a problem ended (at a line end, or, inside a quote, at the end of the input). */
  function endBroken(openToEnd: boolean): void {
    const cells = openToEnd ? [...currentCells(), st.field.toString(encoding())] : currentCells();
    let span = 1 + breaksIn(cells) + cutBreaks;
    // The input's last line break ends the last line; it does not start another.
    const last = cells[cells.length - 1];
    if (openToEnd && last && (last.endsWith("\n") || last.endsWith("\r"))) span--;
    broken.push({ after: api.info.records, span, problem: problem!, openToEnd, bytes: cutBytes });
    problem = undefined;
    cutBreaks = cutBytes = cutCellBreaks = 0;
    cutCell = -1;
  }

  // Find where a dropped record ends; cut an oversized cell after each chunk.
  const onRecord = api.__onRecord;
  api.__onRecord = function (this: ParserApi, push: unknown) {
    if (this.state.recordHasError && problem) endBroken(false);
    settleRecord();
    return onRecord.call(this, push);
  };
  const parseChunk = api.parse;
  api.parse = function (this: ParserApi, buf: Buffer | undefined, end: boolean, push: unknown, close: unknown) {
    const r = parseChunk.call(this, buf, end, push, close);
    const f = st.field;
    if (!end && f.length > maxCellBytes) {
      if (!problem) {
        const cellAt = breaksBeforeCell();
        problem = { code: "CELL_TOO_LARGE", column: st.record.length, cellAt, at: cellAt, more: 0 };
      }
      // Keep the last byte (two for a CRLF), so a break split from its CR or a final break still shows.
      let keep = f.length - 1;
      if (f.buf[keep - 1] === 13 && f.buf[keep] === 10) keep--;
      const tail = Buffer.from(f.buf.subarray(keep, f.length));
      const n = breaksInBytes(f.buf, keep);
      if (cutCell !== st.record.length) cutCellBreaks = 0;
      cutCell = st.record.length;
      cutCellBreaks += n;
      cutBreaks += n;
      cutBytes += keep;
      f.reset();
      for (const b of tail) f.append(b);
      st.recordHasError = true;
    }
    return r;
  };

  // A NUL byte anywhere in the input turns on the per-cell NUL check (the chunk text uses NUL as
  // its separator, so it cannot show one, and the fast path below looks for none); in UTF-8 a NUL
  // character is always a 0x00 byte. Seen before the parser gets the bytes, so before any record
  // made of them.
  let nulSeen = false;
  const onBytes = (b: Buffer | string) => {
    if (!nulSeen && (typeof b === "string" ? b.indexOf("\0") : b.indexOf(0)) !== -1) nulSeen = true;
  };
  src.on("data", onBytes);
  src.on("error", (e) => parser.destroy(e));
  src.pipe(parser);

  let header: string[] | undefined;
  let consumed = 0;
  /** Last physical line accounted for by a record or a dropped one. */
  let lastEnd = 0;
  const cellName = (i: number) => (header?.[i] !== undefined ? `cell \`${header[i]}\`` : `column ${i + 1}`);
  /** Why a dropped record is unreadable; lines are named when it spans several. */
  const describe = (b: Broken, from: number): string => {
    const p = b.problem;
    const cell = cellName(p.column);
    const at = from + p.at;
    const opened = from + p.cellAt;
    const onLine = (n: number) => (b.span > 1 ? ` on line ${n}` : "");
    let reason: string;
    switch (p.code) {
      case "CSV_QUOTE_NOT_CLOSED":
        reason = `${cell} opens a quote${onLine(opened)} that is never closed`;
        break;
      case "CSV_INVALID_CLOSING_QUOTE": {
        const after =
          p.detail === undefined
            ? "another character"
            : p.detail === "\r"
              ? "a CR (the line ends in CRLF, the file's first line in LF)"
              : `\`${p.detail}\``;
        reason =
          opened === at
            ? `${cell}:${onLine(at)} its closing quote is followed by ${after}, not by a comma or the end of the line`
            : `${cell}: the quote opened on line ${opened} closes on line ${at} followed by ${after}, not by a comma or the end of the line`;
        break;
      }
      case "CSV_INVALID_OPENING_QUOTE":
        reason = `${cell} has a quote inside an unquoted value${onLine(at)} (quote the whole cell and double its quotes: "ab""c")`;
        break;
      case "CELL_TOO_LARGE":
        reason = `${cell}${onLine(opened)} holds more than ${maxCell} characters (${b.bytes >= 1 << 20 ? `${(b.bytes / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(b.bytes / 1024)} KB`}; limit ${maxCell})`;
        break;
      default:
        reason = p.detail ?? p.code;
    }
    if (b.openToEnd && p.code !== "CSV_QUOTE_NOT_CLOSED") reason += "; the quote then stays open to the end of the input";
    if (p.more) reason += `; and ${p.more} more quoting problem${p.more > 1 ? "s" : ""} after it`;
    return reason;
  };
  /** The chunk being built: record objects, or (compact) cells by column, lines and row errors. */
  let rows: SourceRecord[] = [];
  /** Compact: per column, its cells (or, from a plain stretch, its cells already joined). */
  let parts: string[][] = [];
  let lines: number[] = [];
  let errors: { at: number; record: SourceRecord }[] = [];
  const rowError = (record: SourceRecord) => {
    if (!compact) return void rows.push(record);
    errors.push({ at: lines.length, record });
    lines.push(record.line);
  };
  /** Compact: a readable record's cells into their columns, and its line. */
  const keep = (record: string[], line: number) => {
    record.forEach((c, j) => (parts[j] ??= []).push(c));
    lines.push(line);
  };
  const pending = () => (compact ? lines.length : rows.length) > 0;
  const take = (): CsvChunk => {
    const chunk: CsvChunk = compact ? { columns: parts.map((p) => p.join("\0")), lines, errors } : { rows };
    rows = [];
    parts = [];
    lines = [];
    errors = [];
    return chunk;
  };
  const flushBroken = (upTo: number) => {
    while (broken.length && broken[0]!.after <= upTo) {
      const b = broken.shift()!;
      const from = lastEnd + 1;
      const to = from + b.span - 1;
      lastEnd = to;
      const reason = describe(b, from);
      if (!header)
        throw new BulkUsersError(ErrorCode.INPUT_HEADER, `Invalid header: ${reason} (${file}, line ${from})`, {
          context: { file, line: from },
          hint: "Fix the quoting of the first row.",
        });
      const where = to > from ? `lines ${from}–${to} (read as one record; nothing there was imported)` : `line ${from}`;
      const message = b.problem.code === "CELL_TOO_LARGE" && to === from ? reason : `unreadable CSV on ${where}: ${reason}`;
      rowError({ file, fileIndex, line: from, data: {}, error: { code: b.problem.code, message } });
    }
  };
  /**
   * The common case, a whole stretch at once: every record complete, of the header's width, one
   * line each, no cell too large or undecodable, no dropped record among them. The cells are
   * joined once per column for the stretch, and those strings searched for line breaks and U+FFFD. False
   * (nothing changed) sends the stretch through the record-by-record path.
   */
  const plainStretch = (chunk: string[][]): boolean => {
    if (!header || nulSeen || (broken.length && broken[0]!.after < consumed + chunk.length)) return false;
    const width = header.length;
    const columns: string[][] = [];
    for (let j = 0; j < width; j++) columns.push([]);
    for (const record of chunk) {
      if (record.length !== width || (width === 1 && record[0]!.trim() === "")) return false;
      for (let j = 0; j < width; j++) {
        const c = record[j]!;
        if (c.length > maxCell) return false;
        columns[j]!.push(c);
      }
    }
    const texts = columns.map((c) => c.join("\0"));
    for (const t of texts) if (t.indexOf("\n") !== -1 || t.indexOf("\r") !== -1 || t.indexOf("\uFFFD") !== -1) return false;
    if (compact) {
      texts.forEach((t, j) => (parts[j] ??= []).push(t));
      for (let i = 0; i < chunk.length; i++) lines.push(++lastEnd);
    } else {
      const build = rowBuilder(header);
      for (let i = 0; i < chunk.length; i++) rows.push({ file, fileIndex, line: ++lastEnd, data: build(columns, i) });
    }
    consumed += chunk.length;
    return true;
  };
  const FFFD = Buffer.from("\uFFFD");
  /**
   * A stretch of records kept in bytes, when all of it is plain (as plainStretch checks, on the
   * bytes: no line break, valid UTF-8 without U+FFFD, no cell over the limit): the chunk, with each
   * column's bytes copied out. Otherwise undefined, and its byte records get their cells as strings.
   */
  const byteStretch = (chunk: (string | number)[][]): CsvChunk | undefined => {
    let plain = header !== undefined && !(broken.length && broken[0]!.after < consumed + chunk.length);
    const at = colRead.slice();
    for (const r of chunk) {
      if (typeof r[0] !== "number") {
        plain = false;
        continue;
      }
      for (let j = 0; j < byteWidth; j++) {
        const end = r[j] as number;
        if (end - at[j]! - 1 > maxCell) plain = false;
        at[j] = end;
      }
    }
    if (plain) {
      const columns: Uint8Array[] = [];
      for (let j = 0; j < byteWidth && plain; j++) {
        const b = cols[j]!.subarray(colRead[j]! - colBase[j]!, at[j]! - colBase[j]! - 1);
        if (b.indexOf(10) !== -1 || b.indexOf(13) !== -1 || b.indexOf(FFFD) !== -1 || !isUtf8(b)) plain = false;
        else columns.push(new Uint8Array(b));
      }
      if (plain) {
        const lines = new Array<number>(chunk.length);
        for (let i = 0; i < chunk.length; i++) lines[i] = ++lastEnd;
        consumed += chunk.length;
        for (let j = 0; j < byteWidth; j++) colRead[j] = at[j]!;
        releaseBytes(colRead);
        return { columns, lines, errors: [] };
      }
    }
    // Cell by cell, as csv-parse would have decoded them.
    for (const r of chunk) {
      if (typeof r[0] !== "number") continue;
      for (let j = 0; j < byteWidth; j++) {
        const end = r[j] as number;
        r[j] = cols[j]!.toString("utf8", colRead[j]! - colBase[j]!, end - colBase[j]! - 1);
        colRead[j] = end;
      }
    }
    releaseBytes(colRead);
    return undefined;
  };
  try {
  for await (const raw of drain<(string | number)[]>(parser)) {
    if (byteWidth >= 0) {
      const bytes = byteStretch(raw);
      if (bytes) {
        yield bytes;
        continue;
      }
    }
    const chunk = raw as string[][];
    if (plainStretch(chunk)) {
      yield take();
      continue;
    }
    for (const record of chunk) {
      flushBroken(consumed);
      consumed++;
      // Compact: the record joined once, then one scan each for line breaks and U+FFFD, not one per cell.
      const joined = compact ? record.join("\0") : "";
      const breaks = compact && joined.indexOf("\n") === -1 && joined.indexOf("\r") === -1 ? 0 : breaksIn(record);
      const line = lastEnd + 1;
      lastEnd = line + breaks;
      if (record.length === 1 && record[0]!.trim() === "") continue;
      if (!header) {
        header = checkHeader(file, record, line);
        onHeader?.(header);
        continue;
      }
      // A record over several lines: a quoted cell with line breaks, maybe a quote put wrong.
      const span = breaks ? ` (the record spans lines ${line}–${lastEnd}: a cell holds line breaks)` : "";
      if (record.length !== header.length) {
        // The cells by position, so rows-to-fix show what the line holds (extra cells are named in the message only).
        const data = Object.fromEntries(header.map((h, i) => [h, record[i] ?? ""]));
        rowError({ file, fileIndex, line, data, error: { code: "CSV_COLUMN_COUNT", message: `expected ${header.length} cells, got ${record.length}${span}` } });
        continue;
      }
      if (compact && joined.length <= maxCell && !nulSeen && joined.indexOf("\uFFFD") === -1) {
        keep(record, line);
        continue;
      }
      const data: Record<string, unknown> = {};
      let error: SourceRecord["error"];
      for (let i = 0; i < header.length; i++) {
        const v = record[i]!;
        if (v.length > maxCell) error = { code: "CELL_TOO_LARGE", message: `cell \`${header[i]}\` is ${v.length} characters (limit ${maxCell})${span}` };
        else if (v.indexOf("\uFFFD") !== -1)
          error ??= { code: "INVALID_UTF8", message: `cell \`${header[i]}\` is not valid UTF-8 (or holds U+FFFD, the mark of an earlier bad conversion)${span}` };
        else if (v.indexOf("\0") !== -1) error ??= { code: "NUL_CHARACTER", message: `cell \`${header[i]}\` holds a NUL character (a binary or UTF-16 file?)${span}` };
        setCell(data, header[i]!, v.length > maxCell ? "" : v);
      }
      if (error) rowError({ file, fileIndex, line, data, error });
      else if (!compact) rows.push({ file, fileIndex, line, data });
      else keep(record, line);
    }
    if (pending()) yield take();
  }
  } finally {
    // Stopped early (Ctrl-C, --max-errors, a run-level error): let go of the file.
    src.off("data", onBytes);
    src.unpipe(parser);
    src.destroy();
    parser.destroy();
  }
  flushBroken(Number.POSITIVE_INFINITY);
  if (pending()) yield take();
  if (!header)
    throw new BulkUsersError(ErrorCode.INPUT_FORMAT, `Input is empty: ${file} has no header row, only blank lines`, {
      context: { file, line: 1 },
      hint: "Export the users again; the first row must name the columns.",
    });
}
