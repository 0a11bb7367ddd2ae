import { spawnSync } from "node:child_process";
import { existsSync, unlinkSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readReport, runCli, tmp } from "./helpers.js";

/** The README's commands, run as a newcomer would (from the repository root). */
describe("README commands on samples/", () => {
  it("quick start: import samples/users.csv into the zego sandbox", () => {
    const r = spawnSync(process.execPath, ["bin/bulk-users.js", "import", "samples/users.csv", "--provider", "zego", "--sandbox"], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", CI: "true" },
    });
    // The sample holds deliberately bad rows, so the run ends 1 with 16 users created.
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/created 16, invalid 3, duplicate 1/);
    // Without a mapping only the key is named like a field: the run says what it leaves out.
    expect(r.stderr).toContain("No --mapping: mapped user_id → UserId (samples/users.csv); columns not imported: first_name, last_name, email, phone, avatar, groups");
    const report = /report: (\S+)/.exec(r.stdout)?.[1];
    expect(report && existsSync(report)).toBe(true);
    expect(readReport(report!)).toHaveLength(20);
    unlinkSync(report!);
    unlinkSync(`${report}.meta.json`);
    // The run's journal too: a default report lands in the repository root.
    unlinkSync(`${report}.sent`);
  });

  it.each([
    [["import", "samples/users.csv", "-p", "zego", "-m", "samples/zego.mapping.yaml", "--sandbox"], 1, { created: 16, invalid: 3, duplicate: 1 }],
    [["import", "samples/users.jsonl", "-p", "zego", "-m", "samples/zego.mapping.yaml", "--sandbox"], 1, { created: 16, invalid: 5, duplicate: 1 }],
    [["validate", "samples/users.csv", "-p", "zego", "-m", "samples/zego.mapping.yaml"], 1, { valid: 16, invalid: 3, duplicate: 1 }],
    [["import", "samples/users.csv", "-p", "imkit", "-m", "samples/imkit.mapping.yaml", "--sandbox"], 1, { upserted: 18, invalid: 1, duplicate: 1 }],
    [["import", "samples/users.csv", "-p", "genauth", "-m", "samples/genauth.mapping.yaml", "--sandbox"], 1, { created: 19, duplicate: 1 }],
    [["import", "samples/users.csv", "-p", "royalti", "-m", "samples/royalti.mapping.yaml", "--sandbox"], 0, { created: 20 }],
    [["import", "samples/users.csv", "-p", "huawei-workspace", "-m", "samples/huawei-workspace.mapping.yaml", "--sandbox"], 1, { created: 17, invalid: 2, duplicate: 1 }],
  ])("bulk-users %j", async (argv, code, counts) => {
    const dir = tmp();
    const r = await runCli([...argv, "--report", `${dir}/r.jsonl`, "--json"]);
    expect(r.code).toBe(code);
    expect(JSON.parse(r.stdout).counts).toMatchObject(counts);
  });
});
