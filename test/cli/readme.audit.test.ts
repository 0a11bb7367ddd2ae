import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { createRoyaltiEmulator } from "../../src/emulators/royalti.js";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { REPORT_COLUMNS } from "../../src/report/writer.js";
import { SUCCESS_STATUSES } from "../../src/types.js";
import { csv, readReport, runCli, tmp, write } from "../helpers.js";

// README.md checked against the CLI as a newcomer runs it: each test is a claim of the README
// that no other test held the CLI to.

const README = readFileSync("README.md", "utf8");
/** The README's text from a heading to the next heading of the same or a higher level. */
function section(heading: string): string {
  const start = README.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(-1);
  const level = /^#+/.exec(heading)![0].length;
  const rest = README.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n#{1,${level}} `));
  return end === -1 ? rest : rest.slice(0, end);
}
/** Rows of the first Markdown table in `text`, as cells. */
function table(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("| ") && !/^\| -/.test(l))
    .slice(1)
    .map((l) => l.slice(2, -2).split(/ (?<!\\)\| /));
}
const flagsOf = (text: string) => [...text.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]);

const zegoEnv = { ZEGO_APP_ID: "5151515151", ZEGO_SERVER_SECRET: "readme-audit-secret-readme-audi1" };
const royaltiEnv = { ROYALTI_TOKEN: "RWAKreadmeaudit0000000000000000001" };

describe("README: files, commands and options it names", () => {
  it("every file the README names exists, and `npm run bench` (with --quick) runs bench/run.mjs", () => {
    const named = new Set<string>();
    for (const m of README.matchAll(/(?<![\w./-])((?:samples|bench|schema|src|test|dist)\/[A-Za-z0-9_./<>-]*[A-Za-z0-9_/>])/g)) named.add(m[1]!);
    const files = [...named].filter((p) => p !== "bench/data/").flatMap((p) => (p.includes("<name>") ? ["zego", "imkit", "genauth", "royalti", "huawei-workspace"].map((n) => p.replace("<name>", n)) : [p]));
    // The ones the text leans on most are among them.
    expect(files).toEqual(expect.arrayContaining(["samples/users.csv", "samples/zego.mapping.yaml", "samples/ci/bulk-users.yml", "schema/mapping.schema.json", "bench/profile.mjs", "bench/results.json", "test/providers/_suite.ts"]));
    for (const f of files) expect(existsSync(f), f).toBe(true);
    for (const f of ["auth0-users.jsonl", "firebase-auth.csv", "clerk-users.csv", "hr-export.csv"]) expect(existsSync(`samples/exports/${f}`), f).toBe(true);
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.bench).toMatch(/node bench\/run\.mjs/);
    expect(readFileSync("bench/run.mjs", "utf8")).toContain('process.argv.includes("--quick")');
  });

  it("the Commands block names commands the CLI has, and emulate's options are those of `emulate --help`", async () => {
    const block = /## Commands[^]*?```\n([^]*?)```/.exec(README)![1]!;
    const top = (await runCli(["--help"])).stdout;
    for (const c of ["import", "validate", "providers", "mapping", "report", "emulate"]) expect(block).toContain(`bulk-users ${c} `), expect(top).toMatch(new RegExp(`^  ${c} `, "m"));
    const mapping = (await runCli(["mapping", "--help"])).stdout;
    for (const c of ["init", "preview"]) expect(block).toContain(`bulk-users mapping ${c} `), expect(mapping).toMatch(new RegExp(`^  ${c} `, "m"));
    const emulate = block.slice(block.indexOf("bulk-users emulate"));
    const help = (await runCli(["emulate", "--help"])).stdout;
    const options = help.slice(help.indexOf("Options:"), help.indexOf("Examples:"));
    expect(new Set(flagsOf(emulate))).toEqual(new Set(flagsOf(options).filter((f) => f !== "--help")));
  });

  it("the Import options table lists exactly the options of `import --help`, with the same defaults", async () => {
    const rows = table(section("### Import options"));
    const help = (await runCli(["import", "--help"])).stdout;
    const helpFlags = [...help.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((f) => f !== "--help");
    expect(new Set(rows.flatMap((r) => flagsOf(r[0]!)))).toEqual(new Set(helpFlags));
    // Every whole-number default the table gives is the one --help prints.
    const defaults = rows.flatMap((r) => {
      const d = /\(default (\d+)\)/.exec(r[1]!);
      return d ? [[flagsOf(r[0]!)[0]!, d[1]!] as const] : [];
    });
    expect(defaults.map(([f]) => f)).toEqual(expect.arrayContaining(["--concurrency", "--retries", "--timeout", "--grace"]));
    for (const [flag, value] of defaults) expect(help.replace(/\s+/g, " "), flag).toMatch(new RegExp(`${flag} <[a-z]+> (?:(?! --)[^])*\\(default: ${value}\\)`));
  });

  it("--rate takes 1/86400 to 10,000 requests per second, as the table says", async () => {
    const dir = tmp("bu-readme-");
    const input = write(dir, "in.csv", "UserId\na1\n");
    const rate = (v: string) => runCli(["import", input, "-p", "zego", "--dry-run", "--report", join(dir, "r.jsonl"), "--rate", v]);
    for (const ok of ["10000", "0.0000115740741", "0.5", "3"]) expect((await rate(ok)).code, ok).toBe(0);
    for (const bad of ["10001", "0.00001"]) {
      const r = await rate(bad);
      expect([r.code, r.stderr], bad).toEqual([2, expect.stringMatching(/--rate takes requests per second from 1\/86400 \(one a day\), at most 10000/)]);
    }
  });
});

