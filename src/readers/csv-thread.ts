import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { BulkUsersError, type ErrorCode, type ErrorContext } from "../errors.js";
import type { SourceRecord } from "../types.js";
import { materialize, type CsvChunk, type CsvReadOptions } from "./csv.js";

/**
 * Parse thread: for a big CSV file, csv-parse runs in a worker thread and this thread maps,
 * validates and reports, so the two halves of a dry run overlap on two cores. The worker sends
 * compact chunks (each column's cells as one string or its UTF-8 bytes, a line array), not record
 * objects, so crossing threads costs a few copies per chunk.
 */
export type ParseThread = "auto" | "on" | "off";

/** Files from this size up are parsed in the worker under `auto`: below it, starting one costs more than it saves. */
export const PARSE_THREAD_MIN_BYTES = 4 << 20;

export interface ThreadInput {
  file: string;
  fileIndex: number;
  opts: CsvReadOptions;
  /** Chunks the worker may have sent ahead of the reader. */
  window: number;
}

export type ThreadMessage =
  | { type: "header"; columns: string[] }
  | { type: "chunk"; columns: (string | Uint8Array)[]; lines: Int32Array; errors: Extract<CsvChunk, { lines: unknown }>["errors"] }
  | { type: "end" }
  | { type: "error"; error: { code?: ErrorCode; message: string; context?: ErrorContext; hint?: string; exitCode?: number } };

const WORKER = new URL("./csv-worker.js", import.meta.url);

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

/** `readCsvBatches` of a file, parsed in a worker thread. */
export async function* readCsvFileThreaded(file: string, fileIndex: number, opts: CsvReadOptions, onHeader?: (columns: string[]) => void): AsyncGenerator<SourceRecord[]> {
  const window = 4;
  // A long run grows a worker's young generation to V8's default cap (32 MiB of new space) for no
  // gain here: 12 MiB (4 MiB semi-spaces) keeps its heap near 16 MiB instead of 40 (measured, 1M rows).
  const worker = new Worker(WORKER, { workerData: { file, fileIndex, opts, window } satisfies ThreadInput, resourceLimits: { maxYoungGenerationSizeMb: 12 } });
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
  worker.on("exit", (code) => {
    if (code !== 0) failure ??= new Error(`CSV parse thread stopped with exit code ${code} (${file})`);
    notify();
  });
  let header: string[] = [];
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
          header = m.columns;
          onHeader?.(header);
          break;
        case "chunk":
          worker.postMessage(1);
          yield materialize(m, header, file, fileIndex);
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
