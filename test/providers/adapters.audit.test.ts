import { fakeResponse } from "../helpers.js";
import { afterAll, describe, expect, it } from "vitest";
import { HttpError, httpSend } from "../../src/core/http.js";
import { BulkUsersError } from "../../src/errors.js";
import genauthEmulator, { createGenauthEmulator } from "../../src/emulators/genauth.js";
import type { Emulator } from "../../src/emulators/_base.js";
import type { HttpRequest, HttpResponse, ProviderContext } from "../../src/providers/define.js";
import genauth, { type GenauthOptions } from "../../src/providers/genauth.js";
import huawei, { type HuaweiWorkspaceOptions } from "../../src/providers/huawei-workspace.js";
import imkit, { type ImkitOptions } from "../../src/providers/imkit.js";
import royalti, { type RoyaltiOptions } from "../../src/providers/royalti.js";
import zego from "../../src/providers/zego.js";
import type { MappedUser } from "../../src/types.js";

/**
 * Gap tests from a hand mutation audit of the provider adapters: each pins one answer
 * classification or request detail that no other test held (the mutant it kills is named).
 */

const fake = fakeResponse;
const open: Emulator[] = [];
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

describe("zego adapter (audit)", () => {
  const users = (...ids: string[]): MappedUser[] => ids.map((UserId) => ({ UserId }));
  const parse = (json: unknown, ids: string[], status = 200) => zego.parseResponse(fake(status, json), users(...ids), {} as ProviderContext);

  it("common code 7 (over the per-second limit) is throttling; common code 1 and 660000001 are a busy server: retried, not throttled", () => {
    expect(parse({ Code: 7, Message: "limit", ErrorList: [] }, ["a", "b"])).toEqual({ kind: "retry", code: "7", message: "limit", throttled: true });
    expect(parse({ Code: 1, Message: "busy", ErrorList: [] }, ["a", "b"])).toEqual({ kind: "retry", code: "1", message: "busy" });
    expect(parse({ Code: 660000001, Message: "service error", ErrorList: [] }, ["a", "b"])).toEqual({ kind: "retry", code: "660000001", message: "service error" });
  });

  it("an expired signature (100000004) and the other public-parameter codes stop the run", () => {
    for (const Code of [3, 100000001, 100000004, 100000008, 100000010]) expect(parse({ Code, Message: "x", ErrorList: [] }, ["a"]).kind, String(Code)).toBe("auth");
  });

  it("'user exists' for a whole multi-user request naming nobody is halved, never pinned on the first row", () => {
    expect(parse({ Code: 660700002, Message: "exists", ErrorList: [] }, ["a", "b"])).toEqual({ kind: "split", code: "660700002", message: "exists" });
  });

  it("an unknown whole-request code fails the batch for good (no endless retry)", () => {
    expect(parse({ Code: 123456, Message: "odd", ErrorList: [] }, ["a", "b"])).toEqual({ kind: "failed", code: "123456", message: "odd" });
  });

  it("an entry without SubCode takes the answer's Code; its SubMessage, when given, is the row's message", () => {
    expect(parse({ Code: 660700002, Message: "register failed", ErrorList: [{ UserId: "a" }, { UserId: "b", SubMessage: "dup b" }] }, ["a", "b"])).toEqual({
      kind: "records",
      results: [
        { status: "exists", code: "660700002", message: "register failed" },
        { status: "exists", code: "660700002", message: "dup b" },
      ],
    });
  });

  it("a per-user 660000001 (service error) is retried, not failed, and not counted as throttling", () => {
    expect(parse({ Code: 0, Message: "success", ErrorList: [{ UserId: "b", SubCode: 660000001, SubMessage: "svc" }] }, ["a", "b"])).toEqual({
      kind: "records",
      results: [{ status: "created" }, { status: "retry", code: "660000001", message: "svc" }],
    });
  });
});

