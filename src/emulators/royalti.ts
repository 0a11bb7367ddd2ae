import { randomBytes } from "node:crypto";
import { createEmulator, defineEmulator, listLength, parseJson, type EmulatorOptions, type EmuRequest, type EmuResponse } from "./_base.js";
import { canParseUrl } from "../util/url.js";

// Own copies of the vendor's facts, not the adapter's constants: a wrong adapter must not agree with itself.
const PATH = "/user/bulk";
const MAX_USERS = 50; // providers.md decision
const RATE = { limit: 5, intervalMs: 1000 }; // providers.md decision
const TOP_KEYS = new Set(["users", "sendEmail", "redirect_url", "message"]);
const USER_KEYS = new Set(["firstName", "lastName", "nickName", "userType", "email", "ipi", "role", "phone", "country"]);
/** The core's `format: "email"` rule. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface RoyaltiEmulatorOptions extends EmulatorOptions {}

/** A stored user: the fields sent, plus whether the invite email went out. */
export interface RoyaltiStoredUser extends Record<string, unknown> {
  email: string;
  /** The request's sendEmail: tests assert no invite was mailed. */
  invited: boolean;
}

const blank = (v: unknown) => typeof v !== "string" || v.trim() === "";

/**
 * Royalti POST /user/bulk (vendor-docs/royalti-user-bulk.txt): 201 with the names created and one
 * sentence per failed user. Stricter than the vendor on purpose where a lax vendor would hide an
 * adapter bug: sendEmail must be present (the vendor defaults it to true) and two users of one
 * full name in a request are refused (answers name users only by full name). A refused request
 * (400) stores nothing.
 */
export function createRoyaltiEmulator(opts: RoyaltiEmulatorOptions) {
  const token = opts.env.ROYALTI_TOKEN;
  if (!token) throw new Error("royalti emulator needs ROYALTI_TOKEN");
  const refused = new Set((opts.refuseKeys ?? []).map((k) => k.toLowerCase()));
  /** Workspace members by lower-cased email: the vendor's uniqueness is case-insensitive. */
  const users = new Map<string, RoyaltiStoredUser>();
  const bad = (status: number, message: string): EmuResponse => ({ status, body: { message } });

  const handle = (req: EmuRequest): EmuResponse => {
    // Express answers an unknown route or method with 404 (the vendor text lists 404).
    if (req.method !== "POST" || req.path !== PATH) return bad(404, `Cannot ${req.method} ${req.path}`);
    // "Format: Bearer {token}" exactly: another scheme, case or spacing is refused.
    if (req.headers.authorization !== `Bearer ${token}`) return bad(401, "Unauthorized");
    if (!/^application\/json\s*(;|$)/i.test(String(req.headers["content-type"] ?? ""))) return bad(400, "Content-Type must be application/json");
    const body = parseJson(req.body);
    if (!body || typeof body !== "object" || Array.isArray(body)) return bad(400, "Request body must be a JSON object");
    const b = body as Record<string, unknown>;
    const extra = Object.keys(b).find((k) => !TOP_KEYS.has(k));
    if (extra) return bad(400, `"${extra}" is not allowed`);
    if (!Array.isArray(b.users) || b.users.length === 0) return bad(400, `"users" must be a non-empty array`);
    if (b.users.length > MAX_USERS) return bad(400, `"users" must contain less than or equal to ${MAX_USERS} items`);
    // Deliberately stricter than the vendor (default true): a client must always say whether to mail invites.
    if (typeof b.sendEmail !== "boolean") return bad(400, `"sendEmail" is required and must be a boolean`);
    if (b.redirect_url !== undefined && (typeof b.redirect_url !== "string" || !canParseUrl(b.redirect_url))) return bad(400, `"redirect_url" must be a valid uri`);
    if (b.message !== undefined && typeof b.message !== "string") return bad(400, `"message" must be a string`);
    const names = new Set<string>();
    for (const u of b.users) {
      if (!u || typeof u !== "object" || Array.isArray(u)) return bad(400, `"users" must hold objects`);
      const o = u as Record<string, unknown>;
      const k = Object.keys(o).find((x) => !USER_KEYS.has(x));
      if (k) return bad(400, `"users[].${k}" is not allowed`);
      const nonText = Object.keys(o).find((x) => typeof o[x] !== "string");
      if (nonText) return bad(400, `"users[].${nonText}" must be a string`);
      const name = `${o.firstName ?? ""} ${o.lastName ?? ""}`;
      if (names.has(name)) return bad(400, `Duplicate user name in request: ${name}`);
      names.add(name);
    }

    const createdUsers: string[] = [];
    const errors: string[] = [];
    // One by one, as the vendor does: a second address differing only in case is "already associated".
    for (const o of b.users as Record<string, string>[]) {
      const name = `${o.firstName ?? ""} ${o.lastName ?? ""}`;
      const email = (o.email ?? "").toLowerCase();
      if (blank(o.firstName)) errors.push(`First name is required for ${name}`);
      else if (blank(o.lastName)) errors.push(`Last name is required for ${name}`);
      else if (blank(o.email)) errors.push(`Email is required for ${name}`);
      else if (!EMAIL.test(o.email!)) errors.push(`Invalid email format for ${name}`);
      // refuseKeys: a server-side rule a client cannot check.
      else if (refused.has(email)) errors.push(`User ${name} could not be added to workspace`);
      else if (users.has(email)) errors.push(`User ${name} already associated with workspace!`);
      else {
        users.set(email, { ...o, email: o.email!, invited: b.sendEmail });
        createdUsers.push(name);
      }
    }
    return { status: 201, body: { message: "Done.", createdUsers, processedCount: b.users.length, errors } };
  };

  return createEmulator(
    {
      name: "royalti",
      rate: RATE,
      isLimited: (req) => req.path === PATH,
      throttled: () => ({ status: 429, headers: { "retry-after": "1" }, body: { message: "Too Many Requests" } }),
      serverError: () => bad(500, "Internal Server Error"),
      handle,
      batchSize: listLength("users"),
      users: () => [...users.values()],
    },
    opts,
  );
}

export default defineEmulator({
  name: "royalti",
  sandboxEnv: () => ({ ROYALTI_TOKEN: `RWAK${randomBytes(16).toString("hex")}` }),
  create: (opts) => createRoyaltiEmulator(opts),
});
