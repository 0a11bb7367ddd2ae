import { afterAll, describe, expect, it } from "vitest";
import { runImport, type ImportOptions } from "../../src/core/import.js";
import { HttpError, httpSend } from "../../src/core/http.js";
import { BulkUsersError } from "../../src/errors.js";
import { emulators, type Emulator } from "../../src/emulators/index.js";
import type { EmulatorOptions } from "../../src/emulators/_base.js";
import type { ProviderContext } from "../../src/providers/define.js";
import genauth, { type GenauthOptions } from "../../src/providers/genauth.js";
import huawei, { type HuaweiWorkspaceOptions } from "../../src/providers/huawei-workspace.js";
import { csv, fakeResponse, readReport, tmp, write } from "../helpers.js";

/**
 * Gap tests from a mutation run of the adapters against their emulators: each holds one request
 * or answer detail whose mutant (named in the test) got through every other test.
 */

const open: Emulator[] = [];
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});
const dir = tmp("bu-mut-audit-");
let n = 0;

async function start(name: string, o: Omit<EmulatorOptions, "env"> & Record<string, unknown> = {}) {
  const def = await emulators[name]!();
  const env = def.sandboxEnv();
  const emu = def.create({ env, ...o } as EmulatorOptions);
  await emu.listen(0, "127.0.0.1");
  open.push(emu);
  return { emu, env };
}

/** An adapter's context on `fetch` (no options, secrets not collected). */
const ctxOf = <O>(env: Record<string, string>, endpoint: string, fetch: ProviderContext<O>["fetch"]): ProviderContext<O> => ({
  env,
  endpoint,
  options: {} as O,
  fetch,
  addSecret: () => {},
  now: Date.now,
});

/** Imports `rows` (objects of cells) into `emu` and returns the summary and the report rows by line. */
async function importRows(name: string, emu: Emulator, env: Record<string, string>, rows: Record<string, string>[], mapping: Record<string, unknown>, o: Partial<ImportOptions> = {}) {
  const header = Object.keys(rows[0]!);
  const file = write(dir, `in-${++n}.csv`, csv(header, rows.map((r) => header.map((h) => r[h] ?? ""))));
  const s = await runImport({ files: [file], provider: name, mapping, env, endpoint: emu.url, report: `${dir}/report-${++n}.jsonl`, backoffBaseMs: 20, timeoutMs: 2000, ...o });
  return { s, report: readReport(s.report!).sort((a, b) => a.line - b.line) };
}

// Mutant (each): a key of digits sent as a JSON number.
for (const { name, key, mapping, status } of [
  { name: "zego", key: "UserId", mapping: { fields: { UserId: "id", UserName: "name" } }, status: "created" },
  { name: "imkit", key: "_id", mapping: { fields: { _id: "id", nickname: "name" } }, status: "upserted" },
]) {
  describe(`${name} (mutation audit)`, () => {
    it(`a ${key} of digits is sent as a string and stored as one`, async () => {
      const { emu, env } = await start(name);
      const { s, report } = await importRows(name, emu, env, [{ id: "12345", name: "A" }, { id: "007", name: "B" }], mapping);
      expect(report.map((r) => r.status)).toEqual([status, status]);
      expect(s.exitCode).toBe(0);
      expect(emu.users().map((u) => u[key])).toEqual(["12345", "007"]);
    });
  });
}

const GENAUTH_ENV = { GENAUTH_ACCESS_KEY_ID: "id", GENAUTH_ACCESS_KEY_SECRET: "secret", GENAUTH_USER_POOL_ID: "pool" };

describe("genauth (mutation audit)", () => {
  // Mutant: null values put into the request (the import drops JSON nulls before the adapter, so
  // only the adapter itself can be asked).
  it("buildRequest leaves a null value out, and the emulator takes the request", async () => {
    const { emu, env } = await start("genauth");
    const ctx = ctxOf<GenauthOptions>(env, emu.url, (r, signal) => httpSend(r, { signal, timeoutMs: 2000 }));
    const users = [{ email: "a@example.com", phone: null, nickname: "A" }];
    const req = await genauth.buildRequest(users, ctx, genauth.createSession!(ctx));
    expect(JSON.parse(req.body!)).toEqual({ list: [{ email: "a@example.com", nickname: "A" }] });
    const res = await httpSend(req, { timeoutMs: 2000 });
    expect(genauth.parseResponse(res, users, ctx)).toMatchObject({ kind: "records", results: [{ status: "created" }] });
  });

  // Mutant: a token answer without expires_in taken as already expired (a new token before every
  // request); providers.md documents a 7200 s life.
  it("a management token whose answer has no expires_in is reused, not fetched again per request", async () => {
    let calls = 0;
    const ctx = ctxOf<GenauthOptions>(GENAUTH_ENV, "http://127.0.0.1:9", async () => fakeResponse(200, { statusCode: 200, message: "ok", data: { access_token: `t${++calls}` } }));
    const s = genauth.createSession!(ctx);
    expect(await s.get()).toBe("t1");
    expect(await s.get()).toBe("t1");
    expect(calls).toBe(1);
  });

  // Mutant: a gateway's HTTP 429 from the token route (no vendor body) taken as refused credentials.
  it("an HTTP 429 from the token route is transient (HttpError, retried), not a credential refusal", async () => {
    const answers = [fakeResponse(429, "Too Many Requests"), fakeResponse(200, { statusCode: 200, message: "ok", data: { access_token: "t1", expires_in: 7200 } })];
    const ctx = ctxOf<GenauthOptions>(GENAUTH_ENV, "http://127.0.0.1:9", async () => answers.shift()!);
    const s = genauth.createSession!(ctx);
    const e = await s.get().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect(e).not.toBeInstanceOf(BulkUsersError);
    expect(await s.get()).toBe("t1");
  });
});

describe("huawei-workspace (mutation audit)", () => {
  // Mutant: an IAM answer without a readable token.expires_at taken as already expired (a new
  // token before every request). IAM tokens live 24 h (providers.md).
  it("a token whose IAM answer has no readable expires_at is reused, not fetched again per request", async () => {
    let calls = 0;
    const ctx = ctxOf<HuaweiWorkspaceOptions>(
      { HUAWEI_REGION: "r", HUAWEI_PROJECT_ID: "p", HUAWEI_IAM_USER: "u", HUAWEI_IAM_PASSWORD: "pw", HUAWEI_IAM_DOMAIN: "d" },
      "http://127.0.0.1:9",
      async () => fakeResponse(201, { token: { expires_at: "soon" } }, { "X-Subject-Token": `MII-${++calls}` }),
    );
    const s = huawei.createSession!(ctx);
    expect(await s.get()).toBe("MII-1");
    expect(await s.get()).toBe("MII-1");
    expect(calls).toBe(1);
  });
});
