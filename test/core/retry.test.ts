import { describe, expect, it } from "vitest";
import { backoffMs, retryAfterMs } from "../../src/core/retry.js";

describe("retry policy", () => {
  it.each([
    [1, 1, 500],
    [2, 1, 1000],
    [3, 0.5, 1000],
    [10, 1, 30000],
    [4, 0, 0],
  ])("backoff(attempt %i, random %f) = %i ms (full jitter, capped)", (attempt, r, ms) => {
    expect(backoffMs(attempt, { random: () => r === 1 ? 0.999999 : r })).toBe(r === 1 ? Math.floor(0.999999 * ms) : ms);
  });

  it.each([
    ["3", 3000],
    ["0.5", 500],
    ["Wed, 21 Oct 2015 07:28:05 GMT", 5000],
    ["soon", undefined],
    [null, undefined],
  ])("Retry-After %s → %s ms", (v, ms) => {
    expect(retryAfterMs(v, Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))).toBe(ms);
  });
});
