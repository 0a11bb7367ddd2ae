import { randomBytes } from "node:crypto";
import { createEmulator, defineEmulator, listLength, parseJson, type EmulatorOptions, type EmuRequest, type EmuResponse } from "./_base.js";

const MAX_USERS = 50;
const TOP_KEYS = new Set(["users", "sendEmail", "redirect_url", "message"]);
const USER_KEYS = new Set(["firstName", "lastName", "nickName", "userType", "email", "ipi", "role", "phone", "country"]);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface RoyaltiEmulatorOptions extends EmulatorOptions {}

/** Royalti /user/bulk: 201 with created names and error sentences; strict about sendEmail and names. */
export function createRoyaltiEmulator(opts: RoyaltiEmulatorOptions) {
  const token = opts.env.ROYALTI_TOKEN;
  if (!token) throw new Error("royalti emulator needs ROYALTI_TOKEN");
  const refused = new Set((opts.refuseKeys ?? []).map((k) => k.toLowerCase()));
  const users = new Map<string, Record<string, unknown>>();
  const bad = (status: number, message: string): EmuResponse => ({ status, body: { message } });

  const handle = (req: EmuRequest): EmuResponse => {
    if (req.method !== "POST" || req.path !== "/user/bulk") return bad(404, "Not Found");
    if (req.headers.authorization !== `Bearer ${token}`) return bad(401, "Unauthorized");
    if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) return bad(400, "Content-Type must be application/json");
    const body = parseJson(req.body) as Record<string, unknown> | undefined;
    if (!body || typeof body !== "object" || Array.isArray(body)) return bad(400, "Invalid JSON body");
    const extra = Object.keys(body).find((k) => !TOP_KEYS.has(k));
    if (extra) return bad(400, `Unknown field ${extra}`);
    // Strict on purpose: the vendor defaults sendEmail to true, so a client must always say it.
    if (typeof body.sendEmail !== "boolean") return bad(400, "sendEmail must be given explicitly (true or false)");
    if (body.redirect_url !== undefined && (typeof body.redirect_url !== "string" || !URL.canParse(body.redirect_url))) return bad(400, "redirect_url must be a URL");
    if (body.message !== undefined && typeof body.message !== "string") return bad(400, "message must be a string");
    const list = body.users;
    if (!Array.isArray(list) || list.length === 0) return bad(400, "users must be a non-empty array");
    if (list.length > MAX_USERS) return bad(400, `at most ${MAX_USERS} users a request`);
    const seenNames = new Set<string>();
    for (const u of list) {
      if (!u || typeof u !== "object" || Array.isArray(u)) return bad(400, "users must hold objects");
      const o = u as Record<string, unknown>;
      const k = Object.keys(o).find((x) => !USER_KEYS.has(x));
      if (k) return bad(400, `Unknown user field ${k}`);
      if (Object.values(o).some((v) => typeof v !== "string")) return bad(400, "user fields must be strings");
      const name = `${o.firstName ?? ""} ${o.lastName ?? ""}`;
      // Answers name users only by full name: a request with two of one name is refused.
      if (seenNames.has(name)) return bad(400, `Duplicate user name in request: ${name}`);
      seenNames.add(name);
    }
    const createdUsers: string[] = [];
    const errors: string[] = [];
    for (const o of list as Record<string, string>[]) {
      const name = `${o.firstName ?? ""} ${o.lastName ?? ""}`;
      const email = (o.email ?? "").toLowerCase();
      if (!o.firstName || !o.lastName) errors.push(`First name and last name are required for ${name}`);
      else if (!EMAIL.test(o.email ?? "")) errors.push(`Invalid email format for ${name}`);
      else if (refused.has(email)) errors.push(`User ${name} could not be added to workspace`);
      else if (users.has(email)) errors.push(`User ${name} already associated with workspace!`);
      else {
        users.set(email, { ...o, invited: body.sendEmail });
        createdUsers.push(name);
      }
    }
    return { status: 201, body: { message: "Done.", createdUsers, processedCount: list.length, errors } };
  };

  return createEmulator(
    {
      name: "royalti",
      rate: { limit: 5, intervalMs: 1000 },
      isLimited: (req) => req.path === "/user/bulk",
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
