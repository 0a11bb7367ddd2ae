import { spawnSync } from "node:child_process";
import { existsSync, linkSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, readReport, runCli, tmp, write } from "../helpers.js";

const SECRET = "s3cr3t-zego-server-secret-000001";
const env = { ZEGO_APP_ID: "1234567890", ZEGO_SERVER_SECRET: SECRET };

describe("bulk-users import (CLI)", () => {
  let emu: Emulator;
  const dir = tmp();
  const users = write(
    dir,
    "users.csv",
    csv(
      ["user_id", "first", "last"],
      [
        ["u1", "Ada", "Lovelace"],
        ["u2", "=HYPERLINK(\"x\")", "Evil"],
        ["bad id", "No", "Good"],
        ["u1", "Ada", "Again"],
      ],
    ),
  );
  const mapping = write(dir, "m.yaml", 'fields:\n  UserId: user_id\n  UserName: { template: "{first} {last}" }\n');

  beforeAll(async () => {
    emu = createZegoEmulator({ env });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  it("imports, writes a per-row report, prints a summary and exits 1 when some rows are bad", async () => {
    const report = `${dir}/r1.jsonl`;
    const r = await runCli(["import", users, "-p", "zego", "-m", mapping, "--endpoint", emu.url, "--report", report], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/created 2, invalid 1, duplicate 1/);
    const rows = readReport(report).sort((a, b) => a.line - b.line);
    expect(rows.map((x) => [x.line, x.key, x.status])).toEqual([
      [2, "u1", "created"],
      [3, "u2", "created"],
      [4, "bad id", "invalid"],
      [5, "u1", "duplicate"],
    ]);
    expect(rows[2]).toMatchObject({ field: "UserId", code: "BAD_CHARACTERS" });
    expect(rows[2]!.message).toMatch(/users\.csv, line 4, field UserId/);
    expect(rows[3]!.message).toMatch(/already appears at .*users\.csv line 2/);
  });

  it("a column missing from a later input's header stops the run before any user is sent", async () => {
    const other = write(dir, "second.csv", csv(["login", "first", "last"], [["u77", "A", "B"]]));
    const before = emu.stats.requests;
    const r = await runCli(["import", users, other, "-p", "zego", "-m", mapping, "--endpoint", emu.url, "--report", `${dir}/r-two.jsonl`], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/column `user_id` is not in the header of .*second\.csv/);
    expect(emu.stats.requests).toBe(before);
    // Stopped before the report was opened.
    expect(existsSync(`${dir}/r-two.jsonl`)).toBe(false);
  });

  it("--json prints only the summary object on stdout; a rerun finds everyone already there (exit 1 for the bad rows)", async () => {
    const r = await runCli(["import", users, "-p", "zego", "-m", mapping, "--endpoint", emu.url, "--report", `${dir}/r2.jsonl`, "--json"], { env });
    const s = JSON.parse(r.stdout);
    expect(s.counts).toMatchObject({ exists: 2, invalid: 1, duplicate: 1, created: 0 });
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
  });

  it("writes a CSV report whose formula-like cells are defused", async () => {
    const f = write(dir, "evil.csv", csv(["user_id"], [["+cmd"], ["u9"]]));
    const report = `${dir}/r3.csv`;
    await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", report], { env });
    const text = readFileSync(report, "utf8");
    expect(text.split("\n")[0]).toBe("file,line,key,status,code,message,field,id,attempts,retryable,t");
    expect(text).toMatch(/\n[^\n]*,2,'\+cmd,created,/);
  });

  it("exits 0 when every row succeeds", async () => {
    const f = write(dir, "ok.csv", csv(["user_id"], [["ok1"], ["ok2"]]));
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r4.jsonl`], { env });
    expect(r.code).toBe(0);
  });

  it("a missing credential is exit 2 naming the variable, before anything is sent", async () => {
    const before = emu.stats.requests;
    const r = await runCli(["import", users, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r5.jsonl`], { env: { ZEGO_APP_ID: "1" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ZEGO_SERVER_SECRET is not set/);
    expect(emu.stats.requests).toBe(before);
  });

  it("a refused signature stops the run with exit 2 and never prints the secret", async () => {
    const r = await runCli(["import", users, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r6.jsonl`], {
      env: { ZEGO_APP_ID: "1234567890", ZEGO_SERVER_SECRET: "wrong-secret-wrong-secret-000000" },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[zego\] authentication failed: 100000005/);
    expect(r.stderr + r.stdout).not.toContain("wrong-secret-wrong-secret-000000");
  });

  it("reads credentials from --dotenv; a missing file is a usage error naming it, through bin/ as a user runs it", async () => {
    const envFile = write(dir, ".env", `ZEGO_APP_ID=1234567890\nZEGO_SERVER_SECRET=${SECRET}\n`);
    const f = write(dir, "envfile.csv", csv(["user_id"], [["ef1"]]));
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--dotenv", envFile, "--report", `${dir}/r7.jsonl`], { env: {} });
    expect(r.code).toBe(0);
    // Node 20 itself takes --env-file wherever it stands (exit 9 for a missing file): the flag is --dotenv.
    const { ZEGO_APP_ID: _a, ZEGO_SERVER_SECRET: _s, ...clean } = process.env;
    const missing = spawnSync(process.execPath, ["bin/bulk-users.js", "import", f, "-p", "zego", "--endpoint", emu.url, "--dotenv", `${dir}/missing.env`, "--report", `${dir}/r7b.jsonl`], { encoding: "utf8", env: clean, timeout: 30_000 });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/Env file not found: .*missing\.env/);
  });

  it("many requests in flight at once (--concurrency 16) raise no listener-leak warning", async () => {
    const slow = createZegoEmulator({ env, latencyMs: 1000 });
    await slow.listen(0);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const f = write(dir, "many.csv", csv(["user_id"], Array.from({ length: 2000 }, (_, i) => [`many${i}`])));
      const r = await runCli(["import", f, "-p", "zego", "--endpoint", slow.url, "--concurrency", "16", "--report", `${dir}/many.jsonl`], { env });
      expect(r.code, r.stderr).toBe(0);
      await new Promise((res) => setImmediate(res));
      expect(Math.max(...slow.stats.arrivals.map((_, i, a) => a.filter((t) => t >= a[i]! && t < a[i]! + 900).length))).toBeGreaterThan(10);
    } finally {
      process.off("warning", onWarning);
      await slow.close();
    }
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });

  it("a connection refused never reached the vendor: its rows fail without the may-have-created message", async () => {
    const gone = createZegoEmulator({ env });
    const url = await gone.listen(0);
    await gone.close();
    const f = write(dir, "refused.csv", csv(["user_id"], [["ref1"], ["ref2"]]));
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", url, "--retries", "1", "--report", `${dir}/refused.jsonl`], { env });
    expect(r.code).toBe(1);
    const rows = readReport(`${dir}/refused.jsonl`);
    expect(rows.map((x) => [x.status, x.code])).toEqual([
      ["failed", "NETWORK"],
      ["failed", "NETWORK"],
    ]);
    expect(rows[0]!.message).toMatch(/ECONNREFUSED/);
    expect(rows[0]!.message).not.toMatch(/may have created/);
    // --retries 1: two attempts each.
    expect(rows.map((x) => x.attempts)).toEqual([2, 2]);
    expect(rows[0]!.message).toMatch(/gave up after 2 attempts/);
  });

  it("a mapping that cannot read an input stops the run before the report is opened: an earlier report there is left whole", async () => {
    const f = write(dir, "nocol.csv", csv(["user_id"], [["nc1"]]));
    const report = write(dir, "earlier.jsonl", '{"file":"x.csv","line":2,"key":"a","status":"created"}\n');
    const meta = write(dir, "earlier.jsonl.meta.json", "{}");
    const m = write(dir, "nocol.yaml", "fields:\n  UserId: user_id\n  UserName: full_name\n");
    const r = await runCli(["validate", f, "-p", "zego", "-m", m, "--report", report]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/full_name/);
    expect(readFileSync(report, "utf8")).toContain('"key":"a"');
    expect(readFileSync(meta, "utf8")).toBe("{}");
  });

  it("reads standard input with -", async () => {
    const r = await runCli(["import", "-", "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r8.jsonl`, "--json"], {
      env,
      stdin: "user_id\nstdin1\nstdin2\n",
    });
    expect(JSON.parse(r.stdout).counts.created).toBe(2);
  });

  it("reads JSONL with nested paths and reports a bad line without stopping", async () => {
    const f = write(dir, "u.jsonl", '{"p":{"id":"j1"}}\nnot json\n{"p":{"id":"j2"}}\n');
    const m = write(dir, "mj.yaml", "fields:\n  UserId: p.id\n");
    const report = `${dir}/r9.jsonl`;
    const r = await runCli(["import", f, "-p", "zego", "-m", m, "--endpoint", emu.url, "--report", report], { env });
    expect(r.code).toBe(1);
    const rows = readReport(report).sort((a, b) => a.line - b.line);
    expect(rows.map((x) => [x.line, x.status, x.code ?? ""])).toEqual([
      [1, "created", ""],
      [2, "invalid", "INPUT_BAD_JSON"],
      [3, "created", ""],
    ]);
  });

  it("refuses plain http to a non-loopback endpoint", async () => {
    const r = await runCli(["import", users, "-p", "zego", "--endpoint", "http://10.0.0.1:9", "--report", `${dir}/r10.jsonl`], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Refusing to send credentials over http/);
  });
});

describe("bulk-users validate / --dry-run", () => {
  const dir = tmp();
  it("needs no credentials, sends nothing, reports valid/invalid/duplicate", async () => {
    const f = write(dir, "v.csv", csv(["user_id"], [["a"], ["b c"], ["a"]]));
    const report = `${dir}/v.jsonl`;
    const r = await runCli(["validate", f, "-p", "zego", "--report", report], { env: {} });
    expect(r.code).toBe(1);
    expect(readReport(report).map((x) => x.status).sort()).toEqual(["duplicate", "invalid", "valid"]);
    const r2 = await runCli(["import", write(dir, "v2.csv", "user_id\nok\n"), "-p", "zego", "--dry-run", "--report", `${dir}/v2.jsonl`], { env: {} });
    expect(r2.code).toBe(0);
  });

  it("an unknown provider option is named by its key", async () => {
    const f = write(dir, "o.csv", csv(["email", "a", "b"], [["x@y.io", "A", "B"]]));
    const m = write(dir, "o.yaml", "fields:\n  email: email\n  firstName: a\n  lastName: b\noptions:\n  sendEmail: false\n  sendEmial: true\n");
    const r = await runCli(["validate", f, "-p", "royalti", "-m", m, "--report", `${dir}/o.jsonl`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unrecognized key: "sendEmial" \(.*o\.yaml, options\.sendEmial\)/);
  });

  it("a duplicate claims none of its other unique values, so it cannot make a later row a duplicate", async () => {
    const f = write(dir, "u.csv", csv(["email", "phone", "username"], [["a@x.com", "111111", ""], ["b@x.com", "111111", ""], ["b@x.com", "222222", ""], ["", "333333", "u1"], ["", "444444", "u1"], ["", "444444", "u2"]]));
    const m = write(dir, "u.yaml", "fields:\n  email: email\n  phone: phone\n  username: username\n");
    const report = `${dir}/u.jsonl`;
    await runCli(["validate", f, "-p", "genauth", "-m", m, "--report", report]);
    const rows = readReport(report).sort((a, b) => a.line - b.line);
    expect(rows.map((x) => [x.line, x.status])).toEqual([
      [2, "valid"],
      [3, "duplicate"],
      [4, "valid"],
      [5, "valid"],
      [6, "duplicate"],
      [7, "valid"],
    ]);
    expect(rows[1]!.message).toMatch(/phone `111111` already appears at .*u\.csv line 2/);
    expect(rows[4]!.message).toMatch(/username `u1` already appears at .*u\.csv line 5/);
  });
});

describe("object fields", () => {
  it("an object nested past 100 levels is invalid (TOO_DEEP) and the import goes on; one 100 deep is sent", async () => {
    const dir = tmp();
    const nest = (n: number) => `${'{"k":'.repeat(n)}1${"}".repeat(n)}`;
    const f = write(
      dir,
      "g.jsonl",
      [`{"u":"a","e":"a@example.com","d":${nest(5000)}}`, `{"u":"b","e":"b@example.com","d":${nest(100)}}`, `{"u":"c","e":"c@example.com","d":${nest(101)}}`].join("\n") + "\n",
    );
    const m = write(dir, "g.yaml", "fields:\n  username: u\n  email: e\n  customData: d\n");
    const r = await runCli(["import", f, "-p", "genauth", "-m", m, "--sandbox", "--report", `${dir}/r.jsonl`, "--no-progress"]);
    expect(r.code).toBe(1);
    const rows = readReport(`${dir}/r.jsonl`).sort((x, y) => x.line - y.line);
    expect(rows.map((x) => [x.line, x.status, x.code, x.field])).toEqual([
      [1, "invalid", "TOO_DEEP", "customData"],
      [2, "created", undefined, undefined],
      [3, "invalid", "TOO_DEEP", "customData"],
    ]);
    expect(rows[0]!.message).toMatch(/customData nests more than 100 levels deep \(.*g\.jsonl, line 1, field customData\)/);
  });
});

describe("CLI usage", () => {
  it("--help shows examples; unknown providers and options suggest the closest name", async () => {
    const h = await runCli(["import", "--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Examples:\n\s+\$ bulk-users import samples\/users.csv --provider zego --sandbox/);
    const p = await runCli(["validate", "x.csv", "-p", "zgo"]);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/Unknown provider `zgo`[\s\S]*Did you mean `zego`\?/);
    const o = await runCli(["import", "x.csv", "-p", "zego", "--dryrun"]);
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(/--dry-run/);
  });

  it("a missing input file is exit 2 naming it; a device is named for what it is", async () => {
    const r = await runCli(["validate", "nope.csv", "-p", "zego"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Input file not found: nope\.csv/);
    const dev = await runCli(["validate", "/dev/null", "-p", "zego"]);
    expect([dev.code, dev.stderr]).toEqual([2, expect.stringMatching(/Input is not a regular file \(a pipe, device or socket\): \/dev\/null[\s\S]*standard input/)]);
  });

  it("a JSON mapping saved with a BOM loads; a folder as the mapping is named as one", async () => {
    const dir = tmp();
    const input = write(dir, "in.csv", "id\na1\n");
    const m = write(dir, "m.json", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"fields":{"UserId":"id"}}')]));
    const ok = await runCli(["validate", input, "-p", "zego", "-m", m, "--report", `${dir}/r.jsonl`]);
    expect(ok.code, ok.stderr).toBe(0);
    const folder = await runCli(["validate", input, "-p", "zego", "-m", dir, "--report", `${dir}/r.jsonl`]);
    expect([folder.code, folder.stderr]).toEqual([2, expect.stringMatching(/The mapping is a folder, not a file/)]);
  });

  it("an input named twice (as the same path or another way to it) is exit 2 before anything is read", async () => {
    const dir = tmp();
    const f = write(dir, "u.jsonl", '{"user_id":"u1"}\n');
    for (const second of [f, `${dir}/../${dir.split("/").pop()}/u.jsonl`]) {
      const r = await runCli(["validate", f, second, "-p", "zego", "--report", `${dir}/r.jsonl`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/The input .*u\.jsonl is given twice \(inputs 1 and 2/);
      expect(existsSync(`${dir}/r.jsonl`)).toBe(false);
    }
    const stdin = await runCli(["validate", "-", "-", "-p", "zego", "--report", `${dir}/r.jsonl`], { stdin: "user_id\nu1\n" });
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toMatch(/Standard input can be read once/);
  });

  it("an output that is a hard link of an input, a folder, or in a missing folder is exit 2, and the input is kept", async () => {
    const dir = tmp();
    const input = write(dir, "in.csv", "UserId,UserName\na1,x\na2,y\n");
    linkSync(input, `${dir}/hard.csv`);
    for (const flag of ["--failed-out", "--report"]) {
      const r = await runCli(["validate", input, "-p", "zego", "--report", `${dir}/r.jsonl`, flag, `${dir}/hard.csv`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/would overwrite the input/);
    }
    expect(readFileSync(input, "utf8")).toBe("UserId,UserName\na1,x\na2,y\n");
    const twice = await runCli(["validate", input, `${dir}/hard.csv`, "-p", "zego", "--report", `${dir}/r.jsonl`]);
    expect(twice.stderr).toMatch(/is given twice/);
    const missing = await runCli(["validate", input, "-p", "zego", "--report", `${dir}/no/r.jsonl`]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/--report .*no\/r\.jsonl: the folder .*no does not exist/)]);
    const folder = await runCli(["validate", input, "-p", "zego", "--report", `${dir}/r.jsonl`, "--failed-out", dir]);
    expect([folder.code, folder.stderr]).toEqual([2, expect.stringMatching(/--failed-out .* is a folder/)]);
    // An import's report is its resume state: not a device. A dry run's may be.
    const device = await runCli(["import", input, "-p", "zego", "--sandbox", "--report", "/dev/null"]);
    expect([device.code, device.stderr]).toEqual([2, expect.stringMatching(/--report \/dev\/null is not a regular file/)]);
    expect(existsSync("/dev/null.meta.json")).toBe(false);
    expect((await runCli(["validate", input, "-p", "zego", "--report", "/dev/null"])).code).toBe(0);
  });

  it("a provider named like an Object member is unknown; --rate and --timeout outside what a timer or the limiter takes are exit 2", async () => {
    for (const args of [["validate", "x.csv", "-p", "__proto__"], ["validate", "x.csv", "-p", "toString"], ["providers", "constructor"], ["emulate", "hasOwnProperty"]]) {
      const r = await runCli(args);
      expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/Unknown provider/)]);
    }
    const dir = tmp();
    const input = write(dir, "in.csv", "UserId\na1\n");
    for (const bad of ["1000000000", "0.0000001"]) {
      const rate = await runCli(["import", input, "-p", "zego", "--sandbox", "--report", `${dir}/r.jsonl`, "--rate", bad]);
      expect([rate.code, rate.stderr]).toEqual([2, expect.stringMatching(/--rate takes requests per second from 1\/86400 \(one a day\), at most 10000/)]);
    }
    const timeout = await runCli(["import", input, "-p", "zego", "--sandbox", "--report", `${dir}/r.jsonl`, "--timeout", "2147483648"]);
    expect([timeout.code, timeout.stderr]).toEqual([2, expect.stringMatching(/--timeout takes a whole number from 1 to 2147483647/)]);
    const latency = await runCli(["emulate", "zego", "--latency", "1e12"]);
    expect([latency.code, latency.stderr]).toEqual([2, expect.stringMatching(/--latency: expected a whole number of ms from 0 to 2147483647, got `1e12`/)]);
    const fraction = await runCli(["import", input, "-p", "zego", "--sandbox", "--report", `${dir}/r.jsonl`, "--rate", "1.5"]);
    expect([fraction.code, fraction.stderr]).toEqual([2, expect.stringMatching(/--rate above 1 takes a whole number of requests per second, got 1\.5[^]*0\.5 is one request in any 2 s/)]);
  });

  it("retries server errors 5 times unless told otherwise", async () => {
    const dir = tmp();
    const input = write(dir, "in.csv", csv(["UserId"], Array.from({ length: 10 }, (_, i) => [`e${i}`])));
    // Seeded: the first five answers are server errors, the sixth is the vendor's success.
    const args = ["import", input, "-p", "zego", "--sandbox", "--sandbox-faults", "error=0.6", "--sandbox-seed", "15", "--backoff-base", "1", "--report", `${dir}/r.jsonl`, "--json"];
    const r = await runCli(args);
    expect(JSON.parse(r.stdout)).toMatchObject({ exitCode: 0, retries: 5, counts: { created: 10 } });
    const fewer = await runCli([...args, "--retries", "4"]);
    expect(JSON.parse(fewer.stdout)).toMatchObject({ exitCode: 1, retries: 4, counts: { failed: 10 } });
  });

  it("--rate under 1 widens the window: 0.5 is one request in any 2 s", async () => {
    const env = { ZEGO_APP_ID: "1234567890", ZEGO_SERVER_SECRET: "rate-secret-rate-secret-rate-0001" };
    const emu = createZegoEmulator({ env });
    await emu.listen(0);
    try {
      const dir = tmp();
      // 101 users: two ZEGO requests of 100 and 1.
      const input = write(dir, "in.csv", csv(["UserId"], Array.from({ length: 101 }, (_, i) => [`h${i}`])));
      const r = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r.jsonl`, "--rate", "0.5", "--json"], { env });
      expect(r.code, r.stderr).toBe(0);
      const [a, b] = emu.stats.arrivals;
      expect(emu.stats.arrivals).toHaveLength(2);
      expect(b! - a!).toBeGreaterThanOrEqual(1900);
    } finally {
      await emu.close();
    }
  });

  it("colours errors on a terminal, and NO_COLOR turns colour off", async () => {
    const coloured = await runCli(["validate", "nope.csv", "-p", "zego"], { tty: true, env: { NO_COLOR: undefined } });
    expect(coloured.stderr).toMatch(/\u001b\[31merror:/);
  });

  it("NO_COLOR output has no escape codes", async () => {
    const r = await runCli(["validate", "nope.csv", "-p", "zego"], { tty: true });
    expect(r.stderr).toMatch(/error:/);
    expect(r.stderr).not.toMatch(/\u001b\[[0-9;]*m/);
  });
});
