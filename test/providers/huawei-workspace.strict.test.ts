import { afterAll, describe, expect, it } from "vitest";
import huaweiEmulator, { createHuaweiWorkspaceEmulator } from "../../src/emulators/huawei-workspace.js";
import type { Emulator } from "../../src/emulators/_base.js";

// Direct requests a faithful Huawei IAM / Workspace refuses (providers.md "huawei-workspace",
// vendor-docs/huawei-workspace-users-batch-create.txt): each pins one rule of the emulator.

const IAM = "/v3/auth/tokens";
const open: Emulator[] = [];
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

type Env = Record<string, string>;

/** A new emulator; the rate limit is lifted unless the test is about it. */
async function start(o: { tokenTtlMs?: number; vendorRate?: boolean } = {}) {
  const env = huaweiEmulator.sandboxEnv();
  const emu = createHuaweiWorkspaceEmulator({ env, tokenTtlMs: o.tokenTtlMs, ...(o.vendorRate ? {} : { rateLimit: 1000 }) });
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
  return { status: res.status, json, text, token: res.headers.get("x-subject-token") };
}

const iamBody = (env: Env, o: { methods?: unknown; project?: unknown } = {}) => ({
  auth: {
    identity: { methods: o.methods ?? ["password"], password: { user: { name: env.HUAWEI_IAM_USER, password: env.HUAWEI_IAM_PASSWORD, domain: { name: env.HUAWEI_IAM_DOMAIN } } } },
    scope: o.project === undefined ? { project: { id: env.HUAWEI_PROJECT_ID } } : o.project,
  },
});

async function token(emu: Emulator, env: Env): Promise<string> {
  const r = await call(emu, IAM, iamBody(env));
  expect(r.status).toBe(201);
  return r.token!;
}

const batchPath = (env: Env, project = env.HUAWEI_PROJECT_ID!) => `/v2/${project}/users/batch-create`;
async function batch(emu: Emulator, env: Env, tok: string, body: unknown, o: { headers?: Record<string, string>; method?: string; project?: string } = {}) {
  return call(emu, batchPath(env, o.project), body, { "x-auth-token": tok, ...o.headers }, o.method);
}
const users = (...u: Record<string, unknown>[]) => ({ users: u });
const invalid = (r: { status: number; json: any }) => r.status === 400 && r.json?.error_code === "WKS.0001";

