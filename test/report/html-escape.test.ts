import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { metaPath } from "../../src/core/resume.js";
import { reportHtml } from "../../src/report/html.js";
import { readReportStats, type ReportStats } from "../../src/report/read.js";
import { tmp, write } from "../helpers.js";

const stats = (over: Partial<ReportStats> = {}): ReportStats => ({
  rows: 1,
  counts: { failed: 1 },
  errors: [],
  timeline: [],
  timed: 0,
  attempts: {},
  unreadable: 0,
  ...over,
});

describe("reportHtml: hostile report contents stay text", () => {
  it("a key that is already an entity shows as typed (`&` escaped)", () => {
    const html = reportHtml(
      stats({ errors: [{ code: "E1", count: 1, examples: [{ file: "u.csv", line: 2, key: "&lt;b&gt;", status: "failed", message: "A & B" }] }] }),
      "r.jsonl",
    );
    expect(html).toContain("<td>&amp;lt;b&amp;gt;</td>");
    expect(html).toContain("<td>A &amp; B</td>");
    expect(html).not.toContain("<td>&lt;b&gt;</td>");
  });

  it("a report path that closes the title opens no element", () => {
    const html = reportHtml(stats(), "a</title><b>x.jsonl");
    expect(html).toContain("<title>bulk-users report — a&lt;/title&gt;&lt;b&gt;x.jsonl</title>");
    expect(html).not.toContain("</title><b>");
  });

  it("facts from `<report>.meta.json` are escaped", async () => {
    const file = write(tmp(), "r.jsonl", `${JSON.stringify({ file: "u.csv", line: 2, key: "a", status: "created" })}\n`);
    writeFileSync(metaPath(file), JSON.stringify({ provider: "<b>p</b>", startedAt: "2024-01-01T00:00:00Z", shard: "1/2 <i>" }));
    const html = reportHtml(await readReportStats(file), file);
    expect(html).toContain("<dd>&lt;b&gt;p&lt;/b&gt;</dd>");
    expect(html).toContain("<dd>1/2 &lt;i&gt;</dd>");
    expect(html).not.toContain("<b>p</b>");
    expect(html).not.toContain("<i>");
  });
});
