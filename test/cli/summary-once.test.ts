import { readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { csv, runCli, tmp, write } from "../helpers.js";

// --summary and $GITHUB_STEP_SUMMARY naming one file, however spelt, get one summary.

describe("the Markdown summary goes once to each file", () => {
  const dir = tmp("bu-cli-bugs-");
  const input = write(dir, "u.csv", csv(["user_id"], [["b1"], ["b2"]]));

  // README "Running in CI": "With GITHUB_STEP_SUMMARY set ..., a Markdown summary ... is appended to
  // the job page; `--summary FILE` writes the same anywhere" — and the CLI writes it once when both
  // name the same file (ci.test.ts). summaryTargets (src/commands/import.ts:223) dedupes by string only.
  it("--summary naming $GITHUB_STEP_SUMMARY's file by another spelling runs and writes the summary once", async () => {
    const step = join(dir, "step.md");
    const r = await runCli(["validate", input, "-p", "zego", "--report", join(dir, "v.jsonl"), "--summary", `${dir}/./step.md`], { env: { GITHUB_STEP_SUMMARY: step } });
    expect(r.stderr).not.toContain("would overwrite");
    expect(r.code).toBe(0);
    expect(readFileSync(step, "utf8").match(/^### /gm)).toHaveLength(1);
  });

  it("--summary and a $GITHUB_STEP_SUMMARY symlink to the same file get the summary once", async () => {
    const real = join(dir, "real.md");
    const link = join(dir, "link.md");
    symlinkSync(real, link);
    const r = await runCli(["validate", input, "-p", "zego", "--report", join(dir, "v2.jsonl"), "--summary", real], { env: { GITHUB_STEP_SUMMARY: link } });
    expect(r.code).toBe(0);
    expect(readFileSync(real, "utf8").match(/^### /gm)).toHaveLength(1);
  });
});
