import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpError, httpSend } from "../../src/core/http.js";
import { validateUser } from "../../src/core/validate.js";
import huaweiEmulator, { createHuaweiWorkspaceEmulator, type HuaweiWorkspaceEmulatorOptions } from "../../src/emulators/huawei-workspace.js";
import type { Emulator } from "../../src/emulators/_base.js";
import type { HttpRequest, HttpResponse, ProviderContext } from "../../src/providers/define.js";
import provider, { type HuaweiWorkspaceOptions } from "../../src/providers/huawei-workspace.js";
import type { MappedUser } from "../../src/types.js";

const open: Emulator[] = [];
type Ctx = ProviderContext<HuaweiWorkspaceOptions>;

/** A fresh emulator per test group: each has its own rate window, token table and store. */
async function start(o: Partial<HuaweiWorkspaceEmulatorOptions> = {}, envOverride: Record<string, string> = {}) {
  const env = { ...huaweiEmulator.sandboxEnv(), ...envOverride };
  const emu = createHuaweiWorkspaceEmulator({ env, ...o });
  await emu.listen(0);
  open.push(emu);
  const secrets: string[] = [];
  const ctx: Ctx = {
    env,
    endpoint: emu.url,
    options: {},
    fetch: (r, s) => httpSend(r, { signal: s, timeoutMs: 2000 }),
    addSecret: (v) => void secrets.push(v),
    now: Date.now,
  };
  return { emu, env, ctx, secrets, session: provider.createSession!(ctx) };
}
type Started = Awaited<ReturnType<typeof start>>;

async function send(users: MappedUser[], s: Pick<Started, "ctx" | "session">) {
  const req = await provider.buildRequest(users, s.ctx, s.session);
  const res = await httpSend(req, { timeoutMs: 2000 });
  return { req, res, result: provider.parseResponse(res, users, s.ctx) };
}

/** Sends a hand-made request to the emulator (what a buggy adapter could send). */
async function raw(s: Started, body: unknown, o: { headers?: Record<string, string>; method?: string; path?: string; token?: string } = {}) {
  const token = o.token ?? (await s.session.get());
  const res = await fetch(`${s.emu.url}${o.path ?? `/v2/${s.env.HUAWEI_PROJECT_ID}/users/batch-create`}`, {
    method: o.method ?? "POST",
    headers: { "X-Auth-Token": token, "Content-Type": "application/json", ...o.headers },
    body: o.method === "GET" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? (JSON.parse(text) as { error_code?: string; error_msg?: string }) : undefined };
}

const users = (n: number, from = 0, prefix = "user"): MappedUser[] =>
  Array.from({ length: n }, (_, i) => ({ user_name: `${prefix}.${from + i}`, user_email: `${prefix}${from + i}@example.com` }));

function fake(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status, headers: new Headers(headers), text, json };
}

afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

describe("huawei-workspace adapter: contract", () => {
  it("declares key, batch size, rate, credentials and no options", () => {
    expect(provider.name).toBe("huawei-workspace");
    expect(provider.key).toBe("user_name");
    expect(provider.maxBatch).toBe(200);
    expect(provider.rate).toEqual({ limit: 10, intervalMs: 1000 });
    expect(provider.optionsSchema).toBeUndefined();
    expect(provider.env.map((v) => [v.name, v.required, v.secret])).toEqual([
      ["HUAWEI_REGION", true, false],
      ["HUAWEI_PROJECT_ID", true, false],
      ["HUAWEI_AUTH_TOKEN", false, true],
      ["HUAWEI_IAM_USER", "HUAWEI_AUTH_TOKEN", false],
      ["HUAWEI_IAM_PASSWORD", "HUAWEI_AUTH_TOKEN", true],
      ["HUAWEI_IAM_DOMAIN", "HUAWEI_AUTH_TOKEN", false],
    ]);
    expect(provider.defaultEndpoint({ HUAWEI_REGION: "cn-north-4" })).toBe("https://workspace.cn-north-4.myhuaweicloud.com");
    expect(provider.defaultEndpoint({})).toBeUndefined();
    expect(provider.exampleMapping).toMatch(/^fields:\n {2}user_name: /);
  });

  it("sandboxEnv gives fresh random credentials the emulator accepts; the emulator needs credentials", () => {
    const a = huaweiEmulator.sandboxEnv();
    const b = huaweiEmulator.sandboxEnv();
    for (const k of ["HUAWEI_REGION", "HUAWEI_PROJECT_ID", "HUAWEI_IAM_USER", "HUAWEI_IAM_PASSWORD", "HUAWEI_IAM_DOMAIN"]) expect(a[k]).toBeTruthy();
    for (const k of ["HUAWEI_PROJECT_ID", "HUAWEI_IAM_USER", "HUAWEI_IAM_PASSWORD", "HUAWEI_IAM_DOMAIN"]) expect(a[k]).not.toBe(b[k]);
    expect(() => createHuaweiWorkspaceEmulator({ env: { HUAWEI_REGION: "x", HUAWEI_PROJECT_ID: "p" } })).toThrow(/needs/);
  });
});

