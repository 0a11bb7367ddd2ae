import { z } from "zod";
import { BulkUsersError, ErrorCode } from "../errors.js";
import { retryAfterMs } from "../core/retry.js";
import { createTokenCache, type TokenCache } from "./_token.js";
import { defineProvider, type BatchResult, type FieldSpec, type ProviderContext, type RecordResult } from "./define.js";

const PROVIDER_NAME = "genauth";

/** `options` of createUsersBatch (CreateUserOptionsDto), settable in the mapping file. */
export const GenauthOptionsSchema = z.strictObject({
  keepPassword: z.boolean().optional(),
  autoGeneratePassword: z.boolean().optional(),
  resetPasswordOnFirstLogin: z.boolean().optional(),
  departmentIdType: z.string().optional(),
  passwordEncryptType: z.enum(["none", "rsa", "sm2"]).optional(),
  sendNotification: z
    .strictObject({ sendEmailNotification: z.boolean().optional(), sendPhoneNotification: z.boolean().optional(), appId: z.string().optional() })
    .optional(),
});
export type GenauthOptions = z.infer<typeof GenauthOptionsSchema>;

const text = (description: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({ type: "string", description, ...extra });

/** CreateUserInfoDto (vendor-docs/genauth-create-users-batch.txt). */
export const GENAUTH_FIELDS: Record<string, FieldSpec> = {
  email: text("Email address, unique in the pool (case-insensitive)", { format: "email", unique: true, uniqueIgnoreCase: true, meaning: ["email"] }),
  phone: text("Phone number without area code, unique in the pool", { unique: true, meaning: ["phone"] }),
  phoneCountryCode: text("Phone area code, e.g. +86", { pattern: /^\+\d{1,4}$/, patternHint: "+ and 1–4 digits" }),
  username: text("Username, unique in the pool", { unique: true, meaning: ["username"] }),
  externalId: text("Third-party external ID, unique in the pool", { unique: true, meaning: ["id"] }),
  status: text("Account status", { enum: ["Activated", "Suspended", "Deactivated", "Resigned", "Archived"] }),
  name: text("Real name", { meaning: ["name", "first+last"] }),
  nickname: text("Nickname", { meaning: ["nickname"] }),
  photo: text("Avatar link", { format: "url", meaning: ["avatar"] }),
  gender: text("Gender", { enum: ["M", "F", "U"] }),
  emailVerified: { meaning: ["emailVerified"], type: "boolean", description: "Email verified" },
  phoneVerified: { meaning: ["phoneVerified"], type: "boolean", description: "Phone verified" },
  birthdate: text("Date of birth (YYYY-MM-DD)", { format: "date", meaning: ["birthdate"] }),
  country: text("Country", { meaning: ["country"] }),
  province: text("Province"),
  city: text("City"),
  address: text("Address"),
  streetAddress: text("Street address"),
  postalCode: text("Postal code"),
  company: text("Company"),
  browser: text("Last login browser UA"),
  device: text("Last login device"),
  givenName: text("First name", { meaning: ["first"] }),
  familyName: text("Last name", { meaning: ["last"] }),
  middleName: text("Middle name"),
  profile: text("Profile"),
  preferredUsername: text("Preferred username"),
  website: text("Personal website", { format: "url" }),
  zoneinfo: text("Time zone, e.g. GMT-08:00"),
  locale: text("Locale"),
  formatted: text("Standard full address"),
  region: text("User location"),
  password: text("Password: plain, or already hashed with options.keepPassword", { secret: true, meaning: ["password"] }),
  salt: text("Salt of a hashed password", { secret: true, meaning: ["salt"] }),
  tenantIds: { type: "string[]", description: "Tenant IDs" },
  departmentIds: { meaning: ["groups"], type: "string[]", description: "Department IDs" },
  customData: { type: "object", description: "Custom data (keys defined in the pool)" },
  metadataSource: { type: "object", description: "Data object data (keys defined in the pool)" },
  identityNumber: text("ID number", { secret: true }),
};

interface GenauthAnswer {
  statusCode?: number;
  message?: string;
  apiCode?: number;
  data?: unknown;
}

interface GenauthSession extends TokenCache {}

export default defineProvider<GenauthOptions, GenauthSession>({
  name: PROVIDER_NAME,
  title: "GenAuth / Authing (createUsersBatch)",
  docs: "https://docs.genauth.ai (ManagementClient.createUsersBatch)",
  key: "email",
  maxBatch: 50,
  // No published rate: 10 requests/s is a decision (providers.md).
  rate: { limit: 10, intervalMs: 1000 },
  fields: GENAUTH_FIELDS,
  env: [
    { name: "GENAUTH_ACCESS_KEY_ID", description: "access key id", required: true, secret: false },
    { name: "GENAUTH_ACCESS_KEY_SECRET", description: "access key secret", required: true, secret: true },
    { name: "GENAUTH_USER_POOL_ID", description: "user pool id (x-authing-userpool-id)", required: true, secret: false },
    { name: "GENAUTH_HOST", description: "API host (default https://api.genauth.ai; https://api.authing.cn or a private deployment)", required: false, secret: false },
  ],
  defaultEndpoint: (env) => env.GENAUTH_HOST || "https://api.genauth.ai",
  endpointEnv: "GENAUTH_HOST",
  optionsSchema: GenauthOptionsSchema,
  exampleMapping: `fields:
  email: { column: email, transform: [trim, lower] }
  username: login
  externalId: id
  name: { template: "{first_name} {last_name}" }
  phone: phone
  password: password_hash
options:
  keepPassword: true          # passwords are already hashed: store them as they are
  resetPasswordOnFirstLogin: false
`,

  validateUser(user) {
    if (user.email === undefined && user.phone === undefined && user.username === undefined)
      return [{ field: "email", code: "REQUIRED", message: "one of email, phone or username is required" }];
    return [];
  },

  createSession(ctx: ProviderContext<GenauthOptions>): GenauthSession {
    const host = ctx.endpoint.replace(/\/+$/, "");
    return createTokenCache(
      async () => {
        const res = await ctx.fetch({
          method: "POST",
          url: `${host}/api/v3/get-management-token`,
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ accessKeyId: ctx.env.GENAUTH_ACCESS_KEY_ID, accessKeySecret: ctx.env.GENAUTH_ACCESS_KEY_SECRET }),
        });
        const body = res.json as { statusCode?: number; message?: string; data?: { access_token?: string; expires_in?: number } } | undefined;
        const token = body?.data?.access_token;
        if (res.status >= 500 || (body?.statusCode ?? 0) >= 500)
          throw new BulkUsersError(ErrorCode.AUTH_REJECTED, `[${PROVIDER_NAME}] the token service failed: ${body?.message ?? `HTTP ${res.status}`}`, { hint: "Try again later." });
        if (body?.statusCode !== 200 || !token)
          throw new BulkUsersError(ErrorCode.AUTH_REJECTED, `[${PROVIDER_NAME}] management token refused: ${body?.message ?? `HTTP ${res.status}`}`, {
            hint: "Check GENAUTH_ACCESS_KEY_ID and GENAUTH_ACCESS_KEY_SECRET.",
          });
        ctx.addSecret(token);
        return { token, expiresAt: ctx.now() + (body.data?.expires_in ?? 7200) * 1000 };
      },
      { renewBeforeMs: 5 * 60_000, now: ctx.now },
    );
  },

  async buildRequest(users, ctx, session) {
    const token = await session.get();
    const list = users.map((u) => {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(GENAUTH_FIELDS)) if (u[k] !== undefined) o[k] = u[k];
      return o;
    });
    const body: Record<string, unknown> = { list };
    if (Object.keys(ctx.options).length) body.options = ctx.options;
    return {
      method: "POST",
      url: `${ctx.endpoint.replace(/\/+$/, "")}/api/v3/create-users-batch`,
      headers: { Authorization: `Bearer ${token}`, "x-authing-userpool-id": ctx.env.GENAUTH_USER_POOL_ID!, "Content-Type": "application/json" },
      body: JSON.stringify(body),
      authToken: token,
    };
  },

  parseResponse(res, users): BatchResult {
    const body = res.json as GenauthAnswer | undefined;
    if (res.status === 429) return { kind: "retry", code: "429", message: body?.message ?? "Too Many Requests", throttled: true, retryAfterMs: retryAfterMs(res.headers.get("retry-after")) };
    if (res.status >= 500 || !body || typeof body.statusCode !== "number")
      return { kind: "retry", code: `HTTP_${res.status}`, message: body?.message ?? (res.text.slice(0, 200) || "unreadable answer") };
    // HTTP 200 even on errors: the body's statusCode tells.
    const status = body.statusCode;
    const code = String(body.apiCode ?? status);
    const msg = body.message ?? "";
    if (status === 200) {
      const data = Array.isArray(body.data) ? body.data : body.data && users.length === 1 ? [body.data] : [];
      const ids = data.length === users.length ? data.map((d) => (d as { userId?: unknown })?.userId) : [];
      return { kind: "records", results: users.map((_, i): RecordResult => (typeof ids[i] === "string" ? { status: "created", id: ids[i] as string } : { status: "created" })) };
    }
    if (status === 429) return { kind: "retry", code, message: msg, throttled: true };
    if (status === 401) return { kind: "reauth", code, message: msg };
    if (status === 403) return { kind: "auth", code, message: msg };
    if (status >= 500) return { kind: "retry", code, message: msg };
    // 400 (a bad field) or 409 (a conflict) for the whole request, naming nobody: bisect.
    if (users.length > 1) return { kind: "split", code, message: msg };
    if (status === 409) return { kind: "records", results: [{ status: "exists", code, message: msg }] };
    return { kind: "records", results: [{ status: "failed", code, message: msg }] };
  },
});
