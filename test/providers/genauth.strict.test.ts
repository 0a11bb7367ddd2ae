import { afterAll, describe, expect, it } from "vitest";
import genauthEmulator, { createGenauthEmulator } from "../../src/emulators/genauth.js";
import type { Emulator } from "../../src/emulators/_base.js";

// Direct requests a faithful GenAuth management API refuses (providers.md "genauth",
// vendor-docs/genauth-create-users-batch.txt): each pins one rule of the emulator.

const TOKEN = "/api/v3/get-management-token";
const CREATE = "/api/v3/create-users-batch";
const open: Emulator[] = [];
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

type Env = Record<string, string>;

/** A new emulator; the rate limit is lifted unless the test is about it. */
async function start(o: { tokenTtlMs?: number; vendorRate?: boolean } = {}) {
  const env = genauthEmulator.sandboxEnv();
  const emu = createGenauthEmulator({ env, tokenTtlMs: o.tokenTtlMs, ...(o.vendorRate ? {} : { rateLimit: 1000 }) });
  await emu.listen(0, "127.0.0.1");
  open.push(emu);
  return { emu, env };
}

async function call(emu: Emulator, path: string, body: unknown, headers: Record<string, string> = {}, method = "POST") {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: method === "GET" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

async function token(emu: Emulator, env: Env): Promise<string> {
  const r = await call(emu, TOKEN, { accessKeyId: env.GENAUTH_ACCESS_KEY_ID, accessKeySecret: env.GENAUTH_ACCESS_KEY_SECRET });
  expect(r.json.statusCode).toBe(200);
  return r.json.data.access_token;
}

/** POST create-users-batch with a valid token and pool unless overridden. */
async function create(emu: Emulator, env: Env, tok: string, body: unknown, headers: Record<string, string> = {}, method = "POST") {
  return call(emu, CREATE, body, { authorization: `Bearer ${tok}`, "x-authing-userpool-id": env.GENAUTH_USER_POOL_ID!, ...headers }, method);
}

const list = (...users: Record<string, unknown>[]) => ({ list: users });
/** The body's statusCode (errors come in HTTP 200 bodies). */
const code = (r: { json: any }) => r.json?.statusCode;

describe("genauth emulator (strict)", () => {
  it("control: a valid token creates users, one DTO per input in order, each with a userId", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    const users = Array.from({ length: 5 }, (_, i) => ({ email: `u${i}@example.com`, username: `u${i}` }));
    const r = await create(emu, env, tok, { list: users });
    expect(code(r)).toBe(200);
    expect(r.json.data.map((d: any) => d.email)).toEqual(users.map((u) => u.email));
    for (const d of r.json.data) expect(typeof d.userId).toBe("string");
    expect(new Set(r.json.data.map((d: any) => d.userId)).size).toBe(5);
  });

  it("the token endpoint refuses a wrong secret, an extra property and a non-JSON body", async () => {
    const { emu, env } = await start();
    const ok = { accessKeyId: env.GENAUTH_ACCESS_KEY_ID, accessKeySecret: env.GENAUTH_ACCESS_KEY_SECRET };
    expect(code(await call(emu, TOKEN, { ...ok, accessKeySecret: "x" }))).toBe(401);
    expect(code(await call(emu, TOKEN, { ...ok, userPoolId: env.GENAUTH_USER_POOL_ID }))).toBe(400);
    expect(code(await call(emu, TOKEN, JSON.stringify(ok), { "content-type": "text/plain" }))).toBe(400);
    expect(emu.stats.issued).toHaveLength(0);
  });

  it("wants exactly 'Authorization: Bearer <token>'", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    for (const a of [`bearer ${tok}`, tok, `Token ${tok}`, `Bearer  ${tok}`, `Bearer ${tok}x`])
      expect(code(await create(emu, env, tok, list({ email: "a@example.com" }), { authorization: a })), a.slice(0, 12)).toBe(401);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses an expired token with 401", async () => {
    const { emu, env } = await start({ tokenTtlMs: 40 });
    const tok = await token(emu, env);
    await new Promise((r) => setTimeout(r, 80));
    expect(code(await create(emu, env, tok, list({ email: "a@example.com" })))).toBe(401);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a missing or other x-authing-userpool-id", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    expect(code(await create(emu, env, tok, list({ email: "a@example.com" }), { "x-authing-userpool-id": "other-pool" }))).toBe(403);
    const r = await call(emu, CREATE, list({ email: "a@example.com" }), { authorization: `Bearer ${tok}` });
    expect(code(r)).toBe(403);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses another method, a non-JSON body and a top-level property other than list/options", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    expect((await create(emu, env, tok, list({ email: "a@example.com" }), {}, "PUT")).status).toBe(404);
    expect(code(await create(emu, env, tok, JSON.stringify(list({ email: "a@example.com" })), { "content-type": "text/plain" }))).toBe(400);
    expect(code(await create(emu, env, tok, { ...list({ email: "a@example.com" }), sendEmail: false }))).toBe(400);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses malformed options", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    for (const options of [{ keepPassword: "yes" }, { passwordEncryptType: "md5" }, { sendNotification: { sendEmailNotification: "no" } }, { notify: true }, "x"])
      expect(code(await create(emu, env, tok, { ...list({ email: "a@example.com" }), options })), JSON.stringify(options)).toBe(400);
    expect(emu.users()).toHaveLength(0);
  });

  it("takes at most 50 users a request", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    const users = (n: number, p: string) => Array.from({ length: n }, (_, i) => ({ username: `${p}${i}` }));
    expect(code(await create(emu, env, tok, { list: users(51, "a") }))).toBe(400);
    expect(emu.users()).toHaveLength(0);
    expect(code(await create(emu, env, tok, { list: users(50, "b") }))).toBe(200);
    expect(emu.users()).toHaveLength(50);
  });

  it("refuses field-rule breaks with 400, creating nothing", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    const bad: Record<string, unknown>[] = [
      { email: "a@example.com", favouriteColour: "blue" },
      { name: "Only A Name" },
      { email: "not-an-email" },
      { email: "" },
      { username: "" },
      { email: "a@example.com", phoneCountryCode: "86" },
      { email: "a@example.com", gender: "X" },
      { email: "a@example.com", status: "Active" },
      { email: "a@example.com", birthdate: "2022-02-30" },
      { email: "a@example.com", emailVerified: "true" },
      { email: "a@example.com", photo: "not a url" },
    ];
    for (const u of bad) {
      const r = await create(emu, env, tok, list({ email: "ok@example.com" }, u));
      expect(code(r), JSON.stringify(u)).toBe(400);
    }
    expect(emu.users()).toHaveLength(0);
  });

  it("answers a conflict with statusCode 409, also for email differing in case and for externalId; nothing of the batch is created", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    expect(code(await create(emu, env, tok, list({ email: "Ann@Example.com", username: "ann", externalId: "e1", phone: "13800000000" })))).toBe(200);
    for (const u of [{ email: "ann@example.com" }, { username: "ann" }, { externalId: "e1", username: "x1" }, { phone: "13800000000" }]) {
      const r = await create(emu, env, tok, list({ username: "fresh" }, u));
      expect(code(r), JSON.stringify(u)).toBe(409);
      expect(r.json.data).toBeUndefined();
    }
    expect(emu.users()).toHaveLength(1);
  });

  it("answers two users of one batch that conflict with each other with 409, creating neither", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    for (const pair of [[{ email: "b@example.com" }, { email: "B@example.com" }], [{ username: "u1", externalId: "x" }, { username: "u2", externalId: "x" }]]) {
      expect(code(await create(emu, env, tok, { list: pair }))).toBe(409);
    }
    expect(emu.users()).toHaveLength(0);
  });

  it("throttles the 11th request inside one second with statusCode 429", async () => {
    const { emu, env } = await start({ vendorRate: true });
    const tok = await token(emu, env);
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => create(emu, env, tok, list({ username: `r${i}` }))));
    expect(all.filter((r) => code(r) === 200)).toHaveLength(10);
    expect(all.filter((r) => code(r) === 429)).toHaveLength(2);
    expect(emu.users()).toHaveLength(10);
  });

  it("takes the documented nested DTOs otp and identities, and refuses them malformed", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    const identity = { extIdpId: "6076bac", provider: "wechat", type: "openid", userIdInIdp: "oj7Nq05R", userInfoInIdp: {}, originConnIds: ["605492ac"] };
    const ok = await create(emu, env, tok, list({ email: "n1@example.com", otp: { secret: "HZ2F6J3AGNAVSOTV", recoveryCode: "b471" }, identities: [identity, { ...identity, accessToken: "t", refreshToken: "r" }] }));
    expect(code(ok)).toBe(200);
    expect(ok.json.data).toHaveLength(1);
    let n = 2;
    for (const bad of [
      { otp: { recoveryCode: "b471" } },
      { otp: { secret: 1 } },
      { otp: { secret: "s", extra: "x" } },
      { otp: "HZ2F6J3AGNAVSOTV" },
      { identities: identity },
      { identities: [{ ...identity, userInfoInIdp: undefined }] },
      { identities: [{ ...identity, originConnIds: "605492ac" }] },
      { identities: [{ ...identity, provider: 7 }] },
      { identities: [identity, { ...identity, unknown: 1 }] },
      { otp: { secret: "s", toString: "x" } },
    ])
      expect(code(await create(emu, env, tok, list({ email: `n${n++}@example.com`, ...bad }))), JSON.stringify(bad)).toBe(400);
  });
});
