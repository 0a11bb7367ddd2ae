import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { HttpResponse, ProviderContext } from "../../src/providers/define.js";
import zego, { zegoSignature } from "../../src/providers/zego.js";
import { readReport } from "../helpers.js";
import { testProvider } from "./_suite.js";

/** An answer as the adapter sees it. */
const answer = (status: number, json: unknown): HttpResponse => ({
  status,
  headers: { get: () => null },
  text: typeof json === "string" ? json : JSON.stringify(json),
  json: typeof json === "string" ? undefined : json,
});
const users = (...ids: string[]) => ids.map((UserId) => ({ UserId }));
const noCtx = {} as ProviderContext;
const parse = (status: number, json: unknown, ids: string[]) => zego.parseResponse(answer(status, json), users(...ids), noCtx);

/** Public parameters of a signed request, with a fresh nonce unless told. */
function query(env: Record<string, string | undefined>, nonce = randomBytes(8).toString("hex"), ts = Math.floor(Date.now() / 1000)) {
  const q = new URLSearchParams({ Action: "UserRegister", AppId: env.ZEGO_APP_ID!, SignatureNonce: nonce, Timestamp: String(ts), SignatureVersion: "2.0" });
  q.set("Signature", zegoSignature(env.ZEGO_APP_ID!, nonce, env.ZEGO_SERVER_SECRET!, ts));
  return q;
}