describe("huawei-workspace adapter: request shape and auth", () => {
  let s: Started;
  // Many requests in this group: the rate limit has its own test.
  beforeAll(async () => {
    s = await start({ rateLimit: 1000 });
  });

  it("gets an IAM token, POSTs {users:[…]} with X-Auth-Token to /v2/{project_id}/users/batch-create, all created", async () => {
    const batch: MappedUser[] = [
      { user_name: "alice", user_email: "alice@example.com", group_ids: ["g1", "g2"], description: "Ops", enable_change_password: false, extra: "dropped" },
      { user_name: "bob", active_type: "ADMIN_ACTIVATE", password: "S3cret!pass", account_expires: "0", user_phone: "+8613800000000" },
    ];
    const { req, res, result } = await send(batch, { ctx: { ...s.ctx, endpoint: `${s.emu.url}/` }, session: s.session });
    expect(req.method).toBe("POST");
    expect(req.url).toBe(`${s.emu.url}/v2/${s.env.HUAWEI_PROJECT_ID}/users/batch-create`);
    const token = s.emu.stats.issued[0]!;
    expect(s.emu.stats.issued).toHaveLength(1);
    expect(req.headers).toEqual({ "X-Auth-Token": token, "Content-Type": "application/json" });
    expect(req.authToken).toBe(token);
    expect(s.secrets).toContain(token);
    // Only vendor fields, absent ones left out.
    expect(JSON.parse(req.body!)).toEqual({
      users: [
        { user_name: "alice", user_email: "alice@example.com", group_ids: ["g1", "g2"], description: "Ops", enable_change_password: false },
        { user_name: "bob", active_type: "ADMIN_ACTIVATE", password: "S3cret!pass", account_expires: "0", user_phone: "+8613800000000" },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe("");
    expect(result).toEqual({ kind: "records", results: [{ status: "created" }, { status: "created" }] });
    const stored = s.emu.users();
    expect(stored.map((u) => u.user_name)).toEqual(["alice", "bob"]);
    expect(JSON.stringify(stored)).not.toContain("S3cret!pass");
  });

  it("with the default endpoint the token comes from iam.{region} with the documented body", async () => {
    const env = { HUAWEI_REGION: "ap-southeast-3", HUAWEI_PROJECT_ID: "p1", HUAWEI_IAM_USER: "u", HUAWEI_IAM_PASSWORD: "pw", HUAWEI_IAM_DOMAIN: "d" };
    const seen: HttpRequest[] = [];
    const ctx: Ctx = {
      env,
      endpoint: provider.defaultEndpoint(env)!,
      options: {},
      fetch: async (r) => {
        seen.push(r);
        return fake(201, { token: { expires_at: new Date(Date.now() + 86_400_000).toISOString() } }, { "X-Subject-Token": "tok-1" });
      },
      addSecret: () => {},
      now: Date.now,
    };
    const session = provider.createSession!(ctx);
    const req = await provider.buildRequest(users(1), ctx, session);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe("POST");
    expect(seen[0]!.url).toBe("https://iam.ap-southeast-3.myhuaweicloud.com/v3/auth/tokens");
    expect(seen[0]!.headers["Content-Type"]).toMatch(/^application\/json/);
    expect(JSON.parse(seen[0]!.body!)).toEqual({
      auth: { identity: { methods: ["password"], password: { user: { name: "u", password: "pw", domain: { name: "d" } } } }, scope: { project: { id: "p1" } } },
    });
    expect(req.url).toBe("https://workspace.ap-southeast-3.myhuaweicloud.com/v2/p1/users/batch-create");
    expect(req.headers["X-Auth-Token"]).toBe("tok-1");
  });

  it("bad IAM credentials → AUTH_REJECTED without the secret; an IAM outage is transient (HttpError)", async () => {
    const bad = provider.createSession!({ ...s.ctx, env: { ...s.env, HUAWEI_IAM_PASSWORD: "wrong-password-123" } });
    const e = await Promise.resolve(provider.buildRequest(users(1), s.ctx, bad)).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "AUTH_REJECTED", message: expect.stringMatching(/^\[huawei-workspace\] .*wrong/) });
    expect(String((e as Error).message)).not.toContain("wrong-password-123");
    const otherDomain = provider.createSession!({ ...s.ctx, env: { ...s.env, HUAWEI_IAM_DOMAIN: "not-mine" } });
    await expect(otherDomain.get()).rejects.toMatchObject({ code: "AUTH_REJECTED" });
    const down = provider.createSession!({ ...s.ctx, fetch: async () => fake(503, { error_code: "IAM.0001", error_msg: "busy" }) });
    await expect(down.get()).rejects.toBeInstanceOf(HttpError);
    // Throttled (the API gateway's 429) is as transient: not a credentials problem.
    const busy = provider.createSession!({ ...s.ctx, fetch: async () => fake(429, { error_code: "APIGW.0308", error_msg: "The throttling threshold has been reached" }) });
    await expect(busy.get()).rejects.toBeInstanceOf(HttpError);
  });

  it("the emulator's IAM endpoint is strict about method, content type and body", async () => {
    const good = { auth: { identity: { methods: ["password"], password: { user: { name: s.env.HUAWEI_IAM_USER, password: s.env.HUAWEI_IAM_PASSWORD, domain: { name: s.env.HUAWEI_IAM_DOMAIN } } } }, scope: { project: { id: s.env.HUAWEI_PROJECT_ID } } } };
    const post = (body: unknown, ct = "application/json;charset=utf8") => fetch(`${s.emu.url}/v3/auth/tokens`, { method: "POST", headers: { "Content-Type": ct }, body: JSON.stringify(body) });
    const ok = await post(good);
    expect(ok.status).toBe(201);
    expect(ok.headers.get("x-subject-token")).toMatch(/^MII/);
    expect(((await ok.json()) as { token: { expires_at: string } }).token.expires_at).toMatch(/Z$/);
    expect((await post(good, "text/plain")).status).toBe(400);
    expect((await post({ auth: { ...good.auth, identity: { ...good.auth.identity, methods: ["token"] } } })).status).toBe(400);
    expect((await post({ auth: { ...good.auth, scope: { project: { id: "other" } } } })).status).toBe(400);
    expect((await fetch(`${s.emu.url}/v3/auth/tokens`)).status).toBe(405);
  });

  it("a tampered or missing token is refused (401): reauth with IAM credentials, auth with a given token", async () => {
    const token = await s.session.get();
    const tampered = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    const r = await raw(s, { users: users(1, 0, "tamper") }, { token: tampered });
    expect(r.status).toBe(401);
    expect(r.json?.error_code).toBe("WKS.0003");
    const res = fake(r.status, r.json);
    expect(provider.parseResponse(res, users(1), s.ctx).kind).toBe("reauth");
    expect(provider.parseResponse(res, users(1), { ...s.ctx, env: { ...s.env, HUAWEI_AUTH_TOKEN: tampered } }).kind).toBe("auth");
    const none = await fetch(`${s.emu.url}/v2/${s.env.HUAWEI_PROJECT_ID}/users/batch-create`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ users: users(1, 0, "none") }) });
    expect(none.status).toBe(401);
    // "Authorization: Bearer" is not how Huawei authenticates.
    const bearer = await fetch(`${s.emu.url}/v2/${s.env.HUAWEI_PROJECT_ID}/users/batch-create`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify({ users: users(1, 0, "bearer") }) });
    expect(bearer.status).toBe(401);
    expect(s.emu.users().some((u) => /^(tamper|none|bearer)\./.test(String(u.user_name)))).toBe(false);
  });

  it("a token given in HUAWEI_AUTH_TOKEN is used as is, with no IAM call", async () => {
    const given = `MIIgiven${Date.now()}`;
    const t = await start({}, { HUAWEI_AUTH_TOKEN: given });
    const ctx: Ctx = { ...t.ctx, fetch: () => Promise.reject(new Error("no IAM call expected")) };
    const { req, result } = await send(users(2, 0, "given"), { ctx, session: provider.createSession!(ctx) });
    expect(req.headers["X-Auth-Token"]).toBe(given);
    expect(result.kind).toBe("records");
    expect(t.emu.users()).toHaveLength(2);
  });

  it("wrong project in the path → 403 (auth), an unknown route → 404 (wrong endpoint): both stop the run", async () => {
    const other = await raw(s, { users: users(1, 0, "proj") }, { path: "/v2/0bec5db98280d2d02fd6c00c2de791ce/users/batch-create" });
    expect(other.status).toBe(403);
    expect(provider.parseResponse(fake(other.status, other.json), users(1), s.ctx).kind).toBe("auth");
    const route = await raw(s, { users: users(1, 0, "proj") }, { path: `/v1/${s.env.HUAWEI_PROJECT_ID}/users/batch-create` });
    expect(route.status).toBe(404);
    expect(provider.parseResponse(fake(route.status, route.json), users(1), s.ctx).kind).toBe("endpoint");
    expect(s.emu.users().some((u) => String(u.user_name).startsWith("proj."))).toBe(false);
  });

  it.each([
    ["GET instead of POST", undefined, { method: "GET" }, 405],
    ["text/plain content type", { users: users(1, 0, "shape") }, { headers: { "Content-Type": "text/plain" } }, 400],
    ["no content type", { users: users(1, 0, "shape") }, { headers: { "Content-Type": "" } }, 400],
    ["not JSON", "{users:", {}, 400],
    ["unknown top-level key", { users: users(1, 0, "shape"), extra: 1 }, {}, 400],
    ["users not a list", { users: users(1, 0, "shape")[0] }, {}, 400],
    ["a list at top level", users(1, 0, "shape"), {}, 400],
    ["unknown user key", { users: [{ ...users(1, 0, "shape")[0], userName: "x" }] }, {}, 400],
    ["user_name a number", { users: [{ user_name: 12345, user_email: "a@example.com" }] }, {}, 400],
    ["boolean as text", { users: [{ ...users(1, 0, "shape")[0], enable_change_password: "true" }] }, {}, 400],
    ["group_ids a string", { users: [{ ...users(1, 0, "shape")[0], group_ids: "g1" }] }, {}, 400],
    ["null field", { users: [{ ...users(1, 0, "shape")[0], description: null }] }, {}, 400],
  ] as const)("the emulator rejects a malformed request: %s", async (_, body, o, status) => {
    const r = await raw(s, body, o as Parameters<typeof raw>[2]);
    expect(r.status).toBe(status);
    if (status === 400) expect(r.json).toEqual({ error_code: "WKS.0001", error_msg: expect.any(String) });
    expect(s.emu.users().some((u) => String(u.user_name).startsWith("shape."))).toBe(false);
  });
});

