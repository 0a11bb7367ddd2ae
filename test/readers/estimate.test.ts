import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkInput } from "../../src/readers/index.js";

const dir = mkdtempSync(join(tmpdir(), "bulk-users-estimate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("checkInput's line estimate", () => {
  it("counts a file within one block, scales a bigger one from its first 64 KiB, and knows nothing of stdin", async () => {
    const small = join(dir, "small.csv");
    writeFileSync(small, "id,name\nu1,Ann\nu2,Bo\n");
    expect(await checkInput(small)).toBe(4);
    const big = join(dir, "big.jsonl");
    const lines = Array.from({ length: 200_000 }, (_, i) => JSON.stringify({ user_id: `user${i}`, name: i % 3 ? "Zoë" : "Ann Lee" }));
    writeFileSync(big, `${lines.join("\n")}\n`);
    const n = await checkInput(big);
    expect(n).toBeGreaterThan(190_000);
    expect(n).toBeLessThan(215_000);
    expect(await checkInput("-")).toBe(0);
    // An empty file is an error before any estimate.
    const empty = join(dir, "empty.csv");
    writeFileSync(empty, "");
    await expect(checkInput(empty)).rejects.toThrow(/Input file is empty/);
  });

  it("a directory given as input is named as one, not as missing", async () => {
    await expect(checkInput(dir)).rejects.toThrow(/Input is a directory, not a file/);
  });
});