describe("huawei-workspace emulator (strict)", () => {
  it("control: a token from IAM creates users; the answer is HTTP 200 with an empty body", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    const r = await batch(emu, env, tok, users({ user_name: "abc", user_email: "xxx@mail.com" }));
    expect(r.status).toBe(200);
    expect(r.text).toBe("");
    expect(emu.users()).toHaveLength(1);
  });

  it("IAM refuses another method, a non-JSON body, another auth method and another project scope", async () => {
    const { emu, env } = await start();
    for (const method of ["PUT", "PATCH"]) expect((await call(emu, IAM, iamBody(env), {}, method)).status, method).toBe(405);
    expect((await call(emu, IAM, JSON.stringify(iamBody(env)), { "content-type": "text/plain" })).status).toBe(400);
    for (const methods of [["token"], ["password", "token"], "password", []]) expect((await call(emu, IAM, iamBody(env, { methods }))).status, JSON.stringify(methods)).toBe(400);
    for (const project of [{ project: { id: "other" } }, { domain: { name: env.HUAWEI_IAM_DOMAIN } }, null]) expect((await call(emu, IAM, iamBody(env, { project }))).status, JSON.stringify(project)).toBe(400);
    expect(emu.stats.issued).toHaveLength(0);
  });

  it("batch-create refuses another method, an expired token and a project that is not the token's", async () => {
    const { emu, env } = await start({ tokenTtlMs: 60 });
    const tok = await token(emu, env);
    const u = users({ user_name: "a", user_email: "a@mail.com" });
    for (const method of ["PUT", "PATCH"]) expect((await batch(emu, env, tok, u, { method })).status, method).toBe(405);
    expect((await batch(emu, env, tok, u, { project: "0bec5db98280d2d02fd6c00c2de791ce" })).status).toBe(403);
    await new Promise((r) => setTimeout(r, 100));
    const r = await batch(emu, env, tok, u);
    expect(r.status).toBe(401);
    expect(r.json.error_msg).toMatch(/The token must be updated/);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a non-JSON body and a top-level property other than users", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    const u = users({ user_name: "a", user_email: "a@mail.com" });
    expect(invalid(await batch(emu, env, tok, JSON.stringify(u), { headers: { "content-type": "text/plain" } }))).toBe(true);
    expect(invalid(await batch(emu, env, tok, { ...u, notify: true }))).toBe(true);
    expect(emu.users()).toHaveLength(0);
  });

  it("takes 1 to 200 users a request", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    const many = (n: number, p: string) => ({ users: Array.from({ length: n }, (_, i) => ({ user_name: `${p}${i}`, user_email: `${p}${i}@mail.com` })) });
    expect(invalid(await batch(emu, env, tok, many(201, "a")))).toBe(true);
    expect(invalid(await batch(emu, env, tok, many(0, "z")))).toBe(true);
    expect(emu.users()).toHaveLength(0);
    expect((await batch(emu, env, tok, many(200, "b"))).status).toBe(200);
    expect(emu.users()).toHaveLength(200);
  });

  it("refuses each field-rule break with 400 WKS.0001, creating nothing of the request", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    const ok = { user_name: "good", user_email: "good@mail.com" };
    const bad: Record<string, unknown>[] = [
      { user_name: "a", user_email: "a@mail.com", nickname: "A" },
      { user_name: "a b", user_email: "a@mail.com" },
      { user_name: "a\tb", user_email: "a@mail.com" },
      { user_name: "n".repeat(65), user_email: "a@mail.com" },
      { user_name: "", user_email: "a@mail.com" },
      { user_name: "a", user_email: "not-an-email" },
      { user_name: "a", user_phone: "phone!" },
      { user_name: "a", user_email: "a@mail.com", account_expires: "2030-01-01T00:00:00" },
      { user_name: "a", user_email: "a@mail.com", account_expires: "2030-01-01 00:00:00Z" },
      { user_name: "a", user_email: "a@mail.com", account_expires: "2030-13-01T00:00:00Z" },
      { user_name: "a", user_email: "a@mail.com", account_expires: "never" },
      { user_name: "a" },
      { user_name: "a", active_type: "USER_ACTIVATE", user_email: "" },
      { user_name: "a", active_type: "ADMIN_ACTIVATE" },
      { user_name: "a", active_type: "SELF_ACTIVATE", user_email: "a@mail.com" },
      { user_name: "a", user_email: "a@mail.com", group_ids: ["1", "2", "3", "4", "5", "6"] },
      { user_name: "a", user_email: "a@mail.com", description: "d".repeat(256) },
      { user_name: "a", user_email: "a@mail.com", alias_name: "x".repeat(56) },
      { user_name: "a", user_email: "a@mail.com", password: 12345678 },
      { user_name: "a", user_email: "a@mail.com", enable_change_password: "true" },
    ];
    for (const u of bad) expect(invalid(await batch(emu, env, tok, users(ok, u))), JSON.stringify(u).slice(0, 80)).toBe(true);
    expect(emu.users()).toHaveLength(0);
  });

  it("takes the limits themselves: 64-character name, 5 groups, 255-character description, 55-character alias, both expiry formats", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    const r = await batch(emu, env, tok, users(
      { user_name: "n".repeat(64), user_email: "a@mail.com", group_ids: ["1", "2", "3", "4", "5"], description: "d".repeat(255), alias_name: "x".repeat(55) },
      { user_name: "b", user_phone: "+86 138 0000 0000", account_expires: "2030-01-01T00:00:00Z" },
      { user_name: "c", active_type: "ADMIN_ACTIVATE", password: "Passw0rd!", account_expires: "2030-01-01T00:00:00.000Z" },
      { user_name: "d", user_email: "d@mail.com", account_expires: "0" },
    ));
    expect(r.status).toBe(200);
    expect(emu.users()).toHaveLength(4);
  });

  it("a name already stored, or twice in one request, rejects the whole request with 400 WKS.0108 naming nobody", async () => {
    const { emu, env } = await start();
    const tok = await token(emu, env);
    expect((await batch(emu, env, tok, users({ user_name: "old", user_email: "o@mail.com" }))).status).toBe(200);
    const r1 = await batch(emu, env, tok, users({ user_name: "new1", user_email: "n@mail.com" }, { user_name: "old", user_email: "o@mail.com" }));
    expect(r1).toMatchObject({ status: 400, json: { error_code: "WKS.0108" } });
    expect(r1.text).not.toMatch(/old|new1/);
    const r2 = await batch(emu, env, tok, users({ user_name: "twin", user_email: "t1@mail.com" }, { user_name: "twin", user_email: "t2@mail.com" }));
    expect(r2).toMatchObject({ status: 400, json: { error_code: "WKS.0108" } });
    expect(emu.users().map((u) => u.user_name)).toEqual(["old"]);
  });

  it("throttles the 11th request inside one second with HTTP 429 APIGW.0308", async () => {
    const { emu, env } = await start({ vendorRate: true });
    const tok = await token(emu, env);
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => batch(emu, env, tok, users({ user_name: `r${i}`, user_email: `r${i}@mail.com` }))));
    expect(all.filter((r) => r.status === 200)).toHaveLength(10);
    const t = all.filter((r) => r.status !== 200);
    expect(t).toHaveLength(2);
    for (const r of t) expect(r).toMatchObject({ status: 429, json: { error_code: "APIGW.0308" } });
    expect(emu.users()).toHaveLength(10);
  });
});
