import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/core/rate-limiter.js";
import { createSender, MAYBE_CREATED, SENT_BEFORE, type SendItem, type SendOutcome } from "../../src/core/sender.js";
import type { BatchResult, ProviderContext } from "../../src/providers/define.js";
import { idProvider, inGroups, itemsFor } from "./_id-provider.js";

/** A fake vendor: the test decides the answer to each request from the ids it holds. */
let decide: (ids: string[], n: number) => BatchResult = () => ({ kind: "records", results: [] });
let calls: string[][] = [];
/** When each call arrived (performance.now), beside `calls`. */
let times: number[] = [];
/** How long the fake vendor waits before answering. */
let delayMs = 0;
/** Requests the fake vendor holds unanswered now, and the most it held at once. */
let inFlight = 0;
let maxInFlight = 0;
/** Called as each request arrives, before it is answered. */
let onArrival: () => void = () => {};
/** Groups the sender took from its input, and users given an outcome, in the current send(). */
let pulled = 0;
let outcomes = 0;
let server: Server;
let url = "";

const fake = idProvider(() => url);

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const ids = JSON.parse(body) as string[];
      calls.push(ids);
      times.push(performance.now());
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      onArrival();
      const answer = JSON.stringify(decide(ids, calls.length));
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { "content-type": "application/json" }).end(answer);
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function send(
  ids: string[],
  opts: {
    /** Given as undefined: the sender's default. @default 3 */
    retries?: number;
    timeoutMs?: number;
    limiter?: RateLimiter;
    mark?: (item: SendItem) => void;
    concurrency?: number;
    groups?: number;
    stop?: AbortSignal;
    backoffBaseMs?: number;
    /** Called after each onOutcomes. */
    afterOutcomes?: () => void;
  } = {},
) {
  calls = [];
  times = [];
  maxInFlight = 0;
  pulled = 0;
  outcomes = 0;
  const out = new Map<string, SendOutcome>();
  const ctx: ProviderContext = { env: {}, endpoint: url, options: {}, fetch: async () => { throw new Error("unused"); }, addSecret: () => {}, now: Date.now };
  const sender = createSender({
    provider: fake,
    ctx,
    session: {},
    limiter: opts.limiter ?? new RateLimiter({ limit: 1000 }),
    retries: "retries" in opts ? opts.retries : 3,
    timeoutMs: opts.timeoutMs,
    backoffBaseMs: opts.backoffBaseMs ?? 1,
    concurrency: opts.concurrency,
    stop: opts.stop ?? new AbortController().signal,
    abort: new AbortController().signal,
    onOutcomes: (items, outs) => {
      items.forEach((it, i) => {
        expect(out.has(it.key), `${it.key} reported twice`).toBe(false);
        out.set(it.key, outs[i]!);
        outcomes++;
      });
      opts.afterOutcomes?.();
    },
  });
  const items = itemsFor(ids);
  if (opts.mark) items.forEach(opts.mark);
  await sender.run(inGroups(items, opts.groups ?? 1, () => pulled++));
  return { out, stats: sender.stats };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);
const ok = (xs: string[]): BatchResult => ({ kind: "records", results: xs.map(() => ({ status: "created" as const })) });

