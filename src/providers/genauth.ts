import * as z from "zod";
import { HttpError } from "../core/http.js";
import { retryAfterMs } from "../core/retry.js";
import { BulkUsersError, ErrorCode } from "../errors.js";
import type { MappedUser } from "../types.js";
import { createTokenCache, type TokenCache } from "./_token.js";
import { defineProvider, type BatchResult, type FieldIssue, type FieldSpec, type HttpRequest, type ProviderContext, type RecordResult } from "./define.js";
import { apiUrl } from "../util/url.js";

const PROVIDER_NAME = "genauth";

export const GENAUTH_DEFAULT_HOST = "https://api.genauth.ai";
export const GENAUTH_PATHS = { token: "/api/v3/get-management-token", createUsers: "/api/v3/create-users-batch" } as const;
/** "User list array length limit: 50" (vendor text, `list`). */
export const GENAUTH_MAX_BATCH = 50;
/** No published rate: 10 requests a second is providers.md's decision. */
export const GENAUTH_RATE = { limit: 10, intervalMs: 1000 } as const;
/** Token life when the answer omits `expires_in`, s (the documented 7200). */
export const GENAUTH_TOKEN_TTL_S = 7200;
/** Renew a token this long before it expires (or after 9/10 of its life, if sooner), ms. */
export const GENAUTH_RENEW_BEFORE_MS = 5 * 60_000;
export const GENAUTH_STATUSES = ["Activated", "Suspended", "Deactivated", "Resigned", "Archived"] as const;
export const GENAUTH_GENDERS = ["M", "F", "U"] as const;
/** Digits with the usual separators ("n/a" or "unknown" is no phone number). Decision. */
export const GENAUTH_PHONE = /^(?=[^0-9]*[0-9])\+?[0-9 ()-]+$/;
/** Fields unique in the user pool ("The email address, mobile phone number, user name, and externalId are unique"). */
export const GENAUTH_UNIQUE = ["email", "phone", "username", "externalId"] as const;

/** `options` of createUsersBatch (CreateUserOptionsDto), set under `options:` in the mapping file. */
export const GenauthOptionsSchema = z.strictObject({
  keepPassword: z.boolean().optional().describe("store `password` as given (already hashed: a migration); vendor default false"),
  autoGeneratePassword: z.boolean().optional().describe("let GenAuth generate passwords"),
  resetPasswordOnFirstLogin: z.boolean().optional().describe("force a password reset at first login"),
  passwordEncryptType: z
    .enum(["none", "rsa", "sm2"])
    .optional()
    .describe("how `password` was encrypted with GenAuth's public key: none (plain), rsa or sm2; the column already holds the ciphertext; vendor default none"),
  departmentIdType: z.string().optional().describe("type of the department ids in `departmentIds`, e.g. department_id"),
  sendNotification: z
    .strictObject({ sendEmailNotification: z.boolean().optional(), sendPhoneNotification: z.boolean().optional(), appId: z.string().optional() })
    .optional()
    .describe("tell each created user by email (sendEmailNotification) and/or SMS (sendPhoneNotification); appId picks the application whose login address is sent"),
});
export type GenauthOptions = z.infer<typeof GenauthOptionsSchema>;

