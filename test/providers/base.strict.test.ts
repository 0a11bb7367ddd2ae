import { describe, expect, it } from "vitest";
import { createWindow } from "../../src/emulators/_base.js";

// The shared sliding window every emulator's rate limit rests on (providers.md: "a 21st request
// inside any one-second window" is throttled — a request, answered or not).
describe("emulator rate window (strict)", () => {
  it("admits at most `limit` arrivals in any interval, and only once the oldest is a full interval old", () => {
    const w = createWindow(3, 1000);
    expect([0, 10, 20].map((t) => w.admit(t))).toEqual([true, true, true]);
    expect(w.admit(999)).toBe(false);
    // 999 is itself an arrival: at 1000 only the one at 0 has left the window.
    expect(w.admit(1000)).toBe(false);
    // At 1021 the ones at 10 and 20 have left: 999, 1000 and 1021 make three.
    expect(w.admit(1021)).toBe(true);
    const v = createWindow(2, 1000);
    expect([v.admit(0), v.admit(500), v.admit(999), v.admit(1000), v.admit(1499)]).toEqual([true, true, false, false, false]);
  });

  it("counts throttled arrivals too: a client that keeps sending while refused stays refused", () => {
    const w = createWindow(20, 1000);
    for (let i = 0; i < 20; i++) expect(w.admit(i)).toBe(true);
    // 20 more half a second later: all refused, but they are requests inside the window.
    for (let i = 0; i < 20; i++) expect(w.admit(500 + i)).toBe(false);
    // The first 20 have left; the 20 refused ones have not: a 21st request in that window.
    expect(w.admit(1100)).toBe(false);
    // Once those have left too, requests are admitted again.
    expect(w.admit(1600)).toBe(true);
  });
});
