import { fakeResponse } from "../helpers.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { HttpError, httpSend } from "../../src/core/http.js";
import { validateUser } from "../../src/core/validate.js";
import { checkMapping } from "../../src/mapping/load.js";
import { BulkUsersError } from "../../src/errors.js";
import genauthEmulator, { createGenauthEmulator, GENAUTH_EMU_CODES, type GenauthEmulatorOptions } from "../../src/emulators/genauth.js";
import type { Emulator } from "../../src/emulators/_base.js";
import type { HttpRequest, HttpResponse, Provider, ProviderContext } from "../../src/providers/define.js";
import provider, { GenauthOptionsSchema, type GenauthOptions, type GenauthSession } from "../../src/providers/genauth.js";
import type { MappedUser } from "../../src/types.js";

const TOKEN_PATH = "/api/v3/get-management-token";
const PATH = "/api/v3/create-users-batch";
const open: Emulator[] = [];

type Ctx = ProviderContext<GenauthOptions>;

/** A fresh emulator per test (own rate window, store and tokens) and the in-test harness around it. */
async function start(o: Partial<GenauthEmulatorOptions> = {}, options: GenauthOptions = {}) {
  const env = genauthEmulator.sandboxEnv();
  const emu = createGenauthEmulator({ env, ...o });
  await emu.listen(0);
  open.push(emu);
  const tokenCalls: HttpRequest[] = [];
  const secrets: string[] = [];
  const ctx: Ctx = {
    env,
    endpoint: emu.url,
    options,
    fetch: (r, s) => {
      tokenCalls.push(r);
      return httpSend(r, { signal: s });
    },
    addSecret: (v) => void secrets.push(v),
    now: Date.now,
  };
  const session = provider.createSession!(ctx);
  return { emu, env, ctx, session, tokenCalls, secrets };
}

async function send(users: MappedUser[], ctx: Ctx, session: GenauthSession) {
  const req = await provider.buildRequest(users, ctx, session);
  const res = await httpSend(req, { timeoutMs: 2000 });
  return { req, res, result: provider.parseResponse(res, users, ctx) };
}

