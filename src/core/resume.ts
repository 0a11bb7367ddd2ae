import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, fchmodSync, lstatSync, openSync, readFileSync, readlinkSync, readSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { BulkUsersError, ErrorCode } from "../errors.js";
import { SUCCESS_STATUSES, type ReportRow } from "../types.js";
import { reportRows, wellTyped } from "../report/rows.js";
import { fnv1a, KeySet } from "./key-set.js";

/** What a run records beside its report so `--resume` can check it continues the same job. */
export interface RunMeta {
  version: 1;
  provider: string;
  inputs: { file: string; sha256: string; size: number }[];
  mapping: { source: string; sha256: string };
  /** `--shard K/N` of the run, if any: a shard's report resumes only that shard. */
  shard?: string;
  /** Where the run sends: the endpoint's URL with its password and tokens masked, or `sandbox`. Absent in older metas. */
  endpoint?: string;
  startedAt: string;
}

export const metaPath = (report: string) => `${report}.meta.json`;

/**
 * Beside the report: the rows of every request, written before it goes out. A row there and not
 * in the report was in flight when the run died (kill -9, a crash, a cancelled request): the
 * vendor may have it, and a resumed run that meets it as "already exists" says so.
 */
export const sentPath = (report: string) => `${report}.sent`;

/** A journal line: `fileIndex:line:keyHash`, row and user, never the key itself. */
const SENT_LINE = /^(\d+):(\d+):(\d+)$/;

export interface SentJournal {
  /** Records the rows of a request about to be sent (once per row). */
  mark(rows: { record: { fileIndex: number; line: number }; key: string; journaled?: boolean }[]): void;
  /** Copies an earlier run's line (see loadSent): its row is still in doubt. */
  carry(id: string, hash: number): void;
  close(): void;
}

/** A new journal for a report (an old one there is replaced); owner-only, like the keys it names. */
export function openSentJournal(report: string): SentJournal {
  const fd = openSync(sentPath(report), "w", 0o600);
  // The mode above applies only to a new file: one left by an earlier run is truncated with its old mode.
  try {
    fchmodSync(fd, 0o600);
  } catch {
    /* a file system without modes */
  }
  return {
    mark(rows) {
      let out = "";
      for (const r of rows) {
        if (r.journaled) continue;
        r.journaled = true;
        out += `${rowId(r.record.fileIndex, r.record.line)}:${keyHash(r.key)}\n`;
      }
      // Synchronous: the line is with the OS before the request leaves, so a kill cannot lose it.
      if (out) writeSync(fd, out);
    },
    carry: (id, hash) => void writeSync(fd, `${id}:${hash}\n`),
    close: () => closeSync(fd),
  };
}

/** A report overwritten by a run that keeps no journal (a dry run): its old journal and meta describe nothing any more. */
export function dropRunFiles(report: string): void {
  rmSync(sentPath(report), { force: true });
  rmSync(metaPath(report), { force: true });
}

/**
 * The rows an earlier run sent and never heard back about: in its journal, and in its report
 * neither done nor refused by the vendor (`state`), each with its key's hash. Each goes to
 * `carry` once, for the new run's journal. No journal (a report from before journals, or one
 * deleted) means none.
 */
export async function loadSent(report: string, state: Pick<ResumeState, "done" | "known">, carry: (id: string, hash: number) => void): Promise<KeySet> {
  const { done, known } = state;
  const sent = new KeySet();
  if (!existsSync(sentPath(report))) return sent;
  const take = (text: string) => {
    const m = SENT_LINE.exec(text);
    if (!m) return;
    const id = `${m[1]}:${m[2]}`;
    const hash = Number(m[3]);
    if (done.has(id) || refusedEntry(known.get(id)) || sent.add(id, hash) !== -1) return;
    carry(id, hash);
  };
  // A last line without its newline was being written when the run died (its request had not
  // gone out), even where what is there looks whole: each line is taken once the next one starts.
  let last: string | undefined;
  const rl = createInterface({ input: createReadStream(sentPath(report)), crlfDelay: Infinity });
  for await (const text of rl) {
    if (last !== undefined) take(last);
    last = text;
  }
  if (last !== undefined && endsInNewline(sentPath(report))) take(last);
  return sent;
}

function endsInNewline(file: string): boolean {
  const size = statSync(file).size;
  if (size === 0) return false;
  const fd = openSync(file, "r");
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** One buffer read into again and again: a stream's fresh 1 MiB chunks outran the GC at start-up. */
export async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  const fh = await open(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { sha256: h.digest("hex"), size };
}

export const sha256Text = (s: string) => createHash("sha256").update(s).digest("hex");

/** Written beside and renamed into place: a kill mid-write leaves the old meta or the new one, never half of one. */
export function writeMeta(report: string, meta: RunMeta): void {
  const tmp = `${metaPath(report)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(meta, null, 2)}\n`);
  renameSync(tmp, metaPath(report));
}

