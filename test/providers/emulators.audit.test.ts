import { afterAll, describe, expect, it } from "vitest";
import { HttpError, httpSend } from "../../src/core/http.js";
import { runImport } from "../../src/core/import.js";
import { BulkUsersError } from "../../src/errors.js";
import { createEmulator, type EmulatorOptions, type EmulatorSpec, type FaultOptions } from "../../src/emulators/_base.js";
import { emulators, type Emulator } from "../../src/emulators/index.js";
import type { ProviderContext, ProviderSession } from "../../src/providers/define.js";
import { loadProvider } from "../../src/providers/index.js";
import type { MappedUser } from "../../src/types.js";
import { csv, readReport, runCli, startEmulator, tmp, write } from "../helpers.js";

/**
 * Audit of the emulators' strictness and fault injection, and of `bulk-users emulate`'s options.
 * Each test pins a rule or a behaviour the emulators must hold so that an adapter bug fails
 * against them (or a documented fault really happens), and that no other test held.
 */

const open: Emulator[] = [];
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});
const dir = tmp("bu-emu-audit-");
let n = 0;

type Kind = "answered" | "error" | "throttle" | "dropped" | "gateway" | "no answer";

/** A vendor that answers 200 to everything, so only the injected faults change the answers. */
async function plainVendor(o: Omit<EmulatorOptions, "env"> = {}) {
  const handled: string[] = [];
  const spec: EmulatorSpec = {
    name: "plain",
    rate: { limit: 100_000, intervalMs: 1000 },
    isLimited: (req) => req.path === "/limited",
    throttled: () => ({ status: 429, body: { throttled: true } }),
    serverError: () => ({ status: 503, body: { error: true } }),
    handle: (req) => {
      handled.push(req.body);
      return { status: 200, body: { ok: true } };
    },
    batchSize: () => 1,
    users: () => handled.map((b) => ({ b })),
  };
  const emu = createEmulator(spec, { env: {}, ...o });
  await emu.listen(0);
  open.push(emu);
  const hit = async (i: number, path = "/limited", timeoutMs = 2000): Promise<Kind> => {
    try {
      const res = await fetch(`${emu.url}${path}`, { method: "POST", body: String(i), signal: AbortSignal.timeout(timeoutMs) });
      await res.text();
      return res.status === 200 ? "answered" : res.status === 503 ? "error" : res.status === 429 ? "throttle" : res.status === 502 ? "gateway" : (`HTTP ${res.status}` as Kind);
    } catch (e) {
      return (e as Error).name === "TimeoutError" ? "no answer" : "dropped";
    }
  };
  return { emu, handled, hit };
}

