import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "csv-parse/sync";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, runCli, tmp, write } from "../helpers.js";

const env = { ZEGO_APP_ID: "999", ZEGO_SERVER_SECRET: "fix-secret-fix-secret-fix-secr01" };

describe("--failed-out: the rows to fix, in the input's own format", () => {
  const dir = tmp("bu-fix-");
  let emu: Emulator;
  beforeAll(async () => {
    // "vendor-no" passes every local rule but the vendor refuses it: a `failed` row.
    emu = createZegoEmulator({ env, refuseKeys: ["vendor-no"] });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  it("CSV: original cells and columns plus _error, for invalid and failed rows only; fixed rows import", async () => {
    // ok1 again at the end: a duplicate is not a row to fix (imported again, it would be sent).
    const f = write(dir, "u.csv", csv(["user_id", "name", "note"], [["ok1", "Ann", "x, y"], ["bad id", "Bob", "=1+1"], ["vendor-no", "Cy", ""], ["ok2", "Dee", ""], ["ok1", "Ann2", ""]]));
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r.jsonl`, "--failed-out", `${dir}/fix.csv`], { env });
    expect(r.code).toBe(1);
    const rows = parse(readFileSync(`${dir}/fix.csv`), { columns: true }) as Record<string, string>[];
    expect(rows.map((x) => [x.user_id, x.name, x.note])).toEqual([
      ["bad id", "Bob", "=1+1"],
      ["vendor-no", "Cy", ""],
    ]);
    expect(rows[0]!._error).toMatch(/^line 3: BAD_CHARACTERS \(UserId\): UserId may hold only/);
    expect(rows[1]!._error).toMatch(/^line 4: 660000002/);
    // Fix the file in place of a spreadsheet, drop _error, import it again.
    const fixed = csv(["user_id", "name", "note"], rows.map((x) => [x.user_id === "bad id" ? "bad-id" : "vendor-yes", x.name!, x.note!]));
    writeFileSync(`${dir}/fixed.csv`, fixed);
    const again = await runCli(["import", `${dir}/fixed.csv`, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r2.jsonl`], { env });
    expect(again.code).toBe(0);
  });

  it("CSV: a row with an oversized cell keeps its other cells, those after it too (the big one is emptied)", async () => {
    const f = write(dir, "big.csv", csv(["user_id", "name", "note"], [["big1", "x".repeat(70_000), "keep me"], ["ok3", "Eve", ""]]));
    const r = await runCli(["validate", f, "-p", "zego", "--report", `${dir}/big.jsonl`, "--failed-out", `${dir}/big-fix.csv`]);
    expect(r.code).toBe(1);
    const rows = parse(readFileSync(`${dir}/big-fix.csv`), { columns: true }) as Record<string, string>[];
    expect(rows.map((x) => [x.user_id, x.note])).toEqual([["big1", "keep me"]]);
    expect(rows[0]!._error).toMatch(/CELL_TOO_LARGE/);
  });

  it("a JSONL input: a CSV path warns that the mapping cannot read it back; a path of another extension is JSONL", async () => {
    const f = write(dir, "warn.jsonl", '{"user_id":"bad id"}\n');
    const csvOut = await runCli(["validate", f, "-p", "zego", "--report", `${dir}/warn1.jsonl`, "--failed-out", `${dir}/warn-fix.csv`]);
    expect(csvOut.stderr).toMatch(/--failed-out .*warn-fix\.csv is CSV but an input is JSONL/);
    const other = await runCli(["validate", f, "-p", "zego", "--report", `${dir}/warn2.jsonl`, "--failed-out", `${dir}/warn-fix.out`]);
    expect(other.code).toBe(1);
    expect(other.stderr).not.toMatch(/is CSV but/);
    expect(JSON.parse(readFileSync(`${dir}/warn-fix.out`, "utf8"))).toMatchObject({ user_id: "bad id" });
  });

  it("CSV from two inputs: a column of one named like an Object member (constructor) is empty for the other's rows", async () => {
    const a = write(dir, "proto-a.csv", csv(["user_id", "name", "constructor"], [["bad a", "Ann", "x"]]));
    const b = write(dir, "proto-b.csv", csv(["user_id", "name"], [["bad b", "Bob"]]));
    const r = await runCli(["validate", a, b, "-p", "zego", "--report", `${dir}/rp.jsonl`, "--failed-out", `${dir}/fix-proto.csv`], { env });
    expect(r.code).toBe(1);
    const rows = parse(readFileSync(`${dir}/fix-proto.csv`), { columns: true }) as Record<string, string>[];
    expect(rows.map((x) => [x.user_id, x.name, x.constructor])).toEqual([
      ["bad a", "Ann", "x"],
      ["bad b", "Bob", ""],
    ]);
  });

  it("from several inputs, _error names each row's file as well as its line; from one, its line only", async () => {
    const a = write(dir, "two-a.csv", csv(["user_id", "name"], [["ok a", "Ann"]]));
    const b = write(dir, "two-b.csv", csv(["user_id", "name"], [["ok-b", "Bob"], ["bad b", "Cy"]]));
    await runCli(["validate", a, b, "-p", "zego", "--report", `${dir}/two.jsonl`, "--failed-out", `${dir}/fix-two.csv`], { env });
    const rows = parse(readFileSync(`${dir}/fix-two.csv`), { columns: true }) as Record<string, string>[];
    expect(rows.map((x) => x._error!.slice(0, x._error!.indexOf(":")))).toEqual([`${a} line 2`, `${b} line 3`]);
    await runCli(["validate", b, "-p", "zego", "--report", `${dir}/one.jsonl`, "--failed-out", `${dir}/fix-one.jsonl`], { env });
    expect(JSON.parse(readFileSync(`${dir}/fix-one.jsonl`, "utf8"))._error).toMatch(/^line 3: /);
  });

  it("no row to fix: the summary says so", async () => {
    const f = write(dir, "allgood.csv", csv(["user_id"], [["good1"]]));
    const r = await runCli(["validate", f, "-p", "zego", "--report", `${dir}/allgood.jsonl`, "--failed-out", `${dir}/allgood-fix.csv`]);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/rows to fix: none \(.*allgood-fix\.csv is empty\)/);
    expect(readFileSync(`${dir}/allgood-fix.csv`, "utf8")).toBe("");
  });

  it("CSV: a row with too few or too many cells keeps them by position", async () => {
    const f = write(dir, "cc.csv", "user_id,name,note\nshort1,Ann\nlong1,Bob,n,extra\nok3,Cy,\n");
    const r = await runCli(["validate", f, "-p", "zego", "--report", `${dir}/cc.jsonl`, "--failed-out", `${dir}/cc-fix.csv`]);
    expect(r.code).toBe(1);
    const rows = parse(readFileSync(`${dir}/cc-fix.csv`), { columns: true }) as Record<string, string>[];
    expect(rows.map((x) => [x.user_id, x.name, x.note])).toEqual([
      ["short1", "Ann", ""],
      ["long1", "Bob", "n"],
    ]);
    expect(rows[1]!._error).toMatch(/^line 3: CSV_COLUMN_COUNT: expected 3 cells, got 4/);
  });

  it("JSONL: the original object plus an _error key", async () => {
    const f = write(dir, "u.jsonl", '{"user_id":"j ok","meta":{"a":1}}\n{"user_id":"jok"}\nnot json\n');
    await runCli(["validate", f, "-p", "zego", "--report", `${dir}/j.jsonl`, "--failed-out", `${dir}/fix.jsonl`]);
    const lines = readFileSync(`${dir}/fix.jsonl`, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ user_id: "j ok", meta: { a: 1 } });
    expect(lines[0]._error).toMatch(/^line 1: BAD_CHARACTERS \(UserId\)/);
    expect(lines[1]._error).toMatch(/^line 3: INPUT_BAD_JSON: not JSON/);
  });

  it("CSV: written with the delimiter the same command line reads it back with (--delimiter, a tab for .tsv)", async () => {
    const f = write(dir, "semi.csv", "user_id;name;note\nbad id;Bob;a;b\nok4;Ann;\n".replace("a;b", '"a;b"'));
    const r = await runCli(["validate", f, "-p", "zego", "--delimiter", ";", "--report", `${dir}/semi.jsonl`, "--failed-out", `${dir}/semi-fix.csv`]);
    expect(r.code).toBe(1);
    const text = readFileSync(`${dir}/semi-fix.csv`, "utf8");
    expect(text.split("\n")[0]).toBe("user_id;name;note;_error");
    const rows = parse(text, { columns: true, delimiter: ";" }) as Record<string, string>[];
    expect(rows.map((x) => [x.user_id, x.name, x.note])).toEqual([["bad id", "Bob", "a;b"]]);
    // The same flags read the fixed file back.
    writeFileSync(`${dir}/semi-fixed.csv`, text.replace("bad id", "bad-id").replace(/;"line 2: [^"]*"$/, ";"));
    const again = await runCli(["validate", `${dir}/semi-fixed.csv`, "-p", "zego", "--delimiter", ";", "-m", write(dir, "semi.yaml", "fields:\n  UserId: user_id\n  UserName: name\n"), "--report", `${dir}/semi2.jsonl`]);
    expect(again.code).toBe(0);
    await runCli(["validate", f, "-p", "zego", "--delimiter", ";", "--report", `${dir}/semi3.jsonl`, "--failed-out", `${dir}/semi-fix.tsv`]);
    expect(readFileSync(`${dir}/semi-fix.tsv`, "utf8").split("\n")[0]).toBe("user_id;name;note;_error");
    const t = write(dir, "tabs.tsv", "user_id\tname\nbad id\t=Bob\n");
    await runCli(["validate", t, "-p", "zego", "--report", `${dir}/tabs.jsonl`, "--failed-out", `${dir}/tabs-fix.tsv`]);
    const tabs = parse(readFileSync(`${dir}/tabs-fix.tsv`), { columns: true, delimiter: "\t" }) as Record<string, string>[];
    expect(tabs.map((x) => [x.user_id, x.name])).toEqual([["bad id", "=Bob"]]);
    expect(tabs[0]!._error).toMatch(/^line 2: BAD_CHARACTERS/);
  });

  it("refuses a --failed-out or --report path that is an input, the mapping or the other output, before opening any", async () => {
    const f = write(dir, "same.csv", csv(["user_id"], [["bad id"]]));
    const before = readFileSync(f, "utf8");
    for (const args of [
      ["--failed-out", f, "--report", `${dir}/s1.jsonl`],
      ["--report", f],
      ["--report", `${dir}/s2.jsonl`, "--failed-out", `${dir}/s2.jsonl`],
      ["--report", `${dir}/s3.jsonl`, "--failed-out", `${dir}/s3.jsonl.meta.json`],
    ]) {
      const r = await runCli(["validate", f, "-p", "zego", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/would overwrite (the input|--report|the report's meta)/);
    }
    expect(readFileSync(f, "utf8")).toBe(before);
    // Refused before a sandbox emulator starts.
    const sb = await runCli(["import", f, "-p", "zego", "--sandbox", "--report", `${dir}/sb.jsonl`, "--failed-out", f]);
    expect(sb.code).toBe(2);
    expect(sb.stderr).not.toMatch(/Sandbox:/);
    const m = write(dir, "same.yaml", "fields:\n  UserId: user_id\n");
    const r = await runCli(["validate", f, "-p", "zego", "-m", m, "--report", `${dir}/s4.jsonl`, "--failed-out", m]);
    expect(r.stderr).toMatch(/--failed-out .*same\.yaml would overwrite the mapping/);
    expect(readFileSync(m, "utf8")).toContain("UserId");
    // --summary appends: into an input or the mapping it would break them too.
    for (const target of [f, m]) {
      const s = await runCli(["validate", f, "-p", "zego", "-m", m, "--report", `${dir}/s5.jsonl`, "--summary", target]);
      expect(s.code).toBe(2);
      expect(s.stderr).toMatch(/the Markdown summary .* would overwrite (the input|the mapping)/);
    }
    expect(readFileSync(f, "utf8")).toBe(before);
    // A file not there yet, through a symlinked folder or `link/..`, is the same file.
    const real = join(dir, "real");
    mkdirSync(join(real, "sub"), { recursive: true });
    symlinkSync(real, join(dir, "link"));
    symlinkSync(join(real, "sub"), join(dir, "deep"));
    for (const [report, out] of [
      [`${real}/x.jsonl`, `${dir}/link/x.jsonl`],
      [`${real}/out.jsonl`, `${dir}/deep/../out.jsonl`],
      [`${real}/y.jsonl`, `${dir}/link/y.jsonl.meta.json`],
    ]) {
      const s = await runCli(["validate", f, "-p", "zego", "--report", report!, "--failed-out", out!]);
      expect(s.code, out).toBe(2);
      expect(existsSync(report!), report).toBe(false);
    }
  });

  it("a fixed file that fails again: its _error column is replaced, not repeated, and the file reads back", async () => {
    const f = write(dir, "again.csv", csv(["user_id", "name", "_error"], [["bad id", "Ann", "line 2: old"]]));
    await runCli(["validate", f, "-p", "zego", "--report", `${dir}/again.jsonl`, "--failed-out", `${dir}/again-fix.csv`]);
    const text = readFileSync(`${dir}/again-fix.csv`, "utf8");
    expect(text.split("\n")[0]).toBe("user_id,name,_error");
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows[0]!._error).toMatch(/^line 2: BAD_CHARACTERS/);
    const j = write(dir, "again.jsonl", '{"user_id":"bad id","_error":"line 1: old"}\n');
    await runCli(["validate", j, "-p", "zego", "--report", `${dir}/againj.jsonl`, "--failed-out", `${dir}/againj-fix.jsonl`]);
    const out = readFileSync(`${dir}/againj-fix.jsonl`, "utf8");
    expect(out).toMatch(/^\{"user_id":"bad id","_error":"line 1: BAD_CHARACTERS[^"]*"\}\n$/);
  });

  it("JSONL values are written as the line had them: integers past 2^53 keep their digits, in JSONL and CSV, on one thread and in the parse thread", async () => {
    const f = write(dir, "big.jsonl", '{"user_id":12345678901234567891,"n": 1.50 ,"meta":{"id":98765432109876543210},"name":"x"}\n{"user_id":"ok5"}\n');
    // The parse thread runs the compiled worker: through bin/ (dist/, built by the global setup).
    const cli = async (args: string[]) =>
      args.includes("on") ? spawnSync(process.execPath, ["bin/bulk-users.js", ...args], { encoding: "utf8", timeout: 60_000 }).status : (await runCli(args)).code;
    for (const thread of ["off", "on"]) {
      expect(await cli(["validate", f, "-p", "zego", "--parse-thread", thread, "--report", `${dir}/big-${thread}.jsonl`, "--failed-out", `${dir}/big-${thread}-fix.jsonl`])).toBe(1);
      expect(readFileSync(`${dir}/big-${thread}-fix.jsonl`, "utf8")).toMatch(/^\{"user_id":12345678901234567891,"n": 1\.50 ,"meta":\{"id":98765432109876543210\},"name":"x","_error":"line 1: UNSAFE_NUMBER/);
      await cli(["validate", f, "-p", "zego", "--parse-thread", thread, "--report", `${dir}/bigc-${thread}.jsonl`, "--failed-out", `${dir}/big-${thread}-fix.csv`]);
      const rows = parse(readFileSync(`${dir}/big-${thread}-fix.csv`), { columns: true }) as Record<string, string>[];
      expect([rows[0]!.user_id, rows[0]!.n, rows[0]!.meta]).toEqual(["12345678901234567891", "1.50", '{"id":98765432109876543210}']);
    }
  });

  it("--format decides the file's format whatever its name; a later standard input's cells go to _extra; a delimiter of several characters reads back", async () => {
    const f = write(dir, "forced.txt", '{"user_id":"bad id"}\n');
    const r = await runCli(["validate", f, "-p", "zego", "--format", "jsonl", "--report", `${dir}/forced.jsonl`, "--failed-out", `${dir}/forced-fix.csv`]);
    expect(r.code).toBe(1);
    expect(JSON.parse(readFileSync(`${dir}/forced-fix.csv`, "utf8"))).toMatchObject({ user_id: "bad id" });
    const a = write(dir, "first.csv", csv(["user_id"], [["bad a"]]));
    await runCli(["validate", a, "-", "-p", "zego", "-m", write(dir, "st.yaml", "fields:\n  UserId: user_id\n"), "--report", `${dir}/st.jsonl`, "--failed-out", `${dir}/st-fix.csv`], {
      stdin: "user_id,city\nbad b,Oslo\n",
    });
    const st = parse(readFileSync(`${dir}/st-fix.csv`), { columns: true }) as Record<string, string>[];
    expect(st.map((x) => [x.user_id, x._extra])).toEqual([
      ["bad a", ""],
      ["bad b", '{"city":"Oslo"}'],
    ]);
    const p = write(dir, "pipes.csv", "user_id||note\nbad id||trail|\n");
    await runCli(["validate", p, "-p", "zego", "--delimiter", "||", "--report", `${dir}/pipes.jsonl`, "--failed-out", `${dir}/pipes-fix.csv`]);
    const pipes = parse(readFileSync(`${dir}/pipes-fix.csv`), { columns: true, delimiter: "||" }) as Record<string, string>[];
    expect(pipes.map((x) => [x.user_id, x.note])).toEqual([["bad id", "trail|"]]);
  });

  it("CSV from JSONL and from several CSV inputs: every cell kept, keys the header lacks in _extra", async () => {
    const j = write(dir, "v.jsonl", 'not json\n{"user_id":"a b","name":"Ann"}\n{"user_id":"c d","city":"Oslo","tags":["x"]}\n');
    await runCli(["validate", j, "-p", "zego", "--report", `${dir}/v.jsonl.report`, "--failed-out", `${dir}/v-fix.csv`]);
    // The unreadable first line waits for the first record's keys, which make the header.
    const rows = parse(readFileSync(`${dir}/v-fix.csv`), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(["user_id", "name", "_error", "_extra"]);
    expect(rows.map((x) => [x.user_id, x.name, x._extra])).toEqual([
      ["", "", ""],
      ["a b", "Ann", ""],
      ["c d", "", '{"city":"Oslo","tags":["x"]}'],
    ]);
    expect(rows[0]!._error).toMatch(/^line 1: INPUT_BAD_JSON/);
    // Only unreadable lines: the header is written as the file closes.
    const bad = write(dir, "bad.jsonl", "not json\n[1]\n");
    await runCli(["validate", bad, "-p", "zego", "--report", `${dir}/bad.report.jsonl`, "--failed-out", `${dir}/bad-fix.csv`]);
    const badRows = parse(readFileSync(`${dir}/bad-fix.csv`), { columns: true }) as Record<string, string>[];
    expect(badRows.map((x) => Object.keys(x))).toEqual([
      ["_error", "_extra"],
      ["_error", "_extra"],
    ]);
    expect(badRows[1]!._error).toMatch(/^line 2: INPUT_NOT_OBJECT/);
    const a = write(dir, "a.csv", csv(["user_id", "name"], [["a b", "Ann"]]));
    const b = write(dir, "b.csv", csv(["user_id", "city"], [["c d", "Oslo"]]));
    const m = write(dir, "ab.yaml", "fields:\n  UserId: user_id\n");
    await runCli(["validate", a, b, "-p", "zego", "-m", m, "--report", `${dir}/ab.jsonl`, "--failed-out", `${dir}/ab-fix.csv`]);
    const ab = parse(readFileSync(`${dir}/ab-fix.csv`), { columns: true }) as Record<string, string>[];
    expect(ab.map((x) => [x.user_id, x.name, x.city])).toEqual([
      ["a b", "Ann", ""],
      ["c d", "", "Oslo"],
    ]);
    expect(Object.keys(ab[0]!)).not.toContain("_extra");
  });

  it("CSV with a JSONL input in the run: an input's own _extra column or key is kept inside the _extra JSON", async () => {
    const c = write(dir, "own.csv", csv(["user_id", "_extra"], [["a b", "mine"]]));
    const j = write(dir, "own.jsonl", '{"user_id":"c d","_extra":{"n":12345678901234567891}}\n');
    const m = write(dir, "own.yaml", "fields:\n  UserId: user_id\n");
    const r = await runCli(["validate", c, j, "-p", "zego", "-m", m, "--report", `${dir}/own.jsonl.report`, "--failed-out", `${dir}/own-fix.csv`]);
    expect(r.code).toBe(1);
    const rows = parse(readFileSync(`${dir}/own-fix.csv`), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(["user_id", "_error", "_extra"]);
    // The JSONL value keeps its digits, as its line wrote them.
    expect(rows.map((x) => [x.user_id, x._extra])).toEqual([
      ["a b", '{"_extra":"mine"}'],
      ["c d", '{"_extra":{"n":12345678901234567891}}'],
    ]);
  });
});
