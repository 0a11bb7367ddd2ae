import { randomBytes } from "node:crypto";
import { IMKIT_LIMITS } from "../providers/imkit.js";
import { createEmulator, defineEmulator, listLength, parseJson, type EmulatorOptions, type EmuRequest, type EmuResponse } from "./_base.js";

const MAX_RECORDS = 100;
const KEYS = new Set(["_id", "nickname", "avatarUrl"]);

export interface ImkitEmulatorOptions extends EmulatorOptions {}

/** IMKIT /admin/clients/list: upserts, answers a count, rejects a whole request for one bad record. */
export function createImkitEmulator(opts: ImkitEmulatorOptions) {
  const apiKey = opts.env.IMKIT_API_KEY;
  if (!apiKey) throw new Error("imkit emulator needs IMKIT_API_KEY");
  const clients = new Map<string, Record<string, unknown>>();
  const refused = new Set(opts.refuseKeys ?? []);
  const fail = (status: number, RC: number, RM: string): EmuResponse => ({ status, body: { RC, RM } });

  const invalid = (u: unknown): boolean => {
    if (!u || typeof u !== "object" || Array.isArray(u)) return true;
    const o = u as Record<string, unknown>;
    if (Object.keys(o).some((k) => !KEYS.has(k))) return true;
    if (typeof o._id !== "string" || o._id.length === 0 || o._id.length > IMKIT_LIMITS.idLength || refused.has(o._id)) return true;
    if (o.nickname !== undefined && (typeof o.nickname !== "string" || o.nickname.length > IMKIT_LIMITS.nicknameLength)) return true;
    if (o.avatarUrl !== undefined && (typeof o.avatarUrl !== "string" || o.avatarUrl.length > IMKIT_LIMITS.avatarLength || !URL.canParse(o.avatarUrl))) return true;
    return false;
  };

  const handle = (req: EmuRequest): EmuResponse => {
    if (req.method !== "POST") return fail(405, 405, "Method Not Allowed");
    if (req.path !== "/admin/clients/list") return fail(404, 404, "Not Found");
    if (req.headers["im-api-key"] !== apiKey) return fail(401, 401, "Invalid API Key");
    if (!/^application\/json;\s*charset=utf-8$/i.test(String(req.headers["content-type"] ?? ""))) return fail(400, 400, "Content-Type must be application/json; charset=utf-8");
    const body = parseJson(req.body) as Record<string, unknown> | undefined;
    if (!body || typeof body !== "object" || Object.keys(body).some((k) => k !== "data") || !Array.isArray(body.data) || body.data.length === 0)
      return fail(400, 400, "Invalid Data Format");
    if (body.data.length > MAX_RECORDS) return fail(400, 400, `Too many records (at most ${MAX_RECORDS})`);
    // One malformed record fails the whole request and stores nothing (providers.md decision).
    if (body.data.some(invalid)) return fail(400, 400, "Invalid Data Format");
    for (const u of body.data as Record<string, unknown>[]) clients.set(u._id as string, { ...(clients.get(u._id as string) ?? {}), ...u });
    return { status: 200, body: { RC: 0, RM: "OK", result: { count: body.data.length } } };
  };

  return createEmulator(
    {
      name: "imkit",
      rate: { limit: 10, intervalMs: 1000 },
      isLimited: (req) => req.path === "/admin/clients/list",
      throttled: () => fail(429, 429, "Too Many Requests"),
      serverError: () => fail(500, 500, "Internal Server Error"),
      handle,
      batchSize: listLength("data"),
      users: () => [...clients.values()],
    },
    opts,
  );
}

export default defineEmulator({
  name: "imkit",
  sandboxEnv: () => ({ IMKIT_API_KEY: randomBytes(16).toString("hex") }),
  create: (opts) => createImkitEmulator(opts),
});
