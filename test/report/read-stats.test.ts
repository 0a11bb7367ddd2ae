import { describe, expect, it } from "vitest";
import { readReportStats } from "../../src/report/read.js";
import { reportHtml } from "../../src/report/html.js";
import { tmp, write } from "../helpers.js";

const jsonl = (rows: object[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;

describe("readReportStats: what `bulk-users report` counts", () => {
  it("a user the vendor already had (`exists`) is a success, not an error", async () => {
    const file = write(tmp(), "r.jsonl", jsonl([
      { file: "u.csv", line: 2, key: "a", status: "created", attempts: 1, t: 100 },
      { file: "u.csv", line: 3, key: "b", status: "exists", code: "660700002", message: "user already exists", attempts: 1, t: 200 },
    ]));
    const stats = await readReportStats(file);
    expect(stats.counts).toEqual({ created: 1, exists: 1 });
    expect(stats.errors).toEqual([]);
    expect(stats.timeline).toEqual([{ second: 0, ok: 2, failed: 0, retries: 0 }]);
    expect(reportHtml(stats, file)).toContain("<p>No errors.</p>");
  });

  it("rows that each took one request show no retries; a row that took three shows two", async () => {
    const file = write(tmp(), "r.jsonl", jsonl([
      { file: "u.csv", line: 2, key: "a", status: "created", attempts: 1, t: 100 },
      { file: "u.csv", line: 3, key: "b", status: "created", attempts: 1, t: 900 },
      { file: "u.csv", line: 4, key: "c", status: "failed", code: "E1", attempts: 1, t: 1500 },
      { file: "u.csv", line: 5, key: "d", status: "created", attempts: 3, t: 2500 },
    ]));
    const stats = await readReportStats(file);
    expect(stats.timed).toBe(4);
    expect(stats.timeline).toEqual([
      { second: 0, ok: 2, failed: 0, retries: 0 },
      { second: 1, ok: 0, failed: 1, retries: 0 },
      { second: 2, ok: 1, failed: 0, retries: 2 },
    ]);
  });

  it("the page of a run without retries says so", async () => {
    const file = write(tmp(), "r.jsonl", jsonl([
      { file: "u.csv", line: 2, key: "a", status: "created", attempts: 1, t: 100 },
      { file: "u.csv", line: 3, key: "b", status: "updated", attempts: 1, t: 1200 },
    ]));
    const html = reportHtml(await readReportStats(file), file);
    expect(html).toContain(">no retries</text>");
    expect(html).not.toContain("retries/s (right scale)");
  });

  it("a torn line whose status was cut short (`crea`) is unreadable, not a row", async () => {
    const file = write(tmp(), "r.jsonl", `${jsonl([
      { file: "u.csv", line: 2, key: "a", status: "created" },
      { file: "u.csv", line: 3, key: "b", status: "invalid", code: "FIELD_REQUIRED" },
    ])}{"file":"u.csv","line":4,"key":"c","status":"crea"}\n`);
    const stats = await readReportStats(file);
    expect(stats.rows).toBe(2);
    expect(stats.unreadable).toBe(1);
    expect(stats.counts).toEqual({ created: 1, invalid: 1 });
    expect(stats.errors.map((e) => e.code)).toEqual(["FIELD_REQUIRED"]);
  });
});
