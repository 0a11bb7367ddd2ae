import { closeSync, fchmodSync, openSync, writeSync } from "node:fs";
import { extname } from "node:path";
import { ownValue } from "../mapping/path.js";
import { csvDelimiter, type InputFormat } from "../readers/index.js";
import type { SourceRecord } from "../types.js";
import type { Redactor } from "./redact.js";
import { guardFormula } from "./writer.js";

/** Writes rows to fix in the input's own format: original cells plus `_error`. */
export interface FailedOutWriter {
  write(rec: SourceRecord, error: string): void;
  /** An input's columns (CSV header), so rows unreadable as records still line up; every input's are in the header. */
  setColumns(fileIndex: number, columns: string[]): void;
  close(): void;
}

export interface FailedOutOptions {
  /** An input is JSONL, or its columns are not known before the header is written (a later `-`): the `_extra` column. */
  extra?: boolean;
  /** `--format`: the file is written in it, whatever its name, as the same flags read it back. */
  format?: InputFormat;
  /** `--delimiter`. */
  delimiter?: string;
  /** Inputs of the run: from more than one, `_error` names the row's file, not only its line. */
  inputs?: number;
}

/** Rows held, at most, while no row with cells has fixed the header (see createFailedOut). */
const HELD_MAX = 10_000;

/**
 * Cell writers for a delimiter: `plain` as the value was, `guarded` with the report's formula
 * guard. A cell holding any of the delimiter's characters is quoted: an unquoted `a|` before a
 * `||` delimiter would read back as `a` and a cell starting `|`.
 */
function cells(delimiter: string) {
  const special = new RegExp(`["\\r\\n${[...new Set(delimiter)].map((c) => `\\u{${c.codePointAt(0)!.toString(16)}}`).join("")}]`, "u");
  const quote = (s: string) => (special.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return {
    plain: (v: unknown) => quote(v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v)),
    guarded: (s: string) => quote(guardFormula(s)),
  };
}

/**
 * Where each top-level value of a JSON object's text starts and ends, by key (the last of a
 * repeated key, as JSON.parse keeps), and where its closing brace is. The text is known to parse.
 * Lets a value be written as it was written: JSON.parse rounds integers past 2^53, and a
 * re-serialised one would come back with other digits.
 */
export function topLevelSpans(text: string): { spans: Map<string, [number, number]>; close: number } {
  const spans = new Map<string, [number, number]>();
  let i = text.indexOf("{") + 1;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = () => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return text.slice(start, i);
  };
  ws();
  while (text[i] === '"') {
    const key = JSON.parse(str()) as string;
    ws();
    i++; // the colon
    ws();
    const start = i;
    let depth = 0;
    for (;;) {
      const c = text[i]!;
      if (c === '"') {
        str();
        if (depth === 0) break;
        continue;
      }
      if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        if (depth === 0) break;
        if (--depth === 0) {
          i++;
          break;
        }
      } else if (depth === 0 && (c === "," || /\s/.test(c))) break;
      i++;
    }
    spans.set(key, [start, i]);
    ws();
    if (text[i] === ",") i++;
    ws();
  }
  return { spans, close: i };
}

/**
 * The file is a copy of the user's own input rows (passwords included, so a fixed row re-imports
 * whole), so it is created readable by the owner only. Cells are written as they were, without the
 * report's formula guard, because the file is meant to be imported again; `_error` is guarded.
 * It is written so that the same flags read it back: in `--format` when given, else as CSV for
 * a path ending in .csv, .tsv or .txt and as JSONL otherwise, and as CSV with the delimiter
 * those flags read (`--delimiter`, else a tab for .tsv, else a comma). A JSONL line keeps its
 * text, `_error` added. A CSV file's header is fixed by its first row with cells: every CSV
 * input's columns (all headers are read before any row) and that row's keys (with `extra`, rows
 * unreadable as records, met before it, wait for it); the other keys of later rows go to a last
 * `_extra` column as JSON (an input's own `_extra` among them), so no cell is dropped. An input's
 * own `_error` column is replaced.
 */
/** Whether the file at `path` is written as CSV (see createFailedOut). */
export const failedOutIsCsv = (path: string, format?: InputFormat) => (format ? format === "csv" : [".csv", ".tsv", ".txt"].includes(extname(path).toLowerCase()));

export function createFailedOut(path: string, redactor: Redactor, opts: FailedOutOptions = {}): FailedOutWriter {
  const csv = failedOutIsCsv(path, opts.format);
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
  const extra = opts.extra === true;
  /** Notes of the cell-less rows met before the header could be fixed. */
  let held: string[] = [];
  /** A JSONL record's values as its line wrote them (non-strings: numbers keep their digits). */
  const source = (rec: SourceRecord) => {
    if (rec.raw === undefined) return undefined;
    const { spans } = topLevelSpans(rec.raw);
    return (k: string) => {
      const s = spans.get(k);
      return s && rec.raw!.slice(s[0], s[1]);
    };
  };
  const line = (data: Record<string, unknown>, note: string, src?: (k: string) => string | undefined) => {
    // A header column another input has (`constructor`) is read as this row's own key only.
    const value = (k: string) => {
      const v = ownValue(data, k);
      return typeof v === "string" || v === undefined || v === null ? v : (src?.(k) ?? v);
    };
    const out = [...header!.map((h) => plain(value(h))), guarded(note)];
    if (extra) {
      // An input's own `_extra` goes inside it too: the column is the writer's (it was dropped).
      const rest = Object.keys(data).filter((k) => !known!.has(k) && k !== "_error");
      out.push(rest.length ? plain(`{${rest.map((k) => `${JSON.stringify(k)}:${src?.(k) ?? JSON.stringify(data[k])}`).join(",")}}`) : "");
    }
    return `${out.join(delimiter)}\n`;
  };
  const fixHeader = (keys: string[]) => {
    known = new Set([...byFile.flat(), ...keys].filter((k) => k !== "_error" && !(extra && k === "_extra")));
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
      const note = `${(opts.inputs ?? 1) > 1 ? `${rec.file} ` : ""}line ${rec.line}: ${redactor.redact(error)}`;
      if (!csv) {
        if (rec.raw === undefined) {
          writeSync(fd, `${JSON.stringify({ ...rec.data, _error: note })}\n`);
          return;
        }
        const { spans, close } = topLevelSpans(rec.raw);
        const err = spans.get("_error");
        const text = err
          ? rec.raw.slice(0, err[0]) + JSON.stringify(note) + rec.raw.slice(err[1])
          : `${rec.raw.slice(0, close)}${spans.size ? "," : ""}"_error":${JSON.stringify(note)}${rec.raw.slice(close)}`;
        writeSync(fd, `${text}\n`);
        return;
      }
      // A JSONL record read in the parse thread holds only the mapped columns: its line holds all.
      const data = rec.raw !== undefined ? (JSON.parse(rec.raw) as Record<string, unknown>) : rec.data;
      let out = "";
      if (!header) {
        const keys = Object.keys(data);
        // A JSONL input's unreadable first lines would fix a header without its keys, and every
        // later row would go whole to _extra: they wait (a bounded number) for a row with keys.
        if (!keys.length && extra && held.length < HELD_MAX) {
          held.push(note);
          return;
        }
        out = fixHeader(keys);
      }
      writeSync(fd, out + line(data, note, source(rec)));
    },
    close() {
      if (held.length) writeSync(fd, fixHeader([]));
      closeSync(fd);
    },
  };
}