export function readMeta(report: string): RunMeta {
  const p = metaPath(report);
  if (!existsSync(report))
    throw new BulkUsersError(ErrorCode.RESUME_UNREADABLE, `Cannot resume: report not found: ${report}`, { context: { file: report }, hint: "Pass the report file the earlier run wrote." });
  if (!existsSync(p))
    throw new BulkUsersError(ErrorCode.RESUME_UNREADABLE, `Cannot resume: ${p} is missing (it is written beside the report of every import)`, {
      context: { file: p },
    });
  let meta: unknown;
  try {
    meta = JSON.parse(readFileSync(p, "utf8"));
  } catch (e) {
    throw new BulkUsersError(ErrorCode.RESUME_UNREADABLE, `Cannot resume: ${p} is not valid JSON: ${(e as Error).message}`, { context: { file: p } });
  }
  const wrong = metaFault(meta);
  if (wrong) throw new BulkUsersError(ErrorCode.RESUME_UNREADABLE, `Cannot resume: ${p} is not a run's meta file: ${wrong}`, { context: { file: p } });
  return meta as RunMeta;
}

/** What makes a parsed meta file unusable (the fields compareMeta and the resume read), or undefined. */
function metaFault(m: unknown): string | undefined {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObj(m)) return "it holds no object";
  if (typeof m.provider !== "string") return "no provider";
  if (!Array.isArray(m.inputs) || !m.inputs.every((f) => isObj(f) && typeof f.file === "string" && typeof f.sha256 === "string")) return "no list of inputs, each with file and sha256";
  if (!isObj(m.mapping) || typeof m.mapping.sha256 !== "string" || typeof m.mapping.source !== "string") return "no mapping with source and sha256";
  if (m.shard !== undefined && typeof m.shard !== "string") return "shard is not text";
  if (m.endpoint !== undefined && typeof m.endpoint !== "string") return "endpoint is not text";
  return undefined;
}

/** Refuses to resume a different job: other provider, inputs, mapping or endpoint (unless forced). */
export function compareMeta(old: RunMeta, cur: RunMeta, force: boolean): void {
  const diffs: string[] = [];
  if (old.provider !== cur.provider) diffs.push(`provider was ${old.provider}, now ${cur.provider}`);
  if (old.inputs.length !== cur.inputs.length) diffs.push(`${old.inputs.length} input file(s) before, ${cur.inputs.length} now`);
  old.inputs.forEach((o, i) => {
    const c = cur.inputs[i];
    if (c && c.sha256 !== o.sha256) diffs.push(`input ${c.file} changed since the earlier run (checksum)`);
  });
  if (old.mapping.sha256 !== cur.mapping.sha256) diffs.push(`mapping ${cur.mapping.source} changed since the earlier run (checksum)`);
  // Resuming elsewhere would send the rest there and leave the done rows where they went.
  if (old.endpoint !== undefined && cur.endpoint !== undefined && old.endpoint !== cur.endpoint) diffs.push(`the earlier run sent to ${old.endpoint}, this one would send to ${cur.endpoint}`);
  if ((old.shard ?? "") !== (cur.shard ?? "")) diffs.push(`the earlier run was ${old.shard ? `shard ${old.shard}` : "not sharded"}, this one is ${cur.shard ? `shard ${cur.shard}` : "not sharded"}`);
  // The sandbox's users are thrown away with it: its report cannot finish a real import, nor the reverse.
  const sandboxed = (m: RunMeta) => m.endpoint === "sandbox";
  const sameWorld = old.endpoint === undefined || cur.endpoint === undefined || sandboxed(old) === sandboxed(cur);
  const forceable = old.provider === cur.provider && old.inputs.length === cur.inputs.length && (old.shard ?? "") === (cur.shard ?? "") && sameWorld;
  if (diffs.length && !(force && forceable))
    throw new BulkUsersError(ErrorCode.RESUME_MISMATCH, `Cannot resume: ${diffs.join("; ")}`, {
      hint: forceable
        ? "Resume with the same files and endpoint, or pass --force if the change is deliberate."
        : "The provider, the number of inputs, the shard and sandbox or not must match (--force does not change that).",
    });
}

