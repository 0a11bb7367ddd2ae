import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { zegoSignature } from "../../src/providers/zego.js";
import { readReport } from "../helpers.js";
import { testProvider } from "./_suite.js";

testProvider(
  {
    name: "zego",
    mapping: { fields: { UserId: "id", UserName: { template: "{first} {last}" }, UserAvatar: "avatar" } },
    row: (i) => ({ id: `user_${i}`, first: "Ada", last: `L${i}`, avatar: `https://example.com/${i}.png` }),
    invalidRow: { cells: { id: "bad/id", first: "Bad", last: "Id", avatar: "" }, field: "UserId" },
    storedKey: "UserId",
    keyColumn: "id",
    refusedCode: "660000002",
    badEnv: (env) => ({ ...env, ZEGO_SERVER_SECRET: "0".repeat(32) }),
  },
  (ctx) => {
    describe("zego specifics", () => {
      it("signs as md5(AppId + SignatureNonce + ServerSecret + Timestamp)", () => {
        const expected = createHash("md5").update("123456789015215528852396secret1234567890").digest("hex");
        expect(zegoSignature("1234567890", "15215528852396", "secret", 1234567890)).toBe(expected);
        expect(expected).toMatch(/^[0-9a-f]{32}$/);
      });

      it("maps ErrorList entries back to their rows by UserId", async () => {
        const { emu, env } = await ctx.start();
        await ctx.run(emu, env, ctx.input(5, 6));
        const s = await ctx.run(emu, env, ctx.input(0, 10));
        const rows = readReport(s.report!).sort((a, b) => a.line - b.line);
        expect(rows.map((r) => r.status)).toEqual(["created", "created", "created", "created", "created", "exists", "created", "created", "created", "created"]);
        expect(rows[5]).toMatchObject({ key: "user_5", code: "660700002" });
      });

      it("counts lengths in bytes: 33 bytes of UserId is refused locally with the vendor code", async () => {
        const { emu, env } = await ctx.start();
        const s = await ctx.run(emu, env, ctx.input(0, 1, [{ id: "é".repeat(16) + "x", first: "A", last: "B", avatar: "" }]));
        const bad = readReport(s.report!).find((r) => r.status === "invalid")!;
        expect(bad).toMatchObject({ field: "UserId", code: "660000012" });
        expect(emu.stats.requests).toBe(1);
      });

      it("the emulator refuses a stale timestamp as an expired signature", async () => {
        const { emu, env } = await ctx.start();
        const now = Math.floor(Date.now() / 1000) - 700;
        const q = new URLSearchParams({ Action: "UserRegister", AppId: env.ZEGO_APP_ID!, SignatureNonce: "abcdef0123456789", Timestamp: String(now), SignatureVersion: "2.0" });
        q.set("Signature", zegoSignature(env.ZEGO_APP_ID!, "abcdef0123456789", env.ZEGO_SERVER_SECRET!, now));
        const res = await fetch(`${emu.url}/?${q}`, { method: "POST", body: JSON.stringify({ UserInfo: [{ UserId: "a" }] }) });
        expect(await res.json()).toMatchObject({ Code: 100000004 });
      });

      it("the emulator refuses a 101-user request", async () => {
        const { emu, env } = await ctx.start();
        const ts = Math.floor(Date.now() / 1000);
        const q = new URLSearchParams({ Action: "UserRegister", AppId: env.ZEGO_APP_ID!, SignatureNonce: "abcdef0123456789", Timestamp: String(ts), SignatureVersion: "2.0" });
        q.set("Signature", zegoSignature(env.ZEGO_APP_ID!, "abcdef0123456789", env.ZEGO_SERVER_SECRET!, ts));
        const users = Array.from({ length: 101 }, (_, i) => ({ UserId: `u${i}` }));
        const res = await fetch(`${emu.url}/?${q}`, { method: "POST", body: JSON.stringify({ UserInfo: users }) });
        expect(await res.json()).toMatchObject({ Code: 660000002 });
        expect(emu.users()).toHaveLength(0);
      });
    });
  },
);
