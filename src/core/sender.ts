import { setMaxListeners } from "node:events";
import pLimit from "p-limit";
import { BulkUsersError, ErrorCode } from "../errors.js";
import { secretFields, type BatchResult, type HttpRequest, type HttpResponse, type Provider, type ProviderContext, type ProviderSession, type RecordResult } from "../providers/define.js";
import { Redactor } from "../report/redact.js";
import type { MappedUser, SourceRecord, SuccessStatus } from "../types.js";
import { HttpError, httpSend, type SendOptions } from "./http.js";
import { type RateLimiter, sleep } from "./rate-limiter.js";
import { backoffMs } from "./retry.js";

export interface SendItem {
  record: SourceRecord;
  user: MappedUser;
  key: string;
  attempts: number;
  /** An attempt got no answer: the vendor may already have these users. */
  maybeDelivered?: boolean;
  /** The run this one resumes sent it and got no answer (it died first, or gave up): the vendor may already have it. */
  sentBefore?: boolean;
  /** In the run's sent journal already (see openSentJournal). */
  journaled?: boolean;
}

/** Final outcome of one item. */
export type SendOutcome =
  | { status: SuccessStatus; id?: string; code?: string; message?: string; unsure?: boolean }
  | { status: "failed"; code: string; message: string; retryable: boolean };

export interface SenderStats {
  requests: number;
  retries: number;
  throttled: number;
  splits: number;
}

export interface SenderOptions {
  provider: Provider;
  ctx: ProviderContext;
  session: ProviderSession;
  limiter: RateLimiter;
  /** Requests in flight at once. @default 4 */
  concurrency?: number;
  /** Retries of a request after its first attempt. @default 5 */
  retries?: number;
  /** Per-request timeout, ms. @default 30000 */
  timeoutMs?: number;
  /** Base of the exponential backoff, ms. @default 500 */
  backoffBaseMs?: number;
  /** Graceful stop: take no new batch and start no retry. */
  stop: AbortSignal;
  /** Hard stop: cancel requests in flight. */
  abort: AbortSignal;
  /** The run's secrets (credentials, tokens): masked in every answer before the adapter reads it. */
  redactor?: Redactor;
  /** Agents through a forward proxy (src/core/proxy.ts), for the batch requests as for the adapter's own. */
  agentFor?: SendOptions["agentFor"];
  /** Where the endpoint was set (`--endpoint`, a variable), named when it does not serve the API. */
  endpointFrom?: string;
  onOutcomes(items: SendItem[], outcomes: SendOutcome[]): void;
  /** Called with a request's items just before it is sent (the sent journal). */
  onAttempt?(items: SendItem[]): void;
  /** Called around every request (for the throughput/retry timeline). */
  onRequest?(e: { size: number; attempt: number; result: BatchResult["kind"] | "error"; throttled: boolean }): void;
  log?(msg: string): void;
}

/** Answers of a gateway that may have passed the request on (502 Bad Gateway, 504 Gateway Timeout): no answer from the vendor. */
const GATEWAY = new Set([502, 504]);

/** Added to `exists` after an unanswered attempt of the same user. */
export const LOST_ANSWER = "an earlier attempt of this run got no answer from the vendor, so this run probably created the user";
/** Added to `exists` for a user the resumed run sent without hearing back (in flight when it stopped, or given up on). */
export const SENT_BEFORE = "the run this one resumes sent this user and got no answer, so that run probably created the user";
/** Added to a `failed` whose attempts included one without an answer. */
export const MAYBE_CREATED = "an attempt got no answer from the vendor, so the vendor may have created the user: --resume finds it as exists if so";

type Transient = { code: string; message: string; retryAfterMs?: number };

/** An exchange whose request was cancelled after it went out. */
const CANCELLED = Symbol("cancelled");

/** A request that could not be built (its token could not be fetched): nothing was sent. */
type Unsent = Extract<BatchResult, { kind: "retry" }> & { unsent: true };

