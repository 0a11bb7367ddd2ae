import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PARSE_THREAD_MIN_BYTES } from "../../src/readers/parse-thread.js";
import { readReport, tmp } from "../helpers.js";

// The parse thread runs the compiled worker, so these tests go through bin/ (dist/, built by the
// global setup), as a user's run does.
const dir = tmp("bu-thread-");
const mapping = `${dir}/m.yaml`;
writeFileSync(mapping, "fields:\n  UserId: user_id\n  UserName: name\n");
const nested = `${dir}/nested.yaml`;
writeFileSync(nested, 'fields:\n  UserId: user_id\n  UserName: { template: "{name.first} {name.last}", transform: [trim] }\n');
const bare = `${dir}/bare.yaml`;
writeFileSync(bare, "fields:\n  UserId: user_id\n");

function run(args: string[], nodeFlags: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeFlags, "bin/bulk-users.js", ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same validate run with the parse thread on and off: exit code, stderr, summary and report. */
function both(files: string[], extra: string[] = [], nodeFlags: string[] = []) {
  const out = (["on", "off"] as const).map((mode) => {
    const report = `${dir}/r-${mode}-${Math.random().toString(36).slice(2)}.jsonl`;
    const r = run(["validate", ...files, "-p", "zego", "--report", report, "--json", "--parse-thread", mode, ...extra], nodeFlags);
    const summary = r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
    if (summary) for (const k of ["durationMs", "usersPerSecond", "report"]) delete summary[k];
    let rows = "";
    try {
      rows = readFileSync(report, "utf8");
    } catch {
      /* a run-level error writes no rows */
    }
    return { code: r.code, stderr: r.stderr, summary, rows };
  });
  return { on: out[0]!, off: out[1]! };
}

/** ~5 MiB of rows with every kind of cell the reader treats specially, scattered through it. */
function bigFile(name: string, rows = 120_000): string {
  const parts = ["user_id,name,email\n"];
  for (let i = 0; i < rows; i++) {
    const id = `u${i}`;
    if (i === 100) parts.push(`${id},"two\nlines, quoted",a${i}@example.com\n`);
    else if (i === 2000) parts.push(`${id},"crlf\r\ninside",a${i}@example.com\r\n`);
    else if (i === 9000) parts.push(`${id},"never"closed,a${i}@example.com\n`);
    else if (i === 12000) parts.push(`${id},too,many,cells\n`);
    else if (i === 15000) parts.push("\n\n");
    else if (i === 20000) parts.push(`${id},"${"x".repeat(70_000)}",big@example.com\n`);
    else if (i === 30000) parts.push(`${id},Zo\u{FFFD}ë,a${i}@example.com\n`);
    else if (i === 40000) parts.push(`${id},nul\0here,a${i}@example.com\n`);
    else if (i === 45000) parts.push(`u${i - 1},dup,a${i}@example.com\n`);
    // Under the cell limit in characters, over it in UTF-8 bytes.
    else if (i === 50000) parts.push(`${id},${"李".repeat(40_000)},a${i}@example.com\n`);
    else parts.push(`${id},"Smith, ${i}",a${i}@example.com\n`);
  }
  const text = parts.join("");
  const path = `${dir}/${name}`;
  const buf = Buffer.from(text);
  // An invalid UTF-8 byte well after the start.
  const at = buf.indexOf("u35000,");
  if (at !== -1) buf[at + 8] = 0xff;
  writeFileSync(path, buf);
  return path;
}

/** ~5 MiB of JSONL with every kind of line the reader treats specially, and values of every type. */
function bigJsonl(name: string, rows = 60_000): string {
  const parts: string[] = [];
  for (let i = 0; i < rows; i++) {
    const id = `u${i}`;
    const user = { user_id: id, name: { first: i % 7 ? "Zoë" : "李", last: `Smith, ${i}` }, email: `a${i}@example.com`, extra: { kept: i } };
    if (i === 0) parts.push(`\uFEFF${JSON.stringify(user)}\n`);
    else if (i === 100) parts.push(`${JSON.stringify(user)}\r\n`);
    else if (i === 200) parts.push("\n  \n");
    else if (i === 300) parts.push(`{"user_id": "${id}",\n`);
    else if (i === 400) parts.push("[1,2]\nnull\n42\n");
    else if (i === 500) parts.push(`${JSON.stringify({ ...user, user_id: 500 })}\n`);
    else if (i === 600) parts.push(`${JSON.stringify({ ...user, user_id: { nested: true } })}\n`);
    else if (i === 700) parts.push(`${JSON.stringify({ ...user, name: null })}\n`);
    else if (i === 800) parts.push(`${JSON.stringify({ ...user, name: { first: 7, last: ["x"] } })}\n`);
    else if (i === 900) parts.push(`${JSON.stringify({ ...user, "name.first": "flat key wins" })}\n`);
    else if (i === 1000) parts.push(`${JSON.stringify({ ...user, user_id: `nul\0${id}` })}\n`);
    else if (i === 1100) parts.push(`${JSON.stringify({ email: user.email })}\n`);
    else if (i === 1200) parts.push(`${JSON.stringify({ ...user, user_id: "u1199" })}\n`);
    else if (i === 1300) parts.push(`${JSON.stringify({ ...user, name: { first: "x".repeat(1_100_000) } })}\n`);
    else if (i === 1400) parts.push(`${JSON.stringify({ ...user, name: { first: "Zo\u{FFFD}ë", last: "" } })}\n`);
    else if (i === 1500) parts.push(`${JSON.stringify({ ...user, user_id: "" })}\n`);
    else parts.push(`${JSON.stringify(user)}\n`);
  }
  const buf = Buffer.from(parts.join(""));
  // An invalid UTF-8 byte well after the start.
  const at = buf.indexOf('"u35000"');
  if (at !== -1) buf[at + 3] = 0xff;
  const path = `${dir}/${name}`;
  writeFileSync(path, buf);
  return path;
}

describe("--parse-thread", () => {
  it("gives the same outcome as one thread for every bad-input fixture", () => {
    const files = readdirSync("test/fixtures/bad").filter((f) => f.endsWith(".csv"));
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) {
      const { on, off } = both([`test/fixtures/bad/${f}`], ["-m", bare]);
      expect({ f, ...on }).toEqual({ f, ...off });
    }
    // A BOM with CRLF line ends, and another delimiter, reach the worker as they reach csv-parse.
    for (const [f, extra] of [["test/fixtures/bom-crlf.csv", []], ["test/fixtures/semicolon.csv", ["--delimiter", ";"]]] as const) {
      const { on, off } = both([f], [...extra]);
      expect(on.summary?.rows).toBeGreaterThan(0);
      expect({ f, ...on }).toEqual({ f, ...off });
    }
  });

  it("gives the same rows, lines and errors as one thread on a big file with every special cell, and on two files in one run", () => {
    const a = bigFile("a.csv");
    const b = bigFile("b.csv", 1000);
    const { on, off } = both([a, b], ["-m", mapping]);
    expect(on).toEqual(off);
    expect(on.code).toBe(1);
    const rows = on.rows.trim().split("\n").map((l) => JSON.parse(l) as { file: string; line: number; key: string; status: string; code?: string });
    // Every record once, with its own line: line 102 spans two lines, so u101 starts on line 104.
    expect(rows.find((r) => r.file === a && r.key === "u101")?.line).toBe(104);
    const codes = rows.filter((r) => r.file === a && r.status !== "valid").map((r) => r.code);
    expect(codes).toEqual(expect.arrayContaining(["CSV_INVALID_CLOSING_QUOTE", "CSV_COLUMN_COUNT", "CELL_TOO_LARGE", "INVALID_UTF8", "NUL_CHARACTER", "DUPLICATE"]));
    expect(rows.filter((r) => r.file === b)).toHaveLength(1000);
    expect(rows.find((r) => r.file === a && r.key === "u50000")?.code).not.toBe("CELL_TOO_LARGE");
  });

  it("builds the same rows where node forbids code from strings (the per-header row builder falls back)", () => {
    const a = bigFile("nocodegen.csv", 20_000);
    const plain = both([a], ["-m", mapping]);
    const strict = both([a], ["-m", mapping], ["--disallow-code-generation-from-strings"]);
    expect(strict.on.code).toBe(1);
    expect(strict.on.rows.split("\n").length).toBeGreaterThan(19_000);
    expect(strict).toEqual(plain);
    // JSONL: the thread's compiled column reads fall back to the getters.
    const j = bigJsonl("nocodegen.jsonl", 20_000);
    const jsonl = both([j], ["-m", nested]);
    const jsonlStrict = both([j], ["-m", nested], ["--disallow-code-generation-from-strings"]);
    expect(jsonlStrict.on.rows.split("\n").length).toBeGreaterThan(19_000);
    expect(jsonlStrict).toEqual(jsonl);
    expect(jsonlStrict.on).toEqual(jsonlStrict.off);
  });

  it("is used by a dry run of a file from the threshold up, and not for a small one", () => {
    const big = bigFile("auto.csv");
    expect(readFileSync(big).length).toBeGreaterThanOrEqual(PARSE_THREAD_MIN_BYTES);
    const r = run(["validate", big, "-p", "zego", "-m", mapping, "--report", `${dir}/auto.jsonl`, "--no-progress"]);
    expect(r.stderr).toContain(`Parsing ${big} in a second thread`);
    const small = run(["validate", "samples/users.csv", "-p", "zego", "-m", "samples/zego.mapping.yaml", "--report", `${dir}/small.jsonl`, "--no-progress"]);
    expect(small.code).not.toBe(2);
    expect(small.stderr).not.toContain("second thread");
  });

  it.each(["samples/users.csv", "samples/users.jsonl"])("feeds an import of %s (when asked: imports default to one thread) with the same outcomes", (input) => {
    const counts = (["on", "off"] as const).map((mode) => {
      const report = `${dir}/import-${mode}-${input.replace(/\W/g, "")}.jsonl`;
      const r = run(["import", input, "-p", "zego", "-m", "samples/zego.mapping.yaml", "--sandbox", "--report", report, "--no-progress", "--parse-thread", mode]);
      expect(r.stderr.includes("second thread")).toBe(mode === "on");
      const rows = readReport(report).map((x) => `${x.line} ${x.key} ${x.status} ${x.code ?? ""}`).sort();
      return { code: r.code, rows };
    });
    expect(counts[0]).toEqual(counts[1]);
    expect(counts[0]!.rows.filter((x) => x.includes(" created ")).length).toBeGreaterThan(10);
  });

  it("stops reading at --max-errors and names a missing column before any row, as one thread does", () => {
    const big = bigFile("stop.csv");
    const t0 = performance.now();
    const r = run(["validate", big, "-p", "zego", "-m", mapping, "--report", `${dir}/stop.jsonl`, "--max-errors", "1", "--no-progress", "--parse-thread", "on"]);
    expect(r.code).toBe(3);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(readReport(`${dir}/stop.jsonl`).length).toBeLessThan(20_000);
    const missing = `${dir}/missing.yaml`;
    writeFileSync(missing, "fields:\n  UserId: login\n");
    const { on, off } = both([big], ["-m", missing]);
    expect(on.code).toBe(2);
    expect(on.stderr).toMatch(/column `login` is not in the header/);
    expect(on).toEqual(off);
  });

  describe("with JSONL", () => {
    it("gives the same outcome as one thread for every bad-input fixture, with and without a mapping", () => {
      const files = readdirSync("test/fixtures/bad").filter((f) => f.endsWith(".jsonl"));
      expect(files.length).toBeGreaterThan(5);
      for (const f of files)
        for (const extra of [["-m", bare], []]) {
          const { on, off } = both([`test/fixtures/bad/${f}`], extra);
          expect({ f, extra, ...on }).toEqual({ f, extra, ...off });
        }
    });

    it("gives the same rows, lines and errors as one thread on a big file with every special line and value, and on two files in one run", () => {
      const a = bigJsonl("a.jsonl");
      const b = bigJsonl("b.jsonl", 1000);
      expect(readFileSync(a).length).toBeGreaterThanOrEqual(PARSE_THREAD_MIN_BYTES);
      const { on, off } = both([a, b], ["-m", nested]);
      expect(on).toEqual(off);
      expect(on.code).toBe(1);
      const rows = on.rows.trim().split("\n").map((l) => JSON.parse(l) as { file: string; line: number; key: string; status: string; code?: string });
      const codes = rows.filter((r) => r.file === a && r.status !== "valid").map((r) => r.code);
      expect(codes).toEqual(expect.arrayContaining(["INPUT_BAD_JSON", "INPUT_NOT_OBJECT", "LINE_TOO_LARGE", "INVALID_UTF8", "DUPLICATE"]));
      // Line 1 starts with a BOM; blank lines and the three non-objects keep later lines in place.
      expect(rows.find((r) => r.file === a && r.key === "u0")?.status).toBe("valid");
      expect(rows.find((r) => r.file === a && r.key === "u1500")).toBeUndefined();
      expect(rows.find((r) => r.file === a && r.key === "u401")?.line).toBe(405);
      // 1,000 lines of users, less the blank ones, plus the three non-objects in place of one.
      expect(rows.filter((r) => r.file === b)).toHaveLength(1000 - 1 + 2);
    });

    it("maps the same values as one thread, with no mapping given, and writes whole rows to --failed-out", () => {
      const a = bigJsonl("fix.jsonl");
      const out = (["on", "off"] as const).map((mode) => {
        const fix = `${dir}/fix-${mode}.jsonl`;
        const report = `${dir}/fix-${mode}-report.jsonl`;
        const r = run(["validate", a, "-p", "zego", "--report", report, "--failed-out", fix, "--no-progress", "--parse-thread", mode]);
        expect(r.stderr.includes("second thread")).toBe(mode === "on");
        return { code: r.code, report: readFileSync(report, "utf8"), fix: readFileSync(fix, "utf8") };
      });
      expect(out[0]).toEqual(out[1]);
      // The rows to fix carry every field of the input line, not only the mapped ones.
      const fixed = out[0]!.fix.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(fixed.find((r) => (r.user_id as { nested?: boolean })?.nested)).toMatchObject({ email: "a600@example.com", extra: { kept: 600 } });
    });

    it("is used by a dry run of a file from the threshold up, and a mapping it cannot make stops the run as with one thread", () => {
      const big = bigJsonl("auto.jsonl");
      const r = run(["validate", big, "-p", "zego", "-m", nested, "--report", `${dir}/auto-j.jsonl`, "--no-progress"]);
      expect(r.stderr).toContain(`Parsing ${big} in a second thread`);
      const other = `${dir}/other.jsonl`;
      writeFileSync(other, readFileSync(big, "utf8").replace(/"user_id"/g, '"login"'));
      const { on, off } = both([other]);
      expect(on.code).toBe(2);
      expect(on.stderr).toMatch(/no column of .* is named like the key field/);
      expect(on).toEqual(off);
    });
  });

  it("reads a column named like an Object member (constructor, toString, __proto__) only where the record has it", () => {
    const file = `${dir}/proto.jsonl`;
    // Own values too long for ZEGO show they were read; rows without them must map to nothing.
    const lines = [
      JSON.stringify({ user_id: "a" }),
      JSON.stringify({ user_id: "b", constructor: "B".repeat(70) }),
      JSON.stringify({ user_id: "c", profile: { toString: "x".repeat(501) } }),
      `{"user_id":"d","__proto__":"${"D".repeat(70)}"}`,
      JSON.stringify({ user_id: "e", profile: {} }),
    ];
    writeFileSync(file, `${lines.join("\n")}\n`);
    const map = `${dir}/proto.yaml`;
    writeFileSync(map, 'fields:\n  UserId: user_id\n  UserName: { template: "{constructor}{__proto__}" }\n  UserAvatar: profile.toString\n');
    const { on, off } = both([file], ["-m", map]);
    expect(on).toEqual(off);
    const rows = on.rows.trim().split("\n").map((l) => JSON.parse(l) as { key: string; status: string; field?: string });
    expect(rows.map((r) => [r.key, r.status, r.field])).toEqual([
      ["a", "valid", undefined],
      ["b", "invalid", "UserName"],
      ["c", "invalid", "UserAvatar"],
      ["d", "invalid", "UserName"],
      ["e", "valid", undefined],
    ]);
  });

  it("keeps every row of a JSONL file with values nested thousands deep, which cannot cross threads as values", () => {
    const file = `${dir}/deep.jsonl`;
    const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
    const line = (s: string) => Buffer.from(`${s}\n`);
    writeFileSync(
      file,
      Buffer.concat([
        line(JSON.stringify({ user_id: "a", name: "ok" })),
        line(`{"user_id":"b","name":${deep(4000)}}`),
        line(JSON.stringify({ user_id: "c", name: "ok" })),
        line(`{"user_id":"d","name":${deep(100_000)}}`),
        // A byte that is not UTF-8 as well: the row error carries the parsed record, nested as deep.
        Buffer.from('{"user_id":"e'),
        Buffer.from([0xff]),
        line(`","other":${deep(10_000)}}`),
        line(JSON.stringify({ user_id: "f", name: "ok" })),
      ]),
    );
    for (const out of [`${dir}/deep-failed.jsonl`, `${dir}/deep-failed.csv`]) {
      const { on, off } = both([file], ["-m", mapping, "--failed-out", out]);
      expect(on).toEqual(off);
      expect(on.code).toBe(1);
      const rows = on.rows.trim().split("\n").map((l) => JSON.parse(l) as { line: number; status: string; code?: string });
      expect(rows.map((r) => [r.line, r.status, r.code])).toEqual([
        [1, "valid", undefined],
        [2, "invalid", "WRONG_TYPE"],
        [3, "valid", undefined],
        [4, "invalid", "WRONG_TYPE"],
        [5, "invalid", "INVALID_UTF8"],
        [6, "valid", undefined],
      ]);
      // The bad lines go to --failed-out as they were, the one not UTF-8 too (its byte as U+FFFD).
      const failed = readFileSync(out, "utf8");
      expect(failed).toContain(out.endsWith(".csv") ? "e\uFFFD," : '{"user_id":"e\uFFFD","other":[[[');
      expect(failed.length).toBeGreaterThan(2 * (4000 + 100_000 + 10_000));
    }
  });
});