describe("README: mapping", () => {
  it("the mapping init example prints and writes what the README shows", () => {
    const block = /```sh\n(\$ bulk-users mapping init samples\/exports\/hr-export\.csv[^]*?)```/.exec(README)![1]!;
    const lines = block.split("\n");
    const cat = lines.indexOf("$ cat zego.yaml");
    const said = lines.slice(1, cat);
    const file = lines.slice(cat + 1, lines.findIndex((l, i) => i > cat && l.startsWith("$ ")));
    // Run as the README does, from a folder holding samples/exports/, through bin/.
    const dir = tmp("bu-readme-");
    mkdirSync(join(dir, "samples/exports"), { recursive: true });
    writeFileSync(join(dir, "samples/exports/hr-export.csv"), readFileSync("samples/exports/hr-export.csv"));
    const r = spawnSync(process.execPath, [resolve("bin/bulk-users.js"), "mapping", "init", "samples/exports/hr-export.csv", "-p", "zego", "-o", "zego.yaml"], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stderr.trim().split("\n")).toEqual(said);
    const written = readFileSync(join(dir, "zego.yaml"), "utf8").trimEnd().split("\n");
    // The schema line points at this install's schema, wherever it is; the README's is the clone's.
    expect(written[0]).toMatch(/^# yaml-language-server: \$schema=.*schema\/mapping\.schema\.json$/);
    expect(file[0]).toBe("# yaml-language-server: $schema=schema/mapping.schema.json");
    expect(written.slice(1)).toEqual(file.slice(1));
    const v = spawnSync(process.execPath, [resolve("bin/bulk-users.js"), "validate", "samples/exports/hr-export.csv", "-p", "zego", "-m", "zego.yaml", "--report", "v.jsonl"], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 });
    expect(v.status).toBe(0);
  });

  it("the zego mapping the README shows twice is samples/zego.mapping.yaml", () => {
    const blocks = [...README.matchAll(/```yaml\n(# samples\/zego\.mapping\.yaml[^]*?)```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(2);
    const sample = parseYaml(readFileSync("samples/zego.mapping.yaml", "utf8")) as unknown;
    for (const b of blocks) expect(parseYaml(b)).toEqual(sample);
  });

  it("each transform of the table does what its row says (mapping preview, the import's own mapping)", async () => {
    const dir = tmp("bu-readme-");
    const m = write(
      dir,
      "m.yaml",
      [
        "provider: genauth",
        "fields:",
        "  email: { column: email, transform: [trim, lower] }",
        "  username: { column: login, transform: [upper] }",
        "  tenantIds: { column: tags, transform: [split, upper] }",
        '  departmentIds: { column: deps, transform: [{ split: ";" }] }',
        "  nickname: { column: tags, transform: [split, join] }",
        '  name: { column: tags, transform: [split, { join: "|" }] }',
        "  birthdate: { column: born, transform: [{ date: date }] }",
        "  profile: { column: born, transform: [{ date: iso }] }",
        "  company: { column: born, transform: [{ date: unix }] }",
        '  locale: { column: born, transform: [{ date: "YYYY/MM/DD HH:mm" }] }',
        "  phone: { column: us, transform: [e164] }",
        "  address: { column: uk, transform: [{ e164: GB }] }",
        '  province: { template: "no placeholders" }',
        '  region: { column: blank, default: "fallback", transform: [trim] }',
        "",
      ].join("\n"),
    );
    const f = write(dir, "u.csv", csv(["email", "login", "tags", "deps", "born", "us", "uk", "blank"], [["  Ann@Example.COM ", "ann", "a, b ,,c", "d1; ;d2", "1990-02-15T10:20:30+09:00", "(202) 555-0123", "00442079460001", "   "]]));
    const r = await runCli(["mapping", "preview", f, "-p", "genauth", "-m", m, "--json"]);
    expect(r.code).toBe(0);
    const row = JSON.parse(r.stdout.trim()) as { user: Record<string, unknown>; issues: unknown[] };
    expect(row.issues).toEqual([]);
    expect(row.user).toEqual({
      email: "ann@example.com",
      username: "ANN",
      // split trims each item and drops the empty ones; upper works on each item of a list.
      tenantIds: ["A", "B", "C"],
      departmentIds: ["d1", "d2"],
      nickname: "a,b,c",
      name: "a|b|c",
      birthdate: "1990-02-15",
      profile: "1990-02-15T01:20:30.000Z",
      company: "635044830",
      locale: "1990/02/15 01:20",
      phone: "+12025550123",
      address: "+442079460001",
      province: "no placeholders",
      region: "fallback",
    });
  });

  it("GenAuth's report key is email, else the first of phone, username, externalId", async () => {
    const dir = tmp("bu-readme-");
    const f = write(dir, "g.csv", csv(["email", "phone", "username", "externalId"], [["a@example.com", "1", "u1", "x1"], ["", "2", "u2", "x2"], ["", "", "u3", "x3"], ["", "", "", "x4"]]));
    const r = await runCli(["validate", f, "-p", "genauth", "--report", join(dir, "g.jsonl")]);
    expect(r.code).toBe(1);
    expect(readReport(join(dir, "g.jsonl")).map((x) => [x.key, x.status])).toEqual([
      ["a@example.com", "valid"],
      ["2", "valid"],
      ["u3", "valid"],
      ["x4", "invalid"],
    ]);
  });
});

describe("README: Royalti invite emails and provider options from flags", () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = createRoyaltiEmulator({ env: royaltiEnv });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  it("--send-email / --no-send-email win over the mapping's options.sendEmail", async () => {
    const dir = tmp("bu-readme-");
    const fields = "fields:\n  firstName: first\n  lastName: last\n  email: email\n";
    const no = write(dir, "no.yaml", `${fields}options:\n  sendEmail: false\n`);
    const yes = write(dir, "yes.yaml", `${fields}options:\n  sendEmail: true\n`);
    const a = write(dir, "a.csv", csv(["first", "last", "email"], [["Ada", "Flag", "ada.flag@example.com"]]));
    const b = write(dir, "b.csv", csv(["first", "last", "email"], [["Bob", "Flag", "bob.flag@example.com"]]));
    const r1 = await runCli(["import", a, "-p", "royalti", "-m", no, "--send-email", "--endpoint", emu.url, "--report", join(dir, "a.jsonl")], { env: royaltiEnv });
    const r2 = await runCli(["import", b, "-p", "royalti", "-m", yes, "--no-send-email", "--endpoint", emu.url, "--report", join(dir, "b.jsonl")], { env: royaltiEnv });
    expect([r1.code, r2.code]).toEqual([0, 0]);
    expect(emu.users().map((u) => [u.email, u.invited])).toEqual([
      ["ada.flag@example.com", true],
      ["bob.flag@example.com", false],
    ]);
  });

  it("--send-email for a provider without that option is exit 2 naming the flag, not the mapping", async () => {
    const dir = tmp("bu-readme-");
    const f = write(dir, "u.csv", csv(["user_id", "email"], [["u1", "u1@example.com"]]));
    const imkit = write(dir, "imkit.yaml", "fields:\n  _id: user_id\n");
    const genauth = write(dir, "genauth.yaml", "fields:\n  email: email\noptions:\n  keepPassword: false\n");
    for (const [provider, m, flag] of [["imkit", imkit, "--no-send-email"], ["genauth", genauth, "--send-email"]] as const) {
      const r = await runCli(["validate", f, "-p", provider, "-m", m, flag, "--report", join(dir, `${provider}.jsonl`)]);
      expect(r.code, provider).toBe(2);
      expect(r.stderr, provider).toMatch(/^error: Invalid option: .*sendEmail.* \(flags, options\.sendEmail\)$/m);
      expect(r.stderr, provider).toMatch(/hint: --send-email \/ --no-send-email set options\.sendEmail, which \S+ does not take: drop the flag/);
      expect(r.stderr, provider).not.toContain(m);
    }
    // An option the mapping itself holds is still the mapping's, named by its file.
    const bad = write(dir, "bad.yaml", "fields:\n  _id: user_id\noptions:\n  sendEmail: false\n");
    const own = await runCli(["validate", f, "-p", "imkit", "-m", bad, "--report", join(dir, "own.jsonl")]);
    expect(own.code).toBe(2);
    expect(own.stderr).toContain(`Invalid mapping: provider imkit takes no options, got \`sendEmail\` (${bad}, options.sendEmail)`);
  });
});

describe("README: report, journal and outputs", () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = createZegoEmulator({ env: zegoEnv });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  it("the report's columns and statuses are those the README's table lists", async () => {
    const dir = tmp("bu-readme-");
    const rows = table(section("## Report"));
    const columns = rows.flatMap((r) => [...r[0]!.matchAll(/`([a-z]+)`/g)].map((m) => m[1]!));
    const f = write(dir, "u.csv", csv(["UserId"], [["r1"]]));
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", join(dir, "r.csv"), "--json"], { env: zegoEnv });
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "r.csv"), "utf8").split("\n")[0]!.split(",")).toEqual(columns);
    expect(columns).toEqual([...REPORT_COLUMNS]);
    // The `status` row names every status a summary counts; the successes are those exit 0 takes.
    const statusCell = rows.find((x) => x[0] === "`status`")![1]!;
    const statuses = [...statusCell.matchAll(/`([a-z]+)`/g)].map((m) => m[1]!);
    expect(new Set(statuses)).toEqual(new Set(Object.keys((JSON.parse(r.stdout) as { counts: Record<string, number> }).counts)));
    const success = /\*\*What counts as success\.\*\* ([^]*?) are successes/.exec(README)![1]!;
    expect(new Set([...success.matchAll(/`([a-z]+)`/g)].map((m) => m[1]!))).toEqual(new Set(SUCCESS_STATUSES));
  });

  it("<report>.sent is owner-only even where an earlier run left one readable by others", async () => {
    const dir = tmp("bu-readme-");
    const report = join(dir, "r.jsonl");
    writeFileSync(`${report}.sent`, "0:2:1\n");
    chmodSync(`${report}.sent`, 0o644);
    const f = write(dir, "u.csv", csv(["UserId"], [["sent1"]]));
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", report], { env: zegoEnv });
    expect(r.code).toBe(0);
    expect(statSync(`${report}.sent`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${report}.sent`, "utf8")).toMatch(/^0:2:\d+\n$/);
  });

  it("report --html refuses the report's meta and journal as its page, and leaves them whole", async () => {
    const dir = tmp("bu-readme-");
    const report = join(dir, "r.jsonl");
    const f = write(dir, "u.csv", csv(["UserId"], [["html1"]]));
    expect((await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", report], { env: zegoEnv })).code).toBe(0);
    for (const target of [`${report}.meta.json`, `${report}.sent`]) {
      const before = readFileSync(target, "utf8");
      const r = await runCli(["report", report, "--html", target]);
      expect(r.code, target).toBe(2);
      expect(r.stderr).toMatch(/which is the report or its resume state/);
      expect(readFileSync(target, "utf8")).toBe(before);
    }
  });

  it("--summary may not be the --dotenv file: exit 2 before anything is sent, the file kept", async () => {
    const dir = tmp("bu-readme-");
    const envFile = write(dir, "creds.env", `ZEGO_APP_ID=${zegoEnv.ZEGO_APP_ID}\nZEGO_SERVER_SECRET=${zegoEnv.ZEGO_SERVER_SECRET}\n`);
    const f = write(dir, "u.csv", csv(["UserId"], [["env1"]]));
    const before = emu.stats.requests;
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--dotenv", envFile, "--report", join(dir, "r.jsonl"), "--summary", `${dir}/./creds.env`], { env: {} });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/would overwrite the env file/);
    expect(readFileSync(envFile, "utf8")).toContain("ZEGO_APP_ID=");
    expect(emu.stats.requests).toBe(before);
  });
});

describe("README Design: redirects are not followed", () => {
  let emu: Emulator;
  let moved: Server;
  let movedUrl = "";
  let hits = 0;
  beforeAll(async () => {
    emu = createZegoEmulator({ env: zegoEnv });
    await emu.listen(0);
    moved = createServer((req, res) => {
      hits++;
      req.resume();
      res.writeHead(301, { Location: `${emu.url}${req.url ?? "/"}` }).end();
    });
    await new Promise<void>((r) => moved.listen(0, "127.0.0.1", r));
    const a = moved.address();
    movedUrl = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => moved.close(() => r()));
    await emu.close();
  });

  it("a 301 from the endpoint fails its rows with the answer's code; nothing reaches where it points", async () => {
    const dir = tmp("bu-readme-");
    const f = write(dir, "u.csv", csv(["UserId"], [["moved1"], ["moved2"]]));
    const r = await runCli(["import", f, "-p", "zego", "--endpoint", movedUrl, "--retries", "0", "--report", join(dir, "r.jsonl")], { env: zegoEnv });
    expect(r.code).toBe(1);
    expect(readReport(join(dir, "r.jsonl")).map((x) => [x.key, x.status, x.code])).toEqual([
      ["moved1", "failed", "HTTP_301"],
      ["moved2", "failed", "HTTP_301"],
    ]);
    expect(hits).toBe(1);
    expect(emu.stats.requests).toBe(0);
    expect(emu.users()).toEqual([]);
  });
});