const text = (description: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({ type: "string", description, ...extra });

/** CreateUserInfoDto's fields (vendor text, "Data Structure"); `otp` and `identities` (nested DTOs) are left out. */
export const GENAUTH_FIELDS: Record<string, FieldSpec> = {
  // Order matters: the report's key falls back on the first unique field present (email, phone, username).
  email: text("Email address, unique in the pool (case-insensitive); one of email, phone, username is required", {
    format: "email",
    unique: true,
    uniqueIgnoreCase: true,
    meaning: ["email"],
  }),
  // "without area code" describes the value, it is no published rule: only text that cannot be a number is refused.
  phone: text("Phone number without area code (put that in phoneCountryCode), unique in the pool", {
    pattern: GENAUTH_PHONE,
    patternHint: "digits, spaces, ( ) - and a leading +",
    unique: true,
    meaning: ["phone"],
  }),
  phoneCountryCode: text("Phone area code, e.g. +86", { pattern: /^\+[0-9]{1,4}$/, patternHint: "+ and 1 to 4 digits, e.g. +86" }),
  username: text("Username, unique in the pool", { unique: true, meaning: ["username"] }),
  externalId: text("Third-party external ID, unique in the pool", { unique: true, meaning: ["id"] }),
  status: text("Account status", { enum: GENAUTH_STATUSES }),
  name: text("Real name (not unique)", { meaning: ["name", "first+last"] }),
  nickname: text("Nickname", { meaning: ["nickname"] }),
  photo: text("Avatar link", { format: "url", meaning: ["avatar"] }),
  gender: text("Gender: M, F or U (unknown)", { enum: GENAUTH_GENDERS }),
  emailVerified: { meaning: ["emailVerified"], type: "boolean", description: "Email verified" },
  phoneVerified: { meaning: ["phoneVerified"], type: "boolean", description: "Phone number verified" },
  birthdate: text("Date of birth, YYYY-MM-DD", { format: "date", meaning: ["birthdate"] }),
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
  locale: text("Locale, e.g. af"),
  formatted: text("Standard full address"),
  region: text("User location"),
  password: text("Password: plain text, or already hashed with options.keepPassword; never reported", { secret: true, meaning: ["password"] }),
  salt: text("Salt of a hashed password; never reported", { secret: true, meaning: ["salt"] }),
  tenantIds: { type: "string[]", description: "Tenant IDs" },
  departmentIds: { meaning: ["groups"], type: "string[]", description: "Department IDs (type per options.departmentIdType)" },
  customData: { type: "object", description: "Custom data (its keys must be defined in the pool)" },
  metadataSource: { type: "object", description: "Data object data (its keys must be defined in the pool)" },
  // A national ID number: masked in messages like a password.
  identityNumber: text("ID number", { secret: true }),
};

const FIELD_NAMES = Object.keys(GENAUTH_FIELDS);

interface GenauthAnswer {
  statusCode?: unknown;
  message?: unknown;
  apiCode?: unknown;
  data?: unknown;
}

export interface GenauthSession extends TokenCache {}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);

/** Normalised unique values of a user or of a UserDto (email compared case-insensitively). */
function ids(o: Record<string, unknown>): Partial<Record<(typeof GENAUTH_UNIQUE)[number], string>> {
  const out: Partial<Record<(typeof GENAUTH_UNIQUE)[number], string>> = {};
  for (const k of GENAUTH_UNIQUE) {
    const v = str(o[k]);
    if (v !== undefined && v !== "") out[k] = k === "email" ? v.toLowerCase() : v;
  }
  return out;
}

/**
 * The vendor's `userId` for each user sent. The answer lists one created user per input in order;
 * a UserDto that disagrees with its position is matched by email, phone, username or externalId instead.
 */
function userIds(users: MappedUser[], data: unknown[]): (string | undefined)[] {
  const sent = users.map(ids);
  const got = data.map((d) => (isObject(d) ? { id: str(d.userId), ...ids(d) } : { id: undefined }));
  const agrees = (u: (typeof sent)[number], d: (typeof got)[number]) =>
    GENAUTH_UNIQUE.every((k) => u[k] === undefined || d[k] === undefined || u[k] === d[k]);
  const same = (u: (typeof sent)[number], d: (typeof got)[number]) => GENAUTH_UNIQUE.some((k) => u[k] !== undefined && u[k] === d[k]);
  const hasIds = (d: (typeof got)[number]) => GENAUTH_UNIQUE.some((k) => d[k] !== undefined);
  if (got.length === users.length && sent.every((u, i) => agrees(u, got[i]!) && (same(u, got[i]!) || !hasIds(got[i]!)))) return got.map((d) => d.id);
  const used = new Set<number>();
  return sent.map((u) => {
    const j = got.findIndex((d, j) => !used.has(j) && same(u, d));
    if (j === -1) return undefined;
    used.add(j);
    return got[j]!.id;
  });
}

