import { fakeResponse } from "../helpers.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batches } from "../../src/core/batch.js";
import { httpSend } from "../../src/core/http.js";
import { validateUser } from "../../src/core/validate.js";
import royaltiEmulator, { createRoyaltiEmulator } from "../../src/emulators/royalti.js";
import type { Emulator, EmulatorOptions } from "../../src/emulators/_base.js";
import type { HttpResponse, ProviderContext } from "../../src/providers/define.js";
import provider, { royaltiName, type RoyaltiOptions } from "../../src/providers/royalti.js";
import type { MappedUser } from "../../src/types.js";

const PATH = "/user/bulk";
const open: Emulator[] = [];

/** A fresh emulator per group: each has its own rate window and workspace. */
async function start(o: Partial<EmulatorOptions> = {}, options: RoyaltiOptions = { sendEmail: false }) {
  const env = royaltiEmulator.sandboxEnv();
  const emu = createRoyaltiEmulator({ env, ...o });
  await emu.listen(0);
  open.push(emu);
  const ctx: ProviderContext<RoyaltiOptions> = {
    env,
    endpoint: emu.url,
    options,
    fetch: (r, s) => httpSend(r, { signal: s }),
    addSecret: () => {},
    now: Date.now,
  };
  return { emu, env, ctx };
}
type Started = Awaited<ReturnType<typeof start>>;

async function send(users: MappedUser[], ctx: ProviderContext<RoyaltiOptions>) {
  const session = provider.createSession?.(ctx) ?? {};
  const req = await provider.buildRequest(users, ctx, session);
  const res = await httpSend(req, { timeoutMs: 2000 });
  return { req, res, result: provider.parseResponse(res, users, ctx) };
}