describe("fault injection (audit)", () => {
  it("each fault kind happens at its rate, one kind a request at most, and only the unfaulted and gateway-faulted are processed", async () => {
    const v = await plainVendor({ faults: { error: 0.1, throttle: 0.15, drop: 0.05, gateway: 0.05 }, seed: 11 });
    const seen: Kind[] = [];
    for (let i = 0; i < 400; i++) seen.push(await v.hit(i));
    const count = (k: Kind) => seen.filter((s) => s === k).length;
    // What the client saw is exactly what the emulator counted.
    expect(v.emu.stats.faults).toEqual({ error: count("error"), throttle: count("throttle"), drop: count("dropped"), gateway: count("gateway"), timeout: 0 });
    expect(count("answered") + count("error") + count("throttle") + count("dropped") + count("gateway")).toBe(400);
    // Rates hold within a wide binomial band (seeded: the same numbers every run).
    expect(count("error")).toBeGreaterThanOrEqual(20);
    expect(count("error")).toBeLessThanOrEqual(60);
    expect(count("throttle")).toBeGreaterThanOrEqual(35);
    expect(count("throttle")).toBeLessThanOrEqual(85);
    expect(count("dropped")).toBeGreaterThanOrEqual(5);
    expect(count("dropped")).toBeLessThanOrEqual(40);
    expect(count("gateway")).toBeGreaterThanOrEqual(5);
    expect(count("gateway")).toBeLessThanOrEqual(40);
    // A 5xx, a throttling answer and a dropped connection all come before processing; a gateway's 502 after it.
    expect(v.handled).toHaveLength(count("answered") + count("gateway"));
    expect(v.emu.stats.requests).toBe(400);
    expect(v.emu.stats.throttled).toBe(0);
  });

  it("the same seed gives the same faults request by request; another seed other ones", async () => {
    const run = async (seed: number) => {
      const v = await plainVendor({ faults: { error: 0.3, throttle: 0.3 }, seed });
      const out: Kind[] = [];
      for (let i = 0; i < 40; i++) out.push(await v.hit(i));
      return out.join(",");
    };
    const a = await run(5);
    expect(await run(5)).toBe(a);
    expect(await run(6)).not.toBe(a);
  });

  it("a timeout fault processes the request and never answers; a drop fault answers nothing and processes nothing", async () => {
    const t = await plainVendor({ faults: { timeout: 1 } });
    expect(await t.hit(1, "/limited", 300)).toBe("no answer");
    expect(t.handled).toEqual(["1"]);
    expect(t.emu.stats.faults.timeout).toBe(1);
    expect(t.emu.stats.batchSizes).toEqual([1]);
    const d = await plainVendor({ faults: { drop: 1 } });
    expect(await d.hit(2)).toBe("dropped");
    expect(d.handled).toEqual([]);
    expect(d.emu.stats.batchSizes).toEqual([]);
  });

  it("a rate of 0 never faults and a rate of 1 always does", async () => {
    const zero = await plainVendor({ faults: { error: 0, timeout: 0, throttle: 0, drop: 0 } });
    for (let i = 0; i < 30; i++) expect(await zero.hit(i)).toBe("answered");
    const one = await plainVendor({ faults: { throttle: 1 } });
    for (let i = 0; i < 30; i++) expect(await one.hit(i)).toBe("throttle");
    expect(one.handled).toEqual([]);
  });
});

interface Case {
  name: string;
  /** The vendor's own limit of users a request (vendor text or providers.md), not the adapter's copy. */
  vendorMax: number;
  user(i: number): MappedUser;
  options?: Record<string, unknown>;
  /** Mapping from the columns of `row`. */
  mapping: Record<string, unknown>;
}
const row = (i: number) => ({ id: `u${i}`, first: "Ada", last: `L${i}`, email: `u${i}@example.com` });
const CASES: Case[] = [
  { name: "zego", vendorMax: 100, user: (i) => ({ UserId: `u${i}` }), mapping: { fields: { UserId: "id" } } },
  { name: "imkit", vendorMax: 99, user: (i) => ({ _id: `u${i}` }), mapping: { fields: { _id: "id" } } },
  { name: "genauth", vendorMax: 50, user: (i) => ({ email: `u${i}@example.com` }), mapping: { fields: { email: "email" } } },
  {
    name: "royalti",
    vendorMax: 50,
    user: (i) => ({ firstName: "Ada", lastName: `L${i}`, email: `u${i}@example.com` }),
    options: { sendEmail: false },
    mapping: { fields: { firstName: "first", lastName: "last", email: "email" }, options: { sendEmail: false } },
  },
  {
    name: "huawei-workspace",
    vendorMax: 200,
    user: (i) => ({ user_name: `u${i}`, user_email: `u${i}@example.com` }),
    mapping: { fields: { user_name: "id", user_email: "email" } },
  },
];
const byName = (name: string) => CASES.find((c) => c.name === name)!;

