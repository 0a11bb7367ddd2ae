/**
 * Faults, property style (audit): for each provider, three seeds and fault mixes (5xx, timeouts
 * that are processed but never answered, gateway 502s after processing, throttling, dropped
 * connections at 5–15% each; --retries 5 or 1; --concurrency 4 or 8), 150 users plus invalid
 * rows, duplicates (also by another unique field, or in other case) and two users the vendor
 * refuses, in a CSV file (blank lines, names over two lines) and a JSONL file, go through the CLI
 * (`runCli`, in-process) into an emulator on 127.0.0.1; a run that leaves retryable failures is
 * resumed (at most 5 times). Checked against the emulator's store and a tap on every request it
 * processes (vi.mock of createEmulator):
 *
 *  - a user reaches the vendor again while the vendor has it only after a request holding it went
 *    unanswered (in doubt, README "Failures and resume"), never after an answer settled it, and a
 *    resumed run never sends a row an earlier report called done; a user created by an unanswered
 *    request is never reported `created`, and its `exists` says why;
 *  - every stored user is a valid row; every row ends with its documented status;
 *  - each report holds each input row exactly once (file+line); summary and meta counts = the rows;
 *  - a throttled row fails only once its retries are spent; exit codes as the README's table;
 *  - a vendor that always fails (5xx, throttling, drops, timeouts) ends the run, in bounded time
 *    and requests, with exit 1 and every row reported.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { Emulator, EmulatorOptions, EmulatorSpec, EmuRequest, EmuResponse, FaultOptions } from "../../src/emulators/_base.js";
import { LOST_ANSWER, MAYBE_CREATED, SENT_BEFORE } from "../../src/core/sender.js";
import { createRng } from "../../src/emulators/_base.js";
import { emulators } from "../../src/emulators/index.js";
import { SUCCESS_STATUSES, type ReportRow } from "../../src/types.js";
import { csv, readReport, runCli, tmp, write } from "../helpers.js";

/** One request the vendor processed (faults of kind error, throttle and drop are never processed). */
interface Processed {
  req: EmuRequest;
  out: EmuResponse;
  /** Processed but never answered by the vendor (a timeout, or a gateway's 502 in its place). */
  lost: boolean;
  /** Whether the vendor took the batch (spec.accepted, else a 2xx). */
  accepted: boolean;
  /** Keys the store held just before. */
  stored: Set<string>;
}

/** Per emulator instance, where its processed requests go: a run a timed-out test left going cannot write into another test's. */
const tap = vi.hoisted(() => ({
  worlds: new Map<unknown, { storedKey: string; on(p: Processed): void; fault?(kind: "error" | "throttle", req: EmuRequest): void }>(),
  created: new Map<string, (emu: unknown) => void>(),
}));

// The tap: wraps each emulator's vendor handler, which runs only for requests the vendor processes.
vi.mock("../../src/emulators/_base.js", async (importOriginal) => {
  const base = await importOriginal<typeof import("../../src/emulators/_base.js")>();
  return {
    ...base,
    createEmulator(spec: EmulatorSpec, opts: EmulatorOptions): Emulator {
      let emu: Emulator | undefined;
      let timeouts = 0;
      const handle = async (req: EmuRequest): Promise<EmuResponse> => {
        // The base counts the fault, then calls the handler in the same tick: a new count is this request's.
        const t = emu!.stats.faults.timeout + emu!.stats.faults.gateway;
        const lost = t !== timeouts;
        timeouts = t;
        const w = tap.worlds.get(emu);
        const stored = new Set(w ? spec.users().map((u) => String(u[w.storedKey])) : []);
        const out = await spec.handle(req);
        w?.on({ req, out, lost, stored, accepted: spec.accepted ? spec.accepted(out) : out.status < 300 });
        return out;
      };
      // Told of each 5xx and throttling answer, so a test can change the faults in between.
      const serverError = (req: EmuRequest) => (tap.worlds.get(emu)?.fault?.("error", req), spec.serverError(req));
      const throttled = (req: EmuRequest) => (tap.worlds.get(emu)?.fault?.("throttle", req), spec.throttled(req));
      emu = base.createEmulator({ ...spec, handle, serverError, throttled }, opts);
      tap.created.get(spec.name)?.(emu);
      return emu;
    },
  };
});


// ---------------------------------------------------------------------------------------------
// Providers

