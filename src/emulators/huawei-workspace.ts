import { randomBytes } from "node:crypto";
import { createEmulator, defineEmulator, listLength, parseJson, type EmulatorOptions, type EmuRequest, type EmuResponse } from "./_base.js";

// The rules are restated here, not imported from the adapter, so an adapter bug cannot pass.
// Vendor text: vendor-docs/huawei-workspace-users-batch-create.txt; decisions: providers.md.
const MAX_USERS = 200;
const MAX_GROUPS = 5;
const RATE = { limit: 10, intervalMs: 1000 };
const IAM_PATH = "/v3/auth/tokens";
const USER_KEYS = new Set([
  "user_name", "user_email", "user_phone", "account_expires", "active_type", "password",
  "enable_change_password", "next_login_change_password", "group_ids", "description", "alias_name",
]);
const STRING_KEYS = ["user_name", "user_email", "user_phone", "account_expires", "active_type", "password", "description", "alias_name"];
const USER_NAME = /^[^\s\p{Cc}]{1,64}$/u;
const EXPIRES = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9][0-9 ()-]{3,24}$/;

/** Error codes of this emulator (WKS.0108 / WKS.0001 / APIGW.0308 are providers.md's; the rest are its own choice). */
export const HUAWEI_EMULATOR_CODES = {
  INVALID_FIELD: "WKS.0001",
  TOKEN_EXPIRED: "WKS.0002",
  TOKEN_UNKNOWN: "WKS.0003",
  PROJECT_MISMATCH: "WKS.0004",
  METHOD: "WKS.0405",
  USER_EXISTS: "WKS.0108",
  SERVER: "WKS.0999",
  NO_API: "APIGW.0101",
  THROTTLED: "APIGW.0308",
} as const;
const C = HUAWEI_EMULATOR_CODES;

export interface HuaweiWorkspaceEmulatorOptions extends EmulatorOptions {
  /** Life of an IAM token, ms (tests force expiry mid-run with a short one). @default 86400000 (24 h) */
  tokenTtlMs?: number;
}

const err = (status: number, error_code: string, error_msg: string): EmuResponse => ({ status, body: { error_code, error_msg } });
const invalid = () => err(400, C.INVALID_FIELD, "Invalid parameter.");
/** IAM's own error shape (Keystone style). */
const iamErr = (status: number, message: string, title: string): EmuResponse => ({ status, body: { error: { code: status, message, title } } });
const chars = (s: string) => [...s].length;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isJson = (req: EmuRequest) => /^application\/json\s*(;|$)/i.test(String(req.headers["content-type"] ?? ""));
const filled = (v: unknown) => typeof v === "string" && v !== "";

/** "0" or a real UTC time in one of the two documented formats. */
function validExpiry(v: string): boolean {
  if (v === "0") return true;
  if (!EXPIRES.test(v)) return false;
  const t = Date.parse(v);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 19) === v.slice(0, 19);
}

