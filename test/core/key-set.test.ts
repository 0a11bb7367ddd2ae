import { describe, expect, it } from "vitest";
import { KeySet, RESERVE_MAX } from "../../src/core/key-set.js";
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("KeySet", () => {
  it("agrees with a Set over 50,000 mixed keys and keeps the first payload", () => {
    const ks = new KeySet();
    const ref = new Map<string, number>();
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 50_000; i++) {
      const k = `${["user", "ユーザー", "ü", ""][rnd() % 4]}${rnd() % 30_000}`;
      const got = ks.add(k, i);
      if (ref.has(k)) expect(got).toBe(ref.get(k));
      else {
        expect(got).toBe(-1);
        ref.set(k, i);
      }
    }
    expect(ks.size).toBe(ref.size);
    for (const k of ref.keys()) expect(ks.has(k)).toBe(true);
    expect(ks.has("absent-key")).toBe(false);
  });

  it("reserve sizes the index once for the keys to come, never past RESERVE_MAX, and answers as before", () => {
    const slotsOf = (ks: KeySet) => (ks as unknown as { slotCount: number }).slotCount;
    const SEG = 1 << 16;
    const reserved = new KeySet();
    reserved.reserve(100_000);
    // 100,000 keys at most 3/4 full: 133,334 slots, rounded up to whole segments (3 × 65,536), not to 2^18.
    expect(slotsOf(reserved)).toBe(3 * SEG);
    reserved.add("before");
    reserved.reserve(10);
    expect(slotsOf(reserved)).toBe(3 * SEG);
    expect(reserved.has("before")).toBe(true);
    const plain = new KeySet();
    for (let i = 0; i < 100_000; i++) {
      const k = `k${i % 90_000}`;
      expect(reserved.add(k, i)).toBe(plain.add(k, i));
    }
    expect(slotsOf(reserved)).toBe(3 * SEG);
    expect(slotsOf(plain)).toBe(1 << 17);
    expect(reserved.size).toBe(plain.size + 1);
    // Any estimate past RESERVE_MAX sizes for RESERVE_MAX keys: 2^21 keys need 43 segments.
    const capped = new KeySet();
    capped.reserve(1e12);
    expect(slotsOf(capped)).toBe(43 * SEG);
    const atCap = new KeySet();
    atCap.reserve(RESERVE_MAX);
    expect(slotsOf(atCap)).toBe(slotsOf(capped));
    for (const ks of [reserved, plain, capped, atCap]) ks.close();
  });

  it("an index of a whole number of segments, not a power of two, probes past its end and grows like any other", () => {
    const ks = new KeySet();
    ks.reserve(70_000); // 2 segments
    const ref = new Set<string>();
    for (let i = 0; i < 250_000; i++) {
      const k = `user-${(i * 7919) % 200_000}@example.com`;
      expect(ks.add(k, i) === -1).toBe(!ref.has(k));
      ref.add(k);
    }
    expect(ks.size).toBe(ref.size);
    for (let i = 0; i < 210_000; i += 7) expect(ks.has(`user-${i}@example.com`)).toBe(i < 200_000);
    ks.close();
  });

  it("tells apart keys that share a prefix or differ only in length", () => {
    const ks = new KeySet();
    expect(ks.add("a")).toBe(-1);
    expect(ks.add("aa")).toBe(-1);
    expect(ks.add("")).toBe(-1);
    expect(ks.add("a")).toBe(0);
    expect(ks.has("aaa")).toBe(false);
  });
});

describe("KeySet arena", () => {
  it("keeps keys exact across chunk boundaries, with long, astral and lookalike keys", () => {
    const ks = new KeySet();
    const keys: string[] = [];
    // ~3 MiB of keys: several 1 MiB chunks, keys of up to 2,000 characters at their ends.
    for (let i = 0; i < 3000; i++) keys.push(`${"k".repeat((i * 37) % 2000)}${i}`);
    keys.push("😀", "😀😀", "\u00e9", "e\u0301", "A", "a", "0x", "00x");
    keys.forEach((k, i) => expect(ks.add(k, i)).toBe(-1));
    keys.forEach((k, i) => expect(ks.add(k, 99_999)).toBe(i));
    expect(ks.size).toBe(keys.length);
    expect(ks.has(`${"k".repeat(36)}2`)).toBe(false);
    // Keys too long for the arena (a JSONL line may hold one) are kept exact all the same.
    const huge = "é".repeat(700_000);
    expect(ks.add(huge, 7)).toBe(-1);
    expect(ks.add("after-huge", 8)).toBe(-1);
    expect(ks.add(huge)).toBe(7);
    expect(ks.add(`${huge}x`)).toBe(-1);
    expect(ks.add("after-huge")).toBe(8);
  });

  it("finds every key after growing many times over several chunks, ASCII or not, short or long", () => {
    const ks = new KeySet();
    const ref = new Map<string, number>();
    // 200,000 keys: ~12 MiB of arena, the index grown from 4,096 to 262,144 slots (6 times).
    const shapes = [(i: number) => `u${i}`, (i: number) => `${"x".repeat(60)}${i}`, (i: number) => `ü${i}`, (i: number) => `${i}é`, (i: number) => `${"y".repeat(100)}${i}`];
    for (let i = 0; i < 200_000; i++) {
      const k = shapes[i % shapes.length]!(i);
      ref.set(k, i);
      expect(ks.add(k, i)).toBe(-1);
    }
    expect(ks.size).toBe(ref.size);
    for (const [k, i] of ref) expect(ks.add(k, 0)).toBe(i);
    expect(ks.has("u200000")).toBe(false);
    expect(ks.has("ü")).toBe(false);
  });
});

