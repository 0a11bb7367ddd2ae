import type { Readable } from "node:stream";
import type { Agent } from "node:http";
import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import * as z from "zod";
import { emulators, type Emulator, type FaultOptions } from "../emulators/index.js";
import { BulkUsersError, ErrorCode, where } from "../errors.js";
import { autoMappingFor, checkMapping, loadMapping, type LoadedMapping } from "../mapping/load.js";
import { checkColumns, columnsUsed, compileMapping } from "../mapping/apply.js";
import { secretFields, type FieldIssue, type Provider, type ProviderContext } from "../providers/define.js";
import { loadProvider } from "../providers/index.js";
import type { ParseThread } from "../readers/parse-thread.js";
import { checkInput, formatOf, readCsvHeader, readInputBatches, type InputFormat, type ReadOptions } from "../readers/index.js";
import { createFailedOut, failedOutIsCsv, type FailedOutWriter } from "../report/failed-out.js";
import { Redactor } from "../report/redact.js";
import { createReportWriter, defaultReportPath, type ReportWriter } from "../report/writer.js";
import { canParseUrl, maskUrl, maskUrlText, urlSecrets } from "../util/url.js";
import type { MappedUser, ReportRow, SourceRecord, Status } from "../types.js";
import { batches } from "./batch.js";
import { checkEndpoint, checkProxy, ENDPOINT_ENV, LOOPBACK_HOST, proxyUrls, proxyValues, readEnvFile, resolveCredentials, resolveEndpoint } from "./credentials.js";
import { httpSend } from "./http.js";
import { fnv1a, KeySet } from "./key-set.js";
import { RateLimiter } from "./rate-limiter.js";
import { compareMeta, dropRunFiles, keyHash, loadResumeState, sameUserEntry, loadSent, metaPath, openSentJournal, fileKey, readMeta, rowId, samePath, sentPath, sha256File, sha256Text, writeMeta, type ResumeState, type RunMeta, type SentJournal } from "./resume.js";
import { createSender, type SendItem, type SendOutcome } from "./sender.js";
import { validateUser } from "./validate.js";

export interface SandboxOptions {
  /** Emulator answer delay, ms. */
  latencyMs?: number;
  faults?: FaultOptions;
  seed?: number;
  /** Called with the running emulator (tests inspect its users and stats). */
  onEmulator?(emu: Emulator): void;
}

export interface ImportOptions {
  /** Input files (`-` = standard input). */
  files: string[];
  /** Provider name, e.g. `zego`. */
  provider: string;
  /** Mapping file path, or a mapping object; default: columns named like provider fields. */
  mapping?: string | Record<string, unknown>;
  format?: InputFormat;
  /** Files the caller appends the run's Markdown summary to (the CLI's --summary): only checked here, like the report, against the inputs. */
  summaryFiles?: string[];
  /** CSV delimiter. @default "," */
  delimiter?: string;
  /**
   * Parse CSV and JSONL files in a worker thread, so a dry run uses two cores. `auto`: dry runs of files
   * from 4 MiB (an import is bound by the vendor's quota; the thread would only add memory).
   * @default "auto"
   */
  parseThread?: ParseThread;
  /** Read, map and validate only: send nothing, need no credentials. */
  dryRun?: boolean;
  /** Report path (`.jsonl` or `.csv`); `false` writes none. @default bulk-users-report-<timestamp>.jsonl */
  report?: string | false;
  /** Writes invalid and failed rows, in the input's format, with an `_error` column. */
  failedOut?: string;
  /** Environment to read credentials from. @default process.env */
  env?: Record<string, string | undefined>;
  /** dotenv file with credentials (values in `env` win). */
  envFile?: string;
  /** Base URL of the vendor API (or an emulator, a proxy, another region). @default `BULK_USERS_ENDPOINT` in `env`, else the provider's */
  endpoint?: string;
  allowInsecureEndpoint?: boolean;
  /** Start the provider's emulator in-process with throwaway credentials and send there. */
  sandbox?: boolean | SandboxOptions;
  /** Requests per second. @default the provider's documented rate */
  rate?: number;
  /** Requests in flight at once. @default 4 */
  concurrency?: number;
  /** Retries of a request after its first attempt. @default 5 */
  retries?: number;
  /** Per-request timeout, ms. @default 30000 */
  timeoutMs?: number;
  /** Base of the retry backoff, ms. @default 500 */
  backoffBaseMs?: number;
  /** Stop (exit 3) once this many rows are invalid or failed. */
  maxErrors?: number;
  /** Report of an earlier run to finish. */
  resume?: string;
  /** Resume even if the inputs, the mapping or the endpoint changed. */
  force?: boolean;
  /** Provider options; override the mapping's `options`. */
  options?: Record<string, unknown>;
  /** Process only rows whose key hashes to shard `index` (1-based) of `count`. */
  shard?: { index: number; count: number };
  /** Aborting stops reading, lets requests in flight finish for `graceMs`, then cancels them. */
  signal?: AbortSignal;
  /** @default 10000 */
  graceMs?: number;
  /** Aborting cancels requests in flight at once, without the grace (a second Ctrl-C). */
  cancel?: AbortSignal;
  stdin?: Readable;
  onProgress?(p: Progress): void;
  /** Warnings and notices (already redacted). */
  log?(level: "info" | "warn", message: string): void;
}

