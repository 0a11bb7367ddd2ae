import { describe, expect, it } from "vitest";
import { csv, runCli, tmp, write } from "../helpers.js";

// Number options take plain decimals: Number() would also read 0x10 as 16 and 1e3 as 1000.
describe("number options take decimal numbers only", () => {
  const dir = tmp("bu-opt-");
  const f = write(dir, "u.csv", csv(["user_id"], [["a"]]));
  const run = (...extra: string[]) => runCli(["import", f, "-p", "zego", "--dry-run", "--report", `${dir}/r.jsonl`, ...extra]);

  it.each([
    ["--retries", "0x10"],
    ["--retries", "1e1"],
    ["--concurrency", "+4"],
    ["--timeout", "3.0e4"],
    ["--rate", "0x10"],
    ["--rate", "1e1"],
    ["--rate", "Infinity"],
  ])("%s %s is a usage error", async (flag, value) => {
    const r = await run(flag, value);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`got \`${value}\``);
  });

  it.each([
    ["--retries", "3"],
    ["--timeout", " 30000 "],
    ["--rate", "10"],
    ["--rate", "0.5"],
    ["--rate", ".5"],
  ])("%s %j is taken", async (flag, value) => {
    expect((await run(flag, value)).code).toBe(0);
  });
});
