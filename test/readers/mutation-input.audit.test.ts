import { spawnSync } from "node:child_process";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readCsvBatches } from "../../src/readers/csv.js";
import { readJsonl } from "../../src/readers/jsonl.js";
import type { SourceRecord } from "../../src/types.js";
import { readReport, runCli, tmp, write } from "../helpers.js";

/**
 * Gap tests from a mutation run of the input side (readers, mapping, field rules, duplicate
 * check): each pins a behaviour whose mutant (named in the test) got through every other test.
 */

const dir = tmp("bu-mut-input-");
let n = 0;

/**
 * `validate` of `lines` (JSONL) with a mapping: exit code, stderr and the report rows by line.
 * `bin`: through bin/ (the parse thread's worker runs from dist/).
 */
async function validateJsonl(provider: string, lines: string[], fields: Record<string, unknown>, extra: string[] = [], bin = false) {
  const file = write(dir, `in-${++n}.jsonl`, `${lines.join("\n")}\n`);
  const mapping = write(dir, `map-${n}.json`, JSON.stringify({ fields }));
  const report = `${dir}/report-${n}.jsonl`;
  const args = ["validate", file, "-p", provider, "-m", mapping, "--report", report, "--no-progress", ...extra];
  let r: { code: number; stderr: string };
  if (bin) {
    const p = spawnSync(process.execPath, ["bin/bulk-users.js", ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 });
    r = { code: p.status ?? -1, stderr: p.stderr };
  } else r = await runCli(args);
  return { ...r, rows: readReport(report).sort((a, b) => a.line - b.line) };
}

describe("readers (mutation audit)", () => {
  // Mutant: a cell cut once it holds 2 × the limit in bytes (not 4 ×), so a cell of 3-byte characters under the limit is refused.
  it("keeps a CSV cell of CJK characters at the limit whole, however the reads split it", async () => {
    const name = "漢".repeat(100);
    const bytes = Buffer.from(`id,name\nu1,${name}\nu2,ok\n`);
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 16) pieces.push(bytes.subarray(i, i + 16));
    const rows: SourceRecord[] = [];
    for await (const b of readCsvBatches(Readable.from(pieces), "x.csv", 0, { maxCellLength: 100 })) rows.push(...b);
    expect(rows.map((r) => [r.line, r.error?.code, r.data.name])).toEqual([
      [2, undefined, name],
      [3, undefined, "ok"],
    ]);
  });

  // Mutant: the line V8 quotes in a JSON.parse error is kept in the row's message.
  it("names what is wrong with a line that is not JSON without quoting the line (a password may be in it)", async () => {
    const rows: SourceRecord[] = [];
    for await (const r of readJsonl(Readable.from(['{"id":"u1","password":S3cret-Pa55}\n']), "x.jsonl", 0)) rows.push(r);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.error?.code).toBe("INPUT_BAD_JSON");
    expect(rows[0]!.error?.message).toMatch(/^not JSON: Unexpected token/);
    expect(rows[0]!.error?.message).not.toContain("S3cret");
  });

  // Mutant: the parse thread's scanner reads past an array on a dotted path (`ids.0`) as if no value were there.
  it("reads a dotted path through a list (ids.0) in the parse thread as on one thread, past the first block", async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ ids: [`u${i}`, "x"], name: `Name ${i}` }));
    const fields = { UserId: "ids.0", UserName: "name" };
    for (const mode of ["on", "off"]) {
      const r = await validateJsonl("zego", lines, fields, ["--parse-thread", mode], true);
      expect(r.code).toBe(0);
      expect(r.rows).toHaveLength(3000);
      expect(r.rows.every((row, i) => row.status === "valid" && row.key === `u${i}`)).toBe(true);
    }
  });

  // Mutant: a JSONL file's columns announced on every block, which compiles its mapping afresh and forgets the values seen.
  it("does not warn of a JSONL field whose key held values only in the first block", async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify(i < 10 ? { id: `u${i}`, name: `N${i}`, avatar: `https://a.example/${i}.png` } : { id: `u${i}`, name: `N${i}` }));
    const r = await validateJsonl("zego", lines, { UserId: "id", UserName: "name", UserAvatar: "avatar" }, ["--parse-thread", "off"]);
    expect(r.code).toBe(0);
    expect(r.rows).toHaveLength(3000);
    expect(r.stderr).not.toContain("fields.UserAvatar");
  });
});

describe("field rules (mutation audit)", () => {
  // Mutant: a surrogate pair (an emoji) counted as two characters against IMKIT's 255-character nickname.
  it("counts an emoji as one character against a length in characters", async () => {
    const r = await validateJsonl("imkit", [JSON.stringify({ id: "u1", name: "😀".repeat(200) }), JSON.stringify({ id: "u2", name: "😀".repeat(256) })], { _id: "id", nickname: "name" });
    expect(r.rows.map((row) => [row.key, row.status, row.code])).toEqual([
      ["u1", "valid", undefined],
      ["u2", "invalid", "TOO_LONG"],
    ]);
  });

  // Mutant: `>=` for ZEGO's byte limit, refusing a UserId of exactly 32 bytes.
  it("accepts a value of exactly the byte limit and refuses one byte more", async () => {
    const at = "a".repeat(32);
    const r = await validateJsonl("zego", [JSON.stringify({ id: at, name: "A" }), JSON.stringify({ id: `${at}b`, name: "B" })], { UserId: "id", UserName: "name" });
    expect(r.rows.map((row) => [row.status, row.field])).toEqual([
      ["valid", undefined],
      ["invalid", "UserId"],
    ]);
  });

  // Mutant: the lost-digits message quotes a secret field's number.
  it("does not quote a secret field's number that lost digits in JSON", async () => {
    const r = await validateJsonl("genauth", ['{"email":"a@example.com","password":12345678901234567890}'], { email: "email", password: "password" });
    expect(r.rows[0]).toMatchObject({ status: "invalid", code: "UNSAFE_NUMBER", field: "password" });
    expect(r.rows[0]!.message).toContain("***");
    expect(JSON.stringify(r.rows)).not.toContain("1234567890");
  });

  // Mutant: one more level allowed before TOO_DEEP (101 where README says more than 100 are refused).
  it("refuses an object field nested more than 100 levels, and takes one of 100", async () => {
    const nest = (levels: number) => "{\"a\":".repeat(levels - 1) + "{}" + "}".repeat(levels - 1);
    const r = await validateJsonl(
      "genauth",
      [`{"email":"a@example.com","custom":${nest(100)}}`, `{"email":"b@example.com","custom":${nest(101)}}`],
      { email: "email", customData: "custom" },
    );
    expect(r.rows.map((row) => [row.key, row.status, row.code])).toEqual([
      ["a@example.com", "valid", undefined],
      ["b@example.com", "invalid", "TOO_DEEP"],
    ]);
  });
});
