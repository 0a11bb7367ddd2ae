import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readJsonl } from "../../src/readers/jsonl.js";
import type { SourceRecord } from "../../src/types.js";

describe("JSONL reader", () => {
  it("skips blank lines, keeps line numbers, and turns bad lines into row errors", async () => {
    const text = '{"id":"a"}\n\n{"id":"b"}\r\n{"id": \n[1,2]\n"str"\n{"id":"c","nested":{"x":1}}\n';
    const out: SourceRecord[] = [];
    for await (const r of readJsonl(Readable.from([text]), "in.jsonl", 0)) out.push(r);
    expect(out.map((r) => [r.line, r.error?.code ?? r.data.id])).toEqual([
      [1, "a"],
      [3, "b"],
      [4, "INPUT_BAD_JSON"],
      [5, "INPUT_NOT_OBJECT"],
      [6, "INPUT_NOT_OBJECT"],
      [7, "c"],
    ]);
  });
});
