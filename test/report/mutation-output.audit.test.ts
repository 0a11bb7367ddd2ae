import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { metaPath } from "../../src/core/resume.js";
import { reportHtml } from "../../src/report/html.js";
import { readReportStats } from "../../src/report/read.js";
import { createFailedOut } from "../../src/report/failed-out.js";
import { Redactor } from "../../src/report/redact.js";
import { csv, runCli, tmp, write } from "../helpers.js";

/**
 * Gap tests from a mutation run of the output side (report writer and reader, redactor,
 * --failed-out, the HTML page, the terminal summary, the CLI commands): each pins a behaviour
 * whose mutant (named in the test) got through every other test.
 */

const jsonl = (rows: object[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;
const fixRows = (path: string) => parse(readFileSync(path), { columns: true }) as Record<string, string>[];

describe("--failed-out (mutation audit)", () => {
  // Mutant: `_error` written without the formula guard (plain instead of guarded).
  it("an `_error` that starts like a formula (from several inputs, one named `=…`) is guarded", () => {
    const dir = tmp();
    const out = createFailedOut(join(dir, "fix.csv"), new Redactor(), { inputs: 2 });
    out.setColumns(0, ["user_id", "name"]);
    out.setColumns(1, ["user_id", "name"]);
    out.write({ file: "=2+2.csv", fileIndex: 1, line: 3, data: { user_id: "bad id", name: "B" } }, "BAD_CHARACTERS (UserId): no spaces");
    out.close();
    expect(readFileSync(join(dir, "fix.csv"), "utf8")).toContain(",'=2+2.csv line 3: BAD_CHARACTERS");
    // Read back as a report cell is, the note is exact.
    expect(fixRows(join(dir, "fix.csv"))[0]!._error).toBe("'=2+2.csv line 3: BAD_CHARACTERS (UserId): no spaces");
  });

  // Mutant: an input's own `_error` key goes into `_extra` (`k !== "_error"` dropped).
  it("a JSONL row's own `_error` (a fixed file that failed again) is replaced, not kept in `_extra`", async () => {
    const dir = tmp();
    const f = write(dir, "u.jsonl", jsonl([{ user_id: "bad id", name: "B", _error: "old note", team: "x" }]));
    const r = await runCli(["validate", f, "-p", "zego", "--report", join(dir, "r.jsonl"), "--failed-out", join(dir, "fix.csv")]);
    expect(r.code).toBe(1);
    const text = readFileSync(join(dir, "fix.csv"), "utf8");
    expect(text).not.toContain("old note");
    const rows = fixRows(join(dir, "fix.csv"));
    expect(rows).toHaveLength(1);
    expect(rows[0]!._error).toMatch(/^line 1: BAD_CHARACTERS/);
    expect(rows[0]!.user_id).toBe("bad id");
  });

  // Mutant: the summary's "rows to fix" counts failed rows only (`invalid + failed` → `failed`).
  it("the summary names the file of rows to fix when only invalid rows went there", async () => {
    const dir = tmp();
    const f = write(dir, "u.csv", csv(["user_id", "name"], [["ok1", "A"], ["bad id", "B"]]));
    const fix = join(dir, "fix.csv");
    const r = await runCli(["validate", f, "-p", "zego", "--report", join(dir, "r.jsonl"), "--failed-out", fix]);
    expect(r.code).toBe(1);
    expect(fixRows(fix)).toHaveLength(1);
    expect(r.stdout).toContain(`  rows to fix: ${fix}\n`);
    expect(r.stdout).not.toContain("is empty");
  });
});

describe("bulk-users report (mutation audit)", () => {
  // Mutant: `e.count > e.examples.length` → `>=` (a code with every row shown says "… and 0 more").
  it("the page says how many rows of a code are not shown only when some are not", async () => {
    const dir = tmp();
    const row = (line: number, code: string) => ({ file: "u.csv", line, key: `k${line}`, status: "failed", code, message: "no", attempts: 1, t: line });
    const f = write(dir, "r.jsonl", jsonl([row(2, "FEW"), row(3, "FEW"), ...Array.from({ length: 6 }, (_, i) => row(10 + i, "MANY"))]));
    const html = reportHtml(await readReportStats(f), f);
    expect(html.match(/more row\(s\) with this code/g)).toHaveLength(1);
    expect(html).toContain("… and 1 more row(s) with this code");
    expect(html).not.toContain("… and 0 more");
  });

  // Mutant: the text summary prints a dry run's request counts (`!s.dryRun` dropped), as the page does not.
  it("a dry run's meta summary prints no request counts in the terminal", async () => {
    const dir = tmp();
    const f = write(dir, "r.jsonl", jsonl([{ file: "u.csv", line: 2, key: "a", status: "valid" }]));
    writeFileSync(metaPath(f), JSON.stringify({ provider: "zego", summary: { dryRun: true, durationMs: 1500, requests: 0, retries: 0, throttled: 0, usersPerSecond: 0 } }));
    const r = await runCli(["report", f]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("provider zego · 1.5 s\n");
    expect(r.stdout).not.toContain("request(s)");
  });
});