/** POSTs a raw body to createUsersBatch with a valid token, pool and content type unless overridden. */
async function raw(s: Awaited<ReturnType<typeof start>>, body: unknown, headers: Record<string, string> = {}, method = "POST", path = PATH) {
  const token = await s.session.get();
  const r = await fetch(`${s.emu.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "x-authing-userpool-id": s.env.GENAUTH_USER_POOL_ID!, "Content-Type": "application/json", ...headers },
    body: method === "GET" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, json: json as { statusCode?: number; message?: string; apiCode?: number; data?: unknown } | undefined, text };
}

const fake = fakeResponse;

const users = (n: number, from = 0): MappedUser[] =>
  Array.from({ length: n }, (_, i) => ({ email: `u${from + i}@example.com`, username: `user${from + i}`, externalId: `ext-${from + i}`, name: `User ${from + i}` }));
const noCtx = {} as Ctx;

afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

describe("genauth adapter: request shape and auth", () => {
  it("fetches a management token, then POSTs {list, options} with Bearer and x-authing-userpool-id; records each userId", async () => {
    const s = await start({}, { keepPassword: true, sendNotification: { sendEmailNotification: false } });
    const hash = "$2b$10$abcdefghijklmnopqrstuvWXYZ0123456789abcdefghijklmnopq";
    const batch: MappedUser[] = [
      { email: "Ada@Example.com", username: "ada", password: hash, departmentIds: ["d1", "d2"], emailVerified: true, customData: { school: "x" } },
      { phone: "18812345678", phoneCountryCode: "+86", gender: "F" },
    ];
    const { req, res, result } = await send(batch, { ...s.ctx, endpoint: `${s.emu.url}/` }, s.session);

    const token = s.emu.stats.issued[0]!;
    expect(s.emu.stats.issued).toHaveLength(1);
    expect(s.tokenCalls).toHaveLength(1);
    expect(s.tokenCalls[0]).toMatchObject({ method: "POST", url: `${s.emu.url}${TOKEN_PATH}`, headers: { "Content-Type": "application/json" } });
    expect(JSON.parse(s.tokenCalls[0]!.body!)).toEqual({ accessKeyId: s.env.GENAUTH_ACCESS_KEY_ID, accessKeySecret: s.env.GENAUTH_ACCESS_KEY_SECRET });
    expect(s.secrets).toEqual([token]);

    expect(req.method).toBe("POST");
    expect(req.url).toBe(`${s.emu.url}${PATH}`);
    expect(req.headers).toEqual({ Authorization: `Bearer ${token}`, "x-authing-userpool-id": s.env.GENAUTH_USER_POOL_ID, "Content-Type": "application/json" });
    expect(req.authToken).toBe(token);
    expect(JSON.parse(req.body!)).toEqual({ list: batch, options: { keepPassword: true, sendNotification: { sendEmailNotification: false } } });

    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ statusCode: 200, message: "Operation successful" });
    const stored = s.emu.users();
    expect(result).toEqual({ kind: "records", results: stored.map((u) => ({ status: "created", id: u.userId })) });
    expect(stored[0]).toMatchObject({ email: "Ada@Example.com", passwordSet: true, keepPassword: true, departmentIds: ["d1", "d2"] });
    expect(stored[1]).toMatchObject({ phone: "18812345678", passwordSet: false });
    // The password is neither echoed nor stored.
    expect(res.text).not.toContain(hash);
    expect(JSON.stringify(stored)).not.toContain(hash);
    expect(JSON.stringify(result)).not.toContain(hash);
  });

  it("leaves `options` out when none are set, and the token is reused", async () => {
    const s = await start();
    const a = await send(users(1), s.ctx, s.session);
    const b = await send(users(1, 1), s.ctx, s.session);
    expect(JSON.parse(a.req.body!)).toEqual({ list: users(1) });
    expect(a.req.authToken).toBe(b.req.authToken);
    expect(s.emu.stats.issued).toHaveLength(1);
  });

  it("declares the key, limits, credentials and host", () => {
    expect(provider.key).toBe("email");
    expect(provider.maxBatch).toBe(50);
    expect(provider.rate).toEqual({ limit: 10, intervalMs: 1000 });
    expect(provider.env).toEqual([
      expect.objectContaining({ name: "GENAUTH_ACCESS_KEY_ID", required: true, secret: false }),
      expect.objectContaining({ name: "GENAUTH_ACCESS_KEY_SECRET", required: true, secret: true }),
      expect.objectContaining({ name: "GENAUTH_USER_POOL_ID", required: true, secret: false }),
      expect.objectContaining({ name: "GENAUTH_HOST", required: false, secret: false }),
    ]);
    expect(provider.endpointEnv).toBe("GENAUTH_HOST");
    expect(provider.defaultEndpoint({})).toBe("https://api.genauth.ai");
    expect(provider.defaultEndpoint({ GENAUTH_HOST: "https://api.authing.cn" })).toBe("https://api.authing.cn");
    expect(provider.exampleMapping).toMatch(/^fields:\n {2}email: /);
    // The example is a mapping the loader accepts, with options the schema accepts.
    const m = checkMapping(parseYaml(provider.exampleMapping), provider as Provider, "exampleMapping");
    expect(Object.keys(m.fields)).toContain("password");
    expect(GenauthOptionsSchema.parse(m.options)).toEqual({ keepPassword: true, resetPasswordOnFirstLogin: false });
  });

  it("parses the documented options and refuses unknown or mistyped ones", () => {
    const ok = { keepPassword: true, autoGeneratePassword: false, resetPasswordOnFirstLogin: true, passwordEncryptType: "sm2", departmentIdType: "department_id", sendNotification: { sendEmailNotification: true, sendPhoneNotification: false, appId: "app1" } };
    expect(GenauthOptionsSchema.parse(ok)).toEqual(ok);
    expect(provider.optionsSchema).toBe(GenauthOptionsSchema);
    for (const bad of [{ keepPasswords: true }, { keepPassword: "yes" }, { passwordEncryptType: "aes" }, { sendNotification: { sendSms: true } }])
      expect(GenauthOptionsSchema.safeParse(bad).success).toBe(false);
    expect(provider.checkOptions!({}, { dryRun: false })).toEqual({});
    expect(provider.checkOptions!({ sendNotification: { sendEmailNotification: true } }, { dryRun: false }).warning).toMatch(/notified by email/);
    // Nothing here encrypts: an rsa/sm2 run is told the column must already hold the ciphertext.
    expect(provider.checkOptions!({ passwordEncryptType: "rsa" }, { dryRun: false }).warning).toMatch(/must already hold the ciphertext/);
    expect(provider.checkOptions!({ passwordEncryptType: "none" }, { dryRun: false })).toEqual({});
  });

  it("a wrong access key: the token endpoint refuses it → AUTH_REJECTED, the secret never in the error", async () => {
    const s = await start();
    const ctx = { ...s.ctx, env: { ...s.env, GENAUTH_ACCESS_KEY_SECRET: "wrong-secret-value" } };
    const session = provider.createSession!(ctx);
    const err = await Promise.resolve(provider.buildRequest(users(1), ctx, session)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BulkUsersError);
    expect(err).toMatchObject({ code: "AUTH_REJECTED", exitCode: 2 });
    expect((err as Error).message).toMatch(/^\[genauth\] management token refused: 401 /);
    expect((err as BulkUsersError).hint).toMatch(/GENAUTH_ACCESS_KEY_ID/);
    expect(`${(err as Error).message} ${(err as BulkUsersError).hint}`).not.toContain("wrong-secret-value");
    expect(s.emu.stats.issued).toHaveLength(0);
    const wrongId = { ...s.ctx, env: { ...s.env, GENAUTH_ACCESS_KEY_ID: "nobody" } };
    await expect(provider.createSession!(wrongId).get()).rejects.toMatchObject({ code: "AUTH_REJECTED" });
  });

  it("a busy token service is transient (HttpError, retried by the sender), and the failure is not cached", async () => {
    const s = await start();
    const answers = [fake(200, { statusCode: 500, message: "Internal Server Error", apiCode: 1500 }), fake(502, "Bad Gateway"), fake(200, { statusCode: 429, message: "Too Many Requests" })];
    const ctx: Ctx = { ...s.ctx, fetch: async (r, sig) => answers.shift() ?? httpSend(r, { signal: sig }) };
    const session = provider.createSession!(ctx);
    for (let i = 0; i < 3; i++) {
      const e = await session.get().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(HttpError);
      expect(e).not.toBeInstanceOf(BulkUsersError);
    }
    expect(await session.get()).toBe(s.emu.stats.issued[0]);
  });

  it("a token endpoint that does not exist (wrong GENAUTH_HOST) stops the run instead of retrying", async () => {
    const s = await start();
    const ctx: Ctx = { ...s.ctx, endpoint: `${s.emu.url}/some/prefix` };
    await expect(provider.createSession!(ctx).get()).rejects.toMatchObject({ code: "ENDPOINT_WRONG", message: expect.stringMatching(/no management token route at this host: HTTP 404 Cannot POST/) });
    const html: Ctx = { ...s.ctx, fetch: async () => fake(404, "<html>Not Found</html>") };
    await expect(provider.createSession!(html).get()).rejects.toMatchObject({ code: "ENDPOINT_WRONG", message: expect.stringMatching(/HTTP 404/) });
  });

  it("a tampered, foreign, lower-case-scheme or missing token is refused with statusCode 401 → reauth", async () => {
    const s = await start();
    const other = await start();
    const token = await s.session.get();
    const foreign = await other.session.get();
    // One character of the payload changed: the signature no longer matches.
    const i = token.indexOf(".") + 1;
    const tampered = `${token.slice(0, i)}${token[i] === "e" ? "f" : "e"}${token.slice(i + 1)}`;
    for (const auth of [`Bearer ${tampered}`, `Bearer ${foreign}`, `bearer ${token}`, token, `Bearer  ${token}`, ""]) {
      const r = await raw(s, { list: users(1) }, { Authorization: auth });
      expect(r.status, auth).toBe(200);
      expect(r.json, auth).toMatchObject({ statusCode: 401, apiCode: GENAUTH_EMU_CODES.TOKEN_INVALID });
      expect(provider.parseResponse(fake(r.status, r.json), users(2), s.ctx)).toMatchObject({ kind: "reauth", code: String(GENAUTH_EMU_CODES.TOKEN_INVALID) });
    }
    expect(s.emu.users()).toEqual([]);
  });

  it("a wrong or missing x-authing-userpool-id → statusCode 403 → auth (the run stops)", async () => {
    const s = await start();
    const wrong = await send(users(2), { ...s.ctx, env: { ...s.env, GENAUTH_USER_POOL_ID: "another-pool" } }, s.session);
    expect(wrong.result).toEqual({ kind: "auth", code: String(GENAUTH_EMU_CODES.POOL_REFUSED), message: "User pool not found or not authorized" });
    const token = await s.session.get();
    const missing = await fetch(`${s.emu.url}${PATH}`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify({ list: users(1) }) });
    const body = await missing.json();
    expect(body).toMatchObject({ statusCode: 403, message: "x-authing-userpool-id is required" });
    expect(provider.parseResponse(fake(200, body), users(1), s.ctx).kind).toBe("auth");
    expect(s.emu.users()).toEqual([]);
  });

  it("the emulator refuses another content type, method, path or body envelope", async () => {
    const s = await start({ rateLimit: 1000 });
    const one = { list: users(1) };
    expect((await raw(s, one, { "Content-Type": "text/plain" })).json).toMatchObject({ statusCode: 400, apiCode: GENAUTH_EMU_CODES.INVALID_PARAMS });
    expect((await raw(s, undefined, {}, "GET")).status).toBe(404);
    expect((await raw(s, one, {}, "POST", "/api/v3/create-user-batch")).status).toBe(404);
    const envelopes: unknown[] = [
      "not json",
      [users(1)[0]],
      {},
      { list: [] },
      { list: users(1)[0] },
      { users: users(1) },
      { list: users(1), extra: true },
      { list: users(1), options: { keepPasswords: true } },
      { list: users(1), options: { keepPassword: "true" } },
      { list: users(1), options: { passwordEncryptType: "aes" } },
      { list: users(1), options: { sendNotification: { sendEmailNotification: 1 } } },
      { list: users(1), options: { sendNotification: { sms: true } } },
      { list: users(1), options: [] },
    ];
    for (const b of envelopes) {
      const r = await raw(s, b);
      expect(r.json, JSON.stringify(b)).toMatchObject({ statusCode: 400, apiCode: GENAUTH_EMU_CODES.INVALID_PARAMS });
    }
    // The token endpoint is as strict about its body.
    const t = await fetch(`${s.emu.url}${TOKEN_PATH}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ userPoolId: "x", secret: "y" }) });
    expect(await t.json()).toMatchObject({ statusCode: 400 });
    expect(s.emu.users()).toEqual([]);
  });
});

