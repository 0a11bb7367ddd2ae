import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpSend } from "../../src/core/http.js";
import { validateUser } from "../../src/core/validate.js";
import imkitEmulator, { createImkitEmulator } from "../../src/emulators/imkit.js";
import type { Emulator, EmulatorOptions } from "../../src/emulators/_base.js";
import type { HttpResponse, Provider, ProviderContext } from "../../src/providers/define.js";
import provider, { IMKIT_LIMITS, type ImkitOptions } from "../../src/providers/imkit.js";
import type { MappedUser } from "../../src/types.js";

const PATH = "/admin/clients/list";
const CT = "application/json; charset=utf-8";
const open: Emulator[] = [];

/** A fresh emulator per test: each has its own rate window and store. */
async function start(o: Partial<EmulatorOptions> = {}) {
  const env = imkitEmulator.sandboxEnv();
  const emu = createImkitEmulator({ env, ...o });
  await emu.listen(0);
  open.push(emu);
  const ctx: ProviderContext<ImkitOptions> = {
    env,
    endpoint: emu.url,
    options: {},
    fetch: (r, s) => httpSend(r, { signal: s }),
    addSecret: () => {},
    now: Date.now,
  };
  return { emu, env, ctx };
}

type Ctx = Awaited<ReturnType<typeof start>>["ctx"];

async function send(users: MappedUser[], ctx: Ctx) {
  const session = provider.createSession?.(ctx) ?? {};
  const req = await provider.buildRequest(users, ctx, session);
  const res = await httpSend(req, { timeoutMs: 2000 });
  return { req, res, result: provider.parseResponse(res, users, ctx) };
}

/** POSTs a raw body with the right key and content type unless overridden. */
function raw(emu: Emulator, env: Record<string, string>, body: unknown, headers: Record<string, string> = {}, method = "POST", path = PATH) {
  return fetch(`${emu.url}${path}`, {
    method,
    headers: { "IM-API-KEY": env.IMKIT_API_KEY!, "Content-Type": CT, ...headers },
    body: method === "GET" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

const users = (n: number, from = 0): MappedUser[] =>
  Array.from({ length: n }, (_, i) => ({ _id: `user-${from + i}`, nickname: `User ${from + i}`, avatarUrl: `https://example.com/${from + i}.jpg` }));

function fakeResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers: new Headers(headers), text, json };
}

afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

describe("imkit adapter: request shape and auth", () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    s = await start();
  });

  it("POSTs {data:[…]} to /admin/clients/list with IM-API-KEY and the exact content type, and reports upserted", async () => {
    const batch: MappedUser[] = [{ _id: "user-001", nickname: "Alice", avatarUrl: "https://example.com/alice.jpg" }, { _id: "user-002" }];
    const { req, result } = await send(batch, { ...s.ctx, endpoint: `${s.emu.url}//` });
    expect(req.method).toBe("POST");
    expect(req.url).toBe(`${s.emu.url}${PATH}`);
    expect(req.headers).toEqual({ "IM-API-KEY": s.env.IMKIT_API_KEY, "Content-Type": CT });
    // Absent optional fields are left out, not sent as null.
    expect(JSON.parse(req.body!)).toEqual({ data: [{ _id: "user-001", nickname: "Alice", avatarUrl: "https://example.com/alice.jpg" }, { _id: "user-002" }] });
    expect(result).toEqual({ kind: "records", results: [{ status: "upserted" }, { status: "upserted" }] });
    expect(s.emu.users()).toEqual(batch);
  });

  it("declares the key, the credentials and a base URL with no default", () => {
    expect(provider.key).toBe("_id");
    expect(provider.env).toEqual([
      expect.objectContaining({ name: "IMKIT_API_KEY", required: true, secret: true }),
      expect.objectContaining({ name: "IMKIT_BASE_URL", secret: false }),
    ]);
    expect(provider.endpointEnv).toBe("IMKIT_BASE_URL");
    expect(provider.defaultEndpoint({})).toBeUndefined();
    expect(provider.defaultEndpoint({ IMKIT_BASE_URL: "https://my-app.imkit.io" })).toBe("https://my-app.imkit.io");
    expect(provider.optionsSchema).toBeUndefined();
    expect(provider.exampleMapping).toMatch(/^fields:\n {2}_id: /);
  });

  it("a wrong API key answers HTTP 401 → auth (the run stops); the key never appears in the result", async () => {
    const { result } = await send(users(2), { ...s.ctx, env: { IMKIT_API_KEY: "wrong-key" } });
    expect(result).toEqual({ kind: "auth", code: "401", message: "Invalid API Key" });
    expect(JSON.stringify(result)).not.toContain(s.env.IMKIT_API_KEY);
  });

  it("the emulator refuses a missing key, another header name, another content type, method or path", async () => {
    const { emu, env } = s;
    const body = { data: [{ _id: "x" }] };
    const noKey = await fetch(`${emu.url}${PATH}`, { method: "POST", headers: { "Content-Type": CT }, body: JSON.stringify(body) });
    expect(noKey.status).toBe(401);
    const bearer = await fetch(`${emu.url}${PATH}`, { method: "POST", headers: { Authorization: `Bearer ${env.IMKIT_API_KEY}`, "Content-Type": CT }, body: JSON.stringify(body) });
    expect(bearer.status).toBe(401);
    const plainJson = await raw(emu, env, body, { "Content-Type": "application/json" });
    expect(plainJson.status).toBe(400);
    expect(((await plainJson.json()) as { RC: number }).RC).not.toBe(0);
    expect((await raw(emu, env, body, { "Content-Type": "text/plain; charset=utf-8" })).status).toBe(400);
    expect((await raw(emu, env, undefined, {}, "GET")).status).toBe(405);
    expect((await raw(emu, env, body, {}, "POST", "/admin/clients")).status).toBe(404);
    expect(emu.users()).not.toContainEqual(expect.objectContaining({ _id: "x" }));
  });
});

