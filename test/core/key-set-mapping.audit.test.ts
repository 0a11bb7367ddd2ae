import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { runImport } from "../../src/core/import.js";
import { fnv1a, KeySet } from "../../src/core/key-set.js";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { loadProvider } from "../../src/providers/index.js";
import { csv, multiplicity, readReport, runCli, tmp, write } from "../helpers.js";

const PAGE = 1 << 18;
/** Internals a test reads to set up a page boundary. */
const inner = (ks: KeySet) => ks as unknown as { used: number; ends: number[] };

/** Pairs of distinct keys with the same FNV-1a hash: a short family against a long one (the lengths differ). */
function collidingPairs(want: number): [string, string][] {
  const seen = new Map<number, string>();
  const out: [string, string][] = [];
  for (let i = 0; out.length < want && i < 2_000_000; i++) {
    for (const k of [`s${i}`, `long-key-${i}-xxxxxxxxxx`]) {
      const h = fnv1a(k);
      const o = seen.get(h);
      if (o === undefined) seen.set(h, k);
      else if (o.length !== k.length) out.push(o.length < k.length ? [o, k] : [k, o]);
    }
  }
  return out;
}

/**
 * Two keys of lone low surrogates whose FNV-1a hashes are equal: UTF-8 cannot hold a lone
 * surrogate (each becomes EF BF BD), so their UTF-8 bytes are equal too. FNV-1a's last step is
 * `(s ^ c) * P`: two prefixes whose states differ only in their low 10 bits collide once the last
 * surrogates differ by the same bits.
 */
function loneSurrogateTwins(): [string, string] {
  const byHigh = new Map<number, [string, number]>();
  for (let a = 0xdc00; a < 0xe000; a++)
    for (let b = 0xdc00; b < 0xdc40; b++) {
      const p = `x${String.fromCharCode(a)}y${String.fromCharCode(b)}z`;
      const s = fnv1a(p);
      const o = byHigh.get(s >>> 10);
      if (!o) {
        byHigh.set(s >>> 10, [p, s]);
        continue;
      }
      const d = (o[1] ^ s) & 0x3ff;
      return [`${o[0]}\udc00`, `${p}${String.fromCharCode(0xdc00 ^ d)}`];
    }
  throw new Error("no twins found");
}

/** Open descriptors of this process on deleted files in `dir` (the spill files). */
function spillFds(dir: string): string[] {
  if (process.platform !== "linux") return [];
  return readdirSync("/proc/self/fd")
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return "";
      }
    })
    .filter((l) => l.startsWith(join(dir, "bulk-users-keys-")));
}

