import type { HttpRequest, HttpResponse } from "../providers/define.js";

/** A request that got no HTTP answer (network failure, timeout) or a non-JSON failure. */
export class HttpError extends Error {
  readonly status: number | undefined;
  readonly body: string | undefined;
  /** `timeout`, `network` or `abort` when no answer came. */
  readonly reason: "timeout" | "network" | "abort" | "status";

  constructor(req: Pick<HttpRequest, "method" | "url">, reason: HttpError["reason"], detail: string, status?: number, body?: string) {
    super(`[${req.method}] "${safeUrl(req.url)}": ${status ?? reason} ${detail}`.trim());
    this.name = "HttpError";
    this.reason = reason;
    this.status = status;
    this.body = body?.slice(0, 500);
  }
}

/** Query values that sign or authenticate a request are never echoed. */
const SECRET_QUERY = /sign|token|secret|key|password|auth/i;

export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) if (SECRET_QUERY.test(k)) u.searchParams.set(k, "***");
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}

export interface SendOptions {
  /** Per-request timeout, ms. @default 30000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One HTTP exchange; throws HttpError only when no answer came. Status codes are the adapter's to judge. */
export async function httpSend(req: HttpRequest, opts: SendOptions = {}): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, signal });
    text = await res.text();
  } catch (e) {
    if (opts.signal?.aborted) throw new HttpError(req, "abort", "aborted");
    if (timeout.aborted) throw new HttpError(req, "timeout", `no answer within ${opts.timeoutMs ?? 30_000} ms`);
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new HttpError(req, "network", cause?.code ?? cause?.message ?? (e as Error).message);
  }
  let json: unknown;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: res.status, headers: res.headers, text, json };
}
