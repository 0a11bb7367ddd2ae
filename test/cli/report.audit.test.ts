import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, readReport, runCli, tmp, write } from "../helpers.js";

describe("--dotenv: the environment wins over the file", () => {
  const env = { ZEGO_APP_ID: "4242", ZEGO_SERVER_SECRET: "dotenv-audit-secret-000000000001" };
  let emu: Emulator;
  beforeAll(async () => {
    emu = createZegoEmulator({ env });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  it("a variable set in both is taken from the environment", async () => {
    const dir = tmp("bu-dotenv-");
    const input = write(dir, "u.csv", csv(["user_id"], [["a1"], ["a2"]]));
    const file = write(dir, "creds.env", "ZEGO_APP_ID=4242\nZEGO_SERVER_SECRET=wrong-secret-from-the-file-000001\n");
    const r = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--dotenv", file, "--report", join(dir, "r.jsonl"), "--retries", "0"], { env: { ZEGO_SERVER_SECRET: env.ZEGO_SERVER_SECRET } });
    expect(r.stderr).not.toMatch(/authentication failed/);
    expect(r.code).toBe(0);
    expect(readReport(join(dir, "r.jsonl")).map((x) => x.status)).toEqual(["created", "created"]);
  });

  it("an empty variable (a CI secret not set) does not hide the file's value", async () => {
    const dir = tmp("bu-dotenv-");
    const input = write(dir, "u.csv", csv(["user_id"], [["b1"]]));
    const file = write(dir, "creds.env", `ZEGO_APP_ID=4242\nZEGO_SERVER_SECRET=${env.ZEGO_SERVER_SECRET}\n`);
    const r = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--dotenv", file, "--report", join(dir, "r.jsonl"), "--retries", "0"], { env: { ZEGO_SERVER_SECRET: "" } });
    expect(r.stderr).not.toMatch(/is not set/);
    expect(r.code).toBe(0);
    expect(readReport(join(dir, "r.jsonl")).map((x) => x.status)).toEqual(["created"]);
  });
});

/**
 * A Huawei Workspace stand-in that refuses every user with a code and message echoing the
 * X-Auth-Token it was sent: whole in the message, cut short at the end of the code.
 */
function echoingWorkspace(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.url === "/v3/auth/tokens") {
        const pw = String((JSON.parse(body) as { auth: { identity: { password: { user: { password: string } } } } }).auth.identity.password.user.password);
        res.statusCode = 401;
        res.setHeader("content-type", "application/json");
        return void res.end(JSON.stringify({ error: { code: 401, message: `The password ${pw} is wrong` } }));
      }
      const token = String(req.headers["x-auth-token"]);
      res.statusCode = 400;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ error_code: `WKS.0001-${token.slice(0, 12)}`, error_msg: `token ${token} may not create users` }));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

describe("Huawei secret credentials that are not always required never leak", () => {
  const TOKEN = "MIIhw-audit-token-9a8b7c6d5e4f3a2b1c0d";
  let vendor: Awaited<ReturnType<typeof echoingWorkspace>>;
  beforeAll(async () => {
    vendor = await echoingWorkspace();
  });
  afterAll(() => vendor.server.close());

  it("in the report, the printed summary and the Markdown summary, whole or cut short in a code", async () => {
    const dir = tmp("bu-hwtoken-");
    const input = write(dir, "u.csv", csv(["user_name", "user_email"], [["ada", "ada@x.io"]]));
    const env = { HUAWEI_REGION: "ap-southeast-1", HUAWEI_PROJECT_ID: "p1", HUAWEI_AUTH_TOKEN: TOKEN };
    const r = await runCli(["import", input, "-p", "huawei-workspace", "--endpoint", vendor.url, "--report", join(dir, "r.jsonl"), "--summary", join(dir, "s.md"), "--retries", "0"], { env });
    expect(r.code).toBe(1);
    const report = readReport(join(dir, "r.jsonl"));
    expect(report).toEqual([expect.objectContaining({ status: "failed", code: "WKS.0001-***", message: "token *** may not create users" })]);
    const files = readdirSync(dir).filter((n) => n !== "u.csv").map((n) => readFileSync(join(dir, n), "utf8"));
    const all = [r.stdout, r.stderr, ...files].join("\n");
    expect(all).toContain("WKS.0001-***");
    expect(all).not.toContain(TOKEN.slice(0, 8));
  });

  it("an IAM password the token service echoes is masked in the error and the Markdown summary", async () => {
    const dir = tmp("bu-hwpw-");
    const PW = "Iam-Audit-Pass-5e4f3a2b";
    const input = write(dir, "u.csv", csv(["user_name", "user_email"], [["ada", "ada@x.io"]]));
    const env = { HUAWEI_REGION: "ap-southeast-1", HUAWEI_PROJECT_ID: "p1", HUAWEI_IAM_USER: "u", HUAWEI_IAM_PASSWORD: PW, HUAWEI_IAM_DOMAIN: "d" };
    const r = await runCli(["import", input, "-p", "huawei-workspace", "--endpoint", vendor.url, "--report", join(dir, "r.jsonl"), "--summary", join(dir, "s.md"), "--retries", "0"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("The password *** is wrong");
    const all = [r.stdout, r.stderr, ...readdirSync(dir).filter((n) => n !== "u.csv").map((n) => readFileSync(join(dir, n), "utf8"))].join("\n");
    expect(all).not.toContain(PW.slice(0, 8));
  });
});
