import { appendFileSync } from "node:fs";
import { Command, Option } from "commander";
import type { ImportOptions, ImportSummary } from "../core/import.js";
import { MAX_TIMER_MS } from "../core/rate-limiter.js";
import { BulkUsersError, ErrorCode } from "../errors.js";
import { providers } from "../providers/index.js";
import type { CliIO } from "../ui/io.js";
import { colors, createLogger } from "../ui/logger.js";
import { createProgress } from "../ui/progress.js";
import { formatSummary } from "../ui/summary.js";
import { shellArg } from "../util/shell.js";
import { maskUrl, maskUrlText, urlSecrets } from "../util/url.js";

export { MAX_TIMER_MS };

/** Whole numbers, by default up to what a timer takes. */
const int = (name: string, min = 0, max = MAX_TIMER_MS) => (v: string) => {
  // Decimal digits only: Number("") is 0 (an empty CI variable must not mean --retries 0), and
  // Number also reads 0x10 and 1e3.
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new BulkUsersError(ErrorCode.USAGE, `${name} takes a whole number from ${min} to ${max}, got \`${v}\``);
  return n;
};
/** A delimiter csv-parse can split on: not empty, not the quote, not a line break. */
export const delimiter = (v: string) => {
  if (v === "" || /["\r\n]/.test(v)) throw new BulkUsersError(ErrorCode.USAGE, `--delimiter takes a character other than a quote or a line break, got ${JSON.stringify(v)}`, { hint: "E.g. --delimiter ';' or --delimiter $'\\t'." });
  return v;
};
const positive = (name: string) => (v: string) => {
  const n = /^\s*(?:\d+(?:\.\d*)?|\.\d+)\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!(n > 0)) throw new BulkUsersError(ErrorCode.USAGE, `${name} takes a decimal number > 0, got \`${v}\``);
  return n;
};

function parseShard(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) throw new BulkUsersError(ErrorCode.USAGE, `--shard takes K/N with 1 ≤ K ≤ N, got \`${v}\``);
  return { index, count };
}

function parseFaults(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  const bad = (why: string) => new BulkUsersError(ErrorCode.USAGE, `--sandbox-faults takes kind=probability pairs (error, timeout, throttle, drop), ${why}`);
  for (const part of v.split(",")) {
    const [k, n, extra] = part.split("=");
    // Decimal only, as the other number options: Number() reads "" as 0 and 0x1 as 1.
    const p = n !== undefined && /^\s*(?:\d+(?:\.\d*)?|\.\d+)\s*$/.test(n) ? Number(n) : Number.NaN;
    if (!k || extra !== undefined || !["error", "timeout", "throttle", "drop"].includes(k) || k in out || !(p >= 0 && p <= 1)) throw bad(`got \`${part}\``);
    out[k] = p;
  }
  // One fault a request at most: past 1 in all, the later kinds are cut short.
  if (Object.values(out).reduce((a, b) => a + b, 0) > 1 + 1e-9) throw bad(`adding up to 1 at most, got \`${v}\``);
  return out;
}

