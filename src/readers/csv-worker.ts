// Worker entry of the parse thread (see csv-thread.ts): reads one CSV file and posts its chunks.
import { createReadStream } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { BulkUsersError } from "../errors.js";
import { readCsvChunks } from "./csv.js";
import type { ThreadInput, ThreadMessage } from "./csv-thread.js";

const input = workerData as ThreadInput;
const port = parentPort!;
const post = (m: ThreadMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

// Credits: chunks the reading side has not taken yet. At zero the worker stops reading, so a
// slow consumer holds at most `window` chunks in memory.
let credits = input.window;
let wake: (() => void) | undefined;
port.on("message", () => {
  credits++;
  wake?.();
});

try {
  const src = createReadStream(input.file, { highWaterMark: 1 << 16 });
  for await (const chunk of readCsvChunks(src, input.file, input.fileIndex, { ...input.opts, compact: true }, (columns) => post({ type: "header", columns }))) {
    if (chunk.rows) throw new Error("CSV parse thread: expected compact chunks");
    const lines = Int32Array.from(chunk.lines);
    post({ type: "chunk", columns: chunk.columns, lines, errors: chunk.errors }, [lines.buffer]);
    credits--;
    while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
  }
  post({ type: "end" });
} catch (e) {
  const err = e as Partial<BulkUsersError> & Error;
  post({
    type: "error",
    error: e instanceof BulkUsersError ? { code: e.code, message: e.message, context: e.context, hint: e.hint, exitCode: e.exitCode } : { message: err.message ?? String(e) },
  });
}
port.close();