describe("huawei-workspace adapter: batch size", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
  });

  it("accepts 200 users in one request", async () => {
    const { result } = await send(users(200, 0, "max"), s);
    expect(result.kind).toBe("records");
    expect(s.emu.users()).toHaveLength(200);
    expect(s.emu.stats.batchSizes).toEqual([200]);
  });

  it("rejects 201 users and an empty list whole; the adapter splits an oversized batch", async () => {
    const over = users(201, 0, "over");
    const { res, result } = await send(over, s);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error_code: "WKS.0001" });
    expect(result.kind).toBe("split");
    expect((await raw(s, { users: [] })).status).toBe(400);
    expect(s.emu.users()).toHaveLength(200);
  });
});

describe("huawei-workspace adapter: field rules (FieldSpec + emulator)", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start({ rateLimit: 1000 });
  });

  it("declares each vendor rule in the FieldSpec", () => {
    const f = provider.fields;
    expect(f.user_name).toMatchObject({ type: "string", required: true, minLength: 1, maxLength: 64 });
    expect(f.user_name!.pattern!.test("a b")).toBe(false);
    expect(f.user_email).toMatchObject({ type: "string", format: "email" });
    expect(f.user_phone).toMatchObject({ type: "string", format: "phone" });
    expect(f.account_expires!.pattern!.test("0")).toBe(true);
    expect(f.account_expires!.pattern!.test("2030-01-01T00:00:00.000Z")).toBe(true);
    expect(f.account_expires!.pattern!.test("2030-01-01T00:00:00+08:00")).toBe(false);
    expect(f.active_type).toMatchObject({ type: "string", enum: ["USER_ACTIVATE", "ADMIN_ACTIVATE"] });
    expect(f.password).toMatchObject({ type: "string", secret: true });
    expect(f.enable_change_password).toMatchObject({ type: "boolean" });
    expect(f.next_login_change_password).toMatchObject({ type: "boolean" });
    expect(f.group_ids).toMatchObject({ type: "string[]", maxItems: 5 });
    expect(f.description).toMatchObject({ type: "string", maxLength: 255 });
    expect(f.alias_name).toMatchObject({ type: "string", maxLength: 55 });
    expect(Object.keys(f).sort()).toEqual(["account_expires", "active_type", "alias_name", "description", "enable_change_password", "group_ids", "next_login_change_password", "password", "user_email", "user_name", "user_phone"]);
  });

  const base = (name: string): MappedUser => ({ user_name: name, user_email: `${name}@example.com` });
  const cases: [string, string, (u: MappedUser) => MappedUser][] = [
    ["user_name missing", "user_name", ({ user_name: _, ...u }) => u],
    ["user_name empty", "user_name", (u) => ({ ...u, user_name: "" })],
    ["user_name 65 characters", "user_name", (u) => ({ ...u, user_name: `${u.user_name}`.padEnd(65, "x") })],
    ["user_name with a space", "user_name", (u) => ({ ...u, user_name: `${u.user_name} x` })],
    ["user_name with a tab", "user_name", (u) => ({ ...u, user_name: `${u.user_name}\tx` })],
    ["user_name with a control character", "user_name", (u) => ({ ...u, user_name: `${u.user_name}\u0007` })],
    ["user_email not an email", "user_email", (u) => ({ ...u, user_email: "not-an-email" })],
    ["user_phone not a phone", "user_phone", (u) => ({ ...u, user_phone: "call me" })],
    ["account_expires a date only", "account_expires", (u) => ({ ...u, account_expires: "2030-01-01" })],
    ["account_expires with an offset", "account_expires", (u) => ({ ...u, account_expires: "2030-01-01T00:00:00+08:00" })],
    ["account_expires 2 decimals", "account_expires", (u) => ({ ...u, account_expires: "2030-01-01T00:00:00.00Z" })],
    ["account_expires not a real date", "account_expires", (u) => ({ ...u, account_expires: "2025-02-30T00:00:00Z" })],
    ["account_expires hour 24", "account_expires", (u) => ({ ...u, account_expires: "2030-01-01T24:00:00Z" })],
    ["active_type unknown", "active_type", (u) => ({ ...u, active_type: "SELF_ACTIVATE" })],
    ["USER_ACTIVATE (default) without email or phone", "active_type", ({ user_name }) => ({ user_name })],
    ["USER_ACTIVATE without email or phone", "active_type", ({ user_name }) => ({ user_name, active_type: "USER_ACTIVATE", password: "Pw!12345" })],
    ["ADMIN_ACTIVATE without password", "password", (u) => ({ ...u, active_type: "ADMIN_ACTIVATE" })],
    ["enable_change_password not a boolean", "enable_change_password", (u) => ({ ...u, enable_change_password: "maybe" })],
    ["next_login_change_password not a boolean", "next_login_change_password", (u) => ({ ...u, next_login_change_password: 2 })],
    ["group_ids 6 items", "group_ids", (u) => ({ ...u, group_ids: ["1", "2", "3", "4", "5", "6"] })],
    ["group_ids with an empty id", "group_ids", (u) => ({ ...u, group_ids: ["", "g1"] })],
    ["description 256 characters", "description", (u) => ({ ...u, description: "é".repeat(256) })],
    ["alias_name 56 characters", "alias_name", (u) => ({ ...u, alias_name: "名".repeat(56) })],
  ];

  it.each(cases)("%s: flagged locally on that field, refused alone by the emulator as failed WKS.0001", async (label, field, make) => {
    const name = `rule.${cases.findIndex((c) => c[0] === label)}`;
    const u = make(base(name));
    const issues = validateUser(provider, structuredClone(u), {});
    expect(issues.map((i) => i.field)).toContain(field);
    const { res, result } = await send([u], s);
    expect(res.status).toBe(400);
    expect(result).toEqual({ kind: "records", results: [{ status: "failed", code: "WKS.0001", message: expect.any(String) }] });
  });

  it("accepts every limit at its edge", async () => {
    const edge: MappedUser[] = [
      { user_name: "e".repeat(64), user_phone: "+86 138 0000 0000", account_expires: "2030-12-31T23:59:59Z", description: "é".repeat(255), alias_name: "名".repeat(55) },
      { user_name: "édge-üser_名@x", active_type: "ADMIN_ACTIVATE", password: "Pw!12345", account_expires: "2028-02-29T00:00:00.000Z", group_ids: ["1", "2", "3", "4", "5"] },
      { user_name: "edge.3", user_email: "edge3@example.com", account_expires: "0", enable_change_password: true, next_login_change_password: false },
    ];
    for (const u of edge) expect(validateUser(provider, structuredClone(u), {})).toEqual([]);
    const { result } = await send(edge, s);
    expect(result).toEqual({ kind: "records", results: edge.map(() => ({ status: "created" })) });
  });
});

