import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_TIMER_MS, RateLimiter, sleep } from "../../src/core/rate-limiter.js";
import { createSender, type SendItem, type SendOutcome } from "../../src/core/sender.js";
import { defineProvider, type BatchResult, type ProviderContext } from "../../src/providers/define.js";

// A wait past what one Node timer takes (24.8 days) is still waited, not fired at once.

/** A fake vendor answering every request with `answer`; `arrived` is called as each comes in. */
let answer: BatchResult = { kind: "records", results: [] };
let arrived: () => void = () => {};
let calls = 0;
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
    req.resume();
    req.on("end", () => {
      calls++;
      arrived();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("a Retry-After longer than a timer", () => {
  it("a Retry-After of 30 days is honoured: no resend until then (here: until the run is stopped)", { timeout: 10_000 }, async () => {
    // README, Failures and resume: "Retries use exponential backoff with full jitter, honour
    // `Retry-After`, and stop after `--retries`". sender.ts sleeps max(backoff, Retry-After) with
    // setTimeout, which fires after 1 ms for any delay over 2^31 - 1 ms (24.8 days): the vendor's
    // wait is ignored and the retries are spent at once.
    answer = { kind: "retry", code: "429", message: "quota used up", throttled: true, retryAfterMs: 30 * 86_400_000 };
    calls = 0;
    const stop = new AbortController();
    // The stop comes well after the first answer: a resend honouring the answer would not come by then.
    arrived = () => void (calls === 1 && setTimeout(() => stop.abort(), 300));
    const out = new Map<string, SendOutcome>();
    const ctx: ProviderContext = { env: {}, endpoint: url, options: {}, fetch: async () => { throw new Error("unused"); }, addSecret: () => {}, now: Date.now };
    const sender = createSender({
      provider: fake,
      ctx,
      session: {},
      limiter: new RateLimiter({ limit: 1000 }),
      retries: 2,
      backoffBaseMs: 1,
      stop: stop.signal,
      abort: new AbortController().signal,
      onOutcomes: (items, outs) => items.forEach((it, i) => out.set(it.key, outs[i]!)),
    });
    const item: SendItem = { record: { file: "f", fileIndex: 0, line: 1, data: {} }, user: { id: "a" }, key: "a", attempts: 0 };
    await sender.run((async function* () { yield [item]; })());
    expect(calls).toBe(1);
    expect(out.get("a")).toMatchObject({ status: "failed", code: "STOPPED" });
  });
});

describe("sleep past one timer", () => {
  it("waits the whole time in steps, and a stop still ends it", async () => {
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
