import { writeFileSync } from "node:fs";
import { Command } from "commander";
import { BulkUsersError, ErrorCode } from "../errors.js";
import type { CliIO } from "../ui/io.js";
import { colors, oneLine } from "../ui/logger.js";

export function reportCommand(io: CliIO): Command {
  return new Command("report")
    .description("summarise the report of an earlier run; --html writes one self-contained page")
    .argument("<report>", "a report file (.jsonl or .csv)")
    .option("--html <file>", "write an HTML page: totals, errors by code with example rows, throughput and retries over time")
    .option("--json", "print the summary as JSON")
    .addHelpText(
      "after",
      `
Reads the report as a stream, and <report>.meta.json beside it when present (provider, endpoint, duration,
requests, retries). The chart uses each sent row's \`t\` (ms from the start of the run); reports
without it get a chart of attempts per row instead.

Examples:
  $ bulk-users report run1.jsonl
  $ bulk-users report run1.jsonl --html run1.html
  $ bulk-users report run1.csv --json
`,
    )
    .action(async (file: string, o: { html?: string; json?: boolean }) => {
      if (o.html) {
        const { metaPath, samePath, sentPath } = await import("../core/resume.js");
        if ([file, metaPath(file), sentPath(file)].some((p) => samePath(o.html!, p)))
          throw new BulkUsersError(ErrorCode.USAGE, `The HTML page would overwrite ${o.html}, which is the report or its resume state`, { hint: "Give --html another path, e.g. report.html." });
      }
      const { readReportStats } = await import("../report/read.js");
      const stats = await readReportStats(file);
      if (o.html) {
        const { reportHtml } = await import("../report/html.js");
        try {
          writeFileSync(o.html, reportHtml(stats, file));
        } catch (e) {
          throw new BulkUsersError(ErrorCode.USAGE, `Cannot write the HTML page ${o.html}: ${(e as Error).message}`, { hint: "Choose a path in a folder that exists." });
        }
      }
      const s = stats.meta?.summary;
      if (o.json) {
        const out = {
          rows: stats.rows,
          counts: stats.counts,
          errors: stats.errors.map((e) => ({ code: e.code, count: e.count, examples: e.examples })),
          attempts: stats.attempts,
          timedRows: stats.timed,
          seconds: stats.timeline.length,
          unreadable: stats.unreadable,
          ...(stats.meta && { run: { provider: stats.meta.provider, endpoint: stats.meta.endpoint, startedAt: stats.meta.startedAt, shard: stats.meta.shard, summary: s } }),
          ...(o.html && { html: o.html }),
        };
        return void io.stdout.write(`${JSON.stringify(out)}\n`);
      }
      const c = colors(io, "stdout");
      const lines = [c.bold(`${file}: ${stats.rows} row(s)`), `  ${Object.entries(stats.counts).map(([k, v]) => `${k} ${v}`).join(", ") || "no rows"}`];
      if (stats.meta) {
        const m = stats.meta;
        // The meta file is as untrusted as the report: a hand-edited one could hold escapes.
        const facts = [m.provider && `provider ${oneLine(String(m.provider))}`, m.endpoint && `to ${oneLine(String(m.endpoint))}`, m.startedAt && `started ${oneLine(String(m.startedAt))}`, m.shard && `shard ${oneLine(String(m.shard))}`];
        if (s && typeof s.durationMs === "number") facts.push(`${(s.durationMs / 1000).toFixed(1)} s`);
        // Its counts too: only numbers are printed (a string there could hold a terminal escape).
        const num = (v: unknown) => (typeof v === "number" ? v : 0);
        if (s && !s.dryRun && typeof s.requests === "number") facts.push(`${s.requests} request(s), ${num(s.retries)} retries, ${num(s.throttled)} throttled, ${num(s.usersPerSecond)} users/s`);
        if (s?.stopped) facts.push(c.yellow(s.stopped === "max-errors" ? "stopped by --max-errors" : "interrupted"));
        if (!s) facts.push(c.yellow("no final summary (the run did not finish)"));
        lines.push(`  ${facts.filter(Boolean).join(" · ")}`);
      }
      for (const e of stats.errors.slice(0, 10)) {
        lines.push(`  ${oneLine(e.code)} ×${e.count}:`);
        for (const x of e.examples.slice(0, 3)) lines.push(c.dim(`    ${oneLine(x.file)}:${oneLine(String(x.line))}${x.key ? ` (${oneLine(x.key)})` : ""}: ${oneLine(x.message ?? x.status)}`));
      }
      if (stats.errors.length > 10) lines.push(`  … ${stats.errors.length - 10} more error code(s)${o.html ? " (all in the HTML page)" : ""}`);
      if (stats.timed === 0 && Object.keys(stats.attempts).length)
        lines.push(`  no per-row times (t) in this report; attempts per row: ${Object.entries(stats.attempts).map(([k, v]) => `${k}× ${v}`).join(", ")}`);
      if (stats.unreadable) lines.push(`  ${stats.unreadable} unreadable line(s) skipped`);
      if (o.html) lines.push(`  html: ${o.html}`);
      io.stdout.write(`${lines.join("\n")}\n`);
    });
}