export type Counts = Record<Status, number>;

export interface Progress {
  read: number;
  sent: number;
  counts: Counts;
  requests: number;
  retries: number;
  throttled: number;
  elapsedMs: number;
}

export interface ImportSummary {
  provider: string;
  dryRun: boolean;
  rows: number;
  counts: Counts;
  /** Rows carried over from the resumed report. */
  resumed: number;
  /** Rows of other shards, skipped. */
  otherShards: number;
  /** Rows read but given no outcome because the run stopped first (`--resume` sends them). */
  notSent: number;
  requests: number;
  retries: number;
  throttled: number;
  splits: number;
  durationMs: number;
  /** Users confirmed by the vendor per second of the run. */
  usersPerSecond: number;
  report?: string;
  failedOut?: string;
  /** `interrupted` (signal), `max-errors`, or undefined for a full run. */
  stopped?: "interrupted" | "max-errors";
  /** Most frequent error codes with one example row each. */
  topErrors: { code: string; count: number; example: { file: string; line: number; key: string; message: string } }[];
  exitCode: 0 | 1 | 3;
}

const emptyCounts = (): Counts => ({ created: 0, updated: 0, upserted: 0, exists: 0, invalid: 0, duplicate: 0, failed: 0, valid: 0 });

/** Provider options from the mapping and flags, parsed by the provider's schema. */
export function resolveOptions(provider: Provider, mapping: LoadedMapping | undefined, overrides: Record<string, unknown> | undefined): unknown {
  const given = Object.fromEntries(Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined));
  const raw = { ...(mapping?.options ?? {}), ...given };
  // A key the flags set (`--send-email` for a provider without that option) is the flags' fault,
  // not the mapping's: naming the mapping file sent users looking for a key it does not hold.
  const blame = (key: string | undefined, message: string, field: string) => {
    const flag = key !== undefined && Object.hasOwn(given, key);
    const source = flag ? "flags" : (mapping?.source ?? "flags");
    return new BulkUsersError(ErrorCode.PROVIDER_OPTIONS, `Invalid ${flag ? "option" : "mapping"}: ${message} (${source}, ${field})`, {
      context: { file: flag ? undefined : mapping?.source, field },
      hint: flag && key === "sendEmail" ? `--send-email / --no-send-email set options.sendEmail, which ${provider.name} does not take: drop the flag.` : undefined,
    });
  };
  if (!provider.optionsSchema) {
    const extra = Object.keys(raw);
    if (extra.length) throw blame(extra[0], `provider ${provider.name} takes no options, got \`${extra[0]}\``, `options.${extra[0]}`);
    return {};
  }
  const parsed = (provider.optionsSchema as z.ZodType).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // An unknown key is named by the issue's keys, its path being the options object itself.
    const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]!] : issue.path;
    throw blame(path.length ? String(path[0]) : undefined, issue.message, `options.${path.map(String).join(".")}`);
  }
  return parsed.data;
}

/**
 * Stops a run, before any file is opened, whose report (its meta and journal too), --failed-out
 * or --summary would write over a file the run reads (an input, the mapping, the env file, the
 * resumed report, its meta and journal) or over one another: opening them truncates the file.
 */
function checkOutputs(opts: ImportOptions, reportPath: string | undefined): void {
  if (opts.resume && reportPath && samePath(reportPath, opts.resume)) throw new BulkUsersError(ErrorCode.USAGE, "The resumed run needs a new report path", { hint: "Omit --report, or give a different file." });
  const reads: [string, string][] = opts.files.filter((f) => f !== "-").map((f) => [f, `the input ${f}`]);
  if (typeof opts.mapping === "string") reads.push([opts.mapping, `the mapping ${opts.mapping}`]);
  if (opts.envFile) reads.push([opts.envFile, `the env file ${opts.envFile}`]);
  if (opts.resume)
    reads.push(
      [opts.resume, `the resumed report ${opts.resume}`],
      [metaPath(opts.resume), `the resumed report's meta ${metaPath(opts.resume)}`],
      [sentPath(opts.resume), `the resumed report's journal ${sentPath(opts.resume)}`],
    );
  const writes: [string, string][] = [];
  if (reportPath) writes.push([reportPath, `--report ${reportPath}`], [metaPath(reportPath), `the report's meta ${metaPath(reportPath)}`], [sentPath(reportPath), `the report's journal ${sentPath(reportPath)}`]);
  if (opts.failedOut) writes.push([opts.failedOut, `--failed-out ${opts.failedOut}`]);
  for (const f of opts.summaryFiles ?? []) writes.push([f, `the Markdown summary ${f}`]);
  // An output on a folder, or in one that does not exist, would fail when opened, mid-run.
  const opened = writes.filter(([p]) => p === reportPath || p === opts.failedOut);
  for (const [path, what] of opened) {
    const folder = dirname(resolve(path));
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) throw new BulkUsersError(ErrorCode.USAGE, `${what} is a folder`, { context: { file: path }, hint: "Give a file path." });
    // An import's report is its resume state, with its .meta.json and .sent beside it: /dev/null would keep none of it.
    if (st && !st.isFile() && path === reportPath && !opts.dryRun)
      throw new BulkUsersError(ErrorCode.USAGE, `${what} is not a regular file: an import's report is what --resume reads`, { context: { file: path }, hint: "Give a file path; a dry run may write its report anywhere." });
    if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory())
      throw new BulkUsersError(ErrorCode.USAGE, `${what}: the folder ${folder} does not exist`, { context: { file: path }, hint: "Choose a path in a folder that exists." });
  }
  // Inputs may be gzip; outputs are written as text, which a .gz name would misname.
  for (const [path, what] of writes)
    if (/\.gz$/i.test(path))
      throw new BulkUsersError(ErrorCode.USAGE, `${what}: outputs are written uncompressed, not as gzip`, { context: { file: path }, hint: "Give a name without .gz (compress it after the run)." });
  for (let i = 0; i < writes.length; i++) {
    const [path, what] = writes[i]!;
    const other = [...reads, ...writes.slice(0, i)].find(([p]) => samePath(p, path));
    if (other)
      throw new BulkUsersError(ErrorCode.USAGE, `${what} would overwrite ${other[1]}`, {
        context: { file: path },
        hint: "Give the report, --failed-out and --summary paths of their own, apart from the inputs, the mapping and each other.",
      });
  }
}