/** One provider's adapter against a fresh emulator of it, request by request (no sender). */
async function adapterAgainst(c: Case, o: { faults?: FaultOptions; rateLimit?: number; tokenTtlMs?: number; now?: () => number } = {}) {
  const provider = await loadProvider(c.name);
  const def = await emulators[c.name]!();
  const env = def.sandboxEnv();
  const faults: FaultOptions = o.faults ?? {};
  const emu = def.create({ env, faults, rateLimit: o.rateLimit ?? 1000, ...(o.tokenTtlMs ? { tokenTtlMs: o.tokenTtlMs } : {}) } as EmulatorOptions);
  await emu.listen(0);
  open.push(emu);
  const ctx: ProviderContext<any> = {
    env,
    endpoint: emu.url,
    options: c.options ?? {},
    fetch: (r, s) => httpSend(r, { signal: s, timeoutMs: 2000 }),
    addSecret: () => {},
    now: o.now ?? Date.now,
  };
  const session: ProviderSession = provider.createSession?.(ctx) ?? {};
  const send = async (users: MappedUser[]) => {
    const req = await provider.buildRequest(users, ctx, session);
    const res = await httpSend(req, { timeoutMs: 2000 });
    return { req, res, result: provider.parseResponse(res, users, ctx) };
  };
  return { provider, emu, env, ctx, session, faults, send };
}

/** Whether a token is fetched: `get` of the session when it has one. */
const tokenOf = (s: ProviderSession) => (s as { get?: () => Promise<string> }).get?.();

describe.each(CASES)("$name emulator: faults as its adapter reads them (audit)", (c) => {
  it("a throttle fault is the vendor's throttling answer (retried, throttled) and a server error is retried; neither stores a user", async () => {
    const s = await adapterAgainst(c);
    await tokenOf(s.session);
    s.faults.throttle = 1;
    const t = await s.send([c.user(1), c.user(2)]);
    expect(t.result).toMatchObject({ kind: "retry", throttled: true });
    s.faults.throttle = 0;
    s.faults.error = 1;
    // Two in a row: emulators alternate the vendor's own 5xx body and a bare gateway page.
    for (let i = 0; i < 2; i++) {
      const e = await s.send([c.user(1), c.user(2)]);
      expect(e.result.kind).toBe("retry");
      expect((e.result as { throttled?: boolean }).throttled).not.toBe(true);
    }
    expect(s.emu.users()).toHaveLength(0);
    expect(s.emu.stats.batchSizes).toEqual([]);
    s.faults.error = 0;
    expect((await s.send([c.user(1), c.user(2)])).result).toMatchObject({ kind: "records" });
    expect(s.emu.users()).toHaveLength(2);
    expect(s.emu.stats.faults).toMatchObject({ throttle: 1, error: 2 });
  });

  it("a request the vendor refuses whole is not counted as an accepted batch (stats.batchSizes)", async () => {
    const s = await adapterAgainst(c);
    await tokenOf(s.session);
    const users = Array.from({ length: c.vendorMax + 1 }, (_, i) => c.user(i));
    const r = await s.send(users);
    expect(r.result.kind).toBe("split");
    expect(s.emu.users()).toHaveLength(0);
    expect(s.emu.stats.batchSizes).toEqual([]);
    await s.send(users.slice(0, c.vendorMax));
    expect(s.emu.stats.batchSizes).toEqual([c.vendorMax]);
  });

  it("an import sends full batches of the vendor's own size, none refused", async () => {
    const def = await emulators[c.name]!();
    const env = def.sandboxEnv();
    const emu = def.create({ env });
    await emu.listen(0);
    open.push(emu);
    const total = 3 * c.vendorMax;
    const header = Object.keys(row(0));
    const file = write(dir, `full-${++n}.csv`, csv(header, Array.from({ length: total }, (_, i) => Object.values(row(i)))));
    const s = await runImport({ files: [file], provider: c.name, mapping: c.mapping, env, endpoint: emu.url, report: `${dir}/full-${n}.jsonl`, backoffBaseMs: 20 });
    expect(s.exitCode).toBe(0);
    expect(emu.users()).toHaveLength(total);
    // Every request was accepted whole at the vendor's size: no refusal was split, nothing throttled.
    expect(emu.stats.batchSizes).toEqual([c.vendorMax, c.vendorMax, c.vendorMax]);
    expect(emu.stats.requests).toBe(3);
  });
});

