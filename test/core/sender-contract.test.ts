import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/core/rate-limiter.js";
import { createSender, SENT_BEFORE, type SendItem, type SendOutcome } from "../../src/core/sender.js";
import { defineProvider, type BatchResult, type ProviderContext } from "../../src/providers/define.js";

// What the sender promises through its exported API alone (createSender and its options): the
// default retry budget, token renewals, backpressure, stops, and refused batches. The fake vendor
// is the one of sender.test.ts: the test decides each answer from the ids a request holds.

/** Decides the answer to the n-th request (from 1) from the ids it holds. */
let decide: (ids: string[], n: number) => BatchResult = () => ({ kind: "records", results: [] });
let calls: string[][] = [];
/** Groups the sender took from its input, and users given an outcome, in the current send(). */
let pulled = 0;
let outcomes = 0;
/** How long the fake vendor waits before answering, ms. */
let delayMs = 0;
/** Called as each request arrives, before it is answered. */
let onArrival: () => void = () => {};
let server: Server;
let url = "";

const fake = defineProvider({
  name: "fake",
  title: "fake",
  docs: "",
  key: "id",
  maxBatch: 8,
  rate: { limit: 1000, intervalMs: 1000 },
  fields: { id: { type: "string", required: true, description: "id" } },
  env: [],
  exampleMapping: "",
  defaultEndpoint: () => url,
  buildRequest: (users, ctx) => ({ method: "POST", url: ctx.endpoint, headers: {}, body: JSON.stringify(users.map((u) => u.id)) }),
  parseResponse: (res) => res.json as BatchResult,
});

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const ids = JSON.parse(body) as string[];
      calls.push(ids);
      onArrival();
      const answer = JSON.stringify(decide(ids, calls.length));
      setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end(answer), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

interface SendOpts {
  /** Left out: the sender's default. */
  retries?: number;
  limiter?: RateLimiter;
  concurrency?: number;
  /** Users per group handed to the sender. @default all in one */
  groupSize?: number;
  mark?: (item: SendItem) => void;
  /** Called with the stop controller after each onOutcomes. */
  afterOutcomes?: (stop: AbortController) => void;
}

/** Sends `ids` through a fresh sender. */
async function send(ids: string[], opts: SendOpts = {}) {
  calls = [];
  pulled = 0;
  outcomes = 0;
  const out = new Map<string, SendOutcome>();
  const stop = new AbortController();
  const ctx: ProviderContext = { env: {}, endpoint: url, options: {}, fetch: async () => { throw new Error("unused"); }, addSecret: () => {}, now: Date.now };
  const sender = createSender({
    provider: fake,
    ctx,
    session: {},
    limiter: opts.limiter ?? new RateLimiter({ limit: 1000 }),
    ...(opts.retries === undefined ? {} : { retries: opts.retries }),
    backoffBaseMs: 1,
    concurrency: opts.concurrency,
    stop: stop.signal,
    abort: new AbortController().signal,
    onOutcomes: (items, outs) => {
      items.forEach((it, i) => {
        expect(out.has(it.key), `${it.key} reported twice`).toBe(false);
        out.set(it.key, outs[i]!);
        outcomes++;
      });
      opts.afterOutcomes?.(stop);
    },
  });
  const items: SendItem[] = ids.map((id, line) => ({ record: { file: "f", fileIndex: 0, line, data: {} }, user: { id }, key: id, attempts: 0 }));
  if (opts.mark) items.forEach(opts.mark);
  const size = opts.groupSize ?? items.length;
  async function* groups() {
    for (let i = 0; i < items.length; i += size) {
      pulled++;
      yield items.slice(i, i + size);
    }
  }
  await sender.run(groups());
  return { out, stats: sender.stats };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);
const ok = (xs: string[]): BatchResult => ({ kind: "records", results: xs.map(() => ({ status: "created" as const })) });
const reauth: BatchResult = { kind: "reauth", code: "401", message: "token expired" };
const busy: BatchResult = { kind: "retry", code: "HTTP_503", message: "Service Unavailable" };

describe("sender: retry budget", () => {
  it("retries 5 times by default (README: --retries defaults to 5): 6 attempts, then failed and retryable", async () => {
    decide = () => busy;
    const { out } = await send(["a"]);
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
      const { out } = await send(ids(6), { concurrency, groupSize: 1 });
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
    const { out } = await send(ids(4), { limiter, concurrency: 2, groupSize: 2, afterOutcomes: (stop) => stop.abort() });
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
