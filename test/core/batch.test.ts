import { describe, expect, it } from "vitest";
import { batches } from "../../src/core/batch.js";

async function* from<T>(xs: T[]) {
  yield* xs;
}
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("batches", () => {
  it("packs at the size and flushes the rest", async () => {
    const got = await all(batches(from([1, 2, 3, 4, 5, 6, 7]), 3));
    expect(got).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it("never puts two items with the same conflict key in one batch, and loses none", async () => {
    const names = ["Ann", "Bob", "Ann", "Ann", "Cy", "Bob", "Dee", "Ann"];
    const got = await all(batches(from(names.map((n, i) => ({ n, i }))), 3, (x) => x.n));
    for (const b of got) expect(new Set(b.map((x) => x.n)).size).toBe(b.length);
    expect(got.flat().map((x) => x.i).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(got.every((b) => b.length <= 3)).toBe(true);
  });
});