describe("genauth adapter: batch size", () => {
  it("50 users are accepted; 51 are rejected whole with statusCode 400 (→ split), nothing stored", async () => {
    const s = await start();
    const ok = await send(users(50), s.ctx, s.session);
    expect(ok.result.kind).toBe("records");
    expect(ok.res.json).toMatchObject({ statusCode: 200 });
    expect((ok.res.json as { data: unknown[] }).data).toHaveLength(50);
    const big = await send(users(51, 100), s.ctx, s.session);
    expect(big.res.json).toMatchObject({ statusCode: 400, apiCode: GENAUTH_EMU_CODES.INVALID_PARAMS, message: "list must contain no more than 50 elements" });
    expect(big.result).toMatchObject({ kind: "split", code: String(GENAUTH_EMU_CODES.INVALID_PARAMS) });
    expect(s.emu.users()).toHaveLength(50);
  });
});

describe("genauth adapter: field rules (FieldSpec and emulator agree)", () => {
  it("declares each rule in the FieldSpec", () => {
    const f = provider.fields;
    expect(f.email).toMatchObject({ type: "string", format: "email", unique: true, uniqueIgnoreCase: true });
    expect(f.email!.required).toBeFalsy();
    expect(f.phone).toMatchObject({ type: "string", unique: true, pattern: /^(?=[^0-9]*[0-9])\+?[0-9 ()-]+$/ });
    expect(f.username).toMatchObject({ type: "string", unique: true });
    expect(f.externalId).toMatchObject({ type: "string", unique: true });
    expect(f.phoneCountryCode).toMatchObject({ type: "string", pattern: /^\+[0-9]{1,4}$/ });
    expect(f.status).toMatchObject({ enum: ["Activated", "Suspended", "Deactivated", "Resigned", "Archived"] });
    expect(f.gender).toMatchObject({ enum: ["M", "F", "U"] });
    expect(f.birthdate).toMatchObject({ format: "date" });
    expect(f.photo).toMatchObject({ format: "url" });
    expect(f.website).toMatchObject({ format: "url" });
    expect(f.password).toMatchObject({ type: "string", secret: true });
    expect(f.salt).toMatchObject({ type: "string", secret: true });
    for (const k of ["emailVerified", "phoneVerified"]) expect(f[k]).toMatchObject({ type: "boolean" });
    for (const k of ["tenantIds", "departmentIds"]) expect(f[k]).toMatchObject({ type: "string[]" });
    for (const k of ["customData", "metadataSource"]) expect(f[k]).toMatchObject({ type: "object" });
    const scalars = ["name", "nickname", "country", "province", "city", "address", "streetAddress", "postalCode", "company", "browser", "device", "givenName", "familyName", "middleName", "profile", "preferredUsername", "zoneinfo", "locale", "formatted", "region", "identityNumber"];
    for (const k of scalars) expect(f[k], k).toMatchObject({ type: "string" });
    expect(Object.keys(f)).toHaveLength(scalars.length + 18);
    // Only the unique identifiers are unique; secrets never leak into messages.
    expect(Object.entries(f).filter(([, v]) => v.unique).map(([k]) => k)).toEqual(["email", "phone", "username", "externalId"]);
  });

  // [case, user, field the adapter flags (undefined: a wire type only the emulator sees; the adapter coerces or never sends it)]
  const bad: [string, Record<string, unknown>, string | undefined][] = [
    ["none of email, phone, username", { name: "Nobody", externalId: "e-none" }, "email"],
    ["email malformed", { email: "not-an-email" }, "email"],
    ["phone not a number", { phone: "n/a" }, "phone"],
    ["phone with letters", { phone: "188-CALL-NOW" }, "phone"],
    ["phone with a + inside", { phone: "188+1234" }, "phone"],
    ["phoneCountryCode without +", { username: "p", phoneCountryCode: "86" }, "phoneCountryCode"],
    ["status outside the enum", { username: "s", status: "Active" }, "status"],
    ["gender outside the enum", { username: "g", gender: "X" }, "gender"],
    ["birthdate in another format", { username: "b", birthdate: "03/06/2022" }, "birthdate"],
    ["birthdate not on the calendar", { username: "b2", birthdate: "2022-02-30" }, "birthdate"],
    ["photo not a URL", { username: "ph", photo: "avatar.png" }, "photo"],
    ["website not a URL", { username: "w", website: "my site" }, "website"],
    ["emailVerified not a boolean", { username: "ev", emailVerified: "maybe" }, "emailVerified"],
    ["departmentIds not strings", { username: "d", departmentIds: [1, 2] }, "departmentIds"],
    ["tenantIds not a list", { username: "t", tenantIds: { a: 1 } }, "tenantIds"],
    ["customData not an object", { username: "c", customData: "school" }, "customData"],
    ["metadataSource a list", { username: "m", metadataSource: ["a"] }, "metadataSource"],
    ["email not a string", { email: true }, "email"],
    ["name a number", { username: "n", name: 42 }, undefined],
    ["a null value", { username: "nl", nickname: null }, undefined],
    ["an empty username", { username: "" }, undefined],
    ["an unknown field", { username: "u", nickName: "misspelt" }, undefined],
    ["an otp without its secret", { username: "o", otp: { recoveryCode: "b471" } }, undefined],
  ];

  it.each(bad)("%s: the emulator rejects the request whole and the adapter flags it", async (_name, user, field) => {
    const s = await start();
    const r = await raw(s, { list: [{ email: "fine@example.com" }, user] });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ statusCode: 400, apiCode: GENAUTH_EMU_CODES.INVALID_PARAMS });
    // The message names no user (providers.md).
    expect(r.json!.message).not.toMatch(/fine@example\.com/);
    expect(s.emu.users()).toEqual([]);
    if (field) expect(validateUser(provider as Provider, { ...user }, {}).map((i) => i.field)).toContain(field);
  });

  it("values the rules allow pass both: phone-only (with or without country code), username-only, and every field filled", async () => {
    const s = await start();
    const full: MappedUser = {
      status: "Suspended", email: "full@example.com", phone: "18800000000", phoneCountryCode: "+86", username: "full", externalId: "10010",
      name: "Zhang San", nickname: "San", photo: "https://files.example.com/a.png", gender: "M", emailVerified: true, phoneVerified: false,
      birthdate: "2024-02-29", country: "CN", province: "BJ", city: "BJ", address: "Beijing Chaoyang", streetAddress: "xx Street", postalCode: "438100",
      company: "steamory", browser: "Mozilla/5.0", device: "iOS", givenName: "San", familyName: "Zhang", middleName: "James", profile: "alice",
      preferredUsername: "alice", website: "https://my-website.com", zoneinfo: "GMT-08:00", locale: "af", formatted: "132, My Street", region: "Xinjiang",
      password: "passw0rd", salt: "dgisaeieruur", tenantIds: ["t1"], departmentIds: ["d1"], customData: { school: "Beijing University", age: 22 },
      metadataSource: { a: 1 }, identityNumber: "420421000000001234",
    };
    const batch: MappedUser[] = [{ phone: "13900000000" }, { username: "only-name" }, { phone: "+44 (0)20 7946-0001" }, full];
    for (const u of batch) expect(validateUser(provider as Provider, { ...u }, {})).toEqual([]);
    const { result, res } = await send(batch, s.ctx, s.session);
    expect(result).toMatchObject({ kind: "records", results: batch.map(() => ({ status: "created" })) });
    const { password: _p, salt: _s, ...visible } = full;
    expect(s.emu.users()[3]).toMatchObject(visible);
    expect(res.text).not.toContain("passw0rd");
    expect(res.text).not.toContain("dgisaeieruur");
  });
});

