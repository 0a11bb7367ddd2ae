import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readCsv, readCsvChunks, materialize } from "../../src/readers/csv.js";

// Random small files of mixed line ends and quoting, read by each path and compared with a plain
// reference reading: whatever the first line ends in, CRLF and LF end a record (and a CR alone if
// the first line ended so); quoted cells keep their line breaks; lines count every break.

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

function generate(rnd: () => number): string {
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
  const ends = ["\n", "\r\n", "\r"];
  const first = pick(ends);
  let text = "k,v" + first;
  const rows = 1 + Math.floor(rnd() * 6);
  for (let i = 0; i < rows; i++) {
    const cells: string[] = [];
    for (let j = 0, n = rnd() < 0.9 ? 2 : pick([1, 3]); j < n; j++) {
      const parts = Array.from({ length: Math.floor(rnd() * 4) }, () => (rnd() < 0.4 ? pick(["a", ",", "\r", "\n", '""', "\r\n"]) : pick(["a", "b", "\r"])));
      cells.push(rnd() < 0.4 ? `"${parts.join("")}"` : parts.filter((p) => p === "a" || p === "b" || p === "\r").join(""));
    }
    text += cells.join(",") + (i === rows - 1 && rnd() < 0.3 ? "" : rnd() < 0.5 ? first : pick(ends));
    if (rnd() < 0.1) text += pick(ends);
  }
  return text;
}

/** [line, cells or error code] per row; null for a file whose quoting is broken (not compared). */
function reference(text: string): [number, unknown][] | null {
  const at = text.search(/[\r\n]/);
  const kinds = text[at] === "\n" ? ["\n", "\r\n"] : text[at + 1] === "\n" ? ["\r\n", "\n"] : ["\r\n", "\r", "\n"];
  const endAt = (p: number) => kinds.find((d) => text.startsWith(d, p))?.length ?? 0;
  const breaks = (s: string) => (s.match(/\r\n|\r|\n/g) ?? []).length;
  const records: [number, string[]][] = [];
  let p = 0;
  let line = 1;
  while (p < text.length) {
    const cells: string[] = [];
    let cell = "";
    let ended = 0;
    for (;;) {
      if (text[p] === '"' && cell === "") {
        for (p++; ; ) {
          if (p >= text.length) return null;
          if (text.startsWith('""', p)) (cell += '"'), (p += 2);
          else if (text[p] === '"') break;
          else cell += text[p++];
        }
        p++;
        if (p < text.length && text[p] !== "," && !endAt(p)) return null;
      }
      if (p >= text.length) break;
      if (text[p] === ",") {
        cells.push(cell);
        cell = "";
        p++;
        continue;
      }
      if ((ended = endAt(p))) break;
      if (text[p] === '"') return null;
      cell += text[p++];
    }
    cells.push(cell);
    p += ended;
    const start = line;
    line += cells.reduce((n, c) => n + breaks(c), 0) + (ended ? 1 : 0);
    if (cells.length !== 1 || cells[0]!.trim() !== "") records.push([start, cells]);
  }
  const header = records.shift()![1];
  return records.map(([l, c]) => [l, c.length !== header.length ? "CSV_COLUMN_COUNT" : Object.fromEntries(header.map((h, k) => [h, c[k]]))]);
}

describe("CSV line ends, against a reference reading", () => {
  it("reads 800 random files of mixed line ends and quoting alike on every path (records; compact chunks whole and a byte at a time)", async () => {
    const rnd = rng(20261202);
    let compared = 0;
    for (let n = 0; n < 800; n++) {
      const text = generate(rnd);
      const expected = reference(text);
      if (!expected) continue;
      compared++;
      const one: [number, unknown][] = [];
      for await (const r of readCsv(Readable.from([Buffer.from(text)]), "in.csv", 0)) one.push([r.line, r.error?.code ?? r.data]);
      expect(one, JSON.stringify(text)).toEqual(expected);
      for (const pieces of [[Buffer.from(text)], [...Buffer.from(text)].map((b) => Buffer.from([b]))]) {
        const got: [number, unknown][] = [];
        let header: string[] = [];
        for await (const c of readCsvChunks(Readable.from(pieces), "in.csv", 0, { compact: true }, (h) => (header = h)))
          got.push(...materialize(c, header, "in.csv", 0).map((r): [number, unknown] => [r.line, r.error?.code ?? r.data]));
        expect(got, JSON.stringify(text)).toEqual(expected);
      }
    }
    expect(compared).toBeGreaterThan(500);
  });
});