describe("imkit adapter: batch size", () => {
  it("99 records (under 100, as the vendor text asks) are accepted; 100 are rejected whole by the emulator (→ split)", async () => {
    const { emu, ctx } = await start();
    expect(provider.maxBatch).toBe(99);
    const ok = await send(users(99), ctx);
    expect(ok.res.status).toBe(200);
    expect(ok.res.json).toEqual({ RC: 0, RM: "OK", result: { count: 99 } });
    expect(ok.result.kind).toBe("records");
    const big = await send(users(100, 1000), ctx);
    expect(big.res.status).toBe(400);
    expect(big.result).toMatchObject({ kind: "split", code: "400" });
    expect(emu.users()).toHaveLength(99);
  });

  it("the emulator rejects a malformed envelope", async () => {
    const { emu, env } = await start();
    for (const body of [{ data: [] }, { data: { _id: "a" } }, { users: [{ _id: "a" }] }, { data: [{ _id: "a" }], extra: 1 }, [{ _id: "a" }], "not json"]) {
      const r = await raw(emu, env, body);
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ RC: 400, RM: "Invalid Data Format" });
    }
    expect(emu.users()).toEqual([]);
  });
});

const long = (n: number, c = "a") => c.repeat(n);

describe("imkit adapter: field rules (FieldSpec and emulator agree)", () => {
  it("declares each rule in the FieldSpec", () => {
    expect(provider.fields._id).toMatchObject({ type: "string", required: true, minLength: 1, maxLength: IMKIT_LIMITS.idLength });
    expect(provider.fields.nickname).toMatchObject({ type: "string", maxLength: IMKIT_LIMITS.nicknameLength });
    expect(provider.fields.avatarUrl).toMatchObject({ type: "string", maxLength: IMKIT_LIMITS.avatarLength, format: "url" });
    expect(Object.keys(provider.fields).sort()).toEqual(["_id", "avatarUrl", "nickname"]);
  });

  // [case, record, field the adapter flags (undefined: only the emulator's wire check applies)]
  const bad: [string, Record<string, unknown>, string | undefined][] = [
    ["_id missing", { nickname: "No Id" }, "_id"],
    ["_id empty", { _id: "" }, "_id"],
    ["_id over 255 characters", { _id: long(256) }, "_id"],
    ["_id not a string", { _id: 42 }, undefined],
    ["nickname over 255 characters", { _id: "n", nickname: long(256) }, "nickname"],
    ["nickname not a string", { _id: "n", nickname: true }, "nickname"],
    ["avatarUrl over 2048 characters", { _id: "a", avatarUrl: `https://example.com/${long(2030)}` }, "avatarUrl"],
    ["avatarUrl not a URL", { _id: "a", avatarUrl: "not a url" }, "avatarUrl"],
    ["avatarUrl not a web address", { _id: "a", avatarUrl: "javascript:alert(1)" }, "avatarUrl"],
    ["avatarUrl not a string", { _id: "a", avatarUrl: ["https://example.com/a.png"] }, "avatarUrl"],
    ["an unknown field", { _id: "u", email: "u@example.com" }, undefined],
  ];

  it.each(bad)("%s: the emulator rejects the request and the adapter flags it", async (_name, record, field) => {
    const { emu, env } = await start();
    const r = await raw(emu, env, { data: [{ _id: "fine" }, record] });
    expect(r.status).toBe(400);
    const answer = (await r.json()) as { RC: number; RM: string };
    expect(answer.RC).not.toBe(0);
    // The vendor's message names no record.
    expect(answer.RM).toBe("Invalid Data Format");
    expect(emu.users()).toEqual([]);
    if (field) expect(validateUser(provider as Provider, { ...record }, {}).map((i) => i.field)).toContain(field);
  });

  it("values at each limit pass both (limits count characters, not UTF-16 units or bytes)", async () => {
    const { emu, ctx } = await start();
    const edge: MappedUser[] = [
      { _id: long(255) },
      { _id: long(255, "😀"), nickname: long(255, "名") },
      { _id: "u 1017", nickname: long(255), avatarUrl: `https://example.com/${long(2048 - 20)}` },
    ];
    for (const u of edge) expect(validateUser(provider as Provider, { ...u }, {})).toEqual([]);
    const { result } = await send(edge, ctx);
    expect(result).toEqual({ kind: "records", results: edge.map(() => ({ status: "upserted" })) });
    expect(emu.users()).toHaveLength(3);
  });
});

