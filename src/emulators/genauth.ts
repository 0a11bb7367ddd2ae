import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createEmulator, defineEmulator, listLength, parseJson, type EmulatorOptions, type EmuRequest, type EmuResponse } from "./_base.js";
import { canParseUrl } from "../util/url.js";

export interface GenauthEmulatorOptions extends EmulatorOptions {
  /** Life of a management token, ms (tests shorten it to force expiry mid-run). @default 7200000 */
  tokenTtlMs?: number;
}

/**
 * apiCodes of the emulator's answers. The vendor text names `apiCode` without a list, so these
 * numbers are decisions; the adapter keys on `statusCode`, never on them.
 */
export const GENAUTH_EMU_CODES = {
  INVALID_PARAMS: 1001,
  BAD_ACCESS_KEY: 2004,
  TOKEN_INVALID: 2005,
  TOKEN_EXPIRED: 2006,
  POOL_REFUSED: 2007,
  USER_EXISTS: 2026,
  TOO_MANY_REQUESTS: 1429,
  SERVER_ERROR: 1500,
} as const;

// The emulator's own reading of the vendor text and providers.md, not the adapter's constants or
// FieldSpec: an adapter mistake must make it fail, not move it along.
const TOKEN_PATH = "/api/v3/get-management-token";
const CREATE_PATH = "/api/v3/create-users-batch";
/** "User list array length limit: 50" (vendor text). */
const MAX_USERS = 50;
/** providers.md decision: 10 requests a second. */
const RATE = { limit: 10, intervalMs: 1000 };
const STRINGS = new Set([
  "status", "email", "phone", "phoneCountryCode", "username", "externalId", "name", "nickname", "photo", "gender", "birthdate",
  "country", "province", "city", "address", "streetAddress", "postalCode", "company", "browser", "device", "givenName",
  "familyName", "middleName", "profile", "preferredUsername", "website", "zoneinfo", "locale", "formatted", "region",
  "password", "salt", "identityNumber",
]);
const BOOLEANS = new Set(["emailVerified", "phoneVerified"]);
const STRING_LISTS = new Set(["tenantIds", "departmentIds"]);
const OBJECTS = new Set(["customData", "metadataSource"]);
const ENUMS: Record<string, readonly string[]> = {
  // UserDto.status and UserDto.gender (vendor text).
  status: ["Activated", "Suspended", "Deactivated", "Resigned", "Archived"],
  gender: ["M", "F", "U"],
};
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** A phone number's characters (decision: the vendor text describes the value, it states no rule). */
const PHONE = /^(?=[^0-9]*[0-9])\+?[0-9 ()-]+$/;
/** "+86" (vendor text example). */
const COUNTRY_CODE = /^\+[0-9]{1,4}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UNIQUE = ["email", "phone", "username", "externalId"] as const;
type UniqueField = (typeof UNIQUE)[number];

const OPTION_BOOLEANS = new Set(["keepPassword", "autoGeneratePassword", "resetPasswordOnFirstLogin"]);
const NOTIFY_BOOLEANS = new Set(["sendEmailNotification", "sendPhoneNotification"]);
const ENCRYPT_TYPES = new Set(["none", "rsa", "sm2"]);

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const validDate = (s: string) => DATE.test(s) && !Number.isNaN(Date.parse(s)) && new Date(s).toISOString().startsWith(s);

type Kind = "string" | "string?" | "object" | "string[]";
/** CreateUserOtpDto and CreateIdentityDto (vendor text): `?` marks the optional. */
const OTP: Record<string, Kind> = { secret: "string", recoveryCode: "string?" };
const IDENTITY: Record<string, Kind> = {
  extIdpId: "string", provider: "string", type: "string", userIdInIdp: "string", userInfoInIdp: "object",
  accessToken: "string?", refreshToken: "string?", originConnIds: "string[]",
};