async function withTmpdir<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "ks-audit-"));
  const old = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await fn(dir);
  } finally {
    if (old === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = old;
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("KeySet exactness (audit)", () => {
  it("keys with the same hash are told apart by their bytes, in the page being filled, in the spill file and after growing", async () => {
    const pairs = collidingPairs(12);
    expect(pairs.length).toBe(12);
    for (const [a, b] of pairs) expect(fnv1a(a)).toBe(fnv1a(b));
    await withTmpdir(() => {
      const ks = new KeySet();
      pairs.forEach(([a], i) => expect(ks.add(a, i)).toBe(-1));
      // The partners, while their twins are in the page in memory.
      pairs.slice(0, 4).forEach(([, b], i) => expect(ks.add(b, 100 + i)).toBe(-1));
      // 40,000 more keys: the first pages go to the file, the index is rebuilt several times.
      for (let i = 0; i < 40_000; i++) ks.add(`filler-${i}-${"f".repeat(20)}`, 1000 + i);
      expect(inner(ks).ends.length).toBeGreaterThan(1);
      pairs.slice(4).forEach(([, b], i) => expect(ks.add(b, 200 + i)).toBe(-1));
      pairs.forEach(([a, b], i) => {
        expect(ks.get(a)).toBe(i);
        expect(ks.get(b)).toBe(i < 4 ? 100 + i : 200 + i - 4);
      });
      expect(ks.size).toBe(24 + 40_000);
      ks.close();
    });
  });

  it("a probe that meets a shorter twin at the end of the file's last page reads no further than that page", async () => {
    const [short, long] = collidingPairs(1)[0]!;
    await withTmpdir(() => {
      const ks = new KeySet();
      // Fill the first page until the short key is the last record that fits, then one more key
      // starts the next page: the short key ends the file.
      let i = 0;
      while (inner(ks).used + 20 + 10 + 3 * short.length <= PAGE) ks.add(`f${String(i++).padStart(7, "0")}`, i);
      expect(ks.add(short, 7)).toBe(-1);
      const before = inner(ks).used;
      ks.add(`g${"x".repeat(40)}`, 8);
      expect(inner(ks).ends).toEqual([before]);
      // The long twin's probe reads the short one's record from the file: it must not read past its end.
      expect(ks.add(long, 9)).toBe(-1);
      expect(ks.get(short)).toBe(7);
      expect(ks.get(long)).toBe(9);
      ks.close();
    });
  });

  it("keys differing only in case or Unicode normalisation are different keys (the set is exact; folding is the caller's)", () => {
    const ks = new KeySet();
    const keys = ["Alice", "alice", "ALICE", "\u00e9", "e\u0301", "\u212b", "\u00c5", "A\u030a", "ﬁ", "fi", "ß", "ss", "İ", "i\u0307"];
    keys.forEach((k, i) => expect(ks.add(k, i)).toBe(-1));
    keys.forEach((k, i) => expect(ks.get(k)).toBe(i));
    expect(ks.size).toBe(keys.length);
  });

  it("an empty key, NUL bytes and a key of NULs are keys of their own", () => {
    const ks = new KeySet();
    const keys = ["", "\0", "\0\0", "a\0", "a", "\0a", "a\0b", "ab"];
    keys.forEach((k, i) => expect(ks.add(k, i)).toBe(-1));
    keys.forEach((k, i) => expect(ks.add(k, 99)).toBe(i));
    expect(ks.has("\0\0\0")).toBe(false);
  });

  it("two keys of lone surrogates with the same hash are not one key (their UTF-8 bytes are the same)", () => {
    const [a, b] = loneSurrogateTwins();
    expect(a).not.toBe(b);
    expect(fnv1a(a)).toBe(fnv1a(b));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const ks = new KeySet();
    expect(ks.add(a, 1)).toBe(-1);
    expect(ks.has(b)).toBe(false);
    expect(ks.add(b, 2)).toBe(-1);
    expect([ks.get(a), ks.get(b), ks.size]).toEqual([1, 2, 2]);
    // set() gives each its own payload.
    expect(ks.set(b, 3)).toBe(2);
    expect([ks.get(a), ks.get(b)]).toEqual([1, 3]);
    // A U+FFFD where the other has a lone surrogate: the same bytes again, another key.
    expect(ks.add("x\ufffd", 4)).toBe(-1);
    expect(ks.add("x\ud800", 5)).toBe(-1);
    expect(ks.get("x\ufffd")).toBe(4);
  });

  it("keys at the record length limit (65,535 UTF-8 bytes) and just past it stay exact, in pages and in the file", async () => {
    await withTmpdir(() => {
      const ks = new KeySet();
      // 21,845 three-byte characters: 65,535 bytes, the most a record holds; 21,846 and 22,000 go past it.
      const keys: string[] = [];
      for (let i = 0; i < 10; i++) keys.push(`${"€".repeat(21_844)}${String.fromCharCode(0x4e00 + i)}`);
      keys.push("€".repeat(21_846), "€".repeat(22_000), `${"€".repeat(21_999)}a`, "😀".repeat(16_000));
      keys.forEach((k, i) => expect(ks.add(k, i)).toBe(-1));
      // Four such records a page: the first ones are in the file by now.
      expect(inner(ks).ends.length).toBeGreaterThan(1);
      keys.forEach((k, i) => expect(ks.add(k, 99)).toBe(i));
      expect(ks.has(`${"€".repeat(21_844)}\u4e0a`)).toBe(false);
      expect(ks.has("€".repeat(21_845))).toBe(false);
      expect(ks.size).toBe(keys.length);
      ks.close();
      // Emptied by close, the keys kept apart too.
      expect([ks.size, ks.has(keys[0]!), ks.has(keys[10]!)]).toEqual([0, false, false]);
    });
  });

  it("250,000 keys through many resizes, with reserve too small: every answer is the first payload, 0 and 2^32-1 included", async () => {
    await withTmpdir((dir) => {
      const ks = new KeySet();
      ks.reserve(1000);
      const N = 250_000;
      for (let i = 0; i < N; i++) expect(ks.add(`user-${i}@example.com`, i === 7 ? 0xffffffff : i)).toBe(-1);
      for (let i = 0; i < N; i += 3) expect(ks.add(`user-${i}@example.com`, 5)).toBe(i === 7 ? 0xffffffff : i);
      expect(ks.get("user-7@example.com")).toBe(0xffffffff);
      expect(ks.get("user-0@example.com")).toBe(0);
      expect(ks.has(`user-${N}@example.com`)).toBe(false);
      expect(ks.size).toBe(N);
      // The index stays at most 3/4 full: 6 bytes a slot, ~2 MiB for 250,000 keys.
      const slots = (ks as unknown as { slotCount: number }).slotCount;
      expect(slots).toBeGreaterThanOrEqual((N * 4) / 3);
      expect(slots).toBeLessThanOrEqual(2 * Math.ceil((N * 4) / 3));
      // Its pages in a file unlinked as soon as it was opened.
      expect(readdirSync(dir)).toEqual([]);
      expect(spillFds(dir)).toHaveLength(process.platform === "linux" ? 1 : 0);
      ks.close();
      expect(spillFds(dir)).toEqual([]);
    });
  });
});

describe("duplicate check in an import (audit)", () => {
  const dir = tmp("bu-dup-audit-");
  const zegoMapping = { fields: { UserId: "user_id", UserName: "name" } };

  it("with more than 64 inputs, a duplicate names the file its first occurrence is in", async () => {
    const files: string[] = [];
    for (let i = 1; i <= 70; i++) files.push(write(dir, `part-${String(i).padStart(2, "0")}.csv`, csv(["user_id", "name"], [[`u${i}`, "N"]])));
    // File 70 repeats the users of files 66 and 3.
    writeFileSync(files[69]!, csv(["user_id", "name"], [["u70", "N"], ["u66", "N"], ["u3", "N"]]));
    const report = `${dir}/many.jsonl`;
    const s = await runImport({ files, provider: "zego", mapping: zegoMapping, dryRun: true, report });
    expect(s.counts).toMatchObject({ valid: 70, duplicate: 2 });
    const dups = readReport(report).filter((r) => r.status === "duplicate");
    expect(dups.map((r) => [r.file, r.line, r.message])).toEqual([
      [files[69], 3, `UserId \`u66\` already appears at ${files[65]} line 2`],
      [files[69], 4, `UserId \`u3\` already appears at ${files[2]} line 2`],
    ]);
  });

  it("across inputs: the first occurrence's file and line, by the vendor's notion of equal keys", async () => {
    const a = write(dir, "a.csv", csv(["user_id", "name"], [["Alice", "A"], ["bob", "B"]]));
    const b = write(dir, "b.jsonl", `${JSON.stringify({ user_id: "alice", name: "a" })}\n\n${JSON.stringify({ user_id: "Alice", name: "A2" })}\n${JSON.stringify({ user_id: "bob", name: "B2" })}\n`);
    const report = `${dir}/across.jsonl`;
    // ZEGO UserIds are case-sensitive at the vendor (its emulator stores Alice and alice apart).
    const s = await runImport({ files: [a, b], provider: "zego", mapping: zegoMapping, dryRun: true, report });
    expect(s.counts).toMatchObject({ valid: 3, duplicate: 2 });
    const dups = readReport(report).filter((r) => r.status === "duplicate");
    expect(dups.map((r) => [r.line, r.message])).toEqual([
      [3, `UserId \`Alice\` already appears at ${a} line 2`],
      [4, `UserId \`bob\` already appears at ${a} line 3`],
    ]);
  });

  it("royalti emails are one user whatever their case (as at the vendor); IMKIT ids differing in case or normalisation are distinct users at the vendor too", async () => {
    const r = write(dir, "r.csv", csv(["email", "first", "last"], [["Ann@Example.io", "Ann", "Lee"], ["ann@example.IO", "Ann2", "Lee"], ["bo@example.io", "Bo", "Ng"]]));
    const rep = `${dir}/r.jsonl`;
    const s = await runImport({ files: [r], provider: "royalti", mapping: { fields: { email: "email", firstName: "first", lastName: "last" }, options: { sendEmail: false } }, dryRun: true, report: rep });
    expect(s.counts).toMatchObject({ valid: 2, duplicate: 1 });
    expect(readReport(rep).find((x) => x.status === "duplicate")?.message).toBe(`email \`ann@example.IO\` already appears at ${r} line 2`);

    const ids = ["Alice", "alice", "\u00e9", "e\u0301", "Alice"];
    const f = write(dir, "i.jsonl", ids.map((id) => JSON.stringify({ id, nickname: "n" })).join("\n") + "\n");
    let emu: Emulator | undefined;
    const rep2 = `${dir}/i.jsonl.report.jsonl`;
    const t = await runImport({ files: [f], provider: "imkit", mapping: { fields: { _id: "id", nickname: "nickname" } }, sandbox: { onEmulator: (e) => (emu = e) }, report: rep2 });
    expect(t.counts).toMatchObject({ upserted: 4, duplicate: 1 });
    expect(emu!.users().map((u) => u._id).sort()).toEqual(["Alice", "alice", "e\u0301", "\u00e9"].sort());
    expect(readReport(rep2).find((x) => x.status === "duplicate")).toMatchObject({ line: 5, message: `_id \`Alice\` already appears at ${f} line 1` });
  });

  it("a run's spill files are closed when it ends: after a full run, after an error mid-run and after a stop", async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => [`u${i}-${"k".repeat(24)}`, "N"]);
    const big = write(dir, "big.csv", csv(["user_id", "name"], rows));
    // No column named like the key: the automatic mapping refuses this second input once it is reached.
    const bad = write(dir, "bad.jsonl", `${JSON.stringify({ who: "x", name: "n" })}\n`);
    await withTmpdir(async (t) => {
      const s = await runImport({ files: [big], provider: "zego", dryRun: true, report: false });
      expect(s.counts.valid).toBe(30_000);
      expect(spillFds(t)).toEqual([]);
      await expect(runImport({ files: [big, bad], provider: "zego", dryRun: true, report: false })).rejects.toThrow(/no column of .*bad\.jsonl is named like the key field/);
      expect(spillFds(t)).toEqual([]);
      // Stopped mid-run (by --max-errors here; Ctrl-C stops the same way) once the keys are in the file.
      const tail = write(dir, "tail.csv", csv(["user_id", "name"], [...rows.slice(0, 25_000), ["bad id", "N"], ...rows.slice(25_000)]));
      const i = await runImport({ files: [tail], provider: "zego", dryRun: true, report: false, maxErrors: 1 });
      expect(i.stopped).toBe("max-errors");
      expect(i.counts.valid).toBeGreaterThanOrEqual(25_000);
      expect(spillFds(t)).toEqual([]);
      expect(readdirSync(t)).toEqual([]);
    });
  });
});

