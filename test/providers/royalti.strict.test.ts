import { afterAll, describe, expect, it } from "vitest";
import royaltiEmulator, { createRoyaltiEmulator } from "../../src/emulators/royalti.js";
import type { Emulator } from "../../src/emulators/_base.js";

// Direct requests a faithful Royalti server refuses (providers.md "royalti",
// vendor-docs/royalti-user-bulk.txt): each pins one rule of the emulator.

const PATH = "/user/bulk";
const open: Emulator[] = [];
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

type Env = Record<string, string>;

/** A new emulator; the rate limit is lifted unless the test is about it. */
async function start(o: { vendorRate?: boolean } = {}) {
  const env = royaltiEmulator.sandboxEnv();
  const emu = createRoyaltiEmulator({ env, ...(o.vendorRate ? {} : { rateLimit: 1000 }) });
  await emu.listen(0, "127.0.0.1");
  open.push(emu);
  return { emu, env };
}

async function post(emu: Emulator, env: Env, body: unknown, o: { headers?: Record<string, string>; method?: string } = {}) {
  const res = await fetch(`${emu.url}${PATH}`, {
    method: o.method ?? "POST",
    headers: { authorization: `Bearer ${env.ROYALTI_TOKEN}`, "content-type": "application/json", ...o.headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

const user = (i: number | string, o: Record<string, unknown> = {}) => ({ firstName: "Ada", lastName: `L${i}`, email: `ada.${i}@example.com`, ...o });
const req = (users: unknown[], o: Record<string, unknown> = {}) => ({ users, sendEmail: false, ...o });

describe("royalti emulator (strict)", () => {
  it("control: answers 201 with the names created, processedCount and no errors", async () => {
    const { emu, env } = await start();
    const r = await post(emu, env, req([user(1), user(2)]));
    expect(r).toEqual({ status: 201, json: { message: "Done.", createdUsers: ["Ada L1", "Ada L2"], processedCount: 2, errors: [] } });
    expect(emu.users()).toHaveLength(2);
  });

  it("refuses another method (404, as the vendor's router)", async () => {
    const { emu, env } = await start();
    for (const method of ["PUT", "PATCH"]) expect((await post(emu, env, req([user(1)]), { method })).status, method).toBe(404);
    expect(emu.users()).toHaveLength(0);
  });

  it("wants exactly 'Authorization: Bearer <token>'", async () => {
    const { emu, env } = await start();
    const t = env.ROYALTI_TOKEN!;
    for (const a of [`bearer ${t}`, t, `Token ${t}`, `Bearer ${t.toLowerCase()}`, `Bearer x${t}`, `Bearer  ${t}`])
      expect((await post(emu, env, req([user(1)]), { headers: { authorization: a } })).status, a.slice(0, 10)).toBe(401);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a body not sent as JSON", async () => {
    const { emu, env } = await start();
    expect((await post(emu, env, JSON.stringify(req([user(1)])), { headers: { "content-type": "text/plain" } })).status).toBe(400);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses unknown or mistyped top-level properties, and a missing sendEmail (the vendor would mail invites)", async () => {
    const { emu, env } = await start();
    for (const body of [
      req([user(1)], { notify: false }),
      { users: [user(1)] },
      req([user(1)], { sendEmail: "false" }),
      req([user(1)], { redirect_url: "not a url" }),
      req([user(1)], { redirect_url: 5 }),
      req([user(1)], { message: 5 }),
      req([]),
    ])
      expect((await post(emu, env, body)).status, JSON.stringify(body).slice(0, 60)).toBe(400);
    expect(emu.users()).toHaveLength(0);
  });

  it("takes at most 50 users a request", async () => {
    const { emu, env } = await start();
    const many = (n: number, p: string) => Array.from({ length: n }, (_, i) => user(`${p}${i}`));
    expect((await post(emu, env, req(many(51, "a")))).status).toBe(400);
    expect(emu.users()).toHaveLength(0);
    expect((await post(emu, env, req(many(50, "b")))).status).toBe(201);
    expect(emu.users()).toHaveLength(50);
  });

  it("refuses unknown and non-string user properties, and two users of one full name", async () => {
    const { emu, env } = await start();
    for (const users of [[user(1, { displayName: "A" })], [user(1, { country: 44 })], [user(1, { phone: null })], [user(1), user(2, { lastName: "L1", email: "other@example.com" })]])
      expect((await post(emu, env, req(users))).status, JSON.stringify(users).slice(0, 80)).toBe(400);
    expect(emu.users()).toHaveLength(0);
  });

  it("fails a user without firstName, lastName or email, or with a malformed email, with its sentence; creates the rest", async () => {
    const { emu, env } = await start();
    const r = await post(emu, env, req([
      { lastName: "NoFirst", email: "nf@example.com" },
      { firstName: "NoLast", email: "nl@example.com" },
      { firstName: "No", lastName: "Mail" },
      { firstName: "Bad", lastName: "Mail", email: "not-an-email" },
      { firstName: "Blank", lastName: " ", email: "bl@example.com" },
      user("ok"),
    ]));
    expect(r.status).toBe(201);
    expect(r.json.createdUsers).toEqual(["Ada Lok"]);
    expect(r.json.errors).toHaveLength(5);
    expect(r.json.errors).toContain("Invalid email format for Bad Mail");
    expect(emu.users().map((u) => u.email)).toEqual(["ada.ok@example.com"]);
  });

  it("a known email, in any case, is 'already associated with workspace!' and is not created again", async () => {
    const { emu, env } = await start();
    expect((await post(emu, env, req([user(1)]))).json.createdUsers).toEqual(["Ada L1"]);
    const r = await post(emu, env, req([user(2, { firstName: "Ann", email: "ADA.1@Example.COM" }), user(3)]));
    expect(r.status).toBe(201);
    expect(r.json.createdUsers).toEqual(["Ada L3"]);
    expect(r.json.errors).toEqual(["User Ann L2 already associated with workspace!"]);
    expect(emu.users()).toHaveLength(2);
  });

  it("throttles the 6th request inside one second with HTTP 429", async () => {
    const { emu, env } = await start({ vendorRate: true });
    const all = await Promise.all(Array.from({ length: 7 }, (_, i) => post(emu, env, req([user(`r${i}`)]))));
    expect(all.filter((r) => r.status === 201)).toHaveLength(5);
    expect(all.filter((r) => r.status === 429)).toHaveLength(2);
    expect(emu.users()).toHaveLength(5);
  });
});