interface Case {
  name: string;
  storedKey: string;
  header: string[];
  /** Valid row i (unique key and unique other fields). */
  row(i: number): string[];
  /** Index of the key cell in a row. */
  keyAt: number;
  /** Index of a cell that may hold a line break (a name), if any. */
  multiline?: number;
  invalid(i: number): string[];
  /** A duplicate of valid row j that is not a copy of it (another unique field clashing), if the provider has one. */
  altDuplicate?(j: number, i: number): string[];
  mapping: Record<string, unknown>;
  /** Keys of the users in a create request's body (undefined: not a create request). */
  keysOf(body: unknown): string[] | undefined;
  throttleCodes: string[];
  success: Set<string>;
}

type Body = Record<string, Record<string, string>[] | undefined>;
const CASES: Case[] = [
  {
    name: "zego",
    storedKey: "UserId",
    header: ["id", "name"],
    keyAt: 0,
    multiline: 1,
    row: (i) => [`z${i}`, `Ada L${i}`],
    invalid: (i) => [`bad/${i}`, "Bad"],
    mapping: { fields: { UserId: "id", UserName: "name" } },
    keysOf: (b) => (b as Body).UserInfo?.map((u) => u.UserId!),
    throttleCodes: ["660700001", "7"],
    success: new Set(["created", "exists"]),
  },
  {
    name: "imkit",
    storedKey: "_id",
    header: ["id", "name", "avatar"],
    keyAt: 0,
    multiline: 1,
    row: (i) => [`c${i}`, `Ada L${i}`, `https://example.com/${i}.png`],
    invalid: (i) => [`c-bad${i}`, "Bad", "not a url"],
    mapping: { fields: { _id: "id", nickname: "name", avatarUrl: "avatar" } },
    keysOf: (b) => (b as Body).data?.map((u) => u._id!),
    throttleCodes: ["429"],
    success: new Set(["upserted"]),
  },
  {
    name: "genauth",
    storedKey: "email",
    header: ["email", "login", "name"],
    keyAt: 0,
    multiline: 2,
    row: (i) => [`g${i}@example.com`, `login${i}`, `Ada L${i}`],
    invalid: (i) => [`not-an-email-${i}`, `login-bad${i}`, "Bad"],
    // Another email, the same username (a duplicate by the other unique field); or the email in capitals.
    altDuplicate: (j, i) => (i % 2 ? [`g-alt${i}@example.com`, `login${j}`, "Dup"] : [`G${j}@EXAMPLE.COM`, `login-alt${i}`, "Dup"]),
    mapping: { fields: { email: "email", username: "login", name: "name" } },
    keysOf: (b) => (b as Body).list?.map((u) => u.email!),
    throttleCodes: ["1429", "429"],
    success: new Set(["created", "exists"]),
  },
  {
    name: "royalti",
    storedKey: "email",
    header: ["first", "last", "email"],
    keyAt: 2,
    // Every 7th user shares a full name with the one before (answers name users by name only).
    row: (i) => ["Ada", `L${i % 7 === 6 ? i - 1 : i}`, `r${i}@example.com`],
    invalid: (i) => ["Bad", `Mail${i}`, `not-an-email-${i}`],
    // The same email in capitals: the vendor's uniqueness ignores case.
    altDuplicate: (j, i) => ["Dup", `D${i}`, `R${j}@EXAMPLE.COM`],
    mapping: { fields: { firstName: "first", lastName: "last", email: "email" }, options: { sendEmail: false } },
    keysOf: (b) => (b as Body).users?.map((u) => u.email!),
    throttleCodes: ["HTTP_429"],
    success: new Set(["created", "exists"]),
  },
  {
    name: "huawei-workspace",
    storedKey: "user_name",
    header: ["login", "email"],
    keyAt: 0,
    row: (i) => [`h.${i}`, `h${i}@example.com`],
    invalid: (i) => [`has space${i}`, `x${i}@example.com`],
    mapping: { fields: { user_name: "login", user_email: "email" } },
    keysOf: (b) => (b as Body).users?.map((u) => u.user_name!),
    throttleCodes: ["APIGW.0308"],
    success: new Set(["created", "exists"]),
  },
];

// ---------------------------------------------------------------------------------------------
// Inputs

type Kind = "valid" | "invalid" | "duplicate" | "refused";
interface Input {
  /** A CSV file, then a JSONL file (duplicates cross them). */
  files: string[];
  mapping: string;
  /** Kind and key by `file:line`. */
  lines: Map<string, { kind: Kind; key: string }>;
  refuse: string[];
}

