import { existsSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { extname } from "node:path";
import type { Readable } from "node:stream";
import { BulkUsersError, ErrorCode } from "../errors.js";
import type { SourceRecord } from "../types.js";
import { readCsvBatches } from "./csv.js";
import { readFileThreaded, useParseThread, type ParseThread } from "./parse-thread.js";
import { firstKeys, readJsonlBatches } from "./jsonl.js";
import { gzipHead, isGzip, openFile, withoutGz } from "./open.js";

export type InputFormat = "csv" | "jsonl";

export interface ReadOptions {
  /** Force the format instead of guessing from the extension. */
  format?: InputFormat;
  delimiter?: string;
  /** Standard input, for `-`. */
  stdin?: Readable;
  /** Called with each file's columns (CSV header, or keys of the first JSONL record). */
  onColumns?: (file: string, columns: string[]) => void;
  /**
   * Parse files in a worker thread: `auto` from PARSE_THREAD_MIN_BYTES up. A JSONL file is read
   * there only with `columnsFor`. @default "off"
   */
  parseThread?: ParseThread;
  /** The columns a JSONL file's records must hold (after `onColumns`): the parse thread sends only these. */
  columnsFor?: (file: string) => string[];
  /** Keep each JSONL line's text as the record's `raw` (for --failed-out; in the parse thread its data is partial). */
  keepText?: boolean;
  /** Called when a file is parsed in the worker thread. */
  onParseThread?: (file: string) => void;
}

/** Format of an input: forced, by extension, or CSV for standard input (`-`). */
export function formatOf(file: string, forced?: InputFormat): InputFormat {
  if (forced) return forced;
  if (file === "-") return "csv";
  const ext = extname(withoutGz(file)).toLowerCase();
  if (ext === ".csv" || ext === ".tsv" || ext === ".txt") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson" || ext === ".json") return "jsonl";
  throw new BulkUsersError(ErrorCode.INPUT_FORMAT, `Unknown input format: cannot tell CSV from JSONL by the name \`${file}\``, {
    context: { file },
    hint: "Pass --format csv or --format jsonl.",
  });
}

const isBlank = (b: number | undefined) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
const bomLength = (b: Buffer) => (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0);
/** UTF-16 by its byte order mark, or by a NUL in its first two of `n` bytes read. */
const looksUtf16 = (b: Buffer, n: number) => (b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff) || (n >= 2 && (b[0] === 0 || b[1] === 0));

/**
 * Run-level checks before reading: the file exists, is not UTF-16, and holds more than a byte
 * order mark and blank lines (reads up to the first other byte, so normally one block). Returns
 * about how many lines the file holds, from the line breaks in its first 64 KiB scaled to its size
 * (exact for a smaller file; 0 for standard input): a hint for sizing, never a count.
 */
export async function checkInput(file: string): Promise<number> {
  if (file === "-") return 0;
  const st = existsSync(file) ? statSync(file) : undefined;
  if (st?.isDirectory()) throw new BulkUsersError(ErrorCode.INPUT_NOT_FOUND, `Input is a directory, not a file: ${file}`, { context: { file }, hint: "Pass the CSV or JSONL files in it." });
  if (!st) throw new BulkUsersError(ErrorCode.INPUT_NOT_FOUND, `Input file not found: ${file}`, { context: { file }, hint: "Check the path." });
  // A pipe or device is read ahead (to size the run and check its encoding), which would consume it.
  if (!st.isFile())
    throw new BulkUsersError(ErrorCode.INPUT_NOT_FOUND, `Input is not a regular file (a pipe, device or socket): ${file}`, { context: { file }, hint: `Give it as standard input instead: \`- < ${file}\`.` });
  if (isGzip(file)) return checkGzipInput(file, st.size);
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(1 << 16);
    let { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead === 0)
      throw new BulkUsersError(ErrorCode.INPUT_FORMAT, `Input file is empty: ${file}`, { context: { file, line: 1 }, hint: "Export the users again." });
    if (looksUtf16(buf, bytesRead))
      throw new BulkUsersError(ErrorCode.INPUT_ENCODING, `Input file is UTF-16, not UTF-8: ${file}`, {
        context: { file, line: 1 },
        hint: "Save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`).",
      });
    let breaks = 0;
    for (let at = buf.indexOf(10); at !== -1 && at < bytesRead; at = buf.indexOf(10, at + 1)) breaks++;
    const lines = Math.ceil(((breaks + 1) * st.size) / bytesRead);
    let i = bomLength(buf);
    let pos = 0;
    while (bytesRead > 0) {
      for (; i < bytesRead; i++) if (!isBlank(buf[i])) return lines;
      pos += bytesRead;
      i = 0;
      ({ bytesRead } = await fh.read(buf, 0, buf.length, pos));
    }
    throw new BulkUsersError(ErrorCode.INPUT_FORMAT, `Input file is empty: ${file} holds only blank lines`, { context: { file, line: 1 }, hint: "Export the users again." });
  } finally {
    await fh.close();
  }
}


