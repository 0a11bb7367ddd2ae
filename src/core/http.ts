import { Agent as HttpAgent, request as httpRequest, type Agent, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { maskUrl } from "../util/url.js";
import type { HttpRequest, HttpResponse, ResponseHeaders } from "../providers/define.js";

/** A request that got no HTTP answer (network failure, timeout) or a non-JSON failure. */
export class HttpError extends Error {
  readonly status: number | undefined;
  readonly body: string | undefined;
  /** `timeout`, `network` or `abort` when no answer came. */
  readonly reason: "timeout" | "network" | "abort" | "status";

  /** A connection that never opened (refused, no such host, no route): the request never left. */
  readonly neverSent: boolean;

  /** The forward proxy's status when it refused the tunnel (the request never left). */
  proxyStatus?: number;

  constructor(req: Pick<HttpRequest, "method" | "url">, reason: HttpError["reason"], detail: string, status?: number, body?: string, neverSent?: boolean) {
    super(`[${req.method}] "${safeUrl(req.url)}": ${status ?? reason} ${detail}`.trim());
    this.name = "HttpError";
    this.reason = reason;
    this.neverSent = neverSent ?? (reason === "network" && ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"].includes(detail));
    this.status = status;
    this.body = body?.slice(0, 500);
  }
}

export function safeUrl(url: string): string {
  try {
    const u = maskUrl(new URL(url));
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}

export interface SendOptions {
  /** Per-request timeout, ms, for the whole exchange up to the last byte of the answer. @default 30000 */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The agent for a URL when it goes through a forward proxy (src/core/proxy.ts); else the direct ones. */
  agentFor?: (url: URL) => Agent | undefined;
}

// node:http with keep-alive rather than the built-in fetch: at a few hundred requests a second,
// fetch's per-request streams and signals doubled an import's peak RSS (see README, benchmarks).
// Free sockets are unref'd by the agent, so they never keep the process alive.
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** Answer headers by name, case-insensitive (the part of fetch's `Headers` the adapters use). */
class AnswerHeaders implements ResponseHeaders {
  constructor(private readonly raw: IncomingMessage["headers"]) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
  }
}

/** One HTTP exchange; throws HttpError only when no answer came. Status codes are the adapter's to judge. */
export function httpSend(req: HttpRequest, opts: SendOptions = {}): Promise<HttpResponse> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const signal = opts.signal;
  if (signal?.aborted) return Promise.reject(new HttpError(req, "abort", "aborted"));
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    return Promise.reject(new HttpError(req, "network", "invalid URL"));
  }
  const https = url.protocol === "https:";
  if (!https && url.protocol !== "http:") return Promise.reject(new HttpError(req, "network", `unsupported protocol ${url.protocol}`));

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers["Content-Length"] = Buffer.byteLength(req.body);
    const proxy = opts.agentFor?.(url);
    const out = (https ? httpsRequest : httpRequest)(url, { method: req.method, headers, agent: proxy ?? (https ? agents.https : agents.http) });
    /** The proxy answered the CONNECT with 200: from then on the request may reach the vendor. */
    let tunnelOpen = false;
    const failWith = (e: HttpError) => {
      if (settled) return;
      settled = true;
      cleanup();
      out.destroy();
      reject(e);
    };
    const fail = (reason: HttpError["reason"], detail: string) => failWith(new HttpError(req, reason, detail));
    const timer = setTimeout(() => fail("timeout", `no answer within ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => fail("abort", "aborted");
    signal?.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    // Through a proxy, a failure before its tunnel opened (it hung up, its TLS failed) on a new
    // socket cannot have reached the vendor.
    const network = (e: NodeJS.ErrnoException) =>
      failWith(new HttpError(req, "network", e.code ?? e.message, undefined, undefined, proxy && https && !tunnelOpen && !out.reusedSocket ? true : undefined));

    out.on("error", network);
    // A proxy that refuses the tunnel (407, 403, 502) answers in the vendor's place: the request
    // never left, and its status is the proxy's, not one for the adapter to read as the vendor's.
    out.on("proxyConnect", (res: { statusCode?: number; statusText?: string }) => {
      if (res.statusCode === 200) tunnelOpen = true;
      if (res.statusCode === 200 || settled) return;
      const what = Number.isFinite(res.statusCode) ? `${res.statusCode} ${res.statusText ?? ""}`.trim() : "an answer that is not HTTP";
      const e = new HttpError(req, "network", `the proxy refused the tunnel: ${what}`, undefined, undefined, true);
      e.proxyStatus = res.statusCode;
      failWith(e);
    });
    out.on("response", (res) => {
      // Plain http through a proxy has no tunnel: its 407 (only a proxy sends one) comes as the answer.
      if (proxy && !https && res.statusCode === 407) {
        const e = new HttpError(req, "network", `the proxy refused the request: 407 ${res.statusMessage ?? ""}`.trim(), undefined, undefined, true);
        e.proxyStatus = 407;
        res.resume();
        return failWith(e);
      }
      res.setEncoding("utf8");
      let text = "";
      res.on("data", (d: string) => (text += d));
      res.on("error", network);
      res.on("aborted", () => fail("network", "ECONNRESET"));
      res.on("end", () => {
        if (settled) return;
        // A connection cut before the announced length ends the body early without an error.
        if (!res.complete) return fail("network", "ECONNRESET");
        settled = true;
        cleanup();
        let json: unknown;
        if (text) {
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: new AnswerHeaders(res.headers), text, json });
      });
    });
    out.end(req.body);
  });
}
