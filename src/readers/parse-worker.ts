// Worker entry of the parse thread (see parse-thread.ts): reads one CSV or JSONL file and posts its chunks.
import { parentPort, workerData } from "node:worker_threads";
import { BulkUsersError } from "../errors.js";
import { readCsvChunks } from "./csv.js";
import { readJsonlChunks } from "./jsonl.js";
import { openFile } from "./open.js";
import type { ThreadInput, ThreadMessage } from "./parse-thread.js";

const input = workerData as ThreadInput;
const port = parentPort!;
const post = (m: ThreadMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

// Credits: chunks the reading side has not taken yet (it returns them in groups). At zero the
// worker stops reading, so a slow consumer holds at most `window` chunks in memory. The other
// message is the columns a JSONL file's mapping reads, the answer to its first record's keys.
let credits = input.window;
let columns: string[] | undefined;
let wake: (() => void) | undefined;
port.on("message", (m: number | { columns: string[] }) => {
  if (typeof m === "number") credits += m;
  else columns = m.columns;
  wake?.();
});
const until = async (ready: () => boolean) => {
  while (!ready()) await new Promise<void>((resolve) => (wake = resolve));
};
const sent = async () => {
  credits--;
  await until(() => credits > 0);
};

try {
  const src = openFile(input.file);
  if (input.format === "csv") {
    for await (const chunk of readCsvChunks(src, input.file, input.fileIndex, { ...input.opts, compact: true }, (cols) => post({ type: "header", columns: cols }))) {
      if (chunk.rows) throw new Error("CSV parse thread: expected compact chunks");
      const lines = Int32Array.from(chunk.lines);
      post({ type: "chunk", columns: chunk.columns, lines, errors: chunk.errors }, [lines.buffer]);
      await sent();
    }
  } else {
    const columnsFor = async (keys: string[]) => {
      post({ type: "header", columns: keys });
      await until(() => columns !== undefined);
      return columns!;
    };
    for await (const chunk of readJsonlChunks(src, input.file, input.fileIndex, { keepText: input.keepText }, columnsFor)) {
      post({ type: "chunk", ...chunk }, [chunk.lines.buffer as ArrayBuffer]);
      await sent();
    }
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
