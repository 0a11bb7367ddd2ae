import type { ProviderSession } from "./define.js";

export interface IssuedToken {
  token: string;
  /** Epoch ms at which the vendor stops accepting it. */
  expiresAt: number;
}

export interface TokenCache extends ProviderSession {
  /** A valid token: the cached one, or one fetch shared by every concurrent caller. */
  get(): Promise<string>;
  invalidate(usedToken: string | undefined): void;
}

/**
 * Caches a vendor token until shortly before it expires (`renewBeforeMs`, or a tenth of the
 * token's life if that is shorter). Concurrent callers share one
 * renewal; `invalidate` drops the token only if it is still the current one, so a burst of 401s
 * from requests that used the same token renews it once.
 */
export function createTokenCache(fetchToken: () => Promise<IssuedToken>, opts: { renewBeforeMs: number; now: () => number }): TokenCache {
  let current: (IssuedToken & { renewAt: number }) | undefined;
  let pending: Promise<IssuedToken & { renewAt: number }> | undefined;
  return {
    async get() {
      if (current && opts.now() < current.renewAt) return current.token;
      pending ??= fetchToken()
        .then((t) => {
          const now = opts.now();
          return { ...t, renewAt: t.expiresAt - Math.min(opts.renewBeforeMs, (t.expiresAt - now) / 10) };
        })
        .finally(() => {
          pending = undefined;
        });
      current = await pending;
      return current.token;
    },
    invalidate(used) {
      if (current && (used === undefined || used === current.token)) current = undefined;
    },
  };
}
