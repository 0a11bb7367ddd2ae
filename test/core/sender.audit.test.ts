import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { BulkUsersError, ErrorCode } from "../../src/errors.js";
import { HttpError, httpSend } from "../../src/core/http.js";
import { MAX_TIMER_MS, RateLimiter, sleep } from "../../src/core/rate-limiter.js";
import { retryAfterMs } from "../../src/core/retry.js";
import { createSender, LOST_ANSWER, MAYBE_CREATED, type SendItem, type SendOutcome } from "../../src/core/sender.js";
import type { BatchResult, HttpRequest, ProviderContext, ProviderSession, Provider } from "../../src/providers/define.js";
import { idProvider, inGroups, itemsFor } from "./_id-provider.js";

// Tests written against mutants of src/core/sender.ts that the earlier tests left alive.

/** A fake vendor: the test decides each answer from the ids; "hang" never answers. */
let decide: (ids: string[], n: number) => BatchResult | "hang" = () => ({ kind: "records", results: [] });
let calls: string[][] = [];
/** The HTTP status of answer `n` (the body is still the decided result). */
let statusOf: (n: number) => number = () => 200;
/** While true, answers wait in `held` until the test lets them go. */
let hold = false;
let held: (() => void)[] = [];
let inFlight = 0;
let maxInFlight = 0;
let onArrival: (ids: string[]) => void = () => {};
let pulled = 0;
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
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      const answer = decide(ids, calls.length);
      onArrival(ids);
      if (answer === "hang") return;
      const reply = () => {
        inFlight--;
        res.writeHead(statusOf(calls.length), { "content-type": "application/json" }).end(JSON.stringify(answer));
      };
      if (hold) held.push(reply);
      else reply();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});
afterEach(() => {
  hold = false;
  for (const r of held.splice(0)) r();
  onArrival = () => {};
  statusOf = () => 200;
  inFlight = 0;
  vi.restoreAllMocks();
});