describe("KeySet spill file", () => {
  const run = (n: number) => {
    const ks = new KeySet();
    const out: number[] = [];
    // ~40,000 keys of ~40 bytes: several 256 KiB pages out of memory, the index regrown from them.
    for (let i = 0; i < n; i++) out.push(ks.add(`${(i % 30_000) % 7 === 0 ? "ü" : ""}user-${i % 30_000}@example.com`, i));
    out.push(ks.has("user-29998@example.com") ? 1 : 0, ks.has("user-30000@example.com") ? 1 : 0, ks.size);
    ks.close();
    return out;
  };

  it("gives the same answers with its pages in a temporary file or, without a writable one, in memory", () => {
    const onDisk = run(40_000);
    const dir = process.env.TMPDIR;
    process.env.TMPDIR = join(tmpdir(), `no-such-dir-${process.pid}`);
    let inMemory: number[];
    try {
      inMemory = run(40_000);
    } finally {
      if (dir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = dir;
    }
    expect(inMemory).toEqual(onDisk);
    // Keys repeat from row 30,000 on: each answer is the row it first appeared on.
    expect(onDisk[30_000]).toBe(0);
    expect(onDisk[39_999]).toBe(9_999);
    expect(onDisk.slice(0, 30_000).every((x) => x === -1)).toBe(true);
    expect(onDisk.slice(-3)).toEqual([1, 0, 30_000]);
  });

  it("keeps non-ASCII keys whole at the end of a page, and U+0080 as its own bytes", () => {
    const ks = new KeySet();
    // 1,500 UTF-8 bytes a key: pages of 256 KiB end mid-way through many of them.
    const keys = Array.from({ length: 3000 }, (_, i) => `${"ユ".repeat(500)}${i}`);
    keys.forEach((k, i) => expect(ks.add(k, i)).toBe(-1));
    keys.forEach((k, i) => expect(ks.add(k, 99_999)).toBe(i));
    for (const k of ["a\u0080b", "a\u007fb", "\u0080", "é\u0080"]) {
      expect(ks.add(k, 7)).toBe(-1);
      expect(ks.get(k)).toBe(7);
    }
    expect(ks.has("a\u0081b")).toBe(false);
    ks.close();
  });

  it.each(["a temporary file", "memory"])("set gives a key present or not its latest payload, with its pages in %s", (where) => {
    const dir = process.env.TMPDIR;
    if (where === "memory") process.env.TMPDIR = join(tmpdir(), `no-such-dir-${process.pid}`);
    try {
      const ks = new KeySet();
      const long = "L".repeat(30_000);
      // 20,000 keys of ~26 bytes fill two pages: the first keys are in a full page by the end.
      for (let i = 0; i < 20_000; i++) expect(ks.set(`key-${i}-${"x".repeat(12)}`, i)).toBe(-1);
      expect(ks.set(long, 1)).toBe(-1);
      // Each set answers the payload it replaced.
      for (let i = 0; i < 20_000; i += 7) expect(ks.set(`key-${i}-${"x".repeat(12)}`, 1_000_000 + i)).toBe(i);
      expect(ks.set(long, 2)).toBe(1);
      expect(ks.size).toBe(20_001);
      for (let i = 0; i < 20_000; i++) expect(ks.get(`key-${i}-${"x".repeat(12)}`)).toBe(i % 7 === 0 ? 1_000_000 + i : i);
      expect(ks.get(long)).toBe(2);
      // add still keeps the payload that is there.
      expect(ks.add("key-0-xxxxxxxxxxxx", 5)).toBe(1_000_000);
      ks.close();
    } finally {
      if (dir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = dir;
    }
  });

  it("leaves no file behind in the temporary directory, and is empty after close", () => {
    const dir = mkdtempSync(join(tmpdir(), "keyset-"));
    const old = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      const ks = new KeySet();
      for (let i = 0; i < 20_000; i++) ks.add(`${"k".repeat(30)}${i}`, i);
      // Unlinked as soon as it is open: the keys go with the process, however it ends.
      expect(readdirSync(dir)).toEqual([]);
      if (process.platform === "linux") {
        const open = readdirSync("/proc/self/fd").map((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`);
          } catch {
            return "";
          }
        });
        expect(open.filter((l) => l.startsWith(join(dir, "bulk-users-keys-")) && l.endsWith("(deleted)"))).toHaveLength(1);
      }
      expect(ks.add(`${"k".repeat(30)}5`)).toBe(5);
      ks.close();
      expect(ks.size).toBe(0);
      expect(ks.has(`${"k".repeat(30)}5`)).toBe(false);
    } finally {
      if (old === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = old;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
