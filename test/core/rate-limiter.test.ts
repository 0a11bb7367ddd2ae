import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/core/rate-limiter.js";
import { maxInWindow } from "../helpers.js";

describe("RateLimiter", () => {
  it("never lets more than `limit` requests start in any window", async () => {
    const l = new RateLimiter({ limit: 5, intervalMs: 200, marginMs: 0 });
    const starts: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        const done = await l.acquire();
        starts.push(performance.now());
        done();
      }),
    );
    expect(maxInWindow(starts, 200)).toBeLessThanOrEqual(5);
    // 16 requests at 5 per 200 ms need at least three full windows.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(590);
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it("pushes the window back by a slow request's round trip beyond the fastest one", async () => {
    const l = new RateLimiter({ limit: 1, intervalMs: 100, marginMs: 0 });
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const a = await l.acquire(); // first window: its round trip does not count as the fastest
    await wait(10);
    a();
    const b = await l.acquire(); // ≈ 100 ms: fastest round trip ≈ 10 ms
    await wait(10);
    b();
    const c = await l.acquire();
    const startC = performance.now();
    await wait(60); // this answer took 60 ms: the request may have arrived up to ~50 ms after sending
    c();
    await l.acquire();
    // A send-time window would allow startC + 100; arrival-bounded needs ≈ startC + 150.
    expect(performance.now() - startC).toBeGreaterThanOrEqual(140);
  });

  it("in the first window, waits a window after the answer (no trusted round trip yet)", async () => {
    const l = new RateLimiter({ limit: 1, intervalMs: 100, marginMs: 0 });
    const a = await l.acquire();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 40));
    a();
    await l.acquire();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(135);
  });

  it("halves its rate after throttling and recovers", async () => {
    let now = 0;
    const l = new RateLimiter({ limit: 20, now: () => now });
    l.throttled();
    expect(l.current).toBe(10);
    l.throttled(); // within half a window: ignored, one storm is one signal
    expect(l.current).toBe(10);
    now = 2000;
    await l.acquire();
    expect(l.current).toBe(12); // a tenth of the limit per clean window
  });

  it("refuses a limit below 1", () => {
    expect(() => new RateLimiter({ limit: 0 })).toThrow(TypeError);
  });
});
