import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BulkUsersError, ErrorCode, ExitCode } from "../../src/index.js";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { main } from "../../src/cli.js";
import type { Counts, ImportSummary, Progress } from "../../src/core/import.js";
import { colors } from "../../src/ui/logger.js";
import { createProgress } from "../../src/ui/progress.js";
import { formatSummary } from "../../src/ui/summary.js";
import { csv, readReport, runCli, startEmulator, tmp, write } from "../helpers.js";

// Tests written against hand-made mutants of the command layer that no existing test killed.

const env = { ZEGO_APP_ID: "4242424242", ZEGO_SERVER_SECRET: "cli-audit-secret-cli-audit-sec01" };

describe("command layer (audit)", () => {
  const dir = tmp("bu-cli-audit-");
  let emu: Emulator;
  beforeAll(async () => {
    emu = createZegoEmulator({ env });
    await emu.listen(0);
  });
  afterAll(() => emu.close());
  const input = write(dir, "u.csv", csv(["user_id", "name"], [["a1", "A"], ["a 2", "B"], ["a3", "C"], ["a1", "D"]]));

  it("exports the README's exit codes, and a run-level error of --max-errors or Ctrl-C carries exit 3", () => {
    expect(ExitCode).toEqual({ OK: 0, ROWS_FAILED: 1, USAGE: 2, INTERRUPTED: 3 });
    expect(new BulkUsersError(ErrorCode.MAX_ERRORS, "x").exitCode).toBe(3);
    expect(new BulkUsersError(ErrorCode.INTERRUPTED, "x").exitCode).toBe(3);
    expect(new BulkUsersError(ErrorCode.CREDENTIALS_MISSING, "x").exitCode).toBe(2);
  });

  it("--version prints the package's version and exits 0", async () => {
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version);
  });

  it("an unexpected crash exits 2, never 1 (which a job reads as some rows being bad)", async () => {
    let stderr = "";
    const code = await main(["providers"], {
      stdout: {
        write: () => {
          throw new Error("boom");
        },
      },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      env: { NO_COLOR: "1" },
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: unexpected failure: Error: boom/);
  });

  it("--concurrency 0 is a usage error naming the range, before anything is sent", async () => {
    const r = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/c0.jsonl`, "--concurrency", "0"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--concurrency takes a whole number from 1");
    expect(emu.users()).toHaveLength(0);
  });

  it("--shard takes exactly K/N: trailing or leading text is refused", async () => {
    for (const bad of ["1/2x", "x1/2", "1/2/3"]) {
      const r = await runCli(["validate", input, "-p", "zego", "--report", `${dir}/sh.jsonl`, "--shard", bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain("--shard takes K/N");
    }
  });

  it("--sandbox with --endpoint is refused (exit 2), not one of them silently ignored", async () => {
    const r = await runCli(["import", input, "-p", "zego", "--sandbox", "--endpoint", emu.url, "--report", `${dir}/sbe.jsonl`], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'--sandbox' cannot be used with option '--endpoint");
    expect(emu.users()).toHaveLength(0);
    expect(existsSync(`${dir}/sbe.jsonl`)).toBe(false);
  });

  it("--sandbox-faults refuses a probability above 1, a non-decimal or empty one, a kind twice and rates adding past 1", async () => {
    for (const bad of ["error=1.5", "error=0x1", "error=1e-1", "error=", "error", "error=0.1=2", "error=0.1,error=0.2", "error=0.6,drop=0.6"]) {
      const r = await runCli(["import", input, "-p", "zego", "--sandbox", "--report", `${dir}/sf.jsonl`, "--sandbox-faults", bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toContain("--sandbox-faults takes kind=probability pairs");
    }
    expect(existsSync(`${dir}/sf.jsonl`)).toBe(false);
  });

  it("on a terminal a progress bar shows rows read, sent, ok and failed; --json draws none and keeps stderr quiet", async () => {
    const bar = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/tty.jsonl`], { env, tty: true });
    expect(bar.code).toBe(1);
    expect(bar.stderr).toMatch(/read 4 \| sent 2 \| ok 2 \| failed 2 \| \d+ users\/s \| retries 0/);
    const json = await runCli(["import", input, "-p", "zego", "--sandbox", "--report", `${dir}/tty-json.jsonl`, "--json"], { tty: true });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ rows: 4 });
    expect(json.stderr).not.toMatch(/read \d+ \|/);
    expect(json.stderr).not.toContain("Sandbox:");
  });

  it("--help lists the documented defaults of --concurrency, --retries, --timeout and --grace", async () => {
    const r = await runCli(["import", "--help"]);
    expect(r.code).toBe(0);
    const flat = r.stdout.replace(/\s+/g, " ");
    expect(flat).toMatch(/--concurrency <n> (?:(?! --).)*\(default: 4\)/);
    expect(flat).toMatch(/--retries <n> (?:(?! --).)*\(default: 5\)/);
    expect(flat).toMatch(/--timeout <ms> (?:(?! --).)*\(default: 30000\)/);
    expect(flat).toMatch(/--grace <ms> (?:(?! --).)*\(default: 10000\)/);
  });

  it("the default per-request timeout outlasts an answer 3.5 s late", async () => {
    const r = await runCli(["import", input, "-p", "zego", "--sandbox", "--sandbox-latency", "3500", "--retries", "0", "--report", `${dir}/slow.jsonl`, "--no-progress"]);
    expect(readReport(`${dir}/slow.jsonl`).filter((x) => x.status === "failed")).toEqual([]);
    expect(r.code).toBe(1);
  });

  it("providers lists the five providers and points at the details command", async () => {
    const r = await runCli(["providers"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").filter((l) => / — \d+\/request, /.test(l)).map((l) => l.split(" ")[0])).toEqual(["genauth", "huawei-workspace", "imkit", "royalti", "zego"]);
    expect(r.stdout.endsWith("\nDetails: bulk-users providers <name>\n")).toBe(true);
  });

  it("mapping preview shows 5 rows by default (-n)", async () => {
    const r = await runCli(["mapping", "preview", "samples/users.csv", "-p", "zego", "-m", "samples/zego.mapping.yaml"]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^samples\/users\.csv, line \d+ /gm)).toHaveLength(5);
    const json = await runCli(["mapping", "preview", "samples/users.csv", "-p", "zego", "-m", "samples/zego.mapping.yaml", "--json"]);
    expect(json.stdout.trim().split("\n")).toHaveLength(5);
  });

  it("report --html refuses the report's .meta.json and .sent as the page's path, and leaves them as they were", async () => {
    const report = `${dir}/rep.jsonl`;
    const r = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", report, "--no-progress"], { env });
    expect(r.code).toBe(1);
    for (const state of [`${report}.meta.json`, `${report}.sent`]) {
      expect(existsSync(state)).toBe(true);
      const before = readFileSync(state, "utf8");
      const h = await runCli(["report", report, "--html", state]);
      expect(h.code, state).toBe(2);
      expect(h.stderr).toContain("which is the report or its resume state");
      expect(readFileSync(state, "utf8")).toBe(before);
    }
  });

  it("report lists the 10 most frequent error codes and counts the rest", async () => {
    const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ file: "u.csv", line: i + 2, key: `k${i}`, status: "invalid", code: `CODE_${String(i).padStart(2, "0")}`, message: `m${i}` }));
    const rep = write(dir, "many-codes.jsonl", `${lines.join("\n")}\n`);
    const r = await runCli(["report", rep]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^ {2}CODE_\d\d ×1:$/gm)).toHaveLength(10);
    expect(r.stdout).toContain("  … 2 more error code(s)\n");
  });

  it("colours follow NO_COLOR (set and not empty) and appear only on a terminal (the one written to) or with FORCE_COLOR", async () => {
    const ansi = /\u001b\[/;
    const run = async (e: Record<string, string | undefined>, tty: boolean) => (await runCli(["providers"], { env: { NO_COLOR: undefined, FORCE_COLOR: undefined, ...e }, tty, stdoutTty: tty })).stdout;
    expect(await run({}, true)).toMatch(ansi);
    expect(await run({ NO_COLOR: "1" }, true)).not.toMatch(ansi);
    expect(await run({ NO_COLOR: "" }, true)).toMatch(ansi);
    expect(await run({}, false)).not.toMatch(ansi);
    expect(await run({ FORCE_COLOR: "1" }, false)).toMatch(ansi);
    expect(await run({ FORCE_COLOR: "0" }, false)).not.toMatch(ansi);
    expect(await run({ FORCE_COLOR: "1", NO_COLOR: "1" }, false)).not.toMatch(ansi);
  });

  const counts = (c: Partial<Counts>): Counts => ({ created: 0, updated: 0, upserted: 0, exists: 0, invalid: 0, duplicate: 0, failed: 0, valid: 0, ...c });
  const progress = (elapsedMs: number, c: Partial<Counts> = {}): Progress => ({ read: 10, sent: 8, counts: counts(c), requests: 2, retries: 1, throttled: 0, elapsedMs });

  it("off a terminal, progress is a plain stderr line at most every 5 s; none when disabled", async () => {
    let out = "";
    let err = "";
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s), isTTY: false }, env: {} };
    const view = await createProgress(io, { enabled: true });
    for (const ms of [1000, 4999, 5000, 6000, 9999, 10000]) view.update(progress(ms, { created: 5, exists: 1, invalid: 1, duplicate: 1, failed: 1 }));
    view.stop();
    expect(out).toBe("");
    expect(err).toBe("[5s] read 10, sent 8, ok 6, failed 3, 2 users/s, retries 1\n[10s] read 10, sent 8, ok 6, failed 3, 1 users/s, retries 1\n");
    err = "";
    const off = await createProgress(io, { enabled: false });
    off.update(progress(60000));
    off.stop();
    expect(err).toBe("");
  });

  const summary = (s: Partial<ImportSummary>): ImportSummary => ({
    provider: "zego", dryRun: false, rows: 0, counts: counts({}), resumed: 0, otherShards: 0, notSent: 0, requests: 0, retries: 0, throttled: 0, splits: 0, durationMs: 0, usersPerSecond: 0, topErrors: [], exitCode: 0, ...s,
  });
  const c = colors({ stdout: { write: () => true }, stderr: { write: () => true }, env: { NO_COLOR: "1" } });

  it("the human summary lists each non-zero status in a fixed order, then the run's facts, errors, report and stop reason", () => {
    const err = (code: string, line: number) => ({ code, count: 1, example: { file: "u.csv", line, key: `k${line}`, message: `m${line}` } });
    const text = formatSummary(
      summary({
        rows: 12, durationMs: 2500, counts: counts({ created: 3, upserted: 1, exists: 2, invalid: 2, duplicate: 1, failed: 1 }), resumed: 4, otherShards: 5, notSent: 2,
        requests: 3, retries: 1, throttled: 0, usersPerSecond: 2.4, report: "r.jsonl", failedOut: "fix.csv", stopped: "max-errors",
        topErrors: [err("A", 2), err("B", 3), err("C", 4), err("D", 5), err("E", 6), err("F", 7)], exitCode: 3,
      }),
      c,
    );
    expect(text).toBe(
      [
        "Import into zego: 12 row(s) in 2.5 s",
        "  created 3, upserted 1, exists 2, invalid 2, duplicate 1, failed 1",
        "  carried over from the resumed report: 4",
        "  rows of other shards skipped: 5",
        "  read but not sent before the run stopped: 2 (--resume sends them)",
        "  3 request(s), 1 retry, 0 throttled, 2.4 users/s",
        ...["A", "B", "C", "D", "E"].map((k, i) => `  ${k} ×1: e.g. u.csv line ${i + 2} (k${i + 2}): m${i + 2}`),
        "  report: r.jsonl",
        "  rows to fix: fix.csv",
        "  stopped by --max-errors",
        "",
      ].join("\n"),
    );
    expect(formatSummary(summary({ dryRun: true, rows: 2, counts: counts({ valid: 2 }), failedOut: "fix.csv", retries: 2 }), c)).toBe("Dry run into zego: 2 row(s) in 0.0 s\n  valid 2\n  rows to fix: none (fix.csv is empty)\n");
    expect(formatSummary(summary({ retries: 2, counts: counts({ failed: 1 }), rows: 1, failedOut: "f.jsonl", stopped: "interrupted" }), c)).toBe(
      "Import into zego: 1 row(s) in 0.0 s\n  failed 1\n  0 request(s), 2 retries, 0 throttled, 0 users/s\n  rows to fix: f.jsonl\n  interrupted\n",
    );
    expect(formatSummary(summary({}), c)).toContain("\n  no rows\n");
    // Codes come from the vendor too: one line, no terminal escapes.
    const hostile = formatSummary(summary({ rows: 1, counts: counts({ failed: 1 }), topErrors: [{ code: "X\u001b]0;pwned\u0007\nY", count: 1, example: { file: "u.csv", line: 2, key: "k", message: "m" } }] }), c);
    expect(hostile).toContain("  X ]0;pwned Y ×1: e.g. u.csv line 2 (k): m\n");
  });

  it("the resume command after --max-errors is the same command line with --resume in place of --report", async () => {
    const bad = write(dir, "bad.csv", csv(["user_id"], [["bad id 1"], ["bad id 2"], ["ok3"]]));
    const report = `${dir}/stop.jsonl`;
    const r = await runCli(["import", bad, "-p", "zego", "--endpoint", emu.url, "--report", report, "--max-errors", "1", "--no-progress"], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`Finish the job with: bulk-users import ${bad} -p zego --endpoint ${emu.url} --max-errors 1 --no-progress --resume ${report}\n`);
  });

  it("after refused credentials the CLI says nothing more was sent and how to finish once they are fixed", async () => {
    const report = `${dir}/auth.jsonl`;
    const r = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", report, "--no-progress"], { env: { ZEGO_APP_ID: env.ZEGO_APP_ID, ZEGO_SERVER_SECRET: "wrong-secret-wrong-secret-wrong9" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Nothing more was sent. After fixing the credentials, finish with: bulk-users import ${input} -p zego --endpoint ${emu.url} --no-progress --resume ${report}\n`);
  });

  it("a --summary path refused for being the input gets no failure summary appended: the input stays as it was", async () => {
    const own = write(dir, "own.csv", csv(["user_id"], [["s1"], ["s2"]]));
    const before = readFileSync(own, "utf8");
    const r = await runCli(["validate", own, "-p", "zego", "--report", `${dir}/own.jsonl`, "--summary", own]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("would overwrite the input");
    expect(readFileSync(own, "utf8")).toBe(before);
  });

  it("row data and names in error lines lose bidi overrides and C1 control characters", async () => {
    const r = await runCli(["validate", input, "-p", "zeg\u202eo\u009b2J", "--report", `${dir}/bidi.jsonl`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown provider `zeg o 2J`");
    expect(r.stderr).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u0080-\u009f]/);
  });
});