describe("imkit adapter: upsert and whole-request rejections", () => {
  it("an existing _id is updated, never duplicated; fields left out are kept", async () => {
    const { emu, ctx } = await start();
    await send([{ _id: "u1", nickname: "Old", avatarUrl: "https://example.com/old.png" }], ctx);
    const { result } = await send([{ _id: "u1", nickname: "New" }, { _id: "u2" }], ctx);
    expect(result).toEqual({ kind: "records", results: [{ status: "upserted" }, { status: "upserted" }] });
    expect(emu.users()).toEqual([{ _id: "u1", nickname: "New", avatarUrl: "https://example.com/old.png" }, { _id: "u2" }]);
  });

  it("one refused record rejects the whole request (→ split, nothing stored); alone it is failed with the vendor's code", async () => {
    const { emu, ctx } = await start({ refuseKeys: ["user-2"] });
    const many = await send(users(4), ctx);
    expect(many.res.status).toBe(400);
    expect(many.result).toEqual({ kind: "split", code: "400", message: "Invalid Data Format" });
    expect(emu.users()).toEqual([]);
    // What the sender's bisection ends with: the culprit alone fails, the rest are upserted.
    const alone = await send(users(1, 2), ctx);
    expect(alone.result).toEqual({ kind: "records", results: [{ status: "failed", code: "400", message: "Invalid Data Format" }] });
    const rest = await send([...users(2), ...users(1, 3)], ctx);
    expect(rest.result).toEqual({ kind: "records", results: [{ status: "upserted" }, { status: "upserted" }, { status: "upserted" }] });
    expect(emu.users().map((u) => u._id)).toEqual(["user-0", "user-1", "user-3"]);
  });

  it("the same _id twice in one request is rejected whole (→ split)", async () => {
    const { emu, ctx } = await start();
    const { result } = await send([{ _id: "d" }, { _id: "d", nickname: "again" }], ctx);
    expect(result.kind).toBe("split");
    expect(emu.users()).toEqual([]);
  });

  it("RC ≠ 0 in an HTTP 200 answer is a whole-request rejection too", () => {
    const res = fakeResponse(200, { RC: 1, RM: "Invalid Data Format" });
    expect(provider.parseResponse(res, users(2), {} as Ctx)).toEqual({ kind: "split", code: "1", message: "Invalid Data Format" });
    expect(provider.parseResponse(res, users(1), {} as Ctx)).toEqual({ kind: "records", results: [{ status: "failed", code: "1", message: "Invalid Data Format" }] });
  });

  it("a count other than the records sent leaves the batch unconfirmed → retry (upsert makes a resend safe)", () => {
    const u = users(3);
    expect(provider.parseResponse(fakeResponse(200, { RC: 0, RM: "OK", result: { count: 2 } }), u, {} as Ctx)).toMatchObject({ kind: "retry", code: "COUNT_MISMATCH" });
    expect(provider.parseResponse(fakeResponse(200, { RC: 0, RM: "OK" }), u, {} as Ctx)).toMatchObject({ kind: "retry", code: "COUNT_MISMATCH" });
    expect(provider.parseResponse(fakeResponse(200, { RC: 0, RM: "OK", result: { count: "3" } }), u, {} as Ctx)).toMatchObject({ kind: "retry" });
    expect(provider.parseResponse(fakeResponse(200, "<html>ok</html>"), u, {} as Ctx)).toMatchObject({ kind: "retry" });
  });

  it("a refusal without the vendor's envelope (a proxy's page) is halved like any refusal, not retried", () => {
    expect(provider.parseResponse(fakeResponse(400, "<html>Bad Request</html>"), users(4), {} as Ctx)).toMatchObject({ kind: "split", code: "HTTP_400" });
    expect(provider.parseResponse(fakeResponse(413, ""), users(4), {} as Ctx)).toMatchObject({ kind: "split", code: "HTTP_413" });
    expect(provider.parseResponse(fakeResponse(400, "<html>Bad Request</html>"), users(1), {} as Ctx)).toMatchObject({ kind: "records", results: [{ status: "failed", code: "HTTP_400" }] });
  });

  it("a wrong base path (404) stops the run instead of failing or bisecting every batch", () => {
    const r = provider.parseResponse(fakeResponse(404, { RC: 404, RM: "Not Found" }), users(4), {} as Ctx);
    expect(r).toMatchObject({ kind: "endpoint", code: "404" });
  });
});

