// A bare parser reading one file, the throughput baseline: `node bench/bare.mjs <kind> <file>`.
// Prints {kind, rows, ms} (ms from just before reading to the last record, in this process).
// csv-parse with no options (array records), through each of its APIs:
//   csv-stream    parse() piped from createReadStream, async iterator (csv-parse samples/async.iterator.js)
//   csv-events    parse() piped from createReadStream, 'data' events
//   csv-callback  parse(buffer, callback) on the whole file
//   csv-sync      csv-parse/sync on the whole file
// and papaparse (step per row, from a stream), and JSON.parse per line for JSONL.
import { createReadStream, readFileSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { parse } from "csv-parse";
import { parse as parseSync } from "csv-parse/sync";
import Papa from "papaparse";

const [kind, file] = process.argv.slice(2);
let n = 0;
const t = performance.now();
if (kind === "csv-stream") {
  for await (const _ of createReadStream(file).pipe(parse())) n++;
} else if (kind === "csv-events") {
  await new Promise((resolve, reject) => {
    const p = createReadStream(file).pipe(parse());
    p.on("data", () => n++).on("end", resolve).on("error", reject);
  });
} else if (kind === "csv-callback") {
  n = await new Promise((resolve, reject) => parse(readFileSync(file), (err, records) => (err ? reject(err) : resolve(records.length))));
} else if (kind === "csv-sync") {
  n = parseSync(readFileSync(file)).length;
} else if (kind === "papaparse") {
  await new Promise((resolve, reject) => Papa.parse(createReadStream(file), { step: () => n++, complete: resolve, error: reject }));
} else if (kind === "jsonl") {
  const d = new StringDecoder("utf8");
  let rest = "";
  for await (const chunk of createReadStream(file)) {
    const text = rest + d.write(chunk);
    let start = 0;
    let nl;
    while ((nl = text.indexOf("\n", start)) !== -1) {
      if (nl > start) {
        JSON.parse(text.slice(start, nl));
        n++;
      }
      start = nl + 1;
    }
    rest = text.slice(start);
  }
} else {
  throw new TypeError(`Expected a kind (csv-stream, csv-events, csv-callback, csv-sync, papaparse, jsonl), got ${kind}`);
}
process.stdout.write(`${JSON.stringify({ kind, rows: n, ms: performance.now() - t })}\n`);
