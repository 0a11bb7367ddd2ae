import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { materialize, readCsv, readCsvChunks } from "../../src/readers/csv.js";
import { csvDelimiter, formatOf, readCsvHeader } from "../../src/readers/index.js";
import { materializeJsonl, readJsonlBatches, readJsonlChunks } from "../../src/readers/jsonl.js";
import type { SourceRecord } from "../../src/types.js";
import { tmp, write } from "../helpers.js";

// Gap tests from a hand mutation audit of src/readers: each pins a behaviour no other test held.

async function read(text: string | Buffer, opts: { delimiter?: string; maxCellLength?: number } = {}): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of readCsv(Readable.from([typeof text === "string" ? Buffer.from(text) : text]), "in.csv", 0, opts)) out.push(r);
  return out;
}

/** Records as the parse thread's consumer builds them: compact chunks of the input in these pieces, then materialize. */
async function readCompact(input: string | Buffer | Buffer[], opts: { delimiter?: string; maxCellLength?: number } = {}): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  let header: string[] = [];
  const pieces = Array.isArray(input) ? input : [typeof input === "string" ? Buffer.from(input) : input];
  for await (const c of readCsvChunks(Readable.from(pieces), "in.csv", 0, { ...opts, compact: true }, (h) => (header = h))) out.push(...materialize(structuredClone(c), header, "in.csv", 0));
  return out;
}

/** The pieces as a stream that hands over one piece per turn of the event loop, so the parser's output reaches the reader in as many stretches. */
function slowly(pieces: (string | Buffer)[]): Readable {
  return Readable.from(
    (async function* () {
      for (const p of pieces) {
        await new Promise((r) => setImmediate(r));
        yield typeof p === "string" ? Buffer.from(p) : p;
      }
    })(),
  );
}

function slowlyText(pieces: string[]): Readable {
  return slowly(pieces.map((p) => Buffer.from(p)));
}

/** As readCompact, from a stream. */
async function readCompactFrom(src: Readable, opts: { delimiter?: string; maxCellLength?: number } = {}): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  let header: string[] = [];
  for await (const c of readCsvChunks(src, "in.csv", 0, { ...opts, compact: true }, (h) => (header = h))) out.push(...materialize(structuredClone(c), header, "in.csv", 0));
  return out;
}

const show = (rs: SourceRecord[]) => rs.map((r) => [r.line, r.error ? r.error.code : r.data]);