/** Options shared by `import` and `validate`. */
export function addRunOptions(cmd: Command, sending: boolean): Command {
  cmd
    .argument("<files...>", "CSV or JSONL files (- for standard input)")
    .requiredOption("-p, --provider <name>", `provider: ${Object.keys(providers).join(", ")}`)
    .option("-m, --mapping <file>", "mapping file (YAML or JSON); default: columns named like provider fields")
    .addOption(new Option("--format <format>", "input format, instead of guessing from the extension").choices(["csv", "jsonl"]))
    .addOption(new Option("--delimiter <char>", "CSV delimiter (default: , or tab for .tsv)").argParser(delimiter))
    .option("--report <file>", "report path (.jsonl or .csv)", undefined)
    .option("--failed-out <file>", "write invalid and failed rows with an _error column (in --format if given, else CSV for a .csv, .tsv or .txt path, JSONL otherwise)")
    .option("--max-errors <n>", "stop (exit 3) after this many invalid or failed rows", int("--max-errors", 1))
    .option("--shard <K/N>", "process only the rows whose key hashes to shard K of N", parseShard)
    .option("--json", "print the summary as one JSON object on stdout")
    .option("--summary <file>", "append a Markdown summary (also written to $GITHUB_STEP_SUMMARY when set)")
    .option("--no-progress", "no progress bar or progress lines")
    .addOption(
      new Option("--parse-thread <mode>", "parse CSV or JSONL in a second thread: auto = dry runs of files from 4 MiB")
        .choices(["auto", "on", "off"])
        .default("auto"),
    )
    .option("--send-email", "royalti: send invite emails (sets options.sendEmail)")
    .option("--no-send-email", "royalti: do not send invite emails");
  if (sending)
    cmd
      .option("--dry-run", "read, map and validate only; send nothing")
      // --sandbox imports into its own emulator: with --endpoint too, one of them would be ignored.
      .addOption(new Option("--sandbox", "start the provider's emulator in-process with throwaway credentials and import into it").conflicts("endpoint"))
      .option("--endpoint <url>", "base URL of the API (an emulator, a proxy, another region); one holding a password or token belongs in BULK_USERS_ENDPOINT instead")
      // Not --env-file: node 20 takes that flag itself wherever it appears, and exits 9 when the file is missing.
      .option("--dotenv <file>", "dotenv file with the credential variables")
      .option("--allow-insecure-endpoint", "allow plain http to a non-loopback endpoint")
      .option("--rate <n>", "requests per second (default: the provider's documented limit)", positive("--rate"))
      .option("--concurrency <n>", "requests in flight at once", int("--concurrency", 1), 4)
      .option("--retries <n>", "retries of a failed request", int("--retries"), 5)
      .option("--timeout <ms>", "per-request timeout in ms", int("--timeout", 1), 30000)
      .option("--resume <report>", "finish an earlier run from its report: done rows are not sent again")
      .option("--force", "resume even though the input, mapping or endpoint changed")
      .addOption(new Option("--sandbox-latency <ms>", "emulator answer delay (testing)").argParser(int("--sandbox-latency")).hideHelp())
      .addOption(new Option("--sandbox-faults <spec>", "emulator faults, e.g. error=0.1,timeout=0.05 (testing)").argParser(parseFaults).hideHelp())
      .addOption(new Option("--sandbox-seed <n>", "emulator fault seed (testing)").argParser(int("--sandbox-seed", 0, 2 ** 32 - 1)).hideHelp())
      .addOption(new Option("--backoff-base <ms>", "retry backoff base (testing)").argParser(int("--backoff-base")).hideHelp())
      .addOption(new Option("--grace <ms>", "wait for requests in flight after Ctrl-C").argParser(int("--grace")).default(10000));
  return cmd;
}

/** Runs an import or dry run from parsed commander options; returns the exit code. */
export async function runImportCommand(files: string[], o: Record<string, any>, io: CliIO, dryRun: boolean, argv: string[]): Promise<number> {
  const log = createLogger(io, o.json === true);
  const ctl = new AbortController();
  const cancel = new AbortController();
  const onSig = () => {
    if (ctl.signal.aborted) {
      if (cancel.signal.aborted) return;
      log.warn("Stopping now: requests in flight are cancelled (their users may have landed; --resume finds them as `exists`)");
      cancel.abort();
      return;
    }
    log.warn("Stopping: no new rows are read; waiting for requests in flight (Ctrl-C again to cancel them)…");
    ctl.abort();
  };
  if (!io.handleSignals) return importAndReport(files, o, io, dryRun, argv, log, ctl, cancel);
  process.on("SIGINT", onSig);
  process.on("SIGTERM", onSig);
  let code: number;
  try {
    code = await importAndReport(files, o, io, dryRun, argv, log, ctl, cancel);
  } finally {
    // Only once the summary and the resume command are out: a Ctrl-C while they were written
    // killed the process by signal (exit 130) and lost them.
    process.off("SIGINT", onSig);
    process.off("SIGTERM", onSig);
  }
  // The real process exits here, once its output is flushed, rather than when its event loop
  // winds down: node restores the default action of signals as it tears down, so a Ctrl-C
  // pressed again or held down at that moment killed a stopped run by signal instead of exit 3.
  const ignore = () => {};
  process.on("SIGINT", ignore);
  process.on("SIGTERM", ignore);
  await new Promise<void>((resolve) => process.stdout.write("", () => process.stderr.write("", () => resolve())));
  process.exit(code);
}

