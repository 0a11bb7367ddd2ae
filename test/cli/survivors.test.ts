import { createServer, request, type Server } from "node:http";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runImport } from "../../src/index.js";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, readReport, runCli, tmp, write } from "../helpers.js";

// Tests written against mutants an earlier audit left alive (no test failed when they were applied).

const env = { ZEGO_APP_ID: "1234567890", ZEGO_SERVER_SECRET: "survivors-secret-survivors-sec01" };

/** A loopback proxy in front of `target` that counts the requests it holds at once. */
async function countingProxy(target: string): Promise<{ url: string; max: () => number; total: () => number; close: () => Promise<void> }> {
  let inFlight = 0;
  let max = 0;
  let total = 0;
  const server: Server = createServer((req, res) => {
    inFlight++;
    total++;
    max = Math.max(max, inFlight);
    let done = false;
    const end = () => {
      if (!done) inFlight--;
      done = true;
    };
    res.on("close", end);
    const up = request(`${target}${req.url ?? "/"}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const a = server.address();
  const url = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
  return {
    url,
    max: () => max,
    total: () => total,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** `usersPerSecond` is `users` over the run's unrounded duration, rounded to a tenth; `durationMs` is that duration rounded to the ms. */
function expectRate(s: { usersPerSecond: number; durationMs: number }, users: number): void {
  const hi = (users / Math.max(s.durationMs - 0.5, 0.001)) * 1000 + 0.05;
  const lo = (users / (s.durationMs + 0.5)) * 1000 - 0.05;
  expect(s.usersPerSecond).toBeGreaterThanOrEqual(lo);
  expect(s.usersPerSecond).toBeLessThanOrEqual(hi);
}

describe("survivors: exit code and summary counts (CLI)", () => {
  let emu: Emulator;
  const dir = tmp();
  beforeAll(async () => {
    emu = createZegoEmulator({ env });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  it("a rerun that finds every user already there exits 0 with nothing counted as not sent (exists is a success)", async () => {
    const f = write(dir, "again.csv", csv(["user_id"], Array.from({ length: 250 }, (_, i) => [`ex${i}`])));
    const first = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/ex1.jsonl`, "--json"], { env });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).counts.created).toBe(250);

    const json = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/ex2.jsonl`, "--json"], { env });
    const s = JSON.parse(json.stdout);
    expect(s.counts).toMatchObject({ exists: 250, created: 0, invalid: 0, duplicate: 0, failed: 0 });
    expect(s.notSent).toBe(0);
    expect(s.stopped).toBeUndefined();
    expect(s.exitCode).toBe(0);
    expect(json.code).toBe(0);

    // The human summary and the Markdown summary say the same.
    const human = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/ex3.jsonl`, "--summary", `${dir}/ex3.md`], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/exists 250/);
    expect(human.stdout).not.toMatch(/not sent/);
    const md = readFileSync(`${dir}/ex3.md`, "utf8");
    expect(md).toContain("✅ all rows succeeded");
    expect(md).not.toMatch(/not sent/);
  });

  it("usersPerSecond counts users found already there (exists), not only those created", async () => {
    const f = write(dir, "rate.csv", csv(["user_id"], Array.from({ length: 300 }, (_, i) => [`ups${i}`])));
    await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/ups1.jsonl`], { env });
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/ups2.jsonl`, "--json"], { env });
    const s = JSON.parse(r.stdout);
    expect(s.counts.exists).toBe(300);
    expect(s.counts.created).toBe(0);
    expect(s.usersPerSecond).toBeGreaterThan(0);
    // 300 confirmed users over the run's duration, to the tenth (durationMs is itself rounded to the ms).
    expectRate(s, 300);
    // Mixed: the created ones and the existing ones both count.
    const g = write(dir, "mixed.csv", csv(["user_id"], Array.from({ length: 200 }, (_, i) => [i < 100 ? `ups${i}` : `fresh${i}`])));
    const m = JSON.parse((await runCli(["import", g, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/ups3.jsonl`, "--json"], { env })).stdout);
    expect(m.counts).toMatchObject({ exists: 100, created: 100 });
    expectRate(m, 200);
  });
});

describe("survivors: topErrors order", () => {
  const dir = tmp();
  // The codes first appear in the order BAD_CHARACTERS (1 row), REQUIRED (2), 660000012 (too long, 2),
  // DUPLICATE (3): neither the order they appear in, nor its reverse, nor the alphabetical one.
  const long = (i: number) => `L${i}${"x".repeat(40)}`;
  const ids = ["ok1", "bad 1", "ok2", "", long(1), "", long(2), "ok1", "ok1", "ok2", "ok3"];
  const input = write(dir, "errs.csv", csv(["user_id", "name"], ids.map((id, i) => [id, `N${i}`])));

  it("the summary lists the most frequent error codes first; equal counts keep the order the codes first appeared in", async () => {
    const r = await runCli(["validate", input, "-p", "zego", "--report", `${dir}/errs.jsonl`, "--json"]);
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s.topErrors.map((e: { code: string; count: number }) => [e.code, e.count])).toEqual([
      ["DUPLICATE", 3],
      ["REQUIRED", 2],
      ["660000012", 2],
      ["BAD_CHARACTERS", 1],
    ]);
    // Each code's example is its first row.
    expect(s.topErrors.map((e: { example: { line: number } }) => e.example.line)).toEqual([9, 5, 6, 3]);
    // The human summary prints them in the same order.
    const human = await runCli(["validate", input, "-p", "zego", "--report", `${dir}/errs2.jsonl`]);
    const order = ["DUPLICATE ×3", "REQUIRED ×2", "660000012 ×2", "BAD_CHARACTERS ×1"].map((t) => human.stdout.indexOf(t));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it("bulk-users report lists a report's error codes most frequent first", async () => {
    await runCli(["validate", input, "-p", "zego", "--report", `${dir}/errs3.jsonl`]);
    const r = await runCli(["report", `${dir}/errs3.jsonl`, "--json"]);
    expect(r.code).toBe(0);
    const errors = JSON.parse(r.stdout).errors.map((e: { code: string; count: number }) => [e.code, e.count]);
    expect(errors).toEqual([
      ["DUPLICATE", 3],
      ["REQUIRED", 2],
      ["660000012", 2],
      ["BAD_CHARACTERS", 1],
    ]);
  });
});

describe("survivors: rows counted under --shard", () => {
  let emu: Emulator;
  const dir = tmp();
  beforeAll(async () => {
    emu = createZegoEmulator({ env });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  it("each shard's summary adds up: its rows + other shards' rows = every row read; unreadable rows of other shards are not 'not sent'", async () => {
    // 60 lines: 20 unreadable (shared out by position), 40 users (by key).
    const lines = Array.from({ length: 60 }, (_, i) => (i % 3 ? `{"user_id":"sh${i}"}` : `not json ${i}`));
    const f = write(dir, "shard.jsonl", `${lines.join("\n")}\n`);
    let mine = 0;
    let unreadable = 0;
    for (const k of [1, 2, 3]) {
      const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--shard", `${k}/3`, "--report", `${dir}/sh${k}.jsonl`, "--json"], { env });
      const s = JSON.parse(r.stdout);
      const counted = Object.values(s.counts as Record<string, number>).reduce((a, b) => a + b, 0);
      expect(s.rows).toBe(60);
      expect(s.notSent).toBe(0);
      expect(s.otherShards).toBeGreaterThan(0);
      expect(counted + s.otherShards).toBe(60);
      expect(readReport(`${dir}/sh${k}.jsonl`)).toHaveLength(counted);
      expect(s.counts.invalid + s.counts.created).toBe(counted);
      // Not stopped: exit 1 exactly when this shard had an unreadable row of its own.
      expect(r.code).toBe(s.counts.invalid > 0 ? 1 : 0);
      mine += counted;
      unreadable += s.counts.invalid;
    }
    expect(mine).toBe(60);
    expect(unreadable).toBe(20);
    expect(emu.users()).toHaveLength(40);
  });

  it("a shard whose own rows all succeed exits 0, and its summaries name the rows of other shards", async () => {
    const f = write(dir, "clean.csv", csv(["user_id"], Array.from({ length: 90 }, (_, i) => [`cl${i}`])));
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--shard", "2/3", "--report", `${dir}/cl.jsonl`, "--summary", `${dir}/cl.md`], { env });
    expect(r.code).toBe(0);
    const created = readReport(`${dir}/cl.jsonl`).length;
    expect(created).toBeGreaterThan(10);
    expect(r.stdout).toMatch(/Import into zego: 90 row\(s\)/);
    expect(r.stdout).toContain(`created ${created}`);
    expect(r.stdout).toContain(`rows of other shards skipped: ${90 - created}`);
    expect(r.stdout).not.toMatch(/not sent/);
    const md = readFileSync(`${dir}/cl.md`, "utf8");
    expect(md).toContain(`| other shards (skipped) | ${90 - created} |`);
    expect(md).toContain("| **total read** | **90** |");
  });
});

describe("survivors: default --concurrency", () => {
  const dir = tmp();
  /** A fresh ZEGO emulator whose answers each wait 150 ms, behind a counting proxy: requests overlap as far as the concurrency lets them. */
  async function slowZego<T>(fn: (proxy: Awaited<ReturnType<typeof countingProxy>>, emu: Emulator) => Promise<T>): Promise<T> {
    const emu = createZegoEmulator({ env, latencyMs: 150 });
    await emu.listen(0);
    const proxy = await countingProxy(emu.url);
    try {
      return await fn(proxy, emu);
    } finally {
      await proxy.close();
      await emu.close();
    }
  }

  it("without --concurrency, exactly 4 requests are in flight at once", async () => {
    // 1,200 users = 12 requests of 100, within ZEGO's 20 a second.
    const f = write(dir, "conc.csv", csv(["user_id"], Array.from({ length: 1200 }, (_, i) => [`c${i}`])));
    await slowZego(async (proxy, emu) => {
      const r = await runCli(["import", f, "-p", "zego", "--endpoint", proxy.url, "--report", `${dir}/conc.jsonl`, "--json"], { env });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).counts.created).toBe(1200);
      expect(emu.stats.throttled).toBe(0);
      expect(proxy.total()).toBe(12);
      expect(proxy.max()).toBe(4);
    });
  });

  it("runImport without a concurrency keeps exactly 4 requests in flight too (ImportOptions: @default 4)", async () => {
    const f = write(dir, "conc-lib.csv", csv(["user_id"], Array.from({ length: 1200 }, (_, i) => [`c${i}`])));
    await slowZego(async (proxy, emu) => {
      const s = await runImport({ files: [f], provider: "zego", env, endpoint: proxy.url, report: `${dir}/conc-lib.jsonl` });
      expect(s.exitCode).toBe(0);
      expect(s.counts.created).toBe(1200);
      expect(emu.stats.throttled).toBe(0);
      expect(proxy.total()).toBe(12);
      expect(proxy.max()).toBe(4);
    });
  });
});
