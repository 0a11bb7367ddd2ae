import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/core/rate-limiter.js";
import { createSender, type SendItem, type SendOutcome } from "../../src/core/sender.js";
import { defineProvider, type ProviderContext } from "../../src/providers/define.js";

/** The answer body the fake vendor sends for a batch's passwords. */
let answer: (passwords: string[]) => string = () => "";
let server: Server;
let url = "";

/** A provider whose adapter puts the whole answer, as read, into each user's failure message. */
const echo = defineProvider({
  name: "echo",
  title: "echo",
  docs: "",
  key: "id",
  maxBatch: 10,
  rate: { limit: 1000, intervalMs: 1000 },
  fields: { id: { type: "string", required: true, description: "id" }, pw: { type: "string", secret: true, description: "password" } },
  env: [],
  exampleMapping: "",
  defaultEndpoint: () => url,
  buildRequest: (users, ctx) => ({ method: "POST", url: ctx.endpoint, headers: {}, body: JSON.stringify(users.map((u) => u.pw)) }),
  parseResponse: (res, users) => ({ kind: "records", results: users.map(() => ({ status: "failed" as const, code: "REFUSED", message: `${JSON.stringify(res.json)} | ${res.text}` })) }),
});

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => res.writeHead(400, { "content-type": "application/json" }).end(answer(JSON.parse(body) as string[])));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function messages(passwords: string[]): Promise<string[]> {
  const out = new Map<string, SendOutcome>();
  const ctx: ProviderContext = { env: {}, endpoint: url, options: {}, fetch: async () => { throw new Error("unused"); }, addSecret: () => {}, now: Date.now };
  const sender = createSender({
    provider: echo,
    ctx,
    session: {},
    limiter: new RateLimiter({ limit: 1000 }),
    retries: 0,
    backoffBaseMs: 1,
    stop: new AbortController().signal,
    abort: new AbortController().signal,
    onOutcomes: (items, outs) => items.forEach((it, i) => out.set(it.key, outs[i]!)),
  });
  const items: SendItem[] = passwords.map((pw, line) => ({ record: { file: "f", fileIndex: 0, line, data: {} }, user: { id: `u${line}`, pw }, key: `u${line}`, attempts: 0 }));
  await sender.run((async function* () {
    yield items;
  })());
  return [...out.values()].map((o) => ("message" in o ? String(o.message) : ""));
}

describe("a batch's own secrets in the vendor's answer", () => {
  const pw = ["Hunter2-Secret-pw", "Pässwört/Zwei-pw"];

  it.each([
    ["as a value", (p: string[]) => JSON.stringify({ error: `password ${p[0]} is too weak`, also: [p[1]] })],
    ["as an object key", (p: string[]) => JSON.stringify({ errors: { [p[0]!]: "password rejected", [p[1]!]: "too short" } })],
    ["as a bare JSON string", (p: string[]) => JSON.stringify(`passwords ${p.join(" and ")} are too weak`)],
    // Only the password with a slash and non-ASCII: nothing in the text spells a secret as sent.
    ["escaped as PHP does", (p: string[]) => JSON.stringify({ error: `refused ${p[1]}` }).replace(/\//g, "\\/").replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)],
  ])("never reach a message %s", async (_, body) => {
    answer = body;
    const got = await messages(pw);
    expect(got).toHaveLength(2);
    expect(got[0]).toContain("***");
    for (const m of got) for (const s of [...pw, "Hunter2", "P\\u00e4ssw", "Zwei"]) expect(m).not.toContain(s);
  });

  it("mask a key that is a secret, not a field name a short password is part of", async () => {
    answer = () => JSON.stringify({ username: "https:\/\/x", "mail": "m", [`name`]: "whole" }).replace(/\//g, "\\/");
    const [m] = await messages(["name", "other-pw-1"]);
    expect(m!.split(" | ")[0]).toBe('{"username":"https://x","mail":"m","***":"whole"}');
  });

  it("leave an answer that holds none of them as it was", async () => {
    answer = () => '{"error":  "rate \\u0041 \\/ limit"}';
    const [m] = await messages(pw);
    expect(m).toBe('{"error":"rate A / limit"} | {"error":  "rate \\u0041 \\/ limit"}');
  });
});