describe("sender", () => {
  it("never retries a permanent failure", async () => {
    decide = () => ({ kind: "failed", code: "BAD", message: "bad request" });
    const { out } = await send(ids(3));
    expect(calls).toHaveLength(1);
    expect(out.size).toBe(3);
    expect([...out.values()].every((o) => o.status === "failed" && !o.retryable)).toBe(true);
  });

  it("retries transient failures up to the cap, then reports them failed and retryable", async () => {
    decide = () => ({ kind: "retry", code: "503", message: "busy" });
    const { out } = await send(ids(2), { retries: 3 });
    expect(calls).toHaveLength(4);
    expect(out.get("u0")).toMatchObject({ status: "failed", code: "503", retryable: true });
  });

  it("a user refused for the rate counts as throttling: the limiter slows down", async () => {
    decide = (xs, n) => (n === 1 ? { kind: "records", results: xs.map((x) => (x === "u1" ? { status: "retry" as const, code: "660700001", message: "too many", throttled: true } : { status: "created" as const })) } : ok(xs));
    const { out, stats } = await send(ids(3));
    expect(stats.throttled).toBe(1);
    expect(calls).toEqual([["u0", "u1", "u2"], ["u1"]]);
    expect(out.get("u1")?.status).toBe("created");
  });

  it("resends only the records the vendor asked to retry", async () => {
    decide = (xs, n) => (n === 1 ? { kind: "records", results: xs.map((x) => (x === "u1" ? { status: "retry" as const, code: "x", message: "later" } : { status: "created" as const })) } : ok(xs));
    const { out } = await send(ids(4));
    expect(calls).toEqual([["u0", "u1", "u2", "u3"], ["u1"]]);
    expect(out.size).toBe(4);
    expect([...out.values()].every((o) => o.status === "created")).toBe(true);
  });

  it("bisects a whole-request rejection down to each culprit in O(log n) requests", async () => {
    const culprits = new Set(["u2", "u6"]);
    decide = (xs) => {
      const bad = xs.filter((x) => culprits.has(x));
      if (!bad.length) return ok(xs);
      if (xs.length > 1) return { kind: "split", code: "409", message: "conflict" };
      return { kind: "records", results: [{ status: "exists" as const, code: "409", message: "conflict" }] };
    };
    const { out, stats } = await send(ids(8));
    expect(out.get("u2")?.status).toBe("exists");
    expect(out.get("u6")?.status).toBe("exists");
    expect([...out.entries()].filter(([k]) => !culprits.has(k)).every(([, o]) => o.status === "created")).toBe(true);
    expect(out.size).toBe(8);
    // 8 → 4+4 → 2+2+2+2 → singles for the two culprits' pairs: 1 + 2 + 4 + 4 = 11 requests at most.
    expect(calls.length).toBeLessThanOrEqual(1 + 2 * 2 * Math.log2(8));
    expect(stats.splits).toBeGreaterThan(0);
  });

  it("a refused batch holding users an earlier run sent unanswered sends those alone and the rest together", async () => {
    const there = new Set(["u2", "u3"]);
    decide = (xs) => {
      if (xs.length > 1 && xs.some((x) => there.has(x))) return { kind: "split", code: "409", message: "conflict" };
      return { kind: "records", results: xs.map((x) => (there.has(x) ? { status: "exists" as const, code: "409", message: "conflict" } : { status: "created" as const })) };
    };
    const { out } = await send(ids(8), { mark: (i) => void (there.has(i.key) && (i.sentBefore = true)) });
    expect(calls.map((c) => c.join(",")).sort()).toEqual(["u0,u1,u2,u3,u4,u5,u6,u7", "u0,u1,u4,u5,u6,u7", "u2", "u3"].sort());
    expect(out.get("u2")).toMatchObject({ status: "exists", message: expect.stringContaining(SENT_BEFORE) });
    expect(out.get("u5")?.status).toBe("created");
  });

  it("a user given up on after an unanswered attempt is failed with its own attempts, and may have been created", async () => {
    decide = ok;
    delayMs = 300;
    try {
      const { out } = await send(ids(2), { retries: 1, timeoutMs: 60 });
      expect(calls).toHaveLength(2);
      expect(out.get("u0")).toMatchObject({ status: "failed", code: "TIMEOUT", retryable: true });
      expect(out.get("u0")!.status === "failed" && out.get("u0")!.message).toMatch(new RegExp(`^gave up after 2 attempts: .*; ${MAYBE_CREATED}$`));
    } finally {
      delayMs = 0;
    }
  });

  it("a whole-request permanent failure gives every record an outcome", async () => {
    decide = () => ({ kind: "failed", code: "BAD", message: "bad request" });
    const { out } = await send(["a", "b", "c"]);
    expect(out.size).toBe(3);
  });
  it("an answer with fewer results than users sent retries the rest, never drops them", async () => {
    decide = (xs, n) => (n === 1 ? { kind: "records", results: [{ status: "created" as const }] } : ok(xs));
    const { out } = await send(["a", "b", "c"]);
    expect(calls).toEqual([["a", "b", "c"], ["b", "c"]]);
    expect([...out.keys()].sort()).toEqual(["a", "b", "c"]);
    expect([...out.values()].map((o) => o.status)).toEqual(["created", "created", "created"]);
  });
  it("a user refused for the rate slows the limiter down", async () => {
    const limiter = new RateLimiter({ limit: 1000 });
    decide = (xs, n) => (n === 1 ? { kind: "records", results: xs.map((x) => (x === "b" ? { status: "retry" as const, code: "660700001", message: "too many", throttled: true } : { status: "created" as const })) } : ok(xs));
    await send(["a", "b"], { limiter });
    expect(limiter.current).toBeLessThan(1000);
  });
  it("Retry-After is honoured before the resend", async () => {
    decide = (xs, n) => (n === 1 ? { kind: "retry", code: "429", message: "slow", throttled: true, retryAfterMs: 400 } : ok(xs));
    await send(["a"]);
    expect(calls).toHaveLength(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(380);
  });
  it("a token refused again and again stops the run after a few renewals", async () => {
    decide = () => ({ kind: "reauth", code: "401", message: "expired" });
    await expect(send(["a"])).rejects.toMatchObject({ code: "AUTH_REJECTED" });
    expect(calls.length).toBeLessThanOrEqual(3);
  });

  it("stops everything on an authentication failure", async () => {
    decide = () => ({ kind: "auth", code: "401", message: "bad key" });
    await expect(send(ids(3))).rejects.toMatchObject({ code: "AUTH_REJECTED" });
    expect(calls).toHaveLength(1);
  });
});

describe("sender: stops, doubt and concurrency", () => {
  it("the doubtful users of refused batches go singly, within --concurrency across every batch", async () => {
    delayMs = 30;
    try {
      decide = (xs) => (xs.length > 1 ? { kind: "split", code: "409", message: "conflict" } : ok(xs));
      const { out } = await send(ids(16), { concurrency: 2, groups: 2, mark: (i) => (i.sentBefore = true) });
      expect(out.size).toBe(16);
      expect([...out.values()].every((o) => o.status === "created")).toBe(true);
      expect(maxInFlight).toBeLessThanOrEqual(2);
      expect(calls.filter((c) => c.length === 1)).toHaveLength(16);
    } finally {
      delayMs = 0;
    }
  });

  it("a user the resumed run had sent, given up on here after a transient answer, says the vendor may have it", async () => {
    decide = () => ({ kind: "retry", code: "HTTP_503", message: "Service Unavailable" });
    const { out } = await send(["u0", "u1"], { retries: 0, mark: (i) => (i.sentBefore = i.key === "u0") });
    expect(out.get("u0")).toMatchObject({ status: "failed", code: "HTTP_503", message: `gave up after 1 attempts: Service Unavailable; ${MAYBE_CREATED}` });
    expect(out.get("u1")).toMatchObject({ status: "failed", message: "gave up after 1 attempts: Service Unavailable" });
  });

  it("a stop during a backoff gives the users sent so far a STOPPED outcome, not none", async () => {
    // Retry-After holds the next attempt 5 s off: a jittered backoff alone may be under 200 ms.
    decide = () => ({ kind: "retry", code: "HTTP_503", message: "Service Unavailable", retryAfterMs: 5000 });
    const stop = new AbortController();
    const pending = send(ids(3), { retries: 5, backoffBaseMs: 5000, stop: stop.signal });
    setTimeout(() => stop.abort(), 200);
    const { out } = await pending;
    expect(calls).toHaveLength(1);
    expect([...out.keys()].sort()).toEqual(ids(3));
    for (const o of out.values()) expect(o).toMatchObject({ status: "failed", code: "STOPPED", retryable: true, message: "the run stopped before its next attempt (1 made, the last: Service Unavailable)" });
  });

  it("an unsure success (a clash that may be another user's) stays unsure only for a user never sent before", async () => {
    decide = (xs) => ({ kind: "records", results: xs.map(() => ({ status: "exists" as const, code: "409", message: "User already exists", unsure: "it may be another user" })) });
    const { out } = await send(["u0", "u1"], { mark: (i) => (i.sentBefore = i.key === "u0") });
    expect(out.get("u0")).toEqual({ status: "exists", id: undefined, code: "409", message: `User already exists; ${SENT_BEFORE}` });
    expect(out.get("u1")).toEqual({ status: "exists", id: undefined, code: "409", message: "User already exists; it may be another user", unsure: true });
  });
});

const reauth: BatchResult = { kind: "reauth", code: "401", message: "token expired" };
const busy: BatchResult = { kind: "retry", code: "HTTP_503", message: "Service Unavailable" };

describe("sender: retry budget", () => {
  it("retries 5 times by default (README: --retries defaults to 5): 6 attempts, then failed and retryable", async () => {
    decide = () => busy;
    const { out } = await send(["a"], { retries: undefined });
    expect(calls).toHaveLength(6);
    expect(out.get("a")).toMatchObject({ status: "failed", code: "HTTP_503", retryable: true, message: expect.stringContaining("gave up after 6 attempts") });
  });

  it("two token renewals in one batch's life still end in success", async () => {
    decide = (xs, n) => (n <= 2 ? reauth : ok(xs));
    const { out } = await send(["a", "b"]);
    expect(calls).toEqual([["a", "b"], ["a", "b"], ["a", "b"]]);
    expect([...out.values()].map((o) => o.status)).toEqual(["created", "created"]);
  });

  it("a token renewal does not use up a retry", async () => {
    decide = (xs, n) => (n === 1 ? reauth : n === 2 ? busy : ok(xs));
    const { out } = await send(["a"], { retries: 1 });
    expect(calls).toHaveLength(3);
    expect(out.get("a")?.status).toBe("created");
  });
});

describe("sender: backpressure and stops", () => {
  it("pulls no more than about --concurrency groups ahead of those finished", async () => {
    const concurrency = 2;
    // Groups taken from the input and users given an outcome, as each request reaches the vendor.
    const seen: { pulled: number; outcomes: number }[] = [];
    delayMs = 50;
    onArrival = () => seen.push({ pulled, outcomes });
    try {
      decide = ok;
      const { out } = await send(ids(6), { concurrency, groups: 6 });
      expect(out.size).toBe(6);
      expect([...out.values()].every((o) => o.status === "created")).toBe(true);
    } finally {
      delayMs = 0;
      onArrival = () => {};
    }
    expect(seen).toHaveLength(6);
    // The sender waits for a free slot before reading on. Groups hold one user each, so groups
    // finished = outcomes; the code keeps pulled - finished <= concurrency, and one more is slack.
    for (const s of seen) expect(s.pulled - s.outcomes).toBeLessThanOrEqual(concurrency + 1);
  });

  it("a stop gives no outcome to users never sent (they stay for --resume)", async () => {
    // One request per 5 s: the second group waits for a rate slot when the stop comes.
    const limiter = new RateLimiter({ limit: 1, intervalMs: 5000 });
    decide = ok;
    const t0 = performance.now();
    const stop = new AbortController();
    const { out } = await send(ids(4), { limiter, concurrency: 2, groups: 2, stop: stop.signal, afterOutcomes: () => stop.abort() });
    expect(pulled).toBe(2);
    expect(calls).toEqual([["u0", "u1"]]);
    expect([...out.keys()].sort()).toEqual(["u0", "u1"]);
    expect([...out.values()].map((o) => o.status)).toEqual(["created", "created"]);
    // The stop ended the wait for the slot, not the slot itself.
    expect(performance.now() - t0).toBeLessThan(4000);
  });
});

describe("sender: refused batches", () => {
  it("a lone user refused with split fails for good (not retryable)", async () => {
    decide = () => ({ kind: "split", code: "409", message: "conflict" });
    const { out } = await send(["a"]);
    expect(calls).toEqual([["a"]]);
    expect(out.get("a")).toEqual({ status: "failed", code: "409", message: "conflict", retryable: false });
  });

  it("the users of a refused pair, alone after the split, fail for good", async () => {
    decide = () => ({ kind: "split", code: "409", message: "conflict" });
    const { out } = await send(["a", "b"]);
    expect(calls).toEqual([["a", "b"], ["a"], ["b"]]);
    for (const k of ["a", "b"]) expect(out.get(k)).toEqual({ status: "failed", code: "409", message: "conflict", retryable: false });
  });

  it("a refused batch with one user an earlier run sent sends that user alone and the rest together, no halving", async () => {
    decide = (xs) => {
      if (xs.length > 1 && xs.includes("u2")) return { kind: "split", code: "409", message: "conflict" };
      return { kind: "records", results: xs.map((x) => (x === "u2" ? { status: "exists" as const, code: "409", message: "conflict" } : { status: "created" as const })) };
    };
    // One slot: the queued groups run in the order the sender queued them.
    const { out, stats } = await send(ids(8), { concurrency: 1, mark: (i) => void (i.key === "u2" && (i.sentBefore = true)) });
    expect(calls.map((c) => c.join(","))).toEqual(["u0,u1,u2,u3,u4,u5,u6,u7", "u0,u1,u3,u4,u5,u6,u7", "u2"]);
    expect(stats.splits).toBe(1);
    expect(out.size).toBe(8);
    expect(out.get("u2")).toMatchObject({ status: "exists", message: `conflict; ${SENT_BEFORE}` });
    for (const k of ids(8).filter((k) => k !== "u2")) expect(out.get(k)).toEqual({ status: "created", id: undefined, code: undefined, message: undefined });
  });
});
