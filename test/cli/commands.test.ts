import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { csv, readReport, runCli, startEmulator, tmp, write } from "../helpers.js";

describe("bulk-users providers", () => {
  it("lists every provider with its batch size and rate", async () => {
    const r = await runCli(["providers"]);
    expect(r.code).toBe(0);
    for (const p of ["zego", "imkit", "genauth", "royalti", "huawei-workspace"]) expect(r.stdout).toMatch(new RegExp(`^${p}\\s`, "m"));
    expect(r.stdout).toMatch(/zego\s+ZEGOCLOUD ZIM \(UserRegister\) — 100\/request, 20 req\/1s/);
  });

  it("shows one provider's fields, key, limits, credentials, endpoint and example mapping", async () => {
    const r = await runCli(["providers", "zego"]);
    expect(r.stdout).toMatch(/unique key: UserId/);
    expect(r.stdout).toMatch(/UserId\s+string \(required, maxBytes 32, allowed letters, digits/);
    expect(r.stdout).toMatch(/ZEGO_SERVER_SECRET\s+required, secret/);
    expect(r.stdout).toMatch(/endpoint: https:\/\/zim-api\.zego\.im/);
    expect(r.stdout).toMatch(/example mapping:\n {2}fields:/);
    const j = JSON.parse((await runCli(["providers", "genauth", "--json"])).stdout);
    expect(j).toMatchObject({ name: "genauth", key: "email", maxBatch: 50, rate: { requests: 10, perMs: 1000 } });
    expect(j.fields.password).toMatchObject({ secret: true });
    expect(j.env.map((e: { name: string }) => e.name)).toEqual(["GENAUTH_ACCESS_KEY_ID", "GENAUTH_ACCESS_KEY_SECRET", "GENAUTH_USER_POOL_ID", "GENAUTH_HOST"]);
    expect(Object.keys(j.options)).toEqual(["keepPassword", "autoGeneratePassword", "resetPasswordOnFirstLogin", "passwordEncryptType", "departmentIdType", "sendNotification"]);
    expect(j.options.passwordEncryptType).toMatchObject({ type: "none | rsa | sm2", description: expect.stringMatching(/GenAuth's public key/) });
    // Options, with the one a run refuses to go without; no "required false" on optional fields.
    const roy = await runCli(["providers", "royalti"]);
    expect(roy.stdout).toMatch(/options \(the mapping's options:\):\n {2}sendEmail\s+boolean \(must be chosen: the run is refused until it is set\) — mail every user an invite/);
    expect(roy.stdout).not.toMatch(/required false/);
    expect(r.stdout).toMatch(/options \(the mapping's options:\):\n {2}none: an options: key is refused/);
    // No default endpoint: its variable is needed unless --endpoint is given.
    expect((await runCli(["providers", "imkit"])).stdout).toMatch(/IMKIT_BASE_URL\s+required unless --endpoint or BULK_USERS_ENDPOINT —/);
    const bad = await runCli(["providers", "imkt"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Did you mean `imkit`\?/);
  });
});

describe("bulk-users emulate", () => {
  it("serves a vendor emulator a separate import can use, with throwaway credentials it prints", async () => {
    const { out, url, stop } = await startEmulator(["zego"], { ZEGO_APP_ID: "", ZEGO_SERVER_SECRET: "" });
    try {
      const env = Object.fromEntries([...out.matchAll(/export (\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
      expect(Object.keys(env).sort()).toEqual(["ZEGO_APP_ID", "ZEGO_SERVER_SECRET"]);
      const dir = tmp();
      const f = write(dir, "u.csv", csv(["user_id"], [["e1"], ["e2"]]));
      const r = await runCli(["import", f, "-p", "zego", "--endpoint", url, "--report", `${dir}/r.jsonl`], { env });
      expect(r.code).toBe(0);
      const users = (await (await fetch(`${url}/_emulator/users`)).json()) as { UserId: string }[];
      expect(users.map((u) => u.UserId)).toEqual(["e1", "e2"]);
      // A port in use is a usage error naming it, not a stack trace.
      const busy = await runCli(["emulate", "zego", "--port", new URL(url).port]);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toMatch(/Cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
      expect(busy.stderr).not.toMatch(/at .*\.js:\d+/);
    } finally {
      await stop();
    }
  });

  it("refuses a fault rate outside 0..1 and a port outside 0..65535", async () => {
    for (const args of [["--fail-rate", "2"], ["--drop-rate", "-0.1"], ["--timeout-rate", ""], ["--port", "70000"], ["--port", "1.5"]]) {
      const r = await runCli(["emulate", "zego", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/expected a (probability from 0 to 1|port from 0 to 65535)/);
    }
  });
});

describe("output to a reader that went away", () => {
  /** Runs the bin with its stdout's read end closed at once (as `| head` leaves it): exit code and stderr. */
  const closedStdout = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["bin/bulk-users.js", ...args], { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.destroy();
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code, stderr }));
    });

  it("does not die of EPIPE: help exits 0, and a run goes on to its report and its own exit code", async () => {
    const help = await closedStdout(["import", "--help"]);
    expect(help.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(help.code).toBe(0);
    const dir = tmp();
    const report = `${dir}/r.jsonl`;
    const run = await closedStdout(["validate", "samples/users.csv", "-p", "zego", "-m", "samples/zego.mapping.yaml", "--report", report]);
    expect(run.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(run.code).toBe(1);
    expect(readReport(report)).toHaveLength(20);
  });
});