/** Why a nested DTO is refused, or undefined. */
function badNested(at: string, v: unknown, shape: Record<string, Kind>): string | undefined {
  if (!isObject(v)) return `${at} must be an object`;
  for (const k of Object.keys(v)) if (!Object.hasOwn(shape, k)) return `property ${at}.${k} should not exist`;
  for (const [k, kind] of Object.entries(shape)) {
    const x = v[k];
    if (x === undefined) {
      if (!kind.endsWith("?")) return `${at}.${k} is required`;
    } else if (kind === "object" ? !isObject(x) : kind === "string[]" ? !Array.isArray(x) || x.some((y) => typeof y !== "string") : typeof x !== "string")
      return `${at}.${k} must be ${kind === "object" ? "an object" : kind === "string[]" ? "an array of strings" : "a string"}`;
  }
  return undefined;
}

/** Why a CreateUserInfoDto is refused, or undefined. */
function badUser(u: unknown): string | undefined {
  if (!isObject(u)) return "list items must be objects";
  for (const [k, v] of Object.entries(u)) {
    if (STRINGS.has(k)) {
      if (typeof v !== "string") return `${k} must be a string`;
      if (ENUMS[k] && !ENUMS[k].includes(v)) return `${k} must be one of ${ENUMS[k].join(", ")}`;
    } else if (BOOLEANS.has(k)) {
      if (typeof v !== "boolean") return `${k} must be a boolean`;
    } else if (STRING_LISTS.has(k)) {
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) return `${k} must be an array of strings`;
    } else if (OBJECTS.has(k)) {
      if (!isObject(v)) return `${k} must be an object`;
    } else if (k === "otp") {
      const why = badNested("otp", v, OTP);
      if (why) return why;
    } else if (k === "identities") {
      if (!Array.isArray(v)) return "identities must be an array";
      for (const [i, x] of v.entries()) {
        const why = badNested(`identities.${i}`, x, IDENTITY);
        if (why) return why;
      }
    } else return `property ${k} should not exist`;
  }
  const s = u as Record<string, string | undefined>;
  for (const k of UNIQUE) if (s[k] === "") return `${k} must not be empty`;
  if (s.email === undefined && s.phone === undefined && s.username === undefined) return "one of email, phone and username is required";
  if (s.email !== undefined && !EMAIL.test(s.email)) return "email must be an email";
  if (s.phone !== undefined && !PHONE.test(s.phone)) return "phone must be a phone number";
  if (s.phoneCountryCode !== undefined && !COUNTRY_CODE.test(s.phoneCountryCode)) return "phoneCountryCode must look like +86";
  if (s.birthdate !== undefined && !validDate(s.birthdate)) return "birthdate must be a date (YYYY-MM-DD)";
  for (const k of ["photo", "website"]) if (s[k] !== undefined && !canParseUrl(s[k]!)) return `${k} must be a URL`;
  return undefined;
}

/** Why CreateUserOptionsDto is refused, or undefined. */
function badOptions(o: unknown): string | undefined {
  if (!isObject(o)) return "options must be an object";
  for (const [k, v] of Object.entries(o)) {
    if (OPTION_BOOLEANS.has(k)) {
      if (typeof v !== "boolean") return `options.${k} must be a boolean`;
    } else if (k === "passwordEncryptType") {
      if (typeof v !== "string" || !ENCRYPT_TYPES.has(v)) return "options.passwordEncryptType must be one of none, rsa, sm2";
    } else if (k === "departmentIdType") {
      if (typeof v !== "string") return "options.departmentIdType must be a string";
    } else if (k === "sendNotification") {
      if (!isObject(v)) return "options.sendNotification must be an object";
      for (const [n, x] of Object.entries(v)) {
        if (NOTIFY_BOOLEANS.has(n) ? typeof x !== "boolean" : n !== "appId" || typeof x !== "string") return `options.sendNotification.${n} is invalid`;
      }
    } else return `property options.${k} should not exist`;
  }
  return undefined;
}

/**
 * GenAuth management API: the management token (issue, expiry, pool scope) and createUsersBatch,
 * all-or-nothing: a bad field (400) or a conflict (409) rejects the whole request, naming no user,
 * and stores nothing (providers.md, "Decision (emulator)").
 */
