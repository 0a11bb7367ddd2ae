import { retryAfterMs } from "../core/retry.js";
import { defineProvider, type BatchResult } from "./define.js";
import { apiUrl } from "../util/url.js";

const PROVIDER_NAME = "imkit";

/** IMKIT takes no provider options (a mapping's `options:` is refused). */
export type ImkitOptions = Record<string, never>;

interface ImkitAnswer {
  RC?: unknown;
  RM?: unknown;
  result?: { count?: unknown };
}

/**
 * Limits the vendor text does not publish (it says only "string"); decisions, in characters
 * (code points), enforced alike by the adapter's FieldSpec and the emulator.
 */
export const IMKIT_LIMITS = { idLength: 255, nicknameLength: 255, avatarLength: 2048 } as const;

/**
 * "keep each batch under 100 records" (vendor text, Notes): 99, under it (providers.md decided
 * 100, against the text); 10 requests/s is providers.md's decision.
 */
export const IMKIT_MAX_BATCH = 99;
export const IMKIT_RATE = { limit: 10, intervalMs: 1000 } as const;
export const IMKIT_PATH = "/admin/clients/list";
export const IMKIT_CONTENT_TYPE = "application/json; charset=utf-8";

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);

/** IMKIT "Create or update a list of clients" (vendor-docs/imkit-batch-create-users.txt). */
export default defineProvider<ImkitOptions>({
  name: PROVIDER_NAME,
  title: "IMKIT (create or update a list of clients)",
  docs: "https://docs.imkit.io/ (POST /admin/clients/list)",
  key: "_id",
  maxBatch: IMKIT_MAX_BATCH,
  rate: { ...IMKIT_RATE },
  fields: {
    _id: {
      meaning: ["id", "username"],
      type: "string",
      required: true,
      minLength: 1,
      maxLength: IMKIT_LIMITS.idLength,
      description: "Unique user identifier (an existing one is updated)",
    },
    nickname: { meaning: ["name", "first+last", "nickname"], type: "string", maxLength: IMKIT_LIMITS.nicknameLength, description: "User display name" },
    avatarUrl: { meaning: ["avatar"], type: "string", maxLength: IMKIT_LIMITS.avatarLength, format: "url", description: "User avatar image URL" },
  },
  env: [
    { name: "IMKIT_API_KEY", description: "Platform API key (sent as the IM-API-KEY header)", required: true, secret: true },
    { name: "IMKIT_BASE_URL", description: "Your application's base URL, e.g. https://your-app.imkit.io (or --endpoint)", required: false, secret: false },
  ],
  // Per-application host, so no default (providers.md): a missing one is a usage error naming the variable.
  defaultEndpoint: (env) => env.IMKIT_BASE_URL || undefined,
  endpointEnv: "IMKIT_BASE_URL",
  exampleMapping: `fields:
  _id: user_id
  nickname: { template: "{first_name} {last_name}", transform: [trim] }
  avatarUrl: { column: avatar, transform: [trim] }
`,

  buildRequest(users, ctx) {
    const data = users.map((u) => {
      const o: Record<string, unknown> = { _id: u._id };
      if (u.nickname !== undefined) o.nickname = u.nickname;
      if (u.avatarUrl !== undefined) o.avatarUrl = u.avatarUrl;
      return o;
    });
    return {
      method: "POST",
      url: apiUrl(ctx.endpoint, IMKIT_PATH),
      headers: { "IM-API-KEY": ctx.env.IMKIT_API_KEY!, "Content-Type": IMKIT_CONTENT_TYPE },
      body: JSON.stringify({ data }),
    };
  },

  parseResponse(res, users): BatchResult {
    const body = res.json && typeof res.json === "object" && !Array.isArray(res.json) ? (res.json as ImkitAnswer) : undefined;
    const rc = typeof body?.RC === "number" ? body.RC : undefined;
    const code = rc !== undefined ? String(rc) : `HTTP_${res.status}`;
    const msg = str(body?.RM) ?? (res.text.slice(0, 200) || `HTTP ${res.status}`);

    // "Invalid API Key — the IM-API-KEY is invalid or expired": a static key, so stop the run.
    if (res.status === 401 || res.status === 403 || rc === 401) return { kind: "auth", code, message: msg };
    if (res.status === 429 || rc === 429)
      return { kind: "retry", code, message: msg, throttled: true, retryAfterMs: retryAfterMs(res.headers.get("retry-after")) };
    if (res.status >= 500 || res.status === 408) return { kind: "retry", code, message: msg };
    // Wrong path or method: a bad base URL, which bisecting cannot fix.
    if (res.status === 404 || res.status === 405)
      return { kind: "endpoint", code, message: `${msg} (is IMKIT_BASE_URL your application's base URL?)` };
    // An unreadable success may hide a stored batch: resend (upsert makes that safe).
    if (res.status < 300 && (!body || rc === undefined)) return { kind: "retry", code, message: `unreadable answer: ${msg}` };
    // A refusal without the vendor's envelope (a proxy's 400 or 413 page) goes the way of any refusal below.

    if (res.status >= 300 || rc !== 0) {
      // The vendor rejects the whole request without naming the record and stores nothing: bisect.
      if (users.length > 1) return { kind: "split", code, message: msg };
      return { kind: "records", results: [{ status: "failed", code, message: msg }] };
    }
    // count = created or updated. Anything else leaves the batch unconfirmed; upsert makes a resend safe.
    const count = body?.result?.count;
    if (count !== users.length)
      return { kind: "retry", code: "COUNT_MISMATCH", message: `vendor confirmed ${typeof count === "number" ? count : "no count"} of ${users.length} records` };
    // The vendor cannot tell new from updated clients (providers.md: report `upserted`).
    return { kind: "records", results: users.map(() => ({ status: "upserted" as const })) };
  },
});
