import { writeFileSync } from "node:fs";
import { Command } from "commander";
import type { CliIO } from "../ui/io.js";
import { colors } from "../ui/logger.js";

export function reportCommand(io: CliIO): Command {
  return new Command("report")
    .description("summarise the report of an earlier run; --html writes one self-contained page")
    .argument("<report>", "a report file (.jsonl or .csv)")
    .option("--html <file>", "write an HTML page: totals, errors by code with example rows, throughput and retries over time")
    .option("--json", "print the summary as JSON")
    .addHelpText("after", "\nExamples:\n  $ bulk-users report run1.jsonl\n  $ bulk-users report run1.jsonl --html run1.html\n")
    .action(async (file: string, o: { html?: string; json?: boolean }) => {
      const { readReportStats } = await import("../report/read.js");
      const stats = await readReportStats(file);
      if (o.html) {
        const { reportHtml } = await import("../report/html.js");
        writeFileSync(o.html, reportHtml(stats, file));
      }
      if (o.json) return void io.stdout.write(`${JSON.stringify({ rows: stats.rows, counts: stats.counts, errors: stats.errors.map((e) => ({ code: e.code, count: e.count, example: e.examples[0] })), seconds: stats.timeline.length })}\n`);
      const c = colors(io);
      const lines = [c.bold(`${file}: ${stats.rows} row(s)`), `  ${Object.entries(stats.counts).map(([k, v]) => `${k} ${v}`).join(", ")}`];
      for (const e of stats.errors.slice(0, 10)) {
        const x = e.examples[0]!;
        lines.push(`  ${e.code} ×${e.count}: e.g. ${x.file} line ${x.line}${x.key ? ` (${x.key})` : ""}: ${x.message ?? x.status}`);
      }
      if (stats.unreadable) lines.push(`  ${stats.unreadable} unreadable line(s) skipped`);
      if (o.html) lines.push(`  html: ${o.html}`);
      io.stdout.write(`${lines.join("\n")}\n`);
    });
}
