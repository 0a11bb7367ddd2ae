import { describe, expect, it } from "vitest";
import { readReport } from "../helpers.js";
import { testProvider } from "./_suite.js";

testProvider(
  {
    name: "imkit",
    mapping: { fields: { _id: "id", nickname: { template: "{first} {last}" }, avatarUrl: "avatar" } },
    row: (i) => ({ id: `client-${i}`, first: "Ada", last: `L${i}`, avatar: `https://example.com/${i}.png` }),
    invalidRow: { cells: { id: "x", first: "Bad", last: "Avatar", avatar: "not a url" }, field: "avatarUrl" },
    storedKey: "_id",
    keyColumn: "id",
    createdStatus: "upserted",
    existsStatus: "upserted",
    refusedCode: "400",
    badEnv: (env) => ({ ...env, IMKIT_API_KEY: "wrong-key" }),
  },
  (ctx) => {
    describe("imkit specifics", () => {
      it("updates an existing client in place (upsert), never duplicating it", async () => {
        const { emu, env } = await ctx.start();
        await ctx.run(emu, env, ctx.input(0, 5));
        const s = await ctx.run(emu, env, ctx.input(3, 8));
        expect(readReport(s.report!).map((r) => r.status)).toEqual(Array(5).fill("upserted"));
        expect(emu.users()).toHaveLength(8);
      });

      it("sends IM-API-KEY and the exact content type; the emulator refuses others", async () => {
        const { emu, env } = await ctx.start();
        const ok = await fetch(`${emu.url}/admin/clients/list`, {
          method: "POST",
          headers: { "IM-API-KEY": env.IMKIT_API_KEY!, "Content-Type": "application/json; charset=utf-8" },
          body: JSON.stringify({ data: [{ _id: "a" }] }),
        });
        expect(await ok.json()).toEqual({ RC: 0, RM: "OK", result: { count: 1 } });
        const noKey = await fetch(`${emu.url}/admin/clients/list`, { method: "POST", headers: { "Content-Type": "application/json; charset=utf-8" }, body: "{}" });
        expect(noKey.status).toBe(401);
        const big = await fetch(`${emu.url}/admin/clients/list`, {
          method: "POST",
          headers: { "IM-API-KEY": env.IMKIT_API_KEY!, "Content-Type": "application/json; charset=utf-8" },
          body: JSON.stringify({ data: Array.from({ length: 101 }, (_, i) => ({ _id: `b${i}` })) }),
        });
        expect(big.status).toBe(400);
      });

      it("without IMKIT_BASE_URL or --endpoint the run is refused naming the variable", async () => {
        const { runImport } = await import("../../src/core/import.js");
        await expect(runImport({ files: [ctx.input(0, 1)], provider: "imkit", env: { IMKIT_API_KEY: "k" }, report: false })).rejects.toThrow(/IMKIT_BASE_URL is not set/);
      });
    });
  },
);