describe("CSV reader (audit)", () => {
  it("trims the header's names, on both paths", async () => {
    const text = " user_id , name \nu1,Ann\nu2,Bo\n";
    for (const out of [await read(text), await readCompact(text)])
      expect(show(out)).toEqual([
        [2, { user_id: "u1", name: "Ann" }],
        [3, { user_id: "u2", name: "Bo" }],
      ]);
  });

  it("skips blank and whitespace-only lines of a one-column file on both paths, whole or a byte at a time", async () => {
    const text = 'id\nu1\n\n  \n""\nu2\n\t\nu3';
    const want = [
      [2, { id: "u1" }],
      [6, { id: "u2" }],
      [8, { id: "u3" }],
    ];
    expect(show(await read(text))).toEqual(want);
    expect(show(await readCompact(text))).toEqual(want);
    expect(show(await readCompact([...Buffer.from(text)].map((b) => Buffer.from([b]))))).toEqual(want);
    // Each line in a stretch of its own, past the header: the byte path sees the blank ones alone.
    expect(show(await readCompactFrom(slowly(text.split(/(?<=\n)/))))).toEqual(want);
  });

  it("reads a record whose cells straddle the read where the first NUL byte arrives (cells in bytes, then as text) as one thread does", async () => {
    const pieces = ["id,name,mail\nu1,a,b\nu2,wxyz", "v\0z,m\nu3,c,d\n", "u4,e,f\n"];
    const want = [
      [2, { id: "u1", name: "a", mail: "b" }],
      [3, "NUL_CHARACTER"],
      [4, { id: "u3", name: "c", mail: "d" }],
      [5, { id: "u4", name: "e", mail: "f" }],
    ];
    expect(show(await read(pieces.join("")))).toEqual(want);
    const got = await readCompactFrom(slowly(pieces));
    expect(show(got)).toEqual(want);
    expect(got[1]!.data).toEqual({ id: "u2", name: "wxyzv\0z", mail: "m" });
  });

  it("keeps a record begun in bytes whole when the column buffers are trimmed behind it, then reads it as a row error", async () => {
    // Over 64 KiB a column of plain records (so its buffer is trimmed), then a record cut by the read that turns out one cell too long.
    const rows = Array.from({ length: 4000 }, (_, i) => `u${i},name number ${i},mail${i}@example.com`);
    const pieces = [`id,name,mail\n${rows.join("\n")}\nu4000,wxyz`, "v,m,extra\nu4001,b,c\n"];
    const got = await readCompactFrom(slowly(pieces));
    expect(got).toHaveLength(4002);
    expect(got[3999]).toMatchObject({ line: 4001, data: { id: "u3999", name: "name number 3999", mail: "mail3999@example.com" } });
    expect(got[4000]).toMatchObject({ line: 4002, data: { id: "u4000", name: "wxyzv", mail: "m" }, error: { code: "CSV_COLUMN_COUNT", message: "expected 3 cells, got 4" } });
    expect(got[4001]).toMatchObject({ line: 4003, data: { id: "u4001", name: "b", mail: "c" } });
    expect(show(got)).toEqual(show(await read(pieces.join(""))));
  });

  it("names only the lines a quote left open to the end spans, whatever the file's last line ends in, on both paths", async () => {
    for (const end of ["\r", "\n", "\r\n"]) {
      const text = `id,name${end}u1,a${end}u2,"open${end}`;
      for (const out of [await read(text), await readCompact(text)]) {
        expect(out.map((r) => [r.line, r.error?.code ?? "ok"]), JSON.stringify(end)).toEqual([
          [2, "ok"],
          [3, "CSV_QUOTE_NOT_CLOSED"],
        ]);
        expect(out[1]!.error!.message).toBe("unreadable CSV on line 3: cell `name` opens a quote that is never closed");
      }
    }
  });

  it("refuses a cell one character over the limit and keeps one at it, on both paths", async () => {
    const text = `id,name\nu1,${"x".repeat(8)}\nu2,${"y".repeat(9)}\nu3,${"é".repeat(8)}\nu4,"${"z".repeat(9)}"\n`;
    const want = [
      [2, { id: "u1", name: "x".repeat(8) }],
      [3, "CELL_TOO_LARGE"],
      [4, { id: "u3", name: "é".repeat(8) }],
      [5, "CELL_TOO_LARGE"],
    ];
    expect(show(await read(text, { maxCellLength: 8 }))).toEqual(want);
    expect(show(await readCompact(text, { maxCellLength: 8 }))).toEqual(want);
    expect(show(await readCompactFrom(slowly(text.split(/(?<=\n)/)), { maxCellLength: 8 }))).toEqual(want);
  });

  it("an oversized cell wins over a later undecodable one in the same row, and is emptied in the row's data", async () => {
    // (The cells after it are emptied too: see readers.bugs.test.ts.)
    const text = `id,name,note\nu1,${"x".repeat(9)},bad\uFFFD\n`;
    for (const out of [await read(text, { maxCellLength: 8 }), await readCompact(text, { maxCellLength: 8 })]) {
      expect(out).toHaveLength(1);
      expect(out[0]).toMatchObject({ line: 2, data: { id: "u1", name: "" }, error: { code: "CELL_TOO_LARGE", message: "cell `name` is 9 characters (limit 8)" } });
    }
  });

  it("cuts a cell once it passes 4 × the limit in bytes (so an open quote or a huge cell is not held whole), in both chunk forms", async () => {
    const text = `id,name\nu1,${"x".repeat(100)}\nu2,ok\n`;
    const pieces = () => slowly(Buffer.from(text).toString("latin1").match(/[^]{1,16}/g)!.map((p) => Buffer.from(p, "latin1")));
    const one: SourceRecord[] = [];
    for await (const r of readCsv(pieces(), "in.csv", 0, { maxCellLength: 8 })) one.push(r);
    for (const out of [one, await readCompactFrom(pieces(), { maxCellLength: 8 })]) {
      expect(show(out)).toEqual([
        [2, "CELL_TOO_LARGE"],
        [3, { id: "u2", name: "ok" }],
      ]);
      // Cut, not measured whole: the message says "more than", the row keeps no cells.
      expect(out[0]!.error!.message).toMatch(/^cell `name` holds more than 8 characters \(1 KB; limit 8\)$/);
    }
  });

  it("counts a CRLF at the point an oversized quoted cell is cut once, whether the cut falls after it or inside it", async () => {
    // csv-parse holds back a read's last three bytes here: the cell is cut just after its CRLF, or between its CR and LF.
    for (const hold of ["yyy", "yy"]) {
      const pieces = [`id,name\r\nu1,"${"x".repeat(40)}\r\n${hold}`, `yy"\r\nu2,b\r\nu3,c\r\n`];
      const one: SourceRecord[] = [];
      for await (const r of readCsv(slowly(pieces), "in.csv", 0, { maxCellLength: 8 })) one.push(r);
      for (const out of [one, await readCompactFrom(slowly(pieces), { maxCellLength: 8 })]) {
        expect(show(out), hold).toEqual([
          [2, "CELL_TOO_LARGE"],
          [4, { id: "u2", name: "b" }],
          [5, { id: "u3", name: "c" }],
        ]);
        expect(out[0]!.error!.message).toMatch(/^unreadable CSV on lines 2–3 /);
      }
    }
  });

  it("reads bytes that are not UTF-8, a U+FFFD and a lone CR in a stretch of plain records as one thread does", async () => {
    const head = "id,name,note\n" + Array.from({ length: 50 }, (_, i) => `u${i},n${i},x`).join("\n") + "\n";
    const cases: [Buffer, unknown][] = [
      [Buffer.concat([Buffer.from("u50,ab"), Buffer.from([0xff]), Buffer.from(",x\nu51,c,x\n")]), "INVALID_UTF8"],
      [Buffer.concat([Buffer.from("u50,ab"), Buffer.from([0xe6, 0x9d]), Buffer.from(",x\nu51,c,x\n")]), "INVALID_UTF8"],
      [Buffer.from("u50,ab\uFFFD,x\nu51,c,x\n"), "INVALID_UTF8"],
      // A CR alone in an LF file is the cell's, and a line: u51 starts on line 54.
      [Buffer.from("u50,a\rb,x\nu51,c,x\n"), { id: "u50", name: "a\rb", note: "x" }],
    ];
    for (const [tail, second] of cases) {
      const want = await read(Buffer.concat([Buffer.from(head), tail]));
      expect(show(want).slice(-2)).toEqual([[52, second], [typeof second === "string" ? 53 : 54, { id: "u51", name: "c", note: "x" }]]);
      // The header alone first, then the plain records, then the odd one with the next: that stretch goes through the byte path.
      const got = await readCompactFrom(slowly([Buffer.from("id,name,note\n"), Buffer.from(head.slice(13)), tail]));
      expect(show(got)).toEqual(show(want));
    }
  });

  it("fails when its source stream fails, instead of ending as if the file were complete", async () => {
    const src = new Readable({ read() {} });
    src.push(Buffer.from("a,b\n1,2\n"));
    setImmediate(() => src.destroy(new Error("disk gone")));
    const out: SourceRecord[] = [];
    await expect(
      (async () => {
        for await (const r of readCsv(src, "in.csv", 0)) out.push(r);
      })(),
    ).rejects.toThrow(/disk gone/);
  }, 10_000);
});