describe("duplicates across a --resume (audit)", () => {
  const env = { ZEGO_APP_ID: "1234567890", ZEGO_SERVER_SECRET: "dup-resume-secret-dup-resume-0001" };
  const emus: Emulator[] = [];
  afterAll(() => Promise.all(emus.map((e) => e.close())));

  it("rows done are neither sent again nor duplicates of themselves; later repeats of them are duplicates naming the first line", async () => {
    const dir = tmp("bu-dup-resume-");
    const a = write(dir, "a.csv", csv(["user_id", "name"], [...Array.from({ length: 300 }, (_, i) => [`u${i}`, "A"]), ["u5", "again"]]));
    const b = write(dir, "b.csv", csv(["user_id", "name"], [...Array.from({ length: 100 }, (_, i) => [`u${300 + i}`, "B"]), ["u0", "again"], ["u350", "again"]]));
    const mapping = { fields: { UserId: "user_id", UserName: "name" } };
    const emu = createZegoEmulator({ env, latencyMs: 20 });
    await emu.listen(0);
    emus.push(emu);
    const stop = new AbortController();
    const r1 = `${dir}/r1.jsonl`;
    // One request at a time, two a second: the run is stopped after its first answer.
    const s1 = await runImport({ files: [a, b], provider: "zego", mapping, endpoint: emu.url, env, report: r1, concurrency: 1, rate: 2, signal: stop.signal, onProgress: (p) => p.sent > 0 && stop.abort() });
    expect(s1.stopped).toBe("interrupted");
    const created1 = readReport(r1).filter((r) => r.status === "created").length;
    expect(created1).toBeGreaterThan(0);
    expect(created1).toBeLessThan(400);
    const requestsBefore = emu.stats.batchSizes.length;

    const r2 = `${dir}/r2.jsonl`;
    const s2 = await runImport({ files: [a, b], provider: "zego", mapping, endpoint: emu.url, env, report: r2, resume: r1 });
    expect(s2.exitCode).toBe(1);
    const rows = readReport(r2);
    // Every line once: the carried rows, the rows sent now, and the three repeats.
    const lines = rows.map((r) => `${r.file}:${r.line}`);
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.length).toBe(300 + 1 + 100 + 2);
    expect(rows.filter((r) => r.status === "exists")).toEqual([]);
    expect(rows.filter((r) => r.status === "created").length).toBe(400);
    expect(rows.filter((r) => r.status === "duplicate").map((r) => [r.file, r.line, r.message])).toEqual([
      [a, 302, `UserId \`u5\` already appears at ${a} line 7`],
      [b, 102, `UserId \`u0\` already appears at ${a} line 2`],
      [b, 103, `UserId \`u350\` already appears at ${b} line 52`],
    ]);
    // Nothing carried went out again: this run sent exactly the users the first one had not.
    expect(emu.stats.batchSizes.slice(requestsBefore).reduce((x, y) => x + y, 0)).toBe(400 - created1);
    const m = multiplicity(emu.users(), "UserId");
    expect(m.size).toBe(400);
    expect([...m.values()].every((v) => v === 1)).toBe(true);
  });
});