/** checkInput for a gzip file: the same checks on its decompressed start; its lines estimated from the first MiB. */
async function checkGzipInput(file: string, size: number): Promise<number> {
  // Reads on past blank lines to the first other byte, up to 64 MiB (then it is text enough).
  const hasText = (chunk: Buffer, first: boolean) => {
    for (let i = first ? bomLength(chunk) : 0; i < chunk.length; i++) if (!isBlank(chunk[i])) return true;
    return false;
  };
  const { head, got, fed, ended, found } = await gzipHead(file, 1 << 20, 64 << 20, hasText);
  if (head.length === 0)
    throw new BulkUsersError(ErrorCode.INPUT_FORMAT, `Input file is empty: ${file} (gzip) holds no bytes`, { context: { file, line: 1 }, hint: "Export the users again." });
  if (looksUtf16(head, head.length))
    throw new BulkUsersError(ErrorCode.INPUT_ENCODING, `Input file is UTF-16, not UTF-8: ${file} (gzip)`, { context: { file, line: 1 }, hint: "Save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`), then gzip it." });
  if (!found) {
    if (ended) throw new BulkUsersError(ErrorCode.INPUT_FORMAT, `Input file is empty: ${file} holds only blank lines`, { context: { file, line: 1 }, hint: "Export the users again." });
    return 0;
  }
  let breaks = 0;
  for (let at = head.indexOf(10); at !== -1; at = head.indexOf(10, at + 1)) breaks++;
  // Lines in the head, per decompressed byte, over what was decompressed (and, unless it ended, the rest).
  const lines = ((breaks + 1) * got) / head.length;
  return Math.ceil(ended ? lines : (lines * size) / Math.max(fed, 1));
}

/** An input as a byte stream: standard input for `-`, else the file (decompressed if gzip). */
const openInput = (file: string, opts: Pick<ReadOptions, "stdin">): Readable => (file === "-" ? (opts.stdin ?? process.stdin) : openFile(file));

/** The delimiter a CSV file is read with: the one given, a tab for .tsv (.tsv.gz), else csv-parse's comma (undefined). */
export const csvDelimiter = (file: string, delimiter: string | undefined) => delimiter ?? (extname(withoutGz(file)).toLowerCase() === ".tsv" ? "\t" : undefined);

/** A CSV file's header as the reader checks it (same errors), without reading on past it. */
export async function readCsvHeader(file: string, opts: Pick<ReadOptions, "delimiter"> = {}): Promise<string[] | undefined> {
  let header: string[] | undefined;
  const src = openInput(file, {});
  for await (const _ of readCsvBatches(src, file, 0, { delimiter: csvDelimiter(file, opts.delimiter) }, (cols) => (header = cols))) if (header) break;
  return header;
}

/** Reads every input in turn as one stream of record arrays; never holds a whole file. */
export async function* readInputBatches(files: string[], opts: ReadOptions = {}): AsyncGenerator<SourceRecord[]> {
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const format = formatOf(file, opts.format);
    if (format === "csv") {
      const delimiter = csvDelimiter(file, opts.delimiter);
      const onHeader = (cols: string[]) => opts.onColumns?.(file, cols);
      if (useParseThread(file, opts.parseThread ?? "off")) {
        opts.onParseThread?.(file);
        yield* readFileThreaded(file, i, { format: "csv", opts: { delimiter }, onHeader });
      } else yield* readCsvBatches(openInput(file, opts), file, i, { delimiter }, onHeader);
    } else if (opts.columnsFor && useParseThread(file, opts.parseThread ?? "off")) {
      opts.onParseThread?.(file);
      const columnsFor = (keys: string[]) => {
        opts.onColumns?.(file, keys);
        return opts.columnsFor!(file);
      };
      yield* readFileThreaded(file, i, { format: "jsonl", keepText: opts.keepText, columnsFor });
    } else {
      const src = openInput(file, opts);
      let first = true;
      for await (const batch of readJsonlBatches(src, file, i, { keepText: opts.keepText })) {
        if (first) {
          const keys = firstKeys(batch);
          if (keys) {
            first = false;
            opts.onColumns?.(file, keys);
          }
        }
        yield batch;
      }
    }
  }
}

/** Records one at a time. */
export async function* readInputs(files: string[], opts: ReadOptions = {}): AsyncGenerator<SourceRecord> {
  for await (const batch of readInputBatches(files, opts)) yield* batch;
}
