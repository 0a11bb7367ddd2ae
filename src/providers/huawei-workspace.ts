import { BulkUsersError, ErrorCode } from "../errors.js";
import { retryAfterMs } from "../core/retry.js";
import { createTokenCache, type TokenCache } from "./_token.js";
import { defineProvider, type BatchResult, type ProviderContext } from "./define.js";

const PROVIDER_NAME = "huawei-workspace";

export type HuaweiWorkspaceOptions = Record<string, never>;

/** Vendor error codes the adapter acts on (providers.md decisions for the emulator). */
export const HUAWEI_CODES = { USER_EXISTS: "WKS.0108", INVALID_FIELD: "WKS.0001", THROTTLED: "APIGW.0308" } as const;

export const HUAWEI_USER_NAME = /^[^\s\p{Cc}]{1,64}$/u;
export const HUAWEI_EXPIRES = /^(0|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z)$/;

const USER_KEYS = ["user_name", "user_email", "user_phone", "account_expires", "active_type", "password", "enable_change_password", "next_login_change_password", "group_ids", "description", "alias_name"] as const;

const workspaceUrl = (region: string) => `https://workspace.${region}.myhuaweicloud.com`;
const iamUrl = (region: string) => `https://iam.${region}.myhuaweicloud.com`;

interface HuaweiSession extends TokenCache {
  /** A token given directly cannot be renewed. */
  fixed: boolean;
}

/** Whether `account_expires` is "0" or a real UTC time in one of the two documented formats. */
export function validExpiry(v: string): boolean {
  if (!HUAWEI_EXPIRES.test(v)) return false;
  if (v === "0") return true;
  const d = new Date(v);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 19) === v.slice(0, 19);
}

