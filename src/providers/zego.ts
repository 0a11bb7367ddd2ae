import { createHash, randomBytes } from "node:crypto";
import { defineProvider, type BatchResult, type RecordResult } from "./define.js";
import { apiUrl } from "../util/url.js";

const PROVIDER_NAME = "zego";

// vendor-docs/zego-zim-user-register.txt; codes in providers.md.
export const ZEGO_CODES = {
  SERVICE_ERROR: 660000001,
  INVALID_PARAMETER: 660000002,
  USER_ID_TOO_LONG: 660000012,
  TOO_MANY_REQUESTS: 660700001,
  USER_EXISTS: 660700002,
  USER_NAME_TOO_LONG: 660700006,
  AVATAR_TOO_LONG: 660700007,
} as const;

/**
 * Common ZEGO server-API codes (public "Return codes" page): 3 authentication failed,
 * 100000001 bad AppId, 100000002/100000003 Timestamp empty/malformed, 100000004 signature
 * expired, 100000005 signature error, 100000007 unsupported Action, 100000008/100000009 nonce or
 * signature empty, 100000010 no ServerSecret for the AppId, 100000014 SignatureVersion. The run
 * stops on these (providers.md: signature and timestamp failures): retrying cannot help.
 */
export const ZEGO_AUTH_CODES = new Set([3, 100000001, 100000002, 100000003, 100000004, 100000005, 100000007, 100000008, 100000009, 100000010, 100000014]);
/** Whole-request refusals of a field's value that name nobody (vendor: "one or more parameters are invalid"). */
const ZEGO_FIELD_CODES = new Set<number>([ZEGO_CODES.INVALID_PARAMETER, ZEGO_CODES.USER_ID_TOO_LONG, ZEGO_CODES.USER_NAME_TOO_LONG, ZEGO_CODES.AVATAR_TOO_LONG]);
/** 1: server busy; 7: over the per-second limit (common codes). */
const ZEGO_BUSY = 1;
const ZEGO_COMMON_THROTTLE = 7;

