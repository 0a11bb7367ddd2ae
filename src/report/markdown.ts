import type { ImportSummary } from "../core/import.js";
import { shellArg } from "../util/shell.js";

/**
 * Text safe inside a Markdown table cell on a GitHub job page: row data (keys, vendor messages)
 * comes from the input, and GitHub renders HTML in step summaries, so `<`, `>` and `&` become
 * entities, brackets, backslashes, backticks and `|` are escaped (no image or link a row could
 * plant: a bare URL may still show as one, its text its target) and line breaks are flattened.
 */
export const mdCell = (s: string) =>
  s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    // Brackets escaped, so row data makes no link or image (a tracking pixel); backslashes so
    // that no escape is undone; backticks and pipes so it opens no code span and no new cell.
    .replace(/[\\`[\]|]/g, "\\$&")
    .replace(/\r?\n|\r/g, " ");

/** Inline code that survives any backticks inside it (CommonMark: a longer fence). */
const code = (s: string) => {
  const run = Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const fence = "`".repeat(run + 1);
  return `${fence}${run ? " " : ""}${s.replace(/\r?\n|\r/g, " ")}${run ? " " : ""}${fence}`;
};


/** A Markdown summary of a run, for CI job pages (GITHUB_STEP_SUMMARY) and --summary. */
export function summaryMarkdown(s: ImportSummary, resumeHint?: string): string {
  const out: string[] = [];
  const title = `${s.dryRun ? "Dry run" : "Import"} into \`${s.provider}\`: ${s.exitCode === 0 ? "✅ all rows succeeded" : s.stopped ? `⏸️ ${s.stopped === "max-errors" ? "stopped by --max-errors" : "interrupted"}` : "⚠️ some rows need attention"}`;
  out.push(`### bulk-users — ${title}`, "");
  out.push("| status | rows |", "| --- | ---: |");
  for (const [k, v] of Object.entries(s.counts)) if (v > 0) out.push(`| ${k} | ${v} |`);
  if (s.resumed) out.push(`| carried over (resume) | ${s.resumed} |`);
  out.push(`| **total read** | **${s.rows}** |`);
  if (s.otherShards) out.push(`| other shards (skipped) | ${s.otherShards} |`);
  if (s.notSent) out.push(`| read, not sent (stopped) | ${s.notSent} |`);
  out.push("");
  const secs = (s.durationMs / 1000).toFixed(1);
  out.push(s.dryRun ? `Duration ${secs} s.` : `Duration ${secs} s · ${s.usersPerSecond} users/s · ${s.requests} requests · ${s.retries} retries · ${s.throttled} throttled.`, "");
  if (s.topErrors.length) {
    out.push("| error code | rows | example (file:line, key — message) |", "| --- | ---: | --- |");
    for (const e of s.topErrors) {
      const x = e.example;
      out.push(`| ${/^[\w.:\-]+$/.test(e.code) ? code(e.code) : mdCell(e.code)} | ${e.count} | ${mdCell(`${x.file}:${x.line}${x.key ? ` (${x.key})` : ""} — ${x.message}`)} |`);
    }
    out.push("");
  }
  if (s.report) out.push(`Report: ${code(s.report)} (a page of it: ${code(`bulk-users report ${shellArg(s.report)} --html report.html`)})`);
  if (s.failedOut) out.push("", `Rows to fix: ${code(s.failedOut)}`);
  if (resumeHint) out.push("", `Finish with: ${code(resumeHint)}`);
  return `${out.join("\n")}\n`;
}

/** The Markdown of a run that stopped before its summary (bad credentials, mapping, input). */
export function failureMarkdown(run: { provider: string; dryRun: boolean }, message: string, hint?: string, resumeHint?: string): string {
  const out = [`### bulk-users — ${run.dryRun ? "Dry run" : "Import"} into ${code(run.provider)}: ❌ failed`, "", `> ${mdCell(message)}`];
  if (hint) out.push(">", `> ${mdCell(hint)}`);
  if (resumeHint) out.push("", `Finish with: ${code(resumeHint)}`);
  return `${out.join("\n")}\n`;
}
