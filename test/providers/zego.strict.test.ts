import { randomBytes } from "node:crypto";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import zegoEmulator from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { zegoSignature } from "../../src/providers/zego.js";

// Direct requests a faithful ZIM server refuses: each pins one rule of the emulator
// (providers.md "zego" / vendor-docs/zego-zim-user-register.txt) that no adapter-driven test reaches.

const open: Emulator[] = [];
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function start() {
  const env = zegoEmulator.sandboxEnv();
  const emu = zegoEmulator.create({ env });
  await emu.listen(0, "127.0.0.1");
  open.push(emu);
  return { emu, env };
}

type Env = Record<string, string>;
const nonce16 = () => randomBytes(8).toString("hex");

/** Public parameters, correctly signed unless a part is overridden. */
function params(env: Env, o: { nonce?: string; ts?: number; appId?: string; signAppId?: string; version?: string | null; action?: string | null; sig?: (s: string) => string } = {}) {
  const nonce = o.nonce ?? nonce16();
  const ts = o.ts ?? Math.floor(Date.now() / 1000);
  const q = new URLSearchParams();
  if (o.action !== null) q.set("Action", o.action ?? "UserRegister");
  q.set("AppId", o.appId ?? env.ZEGO_APP_ID!);
  q.set("SignatureNonce", nonce);
  q.set("Timestamp", String(ts));
  if (o.version !== null) q.set("SignatureVersion", o.version ?? "2.0");
  const sig = zegoSignature(o.signAppId ?? o.appId ?? env.ZEGO_APP_ID!, nonce, env.ZEGO_SERVER_SECRET!, ts);
  q.set("Signature", o.sig ? o.sig(sig) : sig);
  return q;
}