/** Huawei Cloud Workspace BatchCreateUsers (vendor-docs/huawei-workspace-users-batch-create.txt). */
export default defineProvider<HuaweiWorkspaceOptions, HuaweiSession>({
  name: PROVIDER_NAME,
  title: "Huawei Cloud Workspace (BatchCreateUsers)",
  docs: "https://support.huaweicloud.com/intl/en-us/api-workspace/ (POST /v2/{project_id}/users/batch-create)",
  key: "user_name",
  maxBatch: 200,
  rate: { limit: 10, intervalMs: 1000 },
  fields: {
    user_name: { meaning: ["username", "id"], type: "string", required: true, pattern: HUAWEI_USER_NAME, patternHint: "1–64 characters, no white space or control characters", description: "User name, unique" },
    user_email: { meaning: ["email"], type: "string", format: "email", description: "Email" },
    user_phone: { meaning: ["phone"], type: "string", format: "phone", description: "Mobile number" },
    account_expires: { type: "string", description: 'Expiry: "0" (never) or yyyy-MM-ddTHH:mm:ssZ / yyyy-MM-ddTHH:mm:ss.SSSZ' },
    active_type: { type: "string", enum: ["USER_ACTIVATE", "ADMIN_ACTIVATE"], description: "USER_ACTIVATE (default; needs email or phone) or ADMIN_ACTIVATE (needs password)" },
    password: { meaning: ["password"], type: "string", secret: true, description: "Initial password (required with ADMIN_ACTIVATE)" },
    enable_change_password: { type: "boolean", description: "User may change the password" },
    next_login_change_password: { type: "boolean", description: "Must change the password at next login" },
    group_ids: { meaning: ["groups"], type: "string[]", maxItems: 5, description: "User group ids (at most 5)" },
    description: { meaning: ["description"], type: "string", maxLength: 255, description: "Description" },
    alias_name: { meaning: ["name", "first+last", "nickname"], type: "string", maxLength: 55, description: "Alias" },
  },
  env: [
    { name: "HUAWEI_REGION", description: "region, e.g. ap-southeast-1", required: true, secret: false },
    { name: "HUAWEI_PROJECT_ID", description: "project id", required: true, secret: false },
    { name: "HUAWEI_AUTH_TOKEN", description: "an IAM token got elsewhere (instead of user/password)", required: false, secret: true },
    { name: "HUAWEI_IAM_USER", description: "IAM user name", required: "HUAWEI_AUTH_TOKEN", secret: false },
    { name: "HUAWEI_IAM_PASSWORD", description: "IAM user password", required: "HUAWEI_AUTH_TOKEN", secret: true },
    { name: "HUAWEI_IAM_DOMAIN", description: "IAM account (domain) name", required: "HUAWEI_AUTH_TOKEN", secret: false },
  ],
  defaultEndpoint: (env) => (env.HUAWEI_REGION ? workspaceUrl(env.HUAWEI_REGION) : undefined),
  endpointEnv: "HUAWEI_REGION",
  exampleMapping: `fields:
  user_name: login
  user_email: { column: email, transform: [trim, lower] }
  user_phone: { column: mobile, transform: [{ e164: CN }] }
  active_type: { value: USER_ACTIVATE }
  group_ids: { column: groups, transform: [{ split: ";" }] }
  description: department
`,

  validateUser(user) {
    const issues = [];
    const type = user.active_type ?? "USER_ACTIVATE";
    if (type === "USER_ACTIVATE" && user.user_email === undefined && user.user_phone === undefined)
      issues.push({ field: "active_type", code: "NEEDS_CONTACT", message: "USER_ACTIVATE needs user_email or user_phone" });
    if (type === "ADMIN_ACTIVATE" && user.password === undefined) issues.push({ field: "password", code: "REQUIRED", message: "ADMIN_ACTIVATE needs a password" });
    if (typeof user.account_expires === "string" && !validExpiry(user.account_expires))
      issues.push({ field: "account_expires", code: "BAD_FORMAT", message: 'account_expires must be "0" or yyyy-MM-ddTHH:mm:ssZ (or .SSSZ), a real UTC time' });
    return issues;
  },

  createSession(ctx: ProviderContext<HuaweiWorkspaceOptions>): HuaweiSession {
    const given = ctx.env.HUAWEI_AUTH_TOKEN;
    // With an explicit endpoint (an emulator, a proxy) IAM is reached there too.
    const iam = ctx.endpoint === workspaceUrl(ctx.env.HUAWEI_REGION ?? "") ? iamUrl(ctx.env.HUAWEI_REGION!) : ctx.endpoint.replace(/\/+$/, "");
    const cache = createTokenCache(
      async () => {
        if (given) return { token: given, expiresAt: Number.POSITIVE_INFINITY };
        const res = await ctx.fetch({
          method: "POST",
          url: `${iam}/v3/auth/tokens`,
          headers: { "Content-Type": "application/json;charset=utf8" },
          body: JSON.stringify({
            auth: {
              identity: { methods: ["password"], password: { user: { name: ctx.env.HUAWEI_IAM_USER, password: ctx.env.HUAWEI_IAM_PASSWORD, domain: { name: ctx.env.HUAWEI_IAM_DOMAIN } } } },
              scope: { project: { id: ctx.env.HUAWEI_PROJECT_ID } },
            },
          }),
        });
        const token = res.headers.get("x-subject-token");
        if (res.status !== 201 || !token) {
          const body = res.json as { error?: { code?: string; message?: string }; error_code?: string; error_msg?: string } | undefined;
          const why = body?.error?.message ?? body?.error_msg ?? `HTTP ${res.status}`;
          if (res.status >= 500) throw new BulkUsersError(ErrorCode.AUTH_REJECTED, `[${PROVIDER_NAME}] IAM token service failed: ${why}`, { hint: "Try again later." });
          throw new BulkUsersError(ErrorCode.AUTH_REJECTED, `[${PROVIDER_NAME}] IAM refused the credentials: ${why}`, {
            hint: "Check HUAWEI_IAM_USER, HUAWEI_IAM_PASSWORD, HUAWEI_IAM_DOMAIN and HUAWEI_PROJECT_ID.",
          });
        }
        ctx.addSecret(token);
        const exp = Date.parse((res.json as { token?: { expires_at?: string } } | undefined)?.token?.expires_at ?? "");
        return { token, expiresAt: Number.isNaN(exp) ? ctx.now() + 23 * 3600_000 : exp };
      },
      { renewBeforeMs: 10 * 60_000, now: ctx.now },
    );
    return { ...cache, fixed: given !== undefined };
  },

  async buildRequest(users, ctx, session) {
    const token = await session.get();
    const list = users.map((u) => {
      const o: Record<string, unknown> = {};
      for (const k of USER_KEYS) if (u[k] !== undefined) o[k] = u[k];
      return o;
    });
    return {
      method: "POST",
      url: `${ctx.endpoint.replace(/\/+$/, "")}/v2/${encodeURIComponent(ctx.env.HUAWEI_PROJECT_ID!)}/users/batch-create`,
      headers: { "X-Auth-Token": token, "Content-Type": "application/json" },
      body: JSON.stringify({ users: list }),
      authToken: token,
    };
  },

  parseResponse(res, users, ctx): BatchResult {
    if (res.status === 200) return { kind: "records", results: users.map(() => ({ status: "created" as const })) };
    const body = res.json as { error_code?: string; error_msg?: string } | undefined;
    const code = body?.error_code ?? `HTTP_${res.status}`;
    const msg = body?.error_msg ?? res.text.slice(0, 200);
    if (res.status === 429) return { kind: "retry", code, message: msg, throttled: true, retryAfterMs: retryAfterMs(res.headers.get("retry-after")) };
    if (res.status === 401) return ctx.env.HUAWEI_AUTH_TOKEN ? { kind: "auth", code, message: msg } : { kind: "reauth", code, message: msg };
    if (res.status === 403 || res.status === 404) return { kind: "auth", code, message: msg };
    if (res.status >= 500 || !body) return { kind: "retry", code, message: msg || "unreadable answer" };
    // Any 400 fails the whole request without naming the user: bisect down to the culprit.
    if (users.length > 1) return { kind: "split", code, message: msg };
    if (code === HUAWEI_CODES.USER_EXISTS) return { kind: "records", results: [{ status: "exists", code, message: msg }] };
    return { kind: "records", results: [{ status: "failed", code, message: msg }] };
  },
});
