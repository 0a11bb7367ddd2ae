import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { extname } from "node:path";
import type { ReportRow } from "../types.js";
import type { Redactor } from "./redact.js";

export const REPORT_COLUMNS = ["file", "line", "key", "status", "code", "message", "field", "id", "attempts", "retryable", "t"] as const;

/**
 * Cells a spreadsheet would run as a formula get a leading apostrophe (OWASP CSV injection), and
 * so does a cell that starts with one, so that reading a report back (unguardCell) undoes exactly
 * what was added: `'=1` and `=1` stay two values.
 */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return "";
  const s = guardFormula(String(v));
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The formula guard of csvCell alone, before any quoting. */
export const guardFormula = (s: string): string => (/^[=+\-@\t\r']/.test(s) ? `'${s}` : s);

/** A CSV report's cell as it was before csvCell guarded it. */
export const unguardCell = (s: string): string => (/^'[=+\-@\t\r']/.test(s) ? s.slice(1) : s);

let lastFile = "";
let lastFileJson = '""';

/** JSON of a report row, fields in a fixed order (what JSON.stringify gives, without its generic walk). */
function jsonLine(r: ReportRow): string {
  if (r.file !== lastFile) {
    lastFile = r.file;
    lastFileJson = JSON.stringify(r.file);
  }
  let s = `{"file":${lastFileJson},"line":${r.line},"key":${JSON.stringify(r.key)},"status":"${r.status}"`;
  if (r.code !== undefined) s += `,"code":${JSON.stringify(r.code)}`;
  if (r.message !== undefined) s += `,"message":${JSON.stringify(r.message)}`;
  if (r.field !== undefined) s += `,"field":${JSON.stringify(r.field)}`;
  if (r.id !== undefined) s += `,"id":${JSON.stringify(r.id)}`;
  if (r.attempts !== undefined) s += `,"attempts":${r.attempts}`;
  if (r.retryable !== undefined) s += `,"retryable":${r.retryable}`;
  if (r.t !== undefined) s += `,"t":${r.t}`;
  return `${s}}\n`;
}

export interface ReportWriter {
  readonly path: string;
  write(row: ReportRow): void;
  /** Writes buffered rows to the file (outcomes of sent requests are flushed at once). */
  flush(): void;
  close(): void;
}

/**
 * Appends one line per outcome, JSONL or CSV by extension. Writes are synchronous so a crash or
 * kill loses nothing that was flushed; local outcomes (invalid, duplicate) are buffered up to 64 KiB.
 */
export function createReportWriter(path: string, redactor: Redactor, opts: { append?: boolean } = {}): ReportWriter {
  const csv = extname(path).toLowerCase() === ".csv";
  const fd = openSync(path, opts.append ? "a" : "w");
  let buf = "";
  if (csv && !opts.append) buf = `${REPORT_COLUMNS.join(",")}\n`;
  const flush = () => {
    if (!buf) return;
    writeSync(fd, buf);
    buf = "";
  };
  return {
    path,
    write(row) {
      let r = row;
      if (redactor.active) {
        // Whatever a vendor answered may echo a secret: its code and id as much as its message.
        r = { ...row, key: redactor.redact(row.key, false) };
        if (row.message) r.message = redactor.redact(row.message);
        if (row.code) r.code = redactor.redact(row.code);
        if (row.id) r.id = redactor.redact(row.id, false);
      }
      if (csv) buf += `${REPORT_COLUMNS.map((c) => csvCell(r[c])).join(",")}\n`;
      else buf += jsonLine(r);
      if (buf.length > 65536) flush();
    },
    flush,
    close() {
      flush();
      try {
        fsyncSync(fd);
      } catch {
        /* not every file system syncs */
      }
      closeSync(fd);
    },
  };
}

export function defaultReportPath(now = new Date()): string {
  return `bulk-users-report-${now.toISOString().replace(/[:.]/g, "-").replace(/Z$/, "")}.jsonl`;
}