describe("huawei-workspace adapter: duplicates and whole-request rejections", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start({ refuseKeys: ["refused.1"] });
    await send(users(1, 0, "dup"), s);
  });

  it("an existing user alone → exists (WKS.0108)", async () => {
    const { res, result } = await send(users(1, 0, "dup"), s);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error_code: "WKS.0108" });
    expect(result).toEqual({ kind: "records", results: [{ status: "exists", code: "WKS.0108", message: expect.any(String) }] });
  });

  it("an existing user among others → split, nothing in the request created, the message names nobody", async () => {
    const batch = [...users(1, 0, "fresh"), ...users(1, 0, "dup"), ...users(1, 1, "fresh")];
    const { res, result } = await send(batch, s);
    expect(res.status).toBe(400);
    expect((res.json as { error_msg: string }).error_msg).not.toContain("dup.0");
    expect(result.kind).toBe("split");
    expect(result).toMatchObject({ code: "WKS.0108" });
    expect(s.emu.users().map((u) => u.user_name)).toEqual(["dup.0"]);
  });

  it("the same user_name twice in one request → WKS.0108, nothing created", async () => {
    const { res, result } = await send([...users(1, 0, "twice"), ...users(1, 0, "twice")], s);
    expect(res.json).toMatchObject({ error_code: "WKS.0108" });
    expect(result.kind).toBe("split");
    expect(s.emu.users()).toHaveLength(1);
  });

  it("an invalid field among others → split; a vendor-refused user alone → failed with the vendor's code and text", async () => {
    const batch = [...users(1, 0, "ok"), { user_name: "bad user" , user_email: "b@example.com" }];
    expect((await send(batch, s)).result).toMatchObject({ kind: "split", code: "WKS.0001" });
    const { result } = await send(users(1, 1, "refused"), s);
    expect(result).toEqual({ kind: "records", results: [{ status: "failed", code: "WKS.0001", message: "Invalid parameter." }] });
    expect(s.emu.users()).toHaveLength(1);
  });
});