describe("JSONL reader (audit)", () => {
  async function both(pieces: Buffer[], opts: { maxLineLength?: number } = {}): Promise<[SourceRecord[], SourceRecord[]]> {
    const one: SourceRecord[] = [];
    for await (const b of readJsonlBatches(Readable.from(pieces), "in.jsonl", 0, opts)) one.push(...b);
    const thread: SourceRecord[] = [];
    const columns = ["id"];
    for await (const c of readJsonlChunks(Readable.from(pieces), "in.jsonl", 0, opts, async () => columns)) thread.push(...materializeJsonl(structuredClone(c), columns, "in.jsonl", 0));
    return [one, thread];
  }
  const codes = (rs: SourceRecord[]) => rs.map((r) => [r.line, r.error?.code ?? r.data.id]);

  /** Records of both paths, the thread's through the structured clone, keeping each line's text. */
  async function bothText(text: string, columns: string[]): Promise<[SourceRecord[], SourceRecord[]]> {
    const one: SourceRecord[] = [];
    for await (const b of readJsonlBatches(Readable.from([text]), "in.jsonl", 0, { keepText: true })) one.push(...b);
    const thread: SourceRecord[] = [];
    // Two blocks: the first record alone (so the columns are known), then the rest through the scanner.
    const nl = text.indexOf("\n") + 1;
    for await (const c of readJsonlChunks(slowlyText([text.slice(0, nl), text.slice(nl)]), "in.jsonl", 0, { keepText: true }, async () => columns))
      thread.push(...materializeJsonl(structuredClone(c), columns, "in.jsonl", 0));
    return [one, thread];
  }

  it("keeps a CRLF line's text without its CR in the parse thread, as on one thread", async () => {
    const text = '{"id":"a"}\r\n{"id":"b","x":1}\r\n{"id":"c"}\r\n';
    const [one, thread] = await bothText(text, ["id"]);
    expect(one.map((r) => r.raw)).toEqual(['{"id":"a"}', '{"id":"b","x":1}', '{"id":"c"}']);
    expect(thread.map((r) => [r.line, r.data.id, r.raw])).toEqual(one.map((r) => [r.line, r.data.id, r.raw]));
  });

  it("places a record sent whole (nested over 1,000 deep) and the row errors of its chunk at their own lines, with their own text", async () => {
    const deep = `{"id":"deep","v":${"[".repeat(1500)}${"]".repeat(1500)}}`;
    const text = ['{"id":"a"}', deep, "not json", '{"id":"b"}', deep.replace('"deep"', '"deep2"'), '{"id":"c"}', "[1]", '{"id":"d"}'].join("\n") + "\n";
    const [one, thread] = await bothText(text, ["id"]);
    const view = (rs: SourceRecord[]) => rs.map((r) => [r.line, r.error?.code ?? r.data.id, r.raw?.slice(0, 20)]);
    expect(view(one)).toEqual([
      [1, "a", '{"id":"a"}'],
      [2, "deep", '{"id":"deep","v":[[['],
      [3, "INPUT_BAD_JSON", undefined],
      [4, "b", '{"id":"b"}'],
      [5, "deep2", '{"id":"deep2","v":[['],
      [6, "c", '{"id":"c"}'],
      [7, "INPUT_NOT_OBJECT", undefined],
      [8, "d", '{"id":"d"}'],
    ]);
    expect(view(thread)).toEqual(view(one));
  });

  it("reports an over-long last line without a line end, wherever the reads split it", async () => {
    const text = `{"id":"a"}\n{"id":"${"x".repeat(40)}"}`;
    for (const size of [4, 8, 16, text.length]) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < text.length; i += size) pieces.push(Buffer.from(text.slice(i, i + size)));
      for (const rs of await both(pieces, { maxLineLength: 20 }))
        expect({ size, rows: rs.map((r) => [r.line, r.error?.message ?? r.data.id]) }).toEqual({ size, rows: [[1, "a"], [2, "line is 49 characters (limit 20)"]] });
    }
  });

  it("reads a file that ends inside a UTF-8 sequence as a bad last line, not as a clean record or nothing", async () => {
    for (const tail of [[0xe6], [0xe6, 0x9d]]) {
      const cut = Buffer.concat([Buffer.from('{"id":"a"}\n{"id":"b"}'), Buffer.from(tail)]);
      for (const rs of await both([cut])) expect(codes(rs)).toEqual([[1, "a"], [2, "INPUT_BAD_JSON"]]);
      const alone = Buffer.concat([Buffer.from('{"id":"a"}\n'), Buffer.from(tail)]);
      for (const rs of await both([alone])) expect(codes(rs)).toEqual([[1, "a"], [2, "INPUT_BAD_JSON"]]);
    }
  });
});

