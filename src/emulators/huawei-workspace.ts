import { randomBytes } from "node:crypto";
import { HUAWEI_CODES, HUAWEI_USER_NAME, validExpiry } from "../providers/huawei-workspace.js";
import { createEmulator, defineEmulator, listLength, parseJson, type EmulatorOptions, type EmuRequest, type EmuResponse } from "./_base.js";

const MAX_USERS = 200;
const USER_KEYS = new Set(["user_name", "user_email", "user_phone", "account_expires", "active_type", "password", "enable_change_password", "next_login_change_password", "group_ids", "description", "alias_name"]);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9][0-9 ()-]{3,24}$/;

export interface HuaweiWorkspaceEmulatorOptions extends EmulatorOptions {
  /** Life of an IAM token, ms. @default 24 h */
  tokenTtlMs?: number;
}

const err = (status: number, error_code: string, error_msg: string): EmuResponse => ({ status, body: { error_code, error_msg } });

/** Huawei IAM tokens + Workspace batch-create: all-or-nothing requests, errors that name nobody. */
export function createHuaweiWorkspaceEmulator(opts: HuaweiWorkspaceEmulatorOptions) {
  const e = opts.env;
  if (!e.HUAWEI_PROJECT_ID || !(e.HUAWEI_AUTH_TOKEN || (e.HUAWEI_IAM_USER && e.HUAWEI_IAM_PASSWORD && e.HUAWEI_IAM_DOMAIN)))
    throw new Error("huawei-workspace emulator needs HUAWEI_PROJECT_ID and a token or IAM credentials");
  const ttl = opts.tokenTtlMs ?? 24 * 3600_000;
  const tokens = new Map<string, number>();
  if (e.HUAWEI_AUTH_TOKEN) tokens.set(e.HUAWEI_AUTH_TOKEN, Number.POSITIVE_INFINITY);
  const refused = new Set(opts.refuseKeys ?? []);
  const users = new Map<string, Record<string, unknown>>();
  const batchPath = `/v2/${e.HUAWEI_PROJECT_ID}/users/batch-create`;
  let issued: string[] = [];

  const issueToken = (req: EmuRequest): EmuResponse => {
    const b = parseJson(req.body) as any;
    const id = b?.auth?.identity;
    const user = id?.password?.user;
    const wrong: EmuResponse = { status: 401, body: { error: { code: 401, message: "The username or password is wrong.", title: "Unauthorized" } } };
    if (!Array.isArray(id?.methods) || id.methods.length !== 1 || id.methods[0] !== "password") return { status: 400, body: { error: { code: 400, message: "Invalid identity methods.", title: "Bad Request" } } };
    if (user?.name !== e.HUAWEI_IAM_USER || user?.password !== e.HUAWEI_IAM_PASSWORD || user?.domain?.name !== e.HUAWEI_IAM_DOMAIN) return wrong;
    if (b?.auth?.scope?.project?.id !== e.HUAWEI_PROJECT_ID) return { status: 400, body: { error: { code: 400, message: "Invalid project.", title: "Bad Request" } } };
    const token = `MII${randomBytes(24).toString("base64url")}`;
    const expires = Date.now() + ttl;
    tokens.set(token, expires);
    issued.push(token);
    return { status: 201, headers: { "X-Subject-Token": token }, body: { token: { expires_at: new Date(expires).toISOString(), methods: ["password"], project: { id: e.HUAWEI_PROJECT_ID } } } };
  };

  const invalidUser = (u: unknown): boolean => {
    if (!u || typeof u !== "object" || Array.isArray(u)) return true;
    const o = u as Record<string, unknown>;
    if (Object.keys(o).some((k) => !USER_KEYS.has(k))) return true;
    const str = (k: string) => o[k] === undefined || typeof o[k] === "string";
    if (!["user_email", "user_phone", "account_expires", "active_type", "password", "description", "alias_name"].every(str)) return true;
    if (typeof o.user_name !== "string" || !HUAWEI_USER_NAME.test(o.user_name) || refused.has(o.user_name)) return true;
    if (o.user_email !== undefined && !EMAIL.test(o.user_email as string)) return true;
    if (o.user_phone !== undefined && !PHONE.test(o.user_phone as string)) return true;
    if (o.account_expires !== undefined && !validExpiry(o.account_expires as string)) return true;
    const type = o.active_type ?? "USER_ACTIVATE";
    if (type !== "USER_ACTIVATE" && type !== "ADMIN_ACTIVATE") return true;
    if (type === "USER_ACTIVATE" && o.user_email === undefined && o.user_phone === undefined) return true;
    if (type === "ADMIN_ACTIVATE" && !o.password) return true;
    for (const k of ["enable_change_password", "next_login_change_password"]) if (o[k] !== undefined && typeof o[k] !== "boolean") return true;
    if (o.group_ids !== undefined && (!Array.isArray(o.group_ids) || o.group_ids.length > 5 || o.group_ids.some((g) => typeof g !== "string"))) return true;
    if (o.description !== undefined && [...(o.description as string)].length > 255) return true;
    if (o.alias_name !== undefined && [...(o.alias_name as string)].length > 55) return true;
    return false;
  };

  const handle = (req: EmuRequest): EmuResponse => {
    if (req.method === "POST" && req.path === "/v3/auth/tokens") return issueToken(req);
    if (req.method !== "POST") return err(405, "WKS.0405", "Method not allowed.");
    if (req.path !== batchPath) return /\/users\/batch-create$/.test(req.path) ? err(404, "WKS.0004", "The project does not exist.") : err(404, "APIGW.0101", "The API does not exist or has not been published.");
    const token = String(req.headers["x-auth-token"] ?? "");
    const exp = tokens.get(token);
    if (exp === undefined) return err(401, "WKS.0003", "Authentication failed.");
    if (Date.now() >= exp) return err(401, "WKS.0002", "The token must be updated.");
    if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) return err(400, HUAWEI_CODES.INVALID_FIELD, "Invalid parameter.");
    const body = parseJson(req.body) as Record<string, unknown> | undefined;
    if (!body || typeof body !== "object" || Object.keys(body).some((k) => k !== "users") || !Array.isArray(body.users)) return err(400, HUAWEI_CODES.INVALID_FIELD, "Invalid parameter.");
    const list = body.users;
    if (list.length < 1 || list.length > MAX_USERS) return err(400, HUAWEI_CODES.INVALID_FIELD, "Invalid parameter.");
    if (list.some(invalidUser)) return err(400, HUAWEI_CODES.INVALID_FIELD, "Invalid parameter.");
    const names = new Set<string>();
    for (const u of list as Record<string, unknown>[]) {
      const n = u.user_name as string;
      if (users.has(n) || names.has(n)) return err(400, HUAWEI_CODES.USER_EXISTS, "The user already exists.");
      names.add(n);
    }
    for (const u of list as Record<string, unknown>[]) {
      const { password, ...rest } = u;
      users.set(u.user_name as string, { ...rest, has_password: password !== undefined });
    }
    return { status: 200 };
  };

  const emu = createEmulator(
    {
      name: "huawei-workspace",
      rate: { limit: 10, intervalMs: 1000 },
      isLimited: (req) => req.path !== "/v3/auth/tokens",
      throttled: () => err(429, HUAWEI_CODES.THROTTLED, "The throttling threshold has been reached: policy user over ratelimit,limit:10,time:1 second"),
      serverError: () => err(500, "WKS.0999", "Internal error."),
      handle,
      batchSize: listLength("users"),
      users: () => [...users.values()],
    },
    opts,
  );
  issued = emu.stats.issued;
  return emu;
}

export default defineEmulator({
  name: "huawei-workspace",
  sandboxEnv: () => ({
    HUAWEI_REGION: "ap-southeast-1",
    HUAWEI_PROJECT_ID: randomBytes(16).toString("hex"),
    HUAWEI_IAM_USER: "bulk-users-sandbox",
    HUAWEI_IAM_PASSWORD: randomBytes(12).toString("base64url"),
    HUAWEI_IAM_DOMAIN: "sandbox-domain",
  }),
  create: (opts) => createHuaweiWorkspaceEmulator(opts),
});
