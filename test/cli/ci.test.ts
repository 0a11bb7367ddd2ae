import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, readReport, runCli, tmp, write } from "../helpers.js";

const env = { ZEGO_APP_ID: "777", ZEGO_SERVER_SECRET: "ci-secret-ci-secret-ci-secret-01" };

describe("CI friendliness", () => {
  const dir = tmp("bu-ci-");
  let emu: Emulator;
  beforeAll(async () => {
    emu = createZegoEmulator({ env });
    await emu.listen(0);
  });
  afterAll(() => emu.close());
  const input = write(dir, "u.csv", csv(["user_id", "name"], [["c1", "A"], ["c 2", "B"], ["c3", "C"], ["c1", "D"], ["<b>x y", "E"]]));

  it("appends a Markdown summary to $GITHUB_STEP_SUMMARY and to --summary", async () => {
    const step = `${dir}/step.md`;
    const r = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r.jsonl`, "--summary", `${dir}/s.md`], { env: { ...env, GITHUB_STEP_SUMMARY: step } });
    expect(r.code).toBe(1);
    for (const f of [step, `${dir}/s.md`]) {
      const md = readFileSync(f, "utf8");
      expect(md).toMatch(/^### bulk-users — Import into `zego`: ⚠️ some rows need attention/);
      expect(md).toMatch(/\| created \| 2 \|/);
      expect(md).toMatch(/\| \*\*total read\*\* \| \*\*5\*\* \|/);
      expect(md).toMatch(/\| `BAD_CHARACTERS` \| 2 \| .*u\.csv:3 \(c 2\) — /);
      expect(md).toMatch(/\| `DUPLICATE` \| 1 \|/);
      expect(md).toMatch(/Duration \d+\.\d s · [\d.]+ users\/s · \d+ requests · 0 retries · 0 throttled\./);
      expect(md).toContain(`Report: \`${dir}/r.jsonl\``);
      // Row data is escaped: GitHub renders HTML in job summaries.
      expect(md).toContain("letters, digits and ! # $ % &amp; ( ) + - : ; &lt; = . &gt; ? @ \\[ \\] ^ _ , \\| ~");
      expect(md).not.toMatch(/[<>]/);
      expect(md).not.toContain(env.ZEGO_SERVER_SECRET);
    }
    // Written once per run even when --summary and $GITHUB_STEP_SUMMARY are the same file.
    const same = `${dir}/same.md`;
    await runCli(["validate", input, "-p", "zego", "--report", `${dir}/v.jsonl`, "--summary", same], { env: { GITHUB_STEP_SUMMARY: same } });
    expect(readFileSync(same, "utf8").match(/^### /gm)).toHaveLength(1);
    expect(readFileSync(same, "utf8")).toMatch(/^### bulk-users — Dry run into `zego`/);
  });

  it("reads GITHUB_STEP_SUMMARY from the CLI's environment, not the process's", async () => {
    const stray = `${dir}/process-env.md`;
    const before = process.env.GITHUB_STEP_SUMMARY;
    process.env.GITHUB_STEP_SUMMARY = stray;
    try {
      await runCli(["validate", input, "-p", "zego", "--report", `${dir}/v2.jsonl`]);
    } finally {
      if (before === undefined) delete process.env.GITHUB_STEP_SUMMARY;
      else process.env.GITHUB_STEP_SUMMARY = before;
    }
    expect(existsSync(stray)).toBe(false);
  });

  it("a run stopped by --max-errors gets the resume command; a rejected login gets why", async () => {
    const bad = write(dir, "bad.csv", csv(["user_id"], Array.from({ length: 30 }, (_, i) => [i % 2 ? `ok${i}` : `bad id ${i}`])));
    const step = `${dir}/stopped.md`;
    const r = await runCli(["import", bad, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/stopped.jsonl`, "--max-errors", "3", "--no-progress"], { env: { ...env, GITHUB_STEP_SUMMARY: step } });
    expect(r.code).toBe(3);
    const md = readFileSync(step, "utf8");
    expect(md).toMatch(/^### bulk-users — Import into `zego`: ⏸️ stopped by --max-errors/);
    expect(md).toMatch(/Finish with: `bulk-users import .*bad\.csv -p zego .*--resume .*stopped\.jsonl`/);

    const auth = `${dir}/auth.md`;
    const a = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/auth.jsonl`], {
      env: { ZEGO_APP_ID: "777", ZEGO_SERVER_SECRET: "wrong-secret-wrong-secret-wrong1", GITHUB_STEP_SUMMARY: auth },
    });
    expect(a.code).toBe(2);
    const amd = readFileSync(auth, "utf8");
    expect(amd).toMatch(/^### bulk-users — Import into `zego`: ❌ failed\n\n> /);
    expect(amd).toMatch(/Finish with: `bulk-users import .* --resume .*auth\.jsonl`/);
    expect(amd).not.toContain("wrong-secret-wrong-secret-wrong1");
  });

  it("an unwritable --summary is a warning; the exit code still tells the run", async () => {
    const r = await runCli(["validate", input, "-p", "zego", "--report", `${dir}/v3.jsonl`, "--summary", `${dir}/no/such/dir/s.md`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/warning: Could not write the Markdown summary to .*s\.md/);
  });

  it("--shard K/N splits a file into disjoint shards that cover it", async () => {
    const big = write(dir, "big.csv", csv(["user_id"], Array.from({ length: 300 }, (_, i) => [`s${i}`])));
    const seen: string[] = [];
    for (const k of [1, 2, 3]) {
      const r = await runCli(["validate", big, "-p", "zego", "--shard", `${k}/3`, "--report", `${dir}/shard${k}.jsonl`, "--json"]);
      const keys = readReport(`${dir}/shard${k}.jsonl`).map((x) => x.key);
      expect(keys.length).toBeGreaterThan(50);
      expect(JSON.parse(r.stdout).otherShards).toBe(300 - keys.length);
      seen.push(...keys);
    }
    expect(seen.length).toBe(300);
    expect(new Set(seen).size).toBe(300);
    expect(seen.sort()).toEqual(Array.from({ length: 300 }, (_, i) => `s${i}`).sort());
    // By key, not by line: the two rows of a key meet in one shard, which reports the duplicate.
    // Six keys, each on line i + 2 and again on line i + 32.
    const dup = write(dir, "dup.csv", csv(["user_id"], Array.from({ length: 60 }, (_, i) => [i % 30 < 6 ? `dup${i % 30}` : `d${i}`])));
    const dupRows = await Promise.all([1, 2, 3].map(async (k) => {
      await runCli(["validate", dup, "-p", "zego", "--shard", `${k}/3`, "--report", `${dir}/dup${k}.jsonl`]);
      return readReport(`${dir}/dup${k}.jsonl`).filter((x) => x.key.startsWith("dup"));
    }));
    for (let i = 0; i < 6; i++) {
      const shards = dupRows.map((rows) => rows.filter((x) => x.key === `dup${i}`).map((x) => `${x.line} ${x.status}`)).filter((x) => x.length);
      expect(shards).toEqual([[`${i + 2} valid`, `${i + 32} duplicate`]]);
    }
    // Unreadable rows too: each lands in one shard, not in all of them.
    const lines = Array.from({ length: 60 }, (_, i) => (i % 3 ? `{"user_id":"j${i}"}` : `not json ${i}`));
    const j = write(dir, "bad.jsonl", `${lines.join("\n")}\n`);
    const bad: number[] = [];
    for (const k of [1, 2, 3]) {
      await runCli(["validate", j, "-p", "zego", "--shard", `${k}/3`, "--report", `${dir}/badshard${k}.jsonl`]);
      bad.push(...readReport(`${dir}/badshard${k}.jsonl`).filter((x) => x.code === "INPUT_BAD_JSON").map((x) => x.line));
    }
    expect(bad.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 3 * i + 1));
    expect((await runCli(["validate", big, "-p", "zego", "--shard", "4/3"])).code).toBe(2);
    expect((await runCli(["validate", big, "-p", "zego", "--shard", "0/3"])).code).toBe(2);
  });

  it("the GitHub Actions example validates on pull requests and imports in 4 resumable shards with secrets", () => {
    const wf = parseYaml(readFileSync("samples/ci/bulk-users.yml", "utf8")) as any;
    expect(Object.keys(wf.on)).toEqual(["pull_request", "workflow_dispatch"]);
    expect(wf.jobs.validate.if).toBe("github.event_name == 'pull_request'");
    expect(JSON.stringify(wf.jobs.validate)).not.toContain("secrets.");
    expect(wf.jobs.validate.steps.some((s: any) => /^bulk-users validate /.test(s.run ?? ""))).toBe(true);

    const imp = wf.jobs.import;
    expect(imp.if).toBe("github.event_name == 'workflow_dispatch'");
    expect(imp.strategy.matrix.shard).toEqual([1, 2, 3, 4]);
    expect(imp.strategy["fail-fast"]).toBe(false);
    const step = imp.steps.find((s: any) => String(s.run ?? "").includes("--shard"));
    expect(step.run).toContain("--shard ${{ matrix.shard }}/4");
    expect(step.run).toMatch(/--report report\.jsonl/);
    expect(step.run).toMatch(/--resume previous\/report\.jsonl/);
    // Credentials only from the secret store, only in the step that needs them.
    expect(step.env).toEqual({ ZEGO_APP_ID: "${{ secrets.ZEGO_APP_ID }}", ZEGO_SERVER_SECRET: "${{ secrets.ZEGO_SERVER_SECRET }}" });
    expect(imp.steps.filter((s: any) => JSON.stringify(s).includes("secrets."))).toHaveLength(1);
    // Per-shard report artifact, downloaded again on a re-run or from the run to finish.
    const up = imp.steps.find((s: any) => String(s.uses).startsWith("actions/upload-artifact"));
    const down = imp.steps.find((s: any) => String(s.uses).startsWith("actions/download-artifact"));
    expect(up.with.name).toBe("bulk-users-report-${{ matrix.shard }}");
    expect(up.with.overwrite).toBe(true);
    expect(up.if).toBe("always()");
    expect(up.with.path).toMatch(/report\.jsonl\nreport\.jsonl\.meta\.json\nreport\.jsonl\.sent\n/);
    // Installed from the tool's own repository at a pinned ref, never by a bare registry name.
    for (const job of [wf.jobs.validate, imp]) {
      const install = job.steps.filter((s: any) => /npm install/.test(s.run ?? ""));
      expect(install).toHaveLength(1);
      expect(install[0].run).toContain('npm install --prefix "$RUNNER_TEMP/tools" "github:${{ vars.BULK_USERS_REPO }}#${{ vars.BULK_USERS_REF }}"\n');
      expect(install[0].run).toContain('echo "$RUNNER_TEMP/tools/node_modules/.bin" >> "$GITHUB_PATH"');
    }
    expect(down.with.name).toBe(up.with.name);
    expect(down.with.path).toBe("previous");
    expect(down.with["run-id"]).toContain("inputs.resume_run_id");
    expect(down["continue-on-error"]).toBe(true);
    expect(wf.permissions.actions).toBe("read");
    // The import line is a command this CLI accepts (all flags known).
    const cmd = step.run.split("\n").filter((l: string) => !/^\s*(#|RESUME|if )/.test(l)).join(" ").replace(/\\\s+/g, " ");
    expect(cmd).toMatch(/^bulk-users import migration\/users\.csv -p zego -m migration\/zego\.mapping\.yaml +--shard/);
  });

  it("the workflow's import line runs as written (one shard, then resumed)", async () => {
    // The step's command against the emulator, shard 2 of 4, then again with --resume as a re-run does.
    const users = write(dir, "users.csv", csv(["user_id", "name"], Array.from({ length: 40 }, (_, i) => [`w${i}`, `W ${i}`])));
    const base = ["import", users, "-p", "zego", "--endpoint", emu.url, "--shard", "2/4", "--rate", "5", "--failed-out", `${dir}/fix.csv`, "--json"];
    const first = await runCli([...base, "--report", `${dir}/wf1.jsonl`], { env });
    expect(first.code).toBe(0);
    const sent = JSON.parse(first.stdout).counts.created as number;
    expect(sent).toBeGreaterThan(0);
    const again = await runCli([...base, "--report", `${dir}/wf2.jsonl`, "--resume", `${dir}/wf1.jsonl`], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ resumed: sent, requests: 0 });
  });
});
