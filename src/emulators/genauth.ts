import { randomBytes } from "node:crypto";
import { GENAUTH_FIELDS, GenauthOptionsSchema } from "../providers/genauth.js";
import { createEmulator, defineEmulator, listLength, parseJson, type EmulatorOptions, type EmuRequest, type EmuResponse } from "./_base.js";

const MAX_USERS = 50;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const UNIQUE = ["email", "phone", "username", "externalId"] as const;

export interface GenauthEmulatorOptions extends EmulatorOptions {
  /** Life of a management token, ms. @default 7200000 */
  tokenTtlMs?: number;
}

/** GenAuth management API: token issue/expiry, createUsersBatch with all-or-nothing conflicts. */
export function createGenauthEmulator(opts: GenauthEmulatorOptions) {
  const e = opts.env;
  if (!e.GENAUTH_ACCESS_KEY_ID || !e.GENAUTH_ACCESS_KEY_SECRET || !e.GENAUTH_USER_POOL_ID) throw new Error("genauth emulator needs GENAUTH_ACCESS_KEY_ID, GENAUTH_ACCESS_KEY_SECRET and GENAUTH_USER_POOL_ID");
  const ttl = opts.tokenTtlMs ?? 7_200_000;
  const tokens = new Map<string, number>();
  const refused = new Set((opts.refuseKeys ?? []).map((k) => k.toLowerCase()));
  const users: Record<string, unknown>[] = [];
  const taken = Object.fromEntries(UNIQUE.map((k) => [k, new Set<string>()])) as Record<(typeof UNIQUE)[number], Set<string>>;
  let issued: string[] = [];
  const answer = (statusCode: number, message: string, extra: Record<string, unknown> = {}): EmuResponse => ({
    status: 200,
    body: { statusCode, message, ...(statusCode === 200 ? {} : { requestId: randomBytes(8).toString("hex") }), ...extra },
  });
  const norm = (k: string, v: unknown) => (k === "email" ? String(v).toLowerCase() : String(v));

  const issueToken = (req: EmuRequest): EmuResponse => {
    const b = parseJson(req.body) as Record<string, unknown> | undefined;
    if (b?.accessKeyId !== e.GENAUTH_ACCESS_KEY_ID || b?.accessKeySecret !== e.GENAUTH_ACCESS_KEY_SECRET)
      return answer(401, "accessKeyId or accessKeySecret is invalid", { apiCode: 2004 });
    const token = randomBytes(32).toString("base64url");
    tokens.set(token, Date.now() + ttl);
    issued.push(token);
    return answer(200, "Operation successful", { data: { access_token: token, expires_in: Math.ceil(ttl / 1000) } });
  };

  const invalidUser = (u: unknown): string | undefined => {
    if (!u || typeof u !== "object" || Array.isArray(u)) return "list items must be objects";
    const o = u as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) {
      const spec = GENAUTH_FIELDS[k];
      if (!spec) return `unknown field ${k}`;
      if (spec.type === "string" && typeof v !== "string") return `${k} must be a string`;
      if (spec.type === "boolean" && typeof v !== "boolean") return `${k} must be a boolean`;
      if (spec.type === "string[]" && (!Array.isArray(v) || v.some((x) => typeof x !== "string"))) return `${k} must be a string array`;
      if (spec.type === "object" && (!v || typeof v !== "object" || Array.isArray(v))) return `${k} must be an object`;
      if (spec.enum && !spec.enum.includes(v as string)) return `${k} is not allowed`;
      if (spec.pattern && !spec.pattern.test(v as string)) return `${k} is malformed`;
      if (spec.format === "url" && !URL.canParse(v as string)) return `${k} must be a URL`;
      if (spec.format === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(v as string)) return `${k} must be a date`;
    }
    if (o.email === undefined && o.phone === undefined && o.username === undefined) return "one of email, phone and username is required";
    if (o.email !== undefined && !EMAIL.test(o.email as string)) return "email is malformed";
    if (o.email !== undefined && refused.has(String(o.email).toLowerCase())) return "email is not allowed in this user pool";
    return undefined;
  };

  const createBatch = (req: EmuRequest): EmuResponse => {
    const auth = String(req.headers.authorization ?? "");
    const m = /^Bearer (.+)$/.exec(auth);
    const exp = m ? tokens.get(m[1]!) : undefined;
    if (exp === undefined) return answer(401, "Invalid access token", { apiCode: 2005 });
    if (Date.now() >= exp) return answer(401, "Access token expired", { apiCode: 2006 });
    if (req.headers["x-authing-userpool-id"] !== e.GENAUTH_USER_POOL_ID) return answer(403, "User pool not found or not authorized", { apiCode: 2007 });
    const body = parseJson(req.body) as Record<string, unknown> | undefined;
    if (!body || typeof body !== "object" || Object.keys(body).some((k) => k !== "list" && k !== "options")) return answer(400, "Invalid request body", { apiCode: 1001 });
    if (body.options !== undefined && !GenauthOptionsSchema.safeParse(body.options).success) return answer(400, "Invalid options", { apiCode: 1001 });
    const list = body.list;
    if (!Array.isArray(list) || list.length === 0) return answer(400, "list is required", { apiCode: 1001 });
    if (list.length > MAX_USERS) return answer(400, `list length must not exceed ${MAX_USERS}`, { apiCode: 1001 });
    for (const u of list) if (invalidUser(u)) return answer(400, "Invalid user information", { apiCode: 1001 });
    // A conflict with the pool or within the batch rejects it whole, naming nobody (providers.md).
    const seen = Object.fromEntries(UNIQUE.map((k) => [k, new Set<string>()])) as Record<(typeof UNIQUE)[number], Set<string>>;
    for (const u of list as Record<string, unknown>[])
      for (const k of UNIQUE) {
        if (u[k] === undefined) continue;
        const v = norm(k, u[k]);
        if (taken[k].has(v) || seen[k].has(v)) return answer(409, "User already exists", { apiCode: 2026 });
        seen[k].add(v);
      }
    const data = (list as Record<string, unknown>[]).map((u) => {
      for (const k of UNIQUE) if (u[k] !== undefined) taken[k].add(norm(k, u[k]));
      const { password, salt, ...rest } = u;
      const now = new Date().toISOString();
      const created = { userId: randomBytes(12).toString("hex"), createdAt: now, updatedAt: now, status: "Activated", ...rest, passwordSet: password !== undefined, keepPassword: (body.options as { keepPassword?: boolean } | undefined)?.keepPassword === true };
      users.push(created);
      const { passwordSet: _p, keepPassword: _k, ...visible } = created;
      return visible;
    });
    return answer(200, "Operation successful", { data });
  };

  const handle = (req: EmuRequest): EmuResponse => {
    if (req.method !== "POST") return { status: 405, body: { statusCode: 405, message: "Method Not Allowed" } };
    if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) return answer(400, "Content-Type must be application/json", { apiCode: 1001 });
    if (req.path === "/api/v3/get-management-token") return issueToken(req);
    if (req.path === "/api/v3/create-users-batch") return createBatch(req);
    return { status: 404, body: { statusCode: 404, message: "Not Found" } };
  };

  let errors = 0;
  const emu = createEmulator(
    {
      name: "genauth",
      rate: { limit: 10, intervalMs: 1000 },
      isLimited: (req) => req.path === "/api/v3/create-users-batch",
      throttled: () => answer(429, "Too Many Requests", { apiCode: 1429 }),
      serverError: () => (++errors % 2 ? answer(500, "Internal Server Error", { apiCode: 1500 }) : { status: 502, body: "Bad Gateway" }),
      handle,
      batchSize: listLength("list"),
      users: () => users,
    },
    opts,
  );
  issued = emu.stats.issued;
  return emu;
}

export default defineEmulator({
  name: "genauth",
  sandboxEnv: () => ({
    GENAUTH_ACCESS_KEY_ID: randomBytes(12).toString("hex"),
    GENAUTH_ACCESS_KEY_SECRET: randomBytes(16).toString("hex"),
    GENAUTH_USER_POOL_ID: randomBytes(12).toString("hex"),
  }),
  create: (opts) => createGenauthEmulator(opts),
});
