// The CSV reader alone, no mapping or report: `node bench/reader.mjs <thread|one> <file>`, beside
// `node bench/bare.mjs csv-events <file>` for how far the reader is from bare csv-parse.
// Prints {kind, rows, ms} like bench/bare.mjs (needs a build: `npm run build`).
import { createReadStream } from "node:fs";
import { readCsvBatches } from "../dist/readers/csv.js";
import { readCsvFileThreaded } from "../dist/readers/csv-thread.js";

const [mode, file] = process.argv.slice(2);
if (mode !== "thread" && mode !== "one") throw new TypeError(`Expected thread or one, got ${mode}`);
let n = 0;
const t = performance.now();
const src = mode === "thread" ? readCsvFileThreaded(file, 0, {}) : readCsvBatches(createReadStream(file, { highWaterMark: 1 << 16 }), file, 0, {});
for await (const batch of src) n += batch.length;
process.stdout.write(`${JSON.stringify({ kind: `reader-${mode}`, rows: n, ms: performance.now() - t })}\n`);