describe("format and delimiter detection (audit)", () => {
  it("tells CSV from JSONL by the extensions the README lists, in any case, and reads standard input as CSV unless told", () => {
    for (const f of ["a.csv", "a.tsv", "a.txt", "dir.x/A.CSV", "a.TSV", "a.Txt"]) expect(formatOf(f), f).toBe("csv");
    for (const f of ["a.jsonl", "a.ndjson", "a.json", "A.JSONL", "a.NDJSON"]) expect(formatOf(f), f).toBe("jsonl");
    expect(formatOf("-")).toBe("csv");
    expect(formatOf("-", "jsonl")).toBe("jsonl");
    expect(formatOf("a.csv", "jsonl")).toBe("jsonl");
    expect(() => formatOf("a.xlsx")).toThrow(/cannot tell CSV from JSONL/);
  });

  it("reads a .tsv with tabs unless --delimiter says otherwise, the header alone too", async () => {
    expect(csvDelimiter("a.tsv", undefined)).toBe("\t");
    expect(csvDelimiter("A.TSV", undefined)).toBe("\t");
    expect(csvDelimiter("a.tsv", ";")).toBe(";");
    expect(csvDelimiter("a.csv", undefined)).toBeUndefined();
    const dir = tmp("bu-audit-tsv-");
    const f = write(dir, "users.tsv", "user_id\tname, full\nu1\tAnn, A\n");
    expect(await readCsvHeader(f)).toEqual(["user_id", "name, full"]);
    expect(await readCsvHeader(f, { delimiter: "," })).toEqual(["user_id\tname", "full"]);
  });
});
