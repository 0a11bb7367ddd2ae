export interface RetryOptions {
  /** Retries after the first attempt. @default 5 */
  retries?: number;
  /** Base delay, ms. @default 500 */
  baseMs?: number;
  /** Longest single wait, ms. @default 30000 */
  capMs?: number;
  random?: () => number;
}

/** "Full jitter" backoff: a uniform wait in [0, min(cap, base·2^attempt)]. */
export function backoffMs(attempt: number, opts: RetryOptions = {}): number {
  const base = opts.baseMs ?? 500;
  const cap = opts.capMs ?? 30_000;
  const r = (opts.random ?? Math.random)();
  return Math.floor(r * Math.min(cap, base * 2 ** Math.max(0, attempt - 1)));
}

/** Parses `Retry-After` (seconds or an HTTP date) into ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
