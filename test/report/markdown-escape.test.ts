import { describe, expect, it } from "vitest";
import type { ImportSummary } from "../../src/core/import.js";
import { mdCell, summaryMarkdown } from "../../src/report/markdown.js";

const summary = (over: Partial<ImportSummary> = {}): ImportSummary => ({
  provider: "zego",
  dryRun: false,
  rows: 10,
  counts: { created: 6, updated: 0, upserted: 0, exists: 0, invalid: 3, duplicate: 1, failed: 0, valid: 0 },
  resumed: 0,
  otherShards: 0,
  notSent: 0,
  requests: 2,
  retries: 0,
  throttled: 0,
  splits: 0,
  durationMs: 1500,
  usersPerSecond: 4,
  topErrors: [],
  exitCode: 1,
  ...over,
});

describe("mdCell: row data in a job summary's table", () => {
  it.each([
    ["a backslash-escaped link stays text", String.raw`\[x\](https://evil/)`, String.raw`\\\[x\\\](https://evil/)`],
    ["an entity shows as typed", "a &lt;b&gt; & c", "a &amp;lt;b&amp;gt; &amp; c"],
    ["an image, a code span, a pipe and a line break", "![p](http://t/) `c` a|b\r\nz", "!\\[p\\](http://t/) \\`c\\` a\\|b z"],
  ])("%s", (_, input, expected) => {
    expect(mdCell(input)).toBe(expected);
  });
});

describe("summaryMarkdown", () => {
  it("lists every status with rows, duplicates included", () => {
    const md = summaryMarkdown(summary());
    expect(md).toContain("| status | rows |\n| --- | ---: |\n| created | 6 |\n| invalid | 3 |\n| duplicate | 1 |\n| **total read** | **10** |\n");
  });

  it("a key in an error example makes no link", () => {
    const md = summaryMarkdown(summary({ topErrors: [{ code: "E1", count: 3, example: { file: "u.csv", line: 2, key: String.raw`\[x\](https://evil/)`, message: "bad" } }] }));
    expect(md).toContain(String.raw`| ${"`E1`"} | 3 | u.csv:2 (\\\[x\\\](https://evil/)) — bad |`);
  });

  it("a report path with backticks is shown whole, in a longer fence", () => {
    const md = summaryMarkdown(summary({ report: "odd`name.jsonl" }));
    expect(md).toContain("Report: `` odd`name.jsonl `` (a page of it: `` bulk-users report 'odd`name.jsonl' --html report.html ``)");
    const md2 = summaryMarkdown(summary({ report: "r.jsonl", failedOut: "a``b.csv" }));
    expect(md2).toContain("Rows to fix: ``` a``b.csv ```");
    expect(md2).toContain("Report: `r.jsonl`");
  });
});