describe("genauth adapter: conflicts and whole-request rejections", () => {
  it("a user conflicting with the pool rejects its batch (409 → split, nothing stored); alone it is `exists` with code 409", async () => {
    const s = await start();
    await send([{ email: "taken@example.com", username: "taken" }], s.ctx, s.session);
    const batch = [...users(3), { email: "TAKEN@example.com" }];
    const many = await send(batch, s.ctx, s.session);
    expect(many.res.json).toMatchObject({ statusCode: 409, apiCode: GENAUTH_EMU_CODES.USER_EXISTS, message: "User already exists" });
    expect(many.result).toEqual({ kind: "split", code: String(GENAUTH_EMU_CODES.USER_EXISTS), message: "User already exists" });
    expect(s.emu.users()).toHaveLength(1);
    // What the sender's bisection ends with: the culprit alone is `exists`, the rest created.
    const alone = await send([{ email: "TAKEN@example.com" }], s.ctx, s.session);
    expect(alone.result).toEqual({ kind: "records", results: [{ status: "exists", code: "409", message: "User already exists" }] });
    const rest = await send(users(3), s.ctx, s.session);
    expect(rest.result).toMatchObject({ kind: "records", results: [{ status: "created" }, { status: "created" }, { status: "created" }] });
    expect(s.emu.users()).toHaveLength(4);
  });

  it.each([
    ["phone", { phone: "13800000001" }, { phone: "13800000001", username: "other" }],
    ["username", { username: "bob" }, { username: "bob", email: "bob2@example.com" }],
    ["externalId", { username: "x1", externalId: "10010" }, { username: "x2", externalId: "10010" }],
  ])("%s is unique in the pool", async (_k, first, second) => {
    const s = await start();
    await send([first], s.ctx, s.session);
    const { result } = await send([second], s.ctx, s.session);
    // Two unique values: the answer may concern another user, so the success is marked unsure.
    expect(result).toMatchObject({ kind: "records", results: [{ status: "exists", code: "409", unsure: expect.stringMatching(/does not say which of its .* clashed/) }] });
    expect(s.emu.users()).toHaveLength(1);
  });

  it("two users of one request conflicting with each other (email case-insensitive) reject it whole", async () => {
    const s = await start();
    const { result } = await send([{ email: "twin@example.com" }, { email: "Twin@Example.COM", username: "twin2" }], s.ctx, s.session);
    expect(result).toMatchObject({ kind: "split", code: String(GENAUTH_EMU_CODES.USER_EXISTS) });
    expect(s.emu.users()).toEqual([]);
  });

  it("a user the vendor refuses (server-side rule) → split for many; alone failed with the vendor's apiCode and message", async () => {
    const s = await start({ refuseKeys: ["u2@example.com"] });
    const many = await send(users(4), s.ctx, s.session);
    expect(many.result).toEqual({ kind: "split", code: "1001", message: "Invalid user information" });
    expect(s.emu.users()).toEqual([]);
    const alone = await send(users(1, 2), s.ctx, s.session);
    expect(alone.result).toEqual({ kind: "records", results: [{ status: "failed", code: "1001", message: "Invalid user information" }] });
    const rest = await send([...users(2), ...users(1, 3)], s.ctx, s.session);
    expect(rest.result.kind).toBe("records");
    expect(s.emu.users().map((u) => u.email)).toEqual(["u0@example.com", "u1@example.com", "u3@example.com"]);
  });
});