describe("huawei-workspace adapter: token cache", () => {
  it("expired token → 401 'The token must be updated' → reauth; invalidate renews once and the fresh token works", async () => {
    const s = await start({ tokenTtlMs: 300 });
    const req = await provider.buildRequest(users(1, 0, "late"), s.ctx, s.session);
    await new Promise((r) => setTimeout(r, 350));
    const res = await httpSend(req);
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error_code: "WKS.0002", error_msg: "The token must be updated." });
    const result = provider.parseResponse(res, users(1, 0, "late"), s.ctx);
    expect(result.kind).toBe("reauth");
    // Several requests failed with the same token: one renewal.
    s.session.invalidate(req.authToken);
    const fresh = await Promise.all([s.session.get(), s.session.get(), s.session.get()]);
    s.session.invalidate(req.authToken);
    expect(new Set(fresh).size).toBe(1);
    expect(fresh[0]).not.toBe(req.authToken);
    expect(await s.session.get()).toBe(fresh[0]);
    expect(s.emu.stats.issued).toHaveLength(2);
    const again = await send(users(1, 0, "late"), s);
    expect(again.result.kind).toBe("records");
    expect(s.emu.users()).toHaveLength(1);
  });

  it("concurrent callers share one token fetch", async () => {
    const s = await start();
    const reqs = await Promise.all(Array.from({ length: 8 }, (_, i) => provider.buildRequest(users(1, i, "conc"), s.ctx, s.session)));
    expect(s.emu.stats.issued).toHaveLength(1);
    expect(new Set(reqs.map((r) => r.authToken))).toEqual(new Set([s.emu.stats.issued[0]]));
  });

  it("renews about 10 minutes before expires_at, not earlier", async () => {
    const s = await start();
    let offset = 0;
    const ctx: Ctx = { ...s.ctx, now: () => Date.now() + offset };
    const session = provider.createSession!(ctx);
    const first = await session.get();
    offset = 24 * 3600_000 - 11 * 60_000;
    expect(await session.get()).toBe(first);
    offset = 24 * 3600_000 - 9 * 60_000;
    const second = await session.get();
    expect(second).not.toBe(first);
    expect(s.emu.stats.issued).toEqual([first, second]);
  });

  it("a given token that is refused cannot be renewed: 401 → auth", async () => {
    const s = await start();
    const ctx: Ctx = { ...s.ctx, env: { ...s.env, HUAWEI_AUTH_TOKEN: "MIIexpired-elsewhere" } };
    const { res, result } = await send(users(1), { ctx, session: provider.createSession!(ctx) });
    expect(res.status).toBe(401);
    expect(result.kind).toBe("auth");
    expect(s.emu.stats.issued).toHaveLength(0);
  });
});