describe("imkit adapter: throttling and server errors", () => {
  it("the 11th request inside one second is throttled: HTTP 429 {RC:429} → retry throttled", async () => {
    const { emu, ctx } = await start();
    const limit = provider.rate.limit;
    expect(provider.rate).toEqual({ limit: 10, intervalMs: 1000 });
    expect(provider.maxBatch).toBe(99);
    const out = await Promise.all(Array.from({ length: limit + 1 }, (_, i) => send(users(1, i), ctx)));
    const throttled = out.filter((o) => o.res.status === 429);
    expect(throttled).toHaveLength(1);
    expect(throttled[0]!.res.json).toEqual({ RC: 429, RM: "Too Many Requests" });
    expect(throttled[0]!.result).toEqual({ kind: "retry", code: "429", message: "Too Many Requests", throttled: true, retryAfterMs: undefined });
    expect(emu.stats.throttled).toBe(1);
    expect(emu.users()).toHaveLength(limit);
  });

  it("reads Retry-After when the vendor sends one", () => {
    const r = provider.parseResponse(fakeResponse(429, { RC: 429, RM: "Too Many Requests" }, { "retry-after": "2" }), users(1), {} as Ctx);
    expect(r).toMatchObject({ kind: "retry", throttled: true, retryAfterMs: 2000 });
  });

  it("server errors (JSON 500 and a bare 502) → retry, nothing stored", async () => {
    const { emu, ctx } = await start({ faults: { error: 1 } });
    const first = await send(users(2), ctx);
    expect(first.res.status).toBe(500);
    expect(first.result).toEqual({ kind: "retry", code: "500", message: "Internal Server Error" });
    const second = await send(users(2), ctx);
    expect(second.res.status).toBe(502);
    expect(second.result).toMatchObject({ kind: "retry", code: "HTTP_502" });
    expect(emu.users()).toEqual([]);
  });
});