describe("genauth adapter: management token lifecycle", () => {
  it("an expired token → statusCode 401 → reauth; after invalidate a fresh token works", async () => {
    const s = await start({ tokenTtlMs: 200 });
    const first = await send(users(1), s.ctx, s.session);
    expect(first.result.kind).toBe("records");
    await new Promise((r) => setTimeout(r, 260));
    // The adapter still trusts it (expires_in rounds up to 1 s): the vendor's expiry answer decides.
    const expired = await send(users(1, 1), s.ctx, s.session);
    expect(expired.res.json).toMatchObject({ statusCode: 401, message: "Access token expired", apiCode: GENAUTH_EMU_CODES.TOKEN_EXPIRED });
    expect(expired.result).toEqual({ kind: "reauth", code: String(GENAUTH_EMU_CODES.TOKEN_EXPIRED), message: "Access token expired" });
    s.session.invalidate(expired.req.authToken);
    const again = await send(users(1, 1), s.ctx, s.session);
    expect(again.req.authToken).not.toBe(expired.req.authToken);
    expect(again.result.kind).toBe("records");
    expect(s.emu.stats.issued).toHaveLength(2);
    expect(s.secrets).toEqual(s.emu.stats.issued);
  });

  it("invalidate drops the token only if it is still the current one", async () => {
    const s = await start();
    const t1 = await s.session.get();
    s.session.invalidate("some-older-token");
    expect(await s.session.get()).toBe(t1);
    s.session.invalidate(t1);
    const t2 = await s.session.get();
    expect(t2).not.toBe(t1);
    s.session.invalidate(t1);
    expect(await s.session.get()).toBe(t2);
    expect(s.emu.stats.issued).toEqual([t1, t2]);
  });

  it("concurrent callers share one token fetch", async () => {
    const s = await start({ latencyMs: 30 });
    const got = await Promise.all(Array.from({ length: 8 }, () => s.session.get()));
    expect(new Set(got).size).toBe(1);
    const reqs = await Promise.all(Array.from({ length: 4 }, (_, i) => provider.buildRequest(users(1, i), s.ctx, s.session)));
    expect(new Set(reqs.map((r) => r.authToken))).toEqual(new Set(got));
    expect(s.emu.stats.issued).toHaveLength(1);
    expect(s.tokenCalls).toHaveLength(1);
  });

  it("renews 5 minutes before a 2-hour token expires", async () => {
    const s = await start();
    let clock = Date.now();
    const ctx: Ctx = { ...s.ctx, now: () => clock };
    const session = provider.createSession!(ctx);
    const t1 = await session.get();
    clock += 7200_000 - 6 * 60_000;
    expect(await session.get()).toBe(t1);
    clock += 2 * 60_000;
    const t2 = await session.get();
    expect(t2).not.toBe(t1);
    expect(s.emu.stats.issued).toEqual([t1, t2]);
  });

  it("renews a short-lived token after 9/10 of its life", async () => {
    const s = await start({ tokenTtlMs: 10_000 });
    let clock = Date.now();
    const ctx: Ctx = { ...s.ctx, now: () => clock };
    const session = provider.createSession!(ctx);
    const t1 = await session.get();
    clock += 8_500;
    expect(await session.get()).toBe(t1);
    clock += 1_000;
    expect(await session.get()).not.toBe(t1);
    expect(s.emu.stats.issued).toHaveLength(2);
  });
});