/** Sends batches through the rate limiter with bounded concurrency, retries and bisection. */
export function createSender(o: SenderOptions) {
  const concurrency = o.concurrency ?? 4;
  const retries = o.retries ?? 5;
  const limit = pLimit(concurrency);
  const stats: SenderStats = { requests: 0, retries: 0, throttled: 0, splits: 0 };
  let fatal: unknown;
  const fatalCtl = new AbortController();
  const hard = AbortSignal.any([o.abort, fatalCtl.signal]);
  /** Stops taking new work when the reader fails mid-file (a gzip input cut short). */
  const readCtl = new AbortController();
  const soft = AbortSignal.any([o.stop, hard, readCtl.signal]);
  // Every request and wait in flight listens on these (and stops listening when it settles): past
  // ten, node would warn of a leak that is not one.
  setMaxListeners(0, hard, soft);

  const secret = secretFields(o.provider);

  /** The batch's own secret values (passwords, salts), if it has any. */
  const batchSecrets = (users: MappedUser[]): Redactor | undefined => {
    let batch: Redactor | undefined;
    for (const u of users)
      for (const f of secret) {
        const v = u[f];
        if (typeof v === "string" && v !== "") (batch ??= new Redactor()).add(v);
      }
    return batch;
  };

  /**
   * The answer with the run's secrets and the batch's own secret values (passwords, salts) masked,
   * so that an answer echoing them never reaches a message. In a JSON answer only string values,
   * and keys that are a secret whole, are masked, so a short password that also occurs in a number
   * or a field name cannot break the JSON.
   */
  const scrub = (res: HttpResponse, batch: Redactor | undefined): HttpResponse => {
    // Most answers to a batch are short or empty (Huawei's success has no body): nothing to mask.
    if (!res.text) return res;
    // Whole values only: what is left of a secret the answer cut short is masked in the
    // messages made from it (cutTails).
    const mask = (t: string) => {
      const r = o.redactor ? o.redactor.redact(t, false) : t;
      return batch ? batch.redact(r, false) : r;
    };
    const text = mask(res.text);
    if (typeof res.json === "string") {
      const json = mask(res.json);
      return json === res.json ? (text === res.text ? res : { ...res, text }) : { ...res, json, text: JSON.stringify(json) };
    }
    if (res.json === undefined || res.json === null || typeof res.json !== "object") return text === res.text ? res : { ...res, text };
    // The text may spell a secret with escapes no form matches (`\/`, `\u00e4`): JSON.parse undid
    // them, and JSON.stringify writes only the escapes the forms know, so one pass over that tells.
    // Without a backslash the text holds every string as parsed: masking it found all there was.
    let changed = text !== res.text;
    if (!changed) {
      if (!res.text.includes("\\")) return res;
      const canon = JSON.stringify(res.json);
      if (mask(canon) === canon) return res;
    }
    /** `whole`: only a string that is a secret entirely is masked (a key: a 4-character password inside "username" must not rename it). */
    const str = (v: string, whole = false) => {
      const m = mask(v);
      if (m === v || (whole && m !== "***")) return v;
      changed = true;
      return m;
    };
    const walk = (v: unknown): unknown => {
      if (typeof v === "string") return str(v);
      if (Array.isArray(v)) return v.map(walk);
      // Keys too, when they are a secret: errors keyed by the value refused.
      if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [str(k, true), walk(x)]));
      return v;
    };
    const json = walk(res.json);
    return changed ? { ...res, json, text: JSON.stringify(json) } : res;
  };

  /**
   * A vendor message that ends in the start of a secret (the run's or the batch's) the vendor cut
   * short, masked while that start is still at the end: the sender then appends its own words (the doubt an
   * unanswered attempt leaves, `the last: …)`), and the report's redaction, which masks such a
   * start only at the very end of a message, no longer sees it.
   */
  const cutTails = (r: BatchResult, batch?: Redactor): BatchResult => {
    const red = o.redactor;
    if (!red?.active && !batch) return r;
    // The batch's passwords too (the report's redaction does not know them): only a cut one, as
    // scrub masked the whole ones, but not inside a key.
    const cut = (m: string) => {
      const t = red ? red.redact(m) : m;
      return batch ? batch.cutOff(t) : t;
    };
    if (r.kind === "records") return { ...r, results: r.results.map((x) => (x?.message ? { ...x, message: cut(x.message) } : x)) };
    return { ...r, message: cut(r.message) };
  };

  const finish = (items: SendItem[], outcomes: SendOutcome[]) => o.onOutcomes(items, outcomes);
  const failAll = (items: SendItem[], code: string, message: string, retryable: boolean) =>
    finish(items, items.map(() => ({ status: "failed" as const, code, message, retryable })));

  /**
   * A forward proxy that refuses its credentials (407) or the vendor's host (403) refuses every
   * request alike: stop the run, as a refused credential does, instead of failing every row.
   */
  const proxyRefused = (e: HttpError): void => {
    if (e.proxyStatus !== 407 && e.proxyStatus !== 403) return;
    fatalCtl.abort();
    throw new BulkUsersError(ErrorCode.PROXY_REFUSED, `[${o.provider.name}] ${e.message}`, {
      hint: `Check the proxy in HTTPS_PROXY (HTTP_PROXY for http://, or ALL_PROXY)${e.proxyStatus === 407 ? ": its user and password" : ", and whether it lets this host through"}, or list the host in NO_PROXY: nothing more is sent.`,
    });
  };

  /**
   * One HTTP exchange → what it means. The rate slot is taken first and the request (signature
   * timestamp, token) built right after, so nothing goes stale while waiting for a slot.
   * Network failures and timeouts are transient, and mark the records as possibly delivered.
   */
  async function exchange(items: SendItem[], signal: AbortSignal): Promise<BatchResult | Unsent | typeof CANCELLED> {
    const users = items.map((i) => i.user);
    const release = await o.limiter.acquire(signal);
    let req: HttpRequest;
    try {
      req = await o.provider.buildRequest(users, o.ctx, o.session);
    } catch (e) {
      release();
      if (e instanceof BulkUsersError) throw e;
      if (e instanceof HttpError) {
        proxyRefused(e);
        return { ...(cutTails({ kind: "retry", code: `TOKEN_${e.reason.toUpperCase()}`, message: e.message }) as Extract<BatchResult, { kind: "retry" }>), unsent: true };
      }
      throw e;
    }
    for (const i of items) i.attempts++;
    stats.requests++;
    try {
      o.onAttempt?.(items);
    } catch (e) {
      release();
      throw e;
    }
    try {
      const raw = await httpSend(req, { timeoutMs: o.timeoutMs, signal: hard, agentFor: o.agentFor }).finally(release);
      // An empty answer echoes nothing (Huawei's success): no need to know the batch's secrets.
      const batch = raw.text ? batchSecrets(users) : undefined;
      const res = scrub(raw, batch);
      const result = cutTails(o.provider.parseResponse(res, users, o.ctx), batch);
      if (result.kind === "reauth") o.session.invalidate?.(req.authToken);
      // A gateway's 502 or 504 is not the vendor's answer: the request may have reached it.
      else if (result.kind === "retry" && GATEWAY.has(raw.status)) for (const i of items) i.maybeDelivered = true;
      return result;
    } catch (e) {
      if (e instanceof HttpError) {
        proxyRefused(e);
        if (!e.neverSent) for (const i of items) i.maybeDelivered = true;
        // Cancelled in flight (the grace ran out, a second Ctrl-C, a fatal answer elsewhere): sent, never answered.
        if (e.reason === "abort") return CANCELLED;
        return { kind: "retry", code: e.reason === "timeout" ? "TIMEOUT" : "NETWORK", message: e.message };
      }
      throw e;
    }
  }

  /** A failure's message, with the doubt an unanswered attempt (here or in the resumed run) leaves. */
  const doubt = (i: SendItem, m: string) => (i.maybeDelivered || i.sentBefore ? `${m}; ${MAYBE_CREATED}` : m);

  /**
   * Rows a stop leaves between two attempts (waiting out a backoff or a rate slot): those this
   * run sent get an outcome; those it never sent stay unsent, for --resume.
   */
  const leave = (items: SendItem[], last: Transient | undefined) => {
    const tried = items.filter((i) => i.attempts > 0);
    const why = (i: SendItem) => doubt(i, `the run stopped before its next attempt (${i.attempts} made${last ? `, the last: ${last.message}` : ""})`);
    if (tried.length) finish(tried, tried.map((i) => ({ status: "failed" as const, code: "STOPPED", message: why(i), retryable: true })));
  };

  async function sendGroup(initial: SendItem[]): Promise<void> {
    let pending = initial;
    let attempt = 0;
    /** Tries whose request could not be built: a budget of their own, so a token service's failures do not eat the retries of the request (a throttled one then failed unretried). */
    let unsent = 0;
    let reauths = 0;
    let last: Transient | undefined;
    while (pending.length && !soft.aborted) {
      attempt++;
      let result: Awaited<ReturnType<typeof exchange>>;
      try {
        result = await exchange(pending, soft);
      } catch (e) {
        // Stopped while waiting for a rate slot.
        if (soft.aborted && !(e instanceof BulkUsersError)) {
          leave(pending, last);
          return;
        }
        throw e;
      }
      if (result === CANCELLED) {
        failAll(pending, "CANCELLED", `the run stopped with this request in flight; ${MAYBE_CREATED}`, true);
        return;
      }
      if ("unsent" in result) {
        attempt--;
        unsent++;
      }
      const throttled = result.kind === "retry" && result.throttled === true;
      o.onRequest?.({ size: pending.length, attempt: attempt + unsent, result: result.kind, throttled });
      let again: SendItem[] = [];
      let transient: Transient | undefined;
      switch (result.kind) {
        case "records": {
          const done: SendItem[] = [];
          const outs: SendOutcome[] = [];
          // Users refused for the rate (ZEGO's per-user 660700001) slow the limiter like a throttled request.
          if (result.results.some((r) => r?.status === "retry" && r.throttled)) {
            stats.throttled++;
            o.limiter.throttled();
          }
          // Every user sent gets an outcome: one the answer does not reach (too few results) is retried.
          pending.forEach((item, i) => {
            const r: RecordResult | undefined = result.results[i];
            if (!r) {
              again.push(item);
              transient = { code: "NO_RESULT", message: "the answer did not mention this user" };
            } else if (r.status === "retry") {
              again.push(item);
              transient = { code: r.code, message: r.message };
            } else {
              done.push(item);
              if (r.status === "failed") outs.push({ ...r, retryable: false });
              // The vendor cannot tell "already there" from "created by the attempt whose answer was lost".
              else if (r.status === "exists" && (item.maybeDelivered || item.sentBefore))
                outs.push({ status: r.status, id: r.id, code: r.code, message: `${r.message ? `${r.message}; ` : ""}${item.maybeDelivered ? LOST_ANSWER : SENT_BEFORE}` });
              else if (r.unsure) outs.push({ status: r.status, id: r.id, code: r.code, message: `${r.message ? `${r.message}; ` : ""}${r.unsure}`, unsure: true });
              else outs.push({ status: r.status, id: r.id, code: r.code, message: r.message });
            }
          });
          if (done.length) finish(done, outs);
          break;
        }
        case "retry":
          if (throttled) {
            stats.throttled++;
            o.limiter.throttled();
          }
          again = pending;
          transient = result;
          break;
        case "reauth":
          // A fresh token is fetched on the next attempt; twice in a row means the token is refused.
          if (++reauths > 2) {
            fatalCtl.abort();
            throw new BulkUsersError(ErrorCode.AUTH_REJECTED, `[${o.provider.name}] authentication failed: ${result.code} ${result.message}`, {
              hint: "Check the credential variables; the vendor refused fresh tokens.",
            });
          }
          again = pending;
          attempt--;
          break;
        case "auth":
          fatalCtl.abort();
          throw new BulkUsersError(ErrorCode.AUTH_REJECTED, `[${o.provider.name}] authentication failed: ${result.code} ${result.message}`, {
            hint: `Check the credential variables (${o.provider.env.map((e) => e.name).join(", ")}).`,
          });
        case "endpoint":
          fatalCtl.abort();
          throw new BulkUsersError(ErrorCode.ENDPOINT_WRONG, `[${o.provider.name}] the endpoint does not serve this API: ${result.code} ${result.message}`.trim(), {
            hint: `Check ${o.endpointFrom ?? `--endpoint${o.provider.endpointEnv ? ` or ${o.provider.endpointEnv}` : ""}`}: nothing more is sent to it.`,
          });
        case "split": {
          if (pending.length === 1) {
            failAll(pending, result.code, result.message, false);
            break;
          }
          stats.splits++;
          // Users an unanswered attempt (of this run, or of the run it resumes) may have created
          // are the likely culprits of an all-or-nothing refusal, each of them: halving would cost
          // up to 2n-1 requests one after another; each alone costs one. The others go on together.
          // They go back to the run's queue, so --concurrency holds for them too, and this slot is freed.
          const doubtful = pending.filter((i) => i.maybeDelivered || i.sentBefore);
          if (doubtful.length) {
            const rest = pending.filter((i) => !(i.maybeDelivered || i.sentBefore));
            if (rest.length) schedule(rest);
            for (const i of doubtful) schedule([i]);
            return;
          }
          const mid = Math.ceil(pending.length / 2);
          await sendGroup(pending.slice(0, mid));
          await sendGroup(pending.slice(mid));
          return;
        }
        case "failed":
          failAll(pending, result.code, result.message, false);
          break;
      }
      pending = again;
      last = transient ?? last;
      if (!pending.length) break;
      if (attempt > retries || unsent > retries) {
        // Per user: its attempts include those before a split, and one may have gone unanswered.
        // None made: the request could not be built (a token that could not be fetched).
        const why = (i: SendItem) =>
          doubt(i, `${i.attempts ? `gave up after ${i.attempts} attempts` : `never sent: ${unsent} tries to prepare the request failed`}: ${transient?.message ?? ""}`.trim());
        finish(pending, pending.map((i) => ({ status: "failed" as const, code: transient?.code ?? "RETRIES_EXHAUSTED", message: why(i), retryable: true })));
        return;
      }
      if (result.kind === "reauth") continue;
      stats.retries++;
      const wait = Math.max(backoffMs(attempt + unsent, { baseMs: o.backoffBaseMs }), transient?.retryAfterMs ?? 0);
      try {
        await sleep(wait, soft);
      } catch {
        leave(pending, last);
        return;
      }
    }
    if (pending.length) leave(pending, last);
  }

  /** Groups queued or in flight; each takes one of the `concurrency` slots while it runs. */
  const tasks = new Set<Promise<void>>();
  function schedule(g: SendItem[]): void {
    const t = limit(() => sendGroup(g)).catch((e: unknown) => {
      if (soft.aborted && !(e instanceof BulkUsersError)) return;
      fatal ??= e;
      fatalCtl.abort();
    });
    tasks.add(t);
    void t.finally(() => tasks.delete(t));
  }

  const run = async (groups: AsyncIterable<SendItem[]>): Promise<void> => {
    let readFailure: unknown;
    try {
      for await (const g of groups) {
        if (soft.aborted) break;
        schedule(g);
        // p-limit queues without bound: wait for a free slot before reading further (backpressure).
        while (limit.activeCount + limit.pendingCount >= concurrency && !soft.aborted) await Promise.race(tasks);
      }
    } catch (e) {
      // The input failed partway: stop as a Ctrl-C does, letting the requests in flight answer,
      // so their users reach the report and a resume does not send them again.
      readFailure = e;
      readCtl.abort();
    }
    // A group may queue others as it runs (the doubtful users of a refused batch).
    while (tasks.size) await Promise.all([...tasks]);
    if (fatal) throw fatal;
    if (readFailure) throw readFailure;
  };

  return { run, stats };
}