describe("imkit adapter (audit)", () => {
  const users = (n: number): MappedUser[] => Array.from({ length: n }, (_, i) => ({ _id: `u${i}` }));
  const parse = (status: number, body: unknown, n = 2) => imkit.parseResponse(fake(status, body), users(n), {} as ProviderContext<ImkitOptions>);

  it("RC 401 inside an HTTP 200 answer and an HTTP 403 are credential refusals: the run stops", () => {
    expect(parse(200, { RC: 401, RM: "Invalid API Key" })).toEqual({ kind: "auth", code: "401", message: "Invalid API Key" });
    expect(parse(403, { RC: 403, RM: "Forbidden" })).toEqual({ kind: "auth", code: "403", message: "Forbidden" });
  });

  it("RC 429 inside an HTTP 200 answer is throttling, not a refusal of the records", () => {
    expect(parse(200, { RC: 429, RM: "Too Many Requests" })).toEqual({ kind: "retry", code: "429", message: "Too Many Requests", throttled: true, retryAfterMs: undefined });
  });

  it("an HTTP 408 is transient: retried, not bisected", () => {
    expect(parse(408, "Request Timeout")).toMatchObject({ kind: "retry", code: "HTTP_408" });
  });

  it("a count above the records sent leaves the batch unconfirmed too", () => {
    expect(parse(200, { RC: 0, RM: "OK", result: { count: 3 } })).toEqual({ kind: "retry", code: "COUNT_MISMATCH", message: "vendor confirmed 3 of 2 records" });
  });
});

describe("genauth adapter (audit)", () => {
  const ctx0 = {} as ProviderContext<GenauthOptions>;
  const one = (u: MappedUser) => [u];

  it("a single user's 409: `unsure` only when it holds two or more unique values (email + username), never with one", () => {
    const alone = genauth.parseResponse(fake(200, { statusCode: 409, message: "User already exists", apiCode: 2026 }), one({ email: "a@x.io" }), ctx0);
    expect(alone).toEqual({ kind: "records", results: [{ status: "exists", code: "409", message: "User already exists" }] });
    const two = genauth.parseResponse(fake(200, { statusCode: 409, message: "User already exists", apiCode: 2026 }), one({ email: "a@x.io", username: "ann" }), ctx0);
    expect(two).toMatchObject({ kind: "records", results: [{ status: "exists", code: "409", unsure: expect.stringMatching(/email, username/) }] });
    // An empty value is not held.
    const blank = genauth.parseResponse(fake(200, { statusCode: 409, message: "m" }), one({ email: "a@x.io", username: "" }), ctx0);
    expect(blank).toEqual({ kind: "records", results: [{ status: "exists", code: "409", message: "m" }] });
  });

  it("a statusCode outside 2xx/4xx/5xx (a 3xx) is not taken as success", () => {
    expect(genauth.parseResponse(fake(200, { statusCode: 302, message: "moved" }), [{ email: "a@x.io" }], ctx0)).toMatchObject({ kind: "retry" });
  });

  it("an HTTP 4xx without the vendor's body fails the request for good; an HTTP 2xx without it is retried", () => {
    expect(genauth.parseResponse(fake(400, "<html>Bad Request</html>"), [{ email: "a@x.io" }, { email: "b@x.io" }], ctx0)).toMatchObject({ kind: "failed", code: "HTTP_400" });
  });

  /** A session whose token endpoint answers `answers` in turn, then the emulator. */
  async function withTokenAnswers(answers: HttpResponse[]) {
    const env = genauthEmulator.sandboxEnv();
    const emu = createGenauthEmulator({ env });
    await emu.listen(0);
    open.push(emu);
    const secrets: string[] = [];
    const ctx: ProviderContext<GenauthOptions> = {
      env,
      endpoint: emu.url,
      options: {},
      fetch: async (r: HttpRequest, sig?: AbortSignal) => answers.shift() ?? httpSend(r, { signal: sig, timeoutMs: 2000 }),
      addSecret: (v) => void secrets.push(v),
      now: Date.now,
    };
    return { emu, session: genauth.createSession!(ctx), secrets };
  }

  it("a token answer with statusCode 200 but no access_token, or an HTTP 408, is transient (HttpError), not a credential refusal", async () => {
    const s = await withTokenAnswers([fake(200, { statusCode: 200, message: "ok", data: {} }), fake(408, "Request Timeout")]);
    for (let i = 0; i < 2; i++) {
      const e = await s.session.get().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(HttpError);
      expect(e).not.toBeInstanceOf(BulkUsersError);
    }
    expect(await s.session.get()).toBe(s.emu.stats.issued[0]);
  });

  it("the management token is registered as a secret (redacted everywhere)", async () => {
    const s = await withTokenAnswers([]);
    const token = await s.session.get();
    expect(s.secrets).toEqual([token]);
  });
});

