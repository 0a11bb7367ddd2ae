import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, multiplicity, readReport, runCli, tmp, write } from "../helpers.js";

const env = { ZEGO_APP_ID: "1234567890", ZEGO_SERVER_SECRET: "resume-secret-resume-secret-0001" };
const N = 3000;

function spawnCli(args: string[]) {
  const child = spawn(process.execPath, ["bin/bulk-users.js", ...args], { env: { ...process.env, ...env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, exited, out: () => ({ stdout, stderr }) };
}

/** Every input row exactly once in the report, every user exactly once at the emulator, none failed. */
function assertExactlyOnce(emu: Emulator, report: string) {
  const rows = readReport(report);
  const lines = rows.map((r) => r.line).sort((a, b) => a - b);
  expect(lines).toEqual(Array.from({ length: N }, (_, i) => i + 2));
  expect(rows.filter((r) => !["created", "exists"].includes(r.status))).toEqual([]);
  const m = multiplicity(emu.users(), "UserId");
  expect(m.size).toBe(N);
  expect([...m.values()].every((v) => v === 1)).toBe(true);
}

describe("crash safety and --resume", () => {
  const dir = tmp();
  const input = write(dir, "users.csv", csv(["user_id"], Array.from({ length: N }, (_, i) => [`r${i}`])));
  const emus: Emulator[] = [];
  const start = async () => {
    const emu = createZegoEmulator({ env, latencyMs: 40 });
    await emu.listen(0);
    emus.push(emu);
    return emu;
  };
  afterAll(() => Promise.all(emus.map((e) => e.close())));

  it("Ctrl-C stops reading, finishes requests in flight, exits 3 and prints the resume command", async () => {
    const emu = await start();
    const report = `${dir}/int.jsonl`;
    const p = spawnCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", report, "--rate", "10"]);
    // Interrupt once the first answers are in the report (bounded wait), whatever the machine's speed.
    for (let i = 0; i < 200 && !(existsSync(report) && readFileSync(report, "utf8").length > 0); i++) await new Promise((r) => setTimeout(r, 50));
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(3);
    expect(p.out().stderr).toMatch(/--resume .*int\.jsonl/);
    const done = readReport(report);
    expect(done.length).toBeGreaterThan(0);
    expect(done.length).toBeLessThan(N);
    // Every user the emulator has is in the report: nothing in flight was left unrecorded.
    expect(emu.users().length).toBe(done.filter((r) => r.status === "created").length);
    const r = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--resume", report, "--report", `${dir}/int2.jsonl`], { env });
    expect(r.code).toBe(0);
    assertExactlyOnce(emu, `${dir}/int2.jsonl`);
    // Carried rows keep no `t` (the earlier run's clock); this run's answers have theirs.
    const carried = new Set(done.map((x) => x.line));
    const rows2 = readReport(`${dir}/int2.jsonl`);
    expect(rows2.filter((x) => carried.has(x.line)).every((x) => x.t === undefined)).toBe(true);
    expect(rows2.filter((x) => !carried.has(x.line)).every((x) => typeof x.t === "number")).toBe(true);
  });

  it.each([1, 2, 3])("SIGKILL at a random moment (seed %i), then --resume: no user lost or sent twice", async (seed) => {
    const emu = await start();
    const report = `${dir}/kill-${seed}.jsonl`;
    const p = spawnCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", report]);
    // From the moment the report exists (a slow start must not leave nothing to resume from).
    for (let i = 0; i < 400 && !existsSync(report); i++) await new Promise((r) => setTimeout(r, 25));
    const at = 100 + ((seed * 7919) % 900);
    await new Promise((r) => setTimeout(r, at));
    p.child.kill("SIGKILL");
    await p.exited;
    expect(readReport(report).length).toBeLessThan(N);
    // Each answer's rows are written as it comes: a kill loses at most the 4 requests in flight.
    expect(emu.users().length - readReport(report).length).toBeLessThanOrEqual(4 * 100);
    // A kill can tear the last line: resume must tolerate it.
    if (seed === 2) appendFileSync(report, '{"file":"');
    const r = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--resume", report, "--report", `${dir}/kill-${seed}-b.jsonl`, "--json"], { env });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.counts.created + s.counts.exists + s.resumed).toBe(N);
    assertExactlyOnce(emu, `${dir}/kill-${seed}-b.jsonl`);
  });

  it("SIGKILL with requests in flight: the resumed run reports those users as probably created by the killed run", async () => {
    // Latency holds the answers back: the emulator stores a batch as it arrives, the client dies before hearing.
    const emu = createZegoEmulator({ env, latencyMs: 1500 });
    await emu.listen(0);
    emus.push(emu);
    const n = 600;
    const f = write(dir, "inflight.csv", csv(["user_id"], Array.from({ length: n }, (_, i) => [`f${i}`])));
    const report = `${dir}/inflight.jsonl`;
    const p = spawnCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", report, "--no-progress"]);
    // All four requests in flight (concurrency 4, 100 a batch) must have arrived: a kill between a
    // request's journal line and its arrival would leave a row journaled that the vendor never saw.
    for (let i = 0; i < 200 && emu.users().length < 400; i++) await new Promise((r) => setTimeout(r, 25));
    p.child.kill("SIGKILL");
    await p.exited;
    const answered = readReport(report).filter((r) => r.status === "created").length;
    const inFlight = emu.users().length - answered;
    expect(inFlight).toBeGreaterThan(0);
    // The journal names rows and key hashes only, never a key.
    const journal = readFileSync(`${report}.sent`, "utf8");
    expect(journal).toMatch(/^(\d+:\d+:\d+\n)+$/);
    expect(journal).not.toMatch(/f\d/);
    const again = `${dir}/inflight-b.jsonl`;
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", report, "--report", again, "--json"], { env });
    expect(r.code).toBe(0);
    const rows = readReport(again);
    expect(rows.map((row) => row.line).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 2));
    expect([...multiplicity(emu.users(), "UserId").values()].every((v) => v === 1)).toBe(true);
    expect(emu.users()).toHaveLength(n);
    const exists = rows.filter((row) => row.status === "exists");
    expect(exists).toHaveLength(inFlight);
    for (const row of exists) expect(row.message).toContain("the run this one resumes sent this user and got no answer, so that run probably created the user");
    // The new journal carries the rows still in doubt (sent, never answered) and none that were done.
    const ids = (text: string) => new Set(text.trim().split("\n").map((l) => l.split(":").slice(0, 2).join(":")));
    const doneBefore = new Set(readReport(report).filter((row) => row.status === "created").map((row) => `0:${row.line}`));
    const inDoubt = [...ids(journal)].filter((id) => !doneBefore.has(id));
    expect(inDoubt).toHaveLength(inFlight);
    const carried = ids(readFileSync(`${again}.sent`, "utf8"));
    for (const id of inDoubt) expect(carried.has(id), id).toBe(true);
    for (const id of doneBefore) expect(carried.has(id), id).toBe(false);
    // Those rows are done now: resuming the resumed run sends nothing.
    const third = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", again, "--report", `${dir}/inflight-c.jsonl`, "--json"], { env });
    expect(JSON.parse(third.stdout)).toMatchObject({ resumed: n, requests: 0 });
  });

  it("a dry run written over an import's report takes that run's meta and journal with it", async () => {
    const emu = await start();
    const f = write(dir, "over.csv", csv(["user_id"], [["o1"], ["o2"]]));
    const report = `${dir}/over.jsonl`;
    expect((await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", report], { env })).code).toBe(0);
    expect(existsSync(`${report}.meta.json`) && existsSync(`${report}.sent`)).toBe(true);
    expect((await runCli(["validate", f, "-p", "zego", "--report", report])).code).toBe(0);
    expect(existsSync(`${report}.meta.json`) || existsSync(`${report}.sent`)).toBe(false);
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", report, "--report", `${dir}/over2.jsonl`], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/meta\.json is missing/);
  });

  it("refuses to resume when the input changed, unless --force", async () => {
    const emu = await start();
    const f = write(dir, "small.csv", csv(["user_id"], [["s1"], ["s2"]]));
    const report = `${dir}/small.jsonl`;
    expect((await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", report], { env })).code).toBe(0);
    writeFileSync(f, readFileSync(f, "utf8") + "s3\n");
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", report, "--report", `${dir}/small2.jsonl`], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Cannot resume: input .*small\.csv changed since the earlier run/);
    const forced = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", report, "--report", `${dir}/small3.jsonl`, "--force", "--json"], { env });
    expect(JSON.parse(forced.stdout)).toMatchObject({ resumed: 2, counts: { created: 1 } });
    // A shard's report resumes only that shard, even with --force.
    const shard = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", report, "--report", `${dir}/small4.jsonl`, "--force", "--shard", "1/2"], { env });
    expect(shard.code).toBe(2);
    expect(shard.stderr).toMatch(/the earlier run was not sharded, this one is shard 1\/2/);
    expect(shard.stderr).toMatch(/--force does not change that/);
    // Without --force the hint must not offer it either.
    const unforced = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", report, "--report", `${dir}/small5.jsonl`, "--shard", "1/2"], { env });
    expect(unforced.stderr).not.toMatch(/pass --force/);
    // The resumed report's journal is read, not written over.
    const journal = readFileSync(`${report}.sent`, "utf8");
    const onJournal = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", report, "--report", `${report}.sent`], { env });
    expect(onJournal.code).toBe(2);
    expect(onJournal.stderr).toMatch(/would overwrite the resumed report's journal/);
    expect(readFileSync(`${report}.sent`, "utf8")).toBe(journal);
  });

  it("--force over an input with a row inserted still sends the new user, and says lines moved", async () => {
    const emu = await start();
    const f = write(dir, "moved.csv", csv(["user_id"], [["v1"], ["v2"], ["v3"]]));
    expect((await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/moved1.jsonl`], { env })).code).toBe(0);
    writeFileSync(f, csv(["user_id"], [["v0"], ["v1"], ["v2"], ["v3"]]));
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", `${dir}/moved1.jsonl`, "--report", `${dir}/moved2.jsonl`, "--force"], { env });
    expect(r.code).toBe(0);
    expect(emu.users().map((u) => u.UserId).sort()).toEqual(["v0", "v1", "v2", "v3"]);
    expect(r.stderr).toMatch(/3 row\(s\) held another user than the resumed report has at the same line/);
    // That report has two rows for a moved line: the later one tells who the line holds now, so
    // resuming it (input unchanged since) sends nothing and moves nothing.
    const third = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", `${dir}/moved2.jsonl`, "--report", `${dir}/moved3.jsonl`, "--json"], { env });
    expect(third.code).toBe(0);
    expect(JSON.parse(third.stdout)).toMatchObject({ resumed: 4, requests: 0 });
    expect(third.stderr).not.toMatch(/held another user/);
    const line2 = readReport(`${dir}/moved3.jsonl`).filter((row) => row.line === 2);
    expect(line2.map((row) => `${row.key} ${row.status}`)).toEqual(["v1 created", "v0 created"]);
    // Every user such a line held is done: the input changed back sends nothing again either.
    writeFileSync(f, csv(["user_id"], [["v1"], ["v2"], ["v3"]]));
    const back = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", `${dir}/moved2.jsonl`, "--report", `${dir}/moved4.jsonl`, "--force", "--json"], { env });
    expect(back.code).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ requests: 0 });
    expect(back.stderr).not.toMatch(/held another user/);
  });

  it("a line that moved and then failed is not called moved again by the next resume, and a new bad user there counts towards --max-errors", async () => {
    const faults = { error: 0 };
    const emu = createZegoEmulator({ env, faults });
    await emu.listen(0);
    emus.push(emu);
    const f = write(dir, "moved-failed.csv", csv(["user_id"], [["w1"], ["w2"], ["w3"]]));
    const run = (args: string[]) => runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--retries", "0", "--json", ...args], { env });
    expect((await run(["--report", `${dir}/mf1.jsonl`])).code).toBe(0);
    writeFileSync(f, csv(["user_id"], [["w0"], ["w1"], ["w2"], ["w3"]]));
    faults.error = 1;
    const second = await run(["--resume", `${dir}/mf1.jsonl`, "--report", `${dir}/mf2.jsonl`, "--force"]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/3 row\(s\) held another user/);
    faults.error = 0;
    // The input is as that run read it: its report has w0 failing at line 2, so nothing moved since.
    const third = await run(["--resume", `${dir}/mf2.jsonl`, "--report", `${dir}/mf3.jsonl`]);
    expect(third.code).toBe(0);
    expect(third.stderr).not.toMatch(/held another user/);
    expect(emu.users().map((u) => u.UserId).sort()).toEqual(["w0", "w1", "w2", "w3"]);
    // A line the report has failing for one user now holds another, bad one: that is a new bad row.
    writeFileSync(f, csv(["user_id"], [["bad id"], ["w1"], ["w2"], ["w3"]]));
    faults.error = 1;
    const fourth = await run(["--resume", `${dir}/mf1.jsonl`, "--report", `${dir}/mf4.jsonl`, "--force"]);
    expect(fourth.code).toBe(1);
    faults.error = 0;
    writeFileSync(f, csv(["user_id"], [["bad id 2"], ["w1"], ["w2"], ["w3"]]));
    const fifth = await run(["--resume", `${dir}/mf4.jsonl`, "--report", `${dir}/mf5.jsonl`, "--force", "--max-errors", "1"]);
    expect(fifth.code).toBe(3);
    expect(fifth.stderr).toMatch(/Stopping: 1 rows invalid or failed besides those the resumed report had/);
  });

  it("failures the vendor may not have seen are sent again on resume; users it stored unanswered are told apart", async () => {
    // Faults read per request: zeroed after the first run, the same vendor answers the resume.
    const faults = { error: 0.3, timeout: 0.2 };
    const emu = createZegoEmulator({ env, faults, seed: 7 });
    await emu.listen(0);
    emus.push(emu);
    const n = 1500;
    const f = write(dir, "flaky.csv", csv(["user_id"], Array.from({ length: n }, (_, i) => [`t${i}`])));
    const report = `${dir}/flaky.jsonl`;
    const first = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", report, "--retries", "0", "--timeout", "400", "--json"], { env });
    expect(first.code).toBe(1);
    const failed = readReport(report).filter((r) => r.status === "failed");
    const { error: errors, timeout: timeouts } = { ...emu.stats.faults };
    expect(errors).toBeGreaterThan(0);
    expect(timeouts).toBeGreaterThan(0);
    expect(failed.length).toBe((errors + timeouts) * 100);
    expect(failed.every((r) => r.retryable === true)).toBe(true);
    const stored = emu.users().length;
    faults.error = faults.timeout = 0;
    const again = `${dir}/flaky-b.jsonl`;
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", report, "--report", again, "--json"], { env });
    expect(r.code).toBe(0);
    const rows = readReport(again);
    expect(rows.map((row) => row.line).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 2));
    expect(rows.filter((row) => !["created", "exists"].includes(row.status))).toEqual([]);
    expect(emu.users()).toHaveLength(n);
    expect([...multiplicity(emu.users(), "UserId").values()].every((v) => v === 1)).toBe(true);
    // The timed-out requests' users were stored: the resume meets them as existing, and says why.
    const exists = rows.filter((row) => row.status === "exists");
    expect(exists).toHaveLength(timeouts * 100);
    expect(stored - (n - failed.length)).toBe(exists.length);
    for (const row of exists) expect(row.message).toContain("the run this one resumes sent this user and got no answer");
  });

  it("resumes however the input and the report are spelled, and never over the report it resumes", async () => {
    const emu = await start();
    const sub = `${dir}/spelled`;
    mkdirSync(sub);
    const f = write(sub, "@users.csv", csv(["user_id"], Array.from({ length: 30 }, (_, i) => [`p${i}`])));
    const csvReport = `${sub}/a.csv`;
    expect((await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", csvReport], { env })).code).toBe(0);
    // Another spelling of the same input, and a CSV report whose file cells carry the formula guard.
    const again = await runCli(["import", `${sub}/./@users.csv`, "-p", "zego", "--endpoint", emu.url, "--resume", csvReport, "--report", `${sub}/b.jsonl`, "--json"], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ resumed: 30, requests: 0 });
    expect(new Set(readReport(`${sub}/b.jsonl`).map((r) => r.file))).toEqual(new Set([`${sub}/./@users.csv`]));
    const over = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", `${sub}/b.jsonl`, "--report", `${sub}/../spelled/b.jsonl`], { env });
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/needs a new report path/);
    expect(readReport(`${sub}/b.jsonl`)).toHaveLength(30);
  });

  it("--max-errors on a resumed run counts only rows that were not bad already, so each resume gets further", async () => {
    const emu = await start();
    const rows = Array.from({ length: 400 }, (_, i) => [i % 40 === 39 ? `bad id ${i}` : `m${i}`]);
    const f = write(dir, "errs.csv", csv(["user_id"], rows));
    const first = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/e1.jsonl`, "--max-errors", "3", "--json"], { env });
    expect(first.code).toBe(3);
    const r1 = JSON.parse(first.stdout);
    const second = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--resume", `${dir}/e1.jsonl`, "--report", `${dir}/e2.jsonl`, "--max-errors", "3", "--json"], { env });
    const r2 = JSON.parse(second.stdout);
    // The three bad rows met again do not stop it: it reads on to three new ones (or the end).
    expect(r2.rows).toBeGreaterThan(r1.rows);
    expect(r2.counts.invalid).toBeGreaterThanOrEqual(6);
  });

  it("a second Ctrl-C cancels the requests in flight instead of waiting out --grace", async () => {
    const emu = createZegoEmulator({ env, latencyMs: 5000 });
    await emu.listen(0);
    emus.push(emu);
    const t0 = Date.now();
    const p = spawnCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/twice.jsonl`, "--grace", "60000", "--no-progress"]);
    // Requests are in flight once the emulator has seen one (bounded wait).
    for (let i = 0; i < 200 && emu.stats.requests === 0; i++) await new Promise((r) => setTimeout(r, 50));
    p.child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 300));
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(3);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(p.out().stderr).toMatch(/Stopping now: requests in flight are cancelled/);
    expect(p.out().stderr).toMatch(/--resume .*twice\.jsonl/);
    // The cancelled requests' rows were sent: reported as failed, maybe created, not as unsent.
    const rows = readReport(`${dir}/twice.jsonl`);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.status === "failed" && r.code === "CANCELLED" && /may have created the user/.test(r.message ?? ""))).toBe(true);
    // Retryable: a resume sends them again and, meeting them as existing, knows why.
    expect(rows.every((r) => r.retryable === true)).toBe(true);
    expect(p.out().stderr).not.toMatch(/read but not sent before the run stopped: \d+/);
    // And the message is right: the emulator created them once its latency had passed.
    await new Promise((r) => setTimeout(r, 5500));
    const created = new Set(emu.users().map((u) => u.UserId));
    expect(rows.every((r) => created.has(r.key))).toBe(true);
  });

  it("one Ctrl-C waits out --grace for the requests in flight, then cancels them", async () => {
    const emu = createZegoEmulator({ env, latencyMs: 8000 });
    await emu.listen(0);
    emus.push(emu);
    const p = spawnCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/grace.jsonl`, "--grace", "300", "--no-progress"]);
    for (let i = 0; i < 200 && emu.stats.requests === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(3);
    // Well before the vendor's 8 s answer: the grace, not the default 10 s, bounded the wait.
    expect(Date.now() - t0).toBeLessThan(6000);
    const rows = readReport(`${dir}/grace.jsonl`);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.status === "failed" && r.code === "CANCELLED")).toBe(true);
  });

  it("Ctrl-C held down (a signal every 2 ms until the process is gone) still exits 3 with the summary and the resume command", async () => {
    const emu = createZegoEmulator({ env, latencyMs: 100 });
    await emu.listen(0);
    emus.push(emu);
    const report = `${dir}/held.jsonl`;
    const p = spawnCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", report, "--json", "--no-progress"]);
    let gone = false;
    void p.exited.then(() => (gone = true));
    for (let i = 0; i < 200 && emu.stats.requests === 0; i++) await new Promise((r) => setTimeout(r, 20));
    p.child.kill("SIGINT");
    for (let i = 0; i < 500 && !gone && !p.out().stderr.includes("Stopping:"); i++) await new Promise((r) => setTimeout(r, 2));
    // The key held: the signals go on through the summary and the process's exit (bounded: 10 s).
    for (let i = 0; i < 5000 && !gone; i++) {
      p.child.kill("SIGINT");
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(await p.exited).toBe(3);
    expect(p.child.signalCode).toBeNull();
    const summary = JSON.parse(p.out().stdout);
    expect(summary).toMatchObject({ exitCode: 3, stopped: expect.anything() });
    expect(summary.resumeCommand).toMatch(/--resume .*held\.jsonl/);
  });

  it("Ctrl-C during a backoff: the users already sent are failed STOPPED, maybe created, not counted as never sent", async () => {
    // Every request is processed and never answered: each attempt times out, then waits 3 s.
    const emu = createZegoEmulator({ env, faults: { timeout: 1 } });
    await emu.listen(0);
    emus.push(emu);
    const f = write(dir, "backoff.csv", csv(["user_id"], Array.from({ length: 200 }, (_, i) => [`b${i}`])));
    const p = spawnCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/backoff.jsonl`, "--timeout", "300", "--backoff-base", "3000", "--no-progress"]);
    for (let i = 0; i < 200 && emu.stats.requests < 2; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(3);
    const rows = readReport(`${dir}/backoff.jsonl`);
    expect(rows).toHaveLength(200);
    expect(rows.every((r) => r.status === "failed" && r.code === "STOPPED" && /may have created the user/.test(r.message ?? ""))).toBe(true);
    expect(p.out().stdout + p.out().stderr).not.toMatch(/read but not sent before the run stopped: \d+/);
    expect(emu.users()).toHaveLength(200);
  });

  it("a stopped run that read standard input prints no resume command it could not run", async () => {
    const emu = await start();
    const r = await runCli(["import", "-", "--format", "csv", "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/stdin.jsonl`, "--max-errors", "1"], { env, stdin: "user_id\nbad id\nok1\n" });
    expect(r.code).toBe(3);
    expect(r.stderr).not.toMatch(/--resume/);
    expect(r.stderr).toMatch(/standard input cannot be resumed/);
  });
});
