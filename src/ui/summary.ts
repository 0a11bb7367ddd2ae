import type { ChalkInstance } from "chalk";
import type { ImportSummary } from "../core/import.js";
import { oneLine } from "./logger.js";

/** The human summary printed at the end of a run. */
export function formatSummary(s: ImportSummary, c: ChalkInstance): string {
  const lines: string[] = [];
  const n = s.counts;
  const head = s.dryRun ? "Dry run" : "Import";
  lines.push(c.bold(`${head} into ${s.provider}: ${s.rows} row(s) in ${(s.durationMs / 1000).toFixed(1)} s`));
  const parts: [string, number, (t: string) => string][] = [
    ["valid", n.valid, c.green],
    ["created", n.created, c.green],
    ["updated", n.updated, c.green],
    ["upserted", n.upserted, c.green],
    ["exists", n.exists, c.cyan],
    ["invalid", n.invalid, c.red],
    ["duplicate", n.duplicate, c.yellow],
    ["failed", n.failed, c.red],
  ];
  lines.push(`  ${parts.filter(([, v]) => v > 0).map(([k, v, f]) => f(`${k} ${v}`)).join(", ") || "no rows"}`);
  if (s.resumed) lines.push(`  carried over from the resumed report: ${s.resumed}`);
  if (s.otherShards) lines.push(`  rows of other shards skipped: ${s.otherShards}`);
  if (s.notSent) lines.push(c.yellow(`  read but not sent before the run stopped: ${s.notSent} (--resume sends them)`));
  if (!s.dryRun) lines.push(`  ${s.requests} request(s), ${s.retries} retr${s.retries === 1 ? "y" : "ies"}, ${s.throttled} throttled, ${s.usersPerSecond} users/s`);
  // Codes, keys and messages come from the input and the vendor: one line each, nothing a terminal runs.
  for (const e of s.topErrors.slice(0, 5))
    lines.push(c.dim(`  ${oneLine(e.code)} ×${e.count}: e.g. ${oneLine(e.example.file)} line ${e.example.line}${e.example.key ? ` (${oneLine(e.example.key)})` : ""}: ${oneLine(e.example.message)}`));
  if (s.report) lines.push(`  report: ${oneLine(s.report)}`);
  if (s.failedOut) lines.push(s.counts.invalid + s.counts.failed ? `  rows to fix: ${oneLine(s.failedOut)}` : `  rows to fix: none (${oneLine(s.failedOut)} is empty)`);
  if (s.stopped === "interrupted") lines.push(c.yellow("  interrupted"));
  if (s.stopped === "max-errors") lines.push(c.yellow("  stopped by --max-errors"));
  return `${lines.join("\n")}\n`;
}
