import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { BulkUsersError, type ErrorCode, type ErrorContext } from "../errors.js";
import { startWorkerAtFullYoung } from "../util/heap.js";
import type { SourceRecord } from "../types.js";
import { materialize, type CsvChunk, type CsvReadOptions } from "./csv.js";
import { materializeJsonl, type JsonlChunk } from "./jsonl.js";

/**
 * Parse thread: for a big file, csv-parse (or JSON.parse per line) runs in a worker thread and
 * this thread maps, validates and reports, so the two halves of a dry run overlap on two cores.
 * The worker sends compact chunks (each column's cells as one string or its UTF-8 bytes, a line
 * array), not record objects, so crossing threads costs a few copies per chunk. For JSONL it sends
 * only the columns the mapping reads: this thread answers the first record's keys with them.
 */
export type ParseThread = "auto" | "on" | "off";

/** Chunks taken before their credits are posted back together. */
const CREDIT_BATCH = 4;

/** Files from this size up are parsed in the worker under `auto`: below it, starting one costs more than it saves. */
export const PARSE_THREAD_MIN_BYTES = 4 << 20;

export type ThreadInput = {
  file: string;
  fileIndex: number;
  /** Chunks the worker may have sent ahead of the reader. */
  window: number;
} & ({ format: "csv"; opts: CsvReadOptions } | { format: "jsonl"; keepText?: boolean });

type CsvCompact = Extract<CsvChunk, { lines: unknown }>;

export type ThreadMessage =
  | { type: "header"; columns: string[] }
  | ({ type: "chunk" } & (({ columns: (string | Uint8Array)[]; lines: Int32Array } & Pick<CsvCompact, "errors">) | JsonlChunk))
  | { type: "end" }
  | { type: "error"; error: { code?: ErrorCode; message: string; context?: ErrorContext; hint?: string; exitCode?: number } };

const WORKER = new URL("./parse-worker.js", import.meta.url);

/** Whether a file is read in the parse thread. */
export function useParseThread(file: string, mode: ParseThread): boolean {
  if (mode === "off" || file === "-") return false;
  const built = existsSync(fileURLToPath(WORKER));
  if (mode === "on") {
    // Only a source checkout run without a build lacks the compiled worker.
    if (!built) throw new Error(`The parse thread needs the compiled worker ${fileURLToPath(WORKER)} (run \`npm run build\`)`);
    return true;
  }
  return built && statSync(file).size >= PARSE_THREAD_MIN_BYTES;
}

/** How a file is parsed in the thread, and what its reader is told. */
export type ThreadJob =
  | { format: "csv"; opts: CsvReadOptions; onHeader?: (columns: string[]) => void }
  | {
      format: "jsonl";
      /** Keep each line's text as the record's `raw`. */
      keepText?: boolean;
      /** Called with the first readable record's keys; returns the columns to send. */
      columnsFor: (keys: string[]) => string[];
    };

/** `readCsvBatches` or `readJsonlBatches` of a file, parsed in a worker thread. */
export async function* readFileThreaded(file: string, fileIndex: number, job: ThreadJob): AsyncGenerator<SourceRecord[]> {
  // Chunks in flight: with 4, this thread sat idle 0.56–0.63 s of a million JSONL rows waiting
  // out the worker's pauses (collections); 16 cut that to 0.24–0.31 s, for 1–2 MB of peak RSS.
  const window = 16;
  const workerData: ThreadInput =
    job.format === "csv" ? { file, fileIndex, window, format: "csv", opts: job.opts } : { file, fileIndex, window, format: "jsonl", keepText: job.keepText };
  // A long run grows a worker's young generation to V8's default cap (32 MiB of new space) for no
  // gain here: a 12 MiB young generation keeps its heap near 16 MiB instead of 40 (measured, 1M
  // rows). The CLI stops young generations from growing (src/util/heap.ts), so a JSONL worker, whose
  // JSON.parse allocates a lot, starts at that size (without: 5.5 s instead of 3.3–3.9 s a
  // million rows); the CSV worker allocates little and keeps the smaller start (≈ 10 MB less, same speed).
  const start = () => new Worker(WORKER, { workerData, resourceLimits: { maxYoungGenerationSizeMb: 12 } });
  const worker = job.format === "jsonl" ? startWorkerAtFullYoung(4, start) : start();
  const queue: ThreadMessage[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  worker.on("message", (m: ThreadMessage) => {
    queue.push(m);
    notify();
  });
  worker.on("error", (e) => {
    failure ??= e;
    notify();
  });
  // A chunk this thread cannot deserialize must stop the run: skipping it would lose its rows.
  // Queued in its place, not as `failure` (read only once the queue is empty): the chunks and
  // the end behind it would otherwise finish the file without it.
  worker.on("messageerror", (e) => {
    queue.push({ type: "error", error: { message: `Parse thread: a chunk of ${file} could not be read (${e.message}); rerun with --parse-thread off` } });
    notify();
  });
  worker.on("exit", (code) => {
    if (code !== 0) failure ??= new Error(`Parse thread stopped with exit code ${code} (${file})`);
    notify();
  });
  let header: string[] = [];
  let owed = 0;
  try {
    for (;;) {
      const m = queue.shift();
      if (!m) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      switch (m.type) {
        case "header":
          if (job.format === "csv") {
            header = m.columns;
            job.onHeader?.(header);
          } else {
            header = job.columnsFor(m.columns);
            worker.postMessage({ columns: header });
          }
          break;
        case "chunk":
          // Credits go back four at a time: a post wakes the worker, and one a chunk cost this
          // thread 0.31 s of a million JSONL rows in the profiler (in fours, 0.10 s). The worker
          // never starves: it holds at least window - 3 credits whenever this thread waits.
          if (++owed === CREDIT_BATCH) {
            worker.postMessage(owed);
            owed = 0;
          }
          yield "others" in m ? materializeJsonl(m, header, file, fileIndex) : materialize(m, header, file, fileIndex);
          break;
        case "end":
          return;
        case "error": {
          const { code, message, context, hint, exitCode } = m.error;
          throw code ? new BulkUsersError(code, message, { context, hint, exitCode }) : new Error(message);
        }
      }
    }
  } finally {
    // Done, or stopped early (Ctrl-C, --max-errors, an error): the worker closes the file as it ends.
    await worker.terminate();
  }
}
