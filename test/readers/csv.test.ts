import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readCsv } from "../../src/readers/csv.js";
import { readInputs } from "../../src/readers/index.js";
import type { SourceRecord } from "../../src/types.js";

async function read(text: string | Buffer, delimiter?: string): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of readCsv(Readable.from([typeof text === "string" ? Buffer.from(text) : text]), "in.csv", 0, { delimiter })) out.push(r);
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
});