/** An endpoint as the run names it and its meta records it: secrets masked, trailing slashes dropped (the adapters drop them). */
function endpointLabelOf(endpoint: string): string {
  const u = maskUrl(new URL(endpoint));
  u.pathname = u.pathname.replace(/\/+$/, "") || "/";
  return u.href;
}

/**
 * A proxy's password in the endpoint (`user:password@`), which node sends as a Basic authorization
 * header, and a token in its query: an answer may echo either (the redactor masks base64 forms too).
 */
function addEndpointSecrets(redactor: Redactor, endpoint: string): void {
  for (const s of urlSecrets(new URL(endpoint))) redactor.add(s);
}

/** Highest --rate (requests per second) taken. */
const MAX_RATE = 10_000;
/** Lowest: one request a day (a wider window would pass what a timer can wait). */
const MIN_RATE = 1 / 86_400;

/** Stops a run that names one input twice (a glob overlap, `a.csv ./a.csv`): each file is one input of the report and of --resume. */
function checkDistinctInputs(files: string[]): void {
  const seen = new Map<string, number>();
  for (const [j, f] of files.entries()) {
    const key = f === "-" ? "-" : fileKey(f);
    const i = seen.get(key);
    if (i === undefined) {
      seen.set(key, j);
      continue;
    }
    throw new BulkUsersError(ErrorCode.USAGE, `The input ${f} is given twice (inputs ${i + 1} and ${j + 1}${files[i] === f ? "" : `: ${files[i]}`})`, {
      context: { file: f },
      hint: f === "-" ? "Standard input can be read once." : "Give each file once: read again, every row of it would be a duplicate.",
    });
  }
}