async function importAndReport(
  files: string[],
  o: Record<string, any>,
  io: CliIO,
  dryRun: boolean,
  argv: string[],
  log: ReturnType<typeof createLogger>,
  ctl: AbortController,
  cancel: AbortController,
): Promise<number> {
  const progress = await createProgress(io, { enabled: o.progress !== false && o.json !== true });
  const { runImport } = await import("../core/import.js");
  const { samePath } = await import("../core/resume.js");
  const summaryFiles = summaryTargets(o, io, samePath);
  const heap = (await import("../util/heap.js")).tuneHeap();
  const opts: ImportOptions = {
    files,
    provider: o.provider,
    mapping: o.mapping,
    format: o.format,
    delimiter: o.delimiter,
    parseThread: o.parseThread,
    dryRun: dryRun || o.dryRun === true,
    report: o.report,
    failedOut: o.failedOut,
    summaryFiles,
    env: io.env,
    envFile: o.dotenv,
    endpoint: o.endpoint,
    allowInsecureEndpoint: o.allowInsecureEndpoint,
    sandbox: o.sandbox ? { latencyMs: o.sandboxLatency, faults: o.sandboxFaults, seed: o.sandboxSeed } : false,
    rate: o.rate,
    concurrency: o.concurrency,
    retries: o.retries,
    timeoutMs: o.timeout,
    backoffBaseMs: o.backoffBase,
    maxErrors: o.maxErrors,
    resume: o.resume,
    force: o.force,
    shard: o.shard,
    options: o.sendEmail === undefined ? undefined : { sendEmail: o.sendEmail },
    signal: ctl.signal,
    cancel: cancel.signal,
    graceMs: o.grace,
    stdin: io.stdin,
    onProgress: (p) => {
      heap.check();
      progress.update(p);
    },
    log: (level, m) => (level === "warn" ? log.warn(m) : log.info(m)),
  };
  // A run that read standard input cannot be resumed (nothing to check it against): no hint for it.
  const resumable = !files.includes("-");
  let summary: ImportSummary;
  try {
    summary = await runImport(opts);
  } catch (e) {
    progress.stop();
    const stoppedBy = e instanceof BulkUsersError ? ({ [ErrorCode.AUTH_REJECTED]: "the credentials", [ErrorCode.ENDPOINT_WRONG]: "the endpoint", [ErrorCode.PROXY_REFUSED]: "the proxy settings" } as Partial<Record<string, string>>)[e.code] : undefined;
    const resume = stoppedBy && opts.report && resumable ? resumeCommand(argv, opts.report) : undefined;
    if (resume) log.info(`Nothing more was sent. After fixing ${stoppedBy}, finish with: ${resume}`);
    // The job page says why the run stopped, too (the message is already redacted).
    if (summaryFiles.length && e instanceof BulkUsersError) {
      const { failureMarkdown } = await import("../report/markdown.js");
      const md = failureMarkdown({ provider: String(o.provider), dryRun: opts.dryRun === true }, e.message, e.hint, resume);
      // Not into the file the run refused to write (a summary path that is an input or the mapping).
      const refused = e.code === ErrorCode.USAGE ? e.context?.file : undefined;
      appendSummary(refused ? summaryFiles.filter((t) => !samePath(t, refused)) : summaryFiles, md, log);
    }
    throw e;
  } finally {
    heap.undo();
  }
  progress.stop();
  const hint = summary.stopped && summary.report && !summary.dryRun && resumable ? resumeCommand(argv, summary.report) : undefined;
  // A script reading --json gets the command that finishes the job too.
  if (o.json) io.stdout.write(`${JSON.stringify(hint ? { ...summary, resumeCommand: hint } : summary)}\n`);
  else io.stdout.write(formatSummary(summary, colors(io, "stdout")));
  if (hint) log.info(`Finish the job with: ${hint}`);
  else if (summary.stopped && !summary.dryRun && !resumable) log.info("A run that read standard input cannot be resumed: save the input to a file and import that to be able to.");
  if (summaryFiles.length) {
    const { summaryMarkdown } = await import("../report/markdown.js");
    appendSummary(summaryFiles, summaryMarkdown(summary, hint), log);
  }
  return summary.exitCode;
}

/** Where the Markdown summary goes: --summary FILE and $GITHUB_STEP_SUMMARY (from the CLI's env), once each however spelt. */
function summaryTargets(o: Record<string, any>, io: CliIO, samePath: (a: string, b: string) => boolean): string[] {
  const out: string[] = [];
  for (const x of [o.summary, io.env.GITHUB_STEP_SUMMARY]) if (typeof x === "string" && x !== "" && !out.some((y) => samePath(x, y))) out.push(x);
  return out;
}

/** A summary that cannot be written is a warning: it never changes what the run's exit code says. */
function appendSummary(targets: string[], md: string, log: ReturnType<typeof createLogger>): void {
  for (const t of targets) {
    try {
      appendFileSync(t, md);
    } catch (e) {
      log.warn(`Could not write the Markdown summary to ${t}: ${(e as Error).message}`);
    }
  }
}

/** An argument holding a URL (--endpoint's): its password and secret query values as `***`. */
function withoutSecrets(arg: string): string {
  const at = arg.indexOf("://");
  if (at === -1) return arg;
  const start = arg.lastIndexOf("=", at) + 1;
  try {
    const u = new URL(arg.slice(start));
    if (urlSecrets(u).length === 0) return arg;
    return arg.slice(0, start) + maskUrl(u).toString();
  } catch {
    return arg.slice(0, start) + maskUrlText(arg.slice(start));
  }
}

/** The same command line with `--resume REPORT` (and no --report/--resume of its own); a URL's password and tokens masked. */
function resumeCommand(argv: string[], report: string): string {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--resume" || a === "--report") {
      i++;
      continue;
    }
    if (a.startsWith("--resume=") || a.startsWith("--report=")) continue;
    out.push(shellArg(withoutSecrets(a)));
  }
  return `bulk-users ${out.join(" ")} --resume ${shellArg(report)}`;
}