describe("mapping init (audit)", () => {
  const dir = tmp("bu-init-a4-");

  it("odd column names (non-ASCII spaces, quotes, names like YAML words or mapping keys) round-trip: init → import --dry-run reads them", async () => {
    const header = ["User\u00a0ID", 'Nick "the" name', "column", "template", "true", "null", "ñame", "Ava\u2028tar"];
    const f = write(dir, "odd.csv", csv(header, [["u1", "Ann", "c", "t", "x", "y", "z", "https://example.com/a.png"], ["u2", "Bo", "c", "t", "x", "y", "z", "https://example.com/b.png"]]));
    const out = `${dir}/odd.yaml`;
    const r = await runCli(["mapping", "init", f, "-p", "zego", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseYaml(readFileSync(out, "utf8")).fields).toEqual({ UserId: "User\u00a0ID", UserAvatar: "Ava\u2028tar" });
    const v = await runCli(["import", f, "-p", "zego", "-m", out, "--dry-run", "--report", `${dir}/odd.jsonl`, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).counts.valid).toBe(2);
    expect(readReport(`${dir}/odd.jsonl`).map((x) => x.key)).toEqual(["u1", "u2"]);
  });

  it("a guessed column whose name YAML would read as syntax (alias, tag, flow, quote, indicator) is quoted, and reads back", async () => {
    for (const prefix of ["*ref", "&a", "!x", "[0]", "{k}", "'q'", '"q"', "%p", "@at", "`b`", "|p", ">g", "? x", "#h", "-", ":", "a: b", "a #b", "x\\y"]) {
      const col = `${prefix}.uid`;
      const f = write(dir, "yq.csv", csv([col, "display_name"], [["u1", "Ann"]]));
      const out = `${dir}/yq.yaml`;
      const r = await runCli(["mapping", "init", f, "-p", "zego", "-o", out, "--force"]);
      expect(r.code, `${prefix}: ${r.stderr}`).toBe(0);
      expect(parseYaml(readFileSync(out, "utf8")).fields, prefix).toEqual({ UserId: col, UserName: "display_name" });
      const v = await runCli(["import", f, "-p", "zego", "-m", out, "--dry-run", "--report", `${dir}/yq.jsonl`]);
      expect(v.code, `${prefix}: ${v.stderr}`).toBe(0);
      expect(readReport(`${dir}/yq.jsonl`).map((x) => x.key), prefix).toEqual(["u1"]);
    }
  });

  it("a first- or last-name column holding a brace is no template placeholder: init still writes a mapping that loads", async () => {
    for (const rows of [[["u1", "Ann", "Lee"]], []]) {
      const f = write(dir, "brace.csv", csv(["uid", "{a}.first name", "last name"], rows));
      const out = `${dir}/brace.yaml`;
      const r = await runCli(["mapping", "init", f, "-p", "zego", "-o", out, "--force"]);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(out, "utf8")).not.toMatch(/template/);
      const v = await runCli(["import", f, "-p", "zego", "-m", out, "--dry-run", "--report", `${dir}/brace.jsonl`]);
      expect(v.code, v.stderr).toBe(0);
    }
  });

  it("a header with a column twice or a cell without a name is refused, and no mapping is written", async () => {
    for (const [name, text, why] of [
      ["dup.csv", "user_id,name,name\nu1,a,b\n", /column name `name` appears twice/],
      ["hole.csv", "user_id,,name\nu1,a,b\n", /column 2 has no name/],
    ] as const) {
      const out = `${dir}/${name}.yaml`;
      const r = await runCli(["mapping", "init", write(dir, name, text), "-p", "zego", "-o", out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(existsSync(out)).toBe(false);
    }
  });

  it("an empty file is refused; a header-only file gives a mapping an import --dry-run takes (0 rows)", async () => {
    const empty = await runCli(["mapping", "init", write(dir, "empty.csv", ""), "-p", "zego", "-o", `${dir}/empty.yaml`]);
    expect(empty.code).toBe(2);
    expect(existsSync(`${dir}/empty.yaml`)).toBe(false);
    const f = write(dir, "head.csv", "uid,display_name\n");
    const r = await runCli(["mapping", "init", f, "-p", "zego", "-o", `${dir}/head.yaml`]);
    expect(r.code, r.stderr).toBe(0);
    const v = await runCli(["import", f, "-p", "zego", "-m", `${dir}/head.yaml`, "--dry-run", "--report", `${dir}/head.jsonl`, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).rows).toBe(0);
  });

  it("JSONL: nested keys are dotted paths that read back; a top-level column named like a synonym wins over a nested key's last part", async () => {
    const recs = [
      { uid: "u1", display_name: "Ann", manager: { id: "m7", name: "Boss" }, profile: { photo: "https://example.com/a.png" } },
      { uid: "u2", display_name: "Bo", manager: { id: "m7", name: "Boss" }, profile: { photo: "https://example.com/b.png" } },
    ];
    const f = write(dir, "nested.jsonl", recs.map((x) => JSON.stringify(x)).join("\n") + "\n");
    const out = `${dir}/nested.yaml`;
    const r = await runCli(["mapping", "init", f, "-p", "zego", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    // The manager's id as every user's key would make every second row a duplicate.
    expect(parseYaml(readFileSync(out, "utf8")).fields).toEqual({ UserId: "uid", UserName: "display_name", UserAvatar: "profile.photo" });
    // An empty object is a column of its own (a later record may hold keys there).
    const { sampleInput } = await import("../../src/mapping/init.js");
    const g = write(dir, "empty-obj.jsonl", `${JSON.stringify({ uid: "u1", meta: {}, tags: [] })}\n`);
    expect((await sampleInput(g)).columns).toEqual(["uid", "meta", "tags"]);
    const v = await runCli(["import", f, "-p", "zego", "-m", out, "--dry-run", "--report", `${dir}/nested.jsonl.r`, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).counts).toMatchObject({ valid: 2, duplicate: 0 });
  });

  it("JSONL: a nested key holding a dot is no path the mapping can read, so it is never proposed", async () => {
    const recs = [{ user: { id: "u1", "Email Address": "A@x.io" }, profile: { "e.mail": "z@x.io" } }];
    const f = write(dir, "dotted.jsonl", recs.map((x) => JSON.stringify(x)).join("\n") + "\n");
    const out = `${dir}/dotted.yaml`;
    const r = await runCli(["mapping", "init", f, "-p", "genauth", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseYaml(readFileSync(out, "utf8")).fields.email).toEqual({ column: "user.Email Address", transform: ["trim", "lower"] });
    const v = await runCli(["import", f, "-p", "genauth", "-m", out, "--dry-run", "--report", `${dir}/dotted.r.jsonl`, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(readReport(`${dir}/dotted.r.jsonl`).map((x) => x.key)).toEqual(["a@x.io"]);
  });

  it("never overwrites a file without --force, byte for byte; --force replaces it", async () => {
    const out = write(dir, "keep.yaml", "# my own mapping\nfields:\n  UserId: x\n");
    const before = readFileSync(out);
    const r = await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "zego", "-o", out]);
    expect(r.code).toBe(2);
    expect(readFileSync(out).equals(before)).toBe(true);
    expect(r.stdout).toBe("");
    expect((await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "zego", "-o", out, "--force"])).code).toBe(0);
    // As the README shows it: the columns joined in the name template are used.
    expect(readFileSync(out, "utf8")).toMatch(/proposed by `bulk-users mapping init`[\s\S]*\n# Columns not used: Work Email, Mobile, Department, Job Title, Start Date\n$/);
  });

  it("propose: a column is given to one field only, and every guess it writes loads as a mapping for each provider", async () => {
    const { propose, renderMapping } = await import("../../src/mapping/init.js");
    const { loadMapping } = await import("../../src/mapping/load.js");
    const cols = ["id", "e-mail", "Phone Number", "first name", "Last_Name", "name", "photo", "groups", "birthday", "password", "user.name"];
    for (const name of ["zego", "imkit", "genauth", "royalti", "huawei-workspace"]) {
      const provider = await loadProvider(name);
      const p = propose(provider, cols);
      const columns = p.guesses.filter((g) => typeof g.def === "string" || g.def.column !== undefined).map((g) => (typeof g.def === "string" ? g.def : g.def.column));
      expect(new Set(columns).size, name).toBe(columns.length);
      const file = write(dir, `all-${name}.yaml`, renderMapping(provider, p, "schema.json", "x.csv"));
      const required = Object.entries(provider.fields).filter(([, s]) => s.required).map(([f]) => f);
      // A required field it could not map is left to fill in; otherwise the file loads as written.
      if (required.every((f) => p.guesses.some((g) => g.field === f && !g.off))) expect(() => loadMapping(file, provider), name).not.toThrow();
    }
  });
});

describe("mapping preview (audit)", () => {
  const dir = tmp("bu-preview-a4-");

  it("runs no duplicate check (both rows valid) and shows nothing for a header-only file", async () => {
    const f = write(dir, "twice.csv", csv(["user_id", "name"], [["u1", "A"], ["u1", "B"]]));
    const r = await runCli(["mapping", "preview", f, "-p", "zego", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l).issues)).toEqual([[], []]);
    const h = await runCli(["mapping", "preview", write(dir, "head.csv", "user_id,name\n"), "-p", "zego"]);
    expect([h.code, h.stdout]).toEqual([0, ""]);
  });
});