const rowKey = (r: { file: string; line: number }) => `${r.file}:${r.line}`;

/** Seeded rows: `n` valid users, ~5% invalid, ~4% duplicates, two the vendor refuses; the first 55% in a CSV file, the rest in a JSONL one. */
function makeInput(c: Case, dir: string, tag: string, seed: number, n: number, o: { clean?: boolean; noRefuse?: boolean } = {}): Input {
  const rnd = createRng(seed * 7919 + 13);
  const rows: { cells: string[]; kind: Kind }[] = [];
  const refuse = o.clean || o.noRefuse ? [] : [c.row(11)[c.keyAt]!, c.row(n - 3)[c.keyAt]!];
  for (let i = 0; i < n; i++) {
    const r = c.row(i);
    rows.push({ cells: r, kind: refuse.includes(r[c.keyAt]!) ? "refused" : "valid" });
    if (o.clean || i < 5) continue;
    const x = rnd();
    if (x < 0.05) rows.push({ cells: c.invalid(i), kind: "invalid" });
    else if (x < 0.07) rows.push({ cells: c.row(Math.floor(rnd() * i)), kind: "duplicate" });
    else if (x < 0.09) {
      const j = Math.floor(rnd() * i);
      rows.push({ cells: c.altDuplicate?.(j, i) ?? c.row(j), kind: "duplicate" });
    }
  }
  const cut = Math.ceil(rows.length * 0.55);
  const first = rows.slice(0, cut);
  const second = rows.slice(cut);
  // The CSV file has blank lines (no row) and, where the provider takes one, names over two lines:
  // a row's line is the one it starts on.
  const text: string[] = [csv(c.header, [])];
  const starts: number[] = [];
  let line = 2;
  first.forEach((r, i) => {
    if (i % 17 === 9) {
      text.push("\n");
      line++;
    }
    const cells = c.multiline && r.kind === "valid" && i % 10 === 3 ? r.cells.map((x, k) => (k === c.multiline ? x.replace(" ", "\n") : x)) : r.cells;
    const rec = csv(c.header, [cells]).slice(csv(c.header, []).length);
    starts.push(line);
    line += rec.split("\n").length - 1;
    text.push(rec);
  });
  const csvFile = write(dir, `${tag}-a.csv`, text.join(""));
  const jsonlFile = write(dir, `${tag}-b.jsonl`, second.map((r) => JSON.stringify(Object.fromEntries(c.header.map((h, k) => [h, r.cells[k]])))).join("\n") + "\n");
  const lines = new Map<string, { kind: Kind; key: string }>();
  first.forEach((r, i) => lines.set(`${csvFile}:${starts[i]}`, { kind: r.kind, key: r.cells[c.keyAt]! }));
  second.forEach((r, i) => lines.set(`${jsonlFile}:${i + 1}`, { kind: r.kind, key: r.cells[c.keyAt]! }));
  const mapping = write(dir, `${tag}-map.json`, JSON.stringify(c.mapping));
  return { files: [csvFile, jsonlFile], mapping, lines, refuse };
}

// ---------------------------------------------------------------------------------------------
// Running

const open: Emulator[] = [];
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

interface World {
  c: Case;
  emu: Emulator;
  env: Record<string, string>;
  faults: FaultOptions;
  /** Per run (phase), the requests the vendor processed. */
  phases: Processed[][];
  on(p: Processed): void;
  fault?(kind: "error" | "throttle", req: EmuRequest): void;
}

async function startWorld(c: Case, o: { faults: FaultOptions; seed: number; refuse?: string[]; rateLimit?: number }): Promise<World> {
  const def = await emulators[c.name]!();
  const env = def.sandboxEnv();
  // Mutable: the emulator reads it per request. The rate limit is not under test here: 100/s (and
  // --rate 100) keeps the one-by-one checks after a lost answer short.
  const faults = { ...o.faults };
  const emu = def.create({ env, faults, seed: o.seed, rateLimit: o.rateLimit ?? 100, refuseKeys: o.refuse, latencyMs: 1 });
  await emu.listen(0, "127.0.0.1");
  open.push(emu);
  const w: World = { c, emu, env, faults, phases: [], on: (p) => w.phases[w.phases.length - 1]?.push(p) };
  tap.worlds.set(emu, { storedKey: c.storedKey, on: (p) => w.on(p), fault: (k, r) => w.fault?.(k, r) });
  return w;
}

