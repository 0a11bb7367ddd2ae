import { closeSync, fchmodSync, openSync, writeSync } from "node:fs";
import { extname } from "node:path";
import { csvDelimiter } from "../readers/index.js";
import type { SourceRecord } from "../types.js";
import type { Redactor } from "./redact.js";

/** Writes rows to fix in the input's own format: original cells plus `_error`. */
export interface FailedOutWriter {
  write(rec: SourceRecord, error: string): void;
  /** An input's columns (CSV header), so rows unreadable as records still line up; every input's are in the header. */
  setColumns(fileIndex: number, columns: string[]): void;
  close(): void;
}

/** Rows held, at most, while no row with cells has fixed a JSONL-only file's header. */
const HELD_MAX = 10_000;

/** Cell writers for a delimiter: `plain` as the value was, `guarded` with the report's formula guard. */
function cells(delimiter: string) {
  const quote = (s: string) => (s.includes(delimiter) || /["\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return {
    plain: (v: unknown) => quote(v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v)),
    guarded: (s: string) => quote(/^[=+\-@\t\r']/.test(s) ? `'${s}` : s),
  };
}

/**
 * The file is a copy of the user's own input rows (passwords included, so a fixed row re-imports
 * whole), so it is created readable by the owner only. Cells are written as they were, without the
 * report's formula guard, because the file is meant to be imported again; `_error` is guarded.
 * A path ending in .csv, .tsv or .txt is written as CSV with the delimiter the same command line
 * reads it with (`--delimiter`, else a tab for .tsv, else a comma), so the fixed file goes back in
 * as it came out. A CSV file's header is fixed by its first row with cells: it holds every CSV
 * input's columns (all headers are read before any row) and the first JSONL record's keys (rows
 * unreadable as records, met before it, wait for it); with JSONL inputs, whose records may hold
 * other keys, those go to a last `_extra` column as JSON, so no cell is dropped.
 */
export function createFailedOut(path: string, redactor: Redactor, opts: { jsonlInputs?: boolean; delimiter?: string } = {}): FailedOutWriter {
  const csv = [".csv", ".tsv", ".txt"].includes(extname(path).toLowerCase());
  const delimiter = csvDelimiter(path, opts.delimiter) ?? ",";
  const { plain, guarded } = cells(delimiter);
  const fd = openSync(path, "w", 0o600);
  // The mode above applies only to a new file: an existing one is truncated with its old mode.
  try {
    fchmodSync(fd, 0o600);
  } catch {
    /* a file system without modes */
  }
  const byFile: string[][] = [];
  let header: string[] | undefined;
  let known: Set<string> | undefined;
  const extra = opts.jsonlInputs === true;
  /** Notes of the cell-less rows met before the header could be fixed. */
  let held: string[] = [];
  const line = (data: Record<string, unknown>, note: string) => {
    const out = [...header!.map((h) => plain(data[h])), guarded(note)];
    if (extra) {
      const rest = Object.keys(data).filter((k) => !known!.has(k));
      out.push(rest.length ? plain(JSON.stringify(Object.fromEntries(rest.map((k) => [k, data[k]])))) : "");
    }
    return `${out.join(delimiter)}\n`;
  };
  const fixHeader = (keys: string[]) => {
    known = new Set([...byFile.flat(), ...keys]);
    header = [...known];
    let out = `${[...header, "_error", ...(extra ? ["_extra"] : [])].map(plain).join(delimiter)}\n`;
    for (const note of held) out += line({}, note);
    held = [];
    return out;
  };
  return {
    setColumns(fileIndex, columns) {
      byFile[fileIndex] ??= columns;
    },
    write(rec, error) {
      const note = `line ${rec.line}: ${redactor.redact(error)}`;
      // A JSONL record read in the parse thread holds only the mapped columns: its line holds all.
      const data = rec.raw !== undefined ? (JSON.parse(rec.raw) as Record<string, unknown>) : rec.data;
      if (!csv) {
        writeSync(fd, `${JSON.stringify({ ...data, _error: note })}\n`);
        return;
      }
      let out = "";
      if (!header) {
        const keys = Object.keys(data);
        // A JSONL input's unreadable first lines would fix an empty header, and every later row
        // would go whole to _extra: they wait (a bounded number) for a row with keys.
        if (!keys.length && !byFile.some((c) => c?.length) && held.length < HELD_MAX) {
          held.push(note);
          return;
        }
        out = fixHeader(keys);
      }
      writeSync(fd, out + line(data, note));
    },
    close() {
      if (held.length) writeSync(fd, fixHeader([]));
      closeSync(fd);
    },
  };
}
