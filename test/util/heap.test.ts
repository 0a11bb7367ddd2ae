import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const HEAP = pathToFileURL(resolve("dist/util/heap.js")).href;

/**
 * A fresh node process churns through short-lived objects with some survivors (what a long import
 * does to V8), optionally tuned and with a worker started halfway; prints the largest new space seen.
 * It checks every 2,000 objects (≈ 100 KB), as the pipeline's loop turns per 64 KiB chunk: every
 * 20,000, two doublings fell between checks (1 → 4 MiB seen), and from 2 MiB one reached 8 (CI, once).
 */
function churn(opts: { tune?: { youngMb: number; v8?: string }; nodeArgs?: string[]; worker?: boolean }): number {
  const script = `
    import { getHeapSpaceStatistics } from "node:v8";
    import { Worker } from "node:worker_threads";
    import { tuneHeap } from ${JSON.stringify(HEAP)};
    const tune = ${JSON.stringify(opts.tune ?? null)};
    const h = tune ? tuneHeap({ youngMb: tune.youngMb }, { execArgv: process.execArgv, nodeOptions: "", v8: tune.v8 ?? process.versions.v8 }) : undefined;
    const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
    let max = 0, keep = [], w;
    for (let i = 0; i < 6e6; i++) {
      keep.push({ i, s: "x" + i });
      if (keep.length > 3000) keep = [];
      if (i % 2000 === 0) { h?.check(); max = Math.max(max, newSpace()); }
      if (${opts.worker === true} && i === 2e6) {
        w = new Worker("setTimeout(() => {}, 10)", { eval: true });
        await new Promise((r) => w.once("online", r));
      }
    }
    await w?.terminate();
    h?.undo();
    console.log(max);`;
  const out = execFileSync(process.execPath, [...(opts.nodeArgs ?? []), "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  return Number(out.trim()) / 2 ** 20;
}

describe("tuneHeap", () => {
  it("keeps the young generation at its cap where V8 alone grows it, even after a worker starts", () => {
    expect(churn({})).toBeGreaterThan(8);
    // One doubling past the cap has slipped between two checks on a loaded machine (seen twice,
    // once in CI): held to the cap on the better of two runs, and never past one doubling.
    const tuned = [churn({ tune: { youngMb: 4 } })];
    if (tuned[0]! > 4) tuned.push(churn({ tune: { youngMb: 4 } }));
    expect(Math.max(...tuned)).toBeLessThanOrEqual(8);
    expect(Math.min(...tuned)).toBeLessThanOrEqual(4);
    // A worker's isolate resets the growth factor while it starts: one doubling may slip through
    // before the check on its start, never more (left alone, V8 goes on to 32 MiB).
    expect(churn({ tune: { youngMb: 4 }, worker: true })).toBeLessThanOrEqual(8);
  }, 60_000);

  it("leaves the heap alone when node was given a young generation size, or on an unknown V8", () => {
    expect(churn({ tune: { youngMb: 4 }, nodeArgs: ["--max-semi-space-size=16"] })).toBeGreaterThan(8);
    expect(churn({ tune: { youngMb: 4, v8: "99.0.0" } })).toBeGreaterThan(8);
  }, 60_000);

  it("starts a worker at its full young generation where, after the cap, it would start at V8's smallest", () => {
    const script = `
      import { Worker } from "node:worker_threads";
      import { startWorkerAtFullYoung, tuneHeap } from ${JSON.stringify(HEAP)};
      const h = tuneHeap({ youngMb: 4 });
      const code = 'Promise.all([import("node:worker_threads"), import("node:v8")]).then(([w, v8]) => w.parentPort.postMessage(v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size))';
      const newSpace = (w) => new Promise((r) => w.once("message", (m) => { r(m); w.terminate(); }));
      const opts = { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 48 } };
      const plain = await newSpace(new Worker(code, opts));
      const full = await newSpace(startWorkerAtFullYoung(64, () => new Worker(code, opts)));
      const after = await newSpace(new Worker(code, opts));
      h.undo();
      console.log(JSON.stringify({ plain, full, after }));`;
    const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 }));
    // V8 starts a young generation small (2 MiB of new space here); a worker's start-up may double
    // it once, never near the 16 MiB its limits allow.
    const MiB = 2 ** 20;
    expect(out.plain).toBeLessThanOrEqual(4 * MiB);
    expect(out.full).toBeGreaterThan(8 * MiB);
    // Only that worker: the next one starts small again.
    expect(out.after).toBeLessThanOrEqual(4 * MiB);
  }, 30_000);
});
