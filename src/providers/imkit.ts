import { defineProvider, type BatchResult } from "./define.js";

const PROVIDER_NAME = "imkit";

export type ImkitOptions = Record<string, never>;

interface ImkitAnswer {
  RC?: number;
  RM?: string;
  result?: { count?: number };
}

// Limits the vendor does not publish; the emulator enforces the same (providers.md decisions).
export const IMKIT_LIMITS = { idLength: 255, nicknameLength: 255, avatarLength: 2048 } as const;

/** IMKIT "Create or update a list of clients" (vendor-docs/imkit-batch-create-users.txt). */
export default defineProvider<ImkitOptions>({
  name: PROVIDER_NAME,
  title: "IMKIT (create or update a list of clients)",
  docs: "https://docs.imkit.io/ (POST /admin/clients/list)",
  key: "_id",
  // "keep each batch under 100 records"; 10 requests/s is a decision (no published rate).
  maxBatch: 100,
  rate: { limit: 10, intervalMs: 1000 },
  fields: {
    _id: { meaning: ["id", "username"], type: "string", required: true, minLength: 1, maxLength: IMKIT_LIMITS.idLength, description: "Unique user identifier" },
    nickname: { meaning: ["name", "first+last", "nickname"], type: "string", maxLength: IMKIT_LIMITS.nicknameLength, description: "Display name" },
    avatarUrl: { meaning: ["avatar"], type: "string", maxLength: IMKIT_LIMITS.avatarLength, format: "url", description: "Avatar image URL" },
  },
  env: [
    { name: "IMKIT_API_KEY", description: "platform API key (IM-API-KEY header)", required: true, secret: true },
    { name: "IMKIT_BASE_URL", description: "your application's base URL, e.g. https://your-app.imkit.io", required: false, secret: false },
  ],
  defaultEndpoint: (env) => env.IMKIT_BASE_URL || undefined,
  endpointEnv: "IMKIT_BASE_URL",
  exampleMapping: `fields:
  _id: user_id
  nickname: { template: "{first_name} {last_name}", transform: [trim] }
  avatarUrl: avatar
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
      url: `${ctx.endpoint.replace(/\/+$/, "")}/admin/clients/list`,
      headers: { "IM-API-KEY": ctx.env.IMKIT_API_KEY!, "Content-Type": "application/json; charset=utf-8" },
      body: JSON.stringify({ data }),
    };
  },

  parseResponse(res, users): BatchResult {
    const body = res.json as ImkitAnswer | undefined;
    const code = String(body?.RC ?? `HTTP_${res.status}`);
    const msg = body?.RM ?? res.text.slice(0, 200);
    if (res.status === 401 || res.status === 403) return { kind: "auth", code, message: msg };
    if (res.status === 429) return { kind: "retry", code, message: msg, throttled: true };
    if (res.status >= 500 || !body) return { kind: "retry", code, message: msg || "unreadable answer" };
    if (res.status >= 400 || body.RC !== 0) {
      // The vendor rejects the whole request without naming the record: bisect.
      if (users.length > 1) return { kind: "split", code, message: msg };
      return { kind: "records", results: [{ status: "failed", code, message: msg }] };
    }
    // count = created or updated; anything else means the batch is not confirmed (upsert makes a resend safe).
    if (body.result?.count !== users.length)
      return { kind: "retry", code: "COUNT_MISMATCH", message: `vendor confirmed ${body.result?.count ?? "no"} of ${users.length} records` };
    return { kind: "records", results: users.map(() => ({ status: "upserted" as const })) };
  },
});
