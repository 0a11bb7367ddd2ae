import type { Readable } from "node:stream";
import { parse, type CsvError } from "csv-parse";
import { BulkUsersError, ErrorCode } from "../errors.js";
import type { SourceRecord } from "../types.js";

export interface CsvReadOptions {
  /** Field delimiter. @default "," */
  delimiter?: string;
  /** Largest cell accepted, in characters; a larger one makes its row invalid. @default 65536 */
  maxCellLength?: number;
}

/**
 * Line breaks inside a record's cells: `real` lines it spans beyond the first, and `crlf` pairs,
 * which csv-parse's `info.lines` counts twice inside quotes.
 */
function breaksIn(cells: string[]): { real: number; crlf: number } {
  let real = 0;
  let crlf = 0;
  for (const c of cells) {
    if (c.indexOf("\n") === -1 && c.indexOf("\r") === -1) continue;
    for (let i = 0; i < c.length; i++) {
      const ch = c.charCodeAt(i);
      if (ch === 13 && c.charCodeAt(i + 1) === 10) {
        crlf++;
        real++;
        i++;
      } else if (ch === 10 || ch === 13) real++;
    }
  }
  return { real, crlf };
}

function checkHeader(file: string, header: string[]): string[] {
  const seen = new Set<string>();
  header.forEach((h, i) => {
    const name = h.trim();
    if (!name)
      throw new BulkUsersError(ErrorCode.INPUT_HEADER, `Invalid header: column ${i + 1} has no name (${file}, line 1)`, {
        context: { file, line: 1 },
        hint: "Give every column a name in the first row.",
      });
    if (seen.has(name))
      throw new BulkUsersError(ErrorCode.INPUT_HEADER, `Invalid header: column name \`${name}\` appears twice (${file}, line 1)`, {
        context: { file, line: 1 },
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

/**
 * Streams CSV records with their line numbers, in arrays. The first row is the header. Row-level
 * problems (wrong cell count, broken quoting, oversized or undecodable cells) become records with
 * `error`.
 */
export async function* readCsvBatches(
  src: Readable,
  file: string,
  fileIndex: number,
  opts: CsvReadOptions = {},
  onHeader?: (columns: string[]) => void,
): AsyncGenerator<SourceRecord[]> {
  const maxCell = opts.maxCellLength ?? 65536;
  // Broken records csv-parse skips, with how many records it had emitted before each, so they are
  // reported in order and with the whole range of lines they swallowed.
  const skipped: { after: number; lines: number; code: string; message: string }[] = [];
  const parser = parse({
    bom: true,
    delimiter: opts.delimiter ?? ",",
    // Lines are counted here, not by csv-parse's per-record `info` objects (a fifth of its time);
    // blank lines therefore come through as one empty cell and are dropped below.
    relax_column_count: true,
    skip_records_with_error: true,
    on_skip: (err: CsvError | undefined) => {
      if (!err) return;
      const lines = (err as unknown as { lines?: number }).lines ?? 0;
      skipped.push({ after: (parser.info as { records: number }).records, lines, code: err.code, message: err.message });
    },
  });
  src.on("error", (e) => parser.destroy(e));
  src.pipe(parser);

  let header: string[] | undefined;
  let crlfSeen = 0;
  let consumed = 0;
  /** Last physical line accounted for by a record or a skipped range. */
  let lastEnd = 0;
  const flushSkips = (out: SourceRecord[], upTo: number) => {
    while (skipped.length && skipped[0]!.after <= upTo) {
      const k = skipped.shift()!;
      const from = lastEnd + 1;
      const to = Math.max(from, k.lines - crlfSeen);
      lastEnd = to;
      const range = to > from ? `lines ${from}–${to}` : `line ${from}`;
      out.push({ file, fileIndex, line: from, data: {}, error: { code: k.code, message: `unreadable CSV on ${range} (nothing there was imported): ${k.message}` } });
    }
  };
  try {
  for await (const chunk of drain<string[]>(parser)) {
    const out: SourceRecord[] = [];
    for (const record of chunk) {
      flushSkips(out, consumed);
      consumed++;
      const breaks = breaksIn(record);
      crlfSeen += breaks.crlf;
      const line = lastEnd + 1;
      lastEnd = line + breaks.real;
      if (record.length === 1 && record[0]!.trim() === "") continue;
      if (!header) {
        header = checkHeader(file, record);
        onHeader?.(header);
        continue;
      }
      if (record.length !== header.length) {
        out.push({
          file,
          fileIndex,
          line,
          data: {},
          error: { code: "CSV_COLUMN_COUNT", message: `expected ${header.length} cells, got ${record.length}` },
        });
        continue;
      }
      const data: Record<string, unknown> = {};
      let error: SourceRecord["error"];
      for (let i = 0; i < header.length; i++) {
        const v = record[i]!;
        if (v.length > maxCell) error = { code: "CELL_TOO_LARGE", message: `cell \`${header[i]}\` is ${v.length} characters (limit ${maxCell})` };
        else if (v.indexOf("\uFFFD") !== -1) error ??= { code: "INVALID_UTF8", message: `cell \`${header[i]}\` is not valid UTF-8` };
        else if (v.indexOf("\0") !== -1) error ??= { code: "NUL_CHARACTER", message: `cell \`${header[i]}\` holds a NUL character (a binary or UTF-16 file?)` };
        data[header[i]!] = error?.code === "CELL_TOO_LARGE" ? "" : v;
      }
      out.push(error ? { file, fileIndex, line, data, error } : { file, fileIndex, line, data });
    }
    if (out.length) yield out;
  }
  } finally {
    // Stopped early (Ctrl-C, --max-errors, a run-level error): let go of the file.
    src.unpipe(parser);
    src.destroy();
    parser.destroy();
  }
  const rest: SourceRecord[] = [];
  flushSkips(rest, Number.POSITIVE_INFINITY);
  if (rest.length) yield rest;
  if (!header) onHeader?.([]);
}