/** POSTs a raw body with the right token and content type unless overridden. */
function raw(s: Started, body: unknown, headers: Record<string, string> = {}, method = "POST", path = PATH) {
  return fetch(`${s.emu.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${s.env.ROYALTI_TOKEN}`, "Content-Type": "application/json", ...headers },
    body: method === "GET" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

let seq = 0;
/** `n` valid users with distinct names and emails. */
const people = (n: number, tag = `t${++seq}`): MappedUser[] =>
  Array.from({ length: n }, (_, i) => ({ firstName: "Ada", lastName: `${tag}-${i}`, email: `ada.${tag}.${i}@example.com` }));

const fake = fakeResponse;
const parse = (res: HttpResponse, users: MappedUser[]) => provider.parseResponse(res, users, { options: { sendEmail: false } } as ProviderContext<RoyaltiOptions>);

afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

describe("royalti adapter: declarations", () => {
  it("declares key, limits, credentials, base URL and fields", () => {
    expect(provider.key).toBe("email");
    expect(provider.maxBatch).toBe(50);
    expect(provider.rate).toEqual({ limit: 5, intervalMs: 1000 });
    expect(provider.env).toEqual([
      expect.objectContaining({ name: "ROYALTI_TOKEN", required: true, secret: true }),
      expect.objectContaining({ name: "ROYALTI_BASE_URL", required: false, secret: false }),
    ]);
    expect(provider.endpointEnv).toBe("ROYALTI_BASE_URL");
    expect(provider.defaultEndpoint({})).toBe("https://api.royalti.io");
    expect(provider.defaultEndpoint({ ROYALTI_BASE_URL: "https://staging.royalti.io" })).toBe("https://staging.royalti.io");
    expect(Object.keys(provider.fields)).toEqual(["firstName", "lastName", "nickName", "userType", "email", "ipi", "role", "phone", "country"]);
    expect(provider.fields.email).toMatchObject({ required: true, format: "email", unique: true, uniqueIgnoreCase: true });
    expect(provider.fields.firstName).toMatchObject({ required: true });
    expect(provider.fields.lastName).toMatchObject({ required: true });
    expect(provider.exampleMapping).toMatch(/^fields:\n {2}firstName: /);
    expect(provider.exampleMapping).toMatch(/\noptions:\n {2}sendEmail: false/);
  });

  it("options: sendEmail optional boolean, redirect_url an http(s) URL, message text, nothing else", () => {
    const schema = provider.optionsSchema!;
    expect(schema.parse({})).toEqual({});
    expect(schema.parse({ sendEmail: true, redirect_url: "https://app.royalti.io/welcome", message: "Hi" })).toEqual({ sendEmail: true, redirect_url: "https://app.royalti.io/welcome", message: "Hi" });
    expect(schema.safeParse({ sendEmail: "yes" }).success).toBe(false);
    expect(schema.safeParse({ redirect_url: "not a url" }).success).toBe(false);
    expect(schema.safeParse({ redirect_url: "javascript:alert(1)" }).success).toBe(false);
    expect(schema.safeParse({ message: 3 }).success).toBe(false);
    expect(schema.safeParse({ sendemail: false }).success).toBe(false);
  });

  it("checkOptions: no sendEmail choice is an error when sending, a warning in a dry run", () => {
    const text =
      "[royalti] sendEmail must be chosen explicitly: set options.sendEmail in the mapping or pass --send-email / --no-send-email (the vendor mails every user an invite by default)";
    expect(provider.checkOptions!({}, { dryRun: false })).toEqual({ error: text });
    expect(provider.checkOptions!({}, { dryRun: true })).toEqual({ warning: text });
    expect(provider.checkOptions!({ sendEmail: false }, { dryRun: false })).toEqual({});
    expect(provider.checkOptions!({ sendEmail: true, message: "Welcome" }, { dryRun: false })).toEqual({});
    expect(provider.checkOptions!({ sendEmail: false, message: "Welcome" }, { dryRun: false }).warning).toMatch(/no email is sent/);
  });

  it("conflictKey is the name the vendor answers with, in the looser form it is matched by", () => {
    expect(provider.conflictKey!({ firstName: "John", lastName: "Doe" })).toBe("john doe");
    expect(provider.conflictKey!({ firstName: "John ", lastName: "DOE" })).toBe("john doe");
    expect(provider.conflictKey!({ lastName: "Doe" })).toBe("doe");
  });

  it("the batcher never puts two users of one full name in a request", async () => {
    async function* src() {
      for (let i = 0; i < 120; i++) yield i % 3 === 0 ? { firstName: i % 2 ? "John " : "john", lastName: "Doe", email: `j${i}@x.io` } : { firstName: "A", lastName: `B${i}`, email: `a${i}@x.io` };
    }
    let total = 0;
    for await (const b of batches(src(), provider.maxBatch, provider.conflictKey)) {
      const names = b.map((u) => royaltiName(u).trim().toLowerCase());
      expect(new Set(names).size).toBe(names.length);
      expect(b.length).toBeLessThanOrEqual(50);
      total += b.length;
    }
    expect(total).toBe(120);
  });
});

describe("royalti adapter: request shape and auth", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start({ rateLimit: 1000 });
  });

  it("POSTs {users, sendEmail:false} to /user/bulk with Bearer auth; absent fields are left out; no invite is mailed", async () => {
    const batch: MappedUser[] = [
      { firstName: "John", lastName: "Doe", email: "john@example.com", nickName: "JD", userType: "artist", ipi: "00012345678", role: "user", phone: "+14155550100", country: "US" },
      { firstName: "Jane", lastName: "Roe", email: "jane@example.com" },
    ];
    const { req, result } = await send(batch, { ...s.ctx, endpoint: `${s.emu.url}//` });
    expect(req.method).toBe("POST");
    expect(req.url).toBe(`${s.emu.url}${PATH}`);
    expect(req.headers).toEqual({ Authorization: `Bearer ${s.env.ROYALTI_TOKEN}`, "Content-Type": "application/json" });
    expect(JSON.parse(req.body!)).toEqual({ users: batch, sendEmail: false });
    expect(result).toEqual({ kind: "records", results: [{ status: "created" }, { status: "created" }] });
    expect(s.emu.users()).toEqual([
      { ...batch[0], invited: false },
      { ...batch[1], invited: false },
    ]);
  });

  it("sends sendEmail:true with redirect_url and message when chosen; the emulator records the invite", async () => {
    const t = await start({}, { sendEmail: true, redirect_url: "https://app.royalti.io/join", message: "Welcome aboard" });
    const { req, result } = await send(people(1), t.ctx);
    expect(JSON.parse(req.body!)).toMatchObject({ sendEmail: true, redirect_url: "https://app.royalti.io/join", message: "Welcome aboard" });
    expect(result).toEqual({ kind: "records", results: [{ status: "created" }] });
    expect(t.emu.users()).toEqual([expect.objectContaining({ invited: true })]);
  });

  it("without a sendEmail choice the request still says sendEmail:false (never the vendor's default)", async () => {
    const { req } = await send(people(1), { ...s.ctx, options: {} });
    expect(JSON.parse(req.body!).sendEmail).toBe(false);
  });

  it("a wrong token answers 401 → auth; the token never appears in the result", async () => {
    const { result } = await send(people(2), { ...s.ctx, env: { ROYALTI_TOKEN: "RWAKwrong" } });
    expect(result).toEqual({ kind: "auth", code: "HTTP_401", message: "Unauthorized" });
    expect(JSON.stringify(result)).not.toContain(s.env.ROYALTI_TOKEN);
  });

  it("the emulator refuses a tampered, missing or differently presented token", async () => {
    const body = { users: people(1), sendEmail: false };
    const tok = s.env.ROYALTI_TOKEN!;
    const tampered = tok.slice(0, -1) + (tok.endsWith("0") ? "1" : "0");
    for (const auth of [`Bearer ${tampered}`, `bearer ${tok}`, tok, `Bearer  ${tok}`, `Token ${tok}`])
      expect((await raw(s, body, { Authorization: auth })).status).toBe(401);
    const none = await fetch(`${s.emu.url}${PATH}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    expect(none.status).toBe(401);
    const other = await fetch(`${s.emu.url}${PATH}`, { method: "POST", headers: { "x-api-key": tok, "Content-Type": "application/json" }, body: JSON.stringify(body) });
    expect(other.status).toBe(401);
    expect(s.emu.users()).not.toContainEqual(expect.objectContaining({ email: (body.users[0] as { email: string }).email }));
  });

  it("the emulator refuses another method, path or content type", async () => {
    const body = { users: people(1), sendEmail: false };
    expect((await raw(s, undefined, {}, "GET")).status).toBe(404);
    expect((await raw(s, body, {}, "POST", "/users/bulk")).status).toBe(404);
    expect((await raw(s, body, {}, "POST", "/user/bulk/")).status).toBe(404);
    expect((await raw(s, body, { "Content-Type": "text/plain" })).status).toBe(400);
    expect((await raw(s, "{not json", {})).status).toBe(400);
    expect(s.emu.users()).not.toContainEqual(expect.objectContaining({ email: (body.users[0] as { email: string }).email }));
  });

  it.each([
    ["sendEmail missing (the vendor would mail everyone)", (u: MappedUser[]) => ({ users: u })],
    ["sendEmail as text", (u: MappedUser[]) => ({ users: u, sendEmail: "false" })],
    ["an unknown top-level key", (u: MappedUser[]) => ({ users: u, sendEmail: false, notify: true })],
    ["users not an array", (u: MappedUser[]) => ({ users: u[0], sendEmail: false })],
    ["users empty", () => ({ users: [], sendEmail: false })],
    ["an unknown user key", (u: MappedUser[]) => ({ users: [{ ...u[0], name: "x" }], sendEmail: false })],
    ["a user field that is not text", (u: MappedUser[]) => ({ users: [{ ...u[0], phone: 14155550100 }], sendEmail: false })],
    ["redirect_url not a URL", (u: MappedUser[]) => ({ users: u, sendEmail: false, redirect_url: "nope" })],
    ["message not text", (u: MappedUser[]) => ({ users: u, sendEmail: false, message: 1 })],
  ])("the emulator refuses the whole request (400, nothing stored) for %s", async (_label, make) => {
    const u = people(2);
    const res = await raw(s, make(u));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBeTruthy();
    const sent = new Set(u.map((x) => x.email));
    expect(s.emu.users().filter((x) => sent.has(x.email))).toEqual([]);
  });
});

describe("royalti adapter: batch size and whole-request rejections", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start({ rateLimit: 1000 });
  });

  it("50 users in one request are all created", async () => {
    const batch = people(50);
    const { result } = await send(batch, s.ctx);
    expect(result.kind).toBe("records");
    if (result.kind === "records") expect(result.results.every((r) => r.status === "created")).toBe(true);
    expect(s.emu.users()).toHaveLength(50);
  });

  it("51 users are refused whole by the emulator → split; nothing stored", async () => {
    const before = s.emu.users().length;
    const { res, result } = await send(people(51), s.ctx);
    expect(res.status).toBe(400);
    expect(result).toMatchObject({ kind: "split", code: "HTTP_400" });
    expect(s.emu.users()).toHaveLength(before);
  });

  it("two users of one full name are refused whole → split; halves succeed", async () => {
    const before = s.emu.users().length;
    const twins: MappedUser[] = [
      { firstName: "John", lastName: "Doe", email: "john.a@example.com" },
      { firstName: "John", lastName: "Doe", email: "john.b@example.com" },
    ];
    const { res, result } = await send(twins, s.ctx);
    expect(res.status).toBe(400);
    expect(result).toMatchObject({ kind: "split" });
    expect(s.emu.users()).toHaveLength(before);
    for (const one of twins) expect((await send([one], s.ctx)).result).toEqual({ kind: "records", results: [{ status: "created" }] });
  });

  it("a whole-request refusal of one user is that user's failure, with the vendor's message", async () => {
    const one = [{ ...people(1)[0], phone: 14155550100 }] as MappedUser[];
    const { result } = await send(one, s.ctx);
    expect(result).toEqual({ kind: "records", results: [{ status: "failed", code: "HTTP_400", message: `"users[].phone" must be a string` }] });
  });
});

describe("royalti adapter: field rules (declared and enforced)", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start({ rateLimit: 1000 });
  });

  it.each([
    ["firstName", "missing", { firstName: undefined, lastName: "Doe" }, "REQUIRED", "REQUIRED_FIELD", "First name is required for  Doe"],
    ["firstName", "blank", { firstName: "  ", lastName: "Doe" }, "BAD_CHARACTERS", "REQUIRED_FIELD", "First name is required for    Doe"],
    ["lastName", "missing", { firstName: "Jim", lastName: undefined }, "REQUIRED", "REQUIRED_FIELD", "Last name is required for Jim "],
    ["email", "missing", { firstName: "Jim", lastName: "Beam", email: undefined }, "REQUIRED", "REQUIRED_FIELD", "Email is required for Jim Beam"],
    ["email", "malformed", { firstName: "Jacob", lastName: "Doe", email: "jacob.example.com" }, "BAD_FORMAT", "INVALID_EMAIL", "Invalid email format for Jacob Doe"],
    ["email", "with a space", { firstName: "Jake", lastName: "Doe", email: "jake doe@example.com" }, "BAD_FORMAT", "INVALID_EMAIL", "Invalid email format for Jake Doe"],
  ])("%s %s: validation refuses it, and the emulator fails that user alone", async (field, _how, patch, localCode, vendorCode, sentence) => {
    const good = people(2);
    const bad: MappedUser = { email: `x.${field}.${_how.replace(/\W/g, "")}@example.com`, ...patch };
    for (const k of Object.keys(bad)) if (bad[k] === undefined) delete bad[k];
    expect(validateUser(provider, { ...bad }, { sendEmail: false })).toContainEqual(expect.objectContaining({ field, code: localCode }));
    const { res, result } = await send([good[0]!, bad, good[1]!], s.ctx);
    expect(res.status).toBe(201);
    expect((res.json as { errors: string[] }).errors).toEqual([sentence]);
    expect(result).toEqual({ kind: "records", results: [{ status: "created" }, { status: "failed", code: vendorCode, message: sentence }, { status: "created" }] });
  });

  it("a blank name's message reads as a rule", () => {
    const issues = validateUser(provider, { firstName: "  ", lastName: "Doe", email: "b@x.io" }, { sendEmail: false });
    expect(issues.find((i) => i.field === "firstName")?.message).toMatch(/^firstName must hold a character other than a space/);
  });

  it("valid users pass validation", () => {
    for (const u of people(3)) expect(validateUser(provider, u, { sendEmail: false })).toEqual([]);
  });
});

describe("royalti adapter: existing users", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start({ rateLimit: 1000 });
  });

  it("an email already in the workspace (any case) → exists with the vendor's sentence; the rest are created", async () => {
    await send([{ firstName: "Jane", lastName: "Doe", email: "Jane.Doe@Example.com" }], s.ctx);
    const batch: MappedUser[] = [
      { firstName: "John", lastName: "Doe", email: "john.doe@example.com" },
      { firstName: "Janet", lastName: "Doe", email: "jane.doe@example.com" },
    ];
    const { result } = await send(batch, s.ctx);
    expect(result).toEqual({
      kind: "records",
      results: [{ status: "created" }, { status: "exists", code: "ALREADY_ASSOCIATED", message: "User Janet Doe already associated with workspace!" }],
    });
    expect(s.emu.users().filter((u) => String(u.email).toLowerCase() === "jane.doe@example.com")).toHaveLength(1);
  });

  it("resending a batch that landed reports every user exists (safe retry)", async () => {
    const batch = people(3);
    await send(batch, s.ctx);
    const { result } = await send(batch, s.ctx);
    expect(result.kind === "records" && result.results.map((r) => r.status)).toEqual(["exists", "exists", "exists"]);
  });

  it("two emails differing only in case in one request: the second exists", async () => {
    const batch: MappedUser[] = [
      { firstName: "Kim", lastName: "One", email: "kim@example.com" },
      { firstName: "Kim", lastName: "Two", email: "KIM@example.com" },
    ];
    const { result } = await send(batch, s.ctx);
    expect(result.kind === "records" && result.results.map((r) => r.status)).toEqual(["created", "exists"]);
  });

  it("a user the vendor refuses for its own reasons fails with ROYALTI_ERROR; batch-mates are created", async () => {
    const t = await start({ refuseKeys: ["no.entry@example.com"] });
    const batch: MappedUser[] = [...people(1), { firstName: "No", lastName: "Entry", email: "No.Entry@example.com" }];
    const { result } = await send(batch, t.ctx);
    expect(result).toEqual({
      kind: "records",
      results: [{ status: "created" }, { status: "failed", code: "ROYALTI_ERROR", message: "User No Entry could not be added to workspace" }],
    });
  });
});

describe("royalti adapter: reading answers", () => {
  const users: MappedUser[] = [
    { firstName: "John", lastName: "Doe", email: "john@x.io" },
    { firstName: "Jane", lastName: "Doe", email: "jane@x.io" },
    { firstName: "Jacob", lastName: "Doe", email: "jacob@x" },
    { firstName: "Jericho", lastName: "Doe", email: "jericho@x.io" },
    { firstName: "Jake", lastName: "Doe", email: "jake@x" },
    { firstName: "Joe", lastName: "Doe", email: "joe@x.io" },
  ];

  it("maps the vendor's sample answer to rows by name; a user neither created nor named is retried", () => {
    const r = parse(
      fake(201, {
        message: "Done.",
        createdUsers: ["John Doe", "Jericho Doe"],
        processedCount: 5,
        errors: ["User Jane Doe already associated with workspace!", "Invalid email format for Jacob Doe", "Invalid email format for Jake Doe"],
      }),
      users,
    );
    expect(r).toEqual({
      kind: "records",
      results: [
        { status: "created" },
        { status: "exists", code: "ALREADY_ASSOCIATED", message: "User Jane Doe already associated with workspace!" },
        { status: "failed", code: "INVALID_EMAIL", message: "Invalid email format for Jacob Doe" },
        { status: "created" },
        { status: "failed", code: "INVALID_EMAIL", message: "Invalid email format for Jake Doe" },
        { status: "retry", code: "NOT_CONFIRMED", message: 'the answer neither created nor named "Joe Doe"' },
      ],
    });
  });

  it("a name inside a longer name never takes the longer one's sentence", () => {
    const u: MappedUser[] = [
      { firstName: "Ann", lastName: "Lee", email: "a@x.io" },
      { firstName: "Ann", lastName: "Leeds", email: "b@x.io" },
      { firstName: "Mary Ann", lastName: "Lee", email: "c@x.io" },
    ];
    const r = parse(fake(201, { message: "Done.", createdUsers: ["Ann Lee"], processedCount: 3, errors: ["Something went wrong for Ann Leeds", "User Mary Ann Lee already associated with workspace!"] }), u);
    expect(r).toEqual({
      kind: "records",
      results: [
        { status: "created" },
        { status: "failed", code: "ROYALTI_ERROR", message: "Something went wrong for Ann Leeds" },
        { status: "exists", code: "ALREADY_ASSOCIATED", message: "User Mary Ann Lee already associated with workspace!" },
      ],
    });
  });

  it("a name the vendor tidied (spacing, case) still finds its row", () => {
    const u: MappedUser[] = [{ firstName: "John ", lastName: "doe", email: "j@x.io" }];
    expect(parse(fake(201, { message: "Done.", createdUsers: ["John Doe"], processedCount: 1, errors: [] }), u)).toEqual({ kind: "records", results: [{ status: "created" }] });
  });

  it("two names equal but for spacing or case in one request cannot be told apart → each asked alone, never a guess", () => {
    const u: MappedUser[] = [
      { firstName: "John ", lastName: "Doe", email: "1@x.io" },
      { firstName: "John", lastName: "Doe", email: "2@x.io" },
    ];
    const r = parse(fake(201, { message: "Done.", createdUsers: ["John Doe"], processedCount: 2, errors: ["User John Doe already associated with workspace!"] }), u);
    expect(r).toMatchObject({ kind: "split", code: "AMBIGUOUS_NAME" });
  });

  it("a user both created and 'already associated' in one answer is asked about again", () => {
    const u: MappedUser[] = [{ firstName: "Al", lastName: "B", email: "1@x.io" }];
    const r = parse(fake(201, { message: "Done.", createdUsers: ["Al B"], processedCount: 1, errors: ["User Al B already associated with workspace!"] }), u);
    expect(r).toMatchObject({ kind: "records", results: [{ status: "retry", code: "NOT_CONFIRMED" }] });
  });

  it.each([
    [401, { message: "Unauthorized" }, {}, { kind: "auth", code: "HTTP_401" }],
    [403, { message: "Forbidden" }, {}, { kind: "auth", code: "HTTP_403" }],
    [429, { message: "Too Many Requests" }, { "retry-after": "2" }, { kind: "retry", throttled: true, retryAfterMs: 2000 }],
    [429, "Too Many Requests", {}, { kind: "retry", throttled: true, retryAfterMs: undefined }],
    [500, { message: "Internal Server Error" }, {}, { kind: "retry", code: "HTTP_500" }],
    [502, "<html>Bad Gateway</html>", {}, { kind: "retry", code: "HTTP_502" }],
    [404, { message: "Not Found" }, {}, { kind: "endpoint", code: "HTTP_404" }],
    [201, "<html>maintenance</html>", {}, { kind: "retry", code: "HTTP_201" }],
    [201, { message: "Done." }, {}, { kind: "retry", code: "HTTP_201" }],
  ])("HTTP %i %j → %j", (status, body, headers, expected) => {
    expect(parse(fake(status, body, headers), users.slice(0, 2))).toMatchObject(expected);
  });
});

describe("royalti adapter: throttling and server errors", () => {
  it("a sixth request inside one second is throttled (429, Retry-After) → retry throttled", async () => {
    const s = await start();
    const out = await Promise.all(Array.from({ length: 6 }, () => send(people(1), s.ctx)));
    const kinds = out.map((o) => o.result);
    expect(kinds.filter((r) => r.kind === "records")).toHaveLength(5);
    const throttled = kinds.filter((r) => r.kind === "retry");
    expect(throttled).toEqual([{ kind: "retry", code: "HTTP_429", message: "Too Many Requests", throttled: true, retryAfterMs: 1000 }]);
    expect(s.emu.users()).toHaveLength(5);
  });

  it("a server error → retry, nothing stored", async () => {
    const s = await start({ faults: { error: 1 } });
    const { res, result } = await send(people(3), s.ctx);
    expect(res.status).toBe(500);
    expect(result).toEqual({ kind: "retry", code: "HTTP_500", message: "Internal Server Error" });
    expect(s.emu.users()).toHaveLength(0);
  });
});
