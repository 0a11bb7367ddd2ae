import { createReadStream } from "node:fs";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { parse } from "csv-parse";
import { BulkUsersError, ErrorCode } from "../errors.js";
import type { ReportRow } from "../types.js";

export interface ReportStats {
  rows: number;
  counts: Record<string, number>;
  errors: { code: string; count: number; examples: ReportRow[] }[];
  /** Per second of the run: users confirmed, users failed, retries (extra attempts). */
  timeline: { second: number; ok: number; failed: number; retries: number }[];
  unreadable: number;
}

const OK = new Set(["created", "updated", "upserted", "exists", "valid"]);

async function* rows(file: string): AsyncGenerator<ReportRow | undefined> {
  if (extname(file).toLowerCase() === ".csv") {
    const p = createReadStream(file).pipe(parse({ columns: true, relax_column_count: true, skip_records_with_error: true }));
    for await (const r of p as AsyncIterable<Record<string, string>>)
      yield { ...(r as unknown as ReportRow), line: Number(r.line), attempts: r.attempts ? Number(r.attempts) : undefined, t: r.t ? Number(r.t) : undefined };
    return;
  }
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (!text.trim()) continue;
    try {
      yield JSON.parse(text) as ReportRow;
    } catch {
      yield undefined;
    }
  }
}

/** Streams a report into totals, error groups (5 examples each) and a per-second timeline. */
export async function readReportStats(file: string): Promise<ReportStats> {
  try {
    await import("node:fs/promises").then((f) => f.access(file));
  } catch {
    throw new BulkUsersError(ErrorCode.INPUT_NOT_FOUND, `Report not found: ${file}`, { context: { file } });
  }
  const counts: Record<string, number> = {};
  const errors = new Map<string, { count: number; examples: ReportRow[] }>();
  const seconds = new Map<number, { ok: number; failed: number; retries: number }>();
  let n = 0;
  let unreadable = 0;
  for await (const r of rows(file)) {
    if (!r || typeof r.status !== "string") {
      unreadable++;
      continue;
    }
    n++;
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    if (!OK.has(r.status)) {
      const code = r.code || r.status;
      const e = errors.get(code) ?? { count: 0, examples: [] };
      e.count++;
      if (e.examples.length < 5) e.examples.push(r);
      errors.set(code, e);
    }
    if (typeof r.t === "number" && Number.isFinite(r.t)) {
      const s = Math.floor(r.t / 1000);
      const b = seconds.get(s) ?? { ok: 0, failed: 0, retries: 0 };
      if (OK.has(r.status)) b.ok++;
      else b.failed++;
      b.retries += Math.max(0, (r.attempts ?? 1) - 1);
      seconds.set(s, b);
    }
  }
  const last = Math.max(-1, ...seconds.keys());
  const timeline = Array.from({ length: last + 1 }, (_, second) => ({ second, ...(seconds.get(second) ?? { ok: 0, failed: 0, retries: 0 }) }));
  return {
    rows: n,
    counts,
    errors: [...errors.entries()].map(([code, e]) => ({ code, ...e })).sort((a, b) => b.count - a.count),
    timeline,
    unreadable,
  };
}
