import { z } from "zod";
import { retryAfterMs } from "../core/retry.js";
import { defineProvider, type BatchResult, type RecordResult } from "./define.js";
import type { MappedUser } from "../types.js";

const PROVIDER_NAME = "royalti";

export const RoyaltiOptionsSchema = z.strictObject({
  /** Send the vendor's invite email. The vendor defaults to true, so the tool makes the user choose. */
  sendEmail: z.boolean().optional(),
  redirect_url: z.url().optional(),
  message: z.string().optional(),
});
export type RoyaltiOptions = z.infer<typeof RoyaltiOptionsSchema>;

const SEND_EMAIL_REQUIRED =
  "[royalti] sendEmail must be chosen explicitly: set options.sendEmail in the mapping or pass --send-email / --no-send-email (the vendor mails every user an invite by default)";

/** How the vendor names a user in its answers: firstName + " " + lastName. */
export const royaltiName = (u: MappedUser) => `${String(u.firstName ?? "")} ${String(u.lastName ?? "")}`;

const USER_KEYS = ["firstName", "lastName", "nickName", "userType", "email", "ipi", "role", "phone", "country"] as const;

interface RoyaltiAnswer {
  message?: string;
  createdUsers?: unknown;
  processedCount?: number;
  errors?: unknown;
}

function codeOf(sentence: string): string {
  if (/already associated/i.test(sentence)) return "ALREADY_ASSOCIATED";
  if (/email/i.test(sentence)) return "INVALID_EMAIL";
  return "ROYALTI_ERROR";
}

/** Royalti POST /user/bulk (vendor-docs/royalti-user-bulk.txt). */
export default defineProvider<RoyaltiOptions>({
  name: PROVIDER_NAME,
  title: "Royalti (create bulk user)",
  docs: "https://docs.royalti.io (POST /user/bulk)",
  key: "email",
  // No published limits: 50 a request and 5 requests/s are decisions (providers.md).
  maxBatch: 50,
  rate: { limit: 5, intervalMs: 1000 },
  fields: {
    firstName: { meaning: ["first"], type: "string", required: true, maxLength: 100, description: "First name" },
    lastName: { meaning: ["last"], type: "string", required: true, maxLength: 100, description: "Last name" },
    nickName: { meaning: ["nickname"], type: "string", maxLength: 100, description: "Nickname" },
    userType: { type: "string", description: "User type" },
    email: { meaning: ["email"], type: "string", required: true, format: "email", unique: true, uniqueIgnoreCase: true, description: "Email, unique in the workspace (case-insensitive)" },
    ipi: { type: "string", description: "IPI number" },
    role: { type: "string", description: "Role in the workspace" },
    phone: { meaning: ["phone"], type: "string", description: "Phone" },
    country: { meaning: ["country"], type: "string", description: "Country" },
  },
  env: [
    { name: "ROYALTI_TOKEN", description: "workspace API key (RWAK…) or JWT access token", required: true, secret: true },
    { name: "ROYALTI_BASE_URL", description: "API base URL (default https://api.royalti.io)", required: false, secret: false },
  ],
  defaultEndpoint: (env) => env.ROYALTI_BASE_URL || "https://api.royalti.io",
  endpointEnv: "ROYALTI_BASE_URL",
  optionsSchema: RoyaltiOptionsSchema,
  checkOptions(options, { dryRun }) {
    if (options.sendEmail !== undefined) return {};
    return dryRun ? { warning: SEND_EMAIL_REQUIRED } : { error: SEND_EMAIL_REQUIRED };
  },
  // The answer names users by full name only: two of the same name must never share a request.
  conflictKey: royaltiName,
  exampleMapping: `fields:
  firstName: first_name
  lastName: last_name
  email: { column: email, transform: [trim, lower] }
  phone: { column: phone, transform: [{ e164: US }] }
  country: country
options:
  sendEmail: false          # required choice: true mails every user an invite
`,

  buildRequest(users, ctx) {
    const list = users.map((u) => {
      const o: Record<string, unknown> = {};
      for (const k of USER_KEYS) if (u[k] !== undefined) o[k] = u[k];
      return o;
    });
    const body: Record<string, unknown> = { users: list, sendEmail: ctx.options.sendEmail === true };
    if (ctx.options.redirect_url) body.redirect_url = ctx.options.redirect_url;
    if (ctx.options.message) body.message = ctx.options.message;
    return {
      method: "POST",
      url: `${ctx.endpoint.replace(/\/+$/, "")}/user/bulk`,
      headers: { Authorization: `Bearer ${ctx.env.ROYALTI_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    };
  },

  parseResponse(res, users): BatchResult {
    const body = res.json as RoyaltiAnswer | undefined;
    const msg = body?.message ?? res.text.slice(0, 200);
    if (res.status === 401 || res.status === 403) return { kind: "auth", code: `HTTP_${res.status}`, message: msg };
    if (res.status === 429) return { kind: "retry", code: "HTTP_429", message: msg, throttled: true, retryAfterMs: retryAfterMs(res.headers.get("retry-after")) };
    if (res.status >= 500 || !body) return { kind: "retry", code: `HTTP_${res.status}`, message: msg || "unreadable answer" };
    if (res.status >= 400) {
      if (users.length > 1) return { kind: "split", code: `HTTP_${res.status}`, message: msg };
      return { kind: "records", results: [{ status: "failed", code: `HTTP_${res.status}`, message: msg }] };
    }
    const created = new Set(Array.isArray(body.createdUsers) ? body.createdUsers.map(String) : []);
    const names = users.map(royaltiName);
    const errorFor = new Map<number, string>();
    for (const sentence of Array.isArray(body.errors) ? body.errors.map(String) : []) {
      // The longest name the sentence holds: "Jo Doe" must not claim a sentence about "Jo Doe Smith".
      let best = -1;
      names.forEach((n, i) => {
        if (sentence.includes(n) && (best === -1 || n.length > names[best]!.length)) best = i;
      });
      if (best !== -1) errorFor.set(best, sentence);
    }
    const results: RecordResult[] = names.map((n, i) => {
      const err = errorFor.get(i);
      if (err) return codeOf(err) === "ALREADY_ASSOCIATED" ? { status: "exists", code: "ALREADY_ASSOCIATED", message: err } : { status: "failed", code: codeOf(err), message: err };
      if (created.has(n)) return { status: "created" };
      return { status: "retry", code: "NOT_CONFIRMED", message: `the answer neither created nor rejected ${n}` };
    });
    return { kind: "records", results };
  },
});
