// Behaviours each a plausible bug would break unnoticed otherwise: adapter answers, the ZEGO
// emulator's strictness, the rate limiter, resume and secrets (the sender's are in sender.test.ts).
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpError, httpSend } from "../../src/core/http.js";
import { runImport } from "../../src/core/import.js";
import { RateLimiter } from "../../src/core/rate-limiter.js";
import { compareMeta, type RunMeta } from "../../src/core/resume.js";
import { validateUser } from "../../src/core/validate.js";
import { createHuaweiWorkspaceEmulator } from "../../src/emulators/huawei-workspace.js";
import huaweiEmulator from "../../src/emulators/huawei-workspace.js";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import type { Provider, ProviderContext } from "../../src/providers/define.js";
import genauth from "../../src/providers/genauth.js";
import huawei from "../../src/providers/huawei-workspace.js";
import imkit from "../../src/providers/imkit.js";
import zego, { zegoSignature } from "../../src/providers/zego.js";
import { BulkUsersError } from "../../src/errors.js";
import { Redactor } from "../../src/report/redact.js";
import { csv, fakeResponse, maxInWindow, readReport, tmp, write } from "../helpers.js";

const open: Emulator[] = [];
afterAll(() => Promise.all(open.map((e) => e.close())));
const noCtx = {} as ProviderContext;
const zparse = (json: unknown, ids: string[]) => zego.parseResponse(fakeResponse(200, json), ids.map((UserId) => ({ UserId })), noCtx);

describe("zego adapter answers", () => {
  it("a per-user SubCode 660000001 (service error) is retried, not failed", () => {
    expect(zparse({ Code: 0, ErrorList: [{ UserId: "b", SubCode: 660000001, SubMessage: "busy" }] }, ["a", "b"])).toMatchObject({ kind: "records", results: [{ status: "created" }, { status: "retry" }] });
  });
  it("a whole-request 660700002 naming nobody with several users is halved, never one result for n users", () => {
    expect(zparse({ Code: 660700002, ErrorList: [] }, ["a", "b"])).toMatchObject({ kind: "split" });
  });
  it("every common auth code stops the run (wrong AppId = 100000010)", () => {
    for (const Code of [3, 100000001, 100000004, 100000008, 100000010]) expect(zparse({ Code, ErrorList: [] }, ["a"]).kind, String(Code)).toBe("auth");
  });
  it("UserName over 64 bytes is refused locally", () => {
    expect(validateUser(zego as Provider, { UserId: "a", UserName: "é".repeat(32) + "x" }, {}).map((i) => i.field)).toContain("UserName");
  });
});

