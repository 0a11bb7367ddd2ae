import { BulkUsersError, ErrorCode } from "../errors.js";
import { HttpError } from "../core/http.js";
import { retryAfterMs } from "../core/retry.js";
import { createTokenCache, type TokenCache } from "./_token.js";
import { defineProvider, type BatchResult, type FieldIssue, type HttpRequest, type ProviderContext } from "./define.js";
import { apiUrl } from "../util/url.js";

const PROVIDER_NAME = "huawei-workspace";

/** The adapter takes no options: without an `optionsSchema` the core refuses any `options:` key. */
export type HuaweiWorkspaceOptions = Record<string, never>;

/** Vendor error codes the adapter acts on (providers.md decisions shared with the emulator). */
export const HUAWEI_CODES = { USER_EXISTS: "WKS.0108", INVALID_FIELD: "WKS.0001", THROTTLED: "APIGW.0308" } as const;

/** providers.md decision: 1–64 characters, no white space or control characters. */
export const HUAWEI_USER_NAME = /^[^\s\p{Cc}]{1,64}$/u;
/** Vendor text: "0" or yyyy-MM-ddTHH:mm:ssZ / yyyy-MM-ddTHH:mm:ss.SSSZ. */
export const HUAWEI_EXPIRES = /^(0|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z)$/;

const USER_KEYS = [
  "user_name", "user_email", "user_phone", "account_expires", "active_type", "password",
  "enable_change_password", "next_login_change_password", "group_ids", "description", "alias_name",
] as const;

/** Renew an IAM token this long before it expires (tokens live 24 h). */
const RENEW_BEFORE_MS = 10 * 60_000;

const trimSlash = (u: string) => u.replace(/\/+$/, "");
const workspaceUrl = (region: string) => `https://workspace.${region}.myhuaweicloud.com`;
const iamUrl = (region: string) => `https://iam.${region}.myhuaweicloud.com`;

/** Whether `account_expires` is "0" or a real UTC time in one of the two documented formats. */
export function validExpiry(v: string): boolean {
  if (!HUAWEI_EXPIRES.test(v)) return false;
  if (v === "0") return true;
  const d = new Date(v);
  // Date rolls 02-30 over to 03-02: a real date prints back the same.
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 19) === v.slice(0, 19);
}

const present = (v: unknown) => v !== undefined && v !== null && v !== "";

interface IamErrorBody {
  error?: { code?: string | number; message?: string };
  error_code?: string;
  error_msg?: string;
}

