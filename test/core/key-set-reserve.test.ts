import { afterEach, describe, expect, it, vi } from "vitest";
import { runImport } from "../../src/core/import.js";
import { KeySet } from "../../src/core/key-set.js";
import { csv, tmp, write } from "../helpers.js";

describe("duplicate check sizing", () => {
  afterEach(() => vi.restoreAllMocks());

  it("runImport sizes each duplicate check for the rows its inputs hold, a shard for its share", async () => {
    const reserve = vi.spyOn(KeySet.prototype, "reserve");
    const dir = tmp();
    const a = write(dir, "a.csv", csv(["user_id", "name"], Array.from({ length: 3000 }, (_, i) => [`a${i}`, `Ann ${i}`])));
    const b = write(dir, "b.csv", csv(["user_id", "name"], Array.from({ length: 1000 }, (_, i) => [`a${i}`, `Bo ${i}`])));
    const s = await runImport({ files: [a, b], provider: "zego", mapping: { fields: { UserId: "user_id", UserName: "name" } }, dryRun: true, report: `${dir}/r.jsonl` });
    expect(s.counts.valid).toBe(3000);
    expect(s.counts.duplicate).toBe(1000);
    // Header, rows and the final line break of both files, give or take the estimate.
    expect(reserve).toHaveBeenCalled();
    for (const [n] of reserve.mock.calls) expect(Math.abs(n - 4004)).toBeLessThan(100);
    reserve.mockClear();
    await runImport({ files: [a], provider: "zego", mapping: { fields: { UserId: "user_id", UserName: "name" } }, dryRun: true, report: `${dir}/s.jsonl`, shard: { index: 1, count: 4 } });
    for (const [n] of reserve.mock.calls) expect(Math.abs(n - 3002 / 4)).toBeLessThan(50);
  });
});
