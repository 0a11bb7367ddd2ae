import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../src/emulators/_base.js";
import { emulators } from "../../src/emulators/index.js";
import { csv, runCli, tmp, write } from "../helpers.js";

const ZEGO = { ZEGO_APP_ID: "1234567890", ZEGO_SERVER_SECRET: "endpoint-env-zego-secret-0000001" };
const IMKIT = { IMKIT_API_KEY: "endpoint-env-imkit-key-000000001" };

const start = async (provider: string, env: Record<string, string>): Promise<Emulator> => {
  const emu = (await emulators[provider]!()).create({ env });
  await emu.listen(0);
  return emu;
};
const ids = (emu: Emulator, key: string) => (emu.users() as Record<string, unknown>[]).map((u) => u[key]).sort();

describe("BULK_USERS_ENDPOINT: the endpoint from the environment", () => {
  const dir = tmp("bu-ep-env-");
  const input = write(dir, "u.csv", csv(["user_id", "name"], [["e1", "Ann"], ["e2", "Bob"]]));
  const zego = write(dir, "z.yaml", "fields:\n  UserId: user_id\n  UserName: name\n");
  const imkit = write(dir, "i.yaml", "fields:\n  _id: user_id\n  nickname: name\n");
  const emus: Emulator[] = [];
  let notFound: Server;
  let notFoundUrl = "";

  beforeAll(async () => {
    notFound = createServer((_, res) => res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>"));
    await new Promise<void>((r) => notFound.listen(0, "127.0.0.1", r));
    notFoundUrl = `http://127.0.0.1:${(notFound.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all(emus.map((e) => e.close()));
    await new Promise((r) => notFound.close(r));
  });
  const emulator = async (provider: string, env: Record<string, string>) => {
    const e = await start(provider, env);
    emus.push(e);
    return e;
  };

  it("sends there without --endpoint; --endpoint wins over it", async () => {
    const a = await emulator("zego", ZEGO);
    const b = await emulator("zego", ZEGO);
    const r = await runCli(["import", input, "-p", "zego", "-m", zego, "--report", join(dir, "a.jsonl")], { env: { ...ZEGO, BULK_USERS_ENDPOINT: a.url } });
    expect(r.code).toBe(0);
    expect(ids(a, "UserId")).toEqual(["e1", "e2"]);
    const s = await runCli(["import", input, "-p", "zego", "-m", zego, "--endpoint", b.url, "--report", join(dir, "b.jsonl")], { env: { ...ZEGO, BULK_USERS_ENDPOINT: notFoundUrl } });
    expect(s.code).toBe(0);
    expect(ids(b, "UserId")).toEqual(["e1", "e2"]);
  });

  it("is read from the --dotenv file too", async () => {
    const a = await emulator("zego", ZEGO);
    const envFile = write(dir, "run.env", Object.entries({ ...ZEGO, BULK_USERS_ENDPOINT: a.url }).map(([k, v]) => `${k}=${v}`).join("\n"));
    const r = await runCli(["import", input, "-p", "zego", "-m", zego, "--dotenv", envFile, "--report", join(dir, "d.jsonl")], { env: {} });
    expect(r.code).toBe(0);
    expect(ids(a, "UserId")).toEqual(["e1", "e2"]);
  });

  it("wins over the provider's own base-URL variable, and the run says so", async () => {
    const shared = await emulator("imkit", IMKIT);
    const own = await emulator("imkit", IMKIT);
    const r = await runCli(["import", input, "-p", "imkit", "-m", imkit, "--report", join(dir, "i.jsonl")], { env: { ...IMKIT, BULK_USERS_ENDPOINT: shared.url, IMKIT_BASE_URL: own.url } });
    expect(r.code).toBe(0);
    expect(ids(shared, "_id")).toEqual(["e1", "e2"]);
    expect(own.users()).toEqual([]);
    expect(r.stderr).toContain(`Sending to ${shared.url}/ (BULK_USERS_ENDPOINT), not to the one IMKIT_BASE_URL gives`);
    // Without the provider's variable set, nothing to say.
    const again = await runCli(["import", input, "-p", "imkit", "-m", imkit, "--report", join(dir, "i2.jsonl")], { env: { ...IMKIT, BULK_USERS_ENDPOINT: shared.url } });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`Sending to ${shared.url}/ (BULK_USERS_ENDPOINT)\n`);
  });

  it("a missing endpoint names both variables", async () => {
    const r = await runCli(["import", input, "-p", "imkit", "-m", imkit, "--report", join(dir, "m.jsonl")], { env: IMKIT });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("IMKIT_BASE_URL is not set");
    expect(r.stderr).toContain("Set IMKIT_BASE_URL or BULK_USERS_ENDPOINT, or pass --endpoint URL.");
  });

  it("its proxy password is masked everywhere, and the resume hint does not carry the endpoint", async () => {
    const pw = "EnvProxyPw-Secret-77";
    // A GenAuth stand-in behind a proxy that echoes the proxy's credentials in its refusals.
    const proxy = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        if (req.url!.endsWith("/api/v3/get-management-token")) return void res.end(JSON.stringify({ statusCode: 200, data: { access_token: "tok-env-ep-0001", expires_in: 7200 } }));
        res.end(JSON.stringify({ statusCode: 400, apiCode: "E400", message: `proxy refused proxyuser:${pw}` }));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    try {
      const withPw = `http://proxyuser:${pw}@127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const env = { GENAUTH_ACCESS_KEY_ID: "AKID-ENV-EP", GENAUTH_ACCESS_KEY_SECRET: "ak-env-ep-secret-1", GENAUTH_USER_POOL_ID: "pool1", BULK_USERS_ENDPOINT: withPw };
      const users = write(dir, "g.csv", csv(["email"], [["a@x.io"], ["b@x.io"], ["c@x.io"]]));
      const report = join(dir, "p.jsonl");
      const summary = join(dir, "p.md");
      // --max-errors 1 stops the run at its first refused row: a stopped run prints the resume command.
      const r = await runCli(["import", users, "-p", "genauth", "--report", report, "--summary", summary, "--retries", "0", "--max-errors", "1", "--json"], { env });
      expect(r.code).toBe(3);
      const hint = (JSON.parse(r.stdout) as { resumeCommand?: string }).resumeCommand;
      expect(hint).toContain(`--resume ${report}`);
      expect(hint).not.toContain("--endpoint");
      const seen = [r.stdout, r.stderr, readFileSync(report, "utf8"), readFileSync(summary, "utf8"), readFileSync(`${report}.meta.json`, "utf8")].join("\n");
      expect(seen).toContain("proxy refused ***");
      expect(seen).not.toContain(pw);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });

  it("a value that does not parse, or plain http to another host, is refused naming the variable, without its secret", async () => {
    const r = await runCli(["import", input, "-p", "zego", "-m", zego, "--report", join(dir, "x.jsonl")], { env: { ...ZEGO, BULK_USERS_ENDPOINT: "https://u:EnvBadPw-Secret@[bad" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Invalid endpoint URL (BULK_USERS_ENDPOINT)");
    expect(r.stderr).not.toContain("EnvBadPw-Secret");
    const h = await runCli(["import", input, "-p", "zego", "-m", zego, "--report", join(dir, "h.jsonl")], { env: { ...ZEGO, BULK_USERS_ENDPOINT: "http://proxy.example.com:8080" } });
    expect(h.code).toBe(2);
    expect(h.stderr).toContain("Refusing to send credentials over http to proxy.example.com:8080 (BULK_USERS_ENDPOINT)");
  });

  it("an endpoint from it that does not serve the API stops the run with a hint naming it", async () => {
    const r = await runCli(["import", input, "-p", "imkit", "-m", imkit, "--report", join(dir, "n.jsonl"), "--retries", "0"], { env: { ...IMKIT, BULK_USERS_ENDPOINT: notFoundUrl } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Check BULK_USERS_ENDPOINT: nothing more is sent to it.");
    const f = await runCli(["import", input, "-p", "imkit", "-m", imkit, "--report", join(dir, "n2.jsonl"), "--retries", "0", "--endpoint", notFoundUrl], { env: IMKIT });
    expect(f.code).toBe(2);
    expect(f.stderr).toContain("Check --endpoint: nothing more is sent to it.");
  });

  it("--sandbox and a dry run do not use it", async () => {
    const s = await runCli(["import", input, "-p", "zego", "-m", zego, "--sandbox", "--report", join(dir, "s.jsonl")], { env: { BULK_USERS_ENDPOINT: notFoundUrl } });
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/created 2/);
    const d = await runCli(["validate", input, "-p", "zego", "-m", zego, "--report", join(dir, "v.jsonl")], { env: { BULK_USERS_ENDPOINT: "not a url" } });
    expect(d.code).toBe(0);
  });

  it("import --help names it, the proxy variables and gzip inputs", async () => {
    const r = await runCli(["import", "--help"]);
    expect(r.stdout).toContain("BULK_USERS_ENDPOINT sets the endpoint for any provider; a forward proxy comes from HTTPS_PROXY");
    expect(r.stdout).toContain("Inputs may be gzip (users.csv.gz).");
  });

  it("bulk-users providers names it", async () => {
    const r = await runCli(["providers", "imkit"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("endpoint: (none: set IMKIT_BASE_URL, BULK_USERS_ENDPOINT or --endpoint)");
    expect(r.stdout).toMatch(/IMKIT_BASE_URL\s+required unless --endpoint or BULK_USERS_ENDPOINT/);
    const z = await runCli(["providers", "zego"]);
    expect(z.stdout).toContain("endpoint: https://zim-api.zego.im (BULK_USERS_ENDPOINT or --endpoint sends elsewhere)");
  });
});

describe("--resume sends where the earlier run sent", () => {
  const dir = tmp("bu-ep-resume-");
  const zego = write(dir, "z.yaml", "fields:\n  UserId: user_id\n  UserName: name\n");
  // 300 users and a bad row after the first two batches of 100: it stops the run (--max-errors 1)
  // with at least the first batch sent and the last 50 users left to a resume.
  const keys = Array.from({ length: 300 }, (_, i) => `r${i + 1}`);
  const rows = keys.map((k) => [k, `User ${k}`]);
  rows.splice(250, 0, ["bad id", "X"]);
  const input = write(dir, "u.csv", csv(["user_id", "name"], rows));
  const emus: Emulator[] = [];
  afterAll(() => Promise.all(emus.map((e) => e.close())));
  const emulator = async () => {
    const e = await start("zego", ZEGO);
    emus.push(e);
    return e;
  };
  const first = async (args: string[], report: string, env: Record<string, string> = ZEGO) => {
    const r = await runCli(["import", input, "-p", "zego", "-m", zego, "--report", report, "--max-errors", "1", "--concurrency", "1", ...args], { env });
    expect(r.code, r.stderr).toBe(3);
    return JSON.parse(readFileSync(`${report}.meta.json`, "utf8")) as { endpoint?: string };
  };

  it("a resume to another endpoint is refused unless forced, and forced sends only the rest there", async () => {
    const a = await emulator();
    const b = await emulator();
    const report = join(dir, "a.jsonl");
    // Spelt with trailing slashes: the same endpoint (the adapters drop them), recorded without.
    const meta = await first(["--endpoint", `${a.url}//`], report);
    expect(meta.endpoint).toBe(`${a.url}/`);
    const done = ids(a, "UserId");
    expect(done.length).toBeGreaterThanOrEqual(100);
    expect(done.length).toBeLessThan(300);
    const resumed = join(dir, "a2.jsonl");
    // The same place through the variable instead of the flag is the same endpoint.
    const same = await runCli(["import", input, "-p", "zego", "-m", zego, "--resume", report, "--report", join(dir, "same.jsonl"), "--max-errors", "9"], { env: { ...ZEGO, BULK_USERS_ENDPOINT: `${a.url}/` } });
    expect(same.code, same.stderr).toBe(1);
    expect(ids(a, "UserId")).toEqual([...keys].sort());
    const r = await runCli(["import", input, "-p", "zego", "-m", zego, "--resume", report, "--report", resumed, "--endpoint", b.url], { env: ZEGO });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Cannot resume: the earlier run sent to ${a.url}/, this one would send to ${b.url}/`);
    expect(b.users()).toEqual([]);
    const f = await runCli(["import", input, "-p", "zego", "-m", zego, "--resume", report, "--report", resumed, "--endpoint", b.url, "--force", "--max-errors", "9"], { env: ZEGO });
    expect(f.code, f.stderr).toBe(1);
    expect(ids(b, "UserId")).toEqual(keys.filter((k) => !done.includes(k)).sort());
  });

  it("a sandbox run resumes into the sandbox, not elsewhere; a meta from before endpoints were recorded resumes anywhere", async () => {
    const report = join(dir, "s.jsonl");
    const meta = await first(["--sandbox"], report, {});
    expect(meta.endpoint).toBe("sandbox");
    const again = await runCli(["import", input, "-p", "zego", "-m", zego, "--resume", report, "--report", join(dir, "s2.jsonl"), "--sandbox", "--max-errors", "9"], { env: {} });
    expect(again.code, again.stderr).toBe(1);
    const b = await emulator();
    const elsewhere = await runCli(["import", input, "-p", "zego", "-m", zego, "--resume", report, "--report", join(dir, "s3.jsonl"), "--endpoint", b.url], { env: ZEGO });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain(`the earlier run sent to sandbox, this one would send to ${b.url}/`);
    // Not even forced: the sandbox's users were thrown away with it, so its done rows never reached b.
    const forced = await runCli(["import", input, "-p", "zego", "-m", zego, "--resume", report, "--report", join(dir, "s3f.jsonl"), "--endpoint", b.url, "--force"], { env: ZEGO });
    expect(forced.code).toBe(2);
    expect(forced.stderr).toContain("sandbox or not must match (--force does not change that)");
    expect(b.users()).toEqual([]);
    const old = JSON.parse(readFileSync(`${report}.meta.json`, "utf8")) as Record<string, unknown>;
    delete old.endpoint;
    write(dir, "s.jsonl.meta.json", JSON.stringify(old));
    const legacy = await runCli(["import", input, "-p", "zego", "-m", zego, "--resume", report, "--report", join(dir, "s4.jsonl"), "--endpoint", b.url, "--max-errors", "9"], { env: ZEGO });
    expect(legacy.code, legacy.stderr).toBe(1);
    expect(b.users().length).toBeGreaterThan(0);
  });
});