describe("huawei-workspace adapter: throttling and server errors", () => {
  it("11 requests inside one second: the 11th is throttled (429 APIGW.0308) → retry throttled; IAM is not limited", async () => {
    const s = await start();
    await s.session.get();
    const results = [];
    for (let i = 0; i < 11; i++) results.push(await send(users(1, i, "rate"), s));
    expect(results.slice(0, 10).every((r) => r.result.kind === "records")).toBe(true);
    const last = results[10]!;
    expect(last.res.status).toBe(429);
    expect(last.res.json).toMatchObject({ error_code: "APIGW.0308" });
    expect(last.result).toMatchObject({ kind: "retry", throttled: true, code: "APIGW.0308" });
    expect(s.emu.users()).toHaveLength(10);
    const other = provider.createSession!(s.ctx);
    expect(await other.get()).toMatch(/^MII/);
  });

  it("server error → retry, nothing stored", async () => {
    // The IAM call gets faults too: take the token first.
    const faults = { error: 0 };
    const s = await start({ faults });
    await s.session.get();
    faults.error = 1;
    const { res, result } = await send(users(3, 0, "err"), s);
    expect(res.status).toBe(500);
    expect(result).toMatchObject({ kind: "retry", code: "WKS.0999" });
    expect(s.emu.users()).toHaveLength(0);
  });

  it.each([
    ["503 without a body", fake(503, "Service Unavailable"), { kind: "retry", code: "HTTP_503" }],
    ["429 with Retry-After", fake(429, { error_code: "APIGW.0308", error_msg: "slow down" }, { "Retry-After": "2" }), { kind: "retry", throttled: true, retryAfterMs: 2000 }],
    ["400 that is not JSON", fake(400, "<html>bad</html>"), { kind: "failed", code: "HTTP_400" }],
    ["413 from a proxy", fake(413, ""), { kind: "failed", code: "HTTP_413" }],
    ["404 naming a group that does not exist", fake(404, { error_code: "WKS.0011", error_msg: "The group does not exist." }), { kind: "split", code: "WKS.0011" }],
    ["404 from the gateway", fake(404, { error_code: "APIGW.0101", error_msg: "The API does not exist" }), { kind: "endpoint", code: "APIGW.0101" }],
    ["405 method", fake(405, { error_code: "WKS.0405", error_msg: "no" }), { kind: "failed", code: "WKS.0405" }],
    ["200 empty", fake(200, undefined), { kind: "records" }],
  ])("classifies %s", (_, res, expected) => {
    expect(provider.parseResponse(res, users(2), { env: { HUAWEI_REGION: "r", HUAWEI_PROJECT_ID: "p" }, endpoint: "", options: {}, fetch: () => Promise.reject(new Error()), addSecret: () => {}, now: Date.now })).toMatchObject(expected);
  });
});
