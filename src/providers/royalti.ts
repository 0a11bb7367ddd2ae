import * as z from "zod";
import { retryAfterMs } from "../core/retry.js";
import { defineProvider, type BatchResult, type RecordResult } from "./define.js";
import type { MappedUser } from "../types.js";
import { apiUrl } from "../util/url.js";

const PROVIDER_NAME = "royalti";

/** providers.md: the vendor text's App Engine host is an older alias of this one. */
export const ROYALTI_DEFAULT_BASE = "https://api.royalti.io";
/** No published limits: both are providers.md decisions. */
export const ROYALTI_LIMITS = { maxBatch: 50, rate: { limit: 5, intervalMs: 1000 } } as const;
/** Keys of one user object (vendor-docs/royalti-user-bulk.txt, request body). */
export const ROYALTI_USER_KEYS = ["firstName", "lastName", "nickName", "userType", "email", "ipi", "role", "phone", "country"] as const;
/** Same rule as the core's `format: "email"`, so the emulator refuses exactly what validation refuses. */
export const ROYALTI_EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** A name of spaces only is no name (Decision: the emulator calls it missing). */
export const ROYALTI_NOT_BLANK = /\S/;

/** Codes derived from the vendor's error sentences (the vendor sends sentences, no codes). */
export const ROYALTI_CODES = {
  ALREADY_ASSOCIATED: "ALREADY_ASSOCIATED",
  INVALID_EMAIL: "INVALID_EMAIL",
  REQUIRED_FIELD: "REQUIRED_FIELD",
  ROYALTI_ERROR: "ROYALTI_ERROR",
  NOT_CONFIRMED: "NOT_CONFIRMED",
  AMBIGUOUS_NAME: "AMBIGUOUS_NAME",
} as const;

export const RoyaltiOptionsSchema = z.strictObject({
  // The vendor defaults to true, so the tool refuses to send until the user chooses (checkOptions); the request always carries the choice.
  sendEmail: z.boolean().optional().describe("mail every user an invite (the vendor's default is true)"),
  redirect_url: z.url({ protocol: /^https?$/ }).optional().describe("where the invite link lands after sign-up (http/https URL)"),
  message: z.string().optional().describe("custom text of the invite email"),
});
export type RoyaltiOptions = z.infer<typeof RoyaltiOptionsSchema>;

const SEND_EMAIL_REQUIRED =
  "[royalti] sendEmail must be chosen explicitly: set options.sendEmail in the mapping or pass --send-email / --no-send-email (the vendor mails every user an invite by default)";

const text = (v: unknown): string => (v === undefined || v === null ? "" : String(v));

/**
 * How the vendor names a user in `createdUsers` and `errors`: firstName + " " + lastName, verbatim
 * (a missing part is empty: "First name is required for  Doe").
 */
export const royaltiName = (u: MappedUser): string => `${text(u.firstName)} ${text(u.lastName)}`;

/** Looser form, used only when an answer's name does not match any sent name exactly. */
const loose = (name: string) => name.trim().replace(/\s+/g, " ").toLowerCase();

/** Stable code of one vendor error sentence. */
export function royaltiSentenceCode(sentence: string): string {
  if (/already associated/i.test(sentence)) return ROYALTI_CODES.ALREADY_ASSOCIATED;
  if (/^invalid email/i.test(sentence)) return ROYALTI_CODES.INVALID_EMAIL;
  if (/ is required for /i.test(sentence)) return ROYALTI_CODES.REQUIRED_FIELD;
  return ROYALTI_CODES.ROYALTI_ERROR;
}

/** The sentences whose shape is known, with the name in group 1 (vendor text's sample response). */
const SENTENCE_NAME = [/^User (.*) already associated with workspace!?$/, /^Invalid email format for (.*)$/, /^.+? is required for (.*)$/];

interface RoyaltiAnswer {
  message?: unknown;
  createdUsers?: unknown;
  processedCount?: unknown;
  errors?: unknown;
}

