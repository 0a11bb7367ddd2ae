import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/core/rate-limiter.js";

// The limiter's clock is pinned: nothing here waits for real time.

describe("RateLimiter.acquire", () => {
  it("rejects with a signal already aborted, even when a slot is free", async () => {
    const l = new RateLimiter({ limit: 5, now: () => 0 });
    const reason = new Error("stopped");
    const ctl = new AbortController();
    ctl.abort(reason);
    await expect(l.acquire(ctl.signal)).rejects.toBe(reason);
  });

  it("a refused acquire takes no slot: the next one still gets a free slot at once", async () => {
    const l = new RateLimiter({ limit: 1, now: () => 0 });
    await expect(l.acquire(AbortSignal.abort())).rejects.toBeDefined();
    const release = await l.acquire();
    expect(typeof release).toBe("function");
  });
});