describe("zego emulator strictness (raw requests)", () => {
  const env = { ZEGO_APP_ID: "1234567", ZEGO_SERVER_SECRET: "kill-secret-kill-secret-kill-0001" };
  let emu: Emulator;
  beforeAll(async () => {
    emu = createZegoEmulator({ env, rateLimit: 1000 });
    await emu.listen(0);
    open.push(emu);
  });
  const post = (o: { nonce?: string; ts?: number; version?: string }, body: unknown) => {
    const ts = o.ts ?? Math.floor(Date.now() / 1000);
    const nonce = o.nonce ?? randomBytes(8).toString("hex");
    const q = new URLSearchParams({ Action: "UserRegister", AppId: env.ZEGO_APP_ID, SignatureNonce: nonce, Timestamp: String(ts), SignatureVersion: o.version ?? "2.0" });
    q.set("Signature", zegoSignature(env.ZEGO_APP_ID, nonce, env.ZEGO_SERVER_SECRET, ts));
    return fetch(`${emu.url}/?${q}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<{ Code: number; ErrorList: { SubCode: number }[] }>);
  };
  it("a nonce that is not 16 hex characters is a signature error", async () => {
    expect(await post({ nonce: "abc123" }, { UserInfo: [{ UserId: "n1" }] })).toMatchObject({ Code: 100000005 });
  });
  it("SignatureVersion other than 2.0 is refused", async () => {
    expect(await post({ version: "1.0" }, { UserInfo: [{ UserId: "v1" }] })).toMatchObject({ Code: 100000014 });
  });
  it("a timestamp 700 s in the future is refused like a stale one", async () => {
    expect(await post({ ts: Math.floor(Date.now() / 1000) + 700 }, { UserInfo: [{ UserId: "f1" }] })).toMatchObject({ Code: 100000004 });
  });
  it("a 33-byte UserId and a 65-byte UserName are refused per user", async () => {
    const a = await post({}, { UserInfo: [{ UserId: "é".repeat(16) + "x" }] });
    expect(a.ErrorList[0]).toMatchObject({ SubCode: 660000012 });
    const b = await post({}, { UserInfo: [{ UserId: "n65", UserName: "é".repeat(32) + "x" }] });
    expect(b.ErrorList[0]).toMatchObject({ SubCode: 660700006 });
    expect(emu.users().map((u) => u.UserId)).not.toContain("n65");
  });
});

describe("other adapters", () => {
  it("IMKIT HTTP 403 stops the run (auth)", () => {
    expect(imkit.parseResponse(fakeResponse(403, { RC: 403, RM: "Forbidden" }), [{ _id: "a" }, { _id: "b" }], noCtx as never).kind).toBe("auth");
  });
  it("IAM 201 without X-Subject-Token is transient (HttpError), not a credential refusal", async () => {
    const ctx = { env: huaweiEmulator.sandboxEnv(), endpoint: "http://127.0.0.1:9", options: {}, fetch: async () => fakeResponse(201, { token: {} }), addSecret: () => {}, now: Date.now } as unknown as ProviderContext;
    const e = await huawei.createSession!(ctx as never).get().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect(e).not.toBeInstanceOf(BulkUsersError);
  });
  it("a token answer statusCode 200 without access_token is transient (HttpError)", async () => {
    const ctx = { env: { GENAUTH_ACCESS_KEY_ID: "a", GENAUTH_ACCESS_KEY_SECRET: "b", GENAUTH_USER_POOL_ID: "c" }, endpoint: "http://127.0.0.1:9", options: {}, fetch: async () => fakeResponse(200, { statusCode: 200, data: {} }), addSecret: () => {}, now: Date.now } as unknown as ProviderContext;
    const e = await genauth.createSession!(ctx as never).get().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
  });
  it("alias_name (and every declared field) reaches the vendor", async () => {
    const env = huaweiEmulator.sandboxEnv();
    const emu = createHuaweiWorkspaceEmulator({ env });
    await emu.listen(0);
    open.push(emu);
    const ctx = { env, endpoint: emu.url, options: {}, fetch: (r, s) => httpSend(r, { signal: s }), addSecret: () => {}, now: Date.now } as ProviderContext<Record<string, never>>;
    const session = huawei.createSession!(ctx);
    const u = { user_name: "al", user_email: "al@example.com", alias_name: "Al B", account_expires: "0", next_login_change_password: false, user_phone: "+86 138 0000 0000" };
    const res = await httpSend(await huawei.buildRequest([u], ctx, session));
    expect(res.status).toBe(200);
    expect(emu.users()[0]).toMatchObject({ alias_name: "Al B", account_expires: "0", next_login_change_password: false, user_phone: "+86 138 0000 0000" });
  });
});

describe("rate limiter", () => {
  it("keeps the default 10 ms margin beyond the interval", async () => {
    const l = new RateLimiter({ limit: 1, intervalMs: 100 });
    const a = await l.acquire();
    const end = performance.now();
    a();
    await l.acquire();
    expect(performance.now() - end).toBeGreaterThanOrEqual(108);
  });
  it("uses the whole limit: 10 requests at 5 per 200 ms start within about one window", async () => {
    const l = new RateLimiter({ limit: 5, intervalMs: 200, marginMs: 0 });
    const starts: number[] = [];
    await Promise.all(Array.from({ length: 10 }, async () => { const d = await l.acquire(); starts.push(performance.now()); d(); }));
    // Never more than the limit in a window, and the whole of it used: one wasting part of each would reach 4.
    expect(maxInWindow(starts, 200)).toBe(5);

  });
});

describe("resume", () => {
  it("rows that failed are sent again by --resume", async () => {
    const env = { ZEGO_APP_ID: "7654321", ZEGO_SERVER_SECRET: "resume-kill-secret-resume-kill-01" };
    const dir = tmp();
    const f = write(dir, "u.csv", csv(["user_id"], [["k1"], ["k2"], ["k3"]]));
    const a = createZegoEmulator({ env, refuseKeys: ["k2"] });
    await a.listen(0);
    open.push(a);
    const first = await runImport({ files: [f], provider: "zego", env, endpoint: a.url, report: `${dir}/1.jsonl`, backoffBaseMs: 1 });
    expect(first.counts.failed).toBe(1);
    const b = createZegoEmulator({ env });
    await b.listen(0);
    open.push(b);
    // Resumed into a second, empty emulator to see what is sent: another endpoint takes --force.
    const second = await runImport({ files: [f], provider: "zego", env, endpoint: b.url, report: `${dir}/2.jsonl`, resume: `${dir}/1.jsonl`, force: true });
    expect(b.users().map((u) => u.UserId)).toEqual(["k2"]);
    expect(readReport(`${dir}/2.jsonl`).find((r) => r.key === "k2")?.status).toBe("created");
    expect(second.exitCode).toBe(0);
  });
  it("--force never resumes another provider's report", () => {
    const meta = (provider: string): RunMeta => ({ version: 1, provider, inputs: [{ file: "u.csv", sha256: "x", size: 1 }], mapping: { source: "m", sha256: "y" }, startedAt: "" });
    expect(() => compareMeta(meta("zego"), meta("imkit"), true)).toThrow(/provider was zego, now imkit/);
  });
});

describe("secrets", () => {
  it("a secret JSON-escaped twice (a request body quoted in a text answer) is masked", () => {
    const r = new Redactor();
    const s = 'Pw-"Hunter2"\\x';
    r.add(s);
    const twice = JSON.stringify(JSON.stringify(s).slice(1, -1)).slice(1, -1);
    expect(r.redact(`echo: ${twice} end`)).toBe("echo: *** end");
  });
  it("an error message never shows the URL's user info", () => {
    const e = new HttpError({ method: "POST", url: "https://proxyuser:ProxyPw-Secret@vendor.example/x" }, "network", "ECONNREFUSED");
    expect(e.message).not.toContain("ProxyPw-Secret");
  });
});