describe.each(["huawei-workspace", "genauth"])("%s: the token route gets the injected faults too, outside the rate limit (audit)", (name) => {
  it("a throttled, failed or dropped token call is transient for the adapter (an HttpError), and issues no token", async () => {
    const s = await adapterAgainst(byName(name));
    for (const kind of ["throttle", "error", "drop"] as const) {
      s.faults[kind] = 1;
      const e = await tokenOf(s.session)!.catch((x: unknown) => x);
      expect(e, kind).toBeInstanceOf(HttpError);
      expect(e, kind).not.toBeInstanceOf(BulkUsersError);
      s.faults[kind] = 0;
    }
    expect(s.emu.stats.issued).toHaveLength(0);
    expect(s.emu.stats.faults).toMatchObject({ throttle: 1, error: 1, drop: 1 });
    expect(await tokenOf(s.session)).toBe(s.emu.stats.issued[0]);
    // Token calls are not the vendor's rate-limited batch calls.
    expect(s.emu.stats.requests).toBe(0);
  });

  it("token calls do not count against the batch route's rate limit", async () => {
    const s = await adapterAgainst(byName(name), { rateLimit: 2 });
    const sessions = Array.from({ length: 6 }, () => s.provider.createSession!(s.ctx));
    const tokens = await Promise.all(sessions.map((x) => tokenOf(x)));
    expect(new Set(tokens).size).toBe(6);
    expect(s.emu.stats).toMatchObject({ requests: 0, throttled: 0 });
  });

  it("an import whose first token call is throttled still gets every user in, with one batch request", async () => {
    const def = await emulators[name]!();
    const env = def.sandboxEnv();
    // Seed 8 draws 0.156 first: the first request the emulator sees, the token call, is throttled.
    const emu = def.create({ env, faults: { throttle: 0.2 }, seed: 8 });
    await emu.listen(0);
    open.push(emu);
    const header = Object.keys(row(0));
    const file = write(dir, `tok-${++n}.csv`, csv(header, Array.from({ length: 10 }, (_, i) => Object.values(row(i)))));
    const s = await runImport({ files: [file], provider: name, mapping: byName(name).mapping, env, endpoint: emu.url, report: `${dir}/tok-${n}.jsonl`, backoffBaseMs: 5 });
    expect(s.counts.created).toBe(10);
    expect(emu.stats.faults.throttle).toBe(1);
    expect(emu.stats.issued).toHaveLength(1);
    expect(emu.stats.requests).toBe(1);
  });
});

describe("zego: the adapter's byte limits are the emulator's (audit)", () => {
  it("UserName and UserAvatar count UTF-8 bytes: 64 and 500 bytes are sent and stored, 65 and 501 are invalid before sending", async () => {
    const def = await emulators.zego!();
    const env = def.sandboxEnv();
    const emu = def.create({ env });
    await emu.listen(0);
    open.push(emu);
    const avatar = (extra: string) => `https://example.com/${"é".repeat(240)}${extra}`;
    expect(Buffer.byteLength(avatar(""))).toBe(500);
    const rows = [
      ["n64", "é".repeat(32), ""],
      ["n65", `${"é".repeat(32)}a`, ""],
      ["a500", "A", avatar("")],
      // 261 characters, 501 bytes.
      ["a501", "A", avatar("a")],
    ];
    const file = write(dir, `bytes-${++n}.csv`, csv(["id", "name", "avatar"], rows));
    const s = await runImport({ files: [file], provider: "zego", mapping: { fields: { UserId: "id", UserName: "name", UserAvatar: "avatar" } }, env, endpoint: emu.url, report: `${dir}/bytes-${n}.jsonl` });
    const report = readReport(s.report!).sort((a, b) => a.line - b.line);
    expect(report.map((r) => [r.key, r.status, r.code])).toEqual([
      ["n64", "created", undefined],
      ["n65", "invalid", "660700006"],
      ["a500", "created", undefined],
      ["a501", "invalid", "660700007"],
    ]);
    expect(emu.users().map((u) => u.UserId).sort()).toEqual(["a500", "n64"]);
    expect(emu.stats.requests).toBe(1);
  });
});

