import { describe, expect, it, vi } from "vitest";

// The spill file's writes fail from the third on, as on a full disk.
let writes = 0;
let failFrom = 3;
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  return {
    ...fs,
    writeSync: (...args: Parameters<typeof fs.writeSync>) => {
      if (++writes >= failFrom) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      return (fs.writeSync as (...a: unknown[]) => number)(...args);
    },
  };
});

const { KeySet } = await import("../../src/core/key-set.js");

describe("KeySet on a full disk", () => {
  it("brings its pages back into memory and stays exact", () => {
    const ks = new KeySet();
    // ~60,000 keys of ~40 bytes: ~9 pages, of which two reach the file before it fills.
    for (let i = 0; i < 60_000; i++) expect(ks.add(`user-${i}@example.com`, i)).toBe(-1);
    expect(writes).toBeGreaterThan(2);
    for (let i = 0; i < 60_000; i += 7) expect(ks.add(`user-${i}@example.com`)).toBe(i);
    expect(ks.has("user-60000@example.com")).toBe(false);
    ks.close();
  });

  it("a payload changed in a page on disk once the disk is full comes back into memory too", () => {
    writes = 0;
    // Two pages reach the file; the write in place of set() is the first to fail.
    failFrom = 3;
    const ks = new KeySet();
    const key = (i: number) => `user-${i}@example.com`;
    for (let i = 0; i < 20_000; i++) ks.add(key(i), i);
    expect(writes).toBe(2);
    ks.set(key(5), 777);
    expect(writes).toBe(3);
    expect(ks.get(key(5))).toBe(777);
    for (let i = 0; i < 20_000; i += 13) expect(ks.get(key(i))).toBe(i === 5 ? 777 : i);
    ks.set(key(6), 888);
    expect(ks.get(key(6))).toBe(888);
    ks.close();
  });
});