/** A path's one spelling (relative, absolute, through a symlink all give the same). */
function realPath(p: string, depth = 0): string {
  // A file not there yet is its folder's real path plus its name: the folder may be reached
  // through a symlink, or as `link/..`, which the system reads after following the link.
  // realpathSync.native: the JS one drops `link/..` as text before following the link.
  try {
    return realpathSync.native(p);
  } catch {
    try {
      const dir = realpathSync.native(dirname(p));
      // A symlink to a file not there yet names the file it will create: writing follows it.
      const target = lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() ? readlinkSync(p) : undefined;
      return target === undefined ? join(dir, basename(p)) : depth < 8 ? realPath(resolve(dir, target), depth + 1) : resolve(dir, target);
    } catch {
      return resolve(p);
    }
  }
}

/** One file however it is named: relative, absolute, through a symlink, or a hard link of it. */
export function samePath(a: string, b: string): boolean {
  return fileKey(a) === fileKey(b);
}

/** A file's identity: device and inode once it exists (a hard link has another path), else its real path. */
export function fileKey(p: string): string {
  try {
    const s = statSync(p);
    return `${s.dev}:${s.ino}`;
  } catch {
    return realPath(p);
  }
}

/** Successful rows of an earlier report: carried into the new report, never sent again. */
export interface ResumeState {
  /** Row ids done, each with the hash of the key it held (`keyHash`): a changed input may hold another user there. */
  done: KeySet;
  /** `row:hash` of every user done at a line that held more than one (a --force resume's report); absent when none did. */
  also?: KeySet | undefined;
  /** Rows the earlier report called invalid, duplicate or failed, each with its user (`knownEntry`): not counted again towards --max-errors. */
  known: KeySet;
  carried: number;
  /** Lines that could not be read (a torn last line after a kill). */
  unreadable: number;
}

export const rowId = (fileIndex: number, line: number) => `${fileIndex}:${line}`;

/**
 * What a done row remembers of its key (a 32-bit hash: the row's id is what identifies it). Of
 * the key as a report stores it: a CSV report is UTF-8, which holds a lone surrogate (a JSONL
 * key `bad\ud800`, an invalid row) as U+FFFD, so the key read back from it is that; hashed as
 * given, the row no longer matched and `--max-errors` counted it again on every resume.
 */
export const keyHash = (key: string) => fnv1a((key as string & { toWellFormed(): string }).toWellFormed());

/** A bad row's entry in `known`: its key's hash, whose low bit says whether the vendor answered with a refusal. */
export const knownEntry = (hash: number, refused: boolean) => ((hash & ~1) | (refused ? 1 : 0)) >>> 0;
/** The vendor refused the row it names, so the row is not in doubt. */
export const refusedEntry = (entry: number) => entry !== -1 && (entry & 1) === 1;
/** The entry names this user (by key hash, its low bit aside). */
export const sameUserEntry = (entry: number, hash: number) => entry !== -1 && ((entry ^ hash) & ~1) === 0;

/**
 * Streams the earlier report; each successful row goes to `carry` (the new report) once, under
 * this run's name of its file. Rows name their file as the earlier run was given it (`old`): its
 * position there is the file's position now, whatever this run calls it (`./users.csv`).
 */
export async function loadResumeState(report: string, old: RunMeta, cur: RunMeta, carry: (row: ReportRow) => void): Promise<ResumeState> {
  const fileIndex = new Map(old.inputs.map((f, i) => [f.file, i]));
  const done = new KeySet();
  const known = new KeySet();
  let also: KeySet | undefined;
  let carried = 0;
  let unreadable = 0;
  for await (const r of reportRows(report)) {
    // A row of types the writer never writes (a hand-edited line) is not carried: its line is sent again.
    const fi = r && wellTyped(r) ? fileIndex.get(r.file) : undefined;
    if (fi === undefined || !cur.inputs[fi]) {
      unreadable++;
      continue;
    }
    if (!SUCCESS_STATUSES.has(r!.status)) {
      // The line's latest bad row names who it holds; a refusal the vendor answered is not in doubt (see loadSent).
      known.set(rowId(fi, r!.line), knownEntry(keyHash(String(r!.key ?? "")), r!.status === "failed" && r!.retryable === false));
      continue;
    }
    // Every row is carried: a report of a --force resume over a changed input has two rows for a
    // moved line, and keeps both. The later one says who the line holds now, so the latest wins;
    // every user such a line held is done too (an input changed back must not send one again).
    const id = rowId(fi, r!.line);
    const hash = keyHash(String(r!.key ?? ""));
    const was = done.set(id, hash);
    if (was === -1) carried++;
    else if (was !== hash) {
      also ??= new KeySet();
      also.add(`${id}:${was}`);
      also.add(`${id}:${hash}`);
    }
    // Without its `t`: that was the earlier run's clock, and this report's timeline is this run's.
    const { t: _earlier, ...row } = r!;
    carry({ ...row, file: cur.inputs[fi]!.file });
  }
  return { done, also, known, carried, unreadable };
}
