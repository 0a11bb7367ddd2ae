import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createReportWriter } from "../../src/report/writer.js";
import { reportRows } from "../../src/report/rows.js";
import { readReportStats } from "../../src/report/read.js";
import { Redactor } from "../../src/report/redact.js";
import type { ReportRow } from "../../src/types.js";
import { failureMarkdown, summaryMarkdown } from "../../src/report/markdown.js";
import type { ImportSummary } from "../../src/core/import.js";
import { resolveCredentials } from "../../src/core/credentials.js";
import { loadProvider } from "../../src/providers/index.js";
import { ErrorCode } from "../../src/errors.js";
import { tmp, write } from "../helpers.js";

async function rowsOf(file: string): Promise<(ReportRow | undefined)[]> {
  const out: (ReportRow | undefined)[] = [];
  for await (const r of reportRows(file)) out.push(r);
  return out;
}

/** Values a CSV report must quote or guard, and read back exactly. */
const SPECIAL = ["a,b", 'say "hi"', "one\rtwo", "one\ntwo", "=1+1", "+1", "-1", "@SUM(A1)", "\tTab", "\rCR", "'quoted", "''x", "plain"];

const rowsFor = (): ReportRow[] =>
  SPECIAL.map((v, i) => ({ file: i % 2 ? v : "u.csv", line: i + 2, key: v, status: "failed", code: v, message: v, field: v, id: v, attempts: i % 3, retryable: i % 2 === 0, t: i * 10 }));

describe("report writer and reader: every value comes back exactly", () => {
  it("a CSV report round-trips commas, quotes, line breaks and formula starters in every text column", async () => {
    const file = join(tmp(), "r.csv");
    const w = createReportWriter(file, new Redactor());
    const rows = rowsFor();
    for (const r of rows) w.write(r);
    w.close();
    expect(await rowsOf(file)).toEqual(rows);
  });

  it("a CSV report guards every cell a spreadsheet would run, and quotes cells with , \" CR or LF", () => {
    const file = join(tmp(), "r.csv");
    const w = createReportWriter(file, new Redactor());
    w.write({ file: "u.csv", line: 2, key: "@SUM(A1)", status: "failed", code: "\tx", message: "'q", field: "=f", id: "-1" });
    w.write({ file: "u.csv", line: 3, key: "a,b", status: "failed", message: "one\rtwo" });
    w.close();
    const lines = readFileSync(file, "utf8").split("\n");
    expect(lines[1]).toBe("u.csv,2,'@SUM(A1),failed,'\tx,''q,'=f,'-1,,,");
    expect(lines[2]).toBe('u.csv,3,"a,b",failed,,"one\rtwo",,,,,');
  });

  it("a JSONL report keeps retryable false, zero attempts, t 0 and each row's own file", async () => {
    const file = join(tmp(), "r.jsonl");
    const w = createReportWriter(file, new Redactor());
    const rows: ReportRow[] = [
      { file: "a.csv", line: 2, key: "k1", status: "failed", code: "E", message: "m", attempts: 0, retryable: false, t: 0 },
      { file: "b.csv", line: 2, key: "k2", status: "created", attempts: 1, t: 5 },
      { file: "a.csv", line: 3, key: "k3", status: "failed", code: "E", message: "m", attempts: 2, retryable: true, t: 9 },
    ];
    for (const r of rows) w.write(r);
    w.close();
    expect(await rowsOf(file)).toEqual(rows);
  });

  it("flush() puts buffered rows in the file at once, and close() writes what is left", () => {
    const file = join(tmp(), "r.jsonl");
    const w = createReportWriter(file, new Redactor());
    w.write({ file: "u.csv", line: 2, key: "a", status: "invalid", code: "E" });
    w.flush();
    expect(readFileSync(file, "utf8")).toBe('{"file":"u.csv","line":2,"key":"a","status":"invalid","code":"E"}\n');
    w.write({ file: "u.csv", line: 3, key: "b", status: "invalid", code: "E" });
    w.close();
    expect(readFileSync(file, "utf8").split("\n").filter(Boolean)).toHaveLength(2);
  });
});

describe("report writer: secrets", () => {
  const SECRET = "sk-live-4f9a8b7c6d5e";
  it.each(["r.jsonl", "r.csv"])("are masked in key, code, id and message, and a message cut through one loses its start (%s)", (name) => {
    const r = new Redactor();
    r.add(SECRET);
    const file = join(tmp(), name);
    const w = createReportWriter(file, r);
    w.write({ file: "u.csv", line: 2, key: `k-${SECRET}`, status: "failed", code: `E_${SECRET}`, message: `bad token ${SECRET.slice(0, 9)}`, id: `id-${SECRET}`, retryable: false });
    w.close();
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain(SECRET.slice(0, 7));
    expect(text).toContain("k-***");
    expect(text).toContain("E_***");
    expect(text).toContain("id-***");
    expect(text).toContain("bad token ***");
  });
});

