import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runImport, type ImportOptions } from "../../src/core/import.js";
import { RateLimiter } from "../../src/core/rate-limiter.js";
import { keyHash, openSentJournal, sentPath } from "../../src/core/resume.js";
import { createSender, SENT_BEFORE, type SendItem, type SendOutcome } from "../../src/core/sender.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import { defineProvider, type BatchResult, type ProviderContext } from "../../src/providers/define.js";
import { csv, multiplicity, readReport, tmp, write } from "../helpers.js";
import { itemsFor } from "./_id-provider.js";

/**
 * Gap tests from a mutation run of the core send and resume path (sender, batch, retry, rate
 * limiter, resume): each pins a behaviour whose mutant (named in the test) got through every other test.
 */

/** The answer's text for request `n` (1-based) of the ids it carries; the server sends it as is. */
let answer: (ids: string[], n: number) => string = () => "";
let calls: string[][] = [];
let server: Server;
let url = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const ids = (JSON.parse(body) as { id: string }[]).map((u) => u.id);
      calls.push(ids);
      res.writeHead(200, { "content-type": "application/json" }).end(answer(ids, calls.length));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A vendor with a secret field whose answer's JSON is the batch result, as the server wrote it. */
const vault = defineProvider({
  name: "vault",
  title: "vault",
  docs: "",
  key: "id",
  maxBatch: 8,
  rate: { limit: 1000, intervalMs: 1000 },
  fields: { id: { type: "string", required: true, description: "id" }, pw: { type: "string", secret: true, description: "password" } },
  env: [],
  exampleMapping: "",
  defaultEndpoint: () => url,
  buildRequest: (users, ctx) => ({ method: "POST", url: ctx.endpoint, headers: {}, body: JSON.stringify(users) }),
  parseResponse: (res) => res.json as BatchResult,
});

/** Sends `items` as one group through a sender on the vault provider; the outcomes by key. */
async function send(items: SendItem[], o: { retries?: number } = {}) {
  calls = [];
  const out = new Map<string, SendOutcome>();
  const ctx: ProviderContext = { env: {}, endpoint: url, options: {}, fetch: async () => { throw new Error("unused"); }, addSecret: () => {}, now: Date.now };
  const sender = createSender({
    provider: vault,
    ctx,
    session: {},
    limiter: new RateLimiter({ limit: 1000 }),
    retries: o.retries ?? 2,
    backoffBaseMs: 1,
    stop: new AbortController().signal,
    abort: new AbortController().signal,
    onOutcomes: (its, outs) => its.forEach((it, i) => out.set(it.key, outs[i]!)),
  });
  await sender.run((async function* () {
    yield items;
  })());
  return out;
}

const records = (results: unknown[]) => JSON.stringify({ kind: "records", results });

describe("a batch's passwords in the vendor's answer", () => {
  const withPw = (pw: string) => itemsFor(["a"]).map((it) => ({ ...it, user: { id: "a", pw } }));

  // Mutant: scrub returns a JSON answer untouched when its text spells no secret as sent, even
  // where the text has escapes (`\u0048` for H) that no known encoder form matches.
  it("masks a password the answer spells with an unusual escape", async () => {
    answer = () => records([{ status: "failed", code: "WEAK", message: "weak password Hunter2-Secret-pw" }]).replace("Hunter2", "\\u0048unter2");
    const out = await send(withPw("Hunter2-Secret-pw"));
    expect(out.get("a")).toEqual({ status: "failed", code: "WEAK", message: "weak password ***", retryable: false });
  });

  // Mutant: cutTails leaves per-user messages alone (only batch-wide ones are cut). The report's
  // redaction does not know a batch's passwords, so nothing else masks what is left of one.
  it("masks the start of a password a per-user message was cut through", async () => {
    answer = () => records([{ status: "failed", code: "WEAK", message: "weak password Hunter2-Sec" }]);
    const out = await send(withPw("Hunter2-Secret-pw"));
    expect(out.get("a")).toEqual({ status: "failed", code: "WEAK", message: "weak password ***", retryable: false });
  });
});

describe("doubt after an unanswered attempt", () => {
  // Mutant: the "probably created by the run" note added to any success, not only `exists`.
  it("a user in doubt that the vendor now creates is reported created, with no note", async () => {
    answer = (ids) => records(ids.map(() => ({ status: "created" })));
    const items = itemsFor(["a", "b"]).map((it, i) => ({ ...it, ...(i === 0 ? { sentBefore: true } : { maybeDelivered: true }) }));
    const out = await send(items);
    expect(out.get("a")).toEqual({ status: "created" });
    expect(out.get("b")).toEqual({ status: "created" });
  });
});

