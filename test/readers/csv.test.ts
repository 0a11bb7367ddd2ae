import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readCsv, readCsvChunks, materialize } from "../../src/readers/csv.js";
import { readInputs } from "../../src/readers/index.js";
import type { SourceRecord } from "../../src/types.js";

async function read(text: string | Buffer, delimiter?: string): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of readCsv(Readable.from([typeof text === "string" ? Buffer.from(text) : text]), "in.csv", 0, { delimiter })) out.push(r);
  return out;
}

/** Records as the parse thread's consumer builds them: compact chunks (of the text, or read in these pieces), then materialize. */
async function readCompact(input: string | Buffer[]): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  let header: string[] = [];
  const pieces = typeof input === "string" ? [Buffer.from(input)] : input;
  for await (const c of readCsvChunks(Readable.from(pieces), "in.csv", 0, { compact: true }, (h) => (header = h))) out.push(...materialize(c, header, "in.csv", 0));
  return out;
}

describe("CSV reader", () => {
  it("strips the BOM, handles CRLF, quoted commas and multi-line cells, and numbers lines from the start of each record", async () => {
    const out: SourceRecord[] = [];
    for await (const r of readInputs(["test/fixtures/bom-crlf.csv"])) out.push(r);
    expect(out.map((r) => [r.line, r.data])).toEqual([
      [2, { user_id: "u1", name: "Ann, A." }],
      [3, { user_id: "u2", name: "multi\r\nline" }],
      [6, { user_id: "u3", name: "Cy" }],
    ]);
  });

  it("reads a file whose first line ends in a CR alone and later ones in CRLF or LF, in both chunk forms, fed a byte at a time too", async () => {
    const text = 'user_id,name\ru1,x\r\nu2,"two\r\nlines"\r\nu3,z\nu4,w\ru5,v\r\n';
    const expected = [
      [2, { user_id: "u1", name: "x" }],
      [3, { user_id: "u2", name: "two\r\nlines" }],
      [5, { user_id: "u3", name: "z" }],
      [6, { user_id: "u4", name: "w" }],
      [7, { user_id: "u5", name: "v" }],
    ];
    expect((await read(text)).map((r) => [r.line, r.error?.code ?? r.data])).toEqual(expected);
    for (const pieces of [[Buffer.from(text)], [...Buffer.from(text)].map((b) => Buffer.from([b]))]) {
      const compact = await readCompact(pieces);
      expect(compact.map((r) => [r.line, r.error?.code ?? r.data])).toEqual(expected);
    }
  });

  it("reads a file whose first line ends in CRLF and later ones in LF alone record by record, in both chunk forms", async () => {
    const text = 'user_id,name\r\nu1,x\nu2,"two\nlines"\r\nu3,"z"\n"u4",w';
    const expected = [
      [2, { user_id: "u1", name: "x" }],
      [3, { user_id: "u2", name: "two\nlines" }],
      [5, { user_id: "u3", name: "z" }],
      [6, { user_id: "u4", name: "w" }],
    ];
    expect((await read(text)).map((r) => [r.line, r.error?.code ?? r.data])).toEqual(expected);
    const compact = await readCompact([Buffer.from(text)]);
    expect(compact.map((r) => [r.line, r.error?.code ?? r.data])).toEqual(expected);
  });

  it("reads CRLF lines in a file whose first line ends in LF without touching a CR that belongs to a cell, in both chunk forms, fed a byte at a time too", async () => {
    const cases: [string, unknown[]][] = [
      // CRLF rows after an LF header: the CR is the line end, also after a quoted cell.
      ['user_id,name\nr1,x\r\nr2,"y"\r\nr3,z\n', [[2, { user_id: "r1", name: "x" }], [3, { user_id: "r2", name: "y" }], [4, { user_id: "r3", name: "z" }]]],
      // A quoted CR at a cell's end is data, and a line break.
      ['user_id,name\nr1,"a\r"\nr2,b\n', [[2, { user_id: "r1", name: "a\r" }], [4, { user_id: "r2", name: "b" }]]],
      ['user_id,name\n"r"1,"a\r"\nr2,b\n', [[2, "CSV_INVALID_CLOSING_QUOTE"], [4, { user_id: "r2", name: "b" }]]],
      // In a CRLF file, a CR before the CRLF is the cell's.
      ['user_id,name\r\nr1,x\r\r\nr2,b\r\n', [[2, { user_id: "r1", name: "x\r" }], [4, { user_id: "r2", name: "b" }]]],
    ];
    for (const [text, expected] of cases) {
      expect((await read(text)).map((r) => [r.line, r.error?.code ?? r.data]), JSON.stringify(text)).toEqual(expected);
      for (const pieces of [[Buffer.from(text)], [...Buffer.from(text)].map((b) => Buffer.from([b]))]) {
        const compact = await readCompact(pieces);
        expect(compact.map((r) => [r.line, r.error?.code ?? r.data]), JSON.stringify(text)).toEqual(expected);
      }
    }
  });

  it("reads mixed line ends in a UTF-16LE file as in UTF-8, whichever the first line ends in, in both chunk forms", async () => {
    const expected = [
      [2, { user_id: "r1", name: "x" }],
      [3, { user_id: "r2", name: "y" }],
      [4, { user_id: "r3", name: "z" }],
    ];
    for (const text of ['user_id,name\rr1,x\r\nr2,"y"\nr3,z\r', 'user_id,name\nr1,x\r\nr2,"y"\r\nr3,z\n', 'user_id,name\r\nr1,x\nr2,"y"\r\nr3,z\n']) {
      const buf = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
      expect((await read(buf)).map((r) => [r.line, r.error?.code ?? r.data]), JSON.stringify(text)).toEqual(expected);
      for (const pieces of [[buf], [...buf].map((b) => Buffer.from([b]))]) {
        const compact = await readCompact(pieces);
        expect(compact.map((r) => [r.line, r.error?.code ?? r.data]), JSON.stringify(text)).toEqual(expected);
      }
    }
  });

  it("numbers LF multi-line records from their first line", async () => {
    const out = await read('a,b\n1,"x\ny\nz"\n2,w\n');
    expect(out.map((r) => r.line)).toEqual([2, 5]);
  });

  it("honours --delimiter", async () => {
    const out: SourceRecord[] = [];
    for await (const r of readInputs(["test/fixtures/semicolon.csv"], { delimiter: ";" })) out.push(r);
    expect(out.map((r) => r.data)).toEqual([
      { user_id: "u1", name: "Ann" },
      { user_id: "u2", name: "B;ob" },
    ]);
  });

  it("turns a row with the wrong number of cells into a row error and goes on", async () => {
    const out = await read("a,b\n1,2\n3\n4,5,6\n7,8\n");
    expect(out.map((r) => [r.line, r.error?.code ?? "ok"])).toEqual([
      [2, "ok"],
      [3, "CSV_COLUMN_COUNT"],
      [4, "CSV_COLUMN_COUNT"],
      [5, "ok"],
    ]);
  });

  it("refuses duplicate and empty header names", async () => {
    await expect(read("a,b,a\n1,2,3\n")).rejects.toThrow(/column name `a` appears twice/);
    await expect(read("a,,c\n1,2,3\n")).rejects.toThrow(/column 2 has no name/);
  });

  it("marks a cell that is not valid UTF-8", async () => {
    const out = await read(Buffer.concat([Buffer.from("a,b\n1,"), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from("\n")]));
    expect(out[0]!.error?.code).toBe("INVALID_UTF8");
  });

  it("keys records by any column name, even ones that are awkward in code, one thread or compact", async () => {
    const names = ['a"b', "c\\d", "${x}", "0", "constructor", "__proto__", "line\u2028sep", "toString"];
    const head = names.map((n) => `"${n.replace(/"/g, '""')}"`).join(",");
    const text = `${head}\n${names.map((_, i) => `v${i}`).join(",")}\n${names.map((_, i) => `w${i}`).join(",")}\n`;
    for (const out of [await read(text), await readCompact(text)]) {
      expect(out.map((r) => r.line)).toEqual([2, 3]);
      for (const [row, p] of [[out[0]!, "v"], [out[1]!, "w"]] as const) {
        expect(Object.keys(row.data)).toEqual(["0", ...names.filter((n) => n !== "0")]);
        names.forEach((n, i) => expect(Object.getOwnPropertyDescriptor(row.data, n)?.value).toBe(`${p}${i}`));
        expect(Object.getPrototypeOf(row.data)).toBe(Object.prototype);
      }
    }
  });

  it("reads stretches of plain records and records with line breaks, bad cells or wrong counts alike", async () => {
    // 6,000 records over many read chunks: most plain, some multi-line, short, blank or with U+FFFD.
    const lines: string[] = ["id,name,note"];
    const want: [number, string, unknown][] = [];
    let line = 2;
    for (let i = 0; i < 6000; i++) {
      if (i % 997 === 5) {
        lines.push(`${i},"two\nlines",x`);
        want.push([line, "ok", { id: String(i), name: "two\nlines", note: "x" }]);
        line += 2;
      } else if (i % 1511 === 7) {
        lines.push(`${i},short`);
        want.push([line++, "CSV_COLUMN_COUNT", { id: String(i), name: "short", note: "" }]);
      } else if (i % 1999 === 9) {
        lines.push("");
        line++;
      } else if (i % 2503 === 11) {
        lines.push(`${i},bad\uFFFD,x`);
        want.push([line++, "INVALID_UTF8", undefined]);
      } else {
        lines.push(`${i},"Name, ${i} 李",n${i}`);
        want.push([line++, "ok", { id: String(i), name: `Name, ${i} 李`, note: `n${i}` }]);
      }
    }
    const text = `${lines.join("\n")}\n`;
    for (const out of [await read(text), await readCompact(text)]) {
      expect(out.length).toBe(want.length);
      out.forEach((r, k) => {
        const [l, code, data] = want[k]!;
        expect([r.line, r.error?.code ?? "ok"]).toEqual([l, code]);
        if (data !== undefined) expect(r.data).toEqual(data);
      });
    }
  });
});