export default defineProvider<GenauthOptions, GenauthSession>({
  name: PROVIDER_NAME,
  title: "GenAuth / Authing (createUsersBatch)",
  docs: "https://docs.genauth.ai (ManagementClient.createUsersBatch, POST /api/v3/create-users-batch)",
  // Not always present (phone or username may stand in): the report then shows the first of those present.
  key: "email",
  maxBatch: GENAUTH_MAX_BATCH,
  rate: { ...GENAUTH_RATE },
  fields: GENAUTH_FIELDS,
  env: [
    { name: "GENAUTH_ACCESS_KEY_ID", description: "Access Key ID of the user pool", required: true, secret: false },
    { name: "GENAUTH_ACCESS_KEY_SECRET", description: "Access Key Secret of the user pool", required: true, secret: true },
    { name: "GENAUTH_USER_POOL_ID", description: "User pool ID (sent as x-authing-userpool-id)", required: true, secret: false },
    {
      name: "GENAUTH_HOST",
      description: `API host (default ${GENAUTH_DEFAULT_HOST}; https://api.authing.cn or a private deployment)`,
      required: false,
      secret: false,
    },
  ],
  defaultEndpoint: (env) => env.GENAUTH_HOST || GENAUTH_DEFAULT_HOST,
  endpointEnv: "GENAUTH_HOST",
  optionsSchema: GenauthOptionsSchema,
  exampleMapping: `fields:
  email: { column: email, transform: [trim, lower] }
  username: login
  externalId: id
  name: { template: "{first_name} {last_name}", transform: [trim] }
  phone: mobile
  phoneCountryCode: { value: "+86" }
  departmentIds: { column: departments, transform: [{ split: ";" }] }
  password: password_hash
options:
  keepPassword: true          # passwords are already hashed: store them as they are
  resetPasswordOnFirstLogin: false
`,

  checkOptions(options) {
    const n = options.sendNotification;
    const by = [n?.sendEmailNotification && "email", n?.sendPhoneNotification && "SMS"].filter(Boolean);
    const warnings: string[] = [];
    // Notifications reach real people: say so before a run sends them.
    if (by.length) warnings.push(`[${PROVIDER_NAME}] every created user will be notified by ${by.join(" and ")} (options.sendNotification)`);
    // The vendor decrypts with its own key pair: bulk-users holds no public key and sends the column as it is.
    if (options.passwordEncryptType === "rsa" || options.passwordEncryptType === "sm2")
      warnings.push(`[${PROVIDER_NAME}] options.passwordEncryptType is ${options.passwordEncryptType}: the password column must already hold the ciphertext made with GenAuth's public key (it is sent as it is)`);
    return warnings.length ? { warning: warnings.join("\n") } : {};
  },

  validateUser(user) {
    const out: FieldIssue[] = [];
    // "one of the email address, mobile phone number, and user name must be included" (vendor text).
    if (user.email === undefined && user.phone === undefined && user.username === undefined)
      out.push({ field: "email", code: "REQUIRED", message: "one of email, phone or username is required" });
    // format "date" lets 2022-02-30 through (Date.parse rolls it over): check the calendar too.
    const b = user.birthdate;
    if (typeof b === "string" && /^\d{4}-\d{2}-\d{2}$/.test(b) && !Number.isNaN(Date.parse(b)) && !new Date(b).toISOString().startsWith(b))
      out.push({ field: "birthdate", code: "BAD_FORMAT", message: `birthdate ${b} is not a calendar date` });
    return out;
  },

  createSession(ctx): GenauthSession {
    const fetchToken = async () => {
      const req: HttpRequest = {
        method: "POST",
        url: apiUrl(ctx.endpoint, GENAUTH_PATHS.token),
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ accessKeyId: ctx.env.GENAUTH_ACCESS_KEY_ID, accessKeySecret: ctx.env.GENAUTH_ACCESS_KEY_SECRET }),
      };
      const res = await ctx.fetch(req);
      const body = isObject(res.json) ? (res.json as GenauthAnswer) : undefined;
      const sc = typeof body?.statusCode === "number" ? body.statusCode : undefined;
      const msg = str(body?.message) ?? (res.text.slice(0, 200) || "no message");
      const data = isObject(body?.data) ? body.data : undefined;
      const token = typeof data?.access_token === "string" && data.access_token ? data.access_token : undefined;
      const busy = res.status >= 500 || res.status === 408 || res.status === 429 || sc === 429 || (sc !== undefined && sc >= 500);
      const unreadable = res.status < 400 && (sc === undefined || (sc === 200 && !token));
      // Busy or garbled token service: an HttpError, which the sender retries like any transient failure.
      if (busy || unreadable) throw new HttpError(req, "status", `management token not issued: ${msg}`, sc ?? res.status, res.text);
      // No token route at all: the host is wrong, not the key.
      if (res.status === 404 || res.status === 405)
        throw new BulkUsersError(ErrorCode.ENDPOINT_WRONG, `[${PROVIDER_NAME}] no management token route at this host: HTTP ${res.status} ${msg}`, {
          hint: "Check GENAUTH_HOST or --endpoint (api.genauth.ai, api.authing.cn or a private deployment).",
        });
      // Anything else (statusCode 4xx) will not change on retry: stop.
      if (sc !== 200 || !token)
        throw new BulkUsersError(ErrorCode.AUTH_REJECTED, `[${PROVIDER_NAME}] management token refused: ${sc ?? `HTTP ${res.status}`} ${msg}`, {
          hint: "Check GENAUTH_ACCESS_KEY_ID and GENAUTH_ACCESS_KEY_SECRET (and GENAUTH_HOST for api.authing.cn or a private deployment).",
        });
      ctx.addSecret(token);
      const ttlS = typeof data?.expires_in === "number" && data.expires_in > 0 ? data.expires_in : GENAUTH_TOKEN_TTL_S;
      return { token, expiresAt: ctx.now() + ttlS * 1000 };
    };
    return createTokenCache(fetchToken, { renewBeforeMs: GENAUTH_RENEW_BEFORE_MS, now: ctx.now });
  },

  async buildRequest(users, ctx, session) {
    const token = await session.get();
    const list = users.map((u) => {
      const o: Record<string, unknown> = {};
      for (const k of FIELD_NAMES) if (u[k] !== undefined && u[k] !== null) o[k] = u[k];
      return o;
    });
    const body: { list: Record<string, unknown>[]; options?: GenauthOptions } = { list };
    const options = Object.fromEntries(Object.entries(ctx.options ?? {}).filter(([, v]) => v !== undefined));
    if (Object.keys(options).length) body.options = options as GenauthOptions;
    return {
      method: "POST",
      url: apiUrl(ctx.endpoint, GENAUTH_PATHS.createUsers),
      headers: {
        Authorization: `Bearer ${token}`,
        "x-authing-userpool-id": ctx.env.GENAUTH_USER_POOL_ID!,
        "Content-Type": "application/json",
      },
      body: JSON.stringify(body),
      authToken: token,
    };
  },

  parseResponse(res, users): BatchResult {
    // HTTP 200 even on errors: the body's statusCode tells (providers.md); HTTP-level answers come from gateways.
    const body = isObject(res.json) ? (res.json as GenauthAnswer) : undefined;
    const sc = typeof body?.statusCode === "number" ? body.statusCode : undefined;
    const msg = str(body?.message) ?? (res.text.slice(0, 200) || `HTTP ${res.status}`);
    const code = str(body?.apiCode) ?? (sc !== undefined ? String(sc) : `HTTP_${res.status}`);

    if (res.status === 429 || sc === 429)
      return { kind: "retry", code, message: msg, throttled: true, retryAfterMs: retryAfterMs(res.headers.get("retry-after")) };
    if (res.status >= 500 || res.status === 408 || (sc !== undefined && sc >= 500)) return { kind: "retry", code, message: msg };
    // No such route: a wrong GENAUTH_HOST, which bisecting cannot fix.
    if (res.status === 404 || res.status === 405) return { kind: "endpoint", code: `HTTP_${res.status}`, message: `${msg} (is GENAUTH_HOST right?)` };
    // Expired or unknown management token: renew it and resend.
    if (res.status === 401 || sc === 401) return { kind: "reauth", code, message: msg };
    // User pool refused (wrong or missing x-authing-userpool-id, key without rights): stop.
    if (res.status === 403 || sc === 403) return { kind: "auth", code, message: msg };
    if (sc === undefined)
      return res.status >= 400 ? { kind: "failed", code, message: msg } : { kind: "retry", code, message: `unreadable answer: ${msg}` };

    if (sc >= 200 && sc < 300) {
      // The table says `data` is an array; the example shows one UserDto: take both.
      const data = Array.isArray(body!.data) ? body!.data : isObject(body!.data) ? [body!.data] : [];
      const found = userIds(users, data);
      return { kind: "records", results: found.map((id): RecordResult => (id ? { status: "created", id } : { status: "created" })) };
    }
    if (sc >= 400) {
      // A conflict (409) or a bad field (400…) rejects the whole request, naming nobody: bisect.
      if (users.length > 1) return { kind: "split", code, message: msg };
      if (sc === 409) {
        // The answer names no field: with one unique value the clash is this user's own; with
        // several, another user may hold one of them, and then this one was never created.
        const held = GENAUTH_UNIQUE.filter((f) => users[0]![f] !== undefined && users[0]![f] !== "");
        if (held.length < 2) return { kind: "records", results: [{ status: "exists", code: "409", message: msg }] };
        const why = `GenAuth does not say which of its ${held.join(", ")} clashed: this user is there already, or another user holds one of those values and this one was not created`;
        return { kind: "records", results: [{ status: "exists", code: "409", message: msg, unsure: why }] };
      }
      return { kind: "records", results: [{ status: "failed", code, message: msg }] };
    }
    return { kind: "retry", code, message: `unexpected statusCode ${sc}: ${msg}` };
  },
});