/** Streams the inputs through map → validate → dedupe → batch → send → report. */
export async function runImport(opts: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const provider = await loadProvider(opts.provider);
  const dryRun = opts.dryRun === true;
  const log = opts.log ?? (() => {});
  const redactor = new Redactor();
  const say = (level: "info" | "warn", m: string) => log(level, redactor.redact(m));

  if (!opts.files.length) throw new BulkUsersError(ErrorCode.USAGE, "No input file given", { hint: "Pass one or more CSV/JSONL files, or - for standard input." });
  checkDistinctInputs(opts.files);
  // The limiter keeps a slot per request of its window; no vendor allows near this many.
  if (opts.rate !== undefined && !(opts.rate >= MIN_RATE && opts.rate <= MAX_RATE))
    throw new BulkUsersError(ErrorCode.USAGE, `--rate takes requests per second from 1/86400 (one a day), at most ${MAX_RATE}, got ${opts.rate}`);
  // A one-second window holds whole requests: 1.5 would run as 1, and 3 in any 2 s allows a burst of 3 in one second.
  if (opts.rate !== undefined && opts.rate > 1 && !Number.isInteger(opts.rate))
    throw new BulkUsersError(ErrorCode.USAGE, `--rate above 1 takes a whole number of requests per second, got ${opts.rate}`, {
      hint: "Under 1, a fraction widens the window instead: 0.5 is one request in any 2 s.",
    });
  let mapping: LoadedMapping | undefined;
  if (typeof opts.mapping === "string") mapping = loadMapping(opts.mapping, provider);
  else if (opts.mapping) mapping = checkMapping(opts.mapping, provider);
  const options = resolveOptions(provider, mapping, opts.options);
  const verdict = provider.checkOptions?.(options, { dryRun }) ?? {};
  if (verdict.error) throw new BulkUsersError(ErrorCode.USAGE, verdict.error);
  if (verdict.warning) say("warn", verdict.warning);
  /** About how many rows the inputs hold, to size the duplicate checks. */
  let expected = 0;
  for (const f of opts.files) {
    expected += await checkInput(f);
    formatOf(f, opts.format);
  }

  // The outputs' paths, before a sandbox starts or any file is opened.
  const reportPath = opts.report === false ? undefined : (opts.report ?? defaultReportPath());
  checkOutputs(opts, reportPath);

  // Credentials and endpoint, before anything is read.
  let env: Record<string, string> = {};
  let endpoint = "";
  /** Where the endpoint was set, for the hint of an endpoint that does not serve the API. */
  let endpointFrom = "--endpoint";
  /** The endpoint as the meta records it (secrets masked): a resume must send to the same place. */
  let endpointLabel = "sandbox";
  /** Agents through a forward proxy, when the environment names one. */
  let agentFor: ((url: URL) => Agent | undefined) | undefined;
  let emulator: Emulator | undefined;
  if (!dryRun) {
    if (opts.sandbox) {
      const sb = typeof opts.sandbox === "object" ? opts.sandbox : {};
      const def = await emulators[provider.name]!();
      env = def.sandboxEnv();
      emulator = def.create({ env, latencyMs: sb.latencyMs, faults: sb.faults, seed: sb.seed });
      endpoint = await emulator.listen(0);
      endpointFrom = "the sandbox emulator";
      sb.onEmulator?.(emulator);
      say("info", `Sandbox: ${provider.name} emulator on ${endpoint} with throwaway credentials (nothing leaves this machine)`);
    } else {
      // The environment wins, but an empty variable (a CI secret not set) does not hide the file's value.
      const merged: Record<string, string | undefined> = opts.envFile ? readEnvFile(opts.envFile) : {};
      for (const [k, v] of Object.entries(opts.env ?? process.env)) if (v !== undefined && (v !== "" || !merged[k])) merged[k] = v;
      env = resolveCredentials(provider, merged);
      ({ endpoint, from: endpointFrom } = resolveEndpoint(provider, opts.endpoint, merged));
      checkEndpoint(endpoint, opts.allowInsecureEndpoint === true, endpointFrom);
      addEndpointSecrets(redactor, endpoint);
      endpointLabel = endpointLabelOf(endpoint);
      const overrides = endpointFrom === ENDPOINT_ENV && provider.endpointEnv && merged[provider.endpointEnv] ? `, not to the one ${provider.endpointEnv} gives` : "";
      // A forward proxy from the process environment, as curl and npm read it (not from --dotenv).
      let through = "";
      if (proxyValues().length) {
        for (const p of proxyUrls()) for (const secret of urlSecrets(p)) redactor.add(secret);
        const target = new URL(endpoint);
        if (!LOOPBACK_HOST.test(target.hostname)) checkProxy(target.protocol);
        const px = await import("./proxy.js");
        agentFor = px.proxyAgentFor;
        const via = px.proxyFor(new URL(endpoint));
        if (via) through = ` through the proxy ${canParseUrl(via) ? maskUrl(new URL(via)).href : maskUrlText(via)}`;
      }
      say("info", `Sending to ${endpointLabel} (${endpointFrom})${overrides}${through}`);
    }
    for (const v of provider.env) if (v.secret) redactor.add(env[v.name]);
  }

  const stopCtl = new AbortController();
  const abortCtl = new AbortController();
  let stopped: ImportSummary["stopped"];
  const onSignal = () => {
    stopped ??= "interrupted";
    stopCtl.abort();
    setTimeout(() => abortCtl.abort(), opts.graceMs ?? 10_000).unref();
  };
  if (opts.signal?.aborted) onSignal();
  opts.signal?.addEventListener("abort", onSignal, { once: true });
  const onCancel = () => {
    onSignal();
    abortCtl.abort();
  };
  if (opts.cancel?.aborted) onCancel();
  opts.cancel?.addEventListener("abort", onCancel, { once: true });

  const counts = emptyCounts();
  const errorCodes = new Map<string, { count: number; example: ImportSummary["topErrors"][number]["example"] }>();
  let report: ReportWriter | undefined;
  let failedOut: FailedOutWriter | undefined;
  let resume: ResumeState | undefined;
  /** This run's sent journal, and the rows the resumed run had in flight when it stopped. */
  let journal: SentJournal | undefined;
  let inFlightBefore: KeySet | undefined;
  /** Duplicate checks: each may hold a spill file until the run ends. */
  const keySets: KeySet[] = [];
  let read = 0;
  let sent = 0;
  let otherShards = 0;
  /** Rows a resumed run found done already. */
  let skippedDone = 0;
  /** Rows whose line held another user in the resumed report (an input changed under --force). */
  let moved = 0;
  /** Success rows whose answer may concern another user (RecordResult `unsure`), and the first, the warning's example. */
  let unsure = 0;
  let unsureExample: ReportRow | undefined;
  /** Invalid or failed rows that count towards --max-errors. */
  let freshErrors = 0;
  let lastProgress = 0;
  let sender: ReturnType<typeof createSender> | undefined;

  const progress = (force = false) => {
    if (!opts.onProgress) return;
    const now = performance.now();
    if (!force && now - lastProgress < 100) return;
    lastProgress = now;
    const s = sender?.stats;
    opts.onProgress({ read, sent, counts: { ...counts }, requests: s?.requests ?? 0, retries: s?.retries ?? 0, throttled: s?.throttled ?? 0, elapsedMs: now - started });
  };

  const record = (rec: SourceRecord, row: ReportRow) => {
    counts[row.status]++;
    if (row.status === "invalid" || row.status === "failed" || row.status === "duplicate") {
      const code = redactor.redact(row.code ?? row.status);
      const e = errorCodes.get(code);
      if (e) e.count++;
      else errorCodes.set(code, { count: 1, example: { file: row.file, line: row.line, key: redactor.redact(row.key, false), message: redactor.redact(row.message ?? "") } });
      if (row.status !== "duplicate") failedOut?.write(rec, `${code}${row.field ? ` (${row.field})` : ""}: ${row.message ?? row.status}`);
      // A resumed run meets the earlier run's bad rows again: only new ones count, or it would stop where the last one did.
      if (row.status !== "duplicate" && !(resume && sameUserEntry(resume.known.get(rowId(rec.fileIndex, rec.line)), keyHash(redactor.redact(row.key, false))))) freshErrors++;
      if (opts.maxErrors !== undefined && freshErrors >= opts.maxErrors && !stopped) {
        stopped = "max-errors";
        say("warn", `Stopping: ${freshErrors} rows invalid or failed${resume ? " besides those the resumed report had" : ""} (--max-errors ${opts.maxErrors})`);
        stopCtl.abort();
      }
    }
    report?.write(row);
  };

  try {
    let meta: RunMeta | undefined;
    if (!dryRun && opts.report !== false) {
      if (opts.files.includes("-") && opts.resume) throw new BulkUsersError(ErrorCode.USAGE, "Cannot resume a run that read standard input", { hint: "Import from a file to be able to resume." });
      const inputs = [];
      for (const f of opts.files) inputs.push(f === "-" ? { file: f, sha256: "stdin", size: 0 } : { file: f, ...(await sha256File(f)) });
      meta = {
        version: 1,
        provider: provider.name,
        inputs,
        mapping: { source: mapping?.source ?? "<automatic mapping>", sha256: sha256Text(JSON.stringify(mapping?.fields ?? null) + JSON.stringify(options)) },
        ...(opts.shard && { shard: `${opts.shard.index}/${opts.shard.count}` }),
        endpoint: endpointLabel,
        startedAt: new Date().toISOString(),
      };
    }
    // Every CSV input's header, before any row is read and before the report is opened: a column
    // missing in a later file must stop the run before the first file's users are sent, and a
    // mapping that cannot read a file must leave an earlier report at that path as it was.
    const headers = new Map<number, string[]>();
    for (const [idx, file] of opts.files.entries()) {
      if (file === "-" || formatOf(file, opts.format) !== "csv") continue;
      const columns = await readCsvHeader(file, { delimiter: opts.delimiter });
      if (!columns) continue;
      if (mapping) checkColumns(mapping, file, columns);
      else autoMappingFor(provider, file, columns);
      headers.set(idx, columns);
    }
    let old: RunMeta | undefined;
    if (opts.resume) {
      if (dryRun) throw new BulkUsersError(ErrorCode.USAGE, "--resume finishes an import; it cannot be combined with --dry-run");
      if (!reportPath) throw new BulkUsersError(ErrorCode.USAGE, "--resume needs a report to write: the resumed run's report is the next resume's state");
      old = readMeta(opts.resume);
      compareMeta(old, meta!, opts.force === true);
    }
    // The meta and journal of an earlier run at this path go before the report is truncated: a
    // kill before this run writes its own meta (while a resume copies the rows it carries) left
    // that run's meta beside the emptied report, which then passed for it, and resuming it sent
    // every user it had done again.
    if (reportPath) dropRunFiles(reportPath);
    if (reportPath) report = createReportWriter(reportPath, redactor);
    if (reportPath && meta) journal = openSentJournal(reportPath);
    // A resumed run's meta comes after the carried rows: a kill while copying leaves a report
    // that cannot be resumed from (its meta missing), not one that looks whole and is not.
    if (reportPath && meta && !old) writeMeta(reportPath, meta);
    if (old && meta) {
      resume = await loadResumeState(opts.resume!, old, meta, (row) => report?.write(row));
      report?.flush();
      inFlightBefore = await loadSent(opts.resume!, resume, (id, hash) => journal?.carry(id, hash));
      writeMeta(reportPath!, meta);
      if (resume.unreadable) say("warn", `${resume.unreadable} unreadable line(s) in ${opts.resume} ignored (a torn last line after a crash is normal); those rows are processed again`);
      say("info", `Resuming: ${resume.carried} row(s) already done are not sent again`);
    }
    if (opts.failedOut) {
      const jsonl = opts.files.some((f) => formatOf(f, opts.format) === "jsonl");
      // A later standard input's header is not read ahead with the other inputs': its cells may come after the header.
      failedOut = createFailedOut(opts.failedOut, redactor, { extra: jsonl || opts.files.indexOf("-") > 0, format: opts.format, delimiter: opts.delimiter, inputs: opts.files.length });
      if (jsonl && failedOutIsCsv(opts.failedOut, opts.format))
        say("warn", `--failed-out ${opts.failedOut} is CSV but an input is JSONL: nested objects and lists go into cells as JSON text, which the same mapping does not read back; for rows to import again, give a .jsonl path`);
    }

    const ctx: ProviderContext = {
      env,
      endpoint,
      options: options as Record<string, unknown>,
      fetch: (req, signal) => httpSend(req, { timeoutMs: opts.timeoutMs, signal: signal ?? abortCtl.signal, agentFor }),
      addSecret: (s) => redactor.add(s),
      now: Date.now,
    };

    // Duplicate detection: the key, plus every field the vendor wants unique.
    const keyField = provider.key;
    const uniqueFields = Object.entries(provider.fields)
      .filter(([name, spec]) => name !== keyField && (spec.unique || spec.uniqueIgnoreCase))
      .map(([name, spec]) => ({ name, lower: spec.uniqueIgnoreCase === true, seen: new KeySet() }));
    const keyLower = provider.fields[keyField]?.uniqueIgnoreCase === true;
    const keys = new KeySet();
    keySets.push(keys, ...uniqueFields.map((f) => f.seen));
    // Sized for the rows the inputs seem to hold, so the index is not rebuilt as it fills.
    for (const set of keySets) set.reserve(expected / (opts.shard?.count ?? 1));
    const compiled = new Map<number, ReturnType<typeof compileMapping>>();
    /** Readable rows per input, for the check that every mapped source had a value somewhere. */
    const rowsIn: number[] = [];
    /** Rows per input that could not be read (never mapped): the warning on empty fields counts them apart. */
    const unreadableIn: number[] = [];
    const secret = new Set(secretFields(provider));
    const fileNames: string[] = [];
    const text = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
    const keyOf = (u: MappedUser): string => {
      const k = text(u[keyField]);
      if (k !== "") return k;
      for (const f of uniqueFields) if (text(u[f.name]) !== "") return text(u[f.name]);
      return "";
    };
    // Line and file of a first occurrence in 32 bits: its line counted on from where the previous
    // file's lines ended (a fixed 6 bits of file index named file 1 for file 65, and 26 bits of line
    // wrapped past 67M lines). Each run of records from one file starts past every position given
    // out before, so a position's run is the last one starting at or before it (4G lines in all).
    const runs: { at: number; file: number }[] = [];
    let nextAt = 0;
    const pack = (rec: SourceRecord) => {
      let run = runs[runs.length - 1];
      if (run?.file !== rec.fileIndex) runs.push((run = { at: nextAt, file: rec.fileIndex }));
      const p = run.at + rec.line;
      if (p >= nextAt) nextAt = p + 1;
      return p;
    };
    const unpack = (p: number) => {
      let lo = 0;
      let hi = runs.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (runs[mid]!.at <= p) lo = mid;
        else hi = mid - 1;
      }
      const run = runs[lo]!;
      return `${fileNames[run.file] ?? "?"} line ${p - run.at}`;
    };

    const formatFor = (file: string) => formatOf(file, opts.format);
    /** The mapping for a file's columns; throws (exit 2) if it cannot read them. */
    const mappingFor = (file: string, columns: string[], announce: boolean): LoadedMapping => {
      let m = mapping;
      if (!m) m = autoMappingFor(provider, file, columns, announce ? (text) => say("info", text) : undefined, formatFor(file) === "jsonl");
      else if (formatFor(file) === "csv") checkColumns(m, file, columns);
      return m;
    };
    /** Per file, the columns its mapping reads (all a JSONL parse thread sends). */
    const reads = new Map<string, string[]>();
    /** Per file, fields an automatic JSONL mapping reads from keys no early record held (not warned about when absent). */
    const guessedIn = new Map<number, Set<string>>();
    const onColumns = (file: string, columns: string[]) => {
      const idx = opts.files.indexOf(file);
      fileNames[idx] = file;
      const m = mappingFor(file, columns, true);
      if (formatFor(file) === "csv") failedOut?.setColumns(idx, columns);
      compiled.set(idx, compileMapping(m, secret));
      if (m.guessed?.length) guessedIn.set(idx, new Set(m.guessed));
      reads.set(file, [...new Set(columnsUsed(m).map((c) => c.column))]);
    };
    for (const [idx, columns] of headers) failedOut?.setColumns(idx, columns);

    const invalid = (rec: SourceRecord, key: string, issues: readonly FieldIssue[]) => {
      const first = issues[0]!;
      record(rec, {
        file: rec.file,
        line: rec.line,
        key,
        status: "invalid",
        code: first.code,
        field: first.field,
        message: issues.map((i) => i.message).join("; ") + where({ file: rec.file, line: rec.line, field: first.field }),
      });
    };

    /** One record through map → validate → dedupe; returns the item to send, or reports it. */
    const processRecord = (rec: SourceRecord): SendItem | undefined => {
      read++;
      if (rec.error) {
        unreadableIn[rec.fileIndex] = (unreadableIn[rec.fileIndex] ?? 0) + 1;
        // Shared out by position, like a row without a key: each shard reports it once in all.
        if (opts.shard && (fnv1a(`${rec.fileIndex}:${rec.line}`) % opts.shard.count) + 1 !== opts.shard.index) {
          otherShards++;
          return;
        }
        invalid(rec, "", [{ field: "", code: rec.error.code, message: rec.error.message }]);
        return;
      }
      let apply = compiled.get(rec.fileIndex);
      if (!apply) {
        onColumns(rec.file, Object.keys(rec.data));
        apply = compiled.get(rec.fileIndex)!;
      }
      rowsIn[rec.fileIndex] = (rowsIn[rec.fileIndex] ?? 0) + 1;
      const { user, issues } = apply(rec.data);
      const key = keyOf(user);
      if (opts.shard && (fnv1a(key || `${rec.fileIndex}:${rec.line}`) % opts.shard.count) + 1 !== opts.shard.index) {
        otherShards++;
        return;
      }
      const more = validateUser(provider, user, options);
      if (issues.length || more.length) {
        invalid(rec, key, issues.length ? issues.concat(more) : more);
        return;
      }
      // The key set holds the key field's values only: a row without one is reported by its first
      // unique field, which its own set checks (by that field's rules, not the key's). A duplicate
      // claims none of its values: only rows that go on can clash at the vendor. With no other
      // unique field, one add both checks and claims.
      const keyValue = text(user[keyField]) === "" ? undefined : keyLower ? key.toLowerCase() : key;
      const first = keyValue === undefined ? -1 : uniqueFields.length ? keys.get(keyValue) : keys.add(keyValue, pack(rec));
      let dup = first === -1 ? undefined : `${keyField} \`${key}\` already appears at ${unpack(first)}`;
      if (!dup && uniqueFields.length) {
        const values = uniqueFields.map((f) => {
          const v = user[f.name];
          return v === undefined ? undefined : f.lower ? String(v).toLowerCase() : String(v);
        });
        uniqueFields.forEach((f, i) => {
          const p = dup || values[i] === undefined ? -1 : f.seen.get(values[i]!);
          if (p !== -1) dup = `${f.name} \`${provider.fields[f.name]?.secret ? "***" : String(user[f.name])}\` already appears at ${unpack(p)}`;
        });
        if (!dup) {
          if (keyValue !== undefined) keys.add(keyValue, pack(rec));
          uniqueFields.forEach((f, i) => values[i] !== undefined && f.seen.add(values[i]!, pack(rec)));
        }
      }
      if (dup) {
        record(rec, { file: rec.file, line: rec.line, key, status: "duplicate", code: "DUPLICATE", message: dup });
        return;
      }
      const id = resume ? rowId(rec.fileIndex, rec.line) : "";
      const was = resume ? resume.done.get(id) : -1;
      if (was !== -1) {
        const hash = keyHash(redactor.redact(key, false));
        if (was === hash || resume!.also?.has(`${id}:${hash}`)) {
          skippedDone++;
          return;
        }
        // --force over a changed input: this line held another user before, so this one was never sent
        // (a user the report already has failing at this line moved in an earlier run, not this one).
        if (!sameUserEntry(resume!.known.get(id), hash)) moved++;
      }
      if (dryRun) {
        record(rec, { file: rec.file, line: rec.line, key, status: "valid" });
        return;
      }
      const item: SendItem = { record: rec, user, key, attempts: 0 };
      if (inFlightBefore?.size && inFlightBefore.get(rowId(rec.fileIndex, rec.line)) === keyHash(key)) item.sentBefore = item.journaled = true;
      return item;
    };

    const readOpts: ReadOptions = {
      format: opts.format,
      delimiter: opts.delimiter,
      stdin: opts.stdin,
      onColumns,
      columnsFor: (file) => reads.get(file) ?? [],
      keepText: failedOut !== undefined,
      // An import is bound by the vendor's quota: the thread only when asked for.
      parseThread: dryRun ? (opts.parseThread ?? "auto") : opts.parseThread === "on" ? "on" : "off",
      onParseThread: (f) => say("info", `Parsing ${f} in a second thread`),
    };

    async function* validItems(): AsyncGenerator<SendItem> {
      const source = readInputBatches(opts.files, readOpts);
      for await (const batch of source) {
        for (const rec of batch) {
          if (stopCtl.signal.aborted) return;
          const item = processRecord(rec);
          if (item) yield item;
        }
        progress();
      }
    }

    if (dryRun) {
      // Every row is reported where it is processed: no per-row await at all.
      const source = readInputBatches(opts.files, readOpts);
      outer: for await (const batch of source) {
        for (const rec of batch) {
          if (stopCtl.signal.aborted) break outer;
          processRecord(rec);
        }
        progress();
      }
    } else {
      // Under 1 a second, the window widens: --rate 0.5 is one request in any 2 s.
      const limiter = opts.rate
        ? new RateLimiter(opts.rate >= 1 ? { limit: opts.rate, intervalMs: 1000 } : { limit: 1, intervalMs: 1000 / opts.rate })
        : new RateLimiter({ limit: provider.rate.limit, intervalMs: provider.rate.intervalMs });
      const session = provider.createSession?.(ctx) ?? {};
      sender = createSender({
        provider,
        ctx,
        session,
        limiter,
        concurrency: opts.concurrency,
        retries: opts.retries,
        timeoutMs: opts.timeoutMs,
        backoffBaseMs: opts.backoffBaseMs,
        stop: stopCtl.signal,
        abort: abortCtl.signal,
        redactor,
        endpointFrom,
        agentFor,
        log: (m) => say("info", m),
        onAttempt: journal && ((items) => journal!.mark(items)),
        onOutcomes(items, outcomes) {
          const t = Math.round(performance.now() - started);
          items.forEach((it, i) => {
            const o = outcomes[i] as SendOutcome;
            const row: ReportRow = { file: it.record.file, line: it.record.line, key: it.key, status: o.status, attempts: it.attempts, t };
            if (o.code) row.code = o.code;
            if (o.message) row.message = o.message;
            if (o.status !== "failed" && o.id) row.id = o.id;
            if (o.status === "failed") row.retryable = o.retryable;
            else if (o.unsure && unsure++ === 0) unsureExample = row;
            sent++;
            record(it.record, row);
          });
          report?.flush();
          progress();
        },
      });
      const conflictKey = provider.conflictKey;
      await sender.run(batches(validItems(), provider.maxBatch, conflictKey ? (it: SendItem) => conflictKey(it.user) : undefined));
    }

    if (unsureExample)
      say("warn", `${unsure} row(s) reported ${unsureExample.status} on an answer that may concern another user (e.g. ${unsureExample.file} line ${unsureExample.line}: ${unsureExample.message}): check those users at the vendor`);
    if (moved)
      say("warn", `${moved} row(s) held another user than the resumed report has at the same line (the input changed): they were processed as new rows, and the report has both lines`);
    // A field whose column or path held a value in no row of a file is most likely misspelt
    // (a JSONL path is not checked against a header): say so rather than import it empty. A CSV
    // header has the column: it is only empty throughout.
    if (!stopped)
      for (const [idx, apply] of compiled)
        if (rowsIn[idx])
          for (const u of apply.unseen()) {
            if (guessedIn.get(idx)?.has(u.field)) continue;
            // A row that could not be read (a line or cell over the limit) may have held the value.
            const unread = unreadableIn[idx] ?? 0;
            const rows = unread ? "readable row" : "row";
            const empty = u.part ? `that placeholder is empty in every ${rows}` : u.defaulted ? `its default was used in every ${rows}` : `the field is empty in every ${rows}`;
            const then = `${empty}${unread ? `; ${unread} row(s) could not be read` : ""}`;
            const csv = formatFor(opts.files[idx]!) === "csv";
            say("warn", `No ${rows} of ${opts.files[idx]} had a value for fields.${u.field} (${u.source}): ${csv ? then : `is its name right? (${then})`}`);
          }
    const durationMs = performance.now() - started;
    const notSent = Math.max(0, read - Object.values(counts).reduce((a, b) => a + b, 0) - otherShards - skippedDone);
    const confirmed = counts.created + counts.updated + counts.upserted + counts.exists;
    const bad = counts.invalid + counts.duplicate + counts.failed;
    const summary: ImportSummary = {
      provider: provider.name,
      dryRun,
      rows: read,
      counts,
      resumed: resume?.carried ?? 0,
      otherShards,
      notSent,
      requests: sender?.stats.requests ?? 0,
      retries: sender?.stats.retries ?? 0,
      throttled: sender?.stats.throttled ?? 0,
      splits: sender?.stats.splits ?? 0,
      durationMs: Math.round(durationMs),
      usersPerSecond: durationMs > 0 ? Math.round((confirmed / durationMs) * 1000 * 10) / 10 : 0,
      report: reportPath,
      failedOut: opts.failedOut,
      stopped,
      topErrors: [...errorCodes.entries()]
        .sort((a, b) => b[1].count - a[1].count)
        .slice(0, 10)
        .map(([code, e]) => ({ code, count: e.count, example: e.example })),
      // A row read but given no outcome without a stop would be a row lost: never a clean exit.
      exitCode: stopped ? 3 : bad > 0 || notSent > 0 ? 1 : 0,
    };
    progress(true);
    if (reportPath && meta) writeMeta(reportPath, { ...meta, summary } as RunMeta);
    return summary;
  } catch (e) {
    // Vendor messages and echoed URLs pass through here: no secret leaves in an error either.
    if (e instanceof Error) {
      e.message = redactor.redact(e.message);
      if (e instanceof BulkUsersError && e.hint) e.hint = redactor.redact(e.hint);
    }
    throw e;
  } finally {
    opts.signal?.removeEventListener("abort", onSignal);
    opts.cancel?.removeEventListener("abort", onCancel);
    for (const k of keySets) k.close();
    resume?.done.close();
    resume?.also?.close();
    resume?.known.close();
    inFlightBefore?.close();
    journal?.close();
    report?.close();
    failedOut?.close();
    await emulator?.close();
  }
}

/** Dry run: read, map and validate; send nothing, need no credentials. */
export function validate(opts: Omit<ImportOptions, "dryRun">): Promise<ImportSummary> {
  return runImport({ ...opts, dryRun: true });
}