/** Huawei IAM tokens + Workspace batch-create: all-or-nothing requests, errors that name nobody. */
export function createHuaweiWorkspaceEmulator(opts: HuaweiWorkspaceEmulatorOptions) {
  const e = opts.env;
  const iamCreds = Boolean(e.HUAWEI_IAM_USER && e.HUAWEI_IAM_PASSWORD && e.HUAWEI_IAM_DOMAIN);
  if (!e.HUAWEI_PROJECT_ID || !(e.HUAWEI_AUTH_TOKEN || iamCreds))
    throw new Error("huawei-workspace emulator needs HUAWEI_PROJECT_ID and HUAWEI_AUTH_TOKEN or HUAWEI_IAM_USER/PASSWORD/DOMAIN");
  const ttl = opts.tokenTtlMs ?? 24 * 3600_000;
  /** Token → expiry (epoch ms). A token given in the env never expires here. */
  const tokens = new Map<string, number>();
  if (e.HUAWEI_AUTH_TOKEN) tokens.set(e.HUAWEI_AUTH_TOKEN, Number.POSITIVE_INFINITY);
  const refused = new Set(opts.refuseKeys ?? []);
  const users = new Map<string, Record<string, unknown>>();

  /** POST /v3/auth/tokens, password method scoped to the project (providers.md body). */
  const issueToken = (req: EmuRequest): EmuResponse => {
    if (req.method !== "POST") return iamErr(405, "The method is not allowed.", "Method Not Allowed");
    if (!isJson(req)) return iamErr(400, "The request body must be JSON.", "Bad Request");
    const b = parseJson(req.body);
    const auth = isObject(b) ? b.auth : undefined;
    const identity = isObject(auth) ? auth.identity : undefined;
    const methods = isObject(identity) ? identity.methods : undefined;
    const pw = isObject(identity) ? identity.password : undefined;
    const user = isObject(pw) ? pw.user : undefined;
    const domain = isObject(user) ? user.domain : undefined;
    const scope = isObject(auth) ? auth.scope : undefined;
    const project = isObject(scope) ? scope.project : undefined;
    if (!Array.isArray(methods) || methods.length !== 1 || methods[0] !== "password" || !isObject(user) || !isObject(domain))
      return iamErr(400, "The request is malformed: auth.identity.", "Bad Request");
    if (!iamCreds || user.name !== e.HUAWEI_IAM_USER || user.password !== e.HUAWEI_IAM_PASSWORD || domain.name !== e.HUAWEI_IAM_DOMAIN)
      return iamErr(401, "The username or password is wrong.", "Unauthorized");
    if (!isObject(project) || project.id !== e.HUAWEI_PROJECT_ID) return iamErr(400, "Invalid project scope.", "Bad Request");
    const token = `MII${randomBytes(32).toString("base64url")}`;
    const now = Date.now();
    const expires = now + ttl;
    tokens.set(token, expires);
    emu.stats.issued.push(token);
    return {
      status: 201,
      headers: { "X-Subject-Token": token },
      body: {
        token: {
          expires_at: new Date(expires).toISOString(),
          issued_at: new Date(now).toISOString(),
          methods: ["password"],
          project: { id: e.HUAWEI_PROJECT_ID, domain: { name: e.HUAWEI_IAM_DOMAIN } },
          user: { name: e.HUAWEI_IAM_USER, domain: { name: e.HUAWEI_IAM_DOMAIN } },
        },
      },
    };
  };

  /** Whether one CreateUserRequest breaks a rule (the vendor says only "invalid", never which). */
  const invalidUser = (u: unknown): boolean => {
    if (!isObject(u)) return true;
    if (Object.keys(u).some((k) => !USER_KEYS.has(k))) return true;
    if (STRING_KEYS.some((k) => u[k] !== undefined && typeof u[k] !== "string")) return true;
    const name = u.user_name;
    if (typeof name !== "string" || !USER_NAME.test(name) || refused.has(name)) return true;
    if (u.user_email !== undefined && !EMAIL.test(u.user_email as string)) return true;
    if (u.user_phone !== undefined && !PHONE.test(u.user_phone as string)) return true;
    if (u.account_expires !== undefined && !validExpiry(u.account_expires as string)) return true;
    const type = u.active_type ?? "USER_ACTIVATE";
    if (type === "USER_ACTIVATE" && !filled(u.user_email) && !filled(u.user_phone)) return true;
    else if (type === "ADMIN_ACTIVATE" && !filled(u.password)) return true;
    else if (type !== "USER_ACTIVATE" && type !== "ADMIN_ACTIVATE") return true;
    for (const k of ["enable_change_password", "next_login_change_password"]) if (u[k] !== undefined && typeof u[k] !== "boolean") return true;
    const g = u.group_ids;
    if (g !== undefined && (!Array.isArray(g) || g.length > MAX_GROUPS || g.some((x) => typeof x !== "string" || x === ""))) return true;
    if (u.description !== undefined && chars(u.description as string) > 255) return true;
    if (u.alias_name !== undefined && chars(u.alias_name as string) > 55) return true;
    return false;
  };

  const batchCreate = (req: EmuRequest, project: string): EmuResponse => {
    if (req.method !== "POST") return err(405, C.METHOD, "The method is not allowed.");
    const token = req.headers["x-auth-token"];
    const exp = typeof token === "string" ? tokens.get(token) : undefined;
    if (exp === undefined) return err(401, C.TOKEN_UNKNOWN, "Authentication failed.");
    if (Date.now() >= exp) return err(401, C.TOKEN_EXPIRED, "The token must be updated.");
    // Tokens are scoped to HUAWEI_PROJECT_ID; another project in the path is not theirs.
    if (project !== e.HUAWEI_PROJECT_ID) return err(403, C.PROJECT_MISMATCH, "The project ID in the URL does not match the token.");
    if (!isJson(req)) return invalid();
    const body = parseJson(req.body);
    if (!isObject(body) || Object.keys(body).some((k) => k !== "users") || !Array.isArray(body.users)) return invalid();
    const list = body.users as unknown[];
    if (list.length < 1 || list.length > MAX_USERS) return invalid();
    if (list.some(invalidUser)) return invalid();
    // providers.md decision: a name already stored or repeated in the request rejects it all, naming nobody.
    const names = new Set<string>();
    for (const u of list as Record<string, unknown>[]) {
      const n = u.user_name as string;
      if (users.has(n) || names.has(n)) return err(400, C.USER_EXISTS, "The user already exists.");
      names.add(n);
    }
    for (const u of list as Record<string, unknown>[]) {
      const { password, ...rest } = u;
      users.set(u.user_name as string, { ...rest, has_password: password !== undefined });
    }
    return { status: 200 };
  };

  const handle = (req: EmuRequest): EmuResponse => {
    if (req.path === IAM_PATH) return issueToken(req);
    const m = /^\/v2\/([^/]+)\/users\/batch-create$/.exec(req.path);
    if (!m) return err(404, C.NO_API, "The API does not exist or has not been published in the environment.");
    return batchCreate(req, decodeURIComponent(m[1]!));
  };

  const emu = createEmulator(
    {
      name: "huawei-workspace",
      rate: RATE,
      // Only Workspace calls count against the 10/s decision; IAM is not limited here. IAM still
      // gets the injected faults: its API gateway throttles (APIGW.0308) and fails like
      // Workspace's, and the adapter retries a busy IAM, which a rehearsal should exercise.
      isLimited: (req) => req.path !== IAM_PATH,
      faultable: (req) => req.path === IAM_PATH,
      throttled: () => err(429, C.THROTTLED, "The throttling threshold has been reached: policy user over ratelimit,limit:10,time:1 second"),
      serverError: (req) => (req.path === IAM_PATH ? iamErr(500, "The server encountered an internal error.", "Internal Server Error") : err(500, C.SERVER, "Internal error.")),
      handle,
      batchSize: listLength("users"),
      users: () => [...users.values()],
    },
    opts,
  );
  return emu;
}

export default defineEmulator({
  name: "huawei-workspace",
  sandboxEnv: () => ({
    HUAWEI_REGION: "ap-southeast-1",
    HUAWEI_PROJECT_ID: randomBytes(16).toString("hex"),
    HUAWEI_IAM_USER: `sandbox-${randomBytes(4).toString("hex")}`,
    HUAWEI_IAM_PASSWORD: randomBytes(12).toString("base64url"),
    HUAWEI_IAM_DOMAIN: `domain-${randomBytes(4).toString("hex")}`,
  }),
  create: (opts) => createHuaweiWorkspaceEmulator(opts),
});
