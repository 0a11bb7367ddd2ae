import { existsSync, readFileSync, statSync } from "node:fs";
import { access } from "node:fs/promises";
import type { ImportSummary } from "../core/import.js";
import { metaPath } from "../core/resume.js";
import { BulkUsersError, ErrorCode } from "../errors.js";
import { SUCCESS_STATUSES, type ReportRow } from "../types.js";
import { reportRows, TEXT_FIELDS } from "./rows.js";

/** What `<report>.meta.json` says about the run, when it is there and readable. */
export interface ReportMeta {
  provider?: string;
  /** Where the run sent (masked), or `sandbox`. */
  endpoint?: string;
  startedAt?: string;
  shard?: string;
  /** The run's final summary (absent while a run is going, or after a crash). */
  summary?: Partial<ImportSummary>;
}

export interface ReportStats {
  rows: number;
  counts: Record<string, number>;
  /** Errors by code, most frequent first, with up to 5 example rows each. */
  errors: { code: string; count: number; examples: ReportRow[] }[];
  /** Per second of the run (from the rows' `t`): users confirmed, users failed, retries (extra attempts). */
  timeline: { second: number; ok: number; failed: number; retries: number }[];
  /** Rows with a `t`. */
  timed: number;
  /** Rows per number of requests they took part in (`attempts`), for reports without `t`. */
  attempts: Record<string, number>;
  unreadable: number;
  meta?: ReportMeta;
}

export const EXAMPLES_PER_CODE = 5;
/** Times past 31 days are not a run's (a hand-edited or foreign file): they stay off the chart. */
const MAX_T = 31 * 24 * 3600 * 1000;
const OK = new Set([...SUCCESS_STATUSES, "valid"]);
const ORDER = ["created", "updated", "upserted", "exists", "valid", "invalid", "duplicate", "failed"];
const STATUSES = new Set(ORDER);
const rank = (s: string) => (ORDER.includes(s) ? ORDER.indexOf(s) : ORDER.length);

/**
 * A hand-edited row's value as text: as JSON when it is not a string (`String` of
 * `{"toString":1}` throws, and the terminal and HTML printers took a number for a string).
 */
const shown = (v: unknown): string | undefined => (typeof v === "string" || v === undefined ? v : JSON.stringify(v));

const TEXT = ["file", "key", ...TEXT_FIELDS];

/** A row as the printers read it: the text fields as text (file and key always), the line a number or text. */
function forDisplay(r: ReportRow): ReportRow {
  const x = r as unknown as Record<string, unknown>;
  const text = (k: string) => typeof x[k] === "string" || (x[k] === undefined && k !== "file" && k !== "key");
  if (TEXT.every(text) && (typeof x.line === "number" || typeof x.line === "string")) return r;
  const out: Record<string, unknown> = { ...r };
  for (const k of TEXT) if (!text(k)) out[k] = shown(x[k]) ?? "";
  if (typeof x.line !== "number") out.line = shown(x.line) ?? "";
  return out as unknown as ReportRow;
}

/** `<report>.meta.json`, if present and valid JSON; a broken one is ignored (the rows still tell). */
export function readReportMeta(file: string): ReportMeta | undefined {
  const p = metaPath(file);
  if (!existsSync(p)) return undefined;
  try {
    const m = JSON.parse(readFileSync(p, "utf8")) as Record<string, unknown>;
    if (!m || typeof m !== "object") return undefined;
    const str = (v: unknown) => (typeof v === "string" ? v : undefined);
    return {
      provider: str(m.provider),
      endpoint: str(m.endpoint),
      startedAt: str(m.startedAt),
      shard: str(m.shard),
      summary: m.summary && typeof m.summary === "object" ? (m.summary as Partial<ImportSummary>) : undefined,
    };
  } catch {
    return undefined;
  }
}

/** Streams a report into totals, error groups (5 examples each), a per-second timeline and attempts. */
export async function readReportStats(file: string): Promise<ReportStats> {
  try {
    await access(file);
  } catch {
    throw new BulkUsersError(ErrorCode.INPUT_NOT_FOUND, `Report not found: ${file}`, { context: { file }, hint: "Pass the report an import or validate run wrote (--report)." });
  }
  if (statSync(file).isDirectory()) throw new BulkUsersError(ErrorCode.INPUT_NOT_FOUND, `Report is a directory, not a file: ${file}`, { context: { file }, hint: "Pass the report file itself." });
  // Keyed by status: no prototype, so a status such as `__proto__` is counted like any other.
  const counts: Record<string, number> = Object.create(null) as Record<string, number>;
  const errors = new Map<string, { count: number; examples: ReportRow[] }>();
  const seconds = new Map<number, { ok: number; failed: number; retries: number }>();
  const attempts: Record<string, number> = {};
  let n = 0;
  let unreadable = 0;
  let timed = 0;
  let last = -1;
  for await (const r of reportRows(file)) {
    // A status the tool never writes is not a row of its report (a torn `crea`, another file).
    if (!r || typeof r.status !== "string" || !STATUSES.has(r.status)) {
      unreadable++;
      continue;
    }
    n++;
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    const ok = OK.has(r.status);
    if (!ok) {
      const code = shown(r.code) || r.status;
      const e = errors.get(code) ?? { count: 0, examples: [] };
      e.count++;
      if (e.examples.length < EXAMPLES_PER_CODE) e.examples.push(forDisplay(r));
      errors.set(code, e);
    }
    const a = r.attempts;
    if (typeof a === "number" && Number.isInteger(a) && a >= 0) attempts[a] = (attempts[a] ?? 0) + 1;
    if (typeof r.t === "number" && r.t >= 0 && r.t <= MAX_T) {
      timed++;
      const s = Math.floor(r.t / 1000);
      if (s > last) last = s;
      const b = seconds.get(s) ?? { ok: 0, failed: 0, retries: 0 };
      if (ok) b.ok++;
      else b.failed++;
      b.retries += Math.max(0, (typeof a === "number" ? a : 1) - 1);
      seconds.set(s, b);
    }
  }
  if (n === 0 && unreadable > 0)
    throw new BulkUsersError(ErrorCode.INPUT_FORMAT, `Not a bulk-users report: none of the ${unreadable} line(s) of ${file} is a report row`, {
      context: { file },
      hint: "Pass the file an import or validate run wrote with --report (.jsonl, or .csv with its header).",
    });
  const timeline = Array.from({ length: last + 1 }, (_, second) => ({ second, ...(seconds.get(second) ?? { ok: 0, failed: 0, retries: 0 }) }));
  // Statuses in the order a run's summary uses, successes first; unknown ones after.
  const ordered = Object.fromEntries(Object.entries(counts).sort(([a], [b]) => rank(a) - rank(b)));
  return {
    rows: n,
    counts: ordered,
    errors: [...errors.entries()].map(([code, e]) => ({ code, ...e })).sort((a, b) => b.count - a.count),
    timeline,
    timed,
    attempts,
    unreadable,
    meta: readReportMeta(file),
  };
}
