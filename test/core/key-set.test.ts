import { describe, expect, it } from "vitest";
import { KeySet } from "../../src/core/key-set.js";

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
