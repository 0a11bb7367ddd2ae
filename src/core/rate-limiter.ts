export interface RateLimiterOptions {
  /** Requests allowed per interval over any sliding window. */
  limit: number;
  /** @default 1000 */
  intervalMs?: number;
  /**
   * Extra spacing, ms, added to the window so that arrival jitter on the network cannot squeeze
   * `limit + 1` requests into one vendor-side window. @default 15
   */
  marginMs?: number;
  now?: () => number;
}

/**
 * Sliding-window log limiter: the n-th request starts no earlier than the (n - limit)-th plus the
 * window, so the limit holds over every window, not only on average (a token bucket would allow a
 * double burst). It also adapts: throttling answers halve the effective limit, which then climbs
 * back by one per clean window.
 */
export class RateLimiter {
  readonly limit: number;
  private readonly window: number;
  private readonly now: () => number;
  private readonly starts: number[];
  private head = 0;
  private chain: Promise<void> = Promise.resolve();
  private effective: number;
  private lastChange = 0;

  constructor(opts: RateLimiterOptions) {
    if (!(opts.limit >= 1)) throw new TypeError(`Expected a rate limit of at least 1, got ${opts.limit}`);
    this.limit = Math.floor(opts.limit);
    this.window = (opts.intervalMs ?? 1000) + (opts.marginMs ?? 15);
    this.now = opts.now ?? (() => performance.now());
    this.starts = new Array<number>(this.limit).fill(-Infinity);
    this.effective = this.limit;
  }

  /** The limit in force now (lower than `limit` after throttling). */
  get current(): number {
    return this.effective;
  }

  /** Waits for a slot and takes it. Calls are served in order. */
  acquire(signal?: AbortSignal): Promise<void> {
    const next = this.chain.then(() => this.take(signal));
    this.chain = next.catch(() => {});
    return next;
  }

  private async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      this.recover();
      // Start time of the request `effective` places back.
      const idx = (this.head - this.effective + this.limit * 2) % this.limit;
      const wait = this.starts[idx]! + this.window - this.now();
      if (wait <= 0) break;
      await sleep(wait, signal);
    }
    this.starts[this.head] = this.now();
    this.head = (this.head + 1) % this.limit;
  }

  /** The vendor said "too many requests": slow down. */
  throttled(): void {
    const t = this.now();
    if (t - this.lastChange < this.window / 2) return;
    this.effective = Math.max(1, Math.floor(this.effective / 2));
    this.lastChange = t;
  }

  private recover(): void {
    if (this.effective >= this.limit) return;
    const t = this.now();
    if (t - this.lastChange >= this.window) {
      this.effective++;
      this.lastChange = t;
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