/** Finds which sent user a name or sentence of the answer is about; -1 if none (or ambiguous). */
function createResolver(names: string[]) {
  const exact = new Map<string, number>();
  const byLoose = new Map<string, number>();
  names.forEach((n, i) => {
    exact.set(n, exact.has(n) ? -1 : i);
    const l = loose(n);
    byLoose.set(l, byLoose.has(l) ? -1 : i);
  });
  const byName = (name: string): number => exact.get(name) ?? byLoose.get(loose(name)) ?? -1;
  return {
    byName,
    bySentence(sentence: string): number {
      for (const re of SENTENCE_NAME) {
        const m = re.exec(sentence);
        if (m) {
          const i = byName(m[1]!);
          if (i !== -1) return i;
        }
      }
      // Unknown sentence shape: the longest sent name it holds, so "Ann Lee" never claims "Ann Leeds".
      let best = -1;
      names.forEach((n, i) => {
        if (n.trim() && sentence.includes(n) && exact.get(n) !== -1 && (best === -1 || n.length > names[best]!.length)) best = i;
      });
      return best;
    },
  };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** Royalti POST /user/bulk (vendor-docs/royalti-user-bulk.txt). */
export default defineProvider<RoyaltiOptions>({
  name: PROVIDER_NAME,
  title: "Royalti (Create Bulk User)",
  docs: "https://docs.royalti.io (POST /user/bulk, Create Bulk User)",
  key: "email",
  maxBatch: ROYALTI_LIMITS.maxBatch,
  rate: { ...ROYALTI_LIMITS.rate },
  fields: {
    firstName: { meaning: ["first"], type: "string", required: true, pattern: ROYALTI_NOT_BLANK, patternHint: "must hold a character other than a space", description: "First name", vendorCode: ROYALTI_CODES.REQUIRED_FIELD },
    lastName: { meaning: ["last"], type: "string", required: true, pattern: ROYALTI_NOT_BLANK, patternHint: "must hold a character other than a space", description: "Last name", vendorCode: ROYALTI_CODES.REQUIRED_FIELD },
    nickName: { meaning: ["nickname"], type: "string", description: "Nickname" },
    userType: { type: "string", description: "User type" },
    email: {
      meaning: ["email"],
      type: "string",
      required: true,
      format: "email",
      unique: true,
      uniqueIgnoreCase: true,
      description: "Email, unique in the workspace (case-insensitive)",
      vendorCode: ROYALTI_CODES.INVALID_EMAIL,
    },
    ipi: { type: "string", description: "IPI (Interested Party Information) number" },
    role: { type: "string", description: "Role in the workspace" },
    phone: { meaning: ["phone"], type: "string", description: "Phone" },
    country: { meaning: ["country"], type: "string", description: "Country" },
  },
  env: [
    { name: "ROYALTI_TOKEN", description: "workspace API key (RWAK…) or JWT access token", required: true, secret: true },
    { name: "ROYALTI_BASE_URL", description: `API base URL (default ${ROYALTI_DEFAULT_BASE})`, required: false, secret: false },
  ],
  defaultEndpoint: (env) => env.ROYALTI_BASE_URL || ROYALTI_DEFAULT_BASE,
  endpointEnv: "ROYALTI_BASE_URL",
  optionsSchema: RoyaltiOptionsSchema,
  checkOptions(options, { dryRun }) {
    // providers.md decision: never rely on the vendor's sendEmail=true default.
    if (options.sendEmail === undefined) return dryRun ? { warning: SEND_EMAIL_REQUIRED } : { error: SEND_EMAIL_REQUIRED };
    if (options.sendEmail === false && (options.message !== undefined || options.redirect_url !== undefined))
      return { warning: "[royalti] options.message and options.redirect_url only shape the invite email, and sendEmail is false: no email is sent" };
    return {};
  },
  // The answer names users by full name only, and may tidy it: the batcher keeps names equal in
  // the looser form (spacing, case) in separate requests.
  conflictKey: (u) => loose(royaltiName(u)),
  exampleMapping: `fields:
  firstName: { column: first_name, transform: [trim] }
  lastName: { column: last_name, transform: [trim] }
  email: { column: email, transform: [trim, lower] }
  phone: { column: phone, transform: [{ e164: US }] }
  country: country
options:
  sendEmail: false          # required choice: true mails every user an invite (the vendor's default)
`,

  buildRequest(users, ctx) {
    const list = users.map((u) => {
      const o: Record<string, unknown> = {};
      for (const k of ROYALTI_USER_KEYS) if (u[k] !== undefined && u[k] !== null) o[k] = u[k];
      return o;
    });
    // sendEmail always sent: an absent one means "invite everybody" at the vendor.
    const body: Record<string, unknown> = { users: list, sendEmail: ctx.options.sendEmail === true };
    if (ctx.options.redirect_url !== undefined) body.redirect_url = ctx.options.redirect_url;
    if (ctx.options.message !== undefined) body.message = ctx.options.message;
    return {
      method: "POST",
      url: apiUrl(ctx.endpoint, "/user/bulk"),
      headers: { Authorization: `Bearer ${ctx.env.ROYALTI_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    };
  },

  parseResponse(res, users): BatchResult {
    const json = res.json;
    const body = json && typeof json === "object" && !Array.isArray(json) ? (json as RoyaltiAnswer) : undefined;
    const vendorMsg = typeof body?.message === "string" ? body.message : res.text.slice(0, 200);
    const code = `HTTP_${res.status}`;
    // 401 bad token (vendor text); 403 a token without the right to add users: neither heals by retrying.
    if (res.status === 401 || res.status === 403) return { kind: "auth", code, message: vendorMsg || "Unauthorized" };
    if (res.status === 429)
      return { kind: "retry", code, message: vendorMsg || "Too Many Requests", throttled: true, retryAfterMs: retryAfterMs(res.headers.get("retry-after")) };
    if (res.status >= 500 || res.status === 408) return { kind: "retry", code, message: vendorMsg || "server error" };
    // 404: wrong base URL or path; every batch would get it.
    if (res.status === 404) return { kind: "endpoint", code, message: `${vendorMsg || "Not Found"} (check ROYALTI_BASE_URL / --endpoint)` };
    if (res.status >= 400) {
      // The request as a whole was refused (shape, size, two users of one name): halve until alone.
      if (users.length > 1) return { kind: "split", code, message: vendorMsg };
      return { kind: "records", results: [{ status: "failed", code, message: vendorMsg || `HTTP ${res.status}` }] };
    }
    if (res.status < 200 || res.status >= 300 || !body || (!Array.isArray(body.createdUsers) && !Array.isArray(body.errors)))
      return { kind: "retry", code, message: `unreadable answer: ${res.text.slice(0, 200)}` };

    // HTTP 201 even when users fail: each user's fate is in createdUsers or an errors sentence.
    const names = users.map(royaltiName);
    // The batcher never sends two names equal in the looser form; if a request did, no answer line
    // could be pinned to a row: each is asked about alone (a repeat answers "already associated").
    if (new Set(names.map(loose)).size < names.length) return { kind: "split", code: ROYALTI_CODES.AMBIGUOUS_NAME, message: "two users of one name in a request" };
    const find = createResolver(names);
    const created = new Set<number>();
    for (const n of strings(body.createdUsers)) {
      const i = find.byName(n);
      if (i !== -1) created.add(i);
    }
    const sentences = new Map<number, string[]>();
    for (const s of strings(body.errors)) {
      const i = find.bySentence(s);
      if (i !== -1) sentences.set(i, [...(sentences.get(i) ?? []), s]);
    }
    const results: RecordResult[] = names.map((n, i) => {
      const said = sentences.get(i) ?? [];
      const exists = said.find((s) => royaltiSentenceCode(s) === ROYALTI_CODES.ALREADY_ASSOCIATED);
      // Created and "already associated" at once contradict each other: ask again.
      if (created.has(i) && exists) return { status: "retry", code: ROYALTI_CODES.NOT_CONFIRMED, message: `the answer both created "${n}" and said: ${exists}` };
      if (created.has(i)) return said.length ? { status: "created", code: royaltiSentenceCode(said[0]!), message: said.join("; ") } : { status: "created" };
      if (exists) return { status: "exists", code: ROYALTI_CODES.ALREADY_ASSOCIATED, message: exists };
      if (said.length) return { status: "failed", code: royaltiSentenceCode(said[0]!), message: said.join("; ") };
      return { status: "retry", code: ROYALTI_CODES.NOT_CONFIRMED, message: `the answer neither created nor named "${n}"` };
    });
    return { kind: "records", results };
  },
});