describe("genauth adapter: throttling and server errors", () => {
  it("the 11th request inside one second answers statusCode 429 (HTTP 200) → retry throttled", async () => {
    const s = await start();
    await s.session.get(); // the token endpoint is not rate-limited
    const limit = provider.rate.limit;
    const t0 = performance.now();
    for (let i = 0; i < limit; i++) expect((await send(users(1, i), s.ctx, s.session)).result.kind).toBe("records");
    const last = await send(users(1, 99), s.ctx, s.session);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(last.res.status).toBe(200);
    expect(last.res.json).toMatchObject({ statusCode: 429, message: "Too Many Requests", apiCode: GENAUTH_EMU_CODES.TOO_MANY_REQUESTS });
    expect(last.result).toEqual({ kind: "retry", code: String(GENAUTH_EMU_CODES.TOO_MANY_REQUESTS), message: "Too Many Requests", throttled: true, retryAfterMs: undefined });
    expect(s.emu.stats.throttled).toBe(1);
    expect(s.emu.users()).toHaveLength(limit);
    expect(s.emu.stats.issued).toHaveLength(1);
  });

  it("a gateway's HTTP 429 with Retry-After is throttling too", () => {
    expect(provider.parseResponse(fake(429, "Too Many Requests", { "retry-after": "2" }), users(2), noCtx)).toMatchObject({ kind: "retry", throttled: true, retryAfterMs: 2000 });
  });

  it("server errors (statusCode 500 in an HTTP 200 body, a bare 502) → retry, nothing stored", async () => {
    // The token call gets faults too: take the token first.
    const faults = { error: 0 };
    const s = await start({ faults });
    await s.session.get();
    faults.error = 1;
    const first = await send(users(2), s.ctx, s.session);
    expect(first.res.status).toBe(200);
    expect(first.res.json).toMatchObject({ statusCode: 500 });
    expect(first.result).toEqual({ kind: "retry", code: String(GENAUTH_EMU_CODES.SERVER_ERROR), message: "Internal Server Error" });
    const second = await send(users(2), s.ctx, s.session);
    expect(second.res.status).toBe(502);
    expect(second.result).toMatchObject({ kind: "retry", code: "HTTP_502" });
    expect(s.emu.users()).toEqual([]);
  });
});

