import { spawnSync } from "node:child_process";
import { createRng } from "../../src/emulators/_base.js";
import { EventEmitter } from "node:events";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { valueGetter } from "../../src/mapping/path.js";
import { materialize, readCsvBatches, readCsvChunks } from "../../src/readers/csv.js";
import { materializeJsonl, readJsonlBatches, readJsonlChunks } from "../../src/readers/jsonl.js";
import type { ReportRow, SourceRecord } from "../../src/types.js";
import { tmp } from "../helpers.js";

// Gap tests from an audit of the parse thread: whatever the input, a run with --parse-thread on
// must read the records, errors, report and exit code that one thread reads.

// A stand-in for the worker in tests that script what the parse thread's port delivers; every
// other Worker (the real parse thread included) is node's own.
const fake = vi.hoisted(() => ({ next: undefined as undefined | ((...args: unknown[]) => object) }));
vi.mock("node:worker_threads", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:worker_threads")>();
  class Worker extends real.Worker {
    constructor(...args: ConstructorParameters<typeof real.Worker>) {
      const make = fake.next;
      fake.next = undefined;
      if (make) return make(...args) as Worker;
      super(...args);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});

const { Worker } = await import("node:worker_threads");
const src = (await import("../../src/readers/parse-thread.js")) as typeof import("../../src/readers/parse-thread.js");
// The worker runs compiled code: these drive dist/ (built by the global setup), as the CLI does.
type Readers = typeof import("../../src/readers/index.js");
type Threaded = typeof import("../../src/readers/parse-thread.js");
type Core = typeof import("../../src/core/import.js");
type Errors = typeof import("../../src/errors.js");
const dist = {
  ...((await import(pathToFileURL("dist/readers/index.js").href)) as Readers),
  ...((await import(pathToFileURL("dist/readers/parse-thread.js").href)) as Threaded),
  ...((await import(pathToFileURL("dist/core/import.js").href)) as Core),
  ...((await import(pathToFileURL("dist/errors.js").href)) as Errors),
};
const WORKER_FILE = new URL("../../dist/readers/parse-worker.js", import.meta.url);

const dir = tmp("bu-pt-audit-");
const B = 1 << 16;

type Rng = ReturnType<typeof createRng>;
const pickOf = (r: Rng) => <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;

/** A small CSV text with every kind of cell and line the reader treats specially, and sometimes a byte that is not UTF-8. */
function randomCsv(r: Rng): { buf: Buffer; maxCell: number } {
  const pick = pickOf(r);
  const pieces = ["a", "bc", "é", "王", "😀", " ", "", '""', "x".repeat(20), "\uFFFD", "\0", "\r", "\n", "\r\n", ",", '"', "\u2028"];
  const ends = ["\n", "\r\n", "\r"];
  const width = 1 + Math.floor(r() * 4);
  const end = () => (r() < 0.8 ? "\n" : pick(ends));
  let out = (r() < 0.2 ? "\uFEFF" : "") + Array.from({ length: width }, (_, i) => pick(["id", "name", "mail", "__proto__"]) + i).join(",") + end();
  const rows = Math.floor(r() * 300);
  const maxCell = r() < 0.3 ? 10 + Math.floor(r() * 30) : 65536;
  for (let i = 0; i < rows; i++) {
    if (r() < 0.05) {
      out += end();
      continue;
    }
    const w = r() < 0.9 ? width : Math.max(1, width + pick([-1, 1, 2]));
    const cells: string[] = [];
    for (let j = 0; j < w; j++) {
      let c = "";
      const special = r() < 0.15;
      for (let k = Math.floor(r() * 4); k > 0; k--) c += special ? pick(pieces) : pick(pieces.slice(0, 10));
      if (r() < 0.01) c = "y".repeat(maxCell + pick([-1, 0, 1, 5]));
      if (/[",\r\n]/.test(c) || r() < 0.2) c = r() < 0.97 ? `"${c.replace(/"/g, '""')}"` : `"${c}`;
      cells.push(c);
    }
    out += cells.join(",") + (i === rows - 1 && r() < 0.3 ? "" : end());
  }
  const buf = Buffer.from(out);
  if (r() < 0.2) buf[Math.floor(r() * buf.length)] = pick([0xff, 0xc3, 0xe2, 0x80]);
  return { buf, maxCell };
}

/** A small JSONL text: objects and not, blank lines, every value type, keys escaped, repeated, inherited, CR and CRLF ends, sometimes a bad byte. */
function randomJsonl(r: Rng): { buf: Buffer; maxLine: number } {
  const pick = pickOf(r);
  const strs = ["a", "é", "王", "😀", "\\n", "\\u0000", '\\"', " ", "\u2028", "\\ud800", "x".repeat(30), "\\u00e9"];
  const str = () => {
    let s = "";
    for (let n = Math.floor(r() * 4); n > 0; n--) s += pick(strs);
    return `"${s}"`;
  };
  const keys = ["id", "name", "first", "n", "__proto__", "constructor", "a", "b", "a.b", "tags", "late", "other", "\\u0069d"];
  const val = (d: number): string => {
    const x = r();
    if (x < 0.4 || d > 2) return str();
    if (x < 0.55) return pick(["0", "-1.5e3", "12345678901234567890", "true", "false", "null", "-0"]);
    if (x < 0.8) return obj(d + 1);
    return `[${val(d + 1)},${val(d + 1)}]`;
  };
  const obj = (d: number): string => `{${Array.from({ length: Math.floor(r() * 5) }, () => `${pick(["", " ", "\t"])}"${pick(keys)}":${pick(["", " "])}${val(d)}`).join(",")}}`;
  let out = r() < 0.2 ? "\uFEFF" : "";
  const rows = Math.floor(r() * 400);
  for (let i = 0; i < rows; i++) {
    const x = r();
    let line: string;
    if (x < 0.05) line = pick(["", "  ", "\t", " \u00a0 "]);
    else if (x < 0.1) line = pick(["[1]", "null", "42", '"s"', "{", '{"id":', "}{", "{}", "{} {}", '{"id":"a"}x']);
    else if (x < 0.12) line = `{"id":"big","name":"${"z".repeat(Math.floor(r() * 3000))}"}`;
    else line = obj(0).replace(/^\{/, `{"id":${str()}${r() < 0.9 ? "," : ""}`).replace(/,}$/, "}");
    if (r() < 0.03) {
      const at = Math.floor(r() * line.length);
      line = line.slice(0, at) + line.slice(at + 1);
    }
    out += pick(["", "", "", " "]) + line + (i === rows - 1 && r() < 0.3 ? "" : r() < 0.85 ? "\n" : pick(["\n", "\r\n", "\r"]));
  }
  const buf = Buffer.from(out);
  if (r() < 0.2) buf[Math.floor(r() * buf.length)] = pick([0xff, 0xc3, 0xe2, 0x80]);
  return { buf, maxLine: r() < 0.3 ? 50 + Math.floor(r() * 400) : 1 << 20 };
}

/** The bytes in random pieces, many of a few bytes (a multibyte character, a CRLF, a doubled quote cut apart). */
function pieces(buf: Buffer, r: Rng): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const n = r() < 0.5 ? 1 + Math.floor(r() * 8) : 1 + Math.floor(r() * 300);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** The pieces as a stream, with turns of the event loop between some of them (the parser's output then reaches the reader in other stretches). */
function stream(parts: Buffer[], r: Rng): Readable {
  const waits = parts.map(() => r() < 0.4);
  return Readable.from(
    (async function* () {
      for (let i = 0; i < parts.length; i++) {
        if (waits[i]) await new Promise((res) => setImmediate(res));
        yield Buffer.from(parts[i]!);
      }
    })(),
  );
}

async function settle<T>(read: () => Promise<T[]>): Promise<(T | { thrown: string })[]> {
  try {
    return await read();
  } catch (e) {
    return [{ thrown: (e as Error).message }];
  }
}

const plain = (rs: SourceRecord[]) => rs.map((r) => ({ ...r, data: { ...r.data } }));

/** The first record where two readings part, for the failure message. */
function firstDifference(a: unknown[], b: unknown[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (!isDeepStrictEqual(a[i], b[i])) return `record ${i}: ${JSON.stringify(a[i])} vs ${JSON.stringify(b[i])}`;
  return "none";
}

const COLS = ["id", "name", "name.first", "n", "__proto__", "constructor", "a.b", "tags", "missing", "late"];
const GETTERS = COLS.map(valueGetter);
/** What a mapping can see of a JSONL record: its line, its error and `raw`, and each column as the getter reads it. */
const seen = (r: SourceRecord) => ({ line: r.line, error: r.error, raw: r.raw, values: r.error ? r.data : GETTERS.map((g) => g(r.data)) });

describe("compact chunks and the JSONL chunk path, against one thread (seeded, random reads)", () => {
  it("CSV: compact chunks, cloned and materialized, are the records read as objects from the same bytes, whatever the pieces and their timing", async () => {
    for (let seed = 1; seed <= 160; seed++) {
      const r = createRng(seed);
      const { buf, maxCell } = randomCsv(r);
      const opts = { maxCellLength: maxCell };
      // The same pieces on both paths (a cell cut at a read's end is decided per read, as the file's 64 KiB reads are on both threads).
      const parts = r() < 0.3 ? [buf] : pieces(buf, r);
      const one = await settle(async () => {
        const out: SourceRecord[] = [];
        for await (const b of readCsvBatches(stream(parts, r), "in.csv", 0, opts)) out.push(...b);
        return plain(out);
      });
      const compact = await settle(async () => {
        const out: SourceRecord[] = [];
        let header: string[] = [];
        for await (const c of readCsvChunks(stream(parts, r), "in.csv", 0, { ...opts, compact: true }, (h) => (header = h))) out.push(...materialize(structuredClone(c), header, "in.csv", 0));
        return plain(out);
      });
      expect(isDeepStrictEqual(compact, one), `seed ${seed}: ${firstDifference(compact, one)}`).toBe(true);
    }
  });

  it("JSONL: chunks, cloned and materialized, give every line's error, raw text and column values as JSON.parse does, whatever the pieces", async () => {
    let scanned = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = createRng(seed);
      const { buf, maxLine } = randomJsonl(r);
      const opts = { maxLineLength: maxLine, keepText: r() < 0.5 };
      const one = await settle(async () => {
        const out = [];
        for await (const b of readJsonlBatches(stream(pieces(buf, r), r), "in.jsonl", 0, opts)) out.push(...b.map(seen));
        return out;
      });
      const chunked = await settle(async () => {
        const out = [];
        for await (const c of readJsonlChunks(stream(pieces(buf, r), r), "in.jsonl", 0, opts, async () => COLS)) {
          scanned += c.lines.length - c.errors.length;
          out.push(...materializeJsonl(structuredClone(c), COLS, "in.jsonl", 0).map(seen));
        }
        return out;
      });
      expect(isDeepStrictEqual(chunked, one), `seed ${seed}: ${firstDifference(chunked, one)}`).toBe(true);
    }
    expect(scanned).toBeGreaterThan(10_000);
  });
});

/** Builds a file whose chosen bytes land on the 64 KiB reads' boundaries. */
class Boundaries {
  private parts: Buffer[] = [];
  private size = 0;
  private n = 0;
  constructor(private readonly row: (i: number, pad: number) => string) {}
  add(b: string | Buffer): this {
    const buf = typeof b === "string" ? Buffer.from(b) : b;
    this.parts.push(buf);
    this.size += buf.length;
    return this;
  }
  /** Ordinary rows, then one padded, so that the next byte written is at `target`. */
  fillTo(target: number): this {
    const min = Buffer.byteLength(this.row(this.n, 0));
    while (target - this.size > 400) this.add(this.row(this.n++, 0));
    if (target - this.size < min) throw new Error(`cannot reach ${target} from ${this.size}`);
    return this.add(this.row(this.n++, target - this.size - min));
  }
  /** `prefix` + `token` + `suffix`, with byte `at` of the token on the next boundary from here. */
  straddle(prefix: string, token: string | Buffer, at: number, suffix: string): this {
    const boundary = (Math.floor(this.size / B) + 2) * B;
    this.fillTo(boundary - Buffer.byteLength(prefix) - at);
    return this.add(prefix).add(token).add(suffix);
  }
  rows(count: number): this {
    for (let i = 0; i < count; i++) this.add(this.row(this.n++, 0));
    return this;
  }
  write(name: string): string {
    const path = `${dir}/${name}`;
    writeFileSync(path, Buffer.concat(this.parts));
    return path;
  }
}

const csvRow = (i: number, pad: number) => `u${i},Name ${"x".repeat(pad)},m${i}@example.com\n`;
const jsonlRow = (i: number, pad: number) => `${JSON.stringify({ id: `u${i}`, name: { first: "A", last: `L${i}` }, n: i, x: "p".repeat(pad) })}\n`;

function boundaryCsv(): string {
  const f = new Boundaries(csvRow).add("\uFEFFid,name,mail\n");
  for (let at = 0; at < 4; at++) f.straddle("e1,", "😀", at, ",e@example.com\n");
  f.straddle("e2,", "é", 1, "\n").straddle("e3,Zoë,m@example.com", "\r\n", 1, "");
  f.straddle("e4,", Buffer.from([0xff]), 0, "bad,m@example.com\n");
  f.straddle('e5,"two', "\n", 0, 'lines",m@example.com\n');
  f.straddle('e6,"a', '""', 1, 'b",m@example.com\n');
  f.straddle("e7,", "y".repeat(65536), 3000, ",m@example.com\n");
  f.straddle("e8,", "y".repeat(65537), 3000, ",m@example.com\n");
  f.straddle("e9,too,many", ",", 0, "cells\n");
  f.straddle("e10,x", "\n\n\n", 1, "");
  f.straddle("e11,a", '"', 0, "b,m@example.com\n");
  f.straddle('e12,"open', "\n", 0, 'and"closed wrong,m@example.com\n');
  f.straddle("e13,Zoë", "\r", 0, "u,cr-alone@example.com\n");
  f.straddle("e14,", "\uFFFD", 1, ",m@example.com\n");
  f.rows(500).add("e15,nul\0here,m@example.com\n").rows(500);
  return f.add("last,no newline,m@example.com").write("boundary.csv");
}

function boundaryJsonl(): string {
  const f = new Boundaries(jsonlRow).add(`\uFEFF${jsonlRow(0, 0)}`);
  for (let at = 0; at < 4; at++) f.straddle('{"id":"e1","name":"', "😀", at, '"}\n');
  f.straddle('{"id":"e2","other":"', "😀", 2, '"}\n');
  f.straddle('{"id":"e3"}', "\r\n", 1, "");
  f.straddle('{"id":"e4","name":"', Buffer.from([0xff]), 0, '"}\n');
  f.straddle('{"id":"e5","name":"\\u00', "e9", 0, '"}\n');
  f.straddle('{"id":"e6","name":"', "z".repeat(200_000), 70_000, '"}\n');
  f.straddle('{"id":"e7","name":"', `${"z".repeat(600_000)}\r${"z".repeat(600_000)}`, 1000, '"}\n');
  f.straddle('{"id":"e8"', ",", 0, '"late":"only here","n":true}\n');
  f.straddle("", "\n  \n\t\n", 2, "");
  f.straddle("[1,", "2", 0, "]\nnull\n42\n\"s\"\n");
  f.straddle('{"id":"e9","n":1,"n":', "{", 0, '"k":2},"name":"x","name":{"first":"F"}}\n');
  f.straddle('{"id":"e10","__proto__":', '"P"', 1, ',"constructor":"C","a.b":null,"a":{"b":"nested"},"tags":[1,{"t":2}]}\n');
  f.straddle('{"id":"e11","name":', "12345678901234567890", 5, ',"n":-0,"tags":false,"late":null}\n');
  f.straddle('{"id":"e12","name":"', "\\u0000", 3, '","n":"nul"}\n');
  f.straddle('{"id":"e13"', "\r", 0, '"name":"cr alone"}\n');
  f.straddle('{"id":"e14","name":"broken', '"', 0, "\n");
  // Nested too deep to cross threads as values: sent as its line, parsed on the reading side, between records sent as columns.
  f.straddle('{"id":"e15","other":', `${"[".repeat(1100)}${"]".repeat(1100)}`, 10, ',"name":"after deep"}\n');
  f.rows(300);
  return f.add(JSON.stringify({ id: "last", late: "no newline" })).write("boundary.jsonl");
}

async function readAll(file: string, mode: "on" | "off", opts: { keepText?: boolean; columns?: string[] } = {}) {
  const out: unknown[] = [];
  const columns: string[][] = [];
  const threaded: string[] = [];
  const jsonl = file.endsWith(".jsonl");
  try {
    for await (const batch of dist.readInputBatches([file], {
      parseThread: mode,
      keepText: opts.keepText,
      onColumns: (_f, c) => columns.push(c),
      columnsFor: () => opts.columns ?? COLS,
      onParseThread: (f) => threaded.push(f),
    }))
      for (const r of batch) out.push(jsonl ? seen(r) : { ...r, data: { ...r.data } });
  } catch (e) {
    out.push({ thrown: (e as Error).message });
  }
  return { out, columns, threaded };
}

describe("the parse thread (compiled worker) against one thread, on files whose special bytes sit on the 64 KiB reads' boundaries", () => {
  it("CSV: multibyte characters, CRLF, a bad byte, quotes and line breaks cut by a read, cells at and over the limit across reads, a NUL, no last newline", async () => {
    const file = boundaryCsv();
    const off = await readAll(file, "off");
    const on = await readAll(file, "on");
    expect(on.threaded).toEqual([file]);
    expect(off.threaded).toEqual([]);
    expect(isDeepStrictEqual(on.out, off.out), firstDifference(on.out, off.out)).toBe(true);
    expect(on.columns).toEqual([["id", "name", "mail"]]);
    const recs = on.out as SourceRecord[];
    const by = (id: string) => recs.filter((r) => r.data.id === id);
    expect(by("e1").map((r) => r.data.name)).toEqual(["😀", "😀", "😀", "😀"]);
    expect(by("e2")[0]!.data.name).toBe("é");
    expect(by("e3")[0]!.data).toEqual({ id: "e3", name: "Zoë", mail: "m@example.com" });
    expect(by("e4")[0]!.error?.code).toBe("INVALID_UTF8");
    expect(by("e5")[0]!.data.name).toBe("two\nlines");
    expect(by("e6")[0]!.data.name).toBe('a"b');
    expect(by("e7")[0]!.error).toBeUndefined();
    expect(by("e8")[0]!.error?.code).toBe("CELL_TOO_LARGE");
    expect(by("e9")[0]!.error?.code).toBe("CSV_COLUMN_COUNT");
    expect(by("e14")[0]!.error?.code).toBe("INVALID_UTF8");
    expect(by("e15")[0]!.error?.code).toBe("NUL_CHARACTER");
    expect(recs.at(-1)).toMatchObject({ data: { id: "last", name: "no newline" } });
    // Every line is accounted for once, in order.
    const lines = recs.map((r) => r.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    expect(new Set(lines).size).toBe(lines.length);
  });

  it("JSONL: the same lines, errors, raw text and column values, with keys met only in later records, repeated keys, __proto__, nested values and non-objects", async () => {
    const file = boundaryJsonl();
    for (const keepText of [false, true]) {
      const off = await readAll(file, "off", { keepText });
      const on = await readAll(file, "on", { keepText });
      expect(on.threaded).toEqual([file]);
      expect(isDeepStrictEqual(on.out, off.out), firstDifference(on.out, off.out)).toBe(true);
      // The columns are decided from the first block's records on both sides: a key of a later record ("late") is not among them, and not lost either.
      expect(on.columns).toEqual(off.columns);
      expect(on.columns[0]).not.toContain("late");
    }
    const kept = (await readAll(file, "on", { keepText: true })).out as ReturnType<typeof seen>[];
    const rawOf = (id: string) => kept.find((r) => !r.error && (r.values as unknown[])[0] === id)?.raw;
    expect(rawOf("e15")).toMatch(/^\{"id":"e15","other":\[{1100}\]{1100},"name":"after deep"\}$/);
    expect(rawOf("e3")).toBe('{"id":"e3"}');
    expect(rawOf("e8")).toBe('{"id":"e8","late":"only here","n":true}');
    const got = (await readAll(file, "on")).out as ReturnType<typeof seen>[];
    const col = (name: string) => COLS.indexOf(name);
    const row = (id: string) => got.find((r) => !r.error && (r.values as unknown[])[0] === id)!;
    expect(got[0]).toMatchObject({ line: 1, values: expect.arrayContaining(["u0"]) });
    expect(got.filter((r) => !r.error && (r.values as unknown[])[0] === "e1").map((r) => (r.values as unknown[])[col("name")])).toEqual(["😀", "😀", "😀", "😀"]);
    expect(row("e5").values).toContain("é");
    expect(((row("e6").values as unknown[])[col("name")] as string).length).toBe(200_000);
    expect((row("e8").values as unknown[])[col("late")]).toBe("only here");
    // The last of repeated keys, as JSON.parse keeps them.
    expect((row("e9").values as unknown[]).slice(1, 4)).toEqual([{ first: "F" }, "F", { k: 2 }]);
    expect(row("e10").values).toEqual(["e10", undefined, undefined, undefined, "P", "C", null, [1, { t: 2 }], undefined, undefined]);
    expect((row("e11").values as unknown[])[col("name")]).toBe(12345678901234567890);
    expect(Object.is((row("e11").values as unknown[])[col("n")], -0)).toBe(true);
    expect((row("e12").values as unknown[])[col("name")]).toBe("\0");
    const codes = got.filter((r) => r.error).map((r) => r.error!.code);
    expect(codes).toEqual(expect.arrayContaining(["INVALID_UTF8", "LINE_TOO_LARGE", "INPUT_NOT_OBJECT", "INPUT_BAD_JSON"]));
    expect(got.find((r) => r.error?.code === "LINE_TOO_LARGE")!.error!.message).toMatch(/line is 1200\d+ characters .* holds a CR/);
    expect(got.at(-1)).toMatchObject({ values: ["last", undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, "no newline"] });
  });

  it("files from seeded generators: the same records on both threads, CSV and JSONL (columns of every kind, some the file never holds)", async () => {
    for (let seed = 1; seed <= 8; seed++) {
      const r = createRng(seed * 7919);
      const pick = pickOf(r);
      // About 10–20 blocks of small random files glued together: their bad lines land anywhere.
      const csv = seed % 2 === 1;
      const parts: Buffer[] = [];
      let header: string | undefined;
      while (parts.reduce((n, p) => n + p.length, 0) < 12 * B) {
        if (csv) {
          const { buf } = randomCsv(r);
          const text = buf.toString("latin1");
          const nl = text.search(/\r\n|\n|\r/);
          if (nl === -1) continue;
          if (header === undefined) {
            header = text.slice(0, nl);
            parts.push(Buffer.from(`${header}\n`, "latin1"));
          }
          parts.push(buf.subarray(nl + 1), Buffer.from(pick(["\n", "\r\n"])));
        } else parts.push(randomJsonl(r).buf, Buffer.from("\n"));
      }
      const file = `${dir}/gen-${seed}.${csv ? "csv" : "jsonl"}`;
      writeFileSync(file, Buffer.concat(parts));
      const off = await readAll(file, "off", { keepText: true });
      const on = await readAll(file, "on", { keepText: true });
      expect(on.threaded).toEqual([file]);
      expect(isDeepStrictEqual(on.out, off.out), `seed ${seed}: ${firstDifference(on.out, off.out)}`).toBe(true);
      expect(on.columns).toEqual(off.columns);
    }
  });
});

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ["bin/bulk-users.js", ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same validate with the parse thread on and off: exit code, stderr, summary, report and --failed-out. */
function both(file: string, extra: string[] = [], failedOut?: string) {
  const [on, off] = (["on", "off"] as const).map((mode) => {
    const report = `${dir}/r-${mode}-${Math.random().toString(36).slice(2)}.jsonl`;
    const fix = failedOut && `${dir}/${mode}-${failedOut}`;
    const r = cli(["validate", file, "-p", "zego", "--report", report, "--json", "--parse-thread", mode, ...(fix ? ["--failed-out", fix] : []), ...extra]);
    const summary = r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
    if (summary) for (const k of ["durationMs", "usersPerSecond", "report", "failedOut"]) delete summary[k];
    let rows = "";
    try {
      rows = readFileSync(report, "utf8");
    } catch {
      /* a run-level error writes no rows */
    }
    // A warning may name the --failed-out path, which differs between the two runs.
    const stderr = fix ? r.stderr.replaceAll(fix, "<failed-out>") : r.stderr;
    return { code: r.code, stderr, summary, rows, fixed: fix ? readFileSync(fix, "utf8") : undefined };
  });
  return { on: on!, off: off! };
}

describe("validate with --parse-thread on reports as with off", () => {
  const mapping = `${dir}/m.yaml`;
  writeFileSync(mapping, 'fields:\n  UserId: id\n  UserName: { template: "{name.first}{late}", transform: [trim] }\n  UserAvatar: { column: n, default: "https://example.com/a.png" }\n');

  it("JSONL on the 64 KiB boundaries, with a mapping and without (columns guessed from the first records), with --failed-out as JSONL and as CSV", () => {
    const file = boundaryJsonl();
    for (const out of ["fix.jsonl", "fix.csv"]) {
      const { on, off } = both(file, ["-m", mapping], out);
      expect(on).toEqual(off);
      expect(on.code).toBe(1);
      expect(on.rows.split("\n").length).toBeGreaterThan(300);
      // The row with a key only later records hold maps it, on both threads.
      expect(rowsOf(on.rows).find((r) => r.key === "e8")).toMatchObject({ status: "invalid", field: "UserAvatar" });
    }
    // No mapping: the first records' keys make it (`id` is no key field: exit 2, on both).
    const refused = both(file);
    expect(refused.on).toEqual(refused.off);
    expect(refused.on.code).toBe(2);
    // Fields guessed from keys that only later records hold (past the first 64 KiB block) are read there on both threads.
    const late = `${dir}/late.jsonl`;
    const early = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ user_id: `u${i}`, meta: { i } }));
    const later = [JSON.stringify({ user_id: "v1", UserAvatar: "a".repeat(501) }), JSON.stringify({ user_id: "v2", UserName: "n".repeat(65) }), JSON.stringify({ user_id: "v3", user_name: "n".repeat(65) })];
    writeFileSync(late, `${[...early, ...later].join("\n")}\n`);
    const auto = both(late, [], "auto.jsonl");
    expect(auto.on).toEqual(auto.off);
    expect(rowsOf(auto.on.rows).filter((r) => r.status !== "valid").map((r) => [r.key, r.field])).toEqual([
      ["v1", "UserAvatar"],
      ["v2", "UserName"],
    ]);
  });

  it("CSV on the 64 KiB boundaries, and both formats stopped by --max-errors at the same row", () => {
    const csvMap = `${dir}/csv.yaml`;
    writeFileSync(csvMap, "fields:\n  UserId: id\n  UserName: name\n");
    const csv = boundaryCsv();
    const whole = both(csv, ["-m", csvMap], "fix.csv");
    expect(whole.on).toEqual(whole.off);
    expect(whole.on.code).toBe(1);
    for (const [file, extra] of [
      [csv, ["-m", csvMap]],
      [boundaryJsonl(), ["-m", mapping]],
    ] as const) {
      const { on, off } = both(file, [...extra, "--max-errors", "3"]);
      expect(on).toEqual(off);
      expect(on.code).toBe(3);
      expect(rowsOf(on.rows).filter((r) => r.status === "invalid")).toHaveLength(3);
    }
  });
});

const rowsOf = (text: string) => text.trim().split("\n").map((l) => JSON.parse(l) as ReportRow);

/** Threads of this process (Linux): a parse thread's worker is one while it runs. */
const threads = () => readdirSync("/proc/self/task").length;

/** A big file of plain rows, many chunks long. */
function bigCsv(rows = 200_000): string {
  const path = `${dir}/big-${rows}.csv`;
  writeFileSync(path, `id,name\n${Array.from({ length: rows }, (_, i) => `u${i},"Name, ${i}"`).join("\n")}\n`);
  return path;
}
function bigJsonl(rows = 200_000): string {
  const path = `${dir}/big-${rows}.jsonl`;
  writeFileSync(path, `${Array.from({ length: rows }, (_, i) => JSON.stringify({ id: `u${i}`, name: { first: "A", last: `${i}` } })).join("\n")}\n`);
  return path;
}

/** Chunk messages a worker posts; resolves once `n` came, or with what came when `ms` passed. */
function chunksFrom(w: InstanceType<typeof Worker>) {
  let count = 0;
  let header: string[] | undefined;
  let waiter: { n: number; resolve: (n: number) => void } | undefined;
  w.on("message", (m: { type: string; columns?: string[] }) => {
    if (m.type === "header") header = m.columns;
    if (m.type === "chunk") count++;
    if (waiter && count >= waiter.n) waiter.resolve(count);
  });
  return {
    get count() {
      return count;
    },
    get header() {
      return header;
    },
    until(n: number, ms = 20_000) {
      if (count >= n) return Promise.resolve(count);
      return new Promise<number>((resolve) => {
        const t = setTimeout(() => resolve(count), ms);
        waiter = {
          n,
          resolve: (c) => {
            clearTimeout(t);
            resolve(c);
          },
        };
      });
    },
  };
}

const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(process.platform === "linux")("credits, slow readers and stopping", () => {
  it.each(["csv", "jsonl"] as const)("%s: the worker sends exactly its window ahead, then one chunk per credit, whenever the credits come", async (format) => {
    const file = format === "csv" ? bigCsv() : bigJsonl();
    const w = new Worker(WORKER_FILE, { workerData: { file, fileIndex: 0, window: 5, format, opts: {} } });
    try {
      const got = chunksFrom(w);
      if (format === "jsonl") {
        // The columns the main thread answers the first record's keys with.
        while (!got.header) await quiet(10);
        expect(got.header).toEqual(["id", "name"]);
        w.postMessage({ columns: ["id", "name.last"] });
      }
      expect(await got.until(5)).toBe(5);
      // Time enough to run far ahead: it must not.
      await quiet(400);
      expect(got.count).toBe(5);
      w.postMessage(1);
      expect(await got.until(6)).toBe(6);
      await quiet(200);
      expect(got.count).toBe(6);
      // Credits add up: three at once are three more chunks, not a new window of three.
      w.postMessage(2);
      w.postMessage(1);
      expect(await got.until(9)).toBe(9);
      await quiet(200);
      expect(got.count).toBe(9);
    } finally {
      await w.terminate();
    }
  });

  it("returns credits in fours, and posts a JSONL file's columns before any credit", async () => {
    const chunk = (line: number) => ({ type: "chunk", columns: [`u${line}`], lines: Int32Array.from([line]), errors: [], others: [] });
    let w: ReturnType<typeof scripted> | undefined;
    let options: { workerData?: { window?: number } } | undefined;
    fake.next = (_url, o) => {
      options = o as typeof options;
      return (w = scripted([["message", { type: "header", columns: ["id", "x"] }], ...Array.from({ length: 9 }, (_, i) => ["message", chunk(i + 1)] as [string, unknown]), ["message", { type: "end" }]]));
    };
    const ids: unknown[] = [];
    for await (const batch of src.readFileThreaded("in.jsonl", 0, { format: "jsonl", columnsFor: (keys) => (keys.includes("id") ? ["id"] : []) })) ids.push(...batch.map((r) => r.data.id));
    expect(ids).toEqual(["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"]);
    expect(w!.posted).toEqual([{ columns: ["id"] }, 4, 4]);
    expect(w!.terminated).toBe(true);
    // At most 16 chunks ahead (README: "at most 16 chunks of 64 KiB ahead").
    expect(options?.workerData?.window).toBe(16);
  });

  it("stops with an error when the worker dies or throws without an end, after the chunks it did send", async () => {
    const chunk = { type: "chunk", columns: ["a"], lines: Int32Array.from([2]), errors: [] };
    for (const [events, why] of [
      [[["message", { type: "header", columns: ["id"] }], ["message", chunk], ["exit", 1]], /Parse thread stopped with exit code 1 \(in\.csv\)/],
      [[["message", { type: "header", columns: ["id"] }], ["message", chunk], ["error", new Error("out of memory")], ["exit", 1]], /^out of memory$/],
    ] as [[string, unknown][], RegExp][]) {
      fake.next = () => scripted(events);
      const ids: unknown[] = [];
      const read = (async () => {
        for await (const batch of src.readFileThreaded("in.csv", 0, { format: "csv", opts: {} })) ids.push(...batch.map((r) => r.data.id));
      })();
      await expect(read).rejects.toThrow(why);
      expect(ids).toEqual(["a"]);
    }
  });

  it("a reader that takes each chunk late (a turn of the event loop and more per chunk) gets every row once, in order, and no worker is left", async () => {
    const before = threads();
    for (const [file, job] of [
      [bigCsv(60_000), { format: "csv" as const, opts: {} }],
      [bigJsonl(60_000), { format: "jsonl" as const, columnsFor: () => ["id"] }],
    ] as const) {
      let n = 0;
      let chunks = 0;
      // A CSV file's first record is on line 2, below its header.
      const first = job.format === "csv" ? 2 : 1;
      for await (const batch of dist.readFileThreaded(file, 0, job)) {
        for (const r of batch) {
          expect(r.line).toBe(first + n);
          expect(r.data.id).toBe(`u${n++}`);
        }
        chunks++;
        // Slower every few chunks: the credits come back unevenly.
        for (let k = chunks % 5; k >= 0; k--) await new Promise((res) => setImmediate(res));
        if (chunks % 7 === 0) await quiet(5);
      }
      expect(n).toBe(60_000);
      expect(chunks).toBeGreaterThan(16);
    }
    expect(threads()).toBeLessThanOrEqual(before);
  });

  it("leaves no worker running after a reader stops early, a run-level input error, or a mapping the first records' keys refuse", async () => {
    const file = bigCsv();
    const jfile = bigJsonl();
    // Warm up: the first worker starts the threads every later one shares.
    for await (const _ of dist.readFileThreaded(file, 0, { format: "csv", opts: {} })) break;
    const before = threads();
    let during = 0;
    for await (const _ of dist.readFileThreaded(file, 0, { format: "csv", opts: {} })) {
      during = threads();
      break;
    }
    expect(during).toBeGreaterThan(before);
    expect(threads()).toBeLessThanOrEqual(before);
    const it = dist.readFileThreaded(jfile, 0, { format: "jsonl", columnsFor: () => ["id"] })[Symbol.asyncIterator]();
    await it.next();
    await it.return(undefined);
    expect(threads()).toBeLessThanOrEqual(before);
    // The header is refused in the worker (a quote never closed): the run stops with the one-thread error.
    const broken = `${dir}/broken-header.csv`;
    writeFileSync(broken, 'id,"name\nu1,a\n');
    const fail = async (job: Parameters<typeof dist.readFileThreaded>[2], f: string) => {
      try {
        for await (const _ of dist.readFileThreaded(f, 0, job));
      } catch (e) {
        return e as Error & { code?: string };
      }
      return undefined;
    };
    const inWorker = await fail({ format: "csv", opts: {} }, broken);
    let oneThread: (Error & { code?: string }) | undefined;
    try {
      for await (const _ of dist.readInputBatches([broken], { parseThread: "off" }));
    } catch (e) {
      oneThread = e as Error;
    }
    // The same error as on one thread: code, message, hint, context and exit code.
    expect(inWorker?.code).toBe("INPUT_HEADER");
    expect(inWorker).toBeInstanceOf(dist.BulkUsersError);
    expect({ ...inWorker, message: inWorker?.message }).toEqual({ ...oneThread, message: oneThread?.message });
    expect(threads()).toBeLessThanOrEqual(before);
    // The main thread refuses the columns (as a mapping it cannot make does), while the worker waits for them.
    const refused = await fail(
      {
        format: "jsonl",
        columnsFor: () => {
          throw new Error("no column named like the key");
        },
      },
      jfile,
    );
    expect(refused?.message).toBe("no column named like the key");
    const onHeader = await fail(
      {
        format: "csv",
        opts: {},
        onHeader: () => {
          throw new Error("column missing");
        },
      },
      file,
    );
    expect(onHeader?.message).toBe("column missing");
    expect(threads()).toBeLessThanOrEqual(before);
  });

  it.each(["csv", "jsonl"] as const)("%s: a dry run stopped mid-file (Ctrl-C, --max-errors) exits 3 with no worker left, as one thread does", async (format) => {
    const file = format === "csv" ? bigCsv() : bigJsonl();
    const before = threads();
    for (const mode of ["on", "off"] as const) {
      const ctl = new AbortController();
      let threaded = false;
      const summary = await dist.validate({
        files: [file],
        provider: "zego",
        mapping: { fields: { UserId: "id", UserName: format === "csv" ? "name" : "name.last" } },
        report: false,
        parseThread: mode,
        signal: ctl.signal,
        onProgress: () => ctl.abort(),
        log: (_l, m) => void (threaded ||= m.includes("second thread")),
      });
      expect(threaded).toBe(mode === "on");
      expect(summary.stopped).toBe("interrupted");
      expect(summary.exitCode).toBe(3);
      expect(summary.rows).toBeLessThan(200_000);
      expect(threads()).toBeLessThanOrEqual(before);
      const capped = await dist.validate({
        files: [file],
        provider: "zego",
        // Every row invalid: a CSV name holds a space, a JSONL name is an object.
        mapping: { fields: { UserId: "name" } },
        report: false,
        parseThread: mode,
        maxErrors: 2,
      });
      expect(capped.stopped).toBe("max-errors");
      expect(capped.counts.invalid).toBe(2);
      expect(capped.rows).toBe(2);
      expect(threads()).toBeLessThanOrEqual(before);
    }
  });
});

describe("which files the parse thread reads", () => {
  it("auto: from exactly PARSE_THREAD_MIN_BYTES (4 MiB) up, not one byte below; on: any file; never standard input or with off", () => {
    expect(dist.PARSE_THREAD_MIN_BYTES).toBe(4 * 1024 * 1024);
    const at = `${dir}/at.csv`;
    const below = `${dir}/below.csv`;
    const header = "id,name\n";
    const body = (size: number) => header + "u,x\n".repeat(Math.floor((size - header.length) / 4)) + "y".repeat((size - header.length) % 4);
    writeFileSync(at, body(dist.PARSE_THREAD_MIN_BYTES));
    writeFileSync(below, body(dist.PARSE_THREAD_MIN_BYTES - 1));
    expect(readFileSync(at).length).toBe(dist.PARSE_THREAD_MIN_BYTES);
    expect(readFileSync(below).length).toBe(dist.PARSE_THREAD_MIN_BYTES - 1);
    expect(dist.useParseThread(at, "auto")).toBe(true);
    expect(dist.useParseThread(below, "auto")).toBe(false);
    expect(dist.useParseThread(below, "on")).toBe(true);
    expect(dist.useParseThread(at, "off")).toBe(false);
    expect(dist.useParseThread("-", "on")).toBe(false);
    expect(dist.useParseThread("-", "auto")).toBe(false);
  });

  it("a dry run uses it under auto for a file at the threshold; an import only when asked", () => {
    const at = `${dir}/auto-at.csv`;
    const header = "user_id,name\n";
    const rows = Array.from({ length: 300_000 }, (_, i) => `u${i},n\n`).join("");
    const text = header + rows;
    writeFileSync(at, text + "z".repeat(dist.PARSE_THREAD_MIN_BYTES - Buffer.byteLength(text)));
    const dry = cli(["validate", at, "-p", "zego", "--report", `${dir}/auto-at.jsonl`, "--no-progress"]);
    expect(dry.stderr).toContain(`Parsing ${at} in a second thread`);
    const imp = cli(["import", "samples/users.csv", "-p", "zego", "-m", "samples/zego.mapping.yaml", "--sandbox", "--report", `${dir}/imp.jsonl`, "--no-progress", "--parse-thread", "auto"]);
    expect(imp.code).not.toBe(2);
    expect(imp.stderr).not.toContain("second thread");
  });
});

/** A worker whose port delivers these events, in this order, in one turn of the event loop. */
function scripted(events: [string, unknown][]) {
  const w = new EventEmitter() as EventEmitter & { postMessage(m: unknown): void; terminate(): Promise<number>; posted: unknown[]; terminated: boolean };
  w.posted = [];
  w.terminated = false;
  w.postMessage = (m) => void w.posted.push(m);
  w.terminate = async () => {
    w.terminated = true;
    return 1;
  };
  setImmediate(() => {
    for (const [name, value] of events) w.emit(name, value);
  });
  return w;
}

describe("a chunk that cannot cross threads", () => {
  it("stops the run even when the worker's later chunks and its end came in behind it", async () => {
    const chunk = (lines: number[], ids: string[]) => ({ type: "chunk", columns: [ids.join("\0")], lines: Int32Array.from(lines), errors: [] });
    let w: ReturnType<typeof scripted> | undefined;
    fake.next = () =>
      (w = scripted([
        ["message", { type: "header", columns: ["id"] }],
        ["message", chunk([2, 3], ["a", "b"])],
        ["messageerror", new Error("could not deserialize")],
        ["message", chunk([6], ["e"])],
        ["message", { type: "end" }],
        ["exit", 0],
      ]));
    const got: string[] = [];
    const read = (async () => {
      for await (const batch of src.readFileThreaded("in.csv", 0, { format: "csv", opts: {} })) for (const r of batch) got.push(`${r.line}:${String(r.data.id)}`);
    })();
    await expect(read).rejects.toThrow(/a chunk of in\.csv could not be read \(could not deserialize\); rerun with --parse-thread off/);
    expect(w!.terminated).toBe(true);
    // The rows before the lost chunk were read; none after it passes for the rest of a complete file.
    expect(got).toEqual(["2:a", "3:b"]);
  });
});