export function createGenauthEmulator(opts: GenauthEmulatorOptions) {
  const { GENAUTH_ACCESS_KEY_ID: keyId, GENAUTH_ACCESS_KEY_SECRET: keySecret, GENAUTH_USER_POOL_ID: poolId } = opts.env;
  if (!keyId || !keySecret || !poolId) throw new Error("genauth emulator needs GENAUTH_ACCESS_KEY_ID, GENAUTH_ACCESS_KEY_SECRET and GENAUTH_USER_POOL_ID");
  const ttl = opts.tokenTtlMs ?? 7_200_000;
  const signingKey = randomBytes(32);
  /** Token → expiry (epoch ms). */
  const tokens = new Map<string, number>();
  const refused = new Set((opts.refuseKeys ?? []).map((k) => k.toLowerCase()));
  const users: Record<string, unknown>[] = [];
  const taken = Object.fromEntries(UNIQUE.map((k) => [k, new Set<string>()])) as Record<UniqueField, Set<string>>;
  const norm = (k: UniqueField, v: string) => (k === "email" ? v.toLowerCase() : v);
  let issued: string[] = [];
  let errors = 0;

  const answer = (statusCode: number, message: string, extra: Record<string, unknown> = {}): EmuResponse => ({
    status: 200,
    body: { statusCode, message, requestId: randomBytes(16).toString("hex"), ...extra },
  });
  const fail = (statusCode: number, message: string, apiCode: number) => answer(statusCode, message, { apiCode });
  const invalid = (message: string) => fail(400, message, GENAUTH_EMU_CODES.INVALID_PARAMS);
  const jsonBody = (req: EmuRequest): unknown => {
    // The SDKs send application/json (a charset parameter is fine).
    if (!/^application\/json\s*(;|$)/i.test(String(req.headers["content-type"] ?? ""))) return undefined;
    return parseJson(req.body);
  };

  /** A JWT-shaped token signed by the emulator, so a tampered one is unknown. */
  const signToken = () => {
    const now = Date.now();
    const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ scoped_userpool_id: poolId, iat: Math.floor(now / 1000), exp: Math.ceil((now + ttl) / 1000), jti: randomBytes(8).toString("hex") })}`;
    return `${head}.${createHmac("sha256", signingKey).update(head).digest("base64url")}`;
  };
  const signed = (t: string) => {
    const i = t.lastIndexOf(".");
    if (i < 0) return false;
    const want = createHmac("sha256", signingKey).update(t.slice(0, i)).digest();
    const got = Buffer.from(t.slice(i + 1), "base64url");
    return got.length === want.length && timingSafeEqual(got, want);
  };

  const issueToken = (req: EmuRequest): EmuResponse => {
    const b = jsonBody(req);
    if (!isObject(b) || Object.keys(b).some((k) => k !== "accessKeyId" && k !== "accessKeySecret") || typeof b.accessKeyId !== "string" || typeof b.accessKeySecret !== "string")
      return invalid("accessKeyId and accessKeySecret are required");
    // Decision: a wrong key answers statusCode 401 in an HTTP 200 body, like every other error.
    if (b.accessKeyId !== keyId || b.accessKeySecret !== keySecret) return fail(401, "accessKeyId or accessKeySecret is invalid", GENAUTH_EMU_CODES.BAD_ACCESS_KEY);
    const token = signToken();
    tokens.set(token, Date.now() + ttl);
    issued.push(token);
    return answer(200, "Operation successful", { data: { access_token: token, expires_in: Math.ceil(ttl / 1000) } });
  };

  const createUsers = (req: EmuRequest): EmuResponse => {
    const m = /^Bearer ([^\s]+)$/.exec(String(req.headers.authorization ?? ""));
    const expires = m && signed(m[1]!) ? tokens.get(m[1]!) : undefined;
    if (expires === undefined) return fail(401, "Invalid access token", GENAUTH_EMU_CODES.TOKEN_INVALID);
    if (Date.now() >= expires) return fail(401, "Access token expired", GENAUTH_EMU_CODES.TOKEN_EXPIRED);
    const pool = req.headers["x-authing-userpool-id"];
    if (pool === undefined) return fail(403, "x-authing-userpool-id is required", GENAUTH_EMU_CODES.POOL_REFUSED);
    // The access key belongs to one pool: its token acts on no other.
    if (pool !== poolId) return fail(403, "User pool not found or not authorized", GENAUTH_EMU_CODES.POOL_REFUSED);

    const body = jsonBody(req);
    if (!isObject(body)) return invalid("request body must be a JSON object (Content-Type: application/json)");
    const extra = Object.keys(body).find((k) => k !== "list" && k !== "options");
    if (extra) return invalid(`property ${extra} should not exist`);
    if (body.options !== undefined) {
      const why = badOptions(body.options);
      if (why) return invalid(why);
    }
    const list = body.list;
    if (!Array.isArray(list) || list.length === 0) return invalid("list must be a non-empty array");
    if (list.length > MAX_USERS) return invalid(`list must contain no more than ${MAX_USERS} elements`);
    // One bad user fails the request; the message names no user (providers.md).
    for (const u of list) {
      const o = u as Record<string, unknown>;
      if (badUser(u) || UNIQUE.some((k) => typeof o[k] === "string" && refused.has((o[k] as string).toLowerCase())))
        return invalid("Invalid user information");
    }
    const batch = list as Record<string, unknown>[];
    const seen = Object.fromEntries(UNIQUE.map((k) => [k, new Set<string>()])) as Record<UniqueField, Set<string>>;
    for (const u of batch)
      for (const k of UNIQUE) {
        if (typeof u[k] !== "string") continue;
        const v = norm(k, u[k] as string);
        if (taken[k].has(v) || seen[k].has(v)) return fail(409, "User already exists", GENAUTH_EMU_CODES.USER_EXISTS);
        seen[k].add(v);
      }

    const keepPassword = (body.options as { keepPassword?: boolean } | undefined)?.keepPassword === true;
    const now = new Date().toISOString();
    const data = batch.map((u) => {
      for (const k of UNIQUE) if (typeof u[k] === "string") taken[k].add(norm(k, u[k] as string));
      // Passwords are neither stored in the clear nor echoed: only whether one was set, and how.
      const { password, salt: _salt, ...rest } = u;
      const dto = {
        userId: randomBytes(12).toString("hex"),
        createdAt: now,
        updatedAt: now,
        status: "Activated",
        workStatus: "Active",
        gender: "U",
        emailVerified: false,
        phoneVerified: false,
        userSourceType: "adminCreated",
        ...rest,
      };
      users.push({ ...dto, passwordSet: password !== undefined, keepPassword });
      return dto;
    });
    return answer(200, "Operation successful", { data });
  };

  const handle = (req: EmuRequest): EmuResponse => {
    const route = req.path === TOKEN_PATH ? issueToken : req.path === CREATE_PATH ? createUsers : undefined;
    // Both routes are POST only; anything else is an unknown route (HTTP 404, as a Nest app answers).
    if (!route || req.method !== "POST") return { status: 404, body: { statusCode: 404, message: `Cannot ${req.method} ${req.path}`, error: "Not Found" } };
    return route(req);
  };

  const emu = createEmulator(
    {
      name: "genauth",
      rate: RATE,
      // The token endpoint is not rate-limited (brief); createUsersBatch is. Both can fail.
      isLimited: (req) => req.path === CREATE_PATH,
      faultable: (req) => req.path === TOKEN_PATH,
      // Errors come in HTTP 200 bodies: only statusCode 200 created the batch.
      accepted: (out) => (out.body as { statusCode?: unknown } | undefined)?.statusCode === 200,
      // providers.md: throttling answers statusCode 429 (in an HTTP 200 body, like every error).
      throttled: () => fail(429, "Too Many Requests", GENAUTH_EMU_CODES.TOO_MANY_REQUESTS),
      // Alternate the two shapes of a server failure: the vendor's statusCode 500 body and a bare gateway 502.
      serverError: () => (++errors % 2 ? fail(500, "Internal Server Error", GENAUTH_EMU_CODES.SERVER_ERROR) : { status: 502, body: "Bad Gateway" }),
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
