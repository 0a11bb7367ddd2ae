import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/core/rate-limiter.js";

// A request still unanswered holds back the request a limit later: it may arrive at any moment.

describe("rate limiter, a request in flight (pinned clock)", () => {
  it("a request still unanswered a window after it was sent holds back the next one: its arrival is not known yet", async () => {
    // README, Design / Rate limit: "A request may start one window after the request `limit` places
    // back *arrived* at the vendor; since arrival is only known to lie between sending and the answer
    // […] a slow new connection can never squeeze `limit + 1` arrivals into one vendor-side second."
    // A, sent at 0 and unanswered at 1010, may reach the vendor at 1009; B sent at 1010 arrives
    // within the same second. The limiter takes an unanswered request's start as its arrival.
    let now = 0;
    const l = new RateLimiter({ limit: 1, now: () => now });
    await l.acquire(); // A: in flight, no answer yet
    now = 1010;
    const ctl = new AbortController();
    const b = l.acquire(ctl.signal).then(() => "started", () => "aborted");
    const tick = new Promise((r) => setTimeout(() => r("waiting"), 50));
    const first = await Promise.race([b, tick]);
    ctl.abort();
    await b;
    expect(first).toBe("waiting");
  });
});

describe("rate limiter, the answer of a request in flight", () => {
  it("lets the next request start once the answer shows the window has passed, and a stop ends the wait", async () => {
    let now = 0;
    const l = new RateLimiter({ limit: 1, now: () => now });
    const releaseA = await l.acquire();
    now = 1500;
    const b = l.acquire();
    await new Promise((r) => setTimeout(r, 20));
    releaseA(); // answered at 1500: arrived by then, and the window from 1500 has not passed yet
    now = 2600;
    const releaseB = await b;
    releaseB();
    const l2 = new RateLimiter({ limit: 1, now: () => now });
    await l2.acquire();
    now += 5000;
    const ctl = new AbortController();
    const c = l2.acquire(ctl.signal);
    ctl.abort(new Error("stopped"));
    await expect(c).rejects.toThrow("stopped");
  });
});
