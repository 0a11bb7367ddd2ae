import { randomBytes } from "node:crypto";
import { createEmulator, defineEmulator, listLength, parseJson, type EmulatorOptions, type EmuRequest, type EmuResponse } from "./_base.js";
import { canParseUrl } from "../util/url.js";

// providers.md's values, written out here rather than taken from the adapter, so that a mistake in
// the adapter's copy fails against the emulator instead of being shared by it.
const IMKIT_PATH = "/admin/clients/list";
const IMKIT_CONTENT_TYPE = "application/json; charset=utf-8";
// The vendor text: "keep each batch under 100 records" (providers.md's 100 is not under it).
const IMKIT_MAX_BATCH = 99;
const IMKIT_RATE = { limit: 10, intervalMs: 1000 };
const IMKIT_LIMITS = { idLength: 255, nicknameLength: 255, avatarLength: 2048 };
const FIELDS = new Set(["_id", "nickname", "avatarUrl"]);
// The vendor text's header table: exactly this media type and charset (spacing and case aside).
const CONTENT_TYPE = /^application\/json;\s*charset=utf-8$/i;

export interface ImkitEmulatorOptions extends EmulatorOptions {}

interface ImkitClient {
  _id: string;
  nickname?: string;
  avatarUrl?: string;
}

/** Length in code points, as the adapter's FieldSpec counts it. */
const chars = (s: string) => [...s].length;

/**
 * IMKIT POST /admin/clients/list: upserts by `_id`, answers `{RC:0,RM:"OK",result:{count}}`, and
 * rejects a whole request (HTTP 400, RC 400, a message naming no record) when any record is
 * malformed, storing nothing from it (providers.md, "Decision (emulator)").
 */
export function createImkitEmulator(opts: ImkitEmulatorOptions) {
  const apiKey = opts.env.IMKIT_API_KEY;
  if (!apiKey) throw new Error("imkit emulator needs IMKIT_API_KEY");
  const clients = new Map<string, ImkitClient>();
  const refused = new Set(opts.refuseKeys ?? []);
  const fail = (status: number, RM: string): EmuResponse => ({ status, body: { RC: status, RM } });
  const badData = () => fail(400, "Invalid Data Format");
  let errors = 0;

  /** Every rule the adapter declares, plus the wire types (no coercion: an adapter bug must fail). */
  const malformed = (u: unknown): boolean => {
    if (!u || typeof u !== "object" || Array.isArray(u)) return true;
    const o = u as Record<string, unknown>;
    if (Object.keys(o).some((k) => !FIELDS.has(k))) return true;
    // "Missing Required Fields — the user information is missing the _id field" (vendor text).
    if (typeof o._id !== "string" || o._id === "" || chars(o._id) > IMKIT_LIMITS.idLength || refused.has(o._id)) return true;
    if (o.nickname !== undefined && (typeof o.nickname !== "string" || chars(o.nickname) > IMKIT_LIMITS.nicknameLength)) return true;
    if (o.avatarUrl !== undefined && (typeof o.avatarUrl !== "string" || chars(o.avatarUrl) > IMKIT_LIMITS.avatarLength || !/^https?:\/\//i.test(o.avatarUrl) || !canParseUrl(o.avatarUrl)))
      return true;
    return false;
  };

  const handle = (req: EmuRequest): EmuResponse => {
    if (req.path !== IMKIT_PATH) return fail(404, "Not Found");
    if (req.method !== "POST") return fail(405, "Method Not Allowed");
    if (req.headers["im-api-key"] !== apiKey) return fail(401, "Invalid API Key");
    if (!CONTENT_TYPE.test(String(req.headers["content-type"] ?? ""))) return fail(400, `Content-Type must be ${IMKIT_CONTENT_TYPE}`);
    const body = parseJson(req.body);
    if (!body || typeof body !== "object" || Array.isArray(body)) return badData();
    const b = body as Record<string, unknown>;
    // Only `data` at the top level; it must be a non-empty array.
    if (Object.keys(b).some((k) => k !== "data") || !Array.isArray(b.data) || b.data.length === 0) return badData();
    if (b.data.length > IMKIT_MAX_BATCH) return fail(400, `Too many records: at most ${IMKIT_MAX_BATCH} per request`);
    if (b.data.some(malformed)) return badData();
    const list = b.data as ImkitClient[];
    // Decision: the same _id twice in one request is malformed (which one wins would be undefined).
    if (new Set(list.map((u) => u._id)).size !== list.length) return badData();
    // Upsert: an existing client keeps fields the request leaves out.
    for (const u of list) clients.set(u._id, { ...clients.get(u._id), ...u });
    return { status: 200, body: { RC: 0, RM: "OK", result: { count: list.length } } };
  };

  return createEmulator(
    {
      name: "imkit",
      rate: { ...IMKIT_RATE },
      isLimited: (req) => req.path === IMKIT_PATH,
      // providers.md: HTTP 429 {"RC":429,"RM":"Too Many Requests"}.
      throttled: () => fail(429, "Too Many Requests"),
      // "Internal Server Error" (vendor text); every other one a bare gateway 502, as a proxy answers.
      serverError: () => (++errors % 2 ? fail(500, "Internal Server Error") : { status: 502, body: "Bad Gateway" }),
      handle,
      batchSize: listLength("data"),
      users: () => [...clients.values()] as unknown as Record<string, unknown>[],
    },
    opts,
  );
}

export default defineEmulator({
  name: "imkit",
  sandboxEnv: () => ({ IMKIT_API_KEY: randomBytes(16).toString("hex") }),
  create: (opts) => createImkitEmulator(opts),
});
