import { afterAll, describe, expect, it } from "vitest";
import imkitEmulator from "../../src/emulators/imkit.js";
import type { Emulator } from "../../src/emulators/_base.js";

// Direct requests a faithful IMKIT server refuses (providers.md "imkit",
// vendor-docs/imkit-batch-create-users.txt): each pins one rule of the emulator.

const PATH = "/admin/clients/list";
const CT = "application/json; charset=utf-8";
const open: Emulator[] = [];
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

async function start() {
  const env = imkitEmulator.sandboxEnv();
  const emu = imkitEmulator.create({ env });
  await emu.listen(0, "127.0.0.1");
  open.push(emu);
  return { emu, env };
}

async function post(emu: Emulator, env: Record<string, string>, body: unknown, o: { headers?: Record<string, string>; method?: string } = {}) {
  const res = await fetch(`${emu.url}${PATH}`, {
    method: o.method ?? "POST",
    headers: { "IM-API-KEY": env.IMKIT_API_KEY!, "Content-Type": CT, ...o.headers },
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

/** Refused whole, as providers.md says: HTTP 400, RC ≠ 0. */
const refused400 = (r: { status: number; json: any }) => r.status === 400 && r.json?.RC !== 0;

describe("imkit emulator (strict)", () => {
  it("control: a well-formed request is accepted", async () => {
    const { emu, env } = await start();
    const r = await post(emu, env, { data: [{ _id: "a", nickname: "A", avatarUrl: "https://example.com/a.png" }] });
    expect(r).toEqual({ status: 200, json: { RC: 0, RM: "OK", result: { count: 1 } } });
  });

  it("refuses another method than POST", async () => {
    const { emu, env } = await start();
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      const r = await post(emu, env, { data: [{ _id: "a" }] }, { method });
      expect(r.status, method).toBeGreaterThanOrEqual(400);
    }
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a content type other than application/json; charset=utf-8", async () => {
    const { emu, env } = await start();
    for (const type of ["application/json", "application/json; charset=iso-8859-1", "text/plain; charset=utf-8"]) {
      const r = await post(emu, env, { data: [{ _id: "a" }] }, { headers: { "Content-Type": type } });
      expect(r.status, type).toBe(400);
    }
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a key that is not the application's (wrong, different case, empty)", async () => {
    const { emu, env } = await start();
    for (const key of ["wrong", env.IMKIT_API_KEY!.toUpperCase(), env.IMKIT_API_KEY!.slice(1)]) {
      const r = await post(emu, env, { data: [{ _id: "a" }] }, { headers: { "IM-API-KEY": key } });
      expect(r.status).toBe(401);
    }
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a top-level property other than data", async () => {
    const { emu, env } = await start();
    expect(refused400(await post(emu, env, { data: [{ _id: "a" }], upsert: true }))).toBe(true);
    expect(refused400(await post(emu, env, { data: [] }))).toBe(true);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a record property other than _id, nickname, avatarUrl", async () => {
    const { emu, env } = await start();
    expect(refused400(await post(emu, env, { data: [{ _id: "a", name: "A" }] }))).toBe(true);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses a missing or empty _id", async () => {
    const { emu, env } = await start();
    expect(refused400(await post(emu, env, { data: [{ _id: "" }] }))).toBe(true);
    expect(refused400(await post(emu, env, { data: [{ nickname: "x" }] }))).toBe(true);
    expect(refused400(await post(emu, env, { data: [{ _id: 7 }] }))).toBe(true);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses an _id over 255 characters, a nickname over 255, an avatarUrl over 2048 (the shared decisions)", async () => {
    const { emu, env } = await start();
    expect(refused400(await post(emu, env, { data: [{ _id: "i".repeat(256) }] }))).toBe(true);
    expect(refused400(await post(emu, env, { data: [{ _id: "a", nickname: "n".repeat(256) }] }))).toBe(true);
    expect(refused400(await post(emu, env, { data: [{ _id: "a", avatarUrl: `https://example.com/${"p".repeat(2049 - 20)}` }] }))).toBe(true);
    expect((await post(emu, env, { data: [{ _id: "i".repeat(255), nickname: "n".repeat(255), avatarUrl: `https://example.com/${"p".repeat(2048 - 20)}` }] })).status).toBe(200);
    expect(emu.users()).toHaveLength(1);
  });

  it("refuses non-string nickname and avatarUrl, and an avatarUrl that is not an http(s) URL", async () => {
    const { emu, env } = await start();
    for (const rec of [{ _id: "a", nickname: 5 }, { _id: "a", nickname: null }, { _id: "a", avatarUrl: "not a url" }, { _id: "a", avatarUrl: "ftp://example.com/a.png" }, { _id: "a", avatarUrl: 3 }])
      expect(refused400(await post(emu, env, { data: [rec] })), JSON.stringify(rec)).toBe(true);
    expect(emu.users()).toHaveLength(0);
  });

  it("refuses the same _id twice in one request", async () => {
    const { emu, env } = await start();
    expect(refused400(await post(emu, env, { data: [{ _id: "a" }, { _id: "a", nickname: "B" }] }))).toBe(true);
    expect(emu.users()).toHaveLength(0);
  });

  it("stores nothing from a request refused for one malformed record, and its message names no record", async () => {
    const { emu, env } = await start();
    const r = await post(emu, env, { data: [{ _id: "good-1" }, { _id: "bad-1", avatarUrl: "nope" }, { _id: "good-2" }] });
    expect(r.status).toBe(400);
    expect(r.json.RC).not.toBe(0);
    expect(JSON.stringify(r.json)).not.toMatch(/good-1|bad-1|good-2/);
    expect(emu.users()).toHaveLength(0);
  });

  it("answers the 11th request inside one second with HTTP 429 {RC:429,RM:'Too Many Requests'}", async () => {
    const { emu, env } = await start();
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => post(emu, env, { data: [{ _id: `r${i}` }] })));
    expect(all.filter((r) => r.status === 200)).toHaveLength(10);
    const t = all.filter((r) => r.status !== 200);
    expect(t).toHaveLength(2);
    for (const r of t) expect(r).toEqual({ status: 429, json: { RC: 429, RM: "Too Many Requests" } });
    expect(emu.users()).toHaveLength(10);
  });
});
