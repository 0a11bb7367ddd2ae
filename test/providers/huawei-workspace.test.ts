import { describe, expect, it } from "vitest";
import { runImport } from "../../src/core/import.js";
import { csv, readReport, runCli, write } from "../helpers.js";
import { testProvider } from "./_suite.js";

const mapping = { fields: { user_name: "login", user_email: "email", active_type: "type", password: "pw", account_expires: "expires", group_ids: { column: "groups", transform: [{ split: ";" }] } } };

testProvider(
  {
    name: "huawei-workspace",
    mapping,
    row: (i) => ({ login: `user.${i}`, email: `u${i}@example.com`, type: "USER_ACTIVATE", pw: "", expires: "0", groups: "g1;g2" }),
    invalidRow: { cells: { login: "has space", email: "x@example.com", type: "", pw: "", expires: "", groups: "" }, field: "user_name" },
    storedKey: "user_name",
    keyColumn: "login",
    refusedCode: "WKS.0001",
    badEnv: (env) => ({ ...env, HUAWEI_IAM_PASSWORD: "wrong-password" }),
  },
  (ctx) => {
    describe("huawei-workspace specifics", () => {
      it("renews an expired IAM token mid-run, once for all requests in flight", async () => {
        const { emu, env } = await ctx.start({ tokenTtlMs: 400 });
        const s = await ctx.run(emu, env, ctx.input(0, 3000), { concurrency: 4, rate: 4 });
        expect(s.counts.created).toBe(3000);
        // 15 requests at 4/s ≈ 3.5 s with 0.4 s tokens (renewed 10 min early = every call): a few
        // renewals, never one per request in flight.
        expect(emu.stats.issued.length).toBeGreaterThanOrEqual(2);
        expect(emu.stats.issued.length).toBeLessThanOrEqual(s.requests);
      });

      it("a token given in HUAWEI_AUTH_TOKEN is used as is; a refused one stops the run (exit 2)", async () => {
        const { emu, env } = await ctx.start();
        const direct = { HUAWEI_REGION: env.HUAWEI_REGION!, HUAWEI_PROJECT_ID: env.HUAWEI_PROJECT_ID!, HUAWEI_AUTH_TOKEN: "not-a-token-the-emulator-issued" };
        const r = await runCli(["import", ctx.input(0, 3), "-p", "huawei-workspace", "-m", write(ctx.dir, "hw.yaml", "fields:\n  user_name: login\n  user_email: email\n"), "--endpoint", emu.url, "--report", `${ctx.dir}/hw.jsonl`], { env: direct });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/\[huawei-workspace\] authentication failed: WKS\.0003/);
        expect(r.stderr).not.toContain("not-a-token-the-emulator-issued");
      });

      it("enforces active_type rules and the account_expires format locally, naming the field", async () => {
        const rows = [
          ["a1", "", "ADMIN_ACTIVATE", "", "0"],
          ["a2", "", "USER_ACTIVATE", "", "0"],
          ["a3", "a3@example.com", "USER_ACTIVATE", "", "2025-02-30T00:00:00Z"],
          ["a4", "", "ADMIN_ACTIVATE", "S3cret!pass", "2030-01-01T00:00:00.000Z"],
        ];
        const f = write(ctx.dir, "rules.csv", csv(["login", "email", "type", "pw", "expires", "groups"], rows.map((r) => [...r, ""])));
        const s = await runImport({ files: [f], provider: "huawei-workspace", mapping, dryRun: true, report: `${ctx.dir}/rules.jsonl` });
        const r = readReport(`${ctx.dir}/rules.jsonl`).sort((a, b) => a.line - b.line);
        expect(r.map((x) => [x.status, x.field])).toEqual([
          ["invalid", "password"],
          ["invalid", "active_type"],
          ["invalid", "account_expires"],
          ["valid", undefined],
        ]);
        expect(JSON.stringify(r)).not.toContain("S3cret!pass");
        expect(s.counts.valid).toBe(1);
      });

      it("the IAM token never appears in output or reports", async () => {
        const { emu, env } = await ctx.start();
        const r = await runCli(["import", ctx.input(0, 50), "-p", "huawei-workspace", "-m", write(ctx.dir, "hw2.yaml", "fields:\n  user_name: login\n  user_email: email\n"), "--endpoint", emu.url, "--report", `${ctx.dir}/tok.jsonl`], { env });
        expect(r.code).toBe(0);
        expect(emu.stats.issued.length).toBe(1);
        const all = r.stdout + r.stderr + (await import("node:fs")).readFileSync(`${ctx.dir}/tok.jsonl`, "utf8");
        expect(all).not.toContain(emu.stats.issued[0]!);
        expect(all).not.toContain(env.HUAWEI_IAM_PASSWORD!);
      });
    });
  },
);