describe("report reader: what a report says", () => {
  it("a CSV report's retryable false stays false, empty cells stay absent, and the id is kept", async () => {
    const file = write(tmp(), "r.csv", "file,line,key,status,code,message,field,id,attempts,retryable,t\n'=u.csv,2,a,created,,,,'@id,1,,3\nu.csv,3,b,failed,E,m,,,2,false,4\n");
    expect(await rowsOf(file)).toEqual([
      { file: "=u.csv", line: 2, key: "a", status: "created", id: "@id", attempts: 1, t: 3 },
      { file: "u.csv", line: 3, key: "b", status: "failed", code: "E", message: "m", attempts: 2, retryable: false, t: 4 },
    ]);
  });
});

describe("report reader: unreadable lines and empty reports", () => {
  it("a CSV report torn inside a quoted last cell counts that line unreadable", async () => {
    const file = write(tmp(), "r.csv", 'file,line,key,status,code,message\nu.csv,2,a,created,,\nu.csv,3,b,failed,E,"cut sho');
    const stats = await readReportStats(file);
    expect(stats.rows).toBe(1);
    expect(stats.unreadable).toBe(1);
  });

  it("blank lines of a JSONL report are no lines at all, not unreadable ones", async () => {
    const file = write(tmp(), "r.jsonl", '{"file":"u.csv","line":2,"key":"a","status":"created"}\n\n  \n{"file":"u.csv","line":3,"key":"b","status":"created"}\n');
    const stats = await readReportStats(file);
    expect(stats).toMatchObject({ rows: 2, unreadable: 0 });
  });

  it("a time past 31 days (a hand-edited row) stays off the chart", async () => {
    const file = write(tmp(), "r.jsonl", '{"file":"u.csv","line":2,"key":"a","status":"created","attempts":1,"t":100}\n{"file":"u.csv","line":3,"key":"b","status":"created","attempts":1,"t":9999999999}\n');
    const stats = await readReportStats(file);
    expect(stats.timed).toBe(1);
    expect(stats.timeline).toEqual([{ second: 0, ok: 1, failed: 0, retries: 0 }]);
  });

  it("an empty report (a run that wrote no row) gives zero counts, not an error", async () => {
    const stats = await readReportStats(write(tmp(), "r.jsonl", ""));
    expect(stats).toMatchObject({ rows: 0, counts: {}, errors: [], unreadable: 0 });
  });
});

const summary = (over: Partial<ImportSummary> = {}): ImportSummary => ({
  provider: "zego", dryRun: false, rows: 2, counts: { created: 1, updated: 0, upserted: 0, exists: 0, invalid: 0, duplicate: 0, failed: 1, valid: 0 },
  resumed: 0, otherShards: 0, notSent: 0, requests: 1, retries: 0, throttled: 0, splits: 0, durationMs: 100, usersPerSecond: 10, topErrors: [], exitCode: 1, ...over,
});

describe("Markdown summary: row data from the vendor", () => {
  it("an error code holding a pipe is escaped, not put in a code span that would split the table row", () => {
    const md = summaryMarkdown(summary({ topErrors: [{ code: "E|1", count: 1, example: { file: "u.csv", line: 2, key: "a", message: "m" } }] }));
    expect(md).toContain("| E\\|1 | 1 | u.csv:2 (a) — m |");
    expect(md).not.toContain("`E|1`");
  });

  it("a failed run's message and hint make no image, link or new line on the job page", () => {
    const md = failureMarkdown({ provider: "zego", dryRun: false }, "refused ![p](http://evil/p.png)\n# owned", "see [here](http://evil/)");
    expect(md).toContain("> refused !\\[p\\](http://evil/p.png) # owned");
    expect(md).toContain("> see \\[here\\](http://evil/)");
    expect(md).not.toMatch(/!\[p\]\(|\n# owned|[^\\]\[here\]/);
  });
});

describe("credentials", () => {
  it("a variable needed unless another is set: missing when neither is, not needed when the other is", async () => {
    const hw = await loadProvider("huawei-workspace");
    const base = { HUAWEI_REGION: "ap-southeast-1", HUAWEI_PROJECT_ID: "p1" };
    expect(() => resolveCredentials(hw, base)).toThrow(expect.objectContaining({ code: ErrorCode.CREDENTIALS_MISSING, message: expect.stringContaining("(or HUAWEI_AUTH_TOKEN)") }));
    expect(resolveCredentials(hw, { ...base, HUAWEI_AUTH_TOKEN: "tok-123456" })).toEqual({ ...base, HUAWEI_AUTH_TOKEN: "tok-123456" });
  });
});