/** Huawei Cloud Workspace BatchCreateUsers (vendor-docs/huawei-workspace-users-batch-create.txt). */
export default defineProvider<HuaweiWorkspaceOptions, TokenCache>({
  name: PROVIDER_NAME,
  title: "Huawei Cloud Workspace (BatchCreateUsers)",
  docs: "https://support.huaweicloud.com/intl/en-us/api-workspace/ (POST /v2/{project_id}/users/batch-create)",
  key: "user_name",
  maxBatch: 200,
  // providers.md decision: 10 requests a second.
  rate: { limit: 10, intervalMs: 1000 },
  fields: {
    user_name: {
      meaning: ["username", "id"],
      type: "string",
      required: true,
      minLength: 1,
      maxLength: 64,
      pattern: HUAWEI_USER_NAME,
      patternHint: "1–64 characters, no white space or control characters",
      unique: true,
      description: "User name, unique",
    },
    user_email: { meaning: ["email"], type: "string", format: "email", description: "Email" },
    user_phone: { meaning: ["phone"], type: "string", format: "phone", description: "Mobile number" },
    account_expires: {
      type: "string",
      pattern: HUAWEI_EXPIRES,
      patternHint: '"0" (never) or yyyy-MM-ddTHH:mm:ssZ / yyyy-MM-ddTHH:mm:ss.SSSZ',
      description: 'Expiry: "0" (never) or yyyy-MM-ddTHH:mm:ssZ / yyyy-MM-ddTHH:mm:ss.SSSZ, a real UTC time',
    },
    active_type: {
      type: "string",
      enum: ["USER_ACTIVATE", "ADMIN_ACTIVATE"],
      description: "USER_ACTIVATE (default; needs user_email or user_phone) or ADMIN_ACTIVATE (needs password)",
    },
    password: { meaning: ["password"], type: "string", secret: true, description: "Initial password (required with ADMIN_ACTIVATE)" },
    enable_change_password: { type: "boolean", description: "User may change the password (vendor: default true)" },
    next_login_change_password: { type: "boolean", description: "Must change the password at next login (vendor: default true)" },
    group_ids: { meaning: ["groups"], type: "string[]", maxItems: 5, minLength: 1, description: "User group ids (at most 5, none empty)" },
    description: { meaning: ["description"], type: "string", maxLength: 255, description: "Description, at most 255 characters" },
    alias_name: { meaning: ["name", "first+last", "nickname"], type: "string", maxLength: 55, description: "Alias, at most 55 characters" },
  },
  env: [
    { name: "HUAWEI_REGION", description: "region, e.g. ap-southeast-1", required: true, secret: false },
    { name: "HUAWEI_PROJECT_ID", description: "project id", required: true, secret: false },
    { name: "HUAWEI_AUTH_TOKEN", description: "an IAM token got elsewhere (instead of user/password; cannot be renewed)", required: false, secret: true },
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
  alias_name: { template: "{first_name} {last_name}", transform: [trim] }
  active_type: { value: USER_ACTIVATE }
  account_expires: { column: expires, default: "0" }
  group_ids: { column: groups, transform: [{ split: ";" }] }
  description: department
`,

  validateUser(user) {
    const issues: FieldIssue[] = [];
    const type = user.active_type ?? "USER_ACTIVATE";
    // Vendor text: password "is required for the administrator activation mode"; a user who
    // activates the account needs somewhere to receive the activation (providers.md).
    if (type === "USER_ACTIVATE" && !present(user.user_email) && !present(user.user_phone))
      issues.push({ field: "active_type", code: "NEEDS_CONTACT", message: "USER_ACTIVATE needs user_email or user_phone" });
    if (type === "ADMIN_ACTIVATE" && !present(user.password)) issues.push({ field: "password", code: "REQUIRED", message: "ADMIN_ACTIVATE needs a password" });
    // The pattern itself is a FieldSpec rule; here only that it names a real time (no 02-30).
    const exp = user.account_expires;
    if (typeof exp === "string" && HUAWEI_EXPIRES.test(exp) && !validExpiry(exp))
      issues.push({ field: "account_expires", code: "BAD_FORMAT", message: "account_expires is not a real UTC date and time" });
    return issues;
  },

  createSession(ctx: ProviderContext<HuaweiWorkspaceOptions>): TokenCache {
    const given = ctx.env.HUAWEI_AUTH_TOKEN;
    const region = ctx.env.HUAWEI_REGION ?? "";
    // With an explicit endpoint (an emulator, a proxy) IAM is reached there too (providers.md).
    const iam = trimSlash(ctx.endpoint) === workspaceUrl(region) ? iamUrl(region) : trimSlash(ctx.endpoint);
    return createTokenCache(
      async () => {
        if (given) {
          ctx.addSecret(given);
          return { token: given, expiresAt: Number.POSITIVE_INFINITY };
        }
        // Huawei IAM "Obtaining a User Token Through Password Authentication".
        const req: HttpRequest = {
          method: "POST",
          url: apiUrl(iam, "/v3/auth/tokens"),
          headers: { "Content-Type": "application/json;charset=utf8" },
          body: JSON.stringify({
            auth: {
              identity: {
                methods: ["password"],
                password: { user: { name: ctx.env.HUAWEI_IAM_USER, password: ctx.env.HUAWEI_IAM_PASSWORD, domain: { name: ctx.env.HUAWEI_IAM_DOMAIN } } },
              },
              scope: { project: { id: ctx.env.HUAWEI_PROJECT_ID } },
            },
          }),
        };
        const res = await ctx.fetch(req);
        const token = res.headers.get("x-subject-token");
        if (res.status === 201 && token) {
          ctx.addSecret(token);
          const exp = Date.parse((res.json as { token?: { expires_at?: string } } | undefined)?.token?.expires_at ?? "");
          // IAM tokens live 24 h; without a readable expires_at assume a little less.
          return { token, expiresAt: Number.isNaN(exp) ? ctx.now() + 23 * 3600_000 : exp };
        }
        const body = res.json as IamErrorBody | undefined;
        const why = body?.error?.message ?? body?.error_msg ?? `HTTP ${res.status}`;
        // IAM down or busy is transient: the sender retries an HttpError from a token fetch.
        if (res.status >= 500 || res.status === 429 || res.status === 201)
          throw new HttpError(req, "status", `IAM token service: ${why}`.slice(0, 200), res.status);
        if (res.status === 404 || res.status === 405)
          throw new BulkUsersError(ErrorCode.ENDPOINT_WRONG, `[${PROVIDER_NAME}] no IAM token route there: ${why} (HTTP ${res.status})`, {
            hint: "Check HUAWEI_REGION or --endpoint.",
          });
        throw new BulkUsersError(ErrorCode.AUTH_REJECTED, `[${PROVIDER_NAME}] IAM refused the credentials: ${why} (HTTP ${res.status})`, {
          hint: "Check HUAWEI_IAM_USER, HUAWEI_IAM_PASSWORD, HUAWEI_IAM_DOMAIN and HUAWEI_PROJECT_ID (or set HUAWEI_AUTH_TOKEN).",
        });
      },
      { renewBeforeMs: RENEW_BEFORE_MS, now: ctx.now },
    );
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
      url: apiUrl(ctx.endpoint, `/v2/${encodeURIComponent(ctx.env.HUAWEI_PROJECT_ID ?? "")}/users/batch-create`),
      headers: { "X-Auth-Token": token, "Content-Type": "application/json" },
      body: JSON.stringify({ users: list }),
      authToken: token,
    };
  },

  parseResponse(res, users, ctx): BatchResult {
    // Vendor text: 200 with no body = every user in the request was created.
    if (res.status >= 200 && res.status < 300) return { kind: "records", results: users.map(() => ({ status: "created" as const })) };
    const body = res.json as { error_code?: unknown; error_msg?: unknown } | undefined;
    const vendorCode = typeof body?.error_code === "string" ? body.error_code : undefined;
    const code = vendorCode ?? `HTTP_${res.status}`;
    const msg = typeof body?.error_msg === "string" ? body.error_msg : res.text.slice(0, 200);
    if (res.status === 429) return { kind: "retry", code, message: msg, throttled: true, retryAfterMs: retryAfterMs(res.headers.get("retry-after")) };
    // An IAM token renews; one given in HUAWEI_AUTH_TOKEN cannot, so its refusal ends the run.
    if (res.status === 401) return ctx.env.HUAWEI_AUTH_TOKEN ? { kind: "auth", code, message: msg } : { kind: "reauth", code, message: msg };
    // Wrong project id or no Workspace permission, or a route the gateway does not know (a 404
    // without a Workspace code): no request of this run can succeed.
    if (res.status === 403) return { kind: "auth", code, message: msg };
    if (res.status === 404 && !code.startsWith("WKS.")) return { kind: "endpoint", code, message: msg };
    if (res.status >= 500 || res.status === 408 || res.status === 425) return { kind: "retry", code, message: msg || "unreadable answer" };
    // Another 4xx without the vendor's envelope (the gateway's "malformed syntax", a proxy): a retry gets the same.
    if (!vendorCode) return { kind: "failed", code, message: msg || `HTTP ${res.status}` };
    // 404 with a Workspace code: something a user names does not exist (a group), like a 400.
    if (res.status === 400 || res.status === 413 || res.status === 404) {
      // The whole request failed and the answer names nobody: bisect down to the culprit.
      if (users.length > 1) return { kind: "split", code, message: msg };
      if (code === HUAWEI_CODES.USER_EXISTS) return { kind: "records", results: [{ status: "exists", code, message: msg }] };
      return { kind: "records", results: [{ status: "failed", code, message: msg }] };
    }
    return { kind: "failed", code, message: msg };
  },
});
