import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readReport, runCli, tmp } from "../helpers.js";

const F = "test/fixtures/bad";
type Row = [line: number, status: string, code?: string];

/** Every malformed input: a run-level error (exit 2) before anything is read further, or one exact outcome per row. */
const CASES: [file: string, exit: number, expected: RegExp | Row[]][] = [
  ["unterminated-quote-end.csv", 1, [[2, "valid"], [3, "invalid", "CSV_QUOTE_NOT_CLOSED"]]],
  ["stray-quote.csv", 1, [[2, "valid"], [3, "invalid", "INVALID_OPENING_QUOTE"], [4, "valid"]]],
  ["junk-after-quote.csv", 1, [[2, "valid"], [3, "invalid", "CSV_INVALID_CLOSING_QUOTE"], [4, "invalid", "CSV_QUOTE_NOT_CLOSED"]]],
  ["cell-count.csv", 1, [[2, "valid"], [3, "invalid", "CSV_COLUMN_COUNT"], [4, "invalid", "CSV_COLUMN_COUNT"], [5, "valid"]]],
  ["duplicate-header.csv", 2, /Invalid header: column name `user_id` appears twice \(test\/fixtures\/bad\/duplicate-header\.csv, line 1\)/],
  ["empty-header.csv", 2, /Invalid header: column 2 has no name \(test\/fixtures\/bad\/empty-header\.csv, line 1\)/],
  ["invalid-utf8.csv", 1, [[2, "valid"], [3, "invalid", "INVALID_UTF8"], [4, "valid"]]],
  ["utf16le-bom.csv", 2, /Input file is UTF-16, not UTF-8: test\/fixtures\/bad\/utf16le-bom\.csv/],
  ["utf16le-nobom.csv", 2, /Input file is UTF-16, not UTF-8/],
  ["empty.csv", 2, /Input file is empty: test\/fixtures\/bad\/empty\.csv/],
  ["header-only.csv", 0, []],
  ["blank-lines.csv", 1, [[3, "valid"], [6, "valid"], [7, "invalid", "REQUIRED"]]],
  ["bom-crlf.csv", 0, [[2, "valid"], [3, "valid"]]],
  ["nul-byte.csv", 1, [[2, "invalid", "NUL_CHARACTER"], [3, "valid"]]],
  ["mixed.jsonl", 1, [[1, "valid"], [2, "invalid", "INPUT_BAD_JSON"], [3, "invalid", "INPUT_NOT_OBJECT"], [4, "invalid", "INPUT_NOT_OBJECT"], [5, "invalid", "INPUT_NOT_OBJECT"], [6, "invalid", "INPUT_NOT_OBJECT"], [8, "valid"], [9, "invalid", "INPUT_BAD_JSON"]]],
  ["wrong-types.jsonl", 1, [[1, "invalid", "WRONG_TYPE"], [2, "valid"], [3, "invalid", "WRONG_TYPE"], [4, "invalid", "WRONG_TYPE"]]],
];

describe("bad input never crashes and never disappears", () => {
  const dir = tmp("bu-bad-");

  it.each(CASES)("%s → exit %i", async (file, exit, expected) => {
    const report = `${dir}/${file}.jsonl`;
    const r = await runCli(["validate", `${F}/${file}`, "-p", "zego", "--report", report]);
    expect(r.code, r.stderr).toBe(exit);
    if (expected instanceof RegExp) {
      expect(r.stderr).toMatch(expected);
      return;
    }
    const rows = readReport(report).sort((a, b) => a.line - b.line);
    expect(rows.map((x) => (x.code && x.status === "invalid" ? [x.line, x.status, x.code] : [x.line, x.status]))).toEqual(expected);
    for (const x of rows.filter((y) => y.status === "invalid")) expect(x.message).toContain(`${F}/${file}, line ${x.line}`);
  });

  it("a broken quote reports the whole range of lines it swallowed", async () => {
    const report = `${dir}/range.jsonl`;
    await runCli(["validate", `${F}/junk-after-quote.csv`, "-p", "zego", "--report", report]);
    expect(readReport(report).find((x) => x.line === 4)!.message).toMatch(/unreadable CSV on lines 4–5/);
  });

  it("a mapped column missing from the header is exit 2 naming the mapping file and key", async () => {
    const m = `${dir}/m.yaml`;
    writeFileSync(m, "fields:\n  UserId: user_id\n  UserName: full_name\n");
    const r = await runCli(["validate", `${F}/bom-crlf.csv`, "-p", "zego", "-m", m, "--report", `${dir}/mc.jsonl`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/column `full_name` is not in the header of test\/fixtures\/bad\/bom-crlf\.csv \(.*m\.yaml, fields\.UserName\)/);
  });

  it("a 10 MB cell makes its row invalid and the run goes on", async () => {
    const f = `${dir}/huge.csv`;
    writeFileSync(f, `user_id,name\nu1,a\nu2,${"x".repeat(10 * 1024 * 1024)}\nu3,c\n`);
    const report = `${dir}/huge.jsonl`;
    const r = await runCli(["validate", f, "-p", "zego", "--report", report]);
    expect(r.code).toBe(1);
    expect(readReport(report).sort((a, b) => a.line - b.line).map((x) => [x.line, x.status, x.code ?? ""])).toEqual([
      [2, "valid", ""],
      [3, "invalid", "CELL_TOO_LARGE"],
      [4, "valid", ""],
    ]);
  });

  it("--max-errors 2 stops after the second bad row with exit 3", async () => {
    const report = `${dir}/max.jsonl`;
    const r = await runCli(["validate", `${F}/many-bad.csv`, "-p", "zego", "--max-errors", "2", "--report", report, "--json"]);
    expect(r.code).toBe(3);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ stopped: "max-errors", counts: { invalid: 2 } });
    expect(readReport(report).map((x) => x.line)).toEqual([2, 3]);
  });
});
