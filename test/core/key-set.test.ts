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