describe("genauth adapter: reading answers", () => {
  const two: MappedUser[] = [{ email: "a@example.com" }, { username: "b" }];

  it("takes `data` as the documented array or as the example's single UserDto", () => {
    expect(provider.parseResponse(fake(200, { statusCode: 200, message: "ok", data: { userId: "id-1", email: "a@example.com" } }), two.slice(0, 1), noCtx)).toEqual({ kind: "records", results: [{ status: "created", id: "id-1" }] });
    expect(provider.parseResponse(fake(200, { statusCode: 200, message: "ok", data: [{ userId: "i1" }, { userId: "i2" }] }), two, noCtx)).toEqual({ kind: "records", results: [{ status: "created", id: "i1" }, { status: "created", id: "i2" }] });
  });

  it("matches UserDtos out of order by their identifiers; users it cannot match are created without an id", () => {
    const swapped = { statusCode: 200, message: "ok", data: [{ userId: "ib", username: "b" }, { userId: "ia", email: "A@example.com" }] };
    expect(provider.parseResponse(fake(200, swapped), two, noCtx)).toEqual({ kind: "records", results: [{ status: "created", id: "ia" }, { status: "created", id: "ib" }] });
    expect(provider.parseResponse(fake(200, { statusCode: 200, message: "ok" }), two, noCtx)).toEqual({ kind: "records", results: [{ status: "created" }, { status: "created" }] });
  });

  it("unreadable answers are retried; a wrong route fails the request for good; a 400 without apiCode keeps its statusCode", () => {
    expect(provider.parseResponse(fake(200, "<html>maintenance</html>"), two, noCtx)).toMatchObject({ kind: "retry" });
    expect(provider.parseResponse(fake(200, { message: "no status" }), two, noCtx)).toMatchObject({ kind: "retry" });
    expect(provider.parseResponse(fake(404, { statusCode: 404, message: "Cannot POST /x" }), two, noCtx)).toMatchObject({ kind: "endpoint", code: "HTTP_404" });
    expect(provider.parseResponse(fake(200, { statusCode: 400, message: "bad" }), two.slice(0, 1), noCtx)).toEqual({ kind: "records", results: [{ status: "failed", code: "400", message: "bad" }] });
    expect(provider.parseResponse(fake(401, "Unauthorized"), two, noCtx)).toMatchObject({ kind: "reauth" });
  });
});

describe("genauth emulator", () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    s = await start();
  });

  it("sandboxEnv gives fresh credentials for every variable the adapter needs", () => {
    const a = genauthEmulator.sandboxEnv();
    const b = genauthEmulator.sandboxEnv();
    for (const v of provider.env.filter((e) => e.required === true)) {
      expect(a[v.name], v.name).toMatch(/\S{8,}/);
      expect(a[v.name]).not.toBe(b[v.name]);
    }
    expect(() => createGenauthEmulator({ env: { GENAUTH_ACCESS_KEY_ID: "x" } })).toThrow(/GENAUTH_ACCESS_KEY_SECRET/);
  });

  it("issues JWT-shaped tokens with the documented answer shape", async () => {
    const r = await fetch(`${s.emu.url}${TOKEN_PATH}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ accessKeyId: s.env.GENAUTH_ACCESS_KEY_ID, accessKeySecret: s.env.GENAUTH_ACCESS_KEY_SECRET }),
    });
    const body = (await r.json()) as { statusCode: number; data: { access_token: string; expires_in: number } };
    expect(body).toMatchObject({ statusCode: 200, data: { expires_in: 7200 } });
    expect(body.data.access_token.split(".")).toHaveLength(3);
  });
});
