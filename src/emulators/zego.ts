import { createHash, randomBytes } from "node:crypto";
import { createEmulator, defineEmulator, listLength, parseJson, type EmulatorOptions, type EmuRequest, type EmuResponse } from "./_base.js";

// The vendor's own values, written out here rather than taken from the adapter, so that a
// mistake in the adapter's copy fails against the emulator instead of being shared by it.
const MAX_USERS = 100;
const RATE = { limit: 20, intervalMs: 1000 };
const CODES = {
  SERVICE_ERROR: 660000001,
  INVALID_PARAMETER: 660000002,
  USER_ID_TOO_LONG: 660000012,
  TOO_MANY_REQUESTS: 660700001,
  USER_EXISTS: 660700002,
  USER_NAME_TOO_LONG: 660700006,
  AVATAR_TOO_LONG: 660700007,
};
/** vendor-docs/zego-zim-user-register.txt: digits, letters and ! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ , | ~ */
const USER_ID_CHARS = /^[0-9A-Za-z!#$%&()+\-:;<=.>?@[\]^_,|~]+$/;
const FIELDS = new Set(["UserId", "UserName", "UserAvatar"]);
const signature = (appId: string, nonce: string, secret: string, ts: string) => createHash("md5").update(appId + nonce + secret + ts).digest("hex");
const TIMESTAMP_WINDOW_S = 600;

export interface ZegoEmulatorOptions extends EmulatorOptions {}

interface ZegoUser {
  UserId: string;
  UserName?: string;
  UserAvatar?: string;
}

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** ZIM UserRegister as documented, strict about signature, limits and field rules. */
export function createZegoEmulator(opts: ZegoEmulatorOptions) {
  const appId = opts.env.ZEGO_APP_ID;
  const secret = opts.env.ZEGO_SERVER_SECRET;
  if (!appId || !secret) throw new Error("zego emulator needs ZEGO_APP_ID and ZEGO_SERVER_SECRET");
  const users = new Map<string, ZegoUser>();
  const refused = new Set(opts.refuseKeys ?? []);
  let seq = 0;
  const requestId = () => String(343649807833778782n + BigInt(++seq));
  const answer = (Code: number, Message: string, ErrorList: unknown[] = []): EmuResponse => ({
    status: 200,
    body: { Code, Message, RequestId: requestId(), ErrorList },
  });
  let errors = 0;
  /** Nonces of signed requests, with when each may be used again. */
  const nonces = new Map<string, number>();

  const handle = (req: EmuRequest): EmuResponse => {
    const q = req.query;
    if (req.path !== "/") return { status: 404, body: "not found" };
    if (req.method !== "POST") return { status: 405, body: "method not allowed" };
    if (q.get("Action") !== "UserRegister") return answer(100000007, "unsupported Action");
    const nonce = q.get("SignatureNonce");
    const ts = q.get("Timestamp");
    const sig = q.get("Signature");
    if (!q.get("AppId") || !/^\d+$/.test(q.get("AppId")!)) return answer(100000001, "AppId format error");
    if (!ts) return answer(100000002, "Timestamp is empty");
    if (!/^\d+$/.test(ts)) return answer(100000003, "Timestamp format error");
    if (!nonce) return answer(100000008, "SignatureNonce is empty");
    // providers.md: 16 random hex characters.
    if (!/^[0-9a-f]{16}$/i.test(nonce)) return answer(100000005, "signature error: SignatureNonce must be 16 hex characters");
    if (!sig) return answer(100000009, "Signature is empty");
    if (q.get("SignatureVersion") !== "2.0") return answer(100000014, "unsupported SignatureVersion");
    if (q.get("AppId") !== appId) return answer(100000010, "failed to get ServerSecret");
    if (Math.abs(Date.now() / 1000 - Number(ts)) > TIMESTAMP_WINDOW_S) return answer(100000004, "signature expired");
    if (sig !== signature(appId, nonce, secret, ts)) return answer(100000005, "signature error");
    // The nonce is what makes a signed request unrepeatable: one seen within the timestamp window
    // is a replay (or an adapter that does not draw a new one per request).
    const now = Date.now();
    if ((nonces.get(nonce) ?? 0) > now) return answer(100000005, "signature error: SignatureNonce already used");
    nonces.set(nonce, now + 2 * TIMESTAMP_WINDOW_S * 1000);
    if (nonces.size > 4096) for (const [n, until] of nonces) if (until <= now) nonces.delete(n);

    // The body is JSON; a form or text body would be read as something else by the server.
    if (!/^application\/json\s*(;|$)/i.test(String(req.headers["content-type"] ?? ""))) return answer(CODES.INVALID_PARAMETER, "Content-Type must be application/json");
    const body = parseJson(req.body) as { UserInfo?: unknown } | undefined;
    const list = body?.UserInfo;
    if (!Array.isArray(list) || list.length === 0) return answer(CODES.INVALID_PARAMETER, "UserInfo is required");
    // UserInfo is the operation's one body parameter (public ones go in the query): another is a
    // misspelt or misplaced one, refused as in the entries below.
    const stray = Object.keys(body!).find((k) => k !== "UserInfo");
    if (stray) return answer(CODES.INVALID_PARAMETER, `UserRegister has no body parameter ${stray}`);
    if (list.length > MAX_USERS) return answer(CODES.INVALID_PARAMETER, `at most ${MAX_USERS} users a request`);
    for (const u of list) {
      if (!u || typeof u !== "object") return answer(CODES.INVALID_PARAMETER, "UserInfo entries must be objects");
      const o = u as Record<string, unknown>;
      const unknown = Object.keys(o).find((k) => !FIELDS.has(k));
      if (unknown) return answer(CODES.INVALID_PARAMETER, `UserInfo has no parameter ${unknown}`);
      if (typeof o.UserId !== "string" || o.UserId === "") return answer(CODES.INVALID_PARAMETER, "UserId is required");
      for (const k of ["UserName", "UserAvatar"])
        if (o[k] !== undefined && typeof o[k] !== "string") return answer(CODES.INVALID_PARAMETER, `${k} must be a string`);
    }

    const failed: { UserId: string; SubCode: number; SubMessage: string }[] = [];
    let registered = 0;
    for (const o of list as ZegoUser[]) {
      const fail = (SubCode: number, SubMessage: string) => failed.push({ UserId: o.UserId, SubCode, SubMessage });
      if (bytes(o.UserId) > 32) fail(CODES.USER_ID_TOO_LONG, "user length limit");
      else if (!USER_ID_CHARS.test(o.UserId) || refused.has(o.UserId)) fail(CODES.INVALID_PARAMETER, "UserId has characters outside the allowed set");
      else if (o.UserName !== undefined && bytes(o.UserName) > 64) fail(CODES.USER_NAME_TOO_LONG, "user name length limit");
      else if (o.UserAvatar !== undefined && bytes(o.UserAvatar) > 500) fail(CODES.AVATAR_TOO_LONG, "user avatar length limit");
      else if (users.has(o.UserId)) fail(CODES.USER_EXISTS, "user already exists");
      else {
        users.set(o.UserId, { UserId: o.UserId, UserName: o.UserName, UserAvatar: o.UserAvatar });
        registered++;
      }
    }
    // The vendor's table spells the entries' id `UserID`, its sample `UserId`: answers alternate.
    if (seq % 2)
      for (const f of failed as Record<string, unknown>[]) {
        f.UserID = f.UserId;
        delete f.UserId;
      }
    if (registered > 0) return answer(0, "success", failed);
    // "If all user IDs fail to be registered, a corresponding code is returned": theirs when they
    // share one, else invalid parameter.
    const one = failed.every((f) => f.SubCode === failed[0]!.SubCode);
    return answer(one ? failed[0]!.SubCode : CODES.INVALID_PARAMETER, "register failed", failed);
  };

  return createEmulator(
    {
      name: "zego",
      rate: RATE,
      isLimited: (req) => req.query.get("Action") === "UserRegister",
      throttled: () => answer(CODES.TOO_MANY_REQUESTS, "too many requests"),
      // Alternate the two shapes a server failure takes: a service-error code and a bare 5xx.
      serverError: () => (++errors % 2 ? answer(CODES.SERVICE_ERROR, "service error") : { status: 503, body: "Service Unavailable" }),
      handle,
      batchSize: listLength("UserInfo"),
      // HTTP 200 either way: the users were looked at when Code is 0 or the entries name them.
      accepted: (out) => {
        const b = out.body as { Code?: unknown; ErrorList?: unknown[] } | undefined;
        return out.status === 200 && !!b && typeof b === "object" && (b.Code === 0 || (Array.isArray(b.ErrorList) && b.ErrorList.length > 0));
      },
      users: () => [...users.values()] as unknown as Record<string, unknown>[],
    },
    opts,
  );
}

export default defineEmulator({
  name: "zego",
  sandboxEnv: () => ({
    ZEGO_APP_ID: String(1_000_000_000 + Math.floor(Math.random() * 1_000_000_000)),
    ZEGO_SERVER_SECRET: randomBytes(16).toString("hex"),
  }),
  create: (opts) => createZegoEmulator(opts),
});