describe("bulk-users emulate: number options (audit)", () => {
  // Like import's options: decimal digits only (Number() also reads 0x10, 1e1 and Infinity), and
  // no value that makes the emulator meaningless (a rate limit of 0 refuses every request).
  it.each([
    ["--rate-limit", "0"],
    ["--rate-limit", "0.5"],
    ["--rate-limit", "1.5"],
    ["--rate-limit", "1e1"],
    ["--rate-limit", "0x10"],
    ["--rate-limit", "Infinity"],
    ["--rate-limit", "-1"],
    ["--seed", "1.5"],
    ["--seed", "1e3"],
    ["--seed", "0x10"],
    ["--seed", "-1"],
    ["--seed", "4294967296"],
    ["--latency", "1e3"],
    ["--latency", "0x10"],
    ["--latency", "2.5"],
    ["--latency", "-5"],
    ["--port", "0x50"],
    ["--port", "1e3"],
    ["--fail-rate", "0x1"],
    ["--fail-rate", "1e-1"],
    ["--drop-rate", "Infinity"],
    ["--throttle-rate", "NaN"],
  ])("%s %s is a usage error naming the value", async (flag, value) => {
    const r = await runCli(["emulate", "zego", flag, value]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`got \`${value}\``);
    expect(r.stdout).not.toMatch(/listening/);
  });

  it("fault rates adding up to more than 1 are refused: each is a probability of its own fault", async () => {
    const r = await runCli(["emulate", "zego", "--fail-rate", "0.6", "--drop-rate", "0.5"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/fault rates add up to 1\.1, more than 1/);
    const g = await runCli(["emulate", "zego", "--timeout-rate", "0.5", "--gateway-rate", "0.75"]);
    expect([g.code, g.stderr]).toEqual([2, expect.stringMatching(/fault rates add up to 1\.25, more than 1/)]);
    expect(r.stdout).not.toMatch(/listening/);
  });

  it("takes decimal values: --rate-limit 3, rates adding up to 1, a seed and a latency reach the emulator", async () => {
    const emu = await startEmulator(["zego", "--rate-limit", " 3 ", "--fail-rate", ".5", "--throttle-rate", "0.5", "--seed", "42", "--latency", "5"], { ZEGO_APP_ID: "", ZEGO_SERVER_SECRET: "" });
    try {
      const answers = await Promise.all(Array.from({ length: 5 }, () => fetch(`${emu.url}/?Action=UserRegister`, { method: "POST", body: "{}" }).then((r) => r.text())));
      expect(answers).toHaveLength(5);
      const stats = (await (await fetch(`${emu.url}/_emulator/stats`)).json()) as { requests: number; throttled: number; faults: { error: number; throttle: number; drop: number; timeout: number } };
      // Three admitted by the rate limit, each one faulted (the rates add up to 1); two throttled by it.
      expect(stats.requests).toBe(5);
      expect(stats.throttled).toBe(2);
      expect(stats.faults.error + stats.faults.throttle).toBe(3);
      expect(stats.faults.drop + stats.faults.timeout).toBe(0);
    } finally {
      await emu.stop();
    }
  });

  it("--gateway-rate reaches the emulator: a 502 page in the vendor's place, counted as a gateway fault", async () => {
    const emu = await startEmulator(["zego", "--gateway-rate", "1"], { ZEGO_APP_ID: "", ZEGO_SERVER_SECRET: "" });
    try {
      const res = await fetch(`${emu.url}/?Action=UserRegister`, { method: "POST", body: "{}" });
      expect([res.status, res.headers.get("content-type")]).toEqual([502, "text/html"]);
      expect(await res.text()).toContain("502 Bad Gateway");
      const stats = (await (await fetch(`${emu.url}/_emulator/stats`)).json()) as { faults: Record<string, number> };
      expect(stats.faults).toEqual({ error: 0, timeout: 0, throttle: 0, drop: 0, gateway: 1 });
    } finally {
      await emu.stop();
    }
  });
});

describe("bulk-users emulate: credentials from the environment (audit)", () => {
  it("huawei-workspace takes a given HUAWEI_AUTH_TOKEN set (region, project, token) instead of printing IAM users the import would not use", async () => {
    const given = { HUAWEI_REGION: "ap-southeast-1", HUAWEI_PROJECT_ID: "0bec5db98280d2d02fd6c00c2de791ce", HUAWEI_AUTH_TOKEN: "MIIgiven-token" };
    const emu = await startEmulator(["huawei-workspace"], { ...given, HUAWEI_IAM_USER: "", HUAWEI_IAM_PASSWORD: "", HUAWEI_IAM_DOMAIN: "" });
    try {
      expect(emu.out).not.toMatch(/Throwaway credentials/);
      const f = write(dir, `given-${++n}.csv`, csv(["user_name", "user_email"], [["g1", "g1@example.com"]]));
      const r = await runCli(["import", f, "-p", "huawei-workspace", "--endpoint", emu.url, "--report", `${dir}/given-${n}.jsonl`], { env: given });
      expect([r.code, r.stderr]).toEqual([0, expect.any(String)]);
      expect(readReport(`${dir}/given-${n}.jsonl`).map((x) => x.status)).toEqual(["created"]);
    } finally {
      await emu.stop();
    }
  });
});

describe("zego emulator: the body holds UserInfo only (audit)", () => {
  it("refuses a body parameter other than UserInfo (a public parameter put in the body, a misspelt one), storing none of it", async () => {
    const s = await adapterAgainst(byName("zego"));
    // A request the adapter signed (a fresh nonce each), with another body.
    const post = async (body: unknown) => httpSend({ ...(await s.provider.buildRequest([{ UserId: "a" }], s.ctx, s.session)), body: JSON.stringify(body) }, { timeoutMs: 2000 });
    expect((await post({ UserInfo: [{ UserId: "ok" }] })).json).toMatchObject({ Code: 0 });
    for (const body of [{ UserInfo: [{ UserId: "a" }], AppId: 1 }, { UserInfo: [{ UserId: "a" }], UserIds: ["a"] }]) {
      const res = await post(body);
      expect(res.json, JSON.stringify(body)).toMatchObject({ Code: 660000002 });
    }
    expect(s.emu.users().map((u) => u.UserId)).toEqual(["ok"]);
  });
});

describe("faults as the sender meets them (audit)", () => {
  /** 10 users into a ZEGO emulator whose first request, and only it, gets `kind` (seed 7 draws 0.012, then 0.062). */
  async function firstRequestFaulted(kind: keyof FaultOptions) {
    const def = await emulators.zego!();
    const env = def.sandboxEnv();
    const emu = def.create({ env, faults: { [kind]: 0.05 }, seed: 7 });
    await emu.listen(0);
    open.push(emu);
    const file = write(dir, `first-${++n}.csv`, csv(["id"], Array.from({ length: 10 }, (_, i) => [`f${i}`])));
    const s = await runImport({ files: [file], provider: "zego", mapping: { fields: { UserId: "id" } }, env, endpoint: emu.url, report: `${dir}/first-${n}.jsonl`, timeoutMs: 300, backoffBaseMs: 5 });
    return { emu, s, rows: readReport(s.report!) };
  }

  // A timeout never answers; a gateway answers its own 502 page in the vendor's place. Both after processing.
  it.each(["timeout", "gateway"] as const)("a %s fault created the users although the vendor's answer never came: the retry finds them, reported exists with the lost answer named", async (kind) => {
    const { emu, s, rows } = await firstRequestFaulted(kind);
    expect(emu.stats.faults[kind]).toBe(1);
    expect(emu.stats.requests).toBe(2);
    expect(rows.map((r) => r.status)).toEqual(Array(10).fill("exists"));
    for (const r of rows) expect(r.message).toMatch(/earlier attempt of this run got no answer/);
    expect(emu.users()).toHaveLength(10);
    expect(s.exitCode).toBe(0);
  });

  it("a dropped connection created nothing: the retry creates every user", async () => {
    const { emu, s, rows } = await firstRequestFaulted("drop");
    expect(emu.stats.faults.drop).toBe(1);
    expect(emu.stats.requests).toBe(2);
    expect(rows.map((r) => r.status)).toEqual(Array(10).fill("created"));
    expect(emu.users()).toHaveLength(10);
    expect(s.exitCode).toBe(0);
  });
});
