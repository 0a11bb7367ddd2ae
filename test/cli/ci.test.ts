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
      expect(md).toMatch(/\| `BAD_CHARACTERS` \| 2 \| .*u\.csv:3 \(c 2\)/);
      expect(md).toMatch(/\| `DUPLICATE` \| 1 \|/);
      expect(md).toMatch(/users\/s/);
      expect(md).not.toContain(env.ZEGO_SERVER_SECRET);
    }
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
    expect(seen.sort()).toEqual(Array.from({ length: 300 }, (_, i) => `s${i}`).sort());
    expect((await runCli(["validate", big, "-p", "zego", "--shard", "4/3"])).code).toBe(2);
  });

  it("bulk-users report prints the summary and writes a self-contained HTML page that escapes row data", async () => {
    const report = `${dir}/r.jsonl`;
    const r = await runCli(["report", report, "--html", `${dir}/r.html`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/5 row\(s\)\n {2}.*created 2/);
    expect(r.stdout).toMatch(/BAD_CHARACTERS ×2/);
    const html = readFileSync(`${dir}/r.html`, "utf8");
    expect(html).toMatch(/<b>2<\/b><span>created<\/span>/);
    expect(html).toContain("<td>&lt;b&gt;x y</td>");
    expect(html).not.toContain("<td><b>x");
    expect(html).toMatch(/<svg role="img"/);
    expect(html).not.toMatch(/<(script|link)\b|src="http/);
    const j = JSON.parse((await runCli(["report", report, "--json"])).stdout);
    expect(j.counts).toMatchObject({ created: 2, invalid: 2, duplicate: 1 });
  });

  it("the GitHub Actions example validates on pull requests and imports in 4 shards with secrets", () => {
    const wf = parseYaml(readFileSync("samples/ci/bulk-users.yml", "utf8")) as any;
    expect(Object.keys(wf.on)).toEqual(["pull_request", "workflow_dispatch"]);
    expect(wf.jobs.import.strategy.matrix.shard).toEqual([1, 2, 3, 4]);
    const run = wf.jobs.import.steps.find((s: any) => String(s.run ?? "").includes("--shard")).run as string;
    expect(run).toContain("--shard ${{ matrix.shard }}/4");
    expect(JSON.stringify(wf.jobs.import.steps)).toContain("secrets.ZEGO_SERVER_SECRET");
    expect(existsSync("samples/ci/bulk-users.yml")).toBe(true);
  });
});
