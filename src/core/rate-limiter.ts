export interface RateLimiterOptions {
  /** Requests allowed per interval over any sliding window. */
  limit: number;
  /** @default 1000 */
  intervalMs?: number;
  /** Extra spacing added to the window, ms (clock and scheduling noise). @default 10 */
  marginMs?: number;
  now?: () => number;
}

/**
 * Sliding-window log limiter: the n-th request starts no earlier than one window after the
 * (n - limit)-th ARRIVED at the vendor, so the limit holds over every window as the vendor counts
 * it, not only on average (a token bucket would allow a double burst). Arrival is bounded by what
 * the client sees: a request arrives after it is sent and at least the fastest round trip seen
 * before its answer, so a slow request (new connection, cold server) pushes the window back
 * instead of letting network jitter squeeze limit + 1 arrivals into one window. Round trips of
 * the first window do not count as "fastest": cold connections make their outbound leg long, and
 * subtracting one would place an arrival too early; until then the answer time itself is used.
 * It also adapts: throttling answers halve the effective limit, which then climbs back by a tenth
 * of the limit per clean window.
 */
export class RateLimiter {
  readonly limit: number;
  private readonly window: number;
  private readonly now: () => number;
  private readonly starts: number[];
  /** When the answer of the request in each slot came back (NaN while in flight). */
  private readonly ends: number[];
  private minRtt = Infinity;
  private firstStart = Number.NaN;
  private head = 0;
  private chain: Promise<void> = Promise.resolve();
  private effective: number;
  /** Last change of the effective limit (recovery waits a window after it). */
  private lastChange = -Infinity;
  /** Last decrease (one burst of throttling answers counts once). */
  private lastDecrease = -Infinity;

  constructor(opts: RateLimiterOptions) {
    if (!(opts.limit >= 1)) throw new TypeError(`Expected a rate limit of at least 1, got ${opts.limit}`);
    this.limit = Math.floor(opts.limit);
    this.window = (opts.intervalMs ?? 1000) + (opts.marginMs ?? 10);
    this.now = opts.now ?? (() => performance.now());
    this.starts = new Array<number>(this.limit).fill(-Infinity);
    this.ends = new Array<number>(this.limit).fill(Number.NaN);
    this.effective = this.limit;
  }

  /** The limit in force now (lower than `limit` after throttling). */
  get current(): number {
    return this.effective;
  }

  /**
   * Waits for a slot and takes it; calls are served in order. Call the returned function when the
   * request's answer (or failure) comes back.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const next = this.chain.then(() => this.take(signal));
    this.chain = next.then(
      () => {},
      () => {},
    );
    return next;
  }

  /** Latest moment the request in slot i can have reached the vendor, as far as we can tell (NaN: unanswered, so it may still arrive). */
  private arrivedBy(i: number): number {
    const start = this.starts[i]!;
    const end = this.ends[i]!;
    if (start === -Infinity) return start;
    if (Number.isNaN(end)) return Number.NaN;
    if (!Number.isFinite(this.minRtt)) return end;
    return Math.max(start, end - this.minRtt);
  }

  /** The slot whose answer the next request waits for, and how to wake it. */
  private awaited?: { slot: number; wake: () => void };

  private async take(signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      signal?.throwIfAborted();
      this.recover();
      const idx = (this.head - this.effective + this.limit * 2) % this.limit;
      const by = this.arrivedBy(idx);
      if (Number.isNaN(by)) {
        // Still unanswered, a slot's width back: it may reach the vendor at any moment, so its
        // arrival bounds the next one only once its answer tells when it came (the request's timeout bounds this).
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => {
            this.awaited = undefined;
            reject(signal!.reason);
          };
          this.awaited = {
            slot: idx,
            wake: () => {
              this.awaited = undefined;
              signal?.removeEventListener("abort", onAbort);
              resolve();
            },
          };
          signal?.addEventListener("abort", onAbort, { once: true });
        });
        continue;
      }
      const wait = by + this.window - this.now();
      if (wait <= 0) break;
      await sleep(wait, signal);
    }
    const slot = this.head;
    const start = this.now();
    if (Number.isNaN(this.firstStart)) this.firstStart = start;
    this.starts[slot] = start;
    this.ends[slot] = Number.NaN;
    this.head = (this.head + 1) % this.limit;
    let done = false;
    return () => {
      if (done || this.starts[slot] !== start) return;
      done = true;
      const end = this.now();
      this.ends[slot] = end;
      if (start - this.firstStart >= this.window) this.minRtt = Math.min(this.minRtt, end - start);
      if (this.awaited?.slot === slot) this.awaited.wake();
    };
  }

  /** The vendor said "too many requests": slow down. */
  throttled(): void {
    const t = this.now();
    if (t - this.lastDecrease < this.window / 2) return;
    this.effective = Math.max(1, Math.floor(this.effective / 2));
    this.lastChange = this.lastDecrease = t;
  }

  private recover(): void {
    if (this.effective >= this.limit) return;
    const t = this.now();
    if (t - this.lastChange >= this.window) {
      // Additive increase of a tenth of the limit per clean window: a throttling answer that was
      // a fluke costs a few seconds, not a minute of crawling back one request at a time.
      this.effective = Math.min(this.limit, this.effective + Math.max(1, Math.ceil(this.limit / 10)));
      this.lastChange = t;
    }
  }
}

/** The longest delay a Node timer takes (24.8 days): a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    // A longer wait (a Retry-After naming next month's quota reset) goes in steps.
    const end = ms > MAX_TIMER_MS ? Date.now() + ms : 0;
    const step = (left: number): NodeJS.Timeout =>
      setTimeout(() => {
        const rest = end ? end - Date.now() : 0;
        if (rest > 0) return void (t = step(rest));
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.min(left, MAX_TIMER_MS));
    let t = step(ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