export const ZEGO_USER_ID_PATTERN = /^[A-Za-z0-9!#$%&()+\-:;<=.>?@[\]^_,|~]+$/;

export interface ZegoOptions {}

/** Signature = md5(AppId + SignatureNonce + ServerSecret + Timestamp), lowercase hex. */
export function zegoSignature(appId: string, nonce: string, secret: string, timestamp: number): string {
  return createHash("md5").update(`${appId}${nonce}${secret}${timestamp}`).digest("hex");
}

interface ZegoResponse {
  Code?: number;
  Message?: string;
  RequestId?: string;
  /** The vendor's table spells the entry's id `UserID`, its sample `UserId`. */
  ErrorList?: { UserId?: string; UserID?: string; SubCode?: number; SubMessage?: string }[] | null;
}

export default defineProvider<ZegoOptions>({
  name: PROVIDER_NAME,
  title: "ZEGOCLOUD ZIM (UserRegister)",
  docs: "https://www.zegocloud.com/docs/zim-server/user-manage/batch-register-users",
  key: "UserId",
  maxBatch: 100,
  rate: { limit: 20, intervalMs: 1000 },
  fields: {
    UserId: { meaning: ["id", "username"],
      type: "string",
      required: true,
      maxBytes: 32,
      pattern: ZEGO_USER_ID_PATTERN,
      patternHint: "letters, digits and ! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ , | ~",
      description: "User ID, unique in the app",
      vendorCode: String(ZEGO_CODES.USER_ID_TOO_LONG),
    },
    UserName: { meaning: ["name", "first+last", "nickname", "username"], type: "string", maxBytes: 64, description: "Display name", vendorCode: String(ZEGO_CODES.USER_NAME_TOO_LONG) },
    UserAvatar: { meaning: ["avatar"], type: "string", maxBytes: 500, description: "Avatar URL", vendorCode: String(ZEGO_CODES.AVATAR_TOO_LONG) },
  },
  env: [
    { name: "ZEGO_APP_ID", description: "ZIM AppId (a number)", required: true, secret: false },
    { name: "ZEGO_SERVER_SECRET", description: "ServerSecret (32 characters)", required: true, secret: true },
  ],
  defaultEndpoint: () => "https://zim-api.zego.im",
  exampleMapping: `fields:
  UserId: user_id
  UserName: { template: "{first_name} {last_name}", transform: [trim] }
  UserAvatar: { column: avatar, default: "https://example.com/avatar.png" }
`,

  buildRequest(users, ctx) {
    const appId = ctx.env.ZEGO_APP_ID!;
    const nonce = randomBytes(8).toString("hex");
    const ts = Math.floor(ctx.now() / 1000);
    const sig = zegoSignature(appId, nonce, ctx.env.ZEGO_SERVER_SECRET!, ts);
    const q = new URLSearchParams({
      Action: "UserRegister",
      AppId: appId,
      SignatureNonce: nonce,
      Timestamp: String(ts),
      Signature: sig,
      SignatureVersion: "2.0",
    });
    const UserInfo = users.map((u) => {
      const o: Record<string, unknown> = { UserId: u.UserId };
      if (u.UserName !== undefined) o.UserName = u.UserName;
      if (u.UserAvatar !== undefined) o.UserAvatar = u.UserAvatar;
      return o;
    });
    return {
      method: "POST",
      url: apiUrl(ctx.endpoint, "/", q.toString()),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ UserInfo }),
    };
  },

  parseResponse(res, users): BatchResult {
    const body = res.json as ZegoResponse | undefined;
    if (!body || typeof body.Code !== "number") {
      const message = `unexpected answer: ${res.text.slice(0, 200)}`;
      // No such route: every request would get the same. Another 4xx without the vendor's envelope
      // (a proxy) will not change on a retry either.
      if (res.status === 404 || res.status === 405) return { kind: "endpoint", code: `HTTP_${res.status}`, message };
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) return { kind: "failed", code: `HTTP_${res.status}`, message };
      return { kind: "retry", code: `HTTP_${res.status}`, message, throttled: res.status === 429 };
    }
    if (res.status >= 500) return { kind: "retry", code: `HTTP_${res.status}`, message: `unexpected answer: ${res.text.slice(0, 200)}` };
    const code = body.Code;
    const msg = body.Message ?? "";
    const errors = Array.isArray(body.ErrorList) ? body.ErrorList : [];
    if (code !== 0 && errors.length === 0) {
      if (code === ZEGO_CODES.TOO_MANY_REQUESTS || code === ZEGO_COMMON_THROTTLE) return { kind: "retry", code: String(code), message: msg, throttled: true };
      if (code === ZEGO_CODES.SERVICE_ERROR || code === ZEGO_BUSY) return { kind: "retry", code: String(code), message: msg };
      if (ZEGO_AUTH_CODES.has(code)) return { kind: "auth", code: String(code), message: msg };
      // One user: the refusal is its own. Several: halve until the culprit is alone.
      if (code === ZEGO_CODES.USER_EXISTS && users.length === 1) return { kind: "records", results: [{ status: "exists", code: String(code), message: msg }] };
      if (ZEGO_FIELD_CODES.has(code) || code === ZEGO_CODES.USER_EXISTS) return { kind: "split", code: String(code), message: msg };
      return { kind: "failed", code: String(code), message: msg };
    }
    // Code 0 (some registered) or non-zero with entries (all failed): entries name the failures.
    const sent = new Set(users.map((u) => String(u.UserId)));
    const byId = new Map<string, { SubCode?: number; SubMessage?: string }>();
    let strangers = 0;
    for (const e of errors) {
      const id = e.UserId ?? e.UserID;
      if (typeof id === "string" && sent.has(id)) byId.set(id, e);
      else strangers++;
    }
    const results: RecordResult[] = users.map((u) => {
      const e = byId.get(String(u.UserId));
      if (!e) {
        // Code ≠ 0 means none registered, and an entry naming nobody sent may be this user's
        // failure: an unnamed user is then resent (a repeat registration answers "exists").
        return code === 0 && strangers === 0
          ? { status: "created" }
          : { status: "retry", code: String(code), message: `${msg} (user not in ErrorList)` };
      }
      const sub = e.SubCode ?? code;
      const m = e.SubMessage ?? msg;
      if (sub === ZEGO_CODES.USER_EXISTS) return { status: "exists", code: String(sub), message: m };
      if (sub === ZEGO_CODES.TOO_MANY_REQUESTS) return { status: "retry", code: String(sub), message: m, throttled: true };
      if (sub === ZEGO_CODES.SERVICE_ERROR) return { status: "retry", code: String(sub), message: m };
      return { status: "failed", code: String(sub), message: m };
    });
    return { kind: "records", results };
  },
});
