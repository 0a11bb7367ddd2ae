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

/**
 * Streams CSV records with their line numbers. The first row is the header. Row-level problems
 * (wrong cell count, broken quoting, oversized or undecodable cells) become records with `error`.
 */
export async function* readCsv(
  src: Readable,
  file: string,
  fileIndex: number,
  opts: CsvReadOptions = {},
  onHeader?: (columns: string[]) => void,
): AsyncGenerator<SourceRecord> {
  const maxCell = opts.maxCellLength ?? 65536;
  const skipped: SourceRecord[] = [];
  const parser = parse({
    bom: true,
    delimiter: opts.delimiter ?? ",",
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err: CsvError | undefined) => {
      if (!err) return;
      const line = (err as unknown as { lines?: number }).lines ?? 0;
      skipped.push({ file, fileIndex, line, data: {}, error: { code: err.code, message: `unreadable CSV: ${err.message}` } });
    },
  });
  src.on("error", (e) => parser.destroy(e));
  src.pipe(parser);

  let header: string[] | undefined;
  let crlfSeen = 0;
  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    while (skipped.length) yield skipped.shift()!;
    const breaks = breaksIn(record);
    crlfSeen += breaks.crlf;
    const line = info.lines - crlfSeen - breaks.real;
    if (!header) {
      header = checkHeader(file, record);
      onHeader?.(header);
      continue;
    }
    if (record.length !== header.length) {
      // A lone empty cell is a blank line with only whitespace-free delimiters removed: skip it.
      if (record.length === 1 && record[0] === "") continue;
      yield {
        file,
        fileIndex,
        line,
        data: {},
        error: { code: "CSV_COLUMN_COUNT", message: `expected ${header.length} cells, got ${record.length}` },
      };
      continue;
    }
    const data: Record<string, unknown> = {};
    let error: SourceRecord["error"];
    for (let i = 0; i < header.length; i++) {
      const v = record[i]!;
      if (v.length > maxCell) error = { code: "CELL_TOO_LARGE", message: `cell \`${header[i]}\` is ${v.length} characters (limit ${maxCell})` };
      else if (v.indexOf("\uFFFD") !== -1) error ??= { code: "INVALID_UTF8", message: `cell \`${header[i]}\` is not valid UTF-8` };
      data[header[i]!] = error?.code === "CELL_TOO_LARGE" ? "" : v;
    }
    yield error ? { file, fileIndex, line, data, error } : { file, fileIndex, line, data };
  }
  while (skipped.length) yield skipped.shift()!;
  if (!header) onHeader?.([]);
}