/** Lets the event loop turn until `cond` holds (bounded by the test's own timeout). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}
const release = () => {
  for (const r of held.splice(0)) r();
};

async function send(
  ids: string[],
  opts: {
    retries?: number;
    timeoutMs?: number;
    limiter?: RateLimiter;
    mark?: (item: SendItem) => void;
    concurrency?: number;
    groups?: number;
    stop?: AbortController;
    abort?: AbortController;
    backoffBaseMs?: number;
    provider?: Provider;
    session?: ProviderSession;
    endpoint?: string;
    onAttempt?: (items: SendItem[]) => void;
    onRequest?: (e: { size: number; attempt: number; result: string; throttled: boolean }) => void;
    afterOutcomes?: () => void;
  } = {},
) {
  calls = [];
  maxInFlight = 0;
  pulled = 0;
  const out = new Map<string, SendOutcome>();
  const ctx: ProviderContext = { env: {}, endpoint: opts.endpoint ?? url, options: {}, fetch: async () => { throw new Error("unused"); }, addSecret: () => {}, now: Date.now };
  const sender = createSender({
    provider: opts.provider ?? fake,
    ctx,
    session: opts.session ?? {},
    limiter: opts.limiter ?? new RateLimiter({ limit: 1000 }),
    retries: "retries" in opts ? opts.retries : 3,
    timeoutMs: opts.timeoutMs,
    backoffBaseMs: opts.backoffBaseMs ?? 1,
    concurrency: "concurrency" in opts ? opts.concurrency : 4,
    stop: (opts.stop ?? new AbortController()).signal,
    abort: (opts.abort ?? new AbortController()).signal,
    onAttempt: opts.onAttempt,
    onRequest: opts.onRequest,
    onOutcomes: (items, outs) => {
      items.forEach((it, i) => {
        expect(out.has(it.key), `${it.key} reported twice`).toBe(false);
        out.set(it.key, outs[i]!);
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
const busy: BatchResult = { kind: "retry", code: "HTTP_503", message: "Service Unavailable" };
const reauth: BatchResult = { kind: "reauth", code: "401", message: "token expired" };

describe("sender audit: concurrency and backpressure", () => {
  it("keeps 4 requests in flight by default (README: --concurrency default 4)", { timeout: 10_000 }, async () => {
    hold = true;
    // Answers go out only once 4 requests are held: with fewer in flight the run would never end.
    onArrival = () => void (inFlight >= 4 && setImmediate(release));
    decide = ok;
    const { out } = await send(ids(8), { groups: 8, concurrency: undefined });
    expect(out.size).toBe(8);
    expect(maxInFlight).toBe(4);
  });

  it("reads no batch beyond --concurrency while every slot waits for its answer", async () => {
    hold = true;
    decide = ok;
    const run = send(ids(6), { groups: 6, concurrency: 2 });
    await until(() => inFlight === 2);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(pulled).toBe(2);
    hold = false;
    release();
    const { out } = await run;
    expect(out.size).toBe(6);
  });

  it("a stop stops reading: no further batch is taken from the input", async () => {
    decide = ok;
    const stop = new AbortController();
    const { out } = await send(ids(6), { groups: 6, concurrency: 1, stop, afterOutcomes: () => stop.abort() });
    expect(calls).toEqual([["u0"]]);
    expect(pulled).toBeLessThanOrEqual(2);
    expect([...out.keys()]).toEqual(["u0"]);
  });
});

describe("sender audit: accounting", () => {
  it("counts requests and retries: a transient answer then success is 2 requests, 1 retry, 0 throttled", async () => {
    decide = (xs, n) => (n === 1 ? busy : ok(xs));
    const limiter = new RateLimiter({ limit: 1000 });
    const events: { attempt: number; result: string; throttled: boolean; size: number }[] = [];
    const { out, stats } = await send(["a", "b"], { limiter, onRequest: (e) => events.push(e) });
    expect(out.get("a")?.status).toBe("created");
    expect(stats).toEqual({ requests: 2, retries: 1, throttled: 0, splits: 0 });
    expect(limiter.current).toBe(1000);
    expect(events).toEqual([
      { size: 2, attempt: 1, result: "retry", throttled: false },
      { size: 2, attempt: 2, result: "records", throttled: false },
    ]);
  });

  it("a token renewal is no retry: it neither counts as one nor waits out a backoff", async () => {
    decide = (xs, n) => (n === 1 ? reauth : ok(xs));
    const { out, stats } = await send(["a"]);
    expect(out.get("a")?.status).toBe("created");
    expect(stats).toMatchObject({ requests: 2, retries: 0 });
  });

  it("a user the vendor asks to retry, not for the rate, does not slow the limiter", async () => {
    decide = (xs, n) => (n === 1 ? { kind: "records", results: xs.map((x) => (x === "b" ? { status: "retry" as const, code: "x", message: "later" } : { status: "created" as const })) } : ok(xs));
    const limiter = new RateLimiter({ limit: 1000 });
    const { stats } = await send(["a", "b"], { limiter });
    expect(stats.throttled).toBe(0);
    expect(limiter.current).toBe(1000);
  });

  it("a user the vendor refuses for good is failed and not retryable", async () => {
    decide = (xs) => ({ kind: "records", results: xs.map((x) => (x === "b" ? { status: "failed" as const, code: "BAD_NAME", message: "bad name" } : { status: "created" as const })) });
    const { out } = await send(["a", "b"]);
    expect(calls).toHaveLength(1);
    expect(out.get("b")).toEqual({ status: "failed", code: "BAD_NAME", message: "bad name", retryable: false });
  });

  it("a user's 'gave up after N attempts' counts the attempts made before the split too", async () => {
    decide = (xs, n) => (n === 1 ? { kind: "split", code: "409", message: "conflict" } : busy);
    const { out } = await send(["a", "b"], { retries: 1 });
    // 1 request of the pair, then 2 of each user alone.
    expect(calls).toHaveLength(5);
    expect(out.get("a")).toMatchObject({ status: "failed", code: "HTTP_503", retryable: true, message: "gave up after 3 attempts: Service Unavailable" });
  });
});

describe("sender audit: backoff", () => {
  it("waits the jittered backoff of each attempt (base·2^(attempt-1)), or Retry-After when longer", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const spy = vi.spyOn(globalThis, "setTimeout");
    decide = (xs, n) => (n === 1 ? busy : n === 2 ? { ...busy, retryAfterMs: 3 } : n === 3 ? { ...busy, retryAfterMs: 90 } : ok(xs));
    const { out } = await send(["a"], { backoffBaseMs: 40, timeoutMs: 54_321 });
    expect(out.get("a")?.status).toBe("created");
    // The waits: 0.5·40, then max(0.5·80, 3), then max(0.5·160, 90); 54321 is each request's timeout.
    const waits = spy.mock.calls.map((c) => c[1]).filter((ms) => ms !== 54_321);
    expect(waits).toEqual([20, 40, 90]);
  });
});

describe("sender audit: answers that never came", () => {
  it("a connection refused never reached the vendor: its users are failed without the may-have-created doubt", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { out } = await send(["a"], { retries: 0, endpoint: `http://127.0.0.1:${port}/` });
    expect(out.get("a")).toMatchObject({ status: "failed", code: "NETWORK", retryable: true });
    expect((out.get("a") as { message: string }).message).not.toContain(MAYBE_CREATED);
  });

  it("a gateway's 502 or 504 leaves its users in doubt, as no answer would; a 500 or 503 does not", async () => {
    for (const status of [502, 504, 500, 503]) {
      calls = [];
      statusOf = (n) => (n === 1 ? status : 200);
      decide = (xs, n) => (n === 1 ? { kind: "retry", code: `HTTP_${status}`, message: "upstream" } : { kind: "records", results: xs.map(() => ({ status: "exists" as const, code: "409", message: "taken" })) });
      const { out } = await send(["a"], { retries: 1 });
      expect(calls, String(status)).toHaveLength(2);
      expect(out.get("a"), String(status)).toEqual({ status: "exists", id: undefined, code: "409", message: status === 502 || status === 504 ? `taken; ${LOST_ANSWER}` : "taken" });
    }
  });

  it("a user whose first attempt timed out and who is then found is `exists` with the lost-answer note", async () => {
    decide = (xs, n) => (n === 1 ? "hang" : { kind: "records", results: xs.map(() => ({ status: "exists" as const, code: "409", message: "taken" })) });
    const { out } = await send(["a", "b"], { timeoutMs: 50, mark: (i) => (i.sentBefore = i.key === "b") });
    // This run's own lost answer is the likelier cause, also for a user the resumed run had sent.
    expect(out.get("a")).toEqual({ status: "exists", id: undefined, code: "409", message: `taken; ${LOST_ANSWER}` });
    expect(out.get("b")).toEqual({ status: "exists", id: undefined, code: "409", message: `taken; ${LOST_ANSWER}` });
  });

  it("a hard stop cancels the request in flight: CANCELLED, retryable, maybe created", async () => {
    decide = () => "hang";
    const abort = new AbortController();
    onArrival = () => abort.abort();
    const { out } = await send(["a", "b"], { abort, timeoutMs: 20_000 });
    expect(calls).toHaveLength(1);
    for (const k of ["a", "b"]) expect(out.get(k)).toEqual({ status: "failed", code: "CANCELLED", message: `the run stopped with this request in flight; ${MAYBE_CREATED}`, retryable: true });
  });

  it("a graceful stop lets the request in flight finish and reports its answer", async () => {
    hold = true;
    decide = ok;
    const stop = new AbortController();
    onArrival = () => {
      stop.abort();
      setImmediate(release);
    };
    const { out } = await send(["a"], { stop });
    expect(out.get("a")?.status).toBe("created");
  });
});

describe("sender audit: stops around a token renewal", () => {
  it("a stop during a renewal answer: the users sent get STOPPED with the last transient answer, not no outcome", async () => {
    const stop = new AbortController();
    decide = (xs, n) => (n === 1 ? busy : reauth);
    onArrival = () => void (calls.length === 2 && stop.abort());
    const { out } = await send(["a"], { stop });
    expect(calls).toHaveLength(2);
    expect(out.get("a")).toEqual({ status: "failed", code: "STOPPED", retryable: true, message: "the run stopped before its next attempt (2 made, the last: Service Unavailable)" });
  });

  it("the session is told which token the vendor refused", async () => {
    const invalidated: (string | undefined)[] = [];
    let n = 0;
    const provider: Provider = { ...fake, buildRequest: (users, ctx) => ({ ...(fake.buildRequest(users, ctx, {}) as HttpRequest), authToken: `tok${++n}` }) };
    decide = (xs, k) => (k === 1 ? reauth : ok(xs));
    const { out } = await send(["a"], { provider, session: { invalidate: (t) => void invalidated.push(t) } });
    expect(out.get("a")?.status).toBe("created");
    expect(invalidated).toEqual(["tok1"]);
  });
});

describe("sender audit: requests that cannot be built", () => {
  it("a token that cannot be fetched (HttpError) is retried; every try failing is 'never sent'", async () => {
    const provider: Provider = {
      ...fake,
      buildRequest: () => {
        throw new HttpError({ method: "POST", url }, "timeout", "no answer");
      },
    };
    const { out, stats } = await send(["a"], { provider, retries: 1 });
    expect(calls).toHaveLength(0);
    expect(stats.requests).toBe(0);
    expect(out.get("a")).toMatchObject({ status: "failed", code: "TOKEN_TIMEOUT", retryable: true, message: expect.stringMatching(/^never sent: 2 tries to prepare the request failed: /) });
  });

  it("a token that could not be fetched once does not use up the retry of the request: a throttled send is still retried", async () => {
    let builds = 0;
    const provider: Provider = {
      ...fake,
      buildRequest: (users, ctx) => {
        if (++builds === 1) throw new HttpError({ method: "POST", url }, "status", "token service busy");
        return fake.buildRequest(users, ctx, {});
      },
    };
    decide = (xs, n) => (n === 1 ? { kind: "retry", code: "429", message: "slow down", throttled: true } : ok(xs));
    const { out } = await send(["a"], { provider, retries: 1 });
    expect(calls).toHaveLength(2);
    expect(out.get("a")?.status).toBe("created");
  });

  it("a run-level error while stopping is still thrown, not taken for the stop", async () => {
    const stop = new AbortController();
    const provider: Provider = {
      ...fake,
      buildRequest: () => {
        stop.abort();
        throw new BulkUsersError(ErrorCode.AUTH_REJECTED, "no credentials");
      },
    };
    await expect(send(["a"], { provider, stop })).rejects.toMatchObject({ code: ErrorCode.AUTH_REJECTED });
  });

  it("the journal hook sees each request's users before the vendor does", async () => {
    const journal: string[] = [];
    let seenAtArrival: string[] = [];
    onArrival = () => (seenAtArrival = [...journal]);
    decide = ok;
    await send(["a", "b"], { onAttempt: (items) => journal.push(...items.map((i) => i.key)) });
    expect(seenAtArrival).toEqual(["a", "b"]);
  });
});

describe("sender audit: refused batches", () => {
  it("halves a refused batch (O(log n)), it does not fall back to one request a user", async () => {
    decide = (xs) => {
      if (xs.includes("u5") && xs.length > 1) return { kind: "split", code: "409", message: "conflict" };
      return { kind: "records", results: xs.map((x) => (x === "u5" ? { status: "failed" as const, code: "409", message: "conflict" } : { status: "created" as const })) };
    };
    const { out, stats } = await send(ids(8), { concurrency: 1 });
    expect(calls.map((c) => c.join(","))).toEqual(["u0,u1,u2,u3,u4,u5,u6,u7", "u0,u1,u2,u3", "u4,u5,u6,u7", "u4,u5", "u4", "u5", "u6,u7"]);
    expect(stats.splits).toBe(3);
    expect(out.size).toBe(8);
  });

  it("a refused batch whose users this run sent unanswered sends each alone, no halving", async () => {
    decide = (xs, n) => {
      if (n === 1) return "hang";
      if (xs.length > 1) return { kind: "split", code: "409", message: "conflict" };
      return { kind: "records", results: xs.map(() => ({ status: "exists" as const })) };
    };
    const { out } = await send(ids(4), { timeoutMs: 50, concurrency: 1 });
    expect(calls.map((c) => c.join(","))).toEqual(["u0,u1,u2,u3", "u0,u1,u2,u3", "u0", "u1", "u2", "u3"]);
    for (const k of ids(4)) expect(out.get(k)).toMatchObject({ status: "exists", message: LOST_ANSWER });
  });
});

describe("retry audit: Retry-After", () => {
  const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
  it.each([
    [" 3 ", 3000],
    ["Wed, 21 Oct 2015 07:27:00 GMT", 0],
    ["3abc", undefined],
    ["3 s", undefined],
  ])("Retry-After %j → %s ms (a date gone by is no wait; seconds with text after them are unreadable)", (v, ms) => {
    expect(retryAfterMs(v, now)).toBe(ms);
  });
});

describe("http audit: timers, listeners and sockets", () => {
  let hangServer: Server;
  let base = "";
  /** Server-side sockets of /hang requests, and whether each has closed. */
  const hung: { closed: boolean }[] = [];
  beforeAll(async () => {
    hangServer = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url === "/hang") {
          const h = { closed: false };
          hung.push(h);
          req.socket.on("close", () => (h.closed = true));
        } else res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => hangServer.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(hangServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    hangServer.closeAllConnections();
    await new Promise<void>((r) => hangServer.close(() => r()));
  });
  const post = (path: string): HttpRequest => ({ method: "POST", url: `${base}${path}`, headers: {}, body: "{}" });

  it("an answered exchange clears its timeout (30000 ms by default) and stops listening on the signal", async () => {
    const set = vi.spyOn(globalThis, "setTimeout");
    const clear = vi.spyOn(globalThis, "clearTimeout");
    const ctl = new AbortController();
    await httpSend(post("/ok"), { signal: ctl.signal });
    const i = set.mock.calls.findIndex((c) => c[1] === 30_000);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(clear.mock.calls.map((c) => c[0])).toContain(set.mock.results[i]!.value);
    expect(getEventListeners(ctl.signal, "abort")).toHaveLength(0);
  });

  it("a timed-out request is torn down: the vendor sees its connection close", { timeout: 10_000 }, async () => {
    const before = hung.length;
    const err = await httpSend(post("/hang"), { timeoutMs: 50 }).catch((e: unknown) => e);
    expect((err as HttpError).reason).toBe("timeout");
    await until(() => hung.length > before && hung[before]!.closed);
  });

  it("a protocol other than http(s) is a network error before anything is sent", async () => {
    const err = await httpSend({ method: "POST", url: "ftp://127.0.0.1/x", headers: {}, body: "{}" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).reason).toBe("network");
  });
});