/** One bounded loopback request; resolves with the status, or "dropped" when the connection closes unanswered. */
function post(url: string): Promise<number | "dropped"> {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", timeout: 5000, headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve("dropped"));
    req.on("timeout", () => req.destroy());
    req.end("{}");
  });
}

describe("bulk-users emulate (audit)", () => {
  it("with only some of the provider's variables set, prints a full set of throwaway credentials", async () => {
    const emu = await startEmulator(["zego"], { ZEGO_APP_ID: "123456", ZEGO_SERVER_SECRET: "" });
    try {
      expect(emu.out).toContain("Throwaway credentials it accepts (emulator only):");
      expect(Object.keys(Object.fromEntries([...emu.out.matchAll(/export (\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]))).sort()).toEqual(["ZEGO_APP_ID", "ZEGO_SERVER_SECRET"]);
    } finally {
      await emu.stop();
    }
  });

  it("--rate-limit and --drop-rate reach the emulator", async () => {
    const emu = await startEmulator(["zego", "--rate-limit", "1", "--drop-rate", "1"], { ZEGO_APP_ID: "", ZEGO_SERVER_SECRET: "" });
    try {
      const answers = await Promise.all([post(`${emu.url}/?Action=UserRegister`), post(`${emu.url}/?Action=UserRegister`)]);
      expect(answers).toContain("dropped");
      const stats = await new Promise<{ throttled: number; faults: { drop: number } }>((resolve, reject) => {
        const req = request(`${emu.url}/_emulator/stats`, { timeout: 5000 }, (res) => {
          let b = "";
          res.on("data", (d) => (b += d));
          res.on("end", () => resolve(JSON.parse(b)));
        });
        req.on("error", reject);
        req.end();
      });
      expect(stats.throttled).toBe(1);
      expect(stats.faults.drop).toBe(1);
    } finally {
      await emu.stop();
    }
  });

  it("an empty --latency or --seed is a usage error, not 0", () => {
    for (const flag of ["--latency", "--seed", "--rate-limit"]) {
      const r = spawnSync(process.execPath, ["bin/bulk-users.js", "emulate", "zego", "--port", "0", flag, " "], { encoding: "utf8", timeout: 15_000, env: { ...process.env, NO_COLOR: "1" } });
      expect(r.status, flag).toBe(2);
      expect(r.stderr).toContain(`${flag}: expected a whole number`);
    }
  });
});
