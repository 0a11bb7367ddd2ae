import type { ImportSummary } from "../core/import.js";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

/** A Markdown summary of a run, for CI job pages (GITHUB_STEP_SUMMARY) and --summary. */
export function summaryMarkdown(s: ImportSummary, resumeHint?: string): string {
  const out: string[] = [];
  const title = `${s.dryRun ? "Dry run" : "Import"} into \`${s.provider}\`: ${s.exitCode === 0 ? "✅ all rows succeeded" : s.stopped ? `⏸️ ${s.stopped}` : "⚠️ some rows need attention"}`;
  out.push(`### bulk-users — ${title}`, "");
  out.push("| status | rows |", "| --- | ---: |");
  for (const [k, v] of Object.entries(s.counts)) if (v > 0) out.push(`| ${k} | ${v} |`);
  if (s.resumed) out.push(`| carried over (resume) | ${s.resumed} |`);
  out.push(`| **total read** | **${s.rows}** |`, "");
  const secs = (s.durationMs / 1000).toFixed(1);
  out.push(s.dryRun ? `Duration ${secs} s.` : `Duration ${secs} s · ${s.usersPerSecond} users/s · ${s.requests} requests · ${s.retries} retries · ${s.throttled} throttled.`, "");
  if (s.topErrors.length) {
    out.push("| error code | rows | example |", "| --- | ---: | --- |");
    for (const e of s.topErrors) out.push(`| \`${cell(e.code)}\` | ${e.count} | ${cell(`${e.example.file}:${e.example.line}${e.example.key ? ` (${e.example.key})` : ""} — ${e.example.message}`)} |`);
    out.push("");
  }
  if (s.report) out.push(`Report: \`${s.report}\``);
  if (resumeHint) out.push("", `Finish with: \`${resumeHint}\``);
  return `${out.join("\n")}\n`;
}
