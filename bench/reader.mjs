// The reader alone, no mapping or report: `node bench/reader.mjs <thread|one> <file>`, beside
// `node bench/bare.mjs csv-events|jsonl <file>` for how far the reader is from the bare parser.
// A JSONL file read in the thread sends the columns bench/zego.jsonl.mapping.yaml reads.
// Prints {kind, rows, ms} like bench/bare.mjs (needs a build: `npm run build`).
import { createReadStream } from "node:fs";
import { readCsvBatches } from "../dist/readers/csv.js";
import { readJsonlBatches } from "../dist/readers/jsonl.js";
import { readFileThreaded } from "../dist/readers/parse-thread.js";

const [mode, file] = process.argv.slice(2);
if (mode !== "thread" && mode !== "one") throw new TypeError(`Expected thread or one, got ${mode}`);
const jsonl = file.endsWith(".jsonl");
const stream = () => createReadStream(file, { highWaterMark: 1 << 16 });
let n = 0;
const t = performance.now();
const src =
  mode === "thread"
    ? readFileThreaded(file, 0, jsonl ? { format: "jsonl", columnsFor: () => ["user_id", "name.first", "name.last", "avatar"] } : { format: "csv", opts: {} })
    : jsonl
      ? readJsonlBatches(stream(), file, 0)
      : readCsvBatches(stream(), file, 0, {});
for await (const batch of src) n += batch.length;
process.stdout.write(`${JSON.stringify({ kind: `reader-${mode}`, rows: n, ms: performance.now() - t })}\n`);