interface Run {
  code: number;
  report: string;
  rows: ReportRow[];
  summary: { rows: number; counts: Record<string, number>; resumed: number; notSent: number; requests: number; exitCode: number; stopped?: string };
  stderr: string;
  ms: number;
}

const RETRIES = 5;

async function runOnce(w: World, input: Input, report: string, extra: string[], o: { resume?: string; retries?: number; timeout?: number } = {}): Promise<Run> {
  w.phases.push([]);
  const args = ["import", ...input.files, "-p", w.c.name, "-m", input.mapping, "--endpoint", w.emu.url, "--report", report, "--json", "--no-progress"];
  args.push("--timeout", String(o.timeout ?? 500), "--retries", String(o.retries ?? RETRIES), "--backoff-base", "20", "--rate", "100", ...extra);
  if (o.resume) args.push("--resume", o.resume);
  const t0 = performance.now();
  const r = await runCli(args, { env: w.env });
  const ms = performance.now() - t0;
  expect(r.code, r.stderr).not.toBe(2);
  const summary = JSON.parse(r.stdout.trim().split("\n").pop()!) as Run["summary"];
  return { code: r.code, report, rows: readReport(report), summary, stderr: r.stderr, ms };
}

/** What each report of a run must satisfy on its own. */
function checkRun(w: World, input: Input, run: Run, retries = RETRIES): void {
  const { rows, summary } = run;
  const where = `${w.c.name} ${run.report}`;
  // Every input row exactly once, by file and line; nothing else.
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(rowKey(r), (seen.get(rowKey(r)) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([l]) => l);
  expect(twice, `${where}: lines reported twice`).toEqual([]);
  const missing = [...input.lines.keys()].filter((l) => !seen.has(l));
  expect(missing, `${where}: lines with no report row`).toEqual([]);
  expect(rows.length, where).toBe(input.lines.size);
  // Summary counts = the rows: this run's own by status, plus the rows carried over (all successes).
  const by: Record<string, number> = {};
  for (const r of rows) by[r.status] = (by[r.status] ?? 0) + 1;
  for (const s of ["invalid", "duplicate", "failed"]) expect(summary.counts[s] ?? 0, `${where}: summary ${s}`).toBe(by[s] ?? 0);
  const ok = (m: Record<string, number>) => [...SUCCESS_STATUSES].reduce((a, s) => a + (m[s] ?? 0), 0);
  expect(ok(summary.counts) + summary.resumed, `${where}: summary successes + carried`).toBe(ok(by));
  expect(summary.notSent, where).toBe(0);
  expect(summary.stopped, where).toBeUndefined();
  // README, exit codes: 1 when a row is invalid, duplicate or failed, else 0.
  const bad = (by.invalid ?? 0) + (by.duplicate ?? 0) + (by.failed ?? 0);
  expect(run.code, where).toBe(bad ? 1 : 0);
  expect(summary.exitCode, where).toBe(run.code);
  // The meta's summary is the one printed.
  const meta = JSON.parse(readFileSync(`${run.report}.meta.json`, "utf8")) as { summary: Run["summary"] };
  expect(meta.summary.counts, where).toEqual(summary.counts);

  for (const r of rows) {
    const at = `${where} ${rowKey(r)} (${r.key}): ${r.status} ${r.code ?? ""} ${r.message ?? ""}`;
    const want = input.lines.get(rowKey(r));
    expect(want, at).toBeDefined();
    if (!want) continue;
    expect(r.key, at).toBe(want.key);
    if (want.kind === "invalid") expect(r.status, at).toBe("invalid");
    else if (want.kind === "duplicate") expect(r.status, at).toBe("duplicate");
    // Refused once the vendor saw it (a run whose every attempt at it faulted leaves it retryable).
    else if (want.kind === "refused") expect(r.status, at).toBe("failed");
    else if (r.status === "failed") {
      // A final failure the README documents: retryable, after the retries (or a stop) were spent.
      expect(r.retryable, at).toBe(true);
      const gaveUp = /gave up after (\d+) attempts|never sent: (\d+) tries/.exec(r.message ?? "");
      expect(gaveUp, at).not.toBeNull();
      // A throttled row fails only with no retry left.
      if (w.c.throttleCodes.includes(r.code ?? "")) expect(r.attempts ?? 0, at).toBeGreaterThan(retries);
    } else expect(w.c.success.has(r.status), at).toBe(true);
  }
}

/** What the vendor saw across all runs, against the final report. */
function checkVendor(w: World, input: Input, final: Run, runs: Run[]): void {
  const c = w.c;
  const stored = new Map<string, number>();
  for (const u of w.emu.users()) stored.set(String(u[c.storedKey]), (stored.get(String(u[c.storedKey])) ?? 0) + 1);
  const valid = new Map<string, Kind>();
  for (const { kind, key } of input.lines.values()) if (kind === "valid" || kind === "refused") valid.set(key, kind);
  // Stored once each, and only valid users the vendor does not refuse.
  for (const [k, n] of stored) {
    expect(n, `${c.name}: ${k} stored ${n} times`).toBe(1);
    expect(valid.get(k), `${c.name}: ${k} stored but not a valid input row`).toBe("valid");
  }
  for (const r of final.rows) {
    // Never stored, and failed: refused (not retryable) once the vendor saw it alone.
    if (input.lines.get(rowKey(r))!.kind === "refused") expect(r.status, `${c.name} final ${rowKey(r)}`).toBe("failed");
    const at = `${c.name} final line ${r.line} (${r.key}): ${r.status} ${r.message ?? ""}`;
    if (c.success.has(r.status)) expect(stored.has(r.key), at).toBe(true);
    // The store began empty: a user the vendor had was put there by an unanswered attempt, and the row says so.
    if (r.status === "exists") expect(r.message ?? "", at).toMatch(new RegExp(`${LOST_ANSWER}|${SENT_BEFORE}`));
    // A valid user at the vendor that the report calls failed: only where an attempt went unanswered.
    if (r.status === "failed" && stored.has(r.key)) expect(r.message ?? "", at).toContain(MAYBE_CREATED);
  }

  // Request by request: per key, in doubt after an unanswered processed request; settled by an
  // answered one that the vendor took (or that held the user alone).
  const doubt = new Set<string>();
  /** Per key, whether the request that stored it went unanswered. */
  const createdUnanswered = new Map<string, boolean>();
  const settled = new Map<string, number>();
  const resent: string[] = [];
  const afterSettled: string[] = [];
  w.phases.forEach((phase, pi) => {
    for (const p of phase) {
      const keys = c.keysOf(JSON.parse(p.req.body || "null") ?? {});
      if (!keys) continue;
      for (const k of keys) {
        if (settled.has(k) && valid.get(k) !== "refused") afterSettled.push(`${k} (run ${pi + 1}, settled in run ${settled.get(k)! + 1})`);
        if (p.stored.has(k) && !doubt.has(k)) resent.push(`${k} (run ${pi + 1})`);
        if (!p.stored.has(k) && p.accepted && valid.get(k) === "valid" && !createdUnanswered.has(k)) createdUnanswered.set(k, p.lost);
        if (p.lost) doubt.add(k);
        else if (p.accepted || keys.length === 1) settled.set(k, pi);
      }
    }
  });
  // A user the vendor created on a request whose answer was lost was never heard "created": the row must not say so.
  const claimed = final.rows.filter((r) => r.status === "created" && createdUnanswered.get(r.key)).map((r) => r.key);
  expect(claimed, `${c.name}: reported created, though created by an unanswered request`).toEqual([]);
  expect(resent, `${c.name}: sent again while the vendor had them, with no unanswered request before`).toEqual([]);
  expect(afterSettled, `${c.name}: sent again after an answer settled them`).toEqual([]);
  // A resumed run never sends a row an earlier report called done.
  runs.forEach((run, i) => {
    const done = new Set(run.rows.filter((r) => c.success.has(r.status)).map((r) => r.key));
    for (const later of w.phases.slice(i + 1))
      for (const p of later) for (const k of c.keysOf(JSON.parse(p.req.body || "null") ?? {}) ?? []) expect(done.has(k), `${c.name}: ${k} done in run ${i + 1}, sent later`).toBe(false);
  });
}

/** A run, then --resume while rows remain failed for a retryable reason (at most 5 times). */
async function importWithResumes(w: World, input: Input, dir: string, tag: string, o: { retries?: number; concurrency?: number } = {}): Promise<Run[]> {
  const runs: Run[] = [];
  const extra = ["--concurrency", String(o.concurrency ?? 4)];
  let report = `${dir}/${tag}-1.jsonl`;
  let run = await runOnce(w, input, report, extra, { retries: o.retries });
  checkRun(w, input, run, o.retries);
  runs.push(run);
  for (let i = 2; i <= 6 && run.rows.some((r) => r.status === "failed" && r.retryable); i++) {
    const prev = report;
    report = `${dir}/${tag}-${i}.jsonl`;
    run = await runOnce(w, input, report, extra, { resume: prev, retries: o.retries });
    checkRun(w, input, run, o.retries);
    runs.push(run);
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Tests

const MIXES: { seed: number; faults: FaultOptions; retries?: number; concurrency?: number }[] = [
  { seed: 1, faults: { error: 0.1, timeout: 0.05, throttle: 0.1, drop: 0.05 } },
  { seed: 2, faults: { error: 0.05, timeout: 0.05, throttle: 0.1, drop: 0.1, gateway: 0.05 }, concurrency: 8 },
  // Few retries: many rows left failed, in doubt, for the resumes to finish.
  { seed: 3, faults: { error: 0.1, timeout: 0.1, throttle: 0.1, drop: 0.1 }, retries: 1 },
];


// Runs are independent (an emulator, a folder each) and mostly wait (backoff, timeouts, rate): side by side.
describe.concurrent("faults (audit)", () => {
describe.each(CASES)("$name under injected faults, with --resume (audit)", (c) => {
  const dir = tmp(`bu-flt-${c.name}-`);

  it.each(MIXES)("seed $seed, faults $faults, retries $retries: every row once, nobody sent twice, counts and exit codes right", async ({ seed, faults, retries, concurrency }) => {
    const input = makeInput(c, dir, `s${seed}`, seed, 150);
    const w = await startWorld(c, { faults, seed, refuse: input.refuse });
    const runs = await importWithResumes(w, input, dir, `s${seed}`, { retries, concurrency });
    const final = runs[runs.length - 1]!;
    checkVendor(w, input, final, runs);
    // The faults happened (ZEGO and Royalti need few requests: a lucky seed may meet none).
    if (w.emu.stats.requests >= 20) expect(Object.values(w.emu.stats.faults).filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    // The report command counts the same rows.
    const rep = await runCli(["report", final.report, "--json"]);
    const counted: Record<string, number> = {};
    for (const r of final.rows) counted[r.status] = (counted[r.status] ?? 0) + 1;
    expect((JSON.parse(rep.stdout) as { counts: Record<string, number> }).counts).toEqual(counted);
  }, 30_000);

  it("a clean input under faults: resumed until done, the last run exits 0", async () => {
    const input = makeInput(c, dir, "clean", 9, 60, { clean: true });
    const w = await startWorld(c, { faults: { error: 0.1, timeout: 0.1, throttle: 0.1, drop: 0.05 }, seed: 9 });
    const runs = await importWithResumes(w, input, dir, "clean");
    const final = runs[runs.length - 1]!;
    checkVendor(w, input, final, runs);
    if (final.rows.every((r) => c.success.has(r.status))) expect(final.code).toBe(0);
  }, 30_000);

  it.each([
    { faults: { error: 1 }, retries: 2 },
    { faults: { throttle: 1 }, retries: 2 },
    { faults: { drop: 1 }, retries: 2 },
    { faults: { error: 0.5, throttle: 0.5 }, retries: RETRIES },
  ])("a vendor that always answers $faults, --retries $retries: the run ends, exit 1, every row reported, requests bounded", async ({ faults, retries }) => {
    const tag = `always-${Object.keys(faults).join("-")}`;
    const input = makeInput(c, dir, tag, 20, 120, { noRefuse: true });
    const w = await startWorld(c, { faults, seed: 4 });
    const run = await runOnce(w, input, `${dir}/${tag}.jsonl`, [], { retries });
    checkRun(w, input, run, retries);
    expect(run.code).toBe(1);
    for (const r of run.rows) if (input.lines.get(rowKey(r))!.kind === "valid") expect(r, rowKey(r)).toMatchObject({ status: "failed", retryable: true });
    // Nothing processed; each batch takes at most retries + 1 requests (no split without an answer naming a refusal).
    expect(w.emu.users()).toHaveLength(0);
    expect(w.emu.stats.requests).toBeLessThanOrEqual(8 * (retries + 1));
    expect(run.ms).toBeLessThan(15_000);
  }, 20_000);
});

describe("a vendor that processes every request and never answers (audit)", () => {
  it.each(CASES.map((c) => c.name))("%s: the run ends at its timeouts with exit 1, the resume finds every user as exists and exits 0", async (name) => {
    const c = CASES.find((x) => x.name === name)!;
    const dir = tmp(`bu-flt-to-${name}-`);
    const input = makeInput(c, dir, "hang", 30, 60, { clean: true });
    const token = name === "genauth" || name === "huawei-workspace";
    const w = await startWorld(c, { faults: { timeout: token ? 0 : 1 }, seed: 5 });
    // The token first (its route gets the faults too), then every create request hangs.
    const tapped = w.on;
    w.on = (p) => {
      tapped(p);
      if (!c.keysOf(JSON.parse(p.req.body || "null") ?? {})) w.faults.timeout = 1;
    };
    const retries = 1;
    const first = await runOnce(w, input, `${dir}/hang-1.jsonl`, [], { retries, timeout: 300 });
    checkRun(w, input, first, retries);
    expect(first.code).toBe(1);
    expect(first.ms).toBeLessThan(15_000);
    w.on = tapped;
    w.faults.timeout = 0;
    const second = await runOnce(w, input, `${dir}/hang-2.jsonl`, [], { resume: first.report });
    checkRun(w, input, second);
    checkVendor(w, input, second, [first, second]);
    expect(second.code).toBe(0);
  }, 30_000);
});

describe("a token service that fails once, then a throttled request (audit)", () => {
  it.each(["genauth", "huawei-workspace"])("%s: the token's failure does not use up the retry of the request, which is created", async (name) => {
    const c = CASES.find((x) => x.name === name)!;
    const dir = tmp(`bu-flt-tok-${name}-`);
    const input = makeInput(c, dir, "tok", 50, 40, { clean: true });
    // The token call fails once (5xx); once a token is issued, the create request is throttled once.
    const w = await startWorld(c, { faults: { error: 1 }, seed: 6 });
    const tapped = w.on;
    w.on = (p) => {
      tapped(p);
      if (!c.keysOf(JSON.parse(p.req.body || "null") ?? {})) w.faults.throttle = 1;
    };
    w.fault = (kind, req) => {
      if (kind === "error") w.faults.error = 0;
      else if (c.keysOf(JSON.parse(req.body || "null") ?? {})) w.faults.throttle = 0;
    };
    const run = await runOnce(w, input, `${dir}/tok.jsonl`, [], { retries: 1 });
    checkRun(w, input, run, 1);
    expect(w.emu.stats.faults).toMatchObject({ error: 1, throttle: 1 });
    expect(run.rows.map((r) => r.status)).toEqual(run.rows.map(() => "created"));
    expect(run.code).toBe(0);
  });
});

describe("--sandbox --sandbox-faults: the CLI's own in-process emulator (audit)", () => {
  it.each(["zego", "imkit", "genauth"])("%s: every row once, counts and exit code right, the store matches the report", async (name) => {
    const c = CASES.find((x) => x.name === name)!;
    const dir = tmp(`bu-flt-sb-${name}-`);
    const input = makeInput(c, dir, "sb", 40, 150, { noRefuse: true });
    let w: World | undefined;
    tap.created.set(name, (emu) => {
      const x: World = { c, emu: emu as Emulator, env: {}, faults: {}, phases: [[]], on: (p) => x.phases[x.phases.length - 1]?.push(p) };
      tap.worlds.set(emu, { storedKey: c.storedKey, on: (p) => x.on(p) });
      w = x;
    });
    const report = `${dir}/sb.jsonl`;
    const args = ["import", ...input.files, "-p", name, "-m", input.mapping, "--sandbox", "--sandbox-faults", "error=0.1,timeout=0.05,throttle=0.1,drop=0.05", "--sandbox-seed", "7"];
    const r = await runCli([...args, "--timeout", "300", "--backoff-base", "20", "--report", report, "--json", "--no-progress"]);
    tap.created.delete(name);
    expect(r.code, r.stderr).not.toBe(2);
    const run: Run = { code: r.code, report, rows: readReport(report), summary: JSON.parse(r.stdout.trim().split("\n").pop()!) as Run["summary"], stderr: r.stderr, ms: 0 };
    checkRun(w!, input, run);
    checkVendor(w!, input, run, [run]);
    expect(Object.values(w!.emu.stats.faults).some((n) => n > 0)).toBe(true);
  }, 20_000);
});
});