describe("rate limiter audit (pinned clock)", () => {
  it.each([
    [5, 2],
    [1, 1],
  ])("a throttling answer halves a limit of %i to %i (rounded down, never below 1)", (limit, halved) => {
    const l = new RateLimiter({ limit, now: () => 0 });
    l.throttled();
    expect(l.current).toBe(halved);
  });

  it("throttling answers half a window apart are two signals; closer ones are one", () => {
    let now = 0;
    // Window: 1000 + 10 ms margin; half of it 505 ms.
    const l = new RateLimiter({ limit: 40, now: () => now });
    l.throttled();
    now = 504;
    l.throttled();
    expect(l.current).toBe(20);
    now = 505; // half a window after the decrease at 0
    l.throttled();
    expect(l.current).toBe(10);
  });

  it("climbs back by a tenth of the limit (rounded up) once a full window has passed, never past the limit", async () => {
    let now = 0;
    const l = new RateLimiter({ limit: 17, now: () => now });
    l.throttled();
    expect(l.current).toBe(8);
    now = 1009;
    (await l.acquire())();
    expect(l.current).toBe(8);
    const seen: number[] = [];
    for (let k = 1; k <= 5; k++) {
      now = 1010 * k; // exactly one window after the last change
      (await l.acquire())();
      seen.push(l.current);
      now += 1;
      (await l.acquire())(); // the next step is a window after this one, not after the decrease
      seen.push(l.current);
    }
    expect(seen).toEqual([10, 10, 12, 12, 14, 14, 16, 16, 17, 17]);
  });

  it("a request may start exactly one window after the last one's answer", async () => {
    let now = 0;
    const l = new RateLimiter({ limit: 1, now: () => now });
    (await l.acquire())();
    now = 1010;
    const next = l.acquire().then(() => "started");
    const tick = new Promise((r) => setTimeout(() => r("waiting"), 50));
    expect(await Promise.race([next, tick])).toBe("started");
  });

  it("an answer from the first window is trusted no earlier than it was sent", { timeout: 10_000 }, async () => {
    let now = 0;
    const l = new RateLimiter({ limit: 2, now: () => now });
    (await l.acquire())(); // A: sent and answered at 0
    now = 500;
    const s = await l.acquire(); // S: sent at 500, answered at 550 (first window: its round trip is not trusted)
    now = 550;
    s();
    now = 1010;
    const x = await l.acquire(); // X: a window after the first start, so its 200 ms round trip is trusted
    now = 1210;
    x();
    // S reached the vendor by max(500, 550 - 200) = 500: D may start at 1510, not at 1360.
    now = 1400;
    const d = l.acquire().then(() => "started");
    const tick = new Promise((r) => setTimeout(() => r("waiting"), 50));
    expect(await Promise.race([d, tick])).toBe("waiting");
    now = 1510;
    expect(await d).toBe("started");
  });

  it("a slot taken again forgets its previous answer", async () => {
    let now = 0;
    const l = new RateLimiter({ limit: 1, now: () => now });
    (await l.acquire())(); // answered at 0
    now = 1010;
    await l.acquire(); // in flight
    now = 2019;
    const ctl = new AbortController();
    const next = l.acquire(ctl.signal).then(() => "started", () => "aborted");
    const tick = new Promise((r) => setTimeout(() => r("waiting"), 50));
    expect(await Promise.race([next, tick])).toBe("waiting");
    ctl.abort();
    expect(await next).toBe("aborted");
  });

  it("a stale or repeated release does not move the arrival of the request now in the slot", async () => {
    let now = 0;
    const l = new RateLimiter({ limit: 1, now: () => now });
    const a = await l.acquire();
    now = 500;
    a(); // A answered at 500 (first window: its answer time is its arrival)
    now = 1510;
    const b = await l.acquire(); // B takes the only slot a window later
    now = 1600;
    b(); // B: a 90 ms round trip, the fastest trusted one (it started a window after the first)
    now = 1700;
    a(); // A's release again, for a slot B took over
    now = 1800;
    b(); // and B's, twice
    // B reached the vendor by max(1510, 1600 - 90) = 1510: C may start at 2520.
    now = 2520;
    const next = l.acquire().then(() => "started");
    const tick = new Promise((r) => setTimeout(() => r("waiting"), 50));
    expect(await Promise.race([next, tick])).toBe("started");
  });
});

