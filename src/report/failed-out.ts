import { closeSync, fchmodSync, openSync, writeSync } from "node:fs";
import { extname } from "node:path";
import type { SourceRecord } from "../types.js";
import type { Redactor } from "./redact.js";
import { csvCell } from "./writer.js";

/** Writes rows to fix in the input's own format: original cells plus `_error`. */
export interface FailedOutWriter {
  write(rec: SourceRecord, error: string): void;
  /** An input's columns (CSV header), so rows unreadable as records still line up; every input's are in the header. */
  setColumns(fileIndex: number, columns: string[]): void;
  close(): void;
}

const plainCell = (v: unknown): string => {
  const s = v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * The file is a copy of the user's own input rows (passwords included, so a fixed row re-imports
 * whole), so it is created readable by the owner only. Cells are written as they were, without the
 * report's formula guard, because the file is meant to be imported again; `_error` is guarded.
 * A CSV file's header is fixed by its first row: it holds every CSV input's columns (all headers
 * are read before any row) and the first JSONL record's keys; with JSONL inputs, whose records
 * may hold other keys, those go to a last `_extra` column as JSON, so no cell is dropped.
 */
export function createFailedOut(path: string, redactor: Redactor, opts: { jsonlInputs?: boolean } = {}): FailedOutWriter {
  const csv = extname(path).toLowerCase() === ".csv";
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
        known = new Set([...byFile.flat(), ...Object.keys(data)]);
        header = [...known];
        out += `${[...header, "_error", ...(extra ? ["_extra"] : [])].map(plainCell).join(",")}\n`;
      }
      const cells = [...header.map((h) => plainCell(data[h])), csvCell(note)];
      if (extra) {
        const rest = Object.keys(data).filter((k) => !known!.has(k));
        cells.push(rest.length ? plainCell(JSON.stringify(Object.fromEntries(rest.map((k) => [k, data[k]])))) : "");
      }
      out += `${cells.join(",")}\n`;
      writeSync(fd, out);
    },
    close: () => closeSync(fd),
  };
}