describe("rate limiter", () => {
  // Mutant: marginMs defaults to 0. The import never passes one, so the 10 ms of slack is what
  // keeps a request from landing on the edge of the vendor's window.
  it("spaces requests a window plus 10 ms apart by default", async () => {
    let t = 0;
    const limiter = new RateLimiter({ limit: 1, intervalMs: 1000, now: () => t });
    (await limiter.acquire())();
    t = 1005;
    let taken = false;
    const next = limiter.acquire().then((r) => ((taken = true), r));
    await new Promise((r) => setTimeout(r, 40));
    expect(taken).toBe(false);
    t = 1010;
    (await next)();
    expect(taken).toBe(true);
  });
});

describe("the sent journal", () => {
  // Mutant: mark writes a row's line again on every attempt (its `journaled` guard dropped).
  it("names a row once however often its request is retried", () => {
    const dir = tmp("bu-mutcore-");
    const report = join(dir, "r.jsonl");
    const journal = openSentJournal(report);
    const [item] = itemsFor(["a"]);
    journal.mark([item!]);
    journal.mark([item!]);
    journal.close();
    expect(readFileSync(sentPath(report), "utf8")).toBe(`0:0:${keyHash("a")}\n`);
  });
});

describe("--resume against a vendor (zego emulator)", () => {
  const env = { ZEGO_APP_ID: "1234567890", ZEGO_SERVER_SECRET: "mutcore-secret-0123456789abcdefg" };
  const mapping = { fields: { UserId: "user_id" } };
  const dir = tmp("bu-mutcore-");
  let emu: Emulator;
  beforeAll(async () => {
    emu = createZegoEmulator({ env });
    await emu.listen(0);
  });
  afterAll(() => emu.close());
  const run = (name: string, keys: string[], o: Partial<ImportOptions> = {}) =>
    runImport({ files: [write(dir, `${name}.csv`, csv(["user_id"], keys.map((k) => [k])))], provider: "zego", mapping, env, endpoint: emu.url, report: join(dir, `${name}.jsonl`), backoffBaseMs: 5, ...o });

  // Mutant: a resumed run matches a done row by the hash of the key as read, not as the report
  // stores it (secrets masked), so a key holding a secret never matched and its user was sent again.
  it("skips a done row whose key holds a secret, which the report stores masked", async () => {
    const first = await run("secret-key", [env.ZEGO_SERVER_SECRET, "sk-b"]);
    expect(first.counts.created).toBe(2);
    expect(readReport(first.report!).map((r) => r.key).sort()).toEqual(["***", "sk-b"]);
    const again = await run("secret-key", [env.ZEGO_SERVER_SECRET, "sk-b"], { resume: first.report!, report: join(dir, "secret-key-2.jsonl") });
    expect(again).toMatchObject({ requests: 0, resumed: 2, exitCode: 0, counts: { created: 0, exists: 0 } });
    expect(multiplicity(emu.users(), "UserId").get(env.ZEGO_SERVER_SECRET)).toBe(1);
  });

  // Mutant: a row the resumed run had in flight is taken as in doubt by its line alone, without
  // its key: after --force over a changed input, the line's new user was said to be "sent by the
  // run this one resumes".
  it("a line the journal names for another user is not in doubt after the input changed", async () => {
    await run("seed", ["mv-c"]);
    const first = await run("moved", ["mv-a", "mv-b"]);
    expect(first.counts.created).toBe(2);
    // As if the run died with mv-b in flight: journaled, no row in the report.
    writeFileSync(first.report!, readFileSync(first.report!, "utf8").split("\n").filter((l) => l.includes('"mv-a"')).join("\n") + "\n");
    const again = await run("moved", ["mv-a", "mv-c"], { resume: first.report!, report: join(dir, "moved-2.jsonl"), force: true });
    const row = readReport(again.report!).find((r) => r.line === 3)!;
    expect(row).toMatchObject({ key: "mv-c", status: "exists" });
    expect(row.message ?? "").not.toContain(SENT_BEFORE);
    expect(again.exitCode).toBe(0);
  });
});
