import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, runCli, tmp, write } from "../helpers.js";

const SECRET = "zz-secret-that-must-never-leak-1";
const env = { ZEGO_APP_ID: "987654321", ZEGO_SERVER_SECRET: SECRET };

/** Runs many kinds of runs, then greps every byte they printed or wrote for the secret. */
describe("secrets never leak (zego)", () => {
  const dir = tmp("bu-secrets-");
  const out: string[] = [];
  let emu: Emulator;
  beforeAll(async () => {
    emu = createZegoEmulator({ env, faults: { error: 0.2, timeout: 0.1, drop: 0.1 }, seed: 3 });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  it("in output, errors, reports, meta files and rows-to-fix", async () => {
    const f = write(dir, "u.csv", csv(["user_id", "name"], [...Array.from({ length: 300 }, (_, i) => [`s${i}`, `N ${i}`]), ["bad id", "x"], [SECRET, "secret as a key"]]));
    const runs: string[][] = [
      ["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/a.jsonl`, "--failed-out", `${dir}/fix.csv`, "--timeout", "300", "--retries", "8"],
      ["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/b.csv`, "--json", "--timeout", "300"],
      ["import", f, "-p", "zego", "--endpoint", "http://127.0.0.1:9", "--report", `${dir}/c.jsonl`, "--retries", "1", "--timeout", "200"],
      ["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/d.jsonl`, "--resume", `${dir}/a.jsonl`],
    ];
    for (const argv of runs) {
      const r = await runCli(argv, { env });
      out.push(r.stdout, r.stderr);
    }
    const wrong = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/e.jsonl`], { env: { ...env, ZEGO_APP_ID: "1" } });
    out.push(wrong.stdout, wrong.stderr);
    for (const name of readdirSync(dir)) out.push(readFileSync(join(dir, name), "utf8"));
    const all = out.join("\n");
    // The runs did produce output worth grepping.
    expect(all).toMatch(/created/);
    expect(all).toMatch(/NETWORK|ECONNREFUSED/);
    expect(all).toContain("Signature=***");
    // A row whose key happens to equal the secret is still redacted wherever the tool echoes it.
    expect(all.split(SECRET).length - 1).toBe(countInInputs(dir));
  });
});

/** The secret may appear only where the user's own input rows are copied (u.csv and fix.csv). */
function countInInputs(dir: string): number {
  let n = 0;
  for (const name of ["u.csv", "fix.csv"]) n += readFileSync(join(dir, name), "utf8").split(SECRET).length - 1;
  return n;
}
