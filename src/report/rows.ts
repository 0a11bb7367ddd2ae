import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { parse } from "csv-parse";
import { BulkUsersError, ErrorCode } from "../errors.js";
import { parserApi } from "../readers/csv.js";
import type { ReportRow } from "../types.js";
import { REPORT_COLUMNS, unguardCell } from "./writer.js";

/**
 * A CSV report row as the JSONL one: the writer's formula guard (a leading `'` before = + - @ tab
 * CR) undone on every cell, the file's name included; numbers and booleans typed; empty cells absent.
 */
function fromCsv(r: Record<string, string>): ReportRow {
  const cell = (k: string) => {
    const v = r[k];
    if (v === undefined || v === "") return undefined;
    return unguardCell(v);
  };
  const row = { file: cell("file") ?? "", line: Number(r.line), key: cell("key") ?? "", status: cell("status") } as ReportRow;
  for (const k of ["code", "message", "field", "id"] as const) {
    const v = cell(k);
    if (v !== undefined) row[k] = v;
  }
  for (const k of ["attempts", "t"] as const) {
    const v = cell(k);
    if (v !== undefined) row[k] = Number(v);
  }
  const retryable = cell("retryable");
  if (retryable !== undefined) row.retryable = retryable === "true";
  return row;
}

/** The optional text fields of a report row (file and key are text and always there). */
export const TEXT_FIELDS = ["code", "message", "field", "id"] as const;

/**
 * Whether a row's fields have the types the writer gives them, so that it can be carried into
 * another report (`--resume`). A hand-edited line with a number for a key crashed the redactor,
 * and a carried `"attempts":"x y"` (or a CSV line `x`, read as NaN) was written into the new
 * report as broken JSON.
 */
export function wellTyped(r: ReportRow): boolean {
  const x = r as unknown as Record<string, unknown>;
  if (typeof x.file !== "string" || typeof x.key !== "string" || typeof x.status !== "string") return false;
  if (typeof x.line !== "number" || !Number.isInteger(x.line)) return false;
  for (const k of TEXT_FIELDS) if (x[k] !== undefined && typeof x[k] !== "string") return false;
  for (const k of ["attempts", "t"]) if (x[k] !== undefined && (typeof x[k] !== "number" || !Number.isFinite(x[k]))) return false;
  return x.retryable === undefined || typeof x.retryable === "boolean";
}

/**
 * Whether a report is CSV, by what it holds: a JSON object on its first line is JSONL, the CSV
 * header the writer puts first is CSV, whatever the name (a renamed report counted every line as
 * unreadable). Otherwise (empty, or a torn start) the extension decides, as it did for the writer.
 */
export function reportIsCsv(file: string): boolean {
  const head = Buffer.alloc(256);
  let n = 0;
  const fd = openSync(file, "r");
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const text = head.toString("utf8", 0, n).replace(/^\uFEFF/, "").trimStart();
  if (text.startsWith("{")) return false;
  if (text.startsWith(`${REPORT_COLUMNS.slice(0, 4).join(",")},`)) return true;
  return extname(file).toLowerCase() === ".csv";
}

/**
 * A report's rows (JSONL, or CSV with its header), one a line; `undefined` for a line that is not
 * one (a torn last line of a killed run, a CSV record with a stray quote): its reader counts it.
 * Whether a row's fields make sense is the reader's to check (see wellTyped).
 */
export async function* reportRows(file: string): AsyncGenerator<ReportRow | undefined> {
  try {
    yield* rowsOf(file);
  } catch (e) {
    // A line longer than a string can be (hundreds of MB): not a report, for `report` and `--resume` alike.
    if (e instanceof RangeError) throw new BulkUsersError(ErrorCode.INPUT_FORMAT, `Not a report: ${file} holds a line too long to read (${e.message})`, { context: { file } });
    throw e;
  }
}

async function* rowsOf(file: string): AsyncGenerator<ReportRow | undefined> {
  if (reportIsCsv(file)) {
    let skipped = 0;
    const parser = createReadStream(file).pipe(
      parse({
        columns: true,
        relax_column_count: true,
        skip_records_with_error: true,
        bom: true,
        on_skip: (err) => {
          skipped++;
          // As the input reader does: a bad closing quote ends its record's quote, so the record alone is lost.
          if (err?.code === "CSV_INVALID_CLOSING_QUOTE") parserApi(parser).state.quoting = false;
        },
      }),
    );
    for await (const r of parser as AsyncIterable<Record<string, string>>) {
      for (; skipped > 0; skipped--) yield undefined;
      yield fromCsv(r);
    }
    for (; skipped > 0; skipped--) yield undefined;
    return;
  }
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (!text.trim()) continue;
    try {
      const r = JSON.parse(text) as unknown;
      yield r && typeof r === "object" && !Array.isArray(r) ? (r as ReportRow) : undefined;
    } catch {
      yield undefined;
    }
  }
}
