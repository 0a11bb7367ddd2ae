import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** Options every emulator accepts (CLI `emulate` flags map onto these). */
export interface EmulatorOptions {
  /** Credential variables the emulator accepts, as the adapter reads them. */
  env: Record<string, string>;
  /** Added delay before each answer, in ms. @default 0 */
  latencyMs?: number;
  /** Override the vendor rate limit (requests per window). */
  rateLimit?: number;
  /** Fault injection, each a probability 0..1 per request. */
  faults?: FaultOptions;
  /** Seed of the fault RNG, for repeatable runs. @default 1 */
  seed?: number;
  /**
   * Users (by the provider's key) the vendor refuses with its invalid-field answer although they
   * pass every published rule: stands for server-side rules a client cannot check.
   */
  refuseKeys?: string[];
}

/**
 * Faults hit every request of the vendor's API routes, its token route included (a token service
 * fails and throttles too, and each adapter has a path for it); the rate limit counts only the
 * routes the vendor limits. The probabilities add up to at most 1: one fault a request at most.
 */
export interface FaultOptions {
  /** Answer the vendor's server error (5xx) without processing. */
  error?: number;
  /** Process the request, then never answer (the client times out; the users DO exist). */
  timeout?: number;
  /** Answer the vendor's throttling response without processing. */
  throttle?: number;
  /** Destroy the connection before processing. */
  drop?: number;
  /**
   * Process the request, then answer a gateway's 502 page in the vendor's place (a proxy or load
   * balancer that lost the vendor's answer): as with a timeout, the users DO exist.
   */
  gateway?: number;
}

export interface EmuRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: string;
  /** Arrival time, ms (performance.now clock). */
  at: number;
}

export interface EmuResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON unless a string. */
  body?: unknown;
}

export interface EmulatorStats {
  /** Requests that reached a rate-limited route. */
  requests: number;
  /** Requests answered with the vendor's throttling response by the rate limit. */
  throttled: number;
  /** Faults injected, by kind. */
  faults: Record<keyof FaultOptions, number>;
  /** Number of records in each request accepted for processing. */
  batchSizes: number[];
  /** Arrival times of rate-limited requests (ms). */
  arrivals: number[];
  /** Tokens the emulator issued (tests check none of them leaks). */
  issued: string[];
}

export interface Emulator {
  readonly name: string;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  /** Base URL once listening. */
  readonly url: string;
  readonly stats: EmulatorStats;
  /** Users stored, in insertion order. */
  users(): Record<string, unknown>[];
}

export interface EmulatorSpec {
  name: string;
  /** Requests allowed per `intervalMs` over any sliding window. */
  rate: { limit: number; intervalMs: number };
  /** `true` if the route counts against the rate limit and can get faults. */
  isLimited(req: EmuRequest): boolean;
  /** `true` for a route that is not rate-limited but can get faults (a token route). */
  faultable?(req: EmuRequest): boolean;
  /**
   * Whether the vendor processed the records of a request it answered so (for stats.batchSizes).
   * @default a 2xx status; vendors that answer a refusal in an HTTP 200 body must say.
   */
  accepted?(out: EmuResponse): boolean;
  throttled(req: EmuRequest): EmuResponse;
  serverError(req: EmuRequest): EmuResponse;
  handle(req: EmuRequest): EmuResponse | Promise<EmuResponse>;
  /** Number of records in a request, for stats. */
  batchSize?(req: EmuRequest): number;
  users(): Record<string, unknown>[];
}

/** Small seeded PRNG (mulberry32) so fault runs repeat. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sliding-window log: at most `limit` arrivals within any `intervalMs`. */
export function createWindow(limit: number, intervalMs: number) {
  const times: number[] = [];
  return {
    /** Records the arrival and says whether it is within the limit (rejected arrivals count too). */
    admit(at: number): boolean {
      while (times.length && at - times[0]! >= intervalMs) times.shift();
      times.push(at);
      return times.length <= limit;
    },
  };
}

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** `batchSize` for a body whose records are the array under `key`. */
export const listLength =
  (key: string) =>
  (req: EmuRequest): number => {
    const b = parseJson(req.body) as Record<string, unknown> | undefined;
    const list = b?.[key];
    return Array.isArray(list) ? list.length : 0;
  };

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What nginx answers when the upstream's answer does not reach it: HTML, not the vendor's JSON. */
const BAD_GATEWAY: EmuResponse = {
  status: 502,
  headers: { "content-type": "text/html" },
  body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
};

