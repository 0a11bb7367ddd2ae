import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { tmp } from "../helpers.js";

// The worker runs compiled code: this drives dist/ (built by the global setup), as the CLI does.
type Threaded = typeof import("../../src/readers/parse-thread.js");
const { readFileThreaded } = (await import(pathToFileURL("dist/readers/parse-thread.js").href)) as Threaded;

/** How far this process has read `file` (Linux: the offset of the descriptor open on it). */
function readOffset(file: string): number | undefined {
  for (const fd of readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target === file) return Number(/^pos:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1]);
  }
  return undefined;
}

describe.runIf(process.platform === "linux")("parse thread backpressure", () => {
  const dir = tmp("bu-bp-");
  const rows = 300_000;
  const csvFile = `${dir}/big.csv`;
  writeFileSync(csvFile, `user_id,name\n${Array.from({ length: rows }, (_, i) => `u${i},"Name, ${i}"`).join("\n")}\n`);
  const jsonlFile = `${dir}/big.jsonl`;
  writeFileSync(jsonlFile, `${Array.from({ length: rows }, (_, i) => JSON.stringify({ user_id: `u${i}`, name: { first: "A", last: `${i}` } })).join("\n")}\n`);

  it.each([
    ["csv", csvFile, { format: "csv" as const, opts: {} }],
    ["jsonl", jsonlFile, { format: "jsonl" as const, columnsFor: () => ["user_id", "name.last"] }],
  ])("%s: a reader that stops taking chunks stops the worker within its window, and gets every row once it reads on", async (_, file, job) => {
    const size = readFileSync(file).length;
    const it = readFileThreaded(file, 0, job)[Symbol.asyncIterator]();
    let n = (await it.next()).value!.length;
    // Long enough for an unchecked worker to read the whole file several times over.
    await new Promise((r) => setTimeout(r, 1500));
    const at = readOffset(file);
    expect(at, "the worker read the whole file (and closed it) while nobody took its chunks").toBeDefined();
    // 16 chunks of 64 KiB in flight, plus the stream's and the parser's buffers.
    expect(at!).toBeLessThan(2.5 * 2 ** 20);
    expect(at!).toBeLessThan(size / 4);
    for (let r = await it.next(); !r.done; r = await it.next()) n += r.value.length;
    expect(n).toBe(rows);
  });
});
