import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { materialize, readCsv, readCsvChunks } from "../../src/readers/csv.js";
import type { SourceRecord } from "../../src/types.js";

// A row with an oversized cell keeps its other cells (--failed-out writes the row to fix whole).

async function read(text: string, opts: { maxCellLength?: number } = {}): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of readCsv(Readable.from([Buffer.from(text)]), "in.csv", 0, opts)) out.push(r);
  return out;
}

async function readCompact(text: string, opts: { maxCellLength?: number } = {}): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  let header: string[] = [];
  for await (const c of readCsvChunks(Readable.from([Buffer.from(text)]), "in.csv", 0, { ...opts, compact: true }, (h) => (header = h))) out.push(...materialize(c, header, "in.csv", 0));
  return out;
}
describe("CSV oversized cell", () => {
  it("a row with an oversized cell keeps its other cells, the ones after it too, for the rows to fix", async () => {
    const text = `user_id,name,email\nu1,${"x".repeat(9)},a@x.io\n`;
    for (const out of [await read(text, { maxCellLength: 8 }), await readCompact(text, { maxCellLength: 8 })]) {
      expect(out).toHaveLength(1);
      expect(out[0]!.error?.code).toBe("CELL_TOO_LARGE");
      expect(out[0]!.data).toEqual({ user_id: "u1", name: "", email: "a@x.io" });
    }
  });
});
