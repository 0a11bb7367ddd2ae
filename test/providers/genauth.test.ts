import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runImport } from "../../src/core/import.js";
import { csv, readReport, runCli, write } from "../helpers.js";
import { testProvider } from "./_suite.js";

const mapping = {
  fields: { email: "email", username: "login", externalId: "id", name: { template: "{first} {last}" }, password: "pw" },
  options: { keepPassword: true, resetPasswordOnFirstLogin: false },
};
const HASH = "$2b$10$abcdefghijklmnopqrstuvWXYZ0123456789abcdefghijklmnopq";

testProvider(
  {
    name: "genauth",
    mapping,
    row: (i) => ({ email: `u${i}@example.com`, login: `user${i}`, id: `ext-${i}`, first: "Ada", last: `L${i}`, pw: HASH }),
    invalidRow: { cells: { email: "not-an-email", login: "bad", id: "ext-bad", first: "B", last: "C", pw: "" }, field: "email" },
    storedKey: "email",
    keyColumn: "email",
    refusedCode: "1001",
    badEnv: (env) => ({ ...env, GENAUTH_ACCESS_KEY_SECRET: "wrong-secret" }),
  },
  (ctx) => {
    describe("genauth specifics", () => {
      it("records the vendor's userId for each created user (source id → new id)", async () => {
        const { emu, env } = await ctx.start();
        const s = await ctx.run(emu, env, ctx.input(0, 120));
        const rows = readReport(s.report!);
        const byEmail = new Map(emu.users().map((u) => [u.email, u.userId]));
        for (const r of rows) expect(r.id).toBe(byEmail.get(r.key));
        expect(new Set(rows.map((r) => r.id)).size).toBe(120);
      });

      it("renews an expiring management token mid-run with one shared renewal", async () => {
        const { emu, env } = await ctx.start({ tokenTtlMs: 700 });
        const s = await ctx.run(emu, env, ctx.input(0, 2000), { concurrency: 6 });
        expect(s.counts.created).toBe(2000);
        // 40 requests over ~4 s with 0.7 s tokens: a handful of tokens, not one per request.
        expect(emu.stats.issued.length).toBeGreaterThanOrEqual(3);
        expect(emu.stats.issued.length).toBeLessThan(s.requests / 2);
      });

      it("sends hashed passwords with keepPassword and never reports them or the tokens", async () => {
        const { emu, env } = await ctx.start();
        const f = ctx.input(0, 30);
        const r = await runCli(["import", f, "-p", "genauth", "-m", write(ctx.dir, "g.yaml", "fields:\n  email: email\n  username: login\n  password: pw\noptions:\n  keepPassword: true\n"), "--endpoint", emu.url, "--report", `${ctx.dir}/pw.jsonl`, "--failed-out", `${ctx.dir}/pw-fix.csv`], { env });
        expect(r.code).toBe(0);
        expect(emu.users()).toHaveLength(30);
        expect(emu.users().every((u) => u.passwordSet === true && u.keepPassword === true)).toBe(true);
        const out = r.stdout + r.stderr + readFileSync(`${ctx.dir}/pw.jsonl`, "utf8") + readFileSync(`${ctx.dir}/pw.jsonl.meta.json`, "utf8");
        expect(out).not.toContain(HASH);
        for (const t of emu.stats.issued) expect(out).not.toContain(t);
        expect(out).not.toContain(env.GENAUTH_ACCESS_KEY_SECRET!);
      });

      it("requires one of email, phone or username, and checks uniqueness of each in the input", async () => {
        const f = write(ctx.dir, "g.csv", csv(["email", "phone", "login"], [["", "", ""], ["a@x.com", "123", "a"], ["b@x.com", "123", "b"], ["A@X.com", "", "c"], ["", "", "a"]]));
        await runImport({ files: [f], provider: "genauth", mapping: { fields: { email: "email", phone: "phone", username: "login" } }, dryRun: true, report: `${ctx.dir}/g.jsonl` });
        const rows = readReport(`${ctx.dir}/g.jsonl`).sort((a, b) => a.line - b.line);
        expect(rows.map((r) => r.status)).toEqual(["invalid", "valid", "duplicate", "duplicate", "duplicate"]);
        expect(rows[0]!.message).toMatch(/one of email, phone or username is required/);
        expect(rows[2]!.message).toMatch(/phone `123` already appears at .* line 3/);
        expect(rows[4]!.key).toBe("a");
      });

      it("checks a row without an email by its own fields' rules, not the email's", async () => {
        // Usernames are case-sensitive and a phone is not a username: none of these is a duplicate.
        const f = write(ctx.dir, "g2.csv", csv(["email", "phone", "login"], [["", "", "Bob"], ["", "", "bob"], ["", "12345", ""], ["", "", "12345"], ["", "", "Bob"]]));
        await runImport({ files: [f], provider: "genauth", mapping: { fields: { email: "email", phone: "phone", username: "login" } }, dryRun: true, report: `${ctx.dir}/g2.jsonl` });
        const rows = readReport(`${ctx.dir}/g2.jsonl`).sort((a, b) => a.line - b.line);
        expect(rows.map((r) => r.status)).toEqual(["valid", "valid", "valid", "valid", "duplicate"]);
        expect(rows[4]!.message).toMatch(/username `Bob` already appears at .* line 2/);
      });

      it("a 409 for a user holding several unique values is exists but unsure: its message says why, and the run warns", async () => {
        const { emu, env } = await ctx.start();
        const m = write(ctx.dir, "u409.yaml", "fields:\n  email: email\n  username: login\n");
        const first = write(ctx.dir, "u409a.csv", csv(["email", "login"], [["ann@x.io", "ann"]]));
        expect((await runCli(["import", first, "-p", "genauth", "-m", m, "--endpoint", emu.url, "--report", `${ctx.dir}/u409a.jsonl`], { env })).code).toBe(0);
        // Another person with Ann's username: GenAuth answers 409, naming no field.
        const second = write(ctx.dir, "u409b.csv", csv(["email", "login"], [["other@x.io", "ann"]]));
        const r = await runCli(["import", second, "-p", "genauth", "-m", m, "--endpoint", emu.url, "--report", `${ctx.dir}/u409b.jsonl`], { env });
        const [row] = readReport(`${ctx.dir}/u409b.jsonl`);
        expect(row).toMatchObject({ status: "exists", code: "409" });
        expect(row!.message).toMatch(/does not say which of its email, username clashed: this user is there already, or another user holds one of those values/);
        expect(r.stderr).toMatch(/1 row\(s\) reported exists on an answer that may concern another user \(e\.g\. .*u409b\.csv line 2/);
        expect(emu.users().map((u) => u.email)).toEqual(["ann@x.io"]);
        // Email alone: the clash can only be its own, no warning.
        const third = write(ctx.dir, "u409c.csv", csv(["email"], [["ann@x.io"]]));
        const again = await runCli(["import", third, "-p", "genauth", "-m", write(ctx.dir, "u409c.yaml", "fields:\n  email: email\n"), "--endpoint", emu.url, "--report", `${ctx.dir}/u409c.jsonl`], { env });
        expect(again.stderr).not.toMatch(/may concern another user/);
        expect(readReport(`${ctx.dir}/u409c.jsonl`)[0]).toMatchObject({ status: "exists", code: "409", message: "User already exists" });
      });

      it("the emulator refuses a pool id it does not know (exit 2)", async () => {
        const { emu, env } = await ctx.start();
        await expect(ctx.run(emu, { ...env, GENAUTH_USER_POOL_ID: "other-pool" }, ctx.input(0, 5))).rejects.toMatchObject({ code: "AUTH_REJECTED" });
      });
    });
  },
);