describe("sender audit: a Retry-After longer than one timer (24.8 days)", () => {
  it("a Retry-After of 30 days is honoured: no resend until then (here: until the run is stopped)", { timeout: 10_000 }, async () => {
    // A single setTimeout fires after 1 ms for any delay over 2^31 - 1 ms: the vendor's wait
    // would be ignored and the retries spent at once.
    decide = () => ({ kind: "retry", code: "429", message: "quota used up", throttled: true, retryAfterMs: 30 * 86_400_000 });
    const stop = new AbortController();
    // The stop comes well after the first answer: a resend honouring the answer would not come by then.
    onArrival = () => void (calls.length === 1 && setTimeout(() => stop.abort(), 300));
    try {
      const { out } = await send(["a"], { retries: 2, stop });
      expect(calls).toHaveLength(1);
      expect(out.get("a")).toMatchObject({ status: "failed", code: "STOPPED" });
    } finally {
      decide = () => ({ kind: "records", results: [] });
    }
  });

  it("sleep waits the whole time in steps, and a stop still ends it", async () => {
    vi.useFakeTimers();
    try {
      let done = false;
      const p = sleep(MAX_TIMER_MS + 5_000).then(() => (done = true));
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(5_000);
      await p;
      expect(done).toBe(true);
      const ctl = new AbortController();
      const q = sleep(MAX_TIMER_MS * 2, ctl.signal);
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1);
      ctl.abort(new Error("stopped"));
      await expect(q).rejects.toThrow("stopped");
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("sleep audit: timers and listeners", () => {
  it("an aborted sleep clears its timer; a finished one stops listening", async () => {
    vi.useFakeTimers();
    try {
      const ctl = new AbortController();
      const p = sleep(60_000, ctl.signal);
      expect(vi.getTimerCount()).toBe(1);
      ctl.abort(new Error("stop"));
      await expect(p).rejects.toThrow("stop");
      expect(vi.getTimerCount()).toBe(0);
      const ctl2 = new AbortController();
      const q = sleep(10, ctl2.signal);
      await vi.advanceTimersByTimeAsync(10);
      await q;
      expect(getEventListeners(ctl2.signal, "abort")).toHaveLength(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a sleep given a signal already aborted rejects at once and sets no timer", async () => {
    vi.useFakeTimers();
    try {
      const reason = new Error("already");
      const p = sleep(60_000, AbortSignal.abort(reason));
      expect(vi.getTimerCount()).toBe(0);
      await expect(p).rejects.toBe(reason);
    } finally {
      vi.useRealTimers();
    }
  });
});