/** node:http server on loopback that wraps a vendor spec with rate limit, latency and faults. */
export function createEmulator(spec: EmulatorSpec, opts: EmulatorOptions): Emulator {
  const rng = createRng(opts.seed ?? 1);
  const window = createWindow(opts.rateLimit ?? spec.rate.limit, spec.rate.intervalMs);
  const faults = opts.faults ?? {};
  const latency = opts.latencyMs ?? 0;
  const stats: EmulatorStats = {
    requests: 0,
    throttled: 0,
    faults: { error: 0, timeout: 0, throttle: 0, drop: 0, gateway: 0 },
    batchSizes: [],
    arrivals: [],
    issued: [],
  };
  const sockets = new Set<Socket>();
  let url = "";

  const pickFault = (): keyof FaultOptions | undefined => {
    const r = rng();
    let acc = 0;
    for (const k of ["error", "timeout", "throttle", "drop", "gateway"] as const) {
      acc += faults[k] ?? 0;
      if (r < acc) return k;
    }
    return undefined;
  };

  const send = async (res: ServerResponse, out: EmuResponse) => {
    if (latency > 0) await delay(latency);
    if (res.destroyed) return;
    const body = out.body === undefined ? "" : typeof out.body === "string" ? out.body : JSON.stringify(out.body);
    res.writeHead(out.status, {
      ...(body && typeof out.body !== "string" ? { "content-type": "application/json; charset=utf-8" } : {}),
      ...out.headers,
    });
    res.end(body);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    // Arrival is stamped once the body is in, so stamps reach the window in order even when
    // bodies of concurrent requests finish reading out of order.
    const at = performance.now();
    const u = new URL(req.url ?? "/", "http://emulator");
    const ereq: EmuRequest = {
      method: req.method ?? "GET",
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
      at,
    };
    if (ereq.method === "GET" && ereq.path === "/_emulator/users") return send(res, { status: 200, body: spec.users() });
    if (ereq.method === "GET" && ereq.path === "/_emulator/stats") return send(res, { status: 200, body: stats });
    const limited = spec.isLimited(ereq);
    if (!limited && !spec.faultable?.(ereq)) return send(res, await spec.handle(ereq));

    if (limited) {
      stats.requests++;
      stats.arrivals.push(at);
      if (!window.admit(at)) {
        stats.throttled++;
        return send(res, spec.throttled(ereq));
      }
    }
    const fault = pickFault();
    if (fault) stats.faults[fault]++;
    if (fault === "drop") return void req.socket.destroy();
    if (fault === "error") return send(res, spec.serverError(ereq));
    if (fault === "throttle") return send(res, spec.throttled(ereq));
    const out = await spec.handle(ereq);
    // Only batches the vendor took: ZEGO and GenAuth refuse in HTTP 200 bodies, and counting those
    // let an adapter sending one user too many (refused, then split) pass for the vendor's size.
    if (limited && spec.batchSize && (spec.accepted ? spec.accepted(out) : out.status < 300)) stats.batchSizes.push(spec.batchSize(ereq));
    // Processed but the answer is lost: the client must not create these users twice on retry.
    if (fault === "timeout") return;
    if (fault === "gateway") return send(res, BAD_GATEWAY);
    return send(res, out);
  };

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(e));
    });
  });
  server.keepAliveTimeout = 5000;
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  return {
    name: spec.name,
    get url() {
      return url;
    },
    stats,
    users: () => spec.users(),
    listen(port = 0, host = "127.0.0.1") {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          const a = server.address();
          if (a && typeof a === "object") url = `http://${host}:${a.port}`;
          resolve(url);
        });
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Definition a provider's emulator module default-exports. */
export interface EmulatorDefinition {
  name: string;
  /** Throwaway credentials (env variable → value) accepted by a new emulator. */
  sandboxEnv(): Record<string, string>;
  create(opts: EmulatorOptions): Emulator;
}

export function defineEmulator(d: EmulatorDefinition): EmulatorDefinition {
  return d;
}
