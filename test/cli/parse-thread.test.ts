import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PARSE_THREAD_MIN_BYTES } from "../../src/readers/csv-thread.js";
import { readReport, tmp } from "../helpers.js";

// The parse thread runs the compiled worker, so these tests go through bin/ (dist/, built by the
// global setup), as a user's run does.
const dir = tmp("bu-thread-");
const mapping = `${dir}/m.yaml`;
writeFileSync(mapping, "fields:\n  UserId: user_id\n  UserName: name\n");
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

  it("feeds an import (when asked: imports default to one thread) with the same outcomes", () => {
    const counts = (["on", "off"] as const).map((mode) => {
      const report = `${dir}/import-${mode}.jsonl`;
      const r = run(["import", "samples/users.csv", "-p", "zego", "-m", "samples/zego.mapping.yaml", "--sandbox", "--report", report, "--no-progress", "--parse-thread", mode]);
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
});
