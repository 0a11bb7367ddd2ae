import { describe, expect, it } from "vitest";
import { runImport } from "../../src/core/import.js";
import { csv, readReport, runCli, write } from "../helpers.js";
import { testProvider } from "./_suite.js";

const mapping = { fields: { firstName: "first", lastName: "last", email: "email", country: "country" }, options: { sendEmail: false } };

testProvider(
  {
    name: "royalti",
    mapping,
    row: (i) => ({ first: "Ada", last: `L${i}`, email: `ada.${i}@example.com`, country: "GB" }),
    invalidRow: { cells: { first: "Bad", last: "Mail", email: "not-an-email", country: "GB" }, field: "email" },
    storedKey: "email",
    keyColumn: "email",
    refusedCode: "ROYALTI_ERROR",
    badEnv: (env) => ({ ...env, ROYALTI_TOKEN: "RWAKwrong" }),
  },
  (ctx) => {
    describe("royalti specifics", () => {
      it("refuses to import without an explicit sendEmail choice (exit 2); a dry run only warns", async () => {
        const { emu, env } = await ctx.start();
        const f = ctx.input(0, 3);
        const r = await runCli(["import", f, "-p", "royalti", "--endpoint", emu.url, "--report", `${ctx.dir}/se.jsonl`], { env });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/sendEmail must be chosen explicitly/);
        expect(emu.stats.requests).toBe(0);
        const m = write(ctx.dir, "se.yaml", "fields:\n  firstName: first\n  lastName: last\n  email: email\n");
        const d = await runCli(["validate", f, "-p", "royalti", "-m", m, "--report", `${ctx.dir}/se-dry.jsonl`], { env: {} });
        expect(d.code).toBe(0);
        expect(d.stderr).toMatch(/warning: .*sendEmail must be chosen explicitly/);
      });

      it("--no-send-email imports without invites; --send-email invites", async () => {
        const { emu, env } = await ctx.start();
        const m = write(ctx.dir, "r.yaml", "fields:\n  firstName: first\n  lastName: last\n  email: email\n");
        const a = await runCli(["import", ctx.input(0, 3), "-p", "royalti", "-m", m, "--no-send-email", "--endpoint", emu.url, "--report", `${ctx.dir}/ne.jsonl`], { env });
        expect(a.code).toBe(0);
        const b = await runCli(["import", ctx.input(10, 12), "-p", "royalti", "-m", m, "--send-email", "--endpoint", emu.url, "--report", `${ctx.dir}/ye.jsonl`], { env });
        expect(b.code).toBe(0);
        expect(emu.users().map((u) => u.invited)).toEqual([false, false, false, true, true]);
      });

      it("never puts two users of the same full name in one request, and maps each answer to its own row", async () => {
        const { emu, env } = await ctx.start();
        const rows = Array.from({ length: 60 }, (_, i) => (i % 10 === 0 ? ["John", "Doe", `john.${i}@example.com`, "US"] : ["Ada", `L${i}`, `a${i}@example.com`, "GB"]));
        // One John Doe already exists: the vendor's sentence names only "John Doe".
        await runImport({ files: [write(ctx.dir, "jd0.csv", csv(["first", "last", "email", "country"], [rows[20]!]))], provider: "royalti", mapping, env, endpoint: emu.url, report: false });
        const f = write(ctx.dir, "jd.csv", csv(["first", "last", "email", "country"], rows));
        const s = await runImport({ files: [f], provider: "royalti", mapping, env, endpoint: emu.url, report: `${ctx.dir}/jd.jsonl` });
        const report = readReport(`${ctx.dir}/jd.jsonl`);
        expect(report.find((r) => r.key === "john.20@example.com")).toMatchObject({ status: "exists", code: "ALREADY_ASSOCIATED" });
        expect(report.filter((r) => r.status === "created")).toHaveLength(59);
        expect(s.requests).toBeGreaterThanOrEqual(6); // six John Does → six requests at least
        // Kept apart by the batcher, not by halving requests the emulator refused.
        expect(s.splits).toBe(0);
        expect(emu.users()).toHaveLength(60);
      });

      it("treats emails as case-insensitive duplicates in the input", async () => {
        const f = write(ctx.dir, "ci.csv", csv(["first", "last", "email", "country"], [["A", "B", "X@Example.com", "GB"], ["C", "D", "x@example.com", "GB"]]));
        const s = await runImport({ files: [f], provider: "royalti", mapping, dryRun: true, report: `${ctx.dir}/ci.jsonl` });
        expect(s.counts).toMatchObject({ valid: 1, duplicate: 1 });
      });
    });
  },
);
