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
    const b = await l.acquire();
    const startB = performance.now();
    await wait(10);
    const rttB = performance.now() - startB; // the fastest round trip (timers may run late under load)
    b();
    const c = await l.acquire();
    const startC = performance.now();
    await wait(rttB + 50); // 50 ms slower than the fastest: it may have arrived that much after sending
    const endC = performance.now();
    c();
    await l.acquire();
    const startD = performance.now();
    // D waits a window after C's latest possible arrival (answer − fastest round trip), which is
    // ~50 ms later than a window after C was sent.
    expect(startD).toBeGreaterThanOrEqual(endC - rttB + 100 - 3);
    expect(startD - startC).toBeGreaterThanOrEqual(140);
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
