import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { checkInput } from "../../src/readers/index.js";
import type { ReportRow } from "../../src/types.js";
import { csv, readReport, runCli, tmp, write } from "../helpers.js";

// Runs that may use the parse thread go through bin/ (it runs the compiled worker).
function bin(args: string[]) {
  const r = spawnSync(process.execPath, ["bin/bulk-users.js", ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** A report's rows without the file's name (in messages too) or times, to compare a gzip input's with its plain one's. */
const rowsOf = (report: string, file: string) =>
  readReport(report).map(({ file: _f, t: _t, ...rest }: ReportRow & { t?: number }) => JSON.parse(JSON.stringify(rest).split(file).join("FILE")) as unknown);

describe("gzip inputs", () => {
  const dir = tmp("bu-gzip-");
  const mapping = write(dir, "m.yaml", "fields:\n  UserId: user_id\n  UserName: name\n");

  it("a .csv.gz or .jsonl.gz imports and validates as its plain file does, named as given", async () => {
    const plain = readFileSync("samples/users.csv");
    const gz = write(dir, "users.csv.gz", gzipSync(plain));
    const a = await runCli(["import", gz, "-p", "zego", "-m", "samples/zego.mapping.yaml", "--sandbox", "--report", join(dir, "gz.jsonl")]);
    const b = await runCli(["import", "samples/users.csv", "-p", "zego", "-m", "samples/zego.mapping.yaml", "--sandbox", "--report", join(dir, "plain.jsonl")]);
    expect([a.code, b.code]).toEqual([1, 1]);
    expect(a.stdout).toMatch(/created 16, invalid 3, duplicate 1/);
    expect(rowsOf(join(dir, "gz.jsonl"), gz)).toEqual(rowsOf(join(dir, "plain.jsonl"), "samples/users.csv"));
    expect(readReport(join(dir, "gz.jsonl"))[0]!.file).toBe(gz);
    const j = write(dir, "users.jsonl.gz", gzipSync(readFileSync("samples/users.jsonl")));
    const v = await runCli(["validate", j, "-p", "zego", "-m", "samples/zego.mapping.yaml", "--report", join(dir, "j.jsonl")]);
    expect(v.stdout).toMatch(/valid 16, invalid 5, duplicate 1/);
  });

  it("is told by its bytes, not its name; a .tsv.gz is read with tabs", async () => {
    const misnamed = write(dir, "export.csv", gzipSync(csv(["user_id", "name"], [["m1", "Ann"], ["m2", "Bob"]])));
    const r = await runCli(["validate", misnamed, "-p", "zego", "-m", mapping, "--report", join(dir, "mis.jsonl")]);
    expect(r.code, r.stderr).toBe(0);
    expect(readReport(join(dir, "mis.jsonl")).map((x) => x.key)).toEqual(["m1", "m2"]);
    const tsv = write(dir, "export.tsv.gz", gzipSync("user_id\tname\nt1\tAnn, Lee\n"));
    const t = await runCli(["validate", tsv, "-p", "zego", "-m", mapping, "--report", join(dir, "tsv.jsonl")]);
    expect(t.code, t.stderr).toBe(0);
    expect(readReport(join(dir, "tsv.jsonl")).map((x) => x.key)).toEqual(["t1"]);
  });

  it("reads the same rows in the parse thread as on one thread, CSV and JSONL", () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => [i % 997 === 0 ? `bad id ${i}` : `u${i % 29_000}`, `Näme "${i}", Jr`]);
    const files = [write(dir, "big.csv.gz", gzipSync(csv(["user_id", "name"], rows))), write(dir, "big.jsonl.gz", gzipSync(rows.map(([id, name]) => JSON.stringify({ user_id: id, name })).join("\n")))];
    for (const f of files) {
      const out = (["on", "off"] as const).map((mode) => {
        const report = join(dir, `big-${mode}.jsonl`);
        const r = bin(["validate", f, "-p", "zego", "-m", mapping, "--parse-thread", mode, "--report", report]);
        expect(r.code, r.stderr).toBe(1);
        if (mode === "on") expect(r.stderr).toContain("in a second thread");
        return readFileSync(report, "utf8");
      });
      expect(out[0]).toBe(out[1]);
      const rowsRead = out[0]!.trim().split("\n");
      expect(rowsRead).toHaveLength(30_000);
      const seen = new Set<string>();
      const dups = rows.filter(([id]) => !id!.includes(" ") && (seen.has(id!) || (seen.add(id!), false))).length;
      expect(dups).toBeGreaterThan(900);
      expect(rowsRead.filter((l) => l.includes('"status":"duplicate"')).length).toBe(dups);
    }
  }, 60_000);

  it("one cut short stops the run naming it, after the rows before the cut, on either path; one cut in its first block is refused before any row", () => {
    const rows = Array.from({ length: 60_000 }, (_, i) => [`c${i}`, `Name ${i} ${"x".repeat(i % 40)}`]);
    const whole = gzipSync(csv(["user_id", "name"], rows));
    const cut = write(dir, "cut.csv.gz", whole.subarray(0, Math.floor(whole.length * 0.6)));
    const seen = (["on", "off"] as const).map((mode) => {
      const report = join(dir, `cut-${mode}.jsonl`);
      const r = bin(["validate", cut, "-p", "zego", "-m", mapping, "--parse-thread", mode, "--report", report]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`Cannot decompress ${cut}: unexpected end of file (the gzip file is cut short or damaged; the rows before that point were read)`);
      return readReport(report).map((x) => x.line);
    });
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]!.length).toBeGreaterThan(10_000);
    expect(seen[0]!.length).toBeLessThan(60_000);
    // Each row read is whole and in order: lines 2, 3, … with none missing.
    expect(seen[0]).toEqual(Array.from({ length: seen[0]!.length }, (_, i) => i + 2));
    const early = write(dir, "early.csv.gz", whole.subarray(0, 200));
    const e = bin(["validate", early, "-p", "zego", "-m", mapping, "--report", join(dir, "early.jsonl")]);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain(`Cannot decompress ${early}: unexpected end of file (the gzip file is cut short or damaged)\n`);
  }, 60_000);

  it("an empty or blank one is refused as an empty file", async () => {
    const empty = write(dir, "empty.csv.gz", gzipSync(""));
    const blank = write(dir, "blank.jsonl.gz", gzipSync("\n \r\n\t\n"));
    const a = await runCli(["validate", empty, "-p", "zego", "--report", join(dir, "e.jsonl")]);
    const b = await runCli(["validate", blank, "-p", "zego", "--report", join(dir, "b.jsonl")]);
    expect([a.code, b.code]).toEqual([2, 2]);
    expect(a.stderr).toContain(`Input file is empty: ${empty} (gzip) holds no bytes`);
    expect(b.stderr).toContain(`Input file is empty: ${blank} holds only blank lines`);
    const utf16 = write(dir, "wide.csv.gz", gzipSync(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("user_id\nu1\n", "utf16le")])));
    const w = await runCli(["validate", utf16, "-p", "zego", "--report", join(dir, "w.jsonl")]);
    expect(w.code).toBe(2);
    expect(w.stderr).toContain(`Input file is UTF-16, not UTF-8: ${utf16} (gzip)`);
  });

  it("outputs are not written under a .gz name", async () => {
    const gz = write(dir, "o.csv.gz", gzipSync(csv(["user_id"], [["o1"]])));
    const r = await runCli(["validate", gz, "-p", "zego", "--report", join(dir, "r.jsonl.gz")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--report ${join(dir, "r.jsonl.gz")}: outputs are written uncompressed, not as gzip`);
    const f = await runCli(["validate", gz, "-p", "zego", "--report", join(dir, "r2.jsonl"), "--failed-out", join(dir, "fix.csv.gz")]);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain("outputs are written uncompressed");
  });

  it("an import of one resumes: the rest is sent, nobody twice", async () => {
    // 300 users, a bad row after the first two batches: --max-errors 1 stops the run there.
    const keys = Array.from({ length: 300 }, (_, i) => `z${i}`);
    const rows = keys.map((k) => [k, k]);
    rows.splice(250, 0, ["bad id", "x"]);
    const gz = write(dir, "resume.csv.gz", gzipSync(csv(["user_id", "name"], rows)));
    const created: string[] = [];
    const { createZegoEmulator } = await import("../../src/emulators/zego.js");
    const env = { ZEGO_APP_ID: "1234567890", ZEGO_SERVER_SECRET: "gzip-resume-zego-secret-00000001" };
    const emu = createZegoEmulator({ env });
    await emu.listen(0);
    try {
      const first = await runCli(["import", gz, "-p", "zego", "-m", mapping, "--endpoint", emu.url, "--report", join(dir, "r1.jsonl"), "--max-errors", "1", "--concurrency", "1"], { env });
      expect(first.code).toBe(3);
      const second = await runCli(["import", gz, "-p", "zego", "-m", mapping, "--endpoint", emu.url, "--resume", join(dir, "r1.jsonl"), "--report", join(dir, "r2.jsonl"), "--max-errors", "9"], { env });
      expect(second.code, second.stderr).toBe(1);
      for (const u of emu.users() as { UserId: string }[]) created.push(u.UserId);
      expect(created.sort()).toEqual([...keys].sort());
      expect(new Set(created).size).toBe(created.length);
    } finally {
      await emu.close();
    }
  });

  it("sizes its run from the decompressed start", async () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [`s${i}`, `Name ${i}`]);
    const f = write(dir, "sized.csv.gz", gzipSync(csv(["user_id", "name"], rows)));
    const lines = await checkInput(f);
    expect(lines).toBeGreaterThan(100_000);
    expect(lines).toBeLessThan(400_000);
    writeFileSync(join(dir, "small.csv.gz"), gzipSync("user_id\na\nb\n"));
    expect(await checkInput(join(dir, "small.csv.gz"))).toBe(4);
  });
});

describe("gzip on standard input", () => {
  it("is refused with a hint to give the file itself", () => {
    const r = spawnSync(process.execPath, ["bin/bulk-users.js", "validate", "-", "-p", "zego", "--report", join(tmp("bu-gzip-stdin-"), "r.jsonl")], { input: gzipSync("user_id\nu1\n"), encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Input is gzip data: standard input is read as text, not decompressed (-, line 1)");
    expect(r.stderr).toContain("Give the .gz file itself");
  });
});

describe("gzip inputs: what a review found", () => {
  const dir = tmp("bu-gzip-review-");
  const mapping = write(dir, "m.yaml", "fields:\n  UserId: user_id\n  UserName: name\n");

  it("an import over one cut short lets the requests in flight answer: every user sent has its row, and the resume sends nobody twice", async () => {
    // 10,000 rows of ~330 bytes (an unmapped pad column), cut at 60%: past the first MiB the run is
    // checked on, so the cut is met mid-import.
    const rows = Array.from({ length: 10_000 }, (_, i) => [`cut${i}`, `Name ${i}`, `${i}-`.repeat(300 / `${i}-`.length)]);
    const whole = gzipSync(csv(["user_id", "name", "pad"], rows));
    const cut = write(dir, "cut.csv.gz", whole.subarray(0, Math.floor(whole.length * 0.6)));
    const { createZegoEmulator } = await import("../../src/emulators/zego.js");
    const env = { ZEGO_APP_ID: "1234567890", ZEGO_SERVER_SECRET: "gzip-cut-zego-secret-000000000001" };
    // Slow answers, so requests are in flight when the reader meets the cut.
    const emu = createZegoEmulator({ env, latencyMs: 100 });
    await emu.listen(0);
    try {
      const report = join(dir, "r1.jsonl");
      const first = await runCli(["import", cut, "-p", "zego", "-m", mapping, "--endpoint", emu.url, "--report", report, "--rate", "1000"], { env });
      expect(first.code).toBe(2);
      expect(first.stderr).toContain(`Cannot decompress ${cut}`);
      const created = (emu.users() as { UserId: string }[]).map((u) => u.UserId);
      expect(created.length).toBeGreaterThan(0);
      // Every user the vendor has is in the report as created: none left to a resume to send again.
      const done = readReport(report).filter((r) => r.status === "created").map((r) => r.key);
      expect(done.sort()).toEqual([...created].sort());
      const second = await runCli(["import", cut, "-p", "zego", "-m", mapping, "--endpoint", emu.url, "--resume", report, "--report", join(dir, "r2.jsonl"), "--rate", "1000"], { env });
      expect(second.code).toBe(2);
      expect(readReport(join(dir, "r2.jsonl")).filter((r) => r.status === "exists")).toEqual([]);
    } finally {
      await emu.close();
    }
  }, 60_000);

  it("blank lines past the first MiB are read past, once", async () => {
    const f = write(dir, "blank-start.csv.gz", gzipSync(`${"\n".repeat(3 << 20)}user_id,name\nb1,Ann\n`));
    expect(await checkInput(f)).toBeGreaterThan(0);
    const r = await runCli(["validate", f, "-p", "zego", "-m", mapping, "--report", join(dir, "bs.jsonl")]);
    expect(r.code, r.stderr).toBe(0);
    expect(readReport(join(dir, "bs.jsonl")).map((x) => [x.key, x.line])).toEqual([["b1", (3 << 20) + 2]]);
  });

  it("mapping init proposes for a .jsonl.gz what it proposes for the .jsonl", async () => {
    const plain = "samples/exports/auth0-users.jsonl";
    const gz = write(dir, "auth0-users.jsonl.gz", gzipSync(readFileSync(plain)));
    const a = await runCli(["mapping", "init", plain, "-p", "genauth"]);
    const b = await runCli(["mapping", "init", gz, "-p", "genauth"]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout.split(gz).join(plain)).toBe(a.stdout);
  });

  it("JSONL gzip on standard input is refused as CSV is; a --summary named .gz too", async () => {
    const r = spawnSync(process.execPath, ["bin/bulk-users.js", "validate", "-", "--format", "jsonl", "-p", "zego", "--report", join(dir, "sj.jsonl")], { input: gzipSync('{"user_id":"u1"}\n'), encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Input is gzip data: standard input is read as text, not decompressed (-, line 1)");
    const gz = write(dir, "s.csv.gz", gzipSync(csv(["user_id"], [["s1"]])));
    const s = await runCli(["validate", gz, "-p", "zego", "--report", join(dir, "s.jsonl"), "--summary", join(dir, "sum.md.gz")]);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain("outputs are written uncompressed, not as gzip");
  });
});