async function post(emu: Emulator, q: URLSearchParams, body: unknown, method = "POST") {
  const res = await fetch(`${emu.url}/?${q}`, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

const one = (UserId = "u1", extra: Record<string, unknown> = {}) => ({ UserInfo: [{ UserId, ...extra }] });
/** A request the server accepted: HTTP 200 and Code 0. */
const accepted = (r: { status: number; json: any }) => r.status === 200 && r.json?.Code === 0;

describe("zego emulator (strict)", () => {
  it("control: a correctly signed request is accepted", async () => {
    const { emu, env } = await start();
    const r = await post(emu, params(env), one());
    expect(r).toMatchObject({ status: 200, json: { Code: 0, ErrorList: [] } });
    expect(emu.users()).toHaveLength(1);
  });

  it("refuses another method than POST", async () => {
    const { emu, env } = await start();
    for (const m of ["PUT", "PATCH", "DELETE"]) expect(accepted(await post(emu, params(env), one(), m)), m).toBe(false);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a request without Action=UserRegister", async () => {
    const { emu, env } = await start();
    expect(accepted(await post(emu, params(env, { action: null }), one()))).toBe(false);
    expect(accepted(await post(emu, params(env, { action: "UserInfo" }), one()))).toBe(false);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a SignatureNonce that is not 16 hex characters", async () => {
    const { emu, env } = await start();
    for (const nonce of ["15215528852396", "0123456789abcdef01", "zzzzzzzzzzzzzzzz"])
      expect(accepted(await post(emu, params(env, { nonce }), one(`n${nonce.length}`))), nonce).toBe(false);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a missing or other SignatureVersion", async () => {
    const { emu, env } = await start();
    expect(accepted(await post(emu, params(env, { version: null }), one("a")))).toBe(false);
    expect(accepted(await post(emu, params(env, { version: "1.0" }), one("b")))).toBe(false);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses an AppId in the query that is not the signer's app", async () => {
    const { emu, env } = await start();
    const other = String(Number(env.ZEGO_APP_ID) + 1);
    expect(accepted(await post(emu, params(env, { appId: other, signAppId: env.ZEGO_APP_ID }), one()))).toBe(false);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a timestamp more than 10 minutes in the future, as in the past", async () => {
    const { emu, env } = await start();
    const now = Math.floor(Date.now() / 1000);
    expect((await post(emu, params(env, { ts: now + 700 }), one("f"))).json).toMatchObject({ Code: 100000004 });
    expect((await post(emu, params(env, { ts: now - 700 }), one("p"))).json).toMatchObject({ Code: 100000004 });
    // Inside the window both ways: accepted.
    expect(accepted(await post(emu, params(env, { ts: now + 500 }), one("f2")))).toBe(true);
    expect(accepted(await post(emu, params(env, { ts: now - 500 }), one("p2")))).toBe(true);
    expect(emu.users().map((u) => u.UserId)).toEqual(["f2", "p2"]);
  });

  it("wants the signature in lowercase hex (providers.md): an uppercase one is refused", async () => {
    const { emu, env } = await start();
    expect((await post(emu, params(env, { sig: (s) => s.toUpperCase() }), one())).json).toMatchObject({ Code: 100000005 });
    expect(emu.users()).toHaveLength(0);
  });

  it("remembers a nonce for the whole timestamp window, not just a few seconds", async () => {
    const { emu, env } = await start();
    const t0 = Date.now();
    const nonce = nonce16();
    expect(accepted(await post(emu, params(env, { nonce, ts: Math.floor(t0 / 1000) }), one("a")))).toBe(true);
    // Nine minutes later (still inside the 10-minute window of the first timestamp).
    const later = t0 + 9 * 60_000;
    vi.spyOn(Date, "now").mockReturnValue(later);
    expect((await post(emu, params(env, { nonce, ts: Math.floor(later / 1000) }), one("b"))).json).toMatchObject({ Code: 100000005 });
    expect(emu.users().map((u) => u.UserId)).toEqual(["a"]);
  });

  it("counts UserId length in UTF-8 bytes and refuses 33 bytes with 660000012", async () => {
    const { emu, env } = await start();
    // 17 characters, 34 bytes; and 33 ASCII bytes. (é is outside the UserId set, so the length rule must come first.)
    const r = await post(emu, params(env), { UserInfo: [{ UserId: "a".repeat(33) }, { UserId: "a".repeat(32) }] });
    expect(r.json).toMatchObject({ Code: 0 });
    expect(r.json.ErrorList).toHaveLength(1);
    expect(r.json.ErrorList[0]).toMatchObject({ SubCode: 660000012 });
    const r2 = await post(emu, params(env), { UserInfo: [{ UserId: "é".repeat(16) + "b" }] });
    expect(r2.json).toMatchObject({ Code: 660000012 });
    expect(r2.json.ErrorList[0]).toMatchObject({ SubCode: 660000012 });
    expect(emu.users().map((u) => u.UserId)).toEqual(["a".repeat(32)]);
  });

  it("counts UserName length in bytes: 66 bytes (33 characters) is refused with 660700006", async () => {
    const { emu, env } = await start();
    const r = await post(emu, params(env), { UserInfo: [{ UserId: "n1", UserName: "é".repeat(33) }, { UserId: "n2", UserName: "é".repeat(32) }] });
    expect(r.json).toMatchObject({ Code: 0 });
    expect(r.json.ErrorList).toHaveLength(1);
    expect(r.json.ErrorList[0]).toMatchObject({ SubCode: 660700006 });
    expect(emu.users().map((u) => u.UserId)).toEqual(["n2"]);
  });

  it("refuses a UserAvatar of 501 bytes with 660700007, takes 500", async () => {
    const { emu, env } = await start();
    const url = (n: number) => `https://example.com/${"a".repeat(n - 20)}`;
    const r = await post(emu, params(env), { UserInfo: [{ UserId: "v1", UserAvatar: url(501) }, { UserId: "v2", UserAvatar: url(500) }] });
    expect(r.json).toMatchObject({ Code: 0 });
    expect(r.json.ErrorList).toHaveLength(1);
    expect(r.json.ErrorList[0]).toMatchObject({ SubCode: 660700007 });
    const r2 = await post(emu, params(env), { UserInfo: [{ UserId: "v3", UserAvatar: "https://example.com/" + "é".repeat(241) }] });
    expect(r2.json.ErrorList[0]).toMatchObject({ SubCode: 660700007 });
    expect(emu.users().map((u) => u.UserId)).toEqual(["v2"]);
  });

  it("refuses UserId characters outside the vendor's set", async () => {
    const { emu, env } = await start();
    for (const id of ["a/b", "a b", "a*b", "a'b", 'a"b', "ab\\", "é"]) {
      const r = await post(emu, params(env), { UserInfo: [{ UserId: id }] });
      expect(r.json, id).toMatchObject({ Code: 660000002 });
      expect(r.json.ErrorList[0], id).toMatchObject({ SubCode: 660000002 });
    }
    expect(emu.users()).toHaveLength(0);
  });

  it("answers a batch whose users all exist with Code 660700002 and one entry each", async () => {
    const { emu, env } = await start();
    expect(accepted(await post(emu, params(env), { UserInfo: [{ UserId: "x1" }, { UserId: "x2" }] }))).toBe(true);
    const r = await post(emu, params(env), { UserInfo: [{ UserId: "x1" }, { UserId: "x2" }] });
    expect(r.json.Code).toBe(660700002);
    expect(r.json.ErrorList).toHaveLength(2);
    for (const e of r.json.ErrorList) expect(e.SubCode).toBe(660700002);
    expect(r.json.ErrorList.map((e: any) => e.UserId ?? e.UserID).sort()).toEqual(["x1", "x2"]);
    expect(emu.users()).toHaveLength(2);
  });

  it("a batch whose users all fail answers the code they share, or invalid parameter when they differ", async () => {
    const { emu, env } = await start();
    const long = "u".repeat(33);
    const r = await post(emu, params(env), { UserInfo: [{ UserId: long }, { UserId: `${long}2` }] });
    expect(r.json.Code).toBe(660000012);
    expect(r.json.ErrorList).toHaveLength(2);
    const mixed = await post(emu, params(env), { UserInfo: [{ UserId: long }, { UserId: "n", UserName: "n".repeat(65) }] });
    expect(mixed.json.Code).toBe(660000002);
    expect(mixed.json.ErrorList.map((e: any) => e.SubCode)).toEqual([660000012, 660700006]);
    expect(emu.users()).toHaveLength(0);
  });

  it("answers the 21st request inside one second with 660700001 (20 a second per app)", async () => {
    const { emu, env } = await start();
    const all = await Promise.all(Array.from({ length: 22 }, (_, i) => post(emu, params(env), one(`r${i}`))));
    const throttled = all.filter((r) => r.json?.Code === 660700001);
    expect(all.filter(accepted)).toHaveLength(20);
    expect(throttled).toHaveLength(2);
    expect(emu.users()).toHaveLength(20);
  });

  it("refuses a null UserName with the invalid-parameter code, storing nothing", async () => {
    const { emu, env } = await start();
    const r = await post(emu, params(env), { UserInfo: [{ UserId: "ok" }, { UserId: "nul", UserName: null }] });
    expect(r).toMatchObject({ status: 200, json: { Code: 660000002 } });
    expect(emu.users()).toHaveLength(0);
  });
});
