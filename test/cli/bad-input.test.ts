import { createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { readCsvBatches } from "../../src/readers/csv.js";
import { readReport, runCli, tmp } from "../helpers.js";

const F = "test/fixtures/bad";
const dir = tmp("bu-bad-");
const mapping = `${dir}/m.yaml`;
writeFileSync(mapping, "fields:\n  UserId: user_id\n");

/** [line, status, code, message] of one report row; code and message only where given. */
type Row = [line: number, status: string, code?: string, message?: RegExp];

interface Case {
  file: string;
  exit: number;
  /** Run-level error: stderr must match (it names the file, and the line where one applies). */
  stderr?: RegExp;
  /** Row outcomes: exactly these report rows, every input row once. */
  rows?: Row[];
}

/**
 * Every malformed input, through `bulk-users validate FILE -p zego -m m.yaml` (UserId ← user_id):
 * a run-level error (exit 2) before any row is processed, or one exact outcome per row. A record
 * csv-parse cannot read becomes one `invalid` outcome naming every line it swallowed.
 */
const CASES: Case[] = [
  // --- CSV quoting: a broken record never takes later rows with it unnamed.
  { file: "unterminated-quote-end.csv", exit: 1, rows: [[2, "valid"], [3, "invalid", "CSV_QUOTE_NOT_CLOSED", /^unreadable CSV on lines 3–4 .*cell `name` opens a quote on line 3 that is never closed/]] },
  { file: "unterminated-quote-last-line.csv", exit: 1, rows: [[2, "valid"], [3, "valid"], [4, "invalid", "CSV_QUOTE_NOT_CLOSED", /^unreadable CSV on line 4: cell `name` opens a quote that is never closed/]] },
  {
    file: "unterminated-quote-middle.csv",
    exit: 1,
    rows: [
      [2, "valid"],
      [3, "invalid", "CSV_INVALID_CLOSING_QUOTE", /^unreadable CSV on lines 3–5 .*the quote opened on line 3 closes on line 5 followed by `D`/],
      [6, "valid"],
    ],
  },
  { file: "stray-quote.csv", exit: 1, rows: [[2, "valid"], [3, "invalid", "CSV_INVALID_OPENING_QUOTE", /^unreadable CSV on line 3: cell `name` has a quote inside an unquoted value/], [4, "valid"]] },
  // `"x"y`: the rest of the line is dropped with it, the next line is read again.
  { file: "junk-after-quote.csv", exit: 1, rows: [[2, "valid"], [3, "invalid", "CSV_INVALID_CLOSING_QUOTE", /^unreadable CSV on line 3: cell `name`: its closing quote is followed by `y`/], [4, "valid"], [5, "valid"]] },
  { file: "unescaped-quotes.csv", exit: 1, rows: [[2, "valid"], [3, "invalid", "CSV_INVALID_CLOSING_QUOTE", /followed by `h`.*; and 2 more quoting problems after it/], [4, "valid"]] },
  // A CRLF inside quotes is one line; a 3-line cell, then broken records, keep exact numbers.
  {
    file: "crlf-multiline.csv",
    exit: 1,
    rows: [
      [2, "valid"],
      [5, "invalid", "CSV_INVALID_CLOSING_QUOTE", /^unreadable CSV on line 5:/],
      [6, "valid"],
      [7, "invalid", "CSV_QUOTE_NOT_CLOSED", /^unreadable CSV on lines 7–8 /],
    ],
  },
  { file: "broken-header-quote.csv", exit: 2, stderr: /Invalid header: column 2: its closing quote is followed by `m`.* \(test\/fixtures\/bad\/broken-header-quote\.csv, line 1\)/ },

  // --- CSV shape.
  { file: "cell-count.csv", exit: 1, rows: [[2, "valid"], [3, "invalid", "CSV_COLUMN_COUNT", /expected 2 cells, got 3/], [4, "invalid", "CSV_COLUMN_COUNT", /expected 2 cells, got 1/], [5, "valid"]] },
  { file: "duplicate-header.csv", exit: 2, stderr: /Invalid header: column name `user_id` appears twice \(test\/fixtures\/bad\/duplicate-header\.csv, line 1\)/ },
  { file: "empty-header.csv", exit: 2, stderr: /Invalid header: column 2 has no name \(test\/fixtures\/bad\/empty-header\.csv, line 1\)/ },
  // A header-only file is a run of 0 rows (README "Decisions"); no header at all is an error.
  { file: "header-only.csv", exit: 0, rows: [] },
  { file: "header-only-no-newline.csv", exit: 0, rows: [] },
  { file: "empty.csv", exit: 2, stderr: /Input file is empty: test\/fixtures\/bad\/empty\.csv/ },
  { file: "blank-only.csv", exit: 2, stderr: /Input file is empty: test\/fixtures\/bad\/blank-only\.csv holds only blank lines/ },
  // Blank and whitespace-only lines are skipped; the numbers of the lines after them stay true.
  { file: "blank-lines.csv", exit: 1, rows: [[3, "valid"], [6, "valid"], [7, "invalid", "REQUIRED"]] },
  { file: "bom-crlf.csv", exit: 0, rows: [[2, "valid"], [3, "valid"]] },
  // LF first, then CRLF lines: the CR is a line end, not part of the last cell.
  { file: "mixed-line-ends.csv", exit: 0, rows: [[2, "valid"], [3, "valid"], [4, "valid"]] },
  // CRLF first, then an LF line: csv-parse keeps the first kind of line end it meets; the reader
  // adds LF after a CRLF, so each line is its own record.
  { file: "mixed-line-ends-crlf-first.csv", exit: 0, rows: [[2, "valid"], [3, "valid"], [4, "valid"]] },

  // --- Encoding.
  { file: "invalid-utf8.csv", exit: 1, rows: [[2, "valid"], [3, "invalid", "INVALID_UTF8", /cell `name` is not valid UTF-8/], [4, "valid"]] },
  { file: "latin1-header.csv", exit: 2, stderr: /Input is not UTF-8 text: the name of column 2 is not valid UTF-8 \(test\/fixtures\/bad\/latin1-header\.csv, line 1\)/ },
  { file: "nul-byte.csv", exit: 1, rows: [[2, "invalid", "NUL_CHARACTER", /cell `name` holds a NUL character/], [3, "valid"]] },
  { file: "utf16le-bom.csv", exit: 2, stderr: /Input file is UTF-16, not UTF-8: test\/fixtures\/bad\/utf16le-bom\.csv/ },
  { file: "utf16le-nobom.csv", exit: 2, stderr: /Input file is UTF-16, not UTF-8: test\/fixtures\/bad\/utf16le-nobom\.csv/ },
  { file: "utf16be-bom.csv", exit: 2, stderr: /Input file is UTF-16, not UTF-8: test\/fixtures\/bad\/utf16be-bom\.csv/ },

  // --- JSONL.
  {
    file: "mixed.jsonl",
    exit: 1,
    rows: [
      [1, "valid"],
      [2, "invalid", "INPUT_BAD_JSON", /^not JSON/],
      [3, "invalid", "INPUT_NOT_OBJECT", /got an array/],
      [4, "invalid", "INPUT_NOT_OBJECT", /got string/],
      [5, "invalid", "INPUT_NOT_OBJECT", /got number/],
      [6, "invalid", "INPUT_NOT_OBJECT", /got null/],
      [8, "valid"],
      // The last line, cut short and without a line end.
      [9, "invalid", "INPUT_BAD_JSON"],
    ],
  },
  { file: "odd-lines.jsonl", exit: 1, rows: [[1, "invalid", "INPUT_NOT_OBJECT", /got boolean/], [2, "invalid", "INPUT_BAD_JSON"], [3, "valid"]] },
  { file: "bom-crlf.jsonl", exit: 0, rows: [[1, "valid"], [3, "valid"], [5, "valid"]] },
  // Lines ending in a CR alone run together into one line: the message says why.
  { file: "cr-only.jsonl", exit: 1, rows: [[1, "invalid", "INPUT_BAD_JSON", /the line holds a CR: JSONL lines end in LF or CRLF.*convert them to LF/]] },
  { file: "invalid-utf8.jsonl", exit: 1, rows: [[1, "valid"], [2, "invalid", "INVALID_UTF8"], [3, "invalid", "INVALID_UTF8"], [4, "valid"]] },
  // UserId as an object, a list or a boolean is WRONG_TYPE; as a number it is taken as text.
  { file: "wrong-types.jsonl", exit: 1, rows: [[1, "invalid", "WRONG_TYPE", /must be text, got object/], [2, "valid"], [3, "invalid", "WRONG_TYPE", /got a list/], [4, "invalid", "WRONG_TYPE", /got boolean/]] },
  // 12345678901234567891 reads as 12345678901234567000: refused, never sent as another id.
  { file: "big-integer.jsonl", exit: 1, rows: [[1, "invalid", "UNSAFE_NUMBER", /^UserId is a JSON number beyond 2\^53 \(read as 12345678901234567000\).*line 1, field UserId/], [2, "valid"], [3, "valid"]] },
  { file: "missing-values.jsonl", exit: 1, rows: [[1, "invalid", "REQUIRED"], [2, "invalid", "REQUIRED"], [3, "invalid", "REQUIRED"], [4, "valid"]] },
  { file: "empty.jsonl", exit: 2, stderr: /Input file is empty: test\/fixtures\/bad\/empty\.jsonl/ },
  { file: "blank-only.jsonl", exit: 2, stderr: /Input file is empty: test\/fixtures\/bad\/blank-only\.jsonl holds only blank lines/ },
];

async function validate(file: string, report: string, extra: string[] = []) {
  return runCli(["validate", file, "-p", "zego", "-m", mapping, "--report", report, ...extra]);
}

/** The report's rows in line order, as [line, status, code, message] where the expectation has them. */
function outcomes(report: string, expected: Row[]): unknown[][] {
  return readReport(report)
    .sort((a, b) => a.line - b.line)
    .map((x, i) => {
      const want: unknown[] = expected[i] ?? [];
      const got: unknown[] = [x.line, x.status];
      if (want.length > 2) got.push(x.code);
      // The message as the expected pattern when it matches, so a mismatch shows the real text.
      if (want[3] instanceof RegExp) got.push(want[3].test(x.message ?? "") ? want[3] : x.message);
      return got;
    });
}

describe("bad input never crashes and never disappears", () => {
  writeFileSync(`${dir}/semi.yaml`, "fields:\n  UserId: user_id\n  UserName: name\n");
  it.each(CASES.map((c) => ({ ...c, title: `${c.file} → exit ${c.exit}` })))("$title", async ({ file, exit, stderr, rows }) => {
    const report = `${dir}/${file}.report.jsonl`;
    const r = await validate(`${F}/${file}`, report);
    expect(r.code, r.stderr).toBe(exit);
    if (stderr) {
      expect(r.stderr).toMatch(stderr);
      // Refused before any row was processed: no report, or an empty one.
      if (existsSync(report)) expect(readReport(report)).toEqual([]);
      return;
    }
    expect(r.stderr).not.toMatch(/error:/);
    expect(outcomes(report, rows!)).toEqual(rows);
    for (const x of readReport(report).filter((y) => y.status === "invalid")) expect(x.message).toContain(`${F}/${file}, line ${x.line}`);
    if (file.startsWith("header-only")) {
      expect(r.stdout).toMatch(/: 0 row\(s\)/);
      // No row at all is no row without a value: nothing to warn about.
      expect(r.stderr).not.toMatch(/had a value/);
    }
  });

  it("the empty-field warning counts rows that could not be read apart: one of them may have held the value", async () => {
    const m = `${dir}/big.yaml`;
    writeFileSync(m, "fields:\n  UserId: user_id\n  UserName: name\n");
    const j = `${dir}/big-line.jsonl`;
    writeFileSync(j, `{"user_id":"u1"}\n{"user_id":"u2","name":"${"x".repeat(1100000)}"}\n`);
    const r = await runCli(["validate", j, "-p", "zego", "-m", m, "--report", `${dir}/big-line.report.jsonl`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No readable row of .*big-line\.jsonl had a value for fields\.UserName \(column `name`\): is its name right\? \(the field is empty in every readable row; 1 row\(s\) could not be read\)/);
    const c = `${dir}/big-cell.csv`;
    writeFileSync(c, `user_id,name\nu1,\nu2,${"x".repeat(70000)}\nu3,\n`);
    const r2 = await runCli(["validate", c, "-p", "zego", "-m", m, "--report", `${dir}/big-cell.report.jsonl`]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/No readable row of .*big-cell\.csv had a value for fields\.UserName \(column `name`\): the field is empty in every readable row; 1 row\(s\) could not be read\n/);
  });

  it("values of the wrong type are reported on their rows, not warned about as a field no row had", async () => {
    const f = `${dir}/wrong-type-template.jsonl`;
    writeFileSync(f, '{"id":"u1","name":{"first":{"x":1},"last":"A"}}\n{"id":"u2","name":{"first":["a"],"last":"B"}}\n');
    const m = `${dir}/wrong-type-template.yaml`;
    writeFileSync(m, 'fields:\n  UserId: id\n  UserName: { template: "{name.first} {name.last}" }\n');
    const report = `${dir}/wrong-type-template.report.jsonl`;
    const r = await runCli(["validate", f, "-p", "zego", "-m", m, "--report", report]);
    expect(r.code).toBe(1);
    expect(readReport(report).map((x) => [x.line, x.code])).toEqual([
      [1, "WRONG_TYPE"],
      [2, "WRONG_TYPE"],
    ]);
    expect(r.stderr).not.toMatch(/had a value/);
  });

  it("a template placeholder empty in every row is warned about as that placeholder, not as an empty field", async () => {
    const f = `${dir}/blank-part.csv`;
    writeFileSync(f, "id,blank\n1,\n2,\n");
    const m = `${dir}/blank-part.yaml`;
    writeFileSync(m, 'fields:\n  UserId: id\n  UserName: { template: "x-{id}-{blank}" }\n');
    const r = await runCli(["validate", f, "-p", "zego", "-m", m, "--report", `${dir}/blank-part.report.jsonl`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/fields\.UserName \(placeholder `\{blank\}` of its template\): that placeholder is empty in every row\n/);
    expect(r.stderr).not.toMatch(/the field is empty/);
  });

  it("a number as UserId is reported under its text", async () => {
    const report = `${dir}/wt.jsonl`;
    await validate(`${F}/wrong-types.jsonl`, report);
    expect(readReport(report).find((x) => x.line === 2)!.key).toBe("123");
  });

  it("a JSONL path no row holds is named in a warning (a misspelt path imports nothing for that field)", async () => {
    const f = `${dir}/paths.jsonl`;
    writeFileSync(f, '{"id":"u1","profile":{"name":"Ann"}}\n{"id":"u2","profile":{"name":"Bob"}}\n');
    const m = `${dir}/paths.yaml`;
    writeFileSync(m, "fields:\n  UserId: id\n  UserName: profile.nmae\n  UserAvatar: { value: https://example.com/a.png }\n");
    const r = await runCli(["validate", f, "-p", "zego", "-m", m, "--report", `${dir}/paths.report.jsonl`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/No row of .*paths\.jsonl had a value for fields\.UserName \(column `profile\.nmae`\): is its name right\? \(the field is empty in every row\)/);
    expect(r.stderr).not.toMatch(/fields\.(UserId|UserAvatar)/);
    // A CSV column is in the header: the warning says it is empty throughout, and whether a default filled it.
    const c = `${dir}/empty-col.csv`;
    writeFileSync(c, "id,name,avatar\nu1,,\nu2,,\n");
    const cm = `${dir}/empty-col.yaml`;
    writeFileSync(cm, "fields:\n  UserId: id\n  UserName: name\n  UserAvatar: { column: avatar, default: https://example.com/a.png }\n");
    const e = await runCli(["validate", c, "-p", "zego", "-m", cm, "--report", `${dir}/empty-col.report.jsonl`]);
    expect(e.stderr).toMatch(/fields\.UserName \(column `name`\): the field is empty in every row\n/);
    expect(e.stderr).toMatch(/fields\.UserAvatar \(column `avatar`\): its default was used in every row\n/);
    expect(e.stderr).not.toMatch(/empty-col\.csv.*is its name right/);
  });

  it("a header split on the wrong delimiter says which one to pass", async () => {
    const r = await runCli(["validate", "test/fixtures/semicolon.csv", "-p", "zego", "-m", `${dir}/semi.yaml`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/The header looks delimited by `;`: pass --delimiter ';'/);
  });

  it("an empty delimiter, or a quote or line break as one, is a usage error, not a crash", async () => {
    for (const d of ["", '"', "\n"]) {
      const r = await runCli(["validate", `${F}/bom-crlf.csv`, "-p", "zego", "--delimiter", d]);
      expect(r.code, JSON.stringify(d)).toBe(2);
      expect(r.stderr).toMatch(/--delimiter takes a character/);
      expect(r.stderr).not.toMatch(/unexpected failure|at .*\.js:\d+/);
    }
  });

  it("a mapped column missing from the header is exit 2 naming the mapping file and key", async () => {
    const m = `${dir}/missing.yaml`;
    writeFileSync(m, "fields:\n  UserId: user_id\n  UserName: full_name\n");
    const report = `${dir}/mc.jsonl`;
    const r = await runCli(["validate", `${F}/bom-crlf.csv`, "-p", "zego", "-m", m, "--report", report]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/column `full_name` is not in the header of test\/fixtures\/bad\/bom-crlf\.csv \(.*missing\.yaml, fields\.UserName\)/);
    if (existsSync(report)) expect(readReport(report)).toEqual([]);
  });

  it("a mapping whose constant breaks its field's rules is exit 2 before any row, naming the file and key", async () => {
    const m = `${dir}/constant.yaml`;
    writeFileSync(m, 'fields:\n  UserId: user_id\n  UserName: { template: "{user_id} {name" }\n');
    const report = `${dir}/constant.jsonl`;
    const r = await runCli(["validate", `${F}/bom-crlf.csv`, "-p", "zego", "-m", m, "--report", report]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the `\{` at character 11 of the template is not part of a \{column\} placeholder .*\(.*constant\.yaml, fields\.UserName\.template\)/);
    writeFileSync(m, "fields:\n  UserId: user_id\n  UserName: { value: [a, b] }\n");
    const r2 = await runCli(["validate", `${F}/bom-crlf.csv`, "-p", "zego", "-m", m, "--report", report]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/the value of fields\.UserName would make every row invalid: UserName must be text, got a list \(.*constant\.yaml, fields\.UserName\.value\)/);
    if (existsSync(report)) expect(readReport(report)).toEqual([]);
  });

  it("a 10 MB CSV cell makes its row invalid and the run goes on", async () => {
    const f = `${dir}/huge.csv`;
    writeFileSync(f, `user_id,name\nu1,a\nu2,${"x".repeat(10 * 1024 * 1024)}\nu3,c\n`);
    const report = `${dir}/huge.report.jsonl`;
    const r = await validate(f, report);
    expect(r.code).toBe(1);
    const rows = readReport(report).sort((a, b) => a.line - b.line);
    expect(rows.map((x) => [x.line, x.status, x.code])).toEqual([
      [2, "valid", undefined],
      [3, "invalid", "CELL_TOO_LARGE"],
      [4, "valid", undefined],
    ]);
    expect(rows[1]!.message).toMatch(/^cell `name` holds more than 65536 characters \(\d+\.\d MB; limit 65536\)/);
  });

  it("a 10 MB JSONL line makes its row invalid and the run goes on", async () => {
    const f = `${dir}/huge.jsonl`;
    writeFileSync(f, `{"user_id":"j1"}\n{"user_id":"j2","name":"${"x".repeat(10 * 1024 * 1024)}"}\n{"user_id":"j3"}\n`);
    const report = `${dir}/huge-jsonl.report.jsonl`;
    const r = await validate(f, report);
    expect(r.code).toBe(1);
    expect(readReport(report).sort((a, b) => a.line - b.line).map((x) => [x.line, x.status, x.code])).toEqual([
      [1, "valid", undefined],
      [2, "invalid", "LINE_TOO_LARGE"],
      [3, "valid", undefined],
    ]);
  });

  it("a quote left open on line 3 of a 100,000-line file is one invalid outcome for lines 3–100000", async () => {
    const f = `${dir}/open-quote.csv`;
    const out = createWriteStream(f);
    out.write('user_id,name\nu1,Ann\nu2,"never closed\n');
    for (let i = 0; i < 100; i++) out.write("u9,filler\n".repeat(i === 99 ? 997 : 1000));
    out.end();
    await once(out, "finish");
    const report = `${dir}/open-quote.report.jsonl`;
    const r = await validate(f, report);
    expect(r.code).toBe(1);
    const rows = readReport(report);
    expect(rows.map((x) => [x.line, x.status, x.code])).toEqual([
      [2, "valid", undefined],
      [3, "invalid", "CSV_QUOTE_NOT_CLOSED"],
    ]);
    expect(rows[1]!.message).toMatch(/^unreadable CSV on lines 3–100000 \(read as one record; nothing there was imported\): cell `name` opens a quote on line 3 that is never closed/);
    expect(readFileSync(f, "utf8").match(/\n/g)).toHaveLength(100000);
  });

  it("an open quote or a huge cell is never held in memory whole", async () => {
    // Live buffer memory, measured after a forced collection every 32 chunks of 64 KiB.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const chunk = Buffer.from("u9,filler filler filler filler filler filler\n".repeat(1456)); // ~64 KiB
    for (const head of ['user_id,name\nu1,Ann\nu2,"never closed\n', "user_id,name\nu1,Ann\nu2,"]) {
      let peak = 0;
      gc();
      const base = process.memoryUsage().arrayBuffers;
      const filler = head.endsWith(",") ? Buffer.alloc(chunk.length, "x") : chunk;
      function* source() {
        yield Buffer.from(head);
        for (let i = 0; i < 320; i++) {
          if (i % 32 === 0) {
            gc();
            peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
          }
          yield filler; // 20 MiB in all
        }
        yield Buffer.from("\nu3,Cy\n");
      }
      const got: [number, string][] = [];
      for await (const batch of readCsvBatches(Readable.from(source()), "big.csv", 0)) for (const rec of batch) got.push([rec.line, rec.error?.code ?? "ok"]);
      const openQuote = !head.endsWith(",");
      // An open quote runs to the end of the input; an unquoted 20 MiB cell ends with its line.
      expect(got).toEqual(openQuote ? [[2, "ok"], [3, "CSV_QUOTE_NOT_CLOSED"]] : [[2, "ok"], [3, "CELL_TOO_LARGE"], [4, "ok"]]);
      expect(peak).toBeLessThan(8 * 1024 * 1024);
    }
  });

  it("--max-errors 2 stops after the second bad row with exit 3 and says so", async () => {
    const report = `${dir}/max.jsonl`;
    const r = await validate(`${F}/many-bad.csv`, report, ["--max-errors", "2"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/: 2 row\(s\)[\s\S]*invalid 2[\s\S]*stopped by --max-errors/);
    expect(r.stderr).toMatch(/Stopping: 2 rows invalid or failed \(--max-errors 2\)/);
    expect(readReport(report).map((x) => [x.line, x.status])).toEqual([
      [2, "invalid"],
      [3, "invalid"],
    ]);
    const j = await validate(`${F}/many-bad.csv`, `${dir}/max2.jsonl`, ["--max-errors", "2", "--json"]);
    expect(j.code).toBe(3);
    expect(JSON.parse(j.stdout)).toMatchObject({ stopped: "max-errors", rows: 2, counts: { invalid: 2, valid: 0 }, exitCode: 3 });
    // A dry run has nothing to resume: no resume command.
    expect(r.stderr + j.stderr).not.toMatch(/--resume/);
  });

  it("duplicates do not count towards --max-errors; 0, or an empty value, is a usage error", async () => {
    writeFileSync(`${dir}/dups.csv`, "user_id\na\na\na\nbad id\nok\n");
    const r = await validate(`${dir}/dups.csv`, `${dir}/dups.jsonl`, ["--max-errors", "2", "--json"]);
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s.stopped).toBeUndefined();
    expect(s.counts).toMatchObject({ valid: 2, duplicate: 2, invalid: 1 });
    for (const args of [["--max-errors", "0"], ["--max-errors", ""], ["--retries", ""], ["--grace", " "]]) {
      const bad = await runCli(["import", `${dir}/dups.csv`, "-p", "zego", "-m", mapping, "--sandbox", "--report", `${dir}/dups.jsonl`, ...args]);
      expect([bad.code, bad.stderr], args.join(" ")).toEqual([2, expect.stringMatching(/takes a whole number from/)]);
    }
  });

  it("standard input: UTF-16 without a byte order mark, or nothing but blank lines, is exit 2", async () => {
    const utf16 = await runCli(["validate", "-", "-p", "zego", "-m", mapping, "--report", `${dir}/s1.jsonl`], { stdin: "u\0s\0e\0r\0_\0i\0d\0\n\0u\x001\0\n\0" });
    expect(utf16.code).toBe(2);
    expect(utf16.stderr).toMatch(/Input is not UTF-8 text: the header holds NUL bytes, as a UTF-16 or binary file does \(-, line 1\)/);
    const blank = await runCli(["validate", "-", "-p", "zego", "-m", mapping, "--report", `${dir}/s2.jsonl`], { stdin: "\n  \n" });
    expect(blank.code).toBe(2);
    expect(blank.stderr).toMatch(/Input is empty: - has no header row, only blank lines/);
  });
});