describe("royalti adapter (audit)", () => {
  const parse = (res: HttpResponse, users: MappedUser[]) => royalti.parseResponse(res, users, { options: { sendEmail: false } } as ProviderContext<RoyaltiOptions>);
  const two: MappedUser[] = [
    { firstName: "Al", lastName: "B", email: "al@x.io" },
    { firstName: "Cy", lastName: "D", email: "cy@x.io" },
  ];

  it("an HTTP 408 is transient: retried", () => {
    expect(parse(fake(408, { message: "Request Timeout" }), two)).toEqual({ kind: "retry", code: "HTTP_408", message: "Request Timeout" });
  });

  it("every sentence about a user is kept, in order, and the first one gives the code", () => {
    const r = parse(fake(201, { message: "Done.", createdUsers: ["Cy D"], processedCount: 2, errors: ["Invalid email format for Al B", "Something else went wrong for Al B"] }), two);
    expect(r).toEqual({
      kind: "records",
      results: [{ status: "failed", code: "INVALID_EMAIL", message: "Invalid email format for Al B; Something else went wrong for Al B" }, { status: "created" }],
    });
  });

  it("a created user the answer also has a sentence about keeps that sentence (and its code) as a note", () => {
    const r = parse(fake(201, { message: "Done.", createdUsers: ["Al B", "Cy D"], processedCount: 2, errors: ["Phone is required for Al B"] }), two);
    expect(r).toEqual({ kind: "records", results: [{ status: "created", code: "REQUIRED_FIELD", message: "Phone is required for Al B" }, { status: "created" }] });
  });

  it("the 'is required for' sentence is coded REQUIRED_FIELD and lands on its row", () => {
    const r = parse(fake(201, { message: "Done.", createdUsers: ["Cy D"], processedCount: 2, errors: ["Email is required for Al B"] }), two);
    expect(r).toEqual({ kind: "records", results: [{ status: "failed", code: "REQUIRED_FIELD", message: "Email is required for Al B" }, { status: "created" }] });
  });
});

describe("huawei-workspace adapter (audit)", () => {
  const users = (n: number): MappedUser[] => Array.from({ length: n }, (_, i) => ({ user_name: `u.${i}`, user_email: `u${i}@example.com` }));
  const ctxWith = (env: Record<string, string> = {}): ProviderContext<HuaweiWorkspaceOptions> => ({
    env: { HUAWEI_REGION: "r", HUAWEI_PROJECT_ID: "p", ...env },
    endpoint: "",
    options: {},
    fetch: () => Promise.reject(new Error("no network")),
    addSecret: () => {},
    now: Date.now,
  });

  it("a 413 with a vendor code (request too large) is halved; a 408 is retried", () => {
    expect(huawei.parseResponse(fake(413, { error_code: "WKS.0001", error_msg: "too large" }), users(2), ctxWith())).toEqual({ kind: "split", code: "WKS.0001", message: "too large" });
    expect(huawei.parseResponse(fake(408, ""), users(2), ctxWith())).toMatchObject({ kind: "retry", code: "HTTP_408" });
  });

  /** A session whose IAM call gets `res`. */
  function session(res: HttpResponse, env: Record<string, string> = {}) {
    const secrets: string[] = [];
    const ctx: ProviderContext<HuaweiWorkspaceOptions> = {
      ...ctxWith({ HUAWEI_IAM_USER: "u", HUAWEI_IAM_PASSWORD: "pw", HUAWEI_IAM_DOMAIN: "d", ...env }),
      endpoint: "http://127.0.0.1:9",
      fetch: async () => res,
      addSecret: (v) => void secrets.push(v),
    };
    return { s: huawei.createSession!(ctx), secrets };
  }

  it("IAM throttling (429) is transient (HttpError); IAM without a token route (404) is a wrong endpoint, not refused credentials", async () => {
    const busy = await session(fake(429, { error_msg: "slow" })).s.get().catch((x: unknown) => x);
    expect(busy).toBeInstanceOf(HttpError);
    expect(busy).not.toBeInstanceOf(BulkUsersError);
    const noRoute = await session(fake(404, { error_code: "APIGW.0101", error_msg: "no api" })).s.get().catch((x: unknown) => x);
    expect(noRoute).toBeInstanceOf(BulkUsersError);
    expect(noRoute).toMatchObject({ code: "ENDPOINT_WRONG" });
  });

  it("a token from IAM and a token given in HUAWEI_AUTH_TOKEN are both registered as secrets", async () => {
    const iam = session(fake(201, { token: { expires_at: new Date(Date.now() + 3600_000).toISOString() } }, { "X-Subject-Token": "MII-issued" }));
    expect(await iam.s.get()).toBe("MII-issued");
    expect(iam.secrets).toEqual(["MII-issued"]);
    const given = session(fake(500, ""), { HUAWEI_AUTH_TOKEN: "MII-given" });
    expect(await given.s.get()).toBe("MII-given");
    expect(given.secrets).toEqual(["MII-given"]);
  });
});