/** A signed request to the emulator, as the vendor describes it (each with its own nonce). */
function signed(env: Record<string, string | undefined>, path = "/") {
  return (url: string, body: unknown, type = "application/json") => fetch(`${url}${path}?${query(env)}`, { method: "POST", headers: { "content-type": type }, body: JSON.stringify(body) });
}

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
        // The digest of "1234567890" + "15215528852396" + "secret" + "1234567890", pinned.
        expect(zegoSignature("1234567890", "15215528852396", "secret", 1234567890)).toBe("07b6aa1b1dcf7e312b948fe6fbbdec55");
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
        const res = await fetch(`${emu.url}/?${q}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ UserInfo: [{ UserId: "a" }] }) });
        expect(await res.json()).toMatchObject({ Code: 100000004 });
      });

      it("the emulator refuses a nonce used again within the timestamp window, and an import draws one per request", async () => {
        const { emu, env } = await ctx.start();
        const send = (q: URLSearchParams, id: string) => fetch(`${emu.url}/?${q}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ UserInfo: [{ UserId: id }] }) });
        const ts = Math.floor(Date.now() / 1000);
        expect(await (await send(query(env, "abcdef0123456789", ts), "a")).json()).toMatchObject({ Code: 0 });
        // Signed again, even with another timestamp: still the same nonce.
        expect(await (await send(query(env, "abcdef0123456789", ts - 1), "b")).json()).toMatchObject({ Code: 100000005, Message: "signature error: SignatureNonce already used" });
        expect(emu.users().map((u) => u.UserId)).toEqual(["a"]);
        const s = await ctx.run(emu, env, ctx.input(0, 250));
        expect(s.counts.created).toBe(250);
        expect(emu.stats.requests).toBe(2 + 3);
      });

      it("takes every character the vendor allows in a UserId, and refuses a UserAvatar over 500 bytes locally", async () => {
        const { emu, env } = await ctx.start();
        const all = "aZ09!#$%&()+-:;<=.>?@[]^_,|~";
        const avatar = (n: number) => `https://example.com/${"a".repeat(n - 20)}`;
        expect(avatar(500).length).toBe(500);
        const s = await ctx.run(emu, env, ctx.input(0, 0, [
          { id: all, first: "A", last: "B", avatar: "" },
          { id: "ok500", first: "A", last: "B", avatar: avatar(500) },
          { id: "over501", first: "A", last: "B", avatar: avatar(501) },
        ]));
        const rows = readReport(s.report!).sort((a, b) => a.line - b.line);
        expect(rows.map((r) => [r.key, r.status])).toEqual([
          [all, "created"],
          ["ok500", "created"],
          ["over501", "invalid"],
        ]);
        expect(rows[2]).toMatchObject({ field: "UserAvatar", code: "660700007" });
        expect(emu.stats.requests).toBe(1);
        expect(emu.users().map((u) => u.UserId).sort()).toEqual([all, "ok500"].sort());
      });

      it("holds the vendor's limits: 100 users a request, 20 requests a second", () => {
        expect(zego.maxBatch).toBe(100);
        expect(zego.rate).toEqual({ limit: 20, intervalMs: 1000 });
      });

      it("stores the name and avatar it was sent", async () => {
        const { emu, env } = await ctx.start();
        await ctx.run(emu, env, ctx.input(0, 3));
        expect(emu.users().find((u) => u.UserId === "user_1")).toEqual({ UserId: "user_1", UserName: "Ada L1", UserAvatar: "https://example.com/1.png" });
      });

      it("the emulator refuses another path and a parameter the vendor does not have", async () => {
        const { emu, env } = await ctx.start();
        expect((await signed(env, "/v1/users")(emu.url, { UserInfo: [{ UserId: "a" }] })).status).toBe(404);
        expect(await (await signed(env)(emu.url, { UserInfo: [{ UserId: "a", Username: "A" }] })).json()).toMatchObject({ Code: 660000002 });
        expect(emu.users()).toHaveLength(0);
      });

      it("the emulator refuses a body that is not sent as JSON", async () => {
        const { emu, env } = await ctx.start();
        for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]) {
          const r = await signed(env)(emu.url, { UserInfo: [{ UserId: "a" }] }, type);
          expect(await r.json(), type).toMatchObject({ Code: 660000002, Message: "Content-Type must be application/json" });
        }
        expect(await (await signed(env)(emu.url, { UserInfo: [{ UserId: "a" }] }, "application/json; charset=utf-8")).json()).toMatchObject({ Code: 0 });
        expect(emu.users()).toHaveLength(1);
      });

      it("ErrorList entries name the user as UserID (the vendor's table) or UserId (its sample): both map back to the row", async () => {
        const { emu, env } = await ctx.start();
        await signed(env)(emu.url, { UserInfo: [{ UserId: "x1" }, { UserId: "x2" }] });
        const spellings = new Set<string>();
        for (let i = 0; i < 2; i++) {
          const res = await signed(env)(emu.url, { UserInfo: [{ UserId: "x1" }, { UserId: `n${i}` }] });
          const json = (await res.json()) as { ErrorList: Record<string, unknown>[] };
          for (const e of json.ErrorList) for (const k of Object.keys(e)) if (k.toLowerCase() === "userid") spellings.add(k);
          const out = zego.parseResponse(answer(200, json), users("x1", `n${i}`), noCtx);
          expect(out).toMatchObject({ kind: "records", results: [{ status: "exists" }, { status: "created" }] });
        }
        expect([...spellings].sort()).toEqual(["UserID", "UserId"]);
      });

      it("reads the vendor's answers: stop, split, retry or per user", () => {
        // Public-parameter errors are the caller's configuration: retrying cannot help.
        for (const Code of [100000002, 100000003, 100000005, 100000007, 100000009, 100000014]) expect(parse(200, { Code, ErrorList: [] }, ["a"]).kind).toBe("auth");
        // A refusal that names nobody ("one or more parameters are invalid"): halve to the culprit.
        expect(parse(200, { Code: 660000002, ErrorList: [] }, ["a", "b"]).kind).toBe("split");
        expect(parse(200, { Code: 660700006, ErrorList: null }, ["a", "b"]).kind).toBe("split");
        expect(parse(200, { Code: 660700002, ErrorList: [] }, ["a"])).toEqual({ kind: "records", results: [{ status: "exists", code: "660700002", message: "" }] });
        expect(parse(200, { Code: 660700001, ErrorList: [] }, ["a"])).toMatchObject({ kind: "retry", throttled: true });
        expect(parse(200, { Code: 0, ErrorList: [{ UserId: "b", SubCode: 660700001 }] }, ["a", "b"])).toMatchObject({ kind: "records", results: [{ status: "created" }, { status: "retry", throttled: true }] });
        // The table's spelling `UserID` is read like the sample's `UserId`.
        expect(parse(200, { Code: 0, ErrorList: [{ UserID: "b", SubCode: 660700002 }] }, ["a", "b"])).toMatchObject({ kind: "records", results: [{ status: "created" }, { status: "exists" }] });
        // An entry naming nobody sent could be anyone's: the unnamed are resent, never called created.
        expect(parse(200, { Code: 0, ErrorList: [{ UserId: "zz", SubCode: 660000002 }] }, ["a", "b"])).toMatchObject({ kind: "records", results: [{ status: "retry" }, { status: "retry" }] });
        // Code ≠ 0 with entries means every user failed: one left out of the list is not created.
        expect(parse(200, { Code: 660700002, ErrorList: [{ UserId: "a", SubCode: 660700002 }] }, ["a", "b"])).toMatchObject({ kind: "records", results: [{ status: "exists" }, { status: "retry" }] });
        // A server error is retried whatever envelope it carries.
        expect(parse(502, { Code: 660000002, ErrorList: [] }, ["a", "b"]).kind).toBe("retry");
        expect(parse(500, { Code: 0, ErrorList: [] }, ["a"]).kind).toBe("retry");
        // No envelope: a 4xx from a wrong path or a proxy fails; 5xx and 429 are retried.
        expect(parse(404, "<html>Not Found</html>", ["a"])).toMatchObject({ kind: "endpoint", code: "HTTP_404" });
        expect(parse(400, "<html>Bad Request</html>", ["a"])).toMatchObject({ kind: "failed", code: "HTTP_400" });
        expect(parse(503, "Service Unavailable", ["a"]).kind).toBe("retry");
        expect(parse(429, "", ["a"])).toMatchObject({ kind: "retry", throttled: true });
      });

      it("the emulator refuses a 101-user request", async () => {
        const { emu, env } = await ctx.start();
        const ts = Math.floor(Date.now() / 1000);
        const q = new URLSearchParams({ Action: "UserRegister", AppId: env.ZEGO_APP_ID!, SignatureNonce: "abcdef0123456789", Timestamp: String(ts), SignatureVersion: "2.0" });
        q.set("Signature", zegoSignature(env.ZEGO_APP_ID!, "abcdef0123456789", env.ZEGO_SERVER_SECRET!, ts));
        const users = Array.from({ length: 101 }, (_, i) => ({ UserId: `u${i}` }));
        const res = await fetch(`${emu.url}/?${q}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ UserInfo: users }) });
        expect(await res.json()).toMatchObject({ Code: 660000002, Message: "at most 100 users a request" });
        expect(emu.users()).toHaveLength(0);
      });
    });
  },
);
